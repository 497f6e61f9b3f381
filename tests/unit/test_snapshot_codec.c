/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tagged little-endian encoding: what the writer produces byte for
 * byte, and a reader that fails, never reads out of bounds, on anything
 * that does not match what the decoder expects.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "snapshot/format/codec.h"
#include "tests/unit/helpers.h"

/* One section with one field of each type. */
static uint8_t *sample(size_t *len)
{
	struct snap_writer w;
	uint8_t *buf;

	snap_writer_init(&w, 1 << 20);
	snap_section_begin(&w, 7);
	snap_put_u8(&w, 1, 0xab);
	snap_put_u16(&w, 2, 0x1234);
	snap_put_u32(&w, 3, 0xdeadbeef);
	snap_put_u64(&w, 4, 0x0102030405060708ULL);
	snap_put_bytes(&w, 5, "xyz", 3);
	snap_section_end(&w);
	cr_assert_eq(snap_writer_finish(&w, &buf, len), 0);
	return buf;
}

/* Reads sample() back; returns the reader's error. */
static int read_sample(const uint8_t *buf, size_t len, struct err_buf *err)
{
	struct snap_reader r;
	char s[3];

	snap_reader_init(&r, buf, len, err);
	snap_section_open(&r, 7, "sample");
	snap_get_u8(&r, 1, "a");
	snap_get_u16(&r, 2, "b");
	snap_get_u32(&r, 3, "c");
	snap_get_u64(&r, 4, "d");
	snap_get_bytes(&r, 5, "e", s, 3);
	snap_section_close(&r);
	return snap_reader_finish(&r);
}

Test(snapshot_codec, encodes_little_endian_tagged_fields)
{
	static const uint8_t want[] = {
		7, 0, 37, 0, 0, 0,                       /* section 7, 37 bytes */
		1, 0, SNAP_U8, 0xab,
		2, 0, SNAP_U16, 0x34, 0x12,
		3, 0, SNAP_U32, 0xef, 0xbe, 0xad, 0xde,
		4, 0, SNAP_U64, 8, 7, 6, 5, 4, 3, 2, 1,
		5, 0, SNAP_BYTES, 3, 0, 0, 0, 'x', 'y', 'z',
	};
	size_t len;
	uint8_t *buf = sample(&len);

	cr_assert_eq(len, sizeof(want));
	cr_assert_eq(memcmp(buf, want, len), 0);
	free(buf);
}

Test(snapshot_codec, reads_back_what_was_written)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct snap_reader r;
	struct err_buf err = { "" };
	char s[4] = "";

	snap_reader_init(&r, buf, len, &err);
	cr_assert_eq(snap_peek_section(&r), 7);
	cr_assert_eq(snap_section_open(&r, 7, "sample"), 0);
	cr_assert_eq(snap_get_u8(&r, 1, "a"), 0xab);
	cr_assert_eq(snap_get_u16(&r, 2, "b"), 0x1234);
	cr_assert_eq(snap_get_u32(&r, 3, "c"), 0xdeadbeef);
	cr_assert_eq(snap_get_u64(&r, 4, "d"), 0x0102030405060708ULL);
	cr_assert_eq(snap_get_blob(&r, 5, "e", s, 1, 3), 3);
	cr_assert_str_eq(s, "xyz");
	cr_assert_eq(snap_section_close(&r), 0);
	cr_assert_eq(snap_peek_section(&r), -1);
	cr_assert_eq(snap_reader_finish(&r), 0, "%s", err.msg);
	free(buf);
}

Test(snapshot_codec, every_truncation_fails_without_reading_past_the_end)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct err_buf err;

	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? n : 1);

		memcpy(cut, buf, n);
		err.msg[0] = '\0';
		cr_assert_eq(read_sample(cut, n, &err), -EINVAL, "%zu bytes accepted", n);
		cr_assert_neq(err.msg[0], '\0');
		free(cut);
	}
	free(buf);
}

Test(snapshot_codec, a_wrong_tag_names_the_field)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct err_buf err = { "" };

	buf[6 + 4 + 0] = 9; /* field b's tag */
	cr_assert_fails_with(read_sample(buf, len, &err), -EINVAL, err,
			     "section 0 (sample), b: expected tag 2, found tag 9");
	free(buf);
}

