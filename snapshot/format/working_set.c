/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/format/working_set.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/format/codec.h"
#include "snapshot/format/format.h"

void working_set_free(struct working_set *ws)
{
	free(ws->runs);
	memset(ws, 0, sizeof(*ws));
}

uint64_t working_set_pages(const struct working_set *ws)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < ws->nr_runs; i++)
		n += ws->runs[i].count;
	return n;
}

int working_set_add(struct working_set *ws, uint64_t page)
{
	struct working_set_run *last = ws->nr_runs ? &ws->runs[ws->nr_runs - 1] : NULL;
	struct working_set_run *grown;

	if (last && page == last->first + last->count) {
		last->count++;
		return 0;
	}
	/* Grow by doubling: one realloc per power of two. */
	if ((ws->nr_runs & (ws->nr_runs - 1)) == 0) {
		size_t cap = ws->nr_runs ? (size_t)ws->nr_runs * 2 : 16;

		grown = realloc(ws->runs, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		ws->runs = grown;
	}
	ws->runs[ws->nr_runs++] = (struct working_set_run){ .first = page, .count = 1 };
	return 0;
}

/* Why @ws's runs are not a valid working set, or NULL. Shared by both directions. */
static const char *runs_problem(const struct working_set *ws, uint32_t *bad)
{
	uint64_t end = 0;

	if (ws->mem_pages == 0 || ws->mem_pages > WORKING_SET_MAX_PAGES)
		return "memory size of 0 pages or over 2^40";
	for (uint32_t i = 0; i < ws->nr_runs; i++) {
		const struct working_set_run *r = &ws->runs[i];

		*bad = i;
		if (r->count == 0)
			return "an empty run";
		if (i > 0 && r->first < end)
			return "runs out of order or overlapping";
		if (r->first >= ws->mem_pages || r->count > ws->mem_pages - r->first)
			return "a run past the end of the memory";
		end = r->first + r->count;
	}
	return NULL;
}

int working_set_encode(const struct working_set *ws, uint8_t **out, size_t *len)
{
	uint32_t bad = 0;
	uint8_t *p;

	if (runs_problem(ws, &bad) ||
	    ws->nr_runs > (SNAPSHOT_MAX_PAYLOAD - WORKING_SET_HEADER) / 16)
		return -EINVAL;
	*len = WORKING_SET_HEADER + (size_t)ws->nr_runs * 16;
	p = malloc(*len);
	if (!p)
		return -ENOMEM;
	snap_put_le32(p, WORKING_SET_TAG);
	snap_put_le32(p + 4, WORKING_SET_VERSION);
	snap_put_le32(p + 8, WORKING_SET_PAGE);
	snap_put_le32(p + 12, ws->nr_runs);
	snap_put_le64(p + 16, ws->mem_pages);
	for (uint32_t i = 0; i < ws->nr_runs; i++) {
		snap_put_le64(p + WORKING_SET_HEADER + 16 * (size_t)i, ws->runs[i].first);
		snap_put_le64(p + WORKING_SET_HEADER + 16 * (size_t)i + 8, ws->runs[i].count);
	}
	*out = p;
	return 0;
}

int working_set_decode(const uint8_t *buf, size_t len, struct working_set *ws,
		       struct err_buf *err)
{
	const char *why;
	uint32_t n, bad = 0;

	memset(ws, 0, sizeof(*ws));
	if (len < WORKING_SET_HEADER || snap_le32(buf) != WORKING_SET_TAG)
		return err_set(err, -EINVAL, "not an ignis working-set file");
	if (snap_le32(buf + 4) != WORKING_SET_VERSION)
		return err_set(err, -EINVAL, "working-set version %u, this ignis reads %u",
			       snap_le32(buf + 4), WORKING_SET_VERSION);
	if (snap_le32(buf + 8) != WORKING_SET_PAGE)
		return err_set(err, -EINVAL, "working-set page size %u, expected %u",
			       snap_le32(buf + 8), WORKING_SET_PAGE);
	n = snap_le32(buf + 12);
	if ((len - WORKING_SET_HEADER) % 16 || (len - WORKING_SET_HEADER) / 16 != n)
		return err_set(err, -EINVAL, "working set says %u runs but holds %zu bytes of them",
			       n, len - WORKING_SET_HEADER);
	ws->mem_pages = snap_le64(buf + 16);
	if (n) {
		ws->runs = calloc(n, sizeof(*ws->runs));
		if (!ws->runs)
			return err_set(err, -ENOMEM, "out of memory");
	}
	ws->nr_runs = n;
	for (uint32_t i = 0; i < n; i++) {
		ws->runs[i].first = snap_le64(buf + WORKING_SET_HEADER + 16 * (size_t)i);
		ws->runs[i].count = snap_le64(buf + WORKING_SET_HEADER + 16 * (size_t)i + 8);
	}
	why = runs_problem(ws, &bad);
	if (why)
		return err_set(err, -EINVAL, "working set: %s (run %u)", why, bad);
	return 0;
}

int working_set_write(const char *path, const struct working_set *ws, struct err_buf *err)
{
	uint8_t *payload;
	size_t len;
	int ret = working_set_encode(ws, &payload, &len);

	if (ret)
		return err_set(err, ret, "cannot encode the working set: %s", strerror(-ret));
	ret = snapshot_file_write(path, payload, len, err);
	free(payload);
	return ret;
}

int working_set_read(const char *path, struct working_set *ws, struct err_buf *err)
{
	uint8_t *payload = NULL;
	size_t len = 0;
	int ret;

	memset(ws, 0, sizeof(*ws));
	ret = snapshot_file_read(path, &payload, &len, NULL, err);
	if (!ret)
		ret = working_set_decode(payload, len, ws, err);
	free(payload);
	return ret;
}
