/* SPDX-License-Identifier: Apache-2.0 */
/* Guest memory: the one bounded accessor every guest address goes through. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "vmm/memory/memory.h"

#define PAGE 0x1000ULL

static uint8_t buf_a[PAGE], buf_b[PAGE];

/* One region of one page at GPA 0x10000, backed by buf_a. */
static struct guest_mem one_region(void)
{
	struct guest_mem mem;

	cr_assert_eq(guest_mem_init_view(&mem, 0x10000, buf_a, PAGE), 0);
	return mem;
}

/* Two regions contiguous in GPA space, [0, 4K) and [4K, 8K), but not on the host. */
static struct guest_mem two_regions(void)
{
	struct guest_mem mem;

	memset(&mem, 0, sizeof(mem));
	mem.regions[0] = (struct guest_region){ .gpa = 0, .size = PAGE, .host = buf_a };
	mem.regions[1] = (struct guest_region){ .gpa = PAGE, .size = PAGE, .host = buf_b };
	mem.nr_regions = 2;
	mem.total_size = 2 * PAGE;
	return mem;
}

Test(memory, view_rejects_empty_and_wrapping_ranges)
{
	struct guest_mem mem;

	cr_assert_eq(guest_mem_init_view(&mem, 0, buf_a, 0), -EINVAL);
	cr_assert_eq(guest_mem_init_view(&mem, 0, NULL, PAGE), -EINVAL);
	cr_assert_eq(guest_mem_init_view(&mem, UINT64_MAX - 0x10, buf_a, PAGE), -EINVAL);
}

Test(memory, ptr_in_range_points_into_the_backing_buffer)
{
	struct guest_mem mem = one_region();

	cr_assert_eq(guest_mem_ptr(&mem, 0x10000, 1), buf_a);
	cr_assert_eq(guest_mem_ptr(&mem, 0x10010, 0x20), buf_a + 0x10);
}

Test(memory, ptr_ending_exactly_at_region_end_is_valid)
{
	struct guest_mem mem = one_region();

	cr_assert_eq(guest_mem_ptr(&mem, 0x10000, PAGE), buf_a);
	cr_assert_eq(guest_mem_ptr(&mem, 0x10000 + PAGE - 8, 8), buf_a + PAGE - 8);
}

Test(memory, ptr_one_byte_past_region_end_is_null)
{
	struct guest_mem mem = one_region();

	cr_assert_null(guest_mem_ptr(&mem, 0x10000, PAGE + 1));
	cr_assert_null(guest_mem_ptr(&mem, 0x10000 + PAGE - 8, 9));
	cr_assert_null(guest_mem_ptr(&mem, 0x10000 + PAGE, 1));
}

Test(memory, ptr_below_region_start_is_null)
{
	struct guest_mem mem = one_region();

	cr_assert_null(guest_mem_ptr(&mem, 0xffff, 1));
	cr_assert_null(guest_mem_ptr(&mem, 0xffff, 2));
}

Test(memory, ptr_with_huge_len_is_null)
{
	struct guest_mem mem = one_region();

	cr_assert_null(guest_mem_ptr(&mem, 0x10000, UINT64_MAX));
	cr_assert_null(guest_mem_ptr(&mem, 0x10001, UINT64_MAX - 0x10000));
}

Test(memory, ptr_whose_end_wraps_past_2_to_the_64_is_null)
{
	/* A region just below the top of the address space: gpa + len wraps to a small number. */
	uint64_t base = UINT64_MAX - 2 * PAGE + 1;
	struct guest_mem mem;

	cr_assert_eq(guest_mem_init_view(&mem, base, buf_a, PAGE), 0);
	cr_assert_eq(guest_mem_ptr(&mem, base + 0x800, 0x10), buf_a + 0x800);
	cr_assert_null(guest_mem_ptr(&mem, base + 0x800, 2 * PAGE));
	cr_assert_null(guest_mem_ptr(&mem, UINT64_MAX, 2));
}

