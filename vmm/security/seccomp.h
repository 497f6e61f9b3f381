/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-thread seccomp filters, as Firecracker's: one allowlist per thread
 * kind (VMM, API, vCPU), each installed by the thread itself (no TSYNC)
 * right before it starts its work:
 *  - API thread: from the API server's thread_init, before it serves;
 *  - vCPU threads: right before their first KVM_RUN;
 *  - VMM thread (main): right after the microVM is built and started
 *    (InstanceStart, or the --config-file start). Before that, while the
 *    API configures the microVM, the VMM thread is unfiltered, as
 *    Firecracker's is.
 *
 * Policies are compiled to BPF once, on the main thread before any filter
 * goes on (from the built-in allowlists or from a --seccomp-filter JSON
 * file, see docs/seccomp.md), so a thread installing its filter makes only
 * prctl(PR_SET_NO_NEW_PRIVS) and seccomp(SECCOMP_SET_MODE_FILTER).
 *
 * A call outside the allowlist raises SIGSYS (default action "trap"); the
 * handler writes "Shutting down VM after intercepting a bad syscall (<nr>)."
 * to the log and the process exits 148 (Firecracker's BadSyscall).
 */
#ifndef IGNIS_SECCOMP_H
#define IGNIS_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/filter.h>

#include "vmm/util/error.h"

/* Firecracker's FcExitCode::BadSyscall. */
#define SECCOMP_EXIT_BAD_SYSCALL 148

enum seccomp_thread {
	SECCOMP_THREAD_VMM,
	SECCOMP_THREAD_API,
	SECCOMP_THREAD_VCPU,
	SECCOMP_THREAD_COUNT,
};

/* One thread kind's compiled filter and the size of its allowlist. */
struct seccomp_filter {
	struct sock_filter *insns;
	unsigned short len;      /* BPF instructions */
	unsigned int nr_syscalls; /* distinct syscalls with a rule */
	unsigned int nr_rules;    /* rules (one per argument combination) */
};

struct seccomp_filters {
	struct seccomp_filter thread[SECCOMP_THREAD_COUNT];
};

/* "vmm", "api", "vcpu": the policy file's keys. */
const char *seccomp_thread_name(enum seccomp_thread t);

/*
 * Compiles the built-in allowlists (default action trap); @kick_signal is the
 * signal the VMM thread sends vCPU threads (vcpu_kick_signal()), the only one
 * it may send. Returns 0 or -errno with @err. Free with seccomp_filters_free().
 */
int seccomp_filters_default(struct seccomp_filters *f, int kick_signal, struct err_buf *err);

/*
 * Compiles a custom policy (docs/seccomp.md) from JSON text or a file.
 * Returns 0, or -EINVAL with @err naming the problem (and where).
 */
int seccomp_filters_from_json(struct seccomp_filters *f, const char *text,
			      struct err_buf *err);
int seccomp_filters_from_file(struct seccomp_filters *f, const char *path,
			      struct err_buf *err);

void seccomp_filters_free(struct seccomp_filters *f);

/*
 * Installs the SIGSYS handler that reports a bad syscall and exits 148.
 * Once per process, before any filter; the report goes to stderr and, when
 * logging goes elsewhere, to the log too.
 */
int seccomp_sigsys_init(void);

/*
 * Sets no_new_privs and installs @t's filter on the calling thread only.
 * @f NULL (seccomp disabled) is a no-op. Returns 0 or -errno.
 */
int seccomp_install(const struct seccomp_filters *f, enum seccomp_thread t);

#endif
