/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/io/console_out.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A description of @fd's file of our own, non-blocking; -errno if there is no way. */
static int reopen_nonblocking(int fd)
{
	char path[32];
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	return nfd >= 0 ? nfd : -errno;
}

int console_out_open(struct console_out *co, int fd, struct err_buf *err)
{
	struct stat sb;
	int flags;

	co->fd = fd;
	co->owned_fd = co->restore_fd = -1;
	co->restore_flags = 0;
	if (fd < 0)
		return 0;
	if (fstat(fd, &sb) < 0)
		return err_set(err, -errno, "console output (fd %d): %s", fd, strerror(errno));
	if (S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode))
		return 0;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return err_set(err, -errno, "console output (fd %d): %s", fd, strerror(errno));
	if (flags & O_NONBLOCK)
		return 0;
	co->owned_fd = reopen_nonblocking(fd);
	if (co->owned_fd >= 0) {
		co->fd = co->owned_fd;
		return 0;
	}
	co->owned_fd = -1;
	if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return err_set(err, -errno, "console output (fd %d): cannot make it non-blocking: %s",
			       fd, strerror(errno));
	co->restore_fd = fd;
	co->restore_flags = flags;
	return 0;
}

void console_out_close(struct console_out *co)
{
	if (co->owned_fd >= 0)
		close(co->owned_fd);
	if (co->restore_fd >= 0 && fcntl(co->restore_fd, F_SETFL, co->restore_flags) < 0) {
		/* The fd is gone already: nothing left to put back. */
	}
	co->fd = co->owned_fd = co->restore_fd = -1;
}
