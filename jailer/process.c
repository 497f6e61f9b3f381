/* SPDX-License-Identifier: Apache-2.0 */
#include "jailer/process.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jailer/log.h"

int process_open_devnull(int *fd)
{
	int ret;

	*fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	ret = -errno;
	pr_err("daemonize", ret, "open /dev/null");
	return ret;
}

/* fork() that keeps the start-time accounting right in the child. */
static pid_t fork_timed(struct timing *t)
{
	uint64_t cpu = timing_cpu_now_us();
	pid_t pid;

	/* Buffered output must not be written twice, once per process. */
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		timing_forked(t, cpu);
	return pid;
}

int process_daemonize(int devnull, struct timing *t)
{
	pid_t pid;
	int ret;

	pid = fork_timed(t);
	if (pid < 0)
		goto fail_fork;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0) {
		ret = -errno;
		pr_err("daemonize", ret, "setsid");
		return ret;
	}
	/* Not a session leader any more: it can never regain a controlling tty. */
	pid = fork_timed(t);
	if (pid < 0)
		goto fail_fork;
	if (pid > 0)
		_exit(0);
	for (int fd = 0; fd <= 2; fd++) {
		if (dup2(devnull, fd) < 0) {
			ret = -errno;
			pr_err("daemonize", ret, "dup2 /dev/null onto fd %d", fd);
			return ret;
		}
	}
	close(devnull);
	return 0;
fail_fork:
	ret = -errno;
	pr_err("daemonize", ret, "fork");
	return ret;
}

int process_fork_pid_ns(struct timing *t, pid_t *child, int *status_fd)
{
	int fds[2], ret;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC)) {
		ret = -errno;
		pr_err("pid-ns", ret, "pipe");
		return ret;
	}
	/* The caller stays where it is; its next child is PID 1 of the new one. */
	if (unshare(CLONE_NEWPID)) {
		ret = -errno;
		pr_err("pid-ns", ret, "unshare(CLONE_NEWPID)");
		goto fail;
	}
	pid = fork_timed(t);
	if (pid < 0) {
		ret = -errno;
		pr_err("pid-ns", ret, "fork");
		goto fail;
	}
	if (pid == 0) {
		close(fds[0]);
		*child = 0;
		*status_fd = fds[1];
		if (setsid() < 0) {
			ret = -errno;
			pr_err("pid-ns", ret, "setsid");
			return ret;
		}
		return 0;
	}
	close(fds[1]);
	*child = pid;
	*status_fd = fds[0];
	return 0;
fail:
	close(fds[0]);
	close(fds[1]);
	return ret;
}

void process_report_failure(int status_fd, int err)
{
	ssize_t n;

	do
		n = write(status_fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
}

int process_wait_exec(pid_t child, int status_fd)
{
	int err = 0;
	ssize_t n;

	do
		n = read(status_fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(status_fd);
	if (n == 0)
		return 0;
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	return n == (ssize_t)sizeof(err) && err < 0 ? err : -EIO;
}