Test(memory, ptr_crossing_from_one_region_into_the_next_is_null)
{
	struct guest_mem mem = two_regions();

	cr_assert_null(guest_mem_ptr(&mem, PAGE - 0x10, 0x20));
	cr_assert_eq(guest_mem_ptr(&mem, PAGE - 0x10, 0x10), buf_a + PAGE - 0x10);
	cr_assert_eq(guest_mem_ptr(&mem, PAGE, 0x10), buf_b);
}

Test(memory, write_then_read_round_trips)
{
	struct guest_mem mem = two_regions();
	const char msg[] = "ignis";
	char out[sizeof(msg)] = { 0 };

	cr_assert_eq(guest_mem_write(&mem, PAGE + 0x40, msg, sizeof(msg)), 0);
	cr_assert_eq(guest_mem_read(&mem, PAGE + 0x40, out, sizeof(out)), 0);
	cr_assert_str_eq(out, msg);
	cr_assert_eq(memcmp(buf_b + 0x40, msg, sizeof(msg)), 0);
}

Test(memory, clear_zeroes_exactly_the_range)
{
	struct guest_mem mem = one_region();

	memset(buf_a, 0xaa, PAGE);
	cr_assert_eq(guest_mem_clear(&mem, 0x10010, 0x10), 0);
	cr_assert_eq(buf_a[0x0f], 0xaa);
	for (unsigned int i = 0x10; i < 0x20; i++)
		cr_assert_eq(buf_a[i], 0, "byte 0x%x not cleared", i);
	cr_assert_eq(buf_a[0x20], 0xaa);
}

Test(memory, read_out_of_range_fails_with_efault)
{
	struct guest_mem mem = two_regions();
	uint8_t out[0x20];

	cr_assert_eq(guest_mem_read(&mem, 2 * PAGE, out, 1), -EFAULT);
	cr_assert_eq(guest_mem_read(&mem, PAGE - 0x10, out, sizeof(out)), -EFAULT);
}

Test(memory, write_out_of_range_fails_with_efault_and_writes_nothing)
{
	struct guest_mem mem = two_regions();
	uint8_t in[0x20];

	memset(in, 0x5a, sizeof(in));
	memset(buf_a, 0, PAGE);
	memset(buf_b, 0, PAGE);
	cr_assert_eq(guest_mem_write(&mem, 2 * PAGE - 0x10, in, sizeof(in)), -EFAULT);
	cr_assert_eq(guest_mem_write(&mem, PAGE - 0x10, in, sizeof(in)), -EFAULT);
	cr_assert_eq(buf_a[PAGE - 1], 0);
	cr_assert_eq(buf_b[PAGE - 1], 0);
}

Test(memory, clear_out_of_range_fails_with_efault)
{
	struct guest_mem mem = two_regions();

	cr_assert_eq(guest_mem_clear(&mem, PAGE - 1, 2), -EFAULT);
	cr_assert_eq(guest_mem_clear(&mem, 0, UINT64_MAX), -EFAULT);
}

Test(memory, region_end_is_the_end_of_the_containing_region)
{
	struct guest_mem mem = two_regions();

	cr_assert_eq(guest_mem_region_end(&mem, 0), PAGE);
	cr_assert_eq(guest_mem_region_end(&mem, PAGE - 1), PAGE);
	cr_assert_eq(guest_mem_region_end(&mem, PAGE), 2 * PAGE);
}

Test(memory, region_end_outside_ram_is_zero)
{
	struct guest_mem mem = one_region();

	cr_assert_eq(guest_mem_region_end(&mem, 0), 0);
	cr_assert_eq(guest_mem_region_end(&mem, 0x10000 + PAGE), 0);
}

