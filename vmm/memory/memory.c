/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/memory/memory.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

#define HUGE_2M (2ULL << 20)

/*
 * Maps @len bytes at a 2 MiB-aligned address. The host can only back guest
 * RAM with transparent huge pages (and KVM only map it with 2 MiB pages)
 * where host and guest addresses agree modulo 2 MiB; guest regions start
 * 2 MiB-aligned, so the mapping must too. hugetlbfs mappings already are.
 */
static void *map_aligned(uint64_t len, int flags, bool hugetlb)
{
	uint8_t *raw, *base;
	uint64_t head;

	if (hugetlb)
		return mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	raw = mmap(NULL, len + HUGE_2M, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (raw == MAP_FAILED)
		return MAP_FAILED;
	head = (HUGE_2M - ((uintptr_t)raw & (HUGE_2M - 1))) & (HUGE_2M - 1);
	base = raw + head;
	if (head)
		munmap(raw, head);
	munmap(base + len, HUGE_2M - head);
	return base;
}

/* Sums @ranges into @total; -EINVAL for a bad count, an empty range or overflow. */
static int ranges_total(const struct guest_range *ranges, unsigned int nr, uint64_t *total)
{
	*total = 0;
	if (nr == 0 || nr > GUEST_MEM_MAX_REGIONS)
		return -EINVAL;
	for (unsigned int i = 0; i < nr; i++) {
		if (ranges[i].size == 0 || *total + ranges[i].size < *total)
			return -EINVAL;
		*total += ranges[i].size;
	}
	return 0;
}

/* Lays @ranges out back to back in the one mapping at @base. */
static void adopt_mapping(struct guest_mem *mem, uint8_t *base, uint64_t total,
			  const struct guest_range *ranges, unsigned int nr)
{
	/* KSM and fork must not touch guest memory. */
	madvise(base, total, MADV_DONTFORK);
	mem->mapping = base;
	mem->mapping_len = total;
	mem->total_size = total;
	mem->nr_regions = nr;
	for (unsigned int i = 0; i < nr; i++) {
		mem->regions[i].gpa = ranges[i].gpa;
		mem->regions[i].size = ranges[i].size;
		mem->regions[i].host = base;
		base += ranges[i].size;
	}
}

int guest_mem_alloc(struct guest_mem *mem, const struct guest_range *ranges, unsigned int nr,
		    enum huge_pages huge_pages)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	uint64_t total;
	uint8_t *base;

	memset(mem, 0, sizeof(*mem));
	if (ranges_total(ranges, nr, &total))
		return -EINVAL;
	for (unsigned int i = 0; i < nr; i++)
		if (huge_pages != HUGE_PAGES_NONE && (ranges[i].size % HUGE_2M))
			return -EINVAL;

	if (huge_pages == HUGE_PAGES_2M) {
		/*
		 * No MAP_NORESERVE: the kernel then reserves the hugepages at
		 * mmap time and fails with ENOMEM when the pool is short, instead
		 * of a SIGBUS at the guest's first touch.
		 */
		flags |= MAP_HUGETLB | MAP_HUGE_2MB;
	} else {
		/* Guest RAM is overcommitted like any anonymous memory. */
		flags |= MAP_NORESERVE;
	}

	base = map_aligned(total, flags, huge_pages == HUGE_PAGES_2M);
	if (base == MAP_FAILED)
		return -errno;
	if (huge_pages == HUGE_PAGES_TRANSPARENT && madvise(base, total, MADV_HUGEPAGE) < 0) {
		int err = -errno;

		munmap(base, total);
		return err;
	}
	adopt_mapping(mem, base, total, ranges, nr);
	return 0;
}

