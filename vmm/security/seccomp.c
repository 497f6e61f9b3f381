/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/security/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <seccomp.h>

#include "vmm/util/log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Far above any allowlist here; a custom policy past it is refused. */
#define MAX_SYSCALLS 512

const char *seccomp_thread_name(enum seccomp_thread t)
{
	static const char *const names[] = { "vmm", "api", "vcpu" };

	return t < SECCOMP_THREAD_COUNT ? names[t] : "?";
}

#if defined(__SANITIZE_ADDRESS__)
#define IGNIS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IGNIS_ASAN 1
#endif
#endif
#ifndef IGNIS_ASAN
#define IGNIS_ASAN 0
#endif

bool seccomp_default_enabled(void)
{
	return !IGNIS_ASAN;
}

/* ---- building one filter with libseccomp ------------------------------- */

struct builder {
	scmp_filter_ctx ctx;
	uint32_t action; /* what a rule does (filter_action) */
	int syscalls[MAX_SYSCALLS];
	unsigned int nr_syscalls, nr_rules;
	int err;           /* first failure, -errno */
	char failed[96];   /* the rule that failed */
	int kick_signal;   /* the one signal the VMM thread may send (tgkill) */
};

static int builder_init(struct builder *b, uint32_t default_action, uint32_t filter_action)
{
	memset(b, 0, sizeof(*b));
	b->action = filter_action;
	b->ctx = seccomp_init(default_action);
	if (!b->ctx)
		return -ENOMEM;
	/* no_new_privs is set by seccomp_install(); BPF is exported, not loaded. */
	seccomp_attr_set(b->ctx, SCMP_FLTATR_CTL_NNP, 0);
	return 0;
}

static void add_rule(struct builder *b, int nr, unsigned int nargs, const struct scmp_arg_cmp *args)
{
	unsigned int i;
	int ret;

	if (b->err)
		return;
	ret = seccomp_rule_add_exact_array(b->ctx, b->action, nr, nargs, args);
	if (ret) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		b->err = ret;
		snprintf(b->failed, sizeof(b->failed), "%s", name ? name : "?");
		free(name);
		return;
	}
	b->nr_rules++;
	for (i = 0; i < b->nr_syscalls; i++)
		if (b->syscalls[i] == nr)
			return;
	if (b->nr_syscalls < MAX_SYSCALLS)
		b->syscalls[b->nr_syscalls++] = nr;
}

#define ALLOW(b, name) add_rule((b), SCMP_SYS(name), 0, NULL)
#define ALLOW_IF(b, name, ...)                                                    \
	do {                                                                      \
		const struct scmp_arg_cmp args_[] = { __VA_ARGS__ };              \
		add_rule((b), SCMP_SYS(name), ARRAY_SIZE(args_), args_);          \
	} while (0)

/* The BPF of @b into @out (through a memfd: libseccomp 2.5 exports to fds). */
static int builder_finish(struct builder *b, struct seccomp_filter *out)
{
	struct stat st;
	void *insns = NULL;
	ssize_t n;
	int fd, ret;

	if (b->err)
		return b->err;
	fd = memfd_create("ignis-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = seccomp_export_bpf(b->ctx, fd);
	if (ret)
		goto out;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) ||
	    st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		ret = -E2BIG;
		goto out;
	}
	insns = malloc((size_t)st.st_size);
	if (!insns) {
		ret = -ENOMEM;
		goto out;
	}
	n = pread(fd, insns, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		ret = n < 0 ? -errno : -EIO;
		free(insns);
		goto out;
	}
	out->insns = insns;
	out->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
	out->nr_syscalls = b->nr_syscalls;
	out->nr_rules = b->nr_rules;
	ret = 0;
out:
	close(fd);
	return ret;
}

static void builder_release(struct builder *b)
{
	if (b->ctx)
		seccomp_release(b->ctx);
	b->ctx = NULL;
}

/* ---- the built-in allowlists ------------------------------------------ */

