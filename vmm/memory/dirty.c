/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/memory/dirty.h"

#include <errno.h>
#include <stdlib.h>

int dirty_bitmap_init(struct dirty_bitmap *bm, uint64_t nr_pages)
{
	bm->nr_pages = 0;
	bm->words = NULL;
	if (nr_pages == 0)
		return -EINVAL;
	bm->words = calloc(DIRTY_WORDS(nr_pages), sizeof(*bm->words));
	if (!bm->words)
		return -ENOMEM;
	bm->nr_pages = nr_pages;
	return 0;
}

void dirty_bitmap_free(struct dirty_bitmap *bm)
{
	free(bm->words);
	bm->words = NULL;
	bm->nr_pages = 0;
}

/* The bits of page @p's word that lie in [p, p + n), at most to the word's end. */
static uint64_t span_mask(uint64_t p, uint64_t n, uint64_t *taken)
{
	uint64_t bit = p % DIRTY_WORD_BITS;
	uint64_t k = DIRTY_WORD_BITS - bit < n ? DIRTY_WORD_BITS - bit : n;

	*taken = k;
	return (k == DIRTY_WORD_BITS ? ~0ULL : ((1ULL << k) - 1)) << bit;
}

void dirty_bitmap_mark(struct dirty_bitmap *bm, uint64_t offset, uint64_t len)
{
	uint64_t p, end, k;

	if (len == 0 || offset / DIRTY_PAGE_SIZE >= bm->nr_pages)
		return;
	p = offset / DIRTY_PAGE_SIZE;
	/* (offset + len - 1) cannot overflow past what a guest_mem range allows, but be sure. */
	end = (len - 1 > UINT64_MAX - offset ? UINT64_MAX : offset + len - 1) / DIRTY_PAGE_SIZE + 1;
	if (end > bm->nr_pages)
		end = bm->nr_pages;
	for (; p < end; p += k) {
		uint64_t mask = span_mask(p, end - p, &k);
		uint64_t w = p / DIRTY_WORD_BITS;

		/* The common case (a ring index, one page) costs a load, not a locked op. */
		if ((atomic_load_explicit(&bm->words[w], memory_order_relaxed) & mask) != mask)
			atomic_fetch_or_explicit(&bm->words[w], mask, memory_order_relaxed);
	}
}

bool dirty_bitmap_test(const struct dirty_bitmap *bm, uint64_t page)
{
	if (page >= bm->nr_pages)
		return false;
	return atomic_load_explicit(&bm->words[page / DIRTY_WORD_BITS], memory_order_relaxed) &
	       (1ULL << (page % DIRTY_WORD_BITS));
}

/* ORs the @k bits @v (low bits) into @out at bit @o. */
static void put_bits(uint64_t *out, uint64_t o, uint64_t v, uint64_t k)
{
	uint64_t bit = o % DIRTY_WORD_BITS;

	out[o / DIRTY_WORD_BITS] |= v << bit;
	if (bit && k > DIRTY_WORD_BITS - bit)
		out[o / DIRTY_WORD_BITS + 1] |= v >> (DIRTY_WORD_BITS - bit);
}

/* The @k bits of @in at bit @o, in the low bits of the result. */
static uint64_t get_bits(const uint64_t *in, uint64_t o, uint64_t k)
{
	uint64_t bit = o % DIRTY_WORD_BITS;
	uint64_t v = in[o / DIRTY_WORD_BITS] >> bit;

	if (bit && k > DIRTY_WORD_BITS - bit)
		v |= in[o / DIRTY_WORD_BITS + 1] << (DIRTY_WORD_BITS - bit);
	return k == DIRTY_WORD_BITS ? v : v & ((1ULL << k) - 1);
}

/*
 * Walks pages [first, first + nr) a word's share at a time: @take moves their
 * bits into @bits (and clears them here), else ORs @bits back in.
 */
static void transfer(struct dirty_bitmap *bm, uint64_t first, uint64_t nr, uint64_t *bits,
		     bool take)
{
	uint64_t end, k;

	if (first >= bm->nr_pages)
		return;
	end = nr > bm->nr_pages - first ? bm->nr_pages : first + nr;
	for (uint64_t p = first; p < end; p += k) {
		uint64_t mask = span_mask(p, end - p, &k);
		_Atomic uint64_t *w = &bm->words[p / DIRTY_WORD_BITS];
		unsigned int shift = p % DIRTY_WORD_BITS;

		if (take) {
			uint64_t old = atomic_fetch_and_explicit(w, ~mask, memory_order_relaxed);

			put_bits(bits, p - first, (old & mask) >> shift, k);
		} else {
			uint64_t v = (get_bits(bits, p - first, k) << shift) & mask;

			if (v)
				atomic_fetch_or_explicit(w, v, memory_order_relaxed);
		}
	}
}

void dirty_bitmap_take(struct dirty_bitmap *bm, uint64_t first, uint64_t nr, uint64_t *out)
{
	transfer(bm, first, nr, out, true);
}

void dirty_bitmap_merge(struct dirty_bitmap *bm, uint64_t first, uint64_t nr, const uint64_t *in)
{
	/* Read only when merging back. */
	transfer(bm, first, nr, (uint64_t *)in, false);
}
