/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/format/format.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/format/codec.h"
#include "vmm/util/fd_io.h"

#define CRC64_XZ_POLY 0xc96c5795d7870f42ULL /* ECMA-182, bit-reflected */

uint64_t snapshot_crc64(uint64_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t table[256];

	/* 2 KiB built per call: cheaper than a state file, and no global to own. */
	for (unsigned int i = 0; i < 256; i++) {
		uint64_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC64_XZ_POLY : c >> 1;
		table[i] = c;
	}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

int snapshot_file_parse(const uint8_t *buf, size_t len, const uint8_t **payload,
			size_t *payload_len, struct snapshot_version *version, struct err_buf *err)
{
	uint64_t magic, plen, crc, want;
	uint16_t major, minor;
	uint32_t flags;

	if (len > SNAPSHOT_MAX_FILE)
		return err_set(err, -EFBIG, "snapshot state file is %zu bytes, over the %u-byte limit",
			       len, SNAPSHOT_MAX_FILE);
	if (len < 8)
		return err_set(err, -EINVAL,
			       "snapshot state file is truncated: %zu bytes, no room for the header",
			       len);
	magic = snap_le64(buf);
	if ((magic & SNAPSHOT_MAGIC_ID_MASK) != (SNAPSHOT_MAGIC & SNAPSHOT_MAGIC_ID_MASK))
		return err_set(err, -EINVAL,
			       "not an ignis snapshot state file (magic 0x%016llx, expected 0x%016llx)",
			       (unsigned long long)magic, (unsigned long long)SNAPSHOT_MAGIC);
	if (magic != SNAPSHOT_MAGIC)
		return err_set(err, -ENOEXEC,
			       "snapshot is for another architecture (0x%04x; this is x86_64, 0x%04x)",
			       SNAPSHOT_MAGIC_ARCH(magic), SNAPSHOT_MAGIC_ARCH(SNAPSHOT_MAGIC));
	if (len < SNAPSHOT_HEADER_SIZE)
		return err_set(err, -EINVAL,
			       "snapshot state file is truncated: %zu bytes, the header needs %u",
			       len, SNAPSHOT_HEADER_SIZE);
	major = snap_le16(buf + 8);
	minor = snap_le16(buf + 10);
	if (major != SNAPSHOT_VERSION_MAJOR)
		return err_set(err, -ENOTSUP,
			       "snapshot format version %u.%u is not supported: this ignis reads "
			       "version %u.x (it was written by %s ignis)",
			       major, minor, SNAPSHOT_VERSION_MAJOR,
			       major > SNAPSHOT_VERSION_MAJOR ? "a newer" : "an older");
	flags = snap_le32(buf + 12);
	if (flags)
		return err_set(err, -ENOTSUP, "snapshot header has unknown flags 0x%x", flags);
	plen = snap_le64(buf + 16);
	if (plen > SNAPSHOT_MAX_PAYLOAD)
		return err_set(err, -EFBIG,
			       "snapshot payload length %llu is over the %u-byte limit",
			       (unsigned long long)plen, SNAPSHOT_MAX_PAYLOAD);
	if (len < SNAPSHOT_HEADER_SIZE + plen + SNAPSHOT_CRC_SIZE)
		return err_set(err, -EINVAL,
			       "snapshot state file is truncated: %zu bytes, the header announces %llu",
			       len,
			       (unsigned long long)(SNAPSHOT_HEADER_SIZE + plen + SNAPSHOT_CRC_SIZE));
	if (len > SNAPSHOT_HEADER_SIZE + plen + SNAPSHOT_CRC_SIZE)
		return err_set(err, -EINVAL,
			       "snapshot state file has %llu bytes of trailing data after the checksum",
			       (unsigned long long)(len - SNAPSHOT_HEADER_SIZE - plen -
						    SNAPSHOT_CRC_SIZE));
	crc = snap_le64(buf + SNAPSHOT_HEADER_SIZE + plen);
	want = snapshot_crc64(0, buf, SNAPSHOT_HEADER_SIZE + plen);
	if (crc != want)
		return err_set(err, -EBADMSG,
			       "snapshot state file is corrupt: CRC64 0x%016llx, contents give 0x%016llx",
			       (unsigned long long)crc, (unsigned long long)want);
	*payload = buf + SNAPSHOT_HEADER_SIZE;
	*payload_len = plen;
	if (version) {
		version->major = major;
		version->minor = minor;
	}
	return 0;
}

/* Best effort: makes the rename itself durable. */
static void fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		if ((size_t)(slash - path) >= sizeof(dir))
			return;
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

int snapshot_file_encode(const void *payload, size_t payload_len, uint8_t **file,
			 size_t *file_len)
{
	size_t len = SNAPSHOT_HEADER_SIZE + payload_len;
	uint8_t *buf;

	if (payload_len > SNAPSHOT_MAX_PAYLOAD)
		return -EFBIG;
	buf = malloc(len + SNAPSHOT_CRC_SIZE);
	if (!buf)
		return -ENOMEM;
	snap_put_le64(buf, SNAPSHOT_MAGIC);
	snap_put_le16(buf + 8, SNAPSHOT_VERSION_MAJOR);
	snap_put_le16(buf + 10, SNAPSHOT_VERSION_MINOR);
	snap_put_le32(buf + 12, 0);
	snap_put_le64(buf + 16, payload_len);
	if (payload_len)
		memcpy(buf + SNAPSHOT_HEADER_SIZE, payload, payload_len);
	snap_put_le64(buf + len, snapshot_crc64(0, buf, len));
	*file = buf;
	*file_len = len + SNAPSHOT_CRC_SIZE;
	return 0;
}

int snapshot_file_write(const char *path, const void *payload, size_t payload_len,
			struct err_buf *err)
{
	char tmp[PATH_MAX];
	uint8_t *file;
	size_t file_len;
	int fd, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp))
		return err_set(err, -ENAMETOOLONG, "snapshot path is too long: %s", path);
	ret = snapshot_file_encode(payload, payload_len, &file, &file_len);
	if (ret == -EFBIG)
		return err_set(err, ret, "snapshot state is %zu bytes, over the %u-byte limit",
			       payload_len, SNAPSHOT_MAX_PAYLOAD);
	if (ret)
		return err_set(err, ret, "out of memory writing snapshot state %s", path);

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = err_set(err, -errno, "cannot create a temporary file next to %s: %s", path,
			      strerror(errno));
		goto out;
	}
	/* A new file: position 0 is where write() would have started. */
	ret = fd_pwrite_all(fd, file, file_len, 0);
	if (ret) {
		err_set(err, ret, "cannot write snapshot state %s: %s", tmp, strerror(-ret));
		goto fail_close;
	}
	if (fsync(fd)) {
		ret = err_set(err, -errno, "cannot sync snapshot state %s: %s", tmp, strerror(errno));
		goto fail_close;
	}
	if (close(fd)) {
		ret = err_set(err, -errno, "cannot write snapshot state %s: %s", tmp,
			      strerror(errno));
		goto fail_unlink;
	}
	if (rename(tmp, path)) {
		ret = err_set(err, -errno, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail_unlink;
	}
	fsync_parent(path);
	goto out;

fail_close:
	close(fd);
fail_unlink:
	unlink(tmp);
out:
	free(file);
	return ret;
}

