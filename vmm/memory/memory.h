/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest physical memory: a few host mappings, each backing one contiguous GPA
 * range. Every access to guest memory goes through guest_mem_ptr() or the
 * copy helpers, which fail on overflow, on addresses outside RAM and on ranges
 * that cross a region boundary; no other code does arithmetic on guest
 * addresses to get host pointers.
 */
#ifndef IGNIS_MEMORY_H
#define IGNIS_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/config/config.h"
#include "vmm/memory/dirty.h"
#include "vmm/util/error.h"

#define GUEST_MEM_MAX_REGIONS 4

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
	uint64_t total_size;
	/* One host mapping holds every region; NULL for a borrowed view. */
	void *mapping;
	size_t mapping_len;
	/* Pages the VMM wrote (track_dirty_pages); NULL when not tracking: no cost. */
	struct dirty_bitmap *dirty;
};

/* A GPA range the architecture asks to be backed with RAM. */
struct guest_range {
	uint64_t gpa;
	uint64_t size;
};

/*
 * Maps anonymous (or hugetlbfs, or THP-advised) memory for @ranges.
 * Returns 0 or -errno; -ENOMEM with HUGE_PAGES_2M means no hugepages are
 * reserved, which the caller reports as such.
 */
int guest_mem_alloc(struct guest_mem *mem, const struct guest_range *ranges, unsigned int nr,
		    enum huge_pages huge_pages);
/* Describes guest_mem_alloc()'s failure @ret for @mc in @err; returns @ret. */
int guest_mem_alloc_error(int ret, const struct machine_config *mc, struct err_buf *err);
/*
 * Maps @fd (a snapshot memory file: the ranges' bytes concatenated) MAP_PRIVATE
 * over @ranges: pages load lazily and guest writes are copy-on-write.
 */
int guest_mem_map_file(struct guest_mem *mem, const struct guest_range *ranges, unsigned int nr,
		       int fd);
/*
 * Replaces the contents of @mem's mapping (guest_mem_alloc, no huge pages)
 * with @fd, MAP_PRIVATE and MAP_FIXED at the same host address: memory slots
 * registered over it stay valid (KVM follows the new pages through its MMU
 * notifier). For a pre-warmed load. 0 or -errno; after a failure the
 * mapping's contents are undefined (the caller discards the microVM).
 */
int guest_mem_map_file_over(struct guest_mem *mem, int fd);
void guest_mem_free(struct guest_mem *mem);
/*
 * From now on every VMM write through guest_mem_write(), guest_mem_clear() and
 * guest_mem_ptr_write() marks its pages in mem->dirty. Returns 0 or -ENOMEM.
 */
int guest_mem_track_dirty(struct guest_mem *mem);

/* Wraps caller-owned buffers (tests, snapshot tools) without mapping anything. */
int guest_mem_init_view(struct guest_mem *mem, uint64_t gpa, void *buf, uint64_t size);

/* Host pointer for [gpa, gpa+len) if it lies entirely inside one region, else NULL. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/*
 * The same, for a range the caller is about to write (now or, for an iovec
 * handed to a read, when the I/O completes): marks its pages dirty when
 * tracking. Every VMM write to guest RAM goes through this or the helpers
 * below, or a diff snapshot would miss it.
 */
void *guest_mem_ptr_write(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, size_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len);
/* Fills [gpa, gpa+len) with zeroes; same bounds rules. */
int guest_mem_clear(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Offset in the memory file (regions back to back) of region @index. */
uint64_t guest_mem_region_offset(const struct guest_mem *mem, unsigned int index);

/* End (exclusive) of the region containing @gpa, or 0 if @gpa is not RAM. */
uint64_t guest_mem_region_end(const struct guest_mem *mem, uint64_t gpa);

#endif
