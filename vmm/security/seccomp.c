/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The public side of vmm/security/ that needs no libseccomp: names, freeing
 * compiled filters, installing one, and the SIGSYS report. Compiling the
 * filters is in policy.c (built-in) and policy_json.c (--seccomp-filter).
 */
#include "vmm/security/seccomp.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/seccomp.h>

#include "vmm/util/log.h"

const char *seccomp_thread_name(enum seccomp_thread t)
{
	static const char *const names[] = { "vmm", "api", "vcpu" };

	return t < SECCOMP_THREAD_COUNT ? names[t] : "?";
}

void seccomp_filters_free(struct seccomp_filters *f)
{
	for (int t = 0; t < SECCOMP_THREAD_COUNT; t++) {
		free(f->thread[t].insns);
		f->thread[t] = (struct seccomp_filter){ 0 };
	}
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