int snapshot_file_read(const char *path, uint8_t **payload, size_t *payload_len,
		       struct snapshot_version *version, struct err_buf *err)
{
	const uint8_t *view;
	struct stat st;
	uint8_t *buf = NULL;
	size_t len, got = 0;
	int fd, ret;

	/* O_NONBLOCK: a FIFO given by mistake is refused below, not waited on. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return err_set(err, -errno, "cannot open snapshot state %s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st)) {
		ret = err_set(err, -errno, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = err_set(err, -EINVAL, "snapshot state %s is not a regular file", path);
		goto out;
	}
	if (st.st_size > SNAPSHOT_MAX_FILE) {
		ret = err_set(err, -EFBIG, "snapshot state %s is %lld bytes, over the %u-byte limit",
			      path, (long long)st.st_size, SNAPSHOT_MAX_FILE);
		goto out;
	}
	len = (size_t)st.st_size;
	/* One byte more than stat said, so a file growing under us is noticed. */
	buf = malloc(len + 1);
	if (!buf) {
		ret = err_set(err, -ENOMEM, "out of memory reading %s", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, len + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = err_set(err, -errno, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > len) {
			ret = err_set(err, -EINVAL, "snapshot state %s changed while being read", path);
			goto out;
		}
	}
	ret = snapshot_file_parse(buf, got, &view, payload_len, version, err);
	if (ret)
		goto out;
	/* The payload starts at the header's end: move it to the buffer's start. */
	memmove(buf, view, *payload_len);
	*payload = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return ret;
}
