/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvm-floor: the bare-KVM floor for snapshot load times. What any VMM must
 * do at least before a guest runs its first instruction: open /dev/kvm,
 * KVM_CREATE_VM, map N MiB and hand it to KVM as one memslot,
 * KVM_CREATE_VCPU and map its kvm_run, set real-mode registers that point
 * at `mov al, 0x42; out 0x10, al; hlt`, and KVM_RUN until the first exit
 * (the OUT). Every step is timed (CLOCK_MONOTONIC, µs); each run is a fresh
 * VM, torn down before the next.
 *
 * A benchmark helper, not a test: it prints numbers and asserts nothing
 * about them. Exit status 0 if every run reached the expected exit, 1 if
 * KVM refused a step or the exit was something else.
 *
 * usage: kvm-floor [--runs N] [--label TEXT] [MiB ...]   (default: 128 1024)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#define CODE_GPA 0x1000u
#define OUT_PORT 0x10u
#define MAX_RUNS 100

enum phase { P_OPEN, P_CREATE_VM, P_MMAP, P_MEMSLOT, P_CREATE_VCPU, P_REGS, P_RUN, P_TOTAL, P_NR };

static const char *const phase_names[P_NR] = {
	"open", "create_vm", "mmap", "memslot", "create_vcpu", "regs", "first_run", "total",
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int fail(const char *what)
{
	fprintf(stderr, "kvm-floor: %s: %s\n", what, strerror(errno));
	return -1;
}

/* One VM from nothing to its first exit; fills t[] with µs per phase. */
static int floor_run(size_t mib, double t[P_NR])
{
	/* mov al, 0x42; out 0x10, al; hlt */
	static const uint8_t code[] = { 0xb0, 0x42, 0xe6, OUT_PORT, 0xf4 };
	size_t size = mib << 20;
	int kvm = -1, vm = -1, vcpu = -1, ret = -1;
	void *mem = MAP_FAILED;
	struct kvm_run *run = MAP_FAILED;
	long run_size = 0;
	double start, mark, now;

	start = mark = now_us();
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fail("open /dev/kvm");
		goto out;
	}
	now = now_us();
	t[P_OPEN] = now - mark;
	mark = now;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		fail("KVM_CREATE_VM");
		goto out;
	}
	/* Intel needs it for real mode; AMD accepts and ignores it. */
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0) {
		fail("KVM_SET_TSS_ADDR");
		goto out;
	}
	now = now_us();
	t[P_CREATE_VM] = now - mark;
	mark = now;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (mem == MAP_FAILED) {
		fail("mmap guest memory");
		goto out;
	}
	memcpy((uint8_t *)mem + CODE_GPA, code, sizeof(code));
	now = now_us();
	t[P_MMAP] = now - mark;
	mark = now;

	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		fail("KVM_SET_USER_MEMORY_REGION");
		goto out;
	}
	now = now_us();
	t[P_MEMSLOT] = now - mark;
	mark = now;

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		fail("KVM_CREATE_VCPU");
		goto out;
	}
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0) {
		fail("KVM_GET_VCPU_MMAP_SIZE");
		goto out;
	}
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) {
		fail("mmap kvm_run");
		goto out;
	}
	now = now_us();
	t[P_CREATE_VCPU] = now - mark;
	mark = now;

	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 0x2 };

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		fail("KVM_GET_SREGS");
		goto out;
	}
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
		fail("KVM_SET_SREGS/KVM_SET_REGS");
		goto out;
	}
	now = now_us();
	t[P_REGS] = now - mark;
	mark = now;

	do {
		ret = ioctl(vcpu, KVM_RUN, 0);
	} while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	if (ret < 0) {
		fail("KVM_RUN");
		goto out;
	}
	now = now_us();
	t[P_RUN] = now - mark;
	t[P_TOTAL] = now - start;
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != OUT_PORT) {
		fprintf(stderr, "kvm-floor: first exit is reason %u (port 0x%x), expected KVM_EXIT_IO to 0x%x\n",
			run->exit_reason, run->exit_reason == KVM_EXIT_IO ? run->io.port : 0, OUT_PORT);
		ret = -1;
		goto out;
	}
	ret = 0;
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)run_size);
	if (vcpu >= 0)
		close(vcpu);
	if (mem != MAP_FAILED)
		munmap(mem, size);
	if (vm >= 0)
		close(vm);
	if (kvm >= 0)
		close(kvm);
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_phases(const char *label, size_t mib, const char *what, const double t[P_NR])
{
	printf("kvm-floor %s %zu MiB %s:", label, mib, what);
	for (int p = 0; p < P_NR; p++)
		printf(" %s %.0f", phase_names[p], t[p]);
	printf(" us\n");
}

int main(int argc, char **argv)
{
	static double t[MAX_RUNS][P_NR];
	const char *label = "kvm";
	size_t sizes[16];
	int nr_sizes = 0, runs = 5, status = 0;

	for (int i = 1; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			runs = (int)strtol(argv[++i], &end, 10);
			if (*end || runs < 1 || runs > MAX_RUNS) {
				fprintf(stderr, "kvm-floor: --runs takes 1..%d\n", MAX_RUNS);
				return 2;
			}
		} else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc) {
			label = argv[++i];
		} else {
			unsigned long v = strtoul(argv[i], &end, 10);

			if (*end || v < 1 || v > (1ul << 20) || nr_sizes == 16) {
				fprintf(stderr, "usage: kvm-floor [--runs N] [--label TEXT] [MiB ...]\n");
				return 2;
			}
			sizes[nr_sizes++] = v;
		}
	}
	if (!nr_sizes) {
		sizes[nr_sizes++] = 128;
		sizes[nr_sizes++] = 1024;
	}
	for (int s = 0; s < nr_sizes; s++) {
		double col[MAX_RUNS], med[P_NR];
		int good = 0;

		for (int r = 0; r < runs; r++) {
			char what[32];

			if (floor_run(sizes[s], t[good])) {
				status = 1;
				continue;
			}
			snprintf(what, sizeof(what), "run %d", r + 1);
			print_phases(label, sizes[s], what, t[good]);
			good++;
		}
		if (!good)
			continue;
		for (int p = 0; p < P_NR; p++) {
			for (int r = 0; r < good; r++)
				col[r] = t[r][p];
			med[p] = median(col, good);
		}
		print_phases(label, sizes[s], "median", med);
	}
	return status;
}
