/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host-KVM regression test: a pause that lands while a vCPU is handling a
 * port-I/O or MMIO exit must not let a snapshot replay that access (issue 19).
 *
 * KVM finishes an `out` (advances RIP past it) only when KVM_RUN is entered
 * again. A vCPU that parks straight after its exit handler leaves the `out`
 * half done, and a snapshot taken then makes the restored guest execute it a
 * second time: the console shows that byte twice.
 *
 * Deterministic: the counter guest (counter.S) writes its output one `out`
 * per byte; this program wraps the UART's port handler so that, inside the
 * handler of the guest's PAUSE_AT-th byte, it requests a pause exactly as
 * vm_pause() does. Once parked, the vCPU's RIP must not point at an `out`
 * instruction; then the VM is snapshotted (state and memory file, the same
 * calls the API's snapshot create makes), destroyed, restored into a fresh
 * VM from those files, and run until it has printed more. The two console
 * streams joined must be exactly the counter's output, no byte twice, none
 * missing.
 *
 * The MMIO case: the mmioread guest (mmioread.S) reads a register of this
 * program's "letters" device, which hands out the next letter on every
 * read, and writes it to COM1. The pause comes inside the PAUSE_AT-th read;
 * the parked vCPU's RIP must not point at the read (KVM puts the value in
 * RAX only on the next KVM_RUN), and the restored guest (its device going on
 * from the same count) must print that letter, not skip it.
 *
 * Usage: exit_completion COUNTER_ELF MMIOREAD_ELF [PAUSE_AT...];
 * exit 77 without /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "api/models/config_file.h"
#include "snapshot/snapshot_mem.h"
#include "snapshot/snapshot_vm.h"
#include "snapshot/state.h"
#include "vmm/machine/vm.h"
#include "vmm/util/event_loop.h"
#include "vmm/util/log.h"

#define COM1 0x3f8
#define LETTERS_GPA 0x30000000ULL /* below 1 GiB (the boot page tables), not RAM */
#define WANT_AFTER 64 /* bytes the restored guest must print */

/* Requests a pause exactly as vm_pause() does, from inside a handler. */
static void request_pause(struct vm *vm)
{
	run_ctl_request_pause(&vm->run);
}

struct uart_tap {
	struct vm *vm;
	const struct bus_device_ops *ops; /* the UART's own */
	void *dev;
	unsigned long writes, pause_at;
};

/* The letters device: each read returns the next letter (a side effect). */
struct letters {
	struct vm *vm;
	unsigned long reads, pause_at; /* pause_at 0: never */
};

static void letters_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct letters *l = opaque;

	(void)off;
	memset(data, 0, len);
	data[0] = (uint8_t)('a' + l->reads % 26);
	if (__atomic_add_fetch(&l->reads, 1, __ATOMIC_RELEASE) == l->pause_at)
		request_pause(l->vm);
}

static void letters_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	(void)opaque, (void)off, (void)data, (void)len;
}

static const struct bus_device_ops letters_ops = { .read = letters_read, .write = letters_write };

struct scenario {
	const char *name;
	const char *kernel;
	bool mmio; /* pause inside the letters device's read, not a UART write */
};

static void uart_tap_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct uart_tap *t = opaque;

	t->ops->read(t->dev, off, data, len);
}

/* The UART's write handler, then (at the chosen byte) a pause request. */
static void uart_tap_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct uart_tap *t = opaque;

	t->ops->write(t->dev, off, data, len);
	if (off == 0 && ++t->writes == t->pause_at)
		request_pause(t->vm);
}

static const struct bus_device_ops uart_tap_ops = { .read = uart_tap_read, .write = uart_tap_write };

static void on_exit_request(void *ctx, int code)
{
	(void)ctx;
	fprintf(stderr, "exit_completion: the VM asked to exit (%d)\n", code);
}