/* Every thread: signal return, thread exit, glibc's locks and clocks. */
static void allow_common(struct builder *b)
{
	/* glibc's mutexes, condvars and joins: wait and wake only, no PI/requeue. */
	static const int futex_ops[] = { FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET,
					 FUTEX_WAKE_BITSET };
	const uint64_t op_mask = ~(uint64_t)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) &
				 0xffffffffULL;

	for (size_t i = 0; i < ARRAY_SIZE(futex_ops); i++)
		ALLOW_IF(b, futex, SCMP_A1(SCMP_CMP_MASKED_EQ, op_mask, (uint64_t)futex_ops[i]));
	ALLOW(b, rt_sigreturn);
	ALLOW(b, restart_syscall);
	ALLOW(b, clock_gettime); /* CPU-time clocks are not in the vDSO */
	ALLOW(b, exit);
	ALLOW(b, exit_group); /* also how the SIGSYS handler leaves, from any thread */
	/* glibc blocks signals around a thread's exit. */
	ALLOW(b, rt_sigprocmask);
#if IGNIS_ASAN
	/* The ASan runtime looks up the alternate signal stack (a query, never a change). */
	ALLOW_IF(b, sigaltstack, SCMP_A0(SCMP_CMP_EQ, 0));
#endif
}

/* malloc (brk and per-thread arenas) and stack release; nothing executable. */
static void allow_memory(struct builder *b)
{
	ALLOW(b, brk);
	ALLOW_IF(b, mmap, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	ALLOW_IF(b, mprotect, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	ALLOW(b, munmap);
	ALLOW(b, mremap);
	ALLOW(b, madvise);
}

static void allow_ioctls(struct builder *b, const unsigned long *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ALLOW_IF(b, ioctl, SCMP_A1(SCMP_CMP_EQ, (uint64_t)reqs[i]));
}

/*
 * The VMM thread once the microVM runs: its epoll loop (eventfds, ioeventfds,
 * timers, signalfd, serial console), block I/O (sync and io_uring), TAP
 * frames, PATCH /drives (opens the new file), pause (kicks vCPUs), metrics
 * and logs, and the way out (joins, unmaps, closes, unlinks the socket).
 */
static void build_vmm(struct builder *b)
{
	static const unsigned long ioctls[] = {
		TCGETS, TCSETS,           /* the console's raw mode, set and restored */
		/* PUT /snapshot/create: read-only KVM state of the paused vCPUs and VM. */
		KVM_CHECK_EXTENSION, KVM_GET_MSR_INDEX_LIST,
		KVM_GET_MP_STATE, KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_XSAVE, KVM_GET_XSAVE2,
		KVM_GET_XCRS, KVM_GET_DEBUGREGS, KVM_GET_LAPIC, KVM_GET_TSC_KHZ, KVM_GET_CPUID2,
		KVM_GET_MSRS, KVM_GET_VCPU_EVENTS, KVM_GET_IRQCHIP, KVM_GET_PIT2, KVM_GET_CLOCK,
		/* With track_dirty_pages: each slot's log (read, clear, re-protect). */
		KVM_GET_DIRTY_LOG,
		/* Stopping a Uffd-restored VM: faults waiting for the handler complete. */
		UFFDIO_UNREGISTER,
		/* virtio-net activated by the guest (settle): the negotiated offloads. */
		TUNSETOFFLOAD,
	};

	allow_common(b);
	allow_memory(b);
	allow_ioctls(b, ioctls, ARRAY_SIZE(ioctls));
	ALLOW(b, epoll_wait);
	ALLOW(b, epoll_ctl);
	ALLOW(b, read);
	ALLOW(b, write);
	ALLOW(b, readv);
	ALLOW(b, writev);
	ALLOW(b, preadv);
	ALLOW(b, pwritev);
	ALLOW(b, lseek);
	ALLOW(b, fsync);
	ALLOW(b, fdatasync);
	ALLOW(b, io_uring_enter);
	ALLOW(b, close);
	/* PATCH /drives/{id}: the new backing file (stat, size); never creates one. */
	ALLOW_IF(b, openat, SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT | O_TMPFILE, 0));
	ALLOW(b, newfstatat);
	/*
	 * PUT /snapshot/create: the state and memory files are written under a
	 * new, exclusively created temporary name (mkostemp: O_CREAT|O_EXCL,
	 * getrandom for the name), then renamed into place; never O_TRUNC of an
	 * existing file. The directory is opened O_RDONLY to fsync the rename.
	 */
	ALLOW_IF(b, openat, SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT | O_EXCL | O_TRUNC | O_TMPFILE,
				    O_CREAT | O_EXCL));
	ALLOW_IF(b, openat, SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT | O_TMPFILE | O_ACCMODE,
				    O_DIRECTORY));
	ALLOW(b, getrandom);
	/* The state and memory files: written at offsets; memory is sized first, holes left. */
	ALLOW(b, pwrite64);
	ALLOW(b, ftruncate);
	ALLOW(b, rename);
	ALLOW(b, renameat);
	/* Pause and stop: the kick signal to vCPU threads, nothing else. */
	ALLOW(b, getpid);
	ALLOW_IF(b, tgkill, SCMP_A2(SCMP_CMP_EQ, (uint64_t)b->kick_signal));
	/* The API socket file, removed on the way out. */
	ALLOW(b, unlink);
}

