/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/io/block_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIRECT_ALIGN 4096

int block_file_open_flags(enum cache_type cache, bool read_only)
{
	int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;

	if (cache == CACHE_WRITETHROUGH)
		flags |= O_DSYNC;
	else if (cache == CACHE_NONE)
		flags |= O_DIRECT;
	return flags;
}

int block_file_open(struct block_file *bf, const char *path, bool read_only,
		    enum cache_type cache, struct err_buf *err)
{
	struct stat st;
	int ret;

	memset(bf, 0, sizeof(*bf));
	bf->fd = open(path, block_file_open_flags(cache, read_only));
	if (bf->fd < 0)
		return err_set(err, -errno, "%s: %s", path, strerror(errno));
	if (fstat(bf->fd, &st) < 0) {
		ret = err_set(err, -errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		ret = err_set(err, -EINVAL, "%s: not a regular file or block device", path);
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(bf->fd, 0, SEEK_END);

		st.st_size = end < 0 ? 0 : end;
	}
	if (st.st_size % BLOCK_SECTOR_SIZE) {
		ret = err_set(err, -EINVAL, "%s: size %lld is not a multiple of %d bytes", path,
			      (long long)st.st_size, BLOCK_SECTOR_SIZE);
		goto fail;
	}
	bf->size = (uint64_t)st.st_size;
	bf->read_only = read_only;
	bf->cache = cache;
	/* kvmtool/Firecracker style: unique per backing file on this host. */
	char id[64];
	int n = snprintf(id, sizeof(id), "%llu%llu%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_rdev, (unsigned long long)st.st_ino);
	memcpy(bf->id, id, n < BLOCK_ID_BYTES ? (size_t)n : BLOCK_ID_BYTES);
	return 0;
fail:
	close(bf->fd);
	bf->fd = -1;
	return ret;
}

void block_file_close(struct block_file *bf)
{
	if (bf->fd >= 0)
		close(bf->fd);
	bf->fd = -1;
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* Loops over short transfers; a read that hits end of file is -EIO. */
static int transfer(struct block_file *bf, const struct iovec *iov_in, int iovcnt, uint64_t offset,
		    bool write)
{
	struct iovec iov[IOV_MAX];
	int cnt = iovcnt;
	ssize_t n;

	if (iovcnt > IOV_MAX)
		return -EINVAL;
	memcpy(iov, iov_in, sizeof(*iov) * (size_t)iovcnt);
	struct iovec *p = iov;
	while (cnt > 0) {
		n = write ? pwritev(bf->fd, p, cnt, (off_t)offset) : preadv(bf->fd, p, cnt, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		offset += (uint64_t)n;
		while (cnt > 0 && (size_t)n >= p->iov_len) {
			n -= (ssize_t)p->iov_len;
			p++;
			cnt--;
		}
		if (cnt > 0) {
			p->iov_base = (uint8_t *)p->iov_base + n;
			p->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/*
 * Copies @len bytes from byte @skip of an iovec array to @flat, or back.
 * Both are inside the request: the caller never asks past its end.
 */
static void iov_copy(const struct iovec *iov, int iovcnt, size_t skip, uint8_t *flat, size_t len,
		     bool to_flat)
{
	for (int i = 0; i < iovcnt && len; i++) {
		uint8_t *base = iov[i].iov_base;
		size_t n;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - skip < len ? iov[i].iov_len - skip : len;
		if (to_flat)
			memcpy(flat, base + skip, n);
		else
			memcpy(base + skip, flat, n);
		flat += n;
		len -= n;
		skip = 0;
	}
}

/*
 * O_DIRECT needs aligned buffers, lengths and offsets; guests do not promise
 * them. The bounce buffer is at most BOUNCE_CHUNK: a request is as long as
 * its descriptors, and they may all alias one small guest region, so a
 * guest could otherwise make ignis allocate and touch GiBs per request.
 */
#define BOUNCE_CHUNK (1u << 20)

static int bounce(struct block_file *bf, const struct iovec *iov, int iovcnt, uint64_t offset,
		  bool write)
{
	size_t total = iov_total(iov, iovcnt), done = 0;
	size_t cap = total < BOUNCE_CHUNK ? total : BOUNCE_CHUNK;
	struct iovec one;
	void *buf;
	int ret;

	cap = (cap + DIRECT_ALIGN - 1) & ~(size_t)(DIRECT_ALIGN - 1);
	if (posix_memalign(&buf, DIRECT_ALIGN, cap ? cap : DIRECT_ALIGN))
		return -ENOMEM;
	do {
		size_t n = total - done < BOUNCE_CHUNK ? total - done : BOUNCE_CHUNK;

		one = (struct iovec){ .iov_base = buf, .iov_len = n };
		if (write)
			iov_copy(iov, iovcnt, done, buf, n, true);
		ret = transfer(bf, &one, 1, offset + done, write);
		if (!ret && !write)
			iov_copy(iov, iovcnt, done, buf, n, false);
		done += n;
	} while (!ret && done < total);
	free(buf);
	return ret;
}

static int rw(struct block_file *bf, const struct iovec *iov, int iovcnt, uint64_t offset,
	      bool write)
{
	int ret = transfer(bf, iov, iovcnt, offset, write);

	if (ret == -EINVAL && bf->cache == CACHE_NONE)
		ret = bounce(bf, iov, iovcnt, offset, write);
	return ret;
}

int block_file_readv(struct block_file *bf, const struct iovec *iov, int iovcnt, uint64_t offset)
{
	return rw(bf, iov, iovcnt, offset, false);
}

int block_file_writev(struct block_file *bf, const struct iovec *iov, int iovcnt, uint64_t offset)
{
	if (bf->read_only)
		return -EROFS;
	return rw(bf, iov, iovcnt, offset, true);
}

int block_file_flush(struct block_file *bf)
{
	switch (bf->cache) {
	case CACHE_UNSAFE:
		return 0;
	case CACHE_WRITEBACK:
		return fsync(bf->fd) < 0 ? -errno : 0;
	default:
		/* Data is already durable or uncached; metadata may not be. */
		return fdatasync(bf->fd) < 0 ? -errno : 0;
	}
}