static int fail(const char *what, const struct err_buf *err)
{
	fprintf(stderr, "FAIL: %s: %s\n", what, err ? err->msg : strerror(errno));
	return 1;
}

/* The guest's exact output: counter "C\n0001\n0002\n..."; mmioread "abc..z" over and over. */
static void expected_stream(const struct scenario *sc, char *buf, size_t len)
{
	size_t n = 0;

	if (sc->mmio) {
		for (n = 0; n < len; n++)
			buf[n] = (char)('a' + n % 26);
		return;
	}
	n += (size_t)snprintf(buf, len, "C\n");
	for (unsigned int c = 1; n + 6 < len; c++)
		n += (size_t)snprintf(buf + n, len - n, "%04x\n", c & 0xffff);
}

/* Reads what the guest printed into @buf until @want bytes or 30 s. */
static size_t read_console(int fd, char *buf, size_t have, size_t want)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (have < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 200) > 0) {
			n = read(fd, buf + have, want - have);
			if (n > 0)
				have += (size_t)n;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 30)
			break;
	}
	return have;
}

static void drain_console(int fd, char *buf, size_t *have, size_t cap)
{
	ssize_t n;

	while (*have < cap && (n = read(fd, buf + *have, cap - *have)) > 0)
		*have += (size_t)n;
}

struct rig {
	struct event_loop loop;
	int console[2];
	int space_fd;
	struct vm_opts opts;
};

static int rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	if (event_loop_init(&r->loop) || pipe2(r->console, O_CLOEXEC | O_NONBLOCK))
		return -1;
	r->space_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->opts = (struct vm_opts){
		.loop = &r->loop,
		.request_exit = on_exit_request,
		.console_out_fd = r->console[1],
		.console_space_fd = r->space_fd,
	};
	return r->space_fd < 0 ? -1 : 0;
}

static void rig_free(struct rig *r)
{
	close(r->console[0]);
	close(r->console[1]);
	close(r->space_fd);
	event_loop_destroy(&r->loop);
}

/*
 * The instruction at the parked vCPU's RIP: an `out` (or, for the MMIO
 * case, the `mov (%rbx),%eax` read) there was never completed.
 */
static int check_rip(struct vm *vm, const struct scenario *sc)
{
	struct kvm_regs regs;
	uint8_t insn[2];

	if (ioctl(vm->vcpus[0].fd, KVM_GET_REGS, &regs) < 0)
		return fail("KVM_GET_REGS", NULL);
	if (guest_mem_read(&vm->mem, regs.rip, insn, sizeof(insn)))
		return fail("reading the instruction at RIP", NULL);
	/* ee: out %al,(%dx); e6: out %al,imm8; 66 ef / ef: wider forms; 8b 03: the read. */
	if (sc->mmio ? insn[0] == 0x8b && insn[1] == 0x03
		     : insn[0] == 0xee || insn[0] == 0xe6 || insn[0] == 0xef ||
			       (insn[0] == 0x66 && insn[1] == 0xef)) {
		fprintf(stderr, "FAIL: %s: parked with RIP 0x%llx at the uncompleted access (%02x %02x)\n",
			sc->name, (unsigned long long)regs.rip, insn[0], insn[1]);
		return 1;
	}
	printf("PASS: %s: parked vCPU's RIP 0x%llx is past the access\n", sc->name,
	       (unsigned long long)regs.rip);
	return 0;
}

/* Boots, pauses inside the @pause_at-th UART write, snapshots into @dir. */
/*
 * Boots, pauses inside the @pause_at-th UART write, snapshots into @dir.
 * Returns 0, 1 (snapshot taken, but the vCPU parked mid-instruction) or -1
 * (no snapshot).
 */