/* The API thread: HTTP on the already-bound socket and the channel eventfds. */
static void build_api(struct builder *b)
{
	allow_common(b);
	allow_memory(b);
	ALLOW(b, epoll_wait);
	ALLOW(b, epoll_ctl);
	/* Connections arrive on the listening AF_UNIX socket; none is created here. */
	ALLOW(b, accept4);
	ALLOW(b, recvfrom);
	ALLOW(b, sendto);
	ALLOW(b, write); /* the channel's eventfd, logs */
	ALLOW(b, close);
}

/*
 * A vCPU thread: KVM_RUN and what its exits reach synchronously: serial
 * output and interrupts (write to the console and irqfds), a virtio device
 * being activated (TAP offloads, epoll interest) or reset (draining its
 * io_uring), the exit request (eventfd), logs, and parking on pause.
 */
static void build_vcpu(struct builder *b)
{
	/*
	 * Device activation and reset only record the new state here; the VMM
	 * thread does what needs the host (virtio_device_ops.settle). So no
	 * epoll_ctl, no io_uring_enter, no TAP ioctl.
	 */
	static const unsigned long ioctls[] = { KVM_RUN };

	allow_common(b);
	allow_memory(b);
	allow_ioctls(b, ioctls, ARRAY_SIZE(ioctls));
	ALLOW(b, write); /* irqfds, the settle and exit eventfds, the console, logs */
}

static void (*const builders[SECCOMP_THREAD_COUNT])(struct builder *) = {
	[SECCOMP_THREAD_VMM] = build_vmm,
	[SECCOMP_THREAD_API] = build_api,
	[SECCOMP_THREAD_VCPU] = build_vcpu,
};

void seccomp_filters_free(struct seccomp_filters *f)
{
	for (int t = 0; t < SECCOMP_THREAD_COUNT; t++) {
		free(f->thread[t].insns);
		f->thread[t] = (struct seccomp_filter){ 0 };
	}
}

int seccomp_filters_default(struct seccomp_filters *f, int kick_signal, struct err_buf *err)
{
	struct builder *b = malloc(sizeof(*b));
	int ret = 0;

	memset(f, 0, sizeof(*f));
	if (!b)
		return err_set(err, -ENOMEM, "out of memory");
	for (int t = 0; t < SECCOMP_THREAD_COUNT && !ret; t++) {
		ret = builder_init(b, SCMP_ACT_TRAP, SCMP_ACT_ALLOW);
		if (ret) {
			err_set(err, ret, "seccomp_init failed");
			break;
		}
		b->kick_signal = kick_signal;
		builders[t](b);
		ret = builder_finish(b, &f->thread[t]);
		if (ret)
			err_set(err, ret, "%s filter: %s%s%s", seccomp_thread_name(t),
				b->failed[0] ? b->failed : "", b->failed[0] ? ": " : "",
				strerror(-ret));
		builder_release(b);
	}
	free(b);
	if (ret)
		seccomp_filters_free(f);
	return ret;
}

/* ---- custom policies: Firecracker's JSON format ------------------------ */

static int parse_action(const json_t *v, uint32_t *out)
{
	static const struct {
		const char *name;
		uint32_t action;
	} simple[] = {
		{ "allow", SCMP_ACT_ALLOW },
		{ "trap", SCMP_ACT_TRAP },
		{ "kill", SCMP_ACT_KILL_PROCESS },
		{ "kill_process", SCMP_ACT_KILL_PROCESS },
		{ "kill_thread", SCMP_ACT_KILL_THREAD },
		{ "log", SCMP_ACT_LOG },
	};
	json_int_t n;

	if (json_is_string(v)) {
		for (size_t i = 0; i < ARRAY_SIZE(simple); i++) {
			if (strcmp(json_string_value(v), simple[i].name) == 0) {
				*out = simple[i].action;
				return 0;
			}
		}
		return -EINVAL;
	}
	/* {"errno": n} or {"trace": n} */
	if (!json_is_object(v) || json_object_size(v) != 1)
		return -EINVAL;
	if (json_is_integer(json_object_get(v, "errno"))) {
		n = json_integer_value(json_object_get(v, "errno"));
		if (n < 0 || n > 4095)
			return -EINVAL;
		*out = SCMP_ACT_ERRNO((uint32_t)n);
		return 0;
	}
	if (json_is_integer(json_object_get(v, "trace"))) {
		n = json_integer_value(json_object_get(v, "trace"));
		if (n < 0 || n > 0xffff)
			return -EINVAL;
		*out = SCMP_ACT_TRACE((uint32_t)n);
		return 0;
	}
	return -EINVAL;
}

