/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/util/fd_io.h"

#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

/* One syscall moves at most this much (Linux caps a transfer at ~2 GiB anyway). */
#define IO_CHUNK (1ULL << 30)

int fd_pwrite_all(int fd, const void *buf, uint64_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len > IO_CHUNK ? IO_CHUNK : (size_t)len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int fd_pread_all(int fd, void *buf, uint64_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len > IO_CHUNK ? IO_CHUNK : (size_t)len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENODATA;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}
