/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Uffd memory backend's one message, Firecracker's format: ignis sends
 * a page-fault handler a JSON array with one object per guest RAM region,
 *
 *   {"base_host_virt_addr": u64, "size": u64, "offset": u64,
 *    "page_size": u64, "page_size_kib": u64}
 *
 * (offset: where the region's bytes start in the memory file; page_size in
 * bytes; page_size_kib is deprecated and, as in Firecracker, also bytes),
 * with the userfaultfd as SCM_RIGHTS. Both directions live here, so the
 * builder in ignis and the parser in the example handler cannot drift apart.
 * Depends on jansson and libc only.
 */
#ifndef IGNIS_UFFD_REGIONS_H
#define IGNIS_UFFD_REGIONS_H

#include <stddef.h>
#include <stdint.h>

/* More than ignis ever sends; bounds what a handler accepts. */
#define UFFD_REGIONS_MAX 64
/* The message is a few hundred bytes; a handler reads at most this much. */
#define UFFD_REGIONS_MSG_MAX 65536

#define UFFD_PAGE_4K 4096ULL
#define UFFD_PAGE_2M (2ULL << 20)

struct uffd_region {
	uint64_t base_host_virt_addr;
	uint64_t size;
	uint64_t offset;
	uint64_t page_size;
};

/* The JSON text (malloc'd, NUL-terminated) or NULL if out of memory. */
char *uffd_regions_to_json(const struct uffd_region *r, unsigned int nr);

/*
 * Parses and checks a message from an untrusted peer against a memory file
 * of @file_size bytes: 1..@max regions, every field a non-negative integer,
 * page_size 4096 or 2097152, base, size and offset multiples of it, size > 0,
 * no overflow, [offset, offset+size) inside the file, no two regions
 * overlapping in the address space. Unknown keys are ignored. Returns 0 or
 * -EINVAL with the reason in @why.
 */
int uffd_regions_parse(const char *text, size_t len, uint64_t file_size,
		       struct uffd_region *out, unsigned int max, unsigned int *nr,
		       char *why, size_t why_len);

/* The region holding @addr, or NULL. */
const struct uffd_region *uffd_regions_find(const struct uffd_region *r, unsigned int nr,
					    uint64_t addr);

#endif