static bool only_keys(const json_t *obj, const char *const *keys, size_t n, const char **bad)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		size_t i;

		for (i = 0; i < n && strcmp(key, keys[i]) != 0; i++)
			;
		if (i == n) {
			*bad = key;
			return false;
		}
	}
	return true;
}

/* One {index, type, op, val} condition. */
static int parse_arg(const json_t *a, struct scmp_arg_cmp *out, const char *where,
		     struct err_buf *err)
{
	static const char *const keys[] = { "index", "type", "op", "val", "comment" };
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
		{ "eq", SCMP_CMP_EQ }, { "ne", SCMP_CMP_NE }, { "lt", SCMP_CMP_LT },
		{ "le", SCMP_CMP_LE }, { "gt", SCMP_CMP_GT }, { "ge", SCMP_CMP_GE },
	};
	const json_t *index = json_object_get(a, "index"), *type = json_object_get(a, "type");
	const json_t *op = json_object_get(a, "op"), *val = json_object_get(a, "val");
	const char *bad;
	uint64_t mask = ~0ULL, value;
	bool dword;

	if (!json_is_object(a))
		return err_set(err, -EINVAL, "%s: an argument condition must be an object", where);
	if (!only_keys(a, keys, ARRAY_SIZE(keys), &bad))
		return err_set(err, -EINVAL, "%s: unknown key `%s`", where, bad);
	if (!json_is_integer(index) || json_integer_value(index) < 0 ||
	    json_integer_value(index) > 5)
		return err_set(err, -EINVAL, "%s: `index` must be an integer 0..5", where);
	if (!json_is_string(type) || (strcmp(json_string_value(type), "dword") != 0 &&
				      strcmp(json_string_value(type), "qword") != 0))
		return err_set(err, -EINVAL, "%s: `type` must be \"dword\" or \"qword\"", where);
	dword = strcmp(json_string_value(type), "dword") == 0;
	/* Values up to 2^64-1 do not fit jansson's integers: accept them as strings too. */
	if (json_is_integer(val) && json_integer_value(val) >= 0) {
		value = (uint64_t)json_integer_value(val);
	} else if (json_is_string(val)) {
		char *end;

		errno = 0;
		value = strtoull(json_string_value(val), &end, 0);
		if (errno || *end || end == json_string_value(val))
			return err_set(err, -EINVAL, "%s: `val` is not a number", where);
	} else {
		return err_set(err, -EINVAL, "%s: `val` must be a non-negative integer", where);
	}
	if (dword && value > 0xffffffffULL)
		return err_set(err, -EINVAL, "%s: `val` does not fit a dword", where);

	out->arg = (unsigned int)json_integer_value(index);
	if (json_is_string(op)) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(ops); i++)
			if (strcmp(json_string_value(op), ops[i].name) == 0)
				break;
		if (i == ARRAY_SIZE(ops))
			return err_set(err, -EINVAL, "%s: unknown `op` \"%s\"", where,
				       json_string_value(op));
		out->op = ops[i].op;
		out->datum_a = value;
		out->datum_b = 0;
		/* A dword compares the low 32 bits; eq can say so exactly. */
		if (dword && out->op == SCMP_CMP_EQ) {
			out->op = SCMP_CMP_MASKED_EQ;
			out->datum_a = 0xffffffffULL;
			out->datum_b = value;
		}
		return 0;
	}
	if (json_is_object(op) && json_object_size(op) == 1 &&
	    json_is_integer(json_object_get(op, "masked_eq"))) {
		mask = (uint64_t)json_integer_value(json_object_get(op, "masked_eq"));
		if (dword)
			mask &= 0xffffffffULL;
		out->op = SCMP_CMP_MASKED_EQ;
		out->datum_a = mask;
		out->datum_b = value;
		return 0;
	}
	return err_set(err, -EINVAL,
		       "%s: `op` must be eq, ne, lt, le, gt, ge or {\"masked_eq\": mask}", where);
}