int guest_mem_alloc_error(int ret, const struct machine_config *mc, struct err_buf *err)
{
	if (ret == -ENOMEM && mc->huge_pages == HUGE_PAGES_2M)
		return err_set(err, ret,
			       "cannot allocate %u MiB of 2 MiB huge pages: not enough are reserved "
			       "(see /proc/sys/vm/nr_hugepages; %u pages needed)",
			       mc->mem_size_mib, mc->mem_size_mib / 2);
	return err_set(err, ret, "cannot allocate %u MiB of guest memory: %s", mc->mem_size_mib,
		       strerror(-ret));
}

int guest_mem_map_file(struct guest_mem *mem, const struct guest_range *ranges, unsigned int nr,
		       int fd)
{
	uint64_t total;
	uint8_t *base;

	memset(mem, 0, sizeof(*mem));
	if (ranges_total(ranges, nr, &total))
		return -EINVAL;
	/* Private: guest writes stay in this process, the file is never changed. */
	base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	adopt_mapping(mem, base, total, ranges, nr);
	return 0;
}

int guest_mem_map_file_over(struct guest_mem *mem, int fd)
{
	void *p;

	if (!mem->mapping || mem->mapping_len != mem->total_size)
		return -EINVAL;
	p = mmap(mem->mapping, mem->total_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_NORESERVE | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	madvise(p, mem->total_size, MADV_DONTFORK);
	return 0;
}

void guest_mem_free(struct guest_mem *mem)
{
	if (mem->mapping)
		munmap(mem->mapping, mem->mapping_len);
	if (mem->dirty) {
		dirty_bitmap_free(mem->dirty);
		free(mem->dirty);
	}
	memset(mem, 0, sizeof(*mem));
}

int guest_mem_track_dirty(struct guest_mem *mem)
{
	struct dirty_bitmap *bm;

	if (mem->dirty)
		return 0;
	bm = malloc(sizeof(*bm));
	if (!bm)
		return -ENOMEM;
	if (dirty_bitmap_init(bm, (mem->total_size + DIRTY_PAGE_SIZE - 1) / DIRTY_PAGE_SIZE)) {
		free(bm);
		return -ENOMEM;
	}
	mem->dirty = bm;
	return 0;
}

int guest_mem_init_view(struct guest_mem *mem, uint64_t gpa, void *buf, uint64_t size)
{
	memset(mem, 0, sizeof(*mem));
	if (!buf || size == 0 || gpa + size < gpa)
		return -EINVAL;
	mem->regions[0] = (struct guest_region){ .gpa = gpa, .size = size, .host = buf };
	mem->nr_regions = 1;
	mem->total_size = size;
	return 0;
}

/* The host pointer and memory-file offset of [gpa, gpa+len), inside one region. */
static void *lookup(const struct guest_mem *mem, uint64_t gpa, uint64_t len, uint64_t *file_off)
{
	uint64_t off = 0;

	for (unsigned int i = 0; i < mem->nr_regions; off += mem->regions[i].size, i++) {
		const struct guest_region *r = &mem->regions[i];

		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		/* Written as a subtraction so that no sum can overflow. */
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		*file_off = off + (gpa - r->gpa);
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t off;

	return lookup(mem, gpa, len, &off);
}

void *guest_mem_ptr_write(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t off;
	void *p = lookup(mem, gpa, len, &off);

	if (p && mem->dirty)
		dirty_bitmap_mark(mem->dirty, off, len);
	return p;
}

uint64_t guest_mem_region_offset(const struct guest_mem *mem, unsigned int index)
{
	uint64_t off = 0;

	for (unsigned int i = 0; i < index && i < mem->nr_regions; i++)
		off += mem->regions[i].size;
	return off;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, size_t len)
{
	const void *src = guest_mem_ptr(mem, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len)
{
	void *dst = guest_mem_ptr_write(mem, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int guest_mem_clear(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	void *dst = guest_mem_ptr_write(mem, gpa, len);

	if (!dst)
		return -EFAULT;
	memset(dst, 0, len);
	return 0;
}

uint64_t guest_mem_region_end(const struct guest_mem *mem, uint64_t gpa)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r->gpa + r->size;
	}
	return 0;
}
