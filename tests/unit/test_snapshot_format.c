/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state file container: header, CRC64, size limits, and writes that
 * either replace the file whole or leave it as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "snapshot/format/codec.h"
#include "snapshot/format/format.h"
#include "tests/unit/helpers.h"

static char dir[64];

static void dir_setup(void)
{
	strcpy(dir, "/tmp/ignis-snap-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void dir_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static void path_in_dir(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* Entries in the test directory other than . and .. */
static unsigned int dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* A well-formed state file around @payload, in a malloc'd buffer. */
static uint8_t *make_file(const void *payload, size_t plen, size_t *len)
{
	uint8_t *buf;

	cr_assert_eq(snapshot_file_encode(payload, plen, &buf, len), 0);
	return buf;
}

/* Recomputes the CRC after a test edits the header, so only the edit is wrong. */
static void reseal(uint8_t *buf, size_t len)
{
	snap_put_le64(buf + len - 8, snapshot_crc64(0, buf, len - 8));
}

static const char payload[] = "the quick brown fox jumps over the lazy dog";

Test(snapshot_crc64, matches_the_crc64_xz_check_values)
{
	cr_assert_eq(snapshot_crc64(0, "123456789", 9), 0x995dc9bbdf1939faULL);
	cr_assert_eq(snapshot_crc64(0, "", 0), 0);
}

Test(snapshot_crc64, can_be_computed_in_pieces)
{
	uint64_t crc = snapshot_crc64(0, "1234", 4);

	cr_assert_eq(snapshot_crc64(crc, "56789", 5), 0x995dc9bbdf1939faULL);
}

Test(snapshot_file, the_header_is_laid_out_as_documented)
{
	static const uint8_t header[SNAPSHOT_HEADER_SIZE] = {
		0x00, 0x00, 0x64, 0x86, 0x53, 0x4e, 0x47, 0x49, /* magic: 0, 0x8664, "IGNS" */
		SNAPSHOT_VERSION_MAJOR, 0, SNAPSHOT_VERSION_MINOR, 0,
		0, 0, 0, 0,                                     /* flags */
		3, 0, 0, 0, 0, 0, 0, 0,                         /* payload length */
	};
	size_t len;
	uint8_t *buf = make_file("abc", 3, &len);

	cr_assert_eq(len, SNAPSHOT_HEADER_SIZE + 3 + SNAPSHOT_CRC_SIZE);
	cr_assert_eq(memcmp(buf, header, sizeof(header)), 0);
	cr_assert_eq(memcmp(buf + SNAPSHOT_HEADER_SIZE, "abc", 3), 0);
	cr_assert_eq(snap_le64(buf + SNAPSHOT_HEADER_SIZE + 3),
		     snapshot_crc64(0, buf, SNAPSHOT_HEADER_SIZE + 3));
	free(buf);
}

Test(snapshot_file, an_oversized_payload_is_not_encoded)
{
	uint8_t *buf;
	size_t len;

	/* Refused on the length alone: the (absent) payload is never read. */
	cr_assert_eq(snapshot_file_encode("", SNAPSHOT_MAX_PAYLOAD + 1ULL, &buf, &len), -EFBIG);
}

Test(snapshot_file, parse_returns_the_payload_and_version)
{
	size_t len, plen;
	uint8_t *buf = make_file(payload, sizeof(payload), &len);
	const uint8_t *p;
	struct snapshot_version v;
	struct err_buf err = { "" };

	cr_assert_eq(snapshot_file_parse(buf, len, &p, &plen, &v, &err), 0, "%s", err.msg);
	cr_assert_eq(plen, sizeof(payload));
	cr_assert_eq(memcmp(p, payload, plen), 0);
	cr_assert_eq(v.major, SNAPSHOT_VERSION_MAJOR);
	cr_assert_eq(v.minor, SNAPSHOT_VERSION_MINOR);
	free(buf);
}

Test(snapshot_file, flipping_any_byte_is_detected)
{
	size_t len, plen;
	uint8_t *buf = make_file(payload, sizeof(payload), &len);
	const uint8_t *p;
	struct err_buf err;

	for (size_t i = 0; i < len; i++) {
		for (unsigned int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			err.msg[0] = '\0';
			cr_assert_neq(snapshot_file_parse(buf, len, &p, &plen, NULL, &err), 0,
				      "byte %zu bit %u flipped and accepted", i, bit);
			cr_assert_neq(err.msg[0], '\0');
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	free(buf);
}

Test(snapshot_file, a_flipped_payload_byte_is_a_crc_error)
{
	size_t len, plen;
	uint8_t *buf = make_file(payload, sizeof(payload), &len);
	const uint8_t *p;
	struct err_buf err = { "" };

	buf[SNAPSHOT_HEADER_SIZE + 5] ^= 0x40;
	cr_assert_fails_with(snapshot_file_parse(buf, len, &p, &plen, NULL, &err), -EBADMSG, err,
			     "CRC64");
	free(buf);
}

Test(snapshot_file, wrong_magic_is_refused)
{
	size_t len, plen;
	uint8_t *buf = make_file(payload, sizeof(payload), &len);
	const uint8_t *p;
	struct err_buf err = { "" };

	snap_put_le64(buf, 0x0710198486640000ULL); /* Firecracker's */
	reseal(buf, len);
	cr_assert_fails_with(snapshot_file_parse(buf, len, &p, &plen, NULL, &err), -EINVAL, err,
			     "not an ignis snapshot");
	free(buf);
}

Test(snapshot_file, another_architecture_is_named)
{
	size_t len, plen;
	uint8_t *buf = make_file(payload, sizeof(payload), &len);
	const uint8_t *p;
	struct err_buf err = { "" };

	snap_put_le64(buf, (SNAPSHOT_MAGIC & SNAPSHOT_MAGIC_ID_MASK) | 0xaaaa0000ULL);
	reseal(buf, len);
	cr_assert_fails_with(snapshot_file_parse(buf, len, &p, &plen, NULL, &err), -ENOEXEC, err,
			     "another architecture (0xaaaa");
	free(buf);
}

Test(snapshot_file, another_major_version_is_refused_naming_both)
{
	size_t len, plen;
	uint8_t *buf = make_file(payload, sizeof(payload), &len);
	const uint8_t *p;
	struct err_buf err = { "" };
	char mine[32], theirs[32];

	snap_put_le16(buf + 8, SNAPSHOT_VERSION_MAJOR + 1);
	snap_put_le16(buf + 10, 3);
	reseal(buf, len);
	snprintf(theirs, sizeof(theirs), "version %u.3", SNAPSHOT_VERSION_MAJOR + 1);
	cr_assert_fails_with(snapshot_file_parse(buf, len, &p, &plen, NULL, &err), -ENOTSUP, err,
			     theirs);
	snprintf(mine, sizeof(mine), "version %u.x", SNAPSHOT_VERSION_MAJOR);
	cr_assert_not_null(strstr(err.msg, mine), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "newer"), "%s", err.msg);

	/* Format 1 (no drive paths) is refused by this reader, as any older major. */
	snap_put_le16(buf + 8, SNAPSHOT_VERSION_MAJOR - 1);
	snap_put_le16(buf + 10, 0);
	reseal(buf, len);
	snprintf(theirs, sizeof(theirs), "version %u.0", SNAPSHOT_VERSION_MAJOR - 1);
	cr_assert_fails_with(snapshot_file_parse(buf, len, &p, &plen, NULL, &err), -ENOTSUP, err,
			     theirs);
	cr_assert_not_null(strstr(err.msg, "older"), "%s", err.msg);

	snap_put_le16(buf + 8, 0);
	reseal(buf, len);
	cr_assert_fails_with(snapshot_file_parse(buf, len, &p, &plen, NULL, &err), -ENOTSUP, err,
			     "older");
	free(buf);
}

Test(snapshot_file, another_minor_version_is_read)
{
	size_t len, plen;
	uint8_t *buf = make_file(payload, sizeof(payload), &len);
	const uint8_t *p;
	struct snapshot_version v;
	struct err_buf err = { "" };

	snap_put_le16(buf + 10, SNAPSHOT_VERSION_MINOR + 7);
	reseal(buf, len);
	cr_assert_eq(snapshot_file_parse(buf, len, &p, &plen, &v, &err), 0, "%s", err.msg);
	cr_assert_eq(v.minor, SNAPSHOT_VERSION_MINOR + 7);
	free(buf);
}

Test(snapshot_file, unknown_flags_are_refused)
{
	size_t len, plen;
	uint8_t *buf = make_file(payload, sizeof(payload), &len);
	const uint8_t *p;
	struct err_buf err = { "" };

	snap_put_le32(buf + 12, 1);
	reseal(buf, len);
	cr_assert_fails_with(snapshot_file_parse(buf, len, &p, &plen, NULL, &err), -ENOTSUP, err,
			     "flags");
	free(buf);
}

Test(snapshot_file, every_truncation_is_refused)
{
	size_t len, plen;
	uint8_t *buf = make_file(payload, sizeof(payload), &len);
	const uint8_t *p;
	struct err_buf err;

	for (size_t n = 0; n < len; n++) {
		/* A copy of exactly @n bytes, so ASan sees any read past the end. */
		uint8_t *cut = malloc(n ? n : 1);

		memcpy(cut, buf, n);
		err.msg[0] = '\0';
		cr_assert_eq(snapshot_file_parse(cut, n, &p, &plen, NULL, &err), -EINVAL,
			     "%zu of %zu bytes accepted", n, len);
		cr_assert_not_null(strstr(err.msg, "truncated"), "at %zu: %s", n, err.msg);
		free(cut);
	}
	free(buf);
}

Test(snapshot_file, trailing_bytes_are_refused)
{
	size_t len, plen;
	uint8_t *buf = make_file(payload, sizeof(payload), &len);
	uint8_t *longer = calloc(1, len + 3);
	const uint8_t *p;
	struct err_buf err = { "" };

	memcpy(longer, buf, len);
	cr_assert_fails_with(snapshot_file_parse(longer, len + 3, &p, &plen, NULL, &err), -EINVAL,
			     err, "trailing");
	free(longer);
	free(buf);
}

Test(snapshot_file, length_fields_beyond_the_file_or_limit_are_refused)
{
	static const uint64_t lengths[] = { sizeof(payload) + 1, 1u << 20, SNAPSHOT_MAX_PAYLOAD,
					    SNAPSHOT_MAX_PAYLOAD + 1ULL, UINT32_MAX + 1ULL,
					    UINT64_MAX - 8, UINT64_MAX };
	size_t len, plen;
	uint8_t *buf = make_file(payload, sizeof(payload), &len);
	const uint8_t *p;
	struct err_buf err;

	for (unsigned int i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		int ret;

		snap_put_le64(buf + 16, lengths[i]);
		err.msg[0] = '\0';
		ret = snapshot_file_parse(buf, len, &p, &plen, NULL, &err);
		cr_assert(ret == -EINVAL || ret == -EFBIG, "length %llu: %d",
			  (unsigned long long)lengths[i], ret);
		cr_assert_neq(err.msg[0], '\0');
	}
	/* A length that is too small leaves bytes the CRC check does not reach: refused too. */
	snap_put_le64(buf + 16, sizeof(payload) - 1);
	cr_assert_neq(snapshot_file_parse(buf, len, &p, &plen, NULL, &err), 0);
	free(buf);
}

Test(snapshot_file, a_buffer_over_the_limit_is_refused_before_reading_it)
{
	const uint8_t *p;
	size_t plen;
	uint8_t one = 0;
	struct err_buf err = { "" };

	/* The parser must not touch the (absent) bytes: it checks the size first. */
	cr_assert_fails_with(snapshot_file_parse(&one, SNAPSHOT_MAX_FILE + 1ULL, &p, &plen, NULL,
						 &err),
			     -EFBIG, err, "limit");
}

Test(snapshot_file, write_then_read_round_trips, .init = dir_setup, .fini = dir_teardown)
{
	char path[128];
	uint8_t *got;
	size_t len;
	struct snapshot_version v;
	struct err_buf err = { "" };
	struct stat st;

	path_in_dir(path, sizeof(path), "vm.snap");
	cr_assert_eq(snapshot_file_write(path, payload, sizeof(payload), &err), 0, "%s", err.msg);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq((size_t)st.st_size,
		     SNAPSHOT_HEADER_SIZE + sizeof(payload) + SNAPSHOT_CRC_SIZE);
	cr_assert_eq(dir_entries(), 1, "temporary file left behind");
	cr_assert_eq(snapshot_file_read(path, &got, &len, &v, &err), 0, "%s", err.msg);
	cr_assert_eq(len, sizeof(payload));
	cr_assert_eq(memcmp(got, payload, len), 0);
	cr_assert_eq(v.major, SNAPSHOT_VERSION_MAJOR);
	free(got);
}

Test(snapshot_file, an_empty_payload_round_trips, .init = dir_setup, .fini = dir_teardown)
{
	char path[128];
	uint8_t *got;
	size_t len = 99;
	struct err_buf err = { "" };

	path_in_dir(path, sizeof(path), "empty.snap");
	cr_assert_eq(snapshot_file_write(path, "", 0, &err), 0, "%s", err.msg);
	cr_assert_eq(snapshot_file_read(path, &got, &len, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(len, 0);
	free(got);
}

Test(snapshot_file, a_write_failing_midway_leaves_no_file, .init = dir_setup,
     .fini = dir_teardown)
{
	char path[128];
	struct rlimit lim = { 64 * 1024, 64 * 1024 };
	size_t big = 1 << 20;
	uint8_t *data = calloc(1, big);
	struct err_buf err = { "" };

	/* Criterion forks per test, so the file size limit ends with this test. */
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	path_in_dir(path, sizeof(path), "vm.snap");
	cr_assert_fails_with(snapshot_file_write(path, data, big, &err), -EFBIG, err, "cannot write");
	cr_assert_eq(access(path, F_OK), -1, "a file exists under the final name");
	cr_assert_eq(dir_entries(), 0, "temporary file left behind");
	free(data);
}

Test(snapshot_file, a_failed_write_keeps_the_previous_file, .init = dir_setup,
     .fini = dir_teardown)
{
	char path[128];
	struct rlimit lim = { 64 * 1024, 64 * 1024 };
	size_t big = 1 << 20;
	uint8_t *data = calloc(1, big), *got;
	size_t len;
	struct err_buf err = { "" };

	path_in_dir(path, sizeof(path), "vm.snap");
	cr_assert_eq(snapshot_file_write(path, payload, sizeof(payload), &err), 0, "%s", err.msg);
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	cr_assert_neq(snapshot_file_write(path, data, big, &err), 0);
	cr_assert_eq(dir_entries(), 1, "temporary file left behind");
	cr_assert_eq(snapshot_file_read(path, &got, &len, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(len, sizeof(payload));
	cr_assert_eq(memcmp(got, payload, len), 0);
	free(got);
	free(data);
}

Test(snapshot_file, a_failed_rename_leaves_no_temporary_file, .init = dir_setup,
     .fini = dir_teardown)
{
	char path[128];
	struct err_buf err = { "" };

	/* A directory under the final name: everything succeeds but the rename. */
	path_in_dir(path, sizeof(path), "vm.snap");
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_fails_with(snapshot_file_write(path, payload, sizeof(payload), &err), -EISDIR,
			     err, "cannot rename");
	cr_assert_eq(dir_entries(), 1, "temporary file left behind");
}

Test(snapshot_file, a_missing_directory_is_reported, .init = dir_setup, .fini = dir_teardown)
{
	char path[128];
	struct err_buf err = { "" };

	path_in_dir(path, sizeof(path), "nowhere/vm.snap");
	cr_assert_fails_with(snapshot_file_write(path, payload, sizeof(payload), &err), -ENOENT,
			     err, "nowhere");
}

Test(snapshot_file, read_refuses_a_file_over_the_limit, .init = dir_setup,
     .fini = dir_teardown)
{
	char path[128];
	uint8_t *got;
	size_t len;
	struct err_buf err = { "" };
	int fd;

	path_in_dir(path, sizeof(path), "huge.snap");
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, SNAPSHOT_MAX_FILE + 1LL), 0); /* sparse */
	close(fd);
	cr_assert_fails_with(snapshot_file_read(path, &got, &len, NULL, &err), -EFBIG, err,
			     "limit");
}

Test(snapshot_file, read_refuses_a_directory_and_a_missing_file, .init = dir_setup,
     .fini = dir_teardown)
{
	char path[128];
	uint8_t *got;
	size_t len;
	struct err_buf err = { "" };

	cr_assert_fails_with(snapshot_file_read(dir, &got, &len, NULL, &err), -EINVAL, err,
			     "not a regular file");
	path_in_dir(path, sizeof(path), "absent.snap");
	cr_assert_fails_with(snapshot_file_read(path, &got, &len, NULL, &err), -ENOENT, err,
			     "absent.snap");
}

Test(snapshot_file, read_reports_a_corrupt_file, .init = dir_setup, .fini = dir_teardown)
{
	char path[128];
	uint8_t *got, byte;
	size_t len;
	struct err_buf err = { "" };
	int fd;

	path_in_dir(path, sizeof(path), "vm.snap");
	cr_assert_eq(snapshot_file_write(path, payload, sizeof(payload), &err), 0, "%s", err.msg);
	fd = open(path, O_RDWR);
	cr_assert_eq(pread(fd, &byte, 1, 30), 1);
	byte ^= 1;
	cr_assert_eq(pwrite(fd, &byte, 1, 30), 1);
	close(fd);
	cr_assert_fails_with(snapshot_file_read(path, &got, &len, NULL, &err), -EBADMSG, err,
			     "corrupt");
}