static int parse_thread(const json_t *obj, enum seccomp_thread t, struct seccomp_filter *out,
			struct builder *b, struct err_buf *err)
{
	static const char *const keys[] = { "default_action", "filter_action", "filter" };
	static const char *const rule_keys[] = { "syscall", "args", "comment" };
	const char *name = seccomp_thread_name(t), *bad;
	const json_t *filter = json_object_get(obj, "filter");
	uint32_t def, act;
	size_t i;
	int ret;

	if (!json_is_object(obj))
		return err_set(err, -EINVAL, "`%s`: must be an object", name);
	if (!only_keys(obj, keys, ARRAY_SIZE(keys), &bad))
		return err_set(err, -EINVAL, "`%s`: unknown key `%s`", name, bad);
	if (!json_object_get(obj, "default_action") ||
	    parse_action(json_object_get(obj, "default_action"), &def))
		return err_set(err, -EINVAL,
			       "`%s`.default_action: missing or not one of allow, trap, kill, "
			       "kill_process, kill_thread, log, {\"errno\": n}, {\"trace\": n}",
			       name);
	if (!json_object_get(obj, "filter_action") ||
	    parse_action(json_object_get(obj, "filter_action"), &act))
		return err_set(err, -EINVAL,
			       "`%s`.filter_action: missing or not one of allow, trap, kill, "
			       "kill_process, kill_thread, log, {\"errno\": n}, {\"trace\": n}",
			       name);
	if (def == act)
		return err_set(err, -EINVAL,
			       "`%s`: default_action and filter_action are the same", name);
	if (!json_is_array(filter))
		return err_set(err, -EINVAL, "`%s`.filter: missing or not an array", name);

	ret = builder_init(b, def, act);
	if (ret)
		return err_set(err, ret, "`%s`: seccomp_init failed", name);
	for (i = 0; i < json_array_size(filter); i++) {
		const json_t *rule = json_array_get(filter, i);
		const json_t *sc = json_object_get(rule, "syscall");
		const json_t *args = json_object_get(rule, "args");
		struct scmp_arg_cmp cmp[6];
		char where[96];
		size_t nargs = 0;
		int nr;

		snprintf(where, sizeof(where), "`%s`.filter[%zu]", name, i);
		if (!json_is_object(rule)) {
			ret = err_set(err, -EINVAL, "%s: a rule must be an object", where);
			goto out;
		}
		if (!only_keys(rule, rule_keys, ARRAY_SIZE(rule_keys), &bad)) {
			ret = err_set(err, -EINVAL, "%s: unknown key `%s`", where, bad);
			goto out;
		}
		if (!json_is_string(sc)) {
			ret = err_set(err, -EINVAL, "%s: `syscall` missing or not a string", where);
			goto out;
		}
		nr = seccomp_syscall_resolve_name(json_string_value(sc));
		if (nr == __NR_SCMP_ERROR || nr < 0) {
			ret = err_set(err, -EINVAL, "%s: unknown syscall \"%s\"", where,
				      json_string_value(sc));
			goto out;
		}
		if (args && (!json_is_array(args) || json_array_size(args) > ARRAY_SIZE(cmp))) {
			ret = err_set(err, -EINVAL, "%s: `args` must be an array of at most 6", where);
			goto out;
		}
		for (nargs = 0; args && nargs < json_array_size(args); nargs++) {
			char where_arg[128];

			snprintf(where_arg, sizeof(where_arg), "%s.args[%zu]", where, nargs);
			ret = parse_arg(json_array_get(args, nargs), &cmp[nargs], where_arg, err);
			if (ret)
				goto out;
		}
		add_rule(b, nr, (unsigned int)nargs, cmp);
		if (b->err) {
			ret = err_set(err, -EINVAL, "%s: libseccomp refused the rule for %s: %s",
				      where, json_string_value(sc), strerror(-b->err));
			goto out;
		}
	}
	ret = builder_finish(b, out);
	if (ret)
		err_set(err, ret, "`%s`: cannot compile the filter: %s", name, strerror(-ret));
out:
	builder_release(b);
	return ret;
}

int seccomp_filters_from_json(struct seccomp_filters *f, const char *text,
			      struct err_buf *err)
{
	static const char *const keys[] = { "vmm", "api", "vcpu" };
	struct builder *b = NULL;
	json_error_t jerr;
	const char *bad;
	json_t *root;
	int ret = 0;