static int run_source(const struct scenario *sc, unsigned long pause_at, const char *dir,
		      char *out, size_t *out_len, size_t cap)
{
	char json[1024], state[512], memf[512];
	struct vm_config cfg;
	struct snapshot_state *st = snapshot_state_alloc();
	struct err_buf err;
	struct uart_tap tap = { .pause_at = pause_at };
	struct letters letters = { .pause_at = pause_at };
	/* The MMIO case pauses inside read N, before letter N is printed. */
	size_t want = sc->mmio ? pause_at - 1 : pause_at;
	struct rig rig;
	struct vm vm;
	int ret = -1, rip_bad;

	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(memf, sizeof(memf), "%s/mem", dir);
	snprintf(json, sizeof(json),
		 "{\"boot-source\": {\"kernel_image_path\": \"%s\"},"
		 " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 32}}", sc->kernel);
	vm_config_init(&cfg);
	if (!st || rig_init(&rig))
		return fail("set-up", NULL), -1;
	if (vm_config_parse(&cfg, json, &err))
		return fail("config", &err), -1;
	if (vm_create(&vm, &cfg, &rig.opts, &err))
		return fail("vm_create", &err), -1;
	letters.vm = &vm;
	if (sc->mmio && bus_register(&vm.mmio_bus, LETTERS_GPA, 4, &letters_ops, &letters)) {
		fprintf(stderr, "FAIL: cannot register the letters device\n");
		goto out;
	}
	for (unsigned int i = 0; !sc->mmio && i < vm.pio_bus.nr; i++) {
		struct bus_window *w = &vm.pio_bus.windows[i];

		if (w->base == COM1) {
			tap.vm = &vm;
			tap.ops = w->ops;
			tap.dev = w->dev;
			w->ops = &uart_tap_ops;
			w->dev = &tap;
		}
	}
	if (!sc->mmio && !tap.vm) {
		fprintf(stderr, "FAIL: no UART window at 0x%x\n", COM1);
		goto out;
	}
	if (vm_start(&vm))
		goto out;
	/* Waits for the vCPU to park on the handler's request, like vm_pause(). */
	*out_len = read_console(rig.console[0], out, 0, want);
	/* The MMIO case may print nothing before the pause: wait for the read itself. */
	for (int i = 0; sc->mmio && i < 30000; i++) {
		if (__atomic_load_n(&letters.reads, __ATOMIC_ACQUIRE) >= pause_at)
			break;
		usleep(1000);
	}
	vm_pause(&vm);
	drain_console(rig.console[0], out, out_len, cap);
	if (*out_len != want) {
		fprintf(stderr, "FAIL: %s: the source printed %zu bytes, expected to pause after %zu\n",
			sc->name, *out_len, want);
		goto out_stop;
	}
	/* Judged, but the snapshot goes on: the stream must show the replay too. */
	rip_bad = check_rip(&vm, sc);
	if (snapshot_vm_save(&vm, &cfg, st, &err) || snapshot_state_save(state, st, &err) ||
	    snapshot_mem_write(&vm, memf, false, &err)) {
		fail("snapshot create", &err);
		goto out_stop;
	}
	ret = rip_bad;
out_stop:
	vm_stop(&vm);
	drain_console(rig.console[0], out, out_len, cap);
out:
	vm_destroy(&vm);
	vm_config_free(&cfg);
	snapshot_state_free(st);
	rig_free(&rig);
	return ret;
}

/*
 * Loads @dir's snapshot into a fresh VM and collects WANT_AFTER bytes; the
 * letters device (MMIO case) goes on from @reads.
 */
