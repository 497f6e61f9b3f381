/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The diff memory file's page writer: exactly the dirty pages become data at
 * their offsets (a dirty page of zeroes too: it is data, not a hole), every
 * other page stays a hole. Runs on a real file in $TMPDIR (a filesystem with
 * holes: ext4, xfs, btrfs, tmpfs).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "snapshot/snapshot_mem.h"
#include "vmm/memory/dirty.h"

#define PG DIRTY_PAGE_SIZE
#define NR 200

static char path[64];
static int fd = -1;
static uint8_t *src;

static void init(void)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	cr_assert_lt(snprintf(path, sizeof(path), "%s/ignis-mem-XXXXXX", dir), (int)sizeof(path));
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	src = malloc(NR * PG);
	cr_assert_not_null(src);
	for (uint64_t p = 0; p < NR; p++)
		memset(src + p * PG, (int)(p % 250) + 1, PG);
}

static void fini(void)
{
	close(fd);
	unlink(path);
	free(src);
}

TestSuite(snapshot_mem, .init = init, .fini = fini);

struct extent {
	uint64_t start, end;
};

/* The file's data extents, in pages; returns how many. */
static unsigned int extents(struct extent *out, unsigned int max)
{
	off_t size = lseek(fd, 0, SEEK_END), off = 0;
	unsigned int n = 0;

	while (off < size && n < max) {
		off_t data = lseek(fd, off, SEEK_DATA), hole;

		if (data < 0)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		out[n++] = (struct extent){ (uint64_t)data / PG, ((uint64_t)hole + PG - 1) / PG };
		off = hole;
	}
	return n;
}

static void set(uint64_t *bits, uint64_t first, uint64_t n)
{
	for (uint64_t p = first; p < first + n; p++)
		bits[p / 64] |= 1ULL << (p % 64);
}

Test(snapshot_mem, only_the_dirty_pages_become_data_at_their_offsets)
{
	uint64_t bits[DIRTY_WORDS(NR)] = { 0 };
	struct extent e[8];
	uint8_t page[PG];

	cr_assert_eq(ftruncate(fd, NR * PG), 0);
	set(bits, 3, 1);
	set(bits, 62, 5);  /* a run across a bitmap word boundary */
	set(bits, 199, 1); /* the last page */
	cr_assert_eq(snapshot_mem_write_pages(fd, 0, src, NR * PG, bits), 0);
	cr_assert_eq(extents(e, 8), 3);
	cr_assert_eq(e[0].start, 3);
	cr_assert_eq(e[0].end, 4);
	cr_assert_eq(e[1].start, 62);
	cr_assert_eq(e[1].end, 67);
	cr_assert_eq(e[2].start, 199);
	cr_assert_eq(e[2].end, 200);
	cr_assert_eq(pread(fd, page, PG, 64 * PG), (ssize_t)PG);
	cr_assert_arr_eq(page, src + 64 * PG, PG, "a page's bytes land at its own offset");
	cr_assert_eq(lseek(fd, 0, SEEK_END), NR * PG, "writing does not change the size");
}

Test(snapshot_mem, a_dirty_page_of_zeroes_is_data_not_a_hole)
{
	uint64_t bits[DIRTY_WORDS(NR)] = { 0 };
	struct extent e[4];

	cr_assert_eq(ftruncate(fd, NR * PG), 0);
	memset(src + 10 * PG, 0, PG);
	set(bits, 10, 1);
	cr_assert_eq(snapshot_mem_write_pages(fd, 0, src, NR * PG, bits), 0);
	cr_assert_eq(extents(e, 4), 1);
	cr_assert_eq(e[0].start, 10);
	cr_assert_eq(e[0].end, 11);
}

Test(snapshot_mem, a_region_lands_at_its_file_offset)
{
	uint64_t bits[DIRTY_WORDS(NR)] = { 0 };
	struct extent e[4];
	uint8_t page[PG];

	/* The second region of two: its page 0 is page 100 of the file. */
	cr_assert_eq(ftruncate(fd, 2 * NR * PG), 0);
	set(bits, 0, 2);
	cr_assert_eq(snapshot_mem_write_pages(fd, 100 * PG, src, NR * PG, bits), 0);
	cr_assert_eq(extents(e, 4), 1);
	cr_assert_eq(e[0].start, 100);
	cr_assert_eq(e[0].end, 102);
	cr_assert_eq(pread(fd, page, PG, 101 * PG), (ssize_t)PG);
	cr_assert_arr_eq(page, src + PG, PG);
}

Test(snapshot_mem, no_dirty_page_leaves_an_empty_sparse_file)
{
	uint64_t bits[DIRTY_WORDS(NR)] = { 0 };
	struct extent e[1];

	cr_assert_eq(ftruncate(fd, NR * PG), 0);
	cr_assert_eq(snapshot_mem_write_pages(fd, 0, src, NR * PG, bits), 0);
	cr_assert_eq(extents(e, 1), 0);
}

Test(snapshot_mem, every_page_dirty_is_one_extent)
{
	uint64_t bits[DIRTY_WORDS(NR)] = { 0 };
	struct extent e[2];

	cr_assert_eq(ftruncate(fd, NR * PG), 0);
	set(bits, 0, NR);
	cr_assert_eq(snapshot_mem_write_pages(fd, 0, src, NR * PG, bits), 0);
	cr_assert_eq(extents(e, 2), 1);
	cr_assert_eq(e[0].start, 0);
	cr_assert_eq(e[0].end, NR);
}

Test(snapshot_mem, a_write_error_is_returned)
{
	uint64_t bits[DIRTY_WORDS(NR)] = { 0 };
	int ro = open(path, O_RDONLY | O_CLOEXEC);

	set(bits, 5, 1);
	cr_assert_eq(snapshot_mem_write_pages(ro, 0, src, NR * PG, bits), -EBADF);
	close(ro);
}

Test(snapshot_mem, nonzero_pages_finds_every_page_with_a_set_byte)
{
	uint64_t bits[DIRTY_WORDS(NR)];

	memset(src, 0, NR * PG);
	src[1 * PG] = 1;            /* first byte */
	src[64 * PG + PG - 1] = 0x80; /* last byte, across a bitmap word */
	src[130 * PG + 1000] = 7;
	memset(bits, 0xff, sizeof(bits));
	snapshot_mem_nonzero_pages(src, NR * PG, bits);
	for (uint64_t p = 0; p < NR; p++) {
		bool want = p == 1 || p == 64 || p == 130;

		cr_assert_eq(!!(bits[p / 64] & (1ULL << (p % 64))), want, "page %llu",
			     (unsigned long long)p);
	}
	/* A partial last page counts only its own bytes. */
	memset(bits, 0, sizeof(bits));
	src[(NR - 1) * PG + 100] = 1;
	snapshot_mem_nonzero_pages(src, (NR - 1) * PG + 50, bits);
	cr_assert_eq(bits[(NR - 1) / 64] & (1ULL << ((NR - 1) % 64)), 0);
}