	memset(f, 0, sizeof(*f));
	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(err, -EINVAL, "not valid JSON: %s (line %d, column %d)", jerr.text,
			       jerr.line, jerr.column);
	if (!json_is_object(root)) {
		ret = err_set(err, -EINVAL, "the top level must be an object");
		goto out;
	}
	if (!only_keys(root, keys, ARRAY_SIZE(keys), &bad)) {
		ret = err_set(err, -EINVAL, "unknown thread category `%s` (expected vmm, api, vcpu)",
			      bad);
		goto out;
	}
	b = malloc(sizeof(*b));
	if (!b) {
		ret = err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (int t = 0; t < SECCOMP_THREAD_COUNT && !ret; t++) {
		const json_t *obj = json_object_get(root, seccomp_thread_name(t));

		if (!obj)
			ret = err_set(err, -EINVAL, "missing thread category `%s`",
				      seccomp_thread_name(t));
		else
			ret = parse_thread(obj, t, &f->thread[t], b, err);
	}
out:
	free(b);
	json_decref(root);
	if (ret)
		seccomp_filters_free(f);
	return ret;
}

int seccomp_filters_from_file(struct seccomp_filters *f, const char *path,
			      struct err_buf *err)
{
	/* A policy is small; bound it so a wrong path (a disk image) fails fast. */
	enum { MAX_POLICY = 1 << 20 };
	char *text;
	ssize_t n;
	int fd, ret;

	memset(f, 0, sizeof(*f));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, -errno, "%s: %s", path, strerror(errno));
	text = malloc(MAX_POLICY + 1);
	if (!text) {
		close(fd);
		return err_set(err, -ENOMEM, "out of memory");
	}
	n = read(fd, text, MAX_POLICY + 1);
	close(fd);
	if (n < 0 || n > MAX_POLICY) {
		ret = err_set(err, n < 0 ? -errno : -EFBIG, "%s: %s", path,
			      n < 0 ? strerror(errno) : "larger than 1 MiB");
		free(text);
		return ret;
	}
	text[n] = '\0';
	ret = seccomp_filters_from_json(f, text, err);
	if (ret) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		err_set(err, ret, "%s: %s", path, msg);
	}
	free(text);
	return ret;
}

/* ---- installing, and the SIGSYS report --------------------------------- */

int seccomp_install(const struct seccomp_filters *f, enum seccomp_thread t)
{
	struct sock_fprog prog;

	if (!f)
		return 0;
	if (t >= SECCOMP_THREAD_COUNT || !f->thread[t].insns)
		return -EINVAL;
	prog.len = f->thread[t].len;
	prog.filter = f->thread[t].insns;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* No SECCOMP_FILTER_FLAG_TSYNC: each thread kind gets its own. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}

/* Appends the decimal @v at @p; async-signal-safe. */
static char *put_uint(char *p, unsigned long long v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static void sigsys_handler(int sig, siginfo_t *info, void *uctx)
{
	char line[160], *p = line;
	struct timespec ts = { 0 };
	unsigned long long usec;
	int fd;

	(void)sig;
	(void)uctx;
	/* The log line's shape ("<s>.<us> [ignis] ..."); write(2) only. */
	clock_gettime(CLOCK_REALTIME, &ts); /* vDSO: no syscall */
	p = put_uint(p, (unsigned long long)ts.tv_sec);
	*p++ = '.';
	usec = (unsigned long long)ts.tv_nsec / 1000;
	for (unsigned long long d = 100000; d > 1 && usec < d; d /= 10)
		*p++ = '0';
	p = put_uint(p, usec);
	p = put_str(p, " [ignis] Shutting down VM after intercepting a bad syscall (");
	p = put_uint(p, (unsigned long long)(unsigned int)info->si_syscall);
	p = put_str(p, ").\n");
	if (write(STDERR_FILENO, line, (size_t)(p - line)) < 0) {
		/* nowhere left to report it */
	}
	fd = log_fd();
	if (fd >= 0 && fd != STDERR_FILENO && write(fd, line, (size_t)(p - line)) < 0) {
		/* the exit code still says it */
	}
	/*
	 * exit_group itself, not _exit(): sanitizer runtimes intercept _exit to
	 * run a leak check this filtered thread could not make.
	 */
	syscall(SYS_exit_group, SECCOMP_EXIT_BAD_SYSCALL);
	_exit(SECCOMP_EXIT_BAD_SYSCALL);
}

int seccomp_sigsys_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}