static int run_restored(const struct scenario *sc, unsigned long reads, const char *dir,
			char *out, size_t *out_len)
{
	char state[512], memf[512];
	struct snapshot_state *st = snapshot_state_alloc();
	struct restore_mem_source src = { .file_fd = -1 };
	struct letters letters;
	struct vm_config cfg;
	struct err_buf err;
	struct rig rig;
	struct vm vm;
	int ret = 1;

	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(memf, sizeof(memf), "%s/mem", dir);
	vm_config_init(&cfg);
	if (!st || rig_init(&rig))
		return fail("set-up", NULL);
	if (snapshot_state_load(state, st, &err) || snapshot_vm_config(st, NULL, 0, &cfg, &err))
		return fail("snapshot load", &err);
	src.file_fd = open(memf, O_RDONLY | O_CLOEXEC);
	if (src.file_fd < 0)
		return fail("opening the memory file", NULL);
	if (vm_create_for_restore(&vm, &cfg, &rig.opts, &src, &err))
		return fail("vm_create_for_restore", &err);
	close(src.file_fd);
	if (snapshot_vm_restore(&vm, st, &err)) {
		fail("snapshot_vm_restore", &err);
		goto out;
	}
	letters = (struct letters){ .vm = &vm, .reads = reads };
	if (sc->mmio && bus_register(&vm.mmio_bus, LETTERS_GPA, 4, &letters_ops, &letters)) {
		fprintf(stderr, "FAIL: cannot register the letters device\n");
		goto out;
	}
	if (vm_start(&vm))
		goto out;
	*out_len = read_console(rig.console[0], out, 0, WANT_AFTER);
	vm_stop(&vm);
	ret = *out_len < WANT_AFTER;
	if (ret)
		fprintf(stderr, "FAIL: the restored guest printed %zu bytes\n", *out_len);
out:
	vm_destroy(&vm);
	vm_config_free(&cfg);
	snapshot_state_free(st);
	rig_free(&rig);
	return ret;
}

static int one_case(const struct scenario *sc, unsigned long pause_at)
{
	static char before[4096], after[4096], joined[8192], want[8192];
	char dir[] = "/tmp/ignis-exit-completion-XXXXXX";
	size_t nb = 0, na = 0;
	int ret;

	if (!mkdtemp(dir))
		return fail("mkdtemp", NULL);
	ret = run_source(sc, pause_at, dir, before, &nb, sizeof(before));
	if (ret >= 0 && run_restored(sc, pause_at, dir, after, &na) == 0) {
		memcpy(joined, before, nb);
		memcpy(joined + nb, after, na);
		expected_stream(sc, want, sizeof(want));
		if (memcmp(joined, want, nb + na) != 0) {
			fprintf(stderr, "FAIL: %s: pause at access %lu: joined console stream differs\n"
				"  before: %.*s|\n  after:  %.*s|\n", sc->name, pause_at, (int)nb,
				before, (int)(na > 32 ? 32 : na), after);
			ret = 1;
		} else {
			printf("PASS: %s: pause inside the handler of access %lu: %zu + %zu bytes "
			       "continue exactly\n", sc->name, pause_at, nb, na);
		}
	} else {
		ret = 1;
	}
	{
		char path[600];

		snprintf(path, sizeof(path), "%s/state", dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/mem", dir);
		unlink(path);
		rmdir(dir);
	}
	return ret;
}

int main(int argc, char **argv)
{
	static const unsigned long defaults[] = { 1, 2, 9, 37, 100 };
	int failed = 0, fd;

	if (argc < 3) {
		fprintf(stderr, "usage: exit_completion COUNTER_ELF MMIOREAD_ELF [PAUSE_AT...]\n");
		return 2;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("SKIPPED: no /dev/kvm\n");
		return 77;
	}
	close(fd);
	log_configure(LOG_WARN, NULL, true, false);
	if (vcpu_signals_init())
		return fail("vcpu_signals_init", NULL);
	const struct scenario scenarios[] = {
		{ .name = "port I/O (UART write)", .kernel = argv[1], .mmio = false },
		{ .name = "MMIO read", .kernel = argv[2], .mmio = true },
	};
	for (size_t s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++) {
		if (argc > 3) {
			for (int i = 3; i < argc; i++)
				failed |= one_case(&scenarios[s], strtoul(argv[i], NULL, 0));
		} else {
			for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
				failed |= one_case(&scenarios[s], defaults[i]);
		}
	}
	return failed;
}
