/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pages of guest RAM the VMM itself wrote (virtio rings, block reads,
 * network frames, the boot loader's tables): KVM's dirty log sees only the
 * guest's own writes, so a diff snapshot ORs it with this. One bit per 4 KiB
 * page, indexed by the page's offset in the memory file (regions in GPA
 * order, back to back). Marking is lock-free and safe from any thread.
 */
#ifndef IGNIS_DIRTY_H
#define IGNIS_DIRTY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define DIRTY_PAGE_SIZE 4096ULL
#define DIRTY_WORD_BITS 64

/* Words of 64 bits needed for @nr_pages bits (the layout KVM_GET_DIRTY_LOG uses). */
#define DIRTY_WORDS(nr_pages) (((nr_pages) + DIRTY_WORD_BITS - 1) / DIRTY_WORD_BITS)

struct dirty_bitmap {
	uint64_t nr_pages;
	_Atomic uint64_t *words;
};

/* Every page clean. Returns 0 or -ENOMEM (-EINVAL for 0 pages). */
int dirty_bitmap_init(struct dirty_bitmap *bm, uint64_t nr_pages);
void dirty_bitmap_free(struct dirty_bitmap *bm);

/* Marks every page [offset, offset + len) touches; bytes past the end are ignored. */
void dirty_bitmap_mark(struct dirty_bitmap *bm, uint64_t offset, uint64_t len);
bool dirty_bitmap_test(const struct dirty_bitmap *bm, uint64_t page);

/*
 * Moves the bits of pages [first, first + nr) into @out (bit i of @out: page
 * first + i; @out holds DIRTY_WORDS(nr) words and is ORed into, not
 * overwritten), clearing them here. A page marked concurrently lands either
 * in @out or stays marked: never lost.
 */
void dirty_bitmap_take(struct dirty_bitmap *bm, uint64_t first, uint64_t nr, uint64_t *out);
/* The reverse, without clearing @in: puts back what a failed snapshot took. */
void dirty_bitmap_merge(struct dirty_bitmap *bm, uint64_t first, uint64_t nr, const uint64_t *in);

#endif