Test(memory, alloc_maps_two_writable_ranges)
{
	const struct guest_range ranges[] = {
		{ .gpa = 0, .size = 0x100000 },
		{ .gpa = 0x100000000ULL, .size = 0x200000 },
	};
	struct guest_mem mem;
	uint8_t *lo, *hi;

	cr_assert_eq(guest_mem_alloc(&mem, ranges, 2, HUGE_PAGES_NONE), 0);
	cr_assert_eq(mem.nr_regions, 2);
	cr_assert_eq(mem.total_size, 0x300000);
	cr_assert_eq(guest_mem_region_end(&mem, 0x100000000ULL), 0x100200000ULL);

	lo = guest_mem_ptr(&mem, 0xfffff, 1);
	hi = guest_mem_ptr(&mem, 0x1001fffffULL, 1);
	cr_assert_not_null(lo);
	cr_assert_not_null(hi);
	*lo = 0x11;
	*hi = 0x22;
	cr_assert_eq(*(uint8_t *)guest_mem_ptr(&mem, 0xfffff, 1), 0x11);
	cr_assert_eq(*(uint8_t *)guest_mem_ptr(&mem, 0x1001fffffULL, 1), 0x22);
	cr_assert_null(guest_mem_ptr(&mem, 0x100000, 1), "the gap between ranges is not RAM");

	guest_mem_free(&mem);
	cr_assert_eq(mem.nr_regions, 0);
	cr_assert_null(mem.mapping);
}

Test(memory, alloc_rejects_no_ranges_and_empty_ranges)
{
	const struct guest_range empty = { .gpa = 0, .size = 0 };
	struct guest_mem mem;

	cr_assert_eq(guest_mem_alloc(&mem, &empty, 0, HUGE_PAGES_NONE), -EINVAL);
	cr_assert_eq(guest_mem_alloc(&mem, &empty, 1, HUGE_PAGES_NONE), -EINVAL);
}

Test(memory, alloc_with_2m_hugepages_rejects_a_size_not_a_multiple_of_2m)
{
	const struct guest_range ranges[] = {
		{ .gpa = 0, .size = 0x200000 },
		{ .gpa = 0x100000000ULL, .size = 0x300000 },
	};
	struct guest_mem mem;

	cr_assert_eq(guest_mem_alloc(&mem, ranges, 2, HUGE_PAGES_2M), -EINVAL);
	cr_assert_eq(guest_mem_alloc(&mem, &ranges[1], 1, HUGE_PAGES_2M), -EINVAL);
	cr_assert_null(mem.mapping);
}

/* Snapshot restore: a memory file mapped MAP_PRIVATE over the ranges, in GPA order. */
Test(memory, a_memory_file_maps_private_in_gpa_order)
{
	char path[] = "/tmp/ignis-memfile-XXXXXX";
	struct guest_range ranges[2] = { { 0, 2 * PAGE }, { 0x100000, PAGE } };
	uint8_t data[3 * PAGE], back[3 * PAGE], b;
	struct guest_mem mem;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	unlink(path);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / PAGE);
	cr_assert_eq(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	cr_assert_eq(guest_mem_map_file(&mem, ranges, 2, fd), 0);
	cr_assert_eq(mem.nr_regions, 2);
	cr_assert_eq(guest_mem_read(&mem, 0x100000, &b, 1), 0);
	cr_assert_eq(b, data[2 * PAGE]);
	cr_assert_eq(guest_mem_read(&mem, 0x1000, &b, 1), 0);
	cr_assert_eq(b, data[PAGE]);
	/* Guest writes are copy-on-write: the file keeps its bytes. */
	b = 0xaa;
	cr_assert_eq(guest_mem_write(&mem, 0, &b, 1), 0);
	cr_assert_eq(pread(fd, back, sizeof(back), 0), (ssize_t)sizeof(back));
	cr_assert_eq(memcmp(back, data, sizeof(data)), 0);
	guest_mem_free(&mem);
	cr_assert_eq(guest_mem_map_file(&mem, ranges, 0, fd), -EINVAL);
	close(fd);
}

