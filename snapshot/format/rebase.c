/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/format/rebase.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/util/fd_io.h"

#define COPY_CHUNK (1u << 20)

static int open_regular(const char *path, int flags, const char *what, struct stat *sb,
			struct err_buf *err)
{
	/* O_NONBLOCK: a FIFO given by mistake must be refused, not waited on. */
	int fd = open(path, flags | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return err_set(err, -errno, "cannot open %s %s: %s", what, path, strerror(errno));
	if (fstat(fd, sb)) {
		int ret = err_set(err, -errno, "cannot stat %s %s: %s", what, path, strerror(errno));

		close(fd);
		return ret;
	}
	if (!S_ISREG(sb->st_mode)) {
		close(fd);
		return err_set(err, -EINVAL, "%s %s is not a regular file", what, path);
	}
	return fd;
}

/* Copies [off, end) of @in to the same offsets of @out. */
static int copy_range(int in, int out, uint64_t off, uint64_t end, uint8_t *buf)
{
	while (off < end) {
		size_t want = end - off > COPY_CHUNK ? COPY_CHUNK : (size_t)(end - off);
		ssize_t n = pread(in, buf, want, (off_t)off);
		int ret;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* the diff shrank under us */
		ret = fd_pwrite_all(out, buf, (uint64_t)n, off);
		if (ret)
			return ret;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * A filesystem without hole support answers SEEK_HOLE with the file's end.
 * If the diff has no hole that way yet fewer blocks than its size, the
 * answer is not to be trusted: refuse rather than copy zeroes over the base.
 */
static int check_holes(int fd, const struct stat *sb, const char *path, struct err_buf *err)
{
	off_t hole;

	if (sb->st_size == 0)
		return 0;
	hole = lseek(fd, 0, SEEK_HOLE);
	if (hole < 0)
		return err_set(err, -errno, "diff %s: SEEK_HOLE: %s (the filesystem must report "
			       "holes)", path, strerror(errno));
	if (hole >= sb->st_size && (uint64_t)sb->st_blocks * 512 < (uint64_t)sb->st_size)
		return err_set(err, -ENOTSUP,
			       "diff %s has %llu of %lld bytes allocated but its filesystem reports "
			       "no hole: it does not support SEEK_HOLE, and merging would copy "
			       "zeroes over the base", path,
			       (unsigned long long)sb->st_blocks * 512, (long long)sb->st_size);
	return 0;
}

int snapshot_rebase(const char *base_path, const char *diff_path, struct rebase_stats *stats,
		    struct err_buf *err)
{
	struct stat bsb, dsb;
	uint8_t *buf = NULL;
	uint64_t off = 0, size;
	int base = -1, diff, ret;

	memset(stats, 0, sizeof(*stats));
	diff = open_regular(diff_path, O_RDONLY, "diff", &dsb, err);
	if (diff < 0)
		return diff;
	base = open_regular(base_path, O_RDWR, "base memory file", &bsb, err);
	if (base < 0) {
		ret = base;
		goto out;
	}
	if (bsb.st_dev == dsb.st_dev && bsb.st_ino == dsb.st_ino) {
		ret = err_set(err, -EINVAL, "%s and %s are the same file", base_path, diff_path);
		goto out;
	}
	if (bsb.st_size != dsb.st_size) {
		ret = err_set(err, -EINVAL,
			      "diff %s is %lld bytes, base %s is %lld: not a diff of this base",
			      diff_path, (long long)dsb.st_size, base_path, (long long)bsb.st_size);
		goto out;
	}
	ret = check_holes(diff, &dsb, diff_path, err);
	if (ret)
		goto out;
	buf = malloc(COPY_CHUNK);
	if (!buf) {
		ret = err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	size = (uint64_t)dsb.st_size;
	while (off < size) {
		off_t data = lseek(diff, (off_t)off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break; /* only a hole from here to the end */
		if (data < 0) {
			ret = err_set(err, -errno, "diff %s: SEEK_DATA: %s", diff_path,
				      strerror(errno));
			goto out;
		}
		hole = lseek(diff, data, SEEK_HOLE);
		if (hole < 0) {
			ret = err_set(err, -errno, "diff %s: SEEK_HOLE: %s", diff_path,
				      strerror(errno));
			goto out;
		}
		if ((uint64_t)hole > size)
			hole = (off_t)size;
		ret = copy_range(diff, base, (uint64_t)data, (uint64_t)hole, buf);
		if (ret) {
			err_set(err, ret, "cannot copy bytes %lld..%lld of %s into %s: %s",
				(long long)data, (long long)hole, diff_path, base_path,
				strerror(-ret));
			goto out;
		}
		stats->extents++;
		stats->bytes += (uint64_t)(hole - data);
		off = (uint64_t)hole;
	}
	if (fsync(base))
		ret = err_set(err, -errno, "cannot sync %s: %s", base_path, strerror(errno));
out:
	free(buf);
	if (base >= 0)
		close(base);
	close(diff);
	return ret;
}
