/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/format/codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void snap_writer_init(struct snap_writer *w, size_t limit)
{
	memset(w, 0, sizeof(*w));
	w->limit = limit;
}

void snap_writer_free(struct snap_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

/* Room for @n more bytes, or NULL with w->error set. */
static uint8_t *reserve(struct snap_writer *w, size_t n)
{
	uint8_t *p;

	if (w->error)
		return NULL;
	if (n > w->limit - w->len) {
		w->error = -EFBIG;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;

		while (cap < w->len + n)
			cap *= 2;
		p = realloc(w->buf, cap);
		if (!p) {
			w->error = -ENOMEM;
			return NULL;
		}
		w->buf = p;
		w->cap = cap;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

void snap_section_begin(struct snap_writer *w, uint16_t id)
{
	uint8_t *p;

	if (w->in_section && !w->error)
		w->error = -EINVAL;
	p = reserve(w, SNAP_SECTION_HEADER);
	if (!p)
		return;
	snap_put_le16(p, id);
	snap_put_le32(p + 2, 0); /* patched by snap_section_end() */
	w->section_start = w->len - SNAP_SECTION_HEADER;
	w->in_section = true;
}

void snap_section_end(struct snap_writer *w)
{
	size_t body;

	if (w->error)
		return;
	if (!w->in_section) {
		w->error = -EINVAL;
		return;
	}
	body = w->len - w->section_start - SNAP_SECTION_HEADER;
	if (body > UINT32_MAX) {
		w->error = -EFBIG;
		return;
	}
	snap_put_le32(w->buf + w->section_start + 2, (uint32_t)body);
	w->in_section = false;
}

static uint8_t *put_field(struct snap_writer *w, uint16_t tag, enum snap_type type, size_t n)
{
	uint8_t *p = reserve(w, SNAP_FIELD_HEADER + n);

	if (!p)
		return NULL;
	snap_put_le16(p, tag);
	p[2] = (uint8_t)type;
	return p + SNAP_FIELD_HEADER;
}

void snap_put_u8(struct snap_writer *w, uint16_t tag, uint8_t v)
{
	uint8_t *p = put_field(w, tag, SNAP_U8, 1);

	if (p)
		p[0] = v;
}

void snap_put_u16(struct snap_writer *w, uint16_t tag, uint16_t v)
{
	uint8_t *p = put_field(w, tag, SNAP_U16, 2);

	if (p)
		snap_put_le16(p, v);
}

void snap_put_u32(struct snap_writer *w, uint16_t tag, uint32_t v)
{
	uint8_t *p = put_field(w, tag, SNAP_U32, 4);

	if (p)
		snap_put_le32(p, v);
}

void snap_put_u64(struct snap_writer *w, uint16_t tag, uint64_t v)
{
	uint8_t *p = put_field(w, tag, SNAP_U64, 8);

	if (p)
		snap_put_le64(p, v);
}

void snap_put_bytes(struct snap_writer *w, uint16_t tag, const void *data, size_t len)
{
	uint8_t *p;

	if (len > UINT32_MAX) {
		if (!w->error)
			w->error = -EFBIG;
		return;
	}
	p = put_field(w, tag, SNAP_BYTES, 4 + len);
	if (!p)
		return;
	snap_put_le32(p, (uint32_t)len);
	if (len)
		memcpy(p + 4, data, len);
}

int snap_writer_finish(struct snap_writer *w, uint8_t **buf, size_t *len)
{
	int ret = w->error;

	if (!ret && w->in_section)
		ret = -EINVAL;
	if (ret) {
		snap_writer_free(w);
		return ret;
	}
	*buf = w->buf;
	*len = w->len;
	w->buf = NULL;
	w->len = w->cap = 0;
	return 0;
}

void snap_reader_init(struct snap_reader *r, const uint8_t *buf, size_t len,
		      struct err_buf *err)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->len = len;
	r->section_end = len;
	r->err = err;
}

__attribute__((format(printf, 3, 0)))
static int vfail(struct snap_reader *r, const char *field, const char *fmt, va_list ap)
{
	char what[320];

	if (r->error)
		return r->error;
	r->error = -EINVAL;
	if (!r->err)
		return r->error;
	vsnprintf(what, sizeof(what), fmt, ap);
	if (r->in_section && field)
		snprintf(r->err->msg, sizeof(r->err->msg),
			     "snapshot state: section %u (%s), %s: %s", r->section_index,
			     r->section, field, what);
	else if (r->in_section)
		snprintf(r->err->msg, sizeof(r->err->msg),
			     "snapshot state: section %u (%s): %s", r->section_index, r->section,
			     what);
	else
		snprintf(r->err->msg, sizeof(r->err->msg), "snapshot state: %s", what);
	return r->error;
}

int snap_reader_fail(struct snap_reader *r, const char *field, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vfail(r, field, fmt, ap);
	va_end(ap);
	return ret;
}

int snap_peek_section(const struct snap_reader *r)
{
	if (r->error || r->in_section || r->len - r->pos < SNAP_SECTION_HEADER)
		return -1;
	return snap_le16(r->buf + r->pos);
}

int snap_section_open(struct snap_reader *r, uint16_t id, const char *name)
{
	uint16_t got;
	uint32_t len;

	if (r->error)
		return r->error;
	if (r->in_section)
		return snap_reader_fail(r, NULL, "section %s opened inside another", name);
	if (r->pos == r->len)
		return snap_reader_fail(r, NULL, "section %u (%s) is missing: the state ends "
					"after %u sections", r->section_index, name,
					r->section_index);
	if (r->len - r->pos < SNAP_SECTION_HEADER)
		return snap_reader_fail(r, NULL, "section %u (%s) is truncated: %zu bytes left",
					r->section_index, name, r->len - r->pos);
	got = snap_le16(r->buf + r->pos);
	len = snap_le32(r->buf + r->pos + 2);
	if (got != id)
		return snap_reader_fail(r, NULL,
					"section %u should be %s (id %u) but has id %u: sections "
					"missing, duplicated or out of order",
					r->section_index, name, id, got);
	if (len > r->len - r->pos - SNAP_SECTION_HEADER)
		return snap_reader_fail(r, NULL,
					"section %u (%s) claims %u bytes, only %zu remain",
					r->section_index, name, len,
					r->len - r->pos - SNAP_SECTION_HEADER);
	r->pos += SNAP_SECTION_HEADER;
	r->section_end = r->pos + len;
	r->in_section = true;
	r->section = name;
	return 0;
}

int snap_section_close(struct snap_reader *r)
{
	if (r->error)
		return r->error;
	if (!r->in_section)
		return snap_reader_fail(r, NULL, "no section is open");
	if (r->pos != r->section_end)
		return snap_reader_fail(r, NULL, "%zu unread bytes at the end of the section",
					r->section_end - r->pos);
	r->in_section = false;
	r->section_end = r->len;
	r->section_index++;
	return 0;
}

int snap_reader_finish(struct snap_reader *r)
{
	if (r->error)
		return r->error;
	if (r->in_section)
		return snap_reader_fail(r, NULL, "section left open");
	if (r->pos != r->len)
		return snap_reader_fail(r, NULL,
					"%zu unexpected bytes after the last section (id %u)",
					r->len - r->pos,
					r->len - r->pos >= 2 ? snap_le16(r->buf + r->pos) : 0);
	return 0;
}

static const char *type_name(unsigned int type)
{
	switch (type) {
	case SNAP_U8: return "u8";
	case SNAP_U16: return "u16";
	case SNAP_U32: return "u32";
	case SNAP_U64: return "u64";
	case SNAP_BYTES: return "bytes";
	}
	return "unknown";
}

/* Checks a field's header and that @n value bytes follow; returns them or NULL. */
static const uint8_t *get_field(struct snap_reader *r, uint16_t tag, enum snap_type type,
				const char *field, size_t n)
{
	const uint8_t *p;
	uint16_t got_tag;

	if (r->error)
		return NULL;
	if (!r->in_section) {
		snap_reader_fail(r, field, "field read outside a section");
		return NULL;
	}
	if (r->section_end - r->pos < SNAP_FIELD_HEADER) {
		snap_reader_fail(r, field, "missing: the section ends");
		return NULL;
	}
	p = r->buf + r->pos;
	got_tag = snap_le16(p);
	if (got_tag != tag) {
		snap_reader_fail(r, field, "expected tag %u, found tag %u", tag, got_tag);
		return NULL;
	}
	if (p[2] != type) {
		snap_reader_fail(r, field, "expected a %s, found type %u (%s)", type_name(type),
				 p[2], type_name(p[2]));
		return NULL;
	}
	if (r->section_end - r->pos - SNAP_FIELD_HEADER < n) {
		snap_reader_fail(r, field, "truncated: %zu bytes needed, %zu left", n,
				 r->section_end - r->pos - SNAP_FIELD_HEADER);
		return NULL;
	}
	r->pos += SNAP_FIELD_HEADER + n;
	return p + SNAP_FIELD_HEADER;
}

uint8_t snap_get_u8(struct snap_reader *r, uint16_t tag, const char *field)
{
	const uint8_t *p = get_field(r, tag, SNAP_U8, field, 1);

	return p ? p[0] : 0;
}

uint16_t snap_get_u16(struct snap_reader *r, uint16_t tag, const char *field)
{
	const uint8_t *p = get_field(r, tag, SNAP_U16, field, 2);

	return p ? snap_le16(p) : 0;
}

uint32_t snap_get_u32(struct snap_reader *r, uint16_t tag, const char *field)
{
	const uint8_t *p = get_field(r, tag, SNAP_U32, field, 4);

	return p ? snap_le32(p) : 0;
}

uint64_t snap_get_u64(struct snap_reader *r, uint16_t tag, const char *field)
{
	const uint8_t *p = get_field(r, tag, SNAP_U64, field, 8);

	return p ? snap_le64(p) : 0;
}

bool snap_get_bool(struct snap_reader *r, uint16_t tag, const char *field)
{
	uint8_t v = snap_get_u8(r, tag, field);

	if (v > 1) {
		snap_reader_fail(r, field, "%u is not a boolean", v);
		return false;
	}
	return v;
}

size_t snap_get_blob(struct snap_reader *r, uint16_t tag, const char *field, void *dst,
		     size_t min, size_t max)
{
	const uint8_t *p = get_field(r, tag, SNAP_BYTES, field, 4);
	uint32_t len;

	if (!p)
		return 0;
	len = snap_le32(p);
	if (len < min || len > max) {
		if (min == max)
			snap_reader_fail(r, field, "%u bytes, expected %zu", len, min);
		else
			snap_reader_fail(r, field, "%u bytes, expected %zu to %zu", len, min, max);
		return 0;
	}
	if (len > r->section_end - r->pos) {
		snap_reader_fail(r, field, "truncated: %u bytes announced, %zu left", len,
				 r->section_end - r->pos);
		return 0;
	}
	if (len)
		memcpy(dst, r->buf + r->pos, len);
	r->pos += len;
	return len;
}

int snap_get_bytes(struct snap_reader *r, uint16_t tag, const char *field, void *dst,
		   size_t len)
{
	snap_get_blob(r, tag, field, dst, len, len);
	return r->error;
}
