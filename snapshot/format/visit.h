/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One description of a section for both directions. A visit function calls
 * snap_io_*() on each field of a struct in order: with a writer they encode
 * the field, with a reader they decode into the same place. Encoder and
 * decoder are then one piece of code and cannot disagree on order, tags or
 * types. Writers only read through the pointers they are given.
 */
#ifndef IGNIS_SNAPSHOT_VISIT_H
#define IGNIS_SNAPSHOT_VISIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "snapshot/format/codec.h"

/* Exactly one of @w and @r is set. */
struct snap_io {
	struct snap_writer *w;
	struct snap_reader *r;
};

bool snap_io_failed(const struct snap_io *io);

int snap_io_begin(struct snap_io *io, uint16_t id, const char *name);
int snap_io_end(struct snap_io *io);

void snap_io_u8(struct snap_io *io, uint16_t tag, const char *name, uint8_t *v);
/* A u8 that must be 0 or 1 (the KVM structs keep flags in bytes). */
void snap_io_flag(struct snap_io *io, uint16_t tag, const char *name, uint8_t *v);
void snap_io_bool(struct snap_io *io, uint16_t tag, const char *name, bool *v);
void snap_io_u16(struct snap_io *io, uint16_t tag, const char *name, uint16_t *v);
void snap_io_u32(struct snap_io *io, uint16_t tag, const char *name, uint32_t *v);
void snap_io_uint(struct snap_io *io, uint16_t tag, const char *name, unsigned int *v);
void snap_io_u64(struct snap_io *io, uint16_t tag, const char *name, uint64_t *v);
/* The KVM structs' __u64 is unsigned long long, not uint64_t's unsigned long. */
void snap_io_k64(struct snap_io *io, uint16_t tag, const char *name, __u64 *v);
void snap_io_bytes(struct snap_io *io, uint16_t tag, const char *name, void *v, size_t len);
/* A NUL-terminated identifier of 1..@max characters in a buffer of @max + 1. */
void snap_io_string(struct snap_io *io, uint16_t tag, const char *name, char *s, size_t max);
/*
 * A count that bounds the loop after it, checked against @max before any
 * element is read. Returns false if over (or failed): the caller must skip
 * the elements. A reader fails; a writer writes the count and goes on, so
 * that decoding its output names the count.
 */
bool snap_io_count(struct snap_io *io, uint16_t tag, const char *name, uint32_t *n,
		   uint32_t max);

#endif
