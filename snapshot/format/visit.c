/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/format/visit.h"

#include <errno.h>
#include <string.h>

bool snap_io_failed(const struct snap_io *io)
{
	return io->r ? io->r->error != 0 : io->w->error != 0;
}

void snap_io_u8(struct snap_io *io, uint16_t tag, const char *name, uint8_t *v)
{
	if (io->w)
		snap_put_u8(io->w, tag, *v);
	else
		*v = snap_get_u8(io->r, tag, name);
}

void snap_io_flag(struct snap_io *io, uint16_t tag, const char *name, uint8_t *v)
{
	if (io->w)
		snap_put_u8(io->w, tag, *v);
	else
		*v = snap_get_bool(io->r, tag, name);
}

void snap_io_bool(struct snap_io *io, uint16_t tag, const char *name, bool *v)
{
	if (io->w)
		snap_put_u8(io->w, tag, *v);
	else
		*v = snap_get_bool(io->r, tag, name);
}

void snap_io_u16(struct snap_io *io, uint16_t tag, const char *name, uint16_t *v)
{
	if (io->w)
		snap_put_u16(io->w, tag, *v);
	else
		*v = snap_get_u16(io->r, tag, name);
}

void snap_io_u32(struct snap_io *io, uint16_t tag, const char *name, uint32_t *v)
{
	if (io->w)
		snap_put_u32(io->w, tag, *v);
	else
		*v = snap_get_u32(io->r, tag, name);
}

void snap_io_uint(struct snap_io *io, uint16_t tag, const char *name, unsigned int *v)
{
	uint32_t x = *v;

	snap_io_u32(io, tag, name, &x);
	*v = x;
}

void snap_io_u64(struct snap_io *io, uint16_t tag, const char *name, uint64_t *v)
{
	if (io->w)
		snap_put_u64(io->w, tag, *v);
	else
		*v = snap_get_u64(io->r, tag, name);
}

void snap_io_k64(struct snap_io *io, uint16_t tag, const char *name, __u64 *v)
{
	uint64_t x = *v;

	snap_io_u64(io, tag, name, &x);
	*v = x;
}

void snap_io_bytes(struct snap_io *io, uint16_t tag, const char *name, void *v, size_t len)
{
	if (io->w)
		snap_put_bytes(io->w, tag, v, len);
	else
		snap_get_bytes(io->r, tag, name, v, len);
}

void snap_io_string(struct snap_io *io, uint16_t tag, const char *name, char *s, size_t max)
{
	size_t len;

	if (io->w) {
		snap_put_bytes(io->w, tag, s, strnlen(s, max + 1));
		return;
	}
	len = snap_get_blob(io->r, tag, name, s, 1, max);
	s[len] = '\0';
	if (!io->r->error && strlen(s) != len)
		snap_reader_fail(io->r, name, "contains a NUL byte");
}

bool snap_io_count(struct snap_io *io, uint16_t tag, const char *name, uint32_t *n,
		   uint32_t max)
{
	snap_io_u32(io, tag, name, n);
	if (snap_io_failed(io))
		return false;
	if (*n <= max)
		return true;
	/*
	 * A writer stops here too (the elements are not there to read) but
	 * keeps going: the encoder's check decodes the result and says which count.
	 */
	if (io->r)
		snap_reader_fail(io->r, name, "%u is over the limit of %u", *n, max);
	return false;
}

int snap_io_begin(struct snap_io *io, uint16_t id, const char *name)
{
	if (io->w) {
		snap_section_begin(io->w, id);
		return io->w->error;
	}
	return snap_section_open(io->r, id, name);
}

int snap_io_end(struct snap_io *io)
{
	if (io->w) {
		snap_section_end(io->w);
		return io->w->error;
	}
	return snap_section_close(io->r);
}
