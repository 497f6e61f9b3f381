/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in allowlists, one per thread kind, and the ASan exception to
 * filtering by default (seccomp.h). docs/seccomp.md tabulates them.
 */
#include "vmm/security/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <linux/userfaultfd.h>
#include <seccomp.h>

#include "vmm/security/builder.h"

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

#define ALLOW(b, name) seccomp_builder_add_rule((b), SCMP_SYS(name), 0, NULL)
#define ALLOW_IF(b, name, ...)                                                           \
	do {                                                                             \
		const struct scmp_arg_cmp args_[] = { __VA_ARGS__ };                     \
		seccomp_builder_add_rule((b), SCMP_SYS(name), ARRAY_SIZE(args_), args_); \
	} while (0)

#if IGNIS_ASAN
/*
 * Sanitizer builds only (docs/seccomp.md "Sanitizer builds"): what the ASan,
 * UBSan and LeakSanitizer runtimes call from a filtered thread. Reports
 * read /proc/self/maps and the executable to symbolise, then exit; the
 * leak check at exit stops the world: it clones a tracer thread
 * (CLONE_UNTRACED, never set by pthread_create's clone3) that attaches to
 * every thread with ptrace and lists /proc/self/task. None of this is in a
 * release build's filters.
 */
static void allow_sanitizer(struct seccomp_builder *b)
{
	ALLOW(b, sigaltstack);
	ALLOW(b, rt_sigaction);
	/*
	 * Read-only opens (of /proc/self/task too: O_DIRECTORY is allowed, and
	 * O_TMPFILE, which contains it, needs write access anyway); x86-64's
	 * sanitizer runtime uses the legacy calls (open, getdents, stat).
	 */
	ALLOW_IF(b, open, SCMP_A1(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, 0));
	ALLOW_IF(b, openat, SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, 0));
	ALLOW(b, read);
	ALLOW(b, close);
	ALLOW(b, newfstatat);
	ALLOW(b, stat);
	ALLOW(b, fstat);
	ALLOW(b, readlink);
	ALLOW(b, readlinkat);
	ALLOW(b, getdents);
	ALLOW(b, getdents64);
	ALLOW(b, getpid);
	ALLOW(b, gettid);
	ALLOW(b, getppid);
	ALLOW(b, sched_yield);
	ALLOW(b, prctl);
	ALLOW(b, write);
	ALLOW_IF(b, clone, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_UNTRACED, CLONE_UNTRACED));
	ALLOW(b, ptrace);
	ALLOW(b, wait4);
}
#else
static void allow_sanitizer(struct seccomp_builder *b)
{
	(void)b;
}
#endif

/* Every thread: signal return, thread exit, glibc's locks and clocks. */
static void allow_common(struct seccomp_builder *b)
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
	allow_sanitizer(b);
}

/* malloc (brk and per-thread arenas) and stack release; nothing executable. */
static void allow_memory(struct seccomp_builder *b)
{
	ALLOW(b, brk);
	ALLOW_IF(b, mmap, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	ALLOW_IF(b, mprotect, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	ALLOW(b, munmap);
	ALLOW(b, mremap);
	ALLOW(b, madvise);
}

static void allow_ioctls(struct seccomp_builder *b, const unsigned long *reqs, size_t n)
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
static void build_vmm(struct seccomp_builder *b)
{
	static const unsigned long ioctls[] = {
		TCGETS, TCSETS,           /* the console's raw mode, set and restored */
		/* PUT /snapshot/create: read-only KVM state of the paused vCPUs and VM. */
		KVM_CHECK_EXTENSION, KVM_GET_MSR_INDEX_LIST,
		KVM_GET_MP_STATE, KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_XSAVE, KVM_GET_XSAVE2,
		KVM_GET_XCRS, KVM_GET_DEBUGREGS, KVM_GET_LAPIC, KVM_GET_TSC_KHZ, KVM_GET_CPUID2,
		KVM_GET_MSRS, KVM_GET_VCPU_EVENTS, KVM_GET_IRQCHIP, KVM_GET_PIT2, KVM_GET_CLOCK,
		/*
		 * PUT /snapshot/rewind: the loaded state set again on the parked
		 * vCPUs and the VM. This thread can write all of guest RAM
		 * anyway; registers give it nothing over the guest it lacks.
		 */
		KVM_SET_CPUID2, KVM_SET_MP_STATE, KVM_SET_REGS, KVM_SET_SREGS, KVM_SET_XSAVE,
		KVM_SET_XCRS, KVM_SET_DEBUGREGS, KVM_SET_LAPIC, KVM_SET_MSRS, KVM_SET_VCPU_EVENTS,
		KVM_SET_TSC_KHZ, KVM_SET_IRQCHIP, KVM_SET_PIT2, KVM_SET_CLOCK,
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
	/*
	 * PATCH /drives/{id} of an Async drive: its ring's fixed file is replaced,
	 * the only registration the ring itself still allows (block_uring.c).
	 */
	ALLOW_IF(b, io_uring_register, SCMP_A1(SCMP_CMP_EQ, IORING_REGISTER_FILES_UPDATE));
	/* PATCH /drives/{id}: the new backing file (stat, size); never creates or truncates one. */
	ALLOW_IF(b, openat, SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT | O_TMPFILE | O_TRUNC, 0));
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
static void build_api(struct seccomp_builder *b)
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
static void build_vcpu(struct seccomp_builder *b)
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

static void (*const builders[SECCOMP_THREAD_COUNT])(struct seccomp_builder *) = {
	[SECCOMP_THREAD_VMM] = build_vmm,
	[SECCOMP_THREAD_API] = build_api,
	[SECCOMP_THREAD_VCPU] = build_vcpu,
};

int seccomp_filters_default(struct seccomp_filters *f, int kick_signal, struct err_buf *err)
{
	struct seccomp_builder *b = malloc(sizeof(*b));
	int ret = 0;

	memset(f, 0, sizeof(*f));
	if (!b)
		return err_set(err, -ENOMEM, "out of memory");
	for (int t = 0; t < SECCOMP_THREAD_COUNT && !ret; t++) {
		ret = seccomp_builder_init(b, SCMP_ACT_TRAP, SCMP_ACT_ALLOW);
		if (ret) {
			err_set(err, ret, "seccomp_init failed");
			break;
		}
		b->kick_signal = kick_signal;
		builders[t](b);
		ret = seccomp_builder_finish(b, &f->thread[t]);
		if (ret)
			err_set(err, ret, "%s filter: %s%s%s", seccomp_thread_name(t),
				b->failed[0] ? b->failed : "", b->failed[0] ? ": " : "",
				strerror(-ret));
		seccomp_builder_release(b);
	}
	free(b);
	if (ret)
		seccomp_filters_free(f);
	return ret;
}