/* THP and KVM's 2 MiB mappings need host and guest addresses to agree modulo 2 MiB. */
Test(memory_alloc, anonymous_guest_ram_is_2mib_aligned_on_the_host)
{
	struct guest_range ranges[2] = { { 0, 6ULL << 20 }, { 1ULL << 32, 4ULL << 20 } };
	struct guest_mem mem;

	for (int hp = HUGE_PAGES_NONE; hp <= HUGE_PAGES_TRANSPARENT; hp++) {
		cr_assert_eq(guest_mem_alloc(&mem, ranges, 2, (enum huge_pages)hp), 0);
		cr_assert_eq((uintptr_t)mem.regions[0].host % (2ULL << 20), 0);
		cr_assert_eq((uintptr_t)mem.regions[1].host % (2ULL << 20), 0);
		/* The whole range is usable, to its last byte. */
		mem.regions[1].host[mem.regions[1].size - 1] = 0x5a;
		guest_mem_free(&mem);
	}
}

/* ---- dirty page tracking (diff snapshots) ---- */

static void untrack(struct guest_mem *mem)
{
	dirty_bitmap_free(mem->dirty);
	free(mem->dirty);
	mem->dirty = NULL;
}

Test(memory, without_tracking_nothing_is_allocated_or_marked)
{
	struct guest_mem mem = two_regions();

	cr_assert_null(mem.dirty);
	cr_assert_eq(guest_mem_write(&mem, 0x10, "x", 1), 0);
	cr_assert_not_null(guest_mem_ptr_write(&mem, PAGE, 8));
	cr_assert_null(mem.dirty);
}

Test(memory, writes_mark_pages_by_their_memory_file_offset)
{
	struct guest_mem mem = two_regions();

	/* The second region at a GPA far from the first: the file offset is what counts. */
	mem.regions[1].gpa = 0x100000000ULL;
	cr_assert_eq(guest_mem_track_dirty(&mem), 0);
	cr_assert_eq(mem.dirty->nr_pages, 2);
	cr_assert_eq(guest_mem_write(&mem, 0x100000000ULL + 8, "y", 1), 0);
	cr_assert_not(dirty_bitmap_test(mem.dirty, 0));
	cr_assert(dirty_bitmap_test(mem.dirty, 1));
	untrack(&mem);
}

Test(memory, clear_and_ptr_write_mark_but_reads_do_not)
{
	struct guest_mem mem = two_regions();
	uint8_t b;

	cr_assert_eq(guest_mem_track_dirty(&mem), 0);
	cr_assert_eq(guest_mem_read(&mem, 0, &b, 1), 0);
	cr_assert_not_null(guest_mem_ptr(&mem, PAGE, 1));
	cr_assert_not(dirty_bitmap_test(mem.dirty, 0));
	cr_assert_not(dirty_bitmap_test(mem.dirty, 1));
	cr_assert_eq(guest_mem_clear(&mem, 0, 4), 0);
	cr_assert(dirty_bitmap_test(mem.dirty, 0));
	cr_assert_not_null(guest_mem_ptr_write(&mem, PAGE + 100, 4));
	cr_assert(dirty_bitmap_test(mem.dirty, 1));
	untrack(&mem);
}

Test(memory, a_refused_write_marks_nothing)
{
	struct guest_mem mem = one_region();

	cr_assert_eq(guest_mem_track_dirty(&mem), 0);
	cr_assert_eq(guest_mem_write(&mem, 0x10000 + PAGE - 1, "ab", 2), -EFAULT);
	cr_assert_null(guest_mem_ptr_write(&mem, 0x20000, 1));
	cr_assert_not(dirty_bitmap_test(mem.dirty, 0));
	untrack(&mem);
}

Test(memory, region_offsets_are_the_sizes_before_them)
{
	struct guest_mem mem = two_regions();

	cr_assert_eq(guest_mem_region_offset(&mem, 0), 0);
	cr_assert_eq(guest_mem_region_offset(&mem, 1), PAGE);
}
