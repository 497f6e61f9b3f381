/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The explicit serialisation under the state file: sections of typed,
 * tagged, little-endian fields. Nothing is a struct dump, so the encoding
 * does not change with a compiler, an ABI or a kernel header.
 *
 *   section  u16 id | u32 length | fields (exactly length bytes)
 *   field    u16 tag | u8 type | value
 *   value    SNAP_U8/U16/U32/U64: 1/2/4/8 bytes
 *            SNAP_BYTES: u32 length | the bytes
 *
 * The writer appends to a growable buffer and remembers the first error
 * (out of memory, over the size limit), so encoders call it without
 * checking each step. The reader is bounded: every get checks the tag, the
 * type and the length against what remains of the current section and
 * fails (sticky, with a message naming the section and field) rather than
 * read past it; a section must be consumed exactly.
 */
#ifndef IGNIS_SNAPSHOT_CODEC_H
#define IGNIS_SNAPSHOT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/util/error.h"

enum snap_type {
	SNAP_U8 = 1,
	SNAP_U16 = 2,
	SNAP_U32 = 3,
	SNAP_U64 = 4,
	SNAP_BYTES = 5,
};

#define SNAP_SECTION_HEADER 6 /* u16 id, u32 length */
#define SNAP_FIELD_HEADER 3   /* u16 tag, u8 type */

static inline uint16_t snap_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t snap_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t snap_le64(const uint8_t *p)
{
	return (uint64_t)snap_le32(p) | (uint64_t)snap_le32(p + 4) << 32;
}

static inline void snap_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void snap_put_le32(uint8_t *p, uint32_t v)
{
	snap_put_le16(p, (uint16_t)v);
	snap_put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void snap_put_le64(uint8_t *p, uint64_t v)
{
	snap_put_le32(p, (uint32_t)v);
	snap_put_le32(p + 4, (uint32_t)(v >> 32));
}

struct snap_writer {
	uint8_t *buf;
	size_t len, cap;
	size_t limit;         /* the encoding may not grow beyond this */
	size_t section_start; /* offset of the open section's header */
	bool in_section;
	int error;            /* first failure, 0 if none */
};

void snap_writer_init(struct snap_writer *w, size_t limit);
void snap_writer_free(struct snap_writer *w);

void snap_section_begin(struct snap_writer *w, uint16_t id);
void snap_section_end(struct snap_writer *w);

void snap_put_u8(struct snap_writer *w, uint16_t tag, uint8_t v);
void snap_put_u16(struct snap_writer *w, uint16_t tag, uint16_t v);
void snap_put_u32(struct snap_writer *w, uint16_t tag, uint32_t v);
void snap_put_u64(struct snap_writer *w, uint16_t tag, uint64_t v);
void snap_put_bytes(struct snap_writer *w, uint16_t tag, const void *data, size_t len);

/*
 * Hands the encoding to the caller (free() it) and resets the writer.
 * Returns 0 or the first error: -ENOMEM, -EFBIG (over the limit), -EINVAL
 * (unbalanced sections).
 */
int snap_writer_finish(struct snap_writer *w, uint8_t **buf, size_t *len);

struct snap_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	size_t section_end;      /* == len outside a section */
	bool in_section;
	const char *section;     /* name of the open section, for messages */
	unsigned int section_index; /* nth section read, from 0 */
	int error;
	struct err_buf *err;
};

void snap_reader_init(struct snap_reader *r, const uint8_t *buf, size_t len,
		      struct err_buf *err);

/* The id of the next section, or -1 at the end (or after an error). */
int snap_peek_section(const struct snap_reader *r);
/* Opens the next section, which must be @id; @name is used in messages. */
int snap_section_open(struct snap_reader *r, uint16_t id, const char *name);
/* Fails unless the open section was consumed exactly. */
int snap_section_close(struct snap_reader *r);
/* Fails unless the whole buffer was consumed. */
int snap_reader_finish(struct snap_reader *r);

/* Each returns the value, or 0 once the reader has failed (see r->error). */
uint8_t snap_get_u8(struct snap_reader *r, uint16_t tag, const char *field);
uint16_t snap_get_u16(struct snap_reader *r, uint16_t tag, const char *field);
uint32_t snap_get_u32(struct snap_reader *r, uint16_t tag, const char *field);
uint64_t snap_get_u64(struct snap_reader *r, uint16_t tag, const char *field);
/* A bool: fails on anything but 0 or 1. */
bool snap_get_bool(struct snap_reader *r, uint16_t tag, const char *field);
/* Exactly @len bytes. */
int snap_get_bytes(struct snap_reader *r, uint16_t tag, const char *field, void *dst,
		   size_t len);
/* Between @min and @max bytes; returns the length read (0 on failure). */
size_t snap_get_blob(struct snap_reader *r, uint16_t tag, const char *field, void *dst,
		     size_t min, size_t max);

/*
 * Fails the reader with a value-level error ("section X: field: ...").
 * Returns r->error (-EINVAL unless it had already failed, which it keeps).
 */
int snap_reader_fail(struct snap_reader *r, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
