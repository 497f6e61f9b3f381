/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM's dirty page bitmap: what a diff snapshot adds to KVM's log. A page
 * marked must come out of the next take exactly once; a page not marked must
 * never come out; marking from many threads at once loses nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vmm/memory/dirty.h"

#define PG DIRTY_PAGE_SIZE

static struct dirty_bitmap bm;

static void fini(void)
{
	dirty_bitmap_free(&bm);
}

TestSuite(dirty, .fini = fini);

static bool bit(const uint64_t *w, uint64_t i)
{
	return w[i / 64] & (1ULL << (i % 64));
}

Test(dirty, a_new_bitmap_is_clean_and_zero_pages_is_einval)
{
	cr_assert_eq(dirty_bitmap_init(&bm, 0), -EINVAL);
	cr_assert_eq(dirty_bitmap_init(&bm, 130), 0);
	for (uint64_t p = 0; p < 130; p++)
		cr_assert_not(dirty_bitmap_test(&bm, p));
}

Test(dirty, mark_covers_every_page_the_byte_range_touches)
{
	cr_assert_eq(dirty_bitmap_init(&bm, 16), 0);
	/* Two bytes straddling pages 2 and 3. */
	dirty_bitmap_mark(&bm, 3 * PG - 1, 2);
	/* One byte in page 7; an empty range marks nothing. */
	dirty_bitmap_mark(&bm, 7 * PG + 100, 1);
	dirty_bitmap_mark(&bm, 10 * PG, 0);
	for (uint64_t p = 0; p < 16; p++)
		cr_assert_eq(dirty_bitmap_test(&bm, p), p == 2 || p == 3 || p == 7, "page %llu",
			     (unsigned long long)p);
}

Test(dirty, mark_across_word_boundaries_and_past_the_end_is_clipped)
{
	cr_assert_eq(dirty_bitmap_init(&bm, 200), 0);
	dirty_bitmap_mark(&bm, 60 * PG, 70 * PG); /* pages 60..129: three words */
	dirty_bitmap_mark(&bm, 195 * PG, 100 * PG); /* 195..199, the rest is past the end */
	dirty_bitmap_mark(&bm, 500 * PG, PG);      /* entirely past the end: ignored */
	dirty_bitmap_mark(&bm, UINT64_MAX - 10, 100); /* would wrap: clipped, no crash */
	for (uint64_t p = 0; p < 200; p++)
		cr_assert_eq(dirty_bitmap_test(&bm, p), (p >= 60 && p < 130) || p >= 195,
			     "page %llu", (unsigned long long)p);
	cr_assert_not(dirty_bitmap_test(&bm, 200));
}

Test(dirty, take_moves_an_unaligned_range_and_clears_only_it)
{
	uint64_t out[3] = { 0 };

	cr_assert_eq(dirty_bitmap_init(&bm, 256), 0);
	dirty_bitmap_mark(&bm, 0, PG);         /* page 0: outside the range */
	dirty_bitmap_mark(&bm, 70 * PG, PG);   /* first page of the range */
	dirty_bitmap_mark(&bm, 100 * PG, 40 * PG); /* 100..139 */
	dirty_bitmap_mark(&bm, 199 * PG, 2 * PG); /* 199 inside, 200 outside */
	dirty_bitmap_take(&bm, 70, 130, out);  /* pages 70..199 */
	for (uint64_t i = 0; i < 130; i++) {
		uint64_t p = 70 + i;

		cr_assert_eq(bit(out, i), p == 70 || (p >= 100 && p < 140) || p == 199,
			     "out bit %llu", (unsigned long long)i);
		cr_assert_not(dirty_bitmap_test(&bm, p), "page %llu still marked",
			      (unsigned long long)p);
	}
	cr_assert_eq(out[2] >> 2, 0, "nothing past the range's 130 bits");
	cr_assert(dirty_bitmap_test(&bm, 0), "a page before the range stays");
	cr_assert(dirty_bitmap_test(&bm, 200), "a page after the range stays");
}

Test(dirty, take_ors_into_the_output_so_a_second_take_is_empty)
{
	uint64_t out[1] = { 1ULL << 5 }; /* as KVM's log would have left it */

	cr_assert_eq(dirty_bitmap_init(&bm, 64), 0);
	dirty_bitmap_mark(&bm, 9 * PG, 1);
	dirty_bitmap_take(&bm, 0, 64, out);
	cr_assert_eq(out[0], (1ULL << 5) | (1ULL << 9));
	out[0] = 0;
	dirty_bitmap_take(&bm, 0, 64, out);
	cr_assert_eq(out[0], 0, "a snapshot resets the bitmap");
}

Test(dirty, merge_puts_back_what_a_failed_snapshot_took)
{
	uint64_t out[2] = { 0 };

	cr_assert_eq(dirty_bitmap_init(&bm, 128), 0);
	dirty_bitmap_mark(&bm, 40 * PG, PG);
	dirty_bitmap_mark(&bm, 90 * PG, PG);
	dirty_bitmap_take(&bm, 33, 95, out);
	out[0] |= 1ULL << 1; /* page 34, from KVM's log */
	dirty_bitmap_mark(&bm, 50 * PG, PG); /* marked while the snapshot failed */
	dirty_bitmap_merge(&bm, 33, 95, out);
	for (uint64_t p = 0; p < 128; p++)
		cr_assert_eq(dirty_bitmap_test(&bm, p), p == 34 || p == 40 || p == 50 || p == 90,
			     "page %llu", (unsigned long long)p);
}

#define THREADS 4
#define PAGES (64 * 16)

static void *mark_every_fourth(void *arg)
{
	uint64_t first = (uint64_t)(uintptr_t)arg;

	for (int round = 0; round < 50; round++)
		for (uint64_t p = first; p < PAGES; p += THREADS)
			dirty_bitmap_mark(&bm, p * PG, 1);
	return NULL;
}

Test(dirty, concurrent_marks_of_neighbouring_pages_are_all_kept)
{
	pthread_t t[THREADS];
	uint64_t out[DIRTY_WORDS(PAGES)] = { 0 };

	cr_assert_eq(dirty_bitmap_init(&bm, PAGES), 0);
	for (uintptr_t i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, mark_every_fourth, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	dirty_bitmap_take(&bm, 0, PAGES, out);
	for (size_t w = 0; w < DIRTY_WORDS(PAGES); w++)
		cr_assert_eq(out[w], ~0ULL, "word %zu: 0x%llx", w, (unsigned long long)out[w]);
}