Test(snapshot_codec, a_wrong_type_is_refused)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct err_buf err = { "" };

	buf[6 + 4 + 2] = SNAP_U32; /* field b says u32 */
	cr_assert_fails_with(read_sample(buf, len, &err), -EINVAL, err, "expected a u16");
	free(buf);
}

Test(snapshot_codec, a_bytes_length_other_than_expected_is_refused)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct err_buf err = { "" };

	buf[len - 7] = 2; /* "xyz" announced as 2 bytes */
	cr_assert_fails_with(read_sample(buf, len, &err), -EINVAL, err, "e: 2 bytes, expected 3");
	buf[len - 7] = 0xff;
	buf[len - 6] = 0xff;
	buf[len - 5] = 0xff;
	buf[len - 4] = 0xff; /* 4 GiB: refused on the length, not read */
	cr_assert_fails_with(read_sample(buf, len, &err), -EINVAL, err, "e: 4294967295 bytes");
	free(buf);
}

Test(snapshot_codec, a_blob_longer_than_its_section_is_refused)
{
	struct snap_writer w;
	struct snap_reader r;
	struct err_buf err = { "" };
	uint8_t *buf, dst[64];
	size_t len;

	snap_writer_init(&w, 1024);
	snap_section_begin(&w, 1);
	snap_put_bytes(&w, 1, "abcdef", 6);
	snap_section_end(&w);
	cr_assert_eq(snap_writer_finish(&w, &buf, &len), 0);
	buf[6 + 3] = 40; /* announces 40 bytes, 6 follow */
	snap_reader_init(&r, buf, len, &err);
	snap_section_open(&r, 1, "s");
	cr_assert_eq(snap_get_blob(&r, 1, "blob", dst, 0, sizeof(dst)), 0);
	cr_assert_fails_with(r.error, -EINVAL, err, "40 bytes announced");
	free(buf);
}

Test(snapshot_codec, a_section_must_be_consumed_exactly)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct snap_reader r;
	struct err_buf err = { "" };

	snap_reader_init(&r, buf, len, &err);
	snap_section_open(&r, 7, "sample");
	snap_get_u8(&r, 1, "a");
	cr_assert_fails_with(snap_section_close(&r), -EINVAL, err, "unread bytes");
	free(buf);
}

Test(snapshot_codec, a_read_cannot_cross_into_the_next_section)
{
	struct snap_writer w;
	struct snap_reader r;
	struct err_buf err = { "" };
	uint8_t *buf;
	size_t len;

	snap_writer_init(&w, 1024);
	snap_section_begin(&w, 1);
	snap_section_end(&w);
	snap_section_begin(&w, 2);
	snap_put_u8(&w, 1, 5);
	snap_section_end(&w);
	cr_assert_eq(snap_writer_finish(&w, &buf, &len), 0);
	snap_reader_init(&r, buf, len, &err);
	snap_section_open(&r, 1, "empty");
	snap_get_u8(&r, 1, "x");
	cr_assert_fails_with(r.error, -EINVAL, err, "x: missing");
	free(buf);
}

Test(snapshot_codec, a_section_length_beyond_the_buffer_is_refused)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct err_buf err = { "" };

	snap_put_le32(buf + 2, 0xffffffff);
	cr_assert_fails_with(read_sample(buf, len, &err), -EINVAL, err, "claims 4294967295 bytes");
	free(buf);
}

Test(snapshot_codec, the_wrong_section_and_a_missing_one_are_named)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct snap_reader r;
	struct err_buf err = { "" };

	snap_reader_init(&r, buf, len, &err);
	cr_assert_fails_with(snap_section_open(&r, 3, "other"), -EINVAL, err,
			     "section 0 should be other (id 3) but has id 7");
	snap_reader_init(&r, buf, 0, &err);
	cr_assert_fails_with(snap_section_open(&r, 3, "other"), -EINVAL, err,
			     "section 0 (other) is missing");
	free(buf);
}

