/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The working-set file: which pages of a snapshot's memory file a restored
 * guest touched (PUT /snapshot/working-set writes it after an invocation;
 * a later PUT /snapshot/load with "working_set_path" populates those pages
 * before the vCPUs run). It is the state file's container (format.h: header,
 * CRC-64, size limit, atomic write) around this payload, little endian:
 *
 *   offset  size  field
 *   0       4     tag          WORKING_SET_TAG ("WSET")
 *   4       4     version      WORKING_SET_VERSION; anything else is refused
 *   8       4     page size    4096
 *   12      4     runs         n
 *   16      8     memory pages the memory file's size in pages
 *   24      16n   runs         first page, page count (u64 each): ascending,
 *                              not overlapping, not empty, inside the memory
 *
 * The decoder is pure and fuzzed (tests/fuzz/fuzz_working_set.c): the file
 * may come from anywhere.
 */
#ifndef IGNIS_WORKING_SET_H
#define IGNIS_WORKING_SET_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/util/error.h"

#define WORKING_SET_TAG 0x54455357u /* "WSET" read as a little-endian u32 */
#define WORKING_SET_VERSION 1
#define WORKING_SET_PAGE 4096u
#define WORKING_SET_HEADER 24u
/* 2^40 pages: 4 PiB of guest memory, far past any microVM, short of overflow. */
#define WORKING_SET_MAX_PAGES (1ULL << 40)

struct working_set_run {
	uint64_t first; /* page index in the memory file */
	uint64_t count;
};

struct working_set {
	uint64_t mem_pages;
	uint32_t nr_runs;
	struct working_set_run *runs; /* malloc'd; NULL when nr_runs is 0 */
};

void working_set_free(struct working_set *ws);
/* Pages in all runs. */
uint64_t working_set_pages(const struct working_set *ws);

/*
 * Appends page @page to @ws (pages must come in ascending order; a page
 * next to the last run extends it). 0 or -ENOMEM.
 */
int working_set_add(struct working_set *ws, uint64_t page);

/* The payload for @ws, malloc'd. 0, -EINVAL (a bad @ws) or -ENOMEM. */
int working_set_encode(const struct working_set *ws, uint8_t **out, size_t *len);
/*
 * Checks and decodes a payload into @ws (freed by the caller, also after a
 * failure). -EINVAL with @err saying what is wrong, or -ENOMEM.
 */
int working_set_decode(const uint8_t *buf, size_t len, struct working_set *ws,
		       struct err_buf *err);

/* The whole file: write (atomically, as a state file) and read + check. */
int working_set_write(const char *path, const struct working_set *ws, struct err_buf *err);
int working_set_read(const char *path, struct working_set *ws, struct err_buf *err);

#endif