Test(snapshot_codec, bytes_after_the_last_section_are_refused)
{
	size_t len;
	uint8_t *buf = sample(&len);
	uint8_t *longer = calloc(1, len + 6);
	struct err_buf err = { "" };

	memcpy(longer, buf, len);
	longer[len] = 7;
	cr_assert_fails_with(read_sample(longer, len + 6, &err), -EINVAL, err,
			     "unexpected bytes after the last section (id 7)");
	free(longer);
	free(buf);
}

Test(snapshot_codec, errors_are_sticky_and_gets_return_zero)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct snap_reader r;
	struct err_buf err = { "" };

	snap_reader_init(&r, buf, len, &err);
	snap_section_open(&r, 7, "sample");
	cr_assert_eq(snap_get_u16(&r, 1, "a"), 0); /* wrong type: fails */
	cr_assert_eq(snap_get_u8(&r, 1, "a"), 0);  /* would match, but the reader failed */
	cr_assert_not_null(strstr(err.msg, "a: expected a u16"), "%s", err.msg);
	cr_assert_eq(snap_reader_finish(&r), -EINVAL);
	free(buf);
}

Test(snapshot_codec, a_bool_is_zero_or_one)
{
	struct snap_writer w;
	struct snap_reader r;
	struct err_buf err = { "" };
	uint8_t *buf;
	size_t len;

	snap_writer_init(&w, 1024);
	snap_section_begin(&w, 1);
	snap_put_u8(&w, 1, 1);
	snap_put_u8(&w, 2, 2);
	snap_section_end(&w);
	cr_assert_eq(snap_writer_finish(&w, &buf, &len), 0);
	snap_reader_init(&r, buf, len, &err);
	snap_section_open(&r, 1, "flags");
	cr_assert(snap_get_bool(&r, 1, "yes"));
	snap_get_bool(&r, 2, "two");
	cr_assert_fails_with(r.error, -EINVAL, err, "two: 2 is not a boolean");
	free(buf);
}

Test(snapshot_codec, the_writer_stops_at_its_limit)
{
	struct snap_writer w;
	uint8_t *buf;
	size_t len;
	uint8_t big[100] = { 0 };

	snap_writer_init(&w, 64);
	snap_section_begin(&w, 1);
	snap_put_bytes(&w, 1, big, sizeof(big));
	snap_section_end(&w);
	cr_assert_eq(snap_writer_finish(&w, &buf, &len), -EFBIG);
	cr_assert_null(w.buf);
}

Test(snapshot_codec, unbalanced_sections_are_a_writer_error)
{
	struct snap_writer w;
	uint8_t *buf;
	size_t len;

	snap_writer_init(&w, 1024);
	snap_section_begin(&w, 1);
	cr_assert_eq(snap_writer_finish(&w, &buf, &len), -EINVAL);

	snap_writer_init(&w, 1024);
	snap_section_end(&w);
	cr_assert_eq(snap_writer_finish(&w, &buf, &len), -EINVAL);

	snap_writer_init(&w, 1024);
	snap_section_begin(&w, 1);
	snap_section_begin(&w, 2);
	cr_assert_eq(snap_writer_finish(&w, &buf, &len), -EINVAL);
}

Test(snapshot_codec, the_buffer_grows_for_large_encodings)
{
	struct snap_writer w;
	struct snap_reader r;
	uint8_t *buf;
	size_t len;

	snap_writer_init(&w, 1 << 20);
	snap_section_begin(&w, 1);
	for (uint32_t i = 0; i < 10000; i++)
		snap_put_u32(&w, 1, i);
	snap_section_end(&w);
	cr_assert_eq(snap_writer_finish(&w, &buf, &len), 0);
	cr_assert_eq(len, 6 + 10000 * 7);
	snap_reader_init(&r, buf, len, NULL);
	snap_section_open(&r, 1, "many");
	for (uint32_t i = 0; i < 10000; i++)
		cr_assert_eq(snap_get_u32(&r, 1, "n"), i);
	snap_section_close(&r);
	cr_assert_eq(snap_reader_finish(&r), 0);
	free(buf);
}
