/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueues: the chain walker against rings a hostile driver built by
 * hand. Every index, length, address and flag is bounded; a bad chain fails
 * that one request, a corrupt ring the whole queue, and nothing crashes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <criterion/criterion.h>

#include "tests/unit/virtio_driver.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/memory/memory.h"

#define RAM_SIZE (2ULL << 20)
#define QSIZE 16
#define DESC_GPA 0x1000ULL
#define AVAIL_GPA 0x2000ULL
#define USED_GPA 0x3000ULL
#define TABLE_GPA 0x8000ULL /* indirect tables */
#define BUF_GPA 0x10000ULL

static uint8_t *ram;
static struct guest_mem mem;
static struct virtq q;
static struct virtq_chain chain;
static const struct test_vq vq = { QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA };

static void setup(void)
{
	ram = aligned_alloc(4096, RAM_SIZE);
	cr_assert_not_null(ram);
	memset(ram, 0, RAM_SIZE);
	cr_assert_eq(guest_mem_init_view(&mem, 0, ram, RAM_SIZE), 0);
	memset(&q, 0, sizeof(q));
	q.size = QSIZE;
	q.ready = true;
	q.desc_gpa = DESC_GPA;
	q.avail_gpa = AVAIL_GPA;
	q.used_gpa = USED_GPA;
	memset(&chain, 0, sizeof(chain));
}

static void teardown(void)
{
	free(ram);
}

TestSuite(virtq, .init = setup, .fini = teardown);
TestSuite(virtq_valid, .init = setup, .fini = teardown);
TestSuite(virtq_notify, .init = setup, .fini = teardown);
TestSuite(virtq_copy, .init = setup, .fini = teardown);
TestSuite(virtq_state, .init = setup, .fini = teardown);

static enum virtq_pop_result pop(void)
{
	return virtq_pop(&q, &mem, &chain);
}

/* A one-descriptor chain at @head, readable, somewhere valid. */
static void put_simple(uint16_t head)
{
	vq_put_desc(&mem, &vq, head, BUF_GPA, 16, 0, 0);
}

static void assert_seg(unsigned int i, uint64_t gpa, uint32_t len, bool write)
{
	cr_assert_eq(chain.segs[i].gpa, gpa, "seg %u gpa 0x%llx", i,
		     (unsigned long long)chain.segs[i].gpa);
	cr_assert_eq(chain.segs[i].len, len, "seg %u len %u", i, chain.segs[i].len);
	cr_assert_eq(chain.segs[i].write, write, "seg %u direction", i);
}

/* ---- the avail ring ---- */

Test(virtq, nothing_new_in_the_avail_ring_is_empty)
{
	cr_assert_eq(pop(), VIRTQ_EMPTY);
	cr_assert_eq(q.last_avail_idx, 0);
}

Test(virtq, a_queue_that_is_not_ready_is_empty)
{
	put_simple(0);
	vq_publish(&mem, &vq, 0);
	q.ready = false;
	cr_assert_eq(pop(), VIRTQ_EMPTY);
	cr_assert_eq(q.last_avail_idx, 0);
}

Test(virtq, readable_then_writable_chain_is_walked_in_order)
{
	vq_put_desc(&mem, &vq, 5, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 9);
	vq_put_desc(&mem, &vq, 9, BUF_GPA + 0x1000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	vq_put_desc(&mem, &vq, 2, BUF_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	vq_publish(&mem, &vq, 5);

	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_eq(chain.head, 5);
	cr_assert_eq(chain.nr, 3);
	cr_assert_eq(chain.nr_readable, 1);
	cr_assert_eq(chain.readable_len, 16);
	cr_assert_eq(chain.writable_len, 513);
	assert_seg(0, BUF_GPA, 16, false);
	assert_seg(1, BUF_GPA + 0x1000, 512, true);
	assert_seg(2, BUF_GPA + 0x2000, 1, true);
}

Test(virtq, each_pop_consumes_one_avail_entry)
{
	put_simple(0);
	put_simple(1);
	vq_publish(&mem, &vq, 0);
	vq_publish(&mem, &vq, 1);

	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_eq(chain.head, 0);
	cr_assert_eq(q.last_avail_idx, 1);
	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_eq(chain.head, 1);
	cr_assert_eq(pop(), VIRTQ_EMPTY);
	cr_assert_eq(q.last_avail_idx, 2);
}

Test(virtq, avail_index_wrapping_past_65535_is_not_corruption)
{
	put_simple(3);
	q.last_avail_idx = 0xffff;
	gm_put16(&mem, AVAIL_GPA + 4 + 2 * (0xffff % QSIZE), 3);
	vq_set_avail_idx(&mem, &vq, 0);

	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_eq(chain.head, 3);
	cr_assert_eq(q.last_avail_idx, 0);
}

Test(virtq, avail_index_ahead_by_exactly_the_queue_size_is_accepted)
{
	put_simple(0);
	vq_set_avail_idx(&mem, &vq, QSIZE); /* every ring entry is head 0 */
	cr_assert_eq(pop(), VIRTQ_CHAIN);
}

Test(virtq, avail_index_ahead_by_more_than_the_queue_size_is_broken)
{
	put_simple(0);
	vq_set_avail_idx(&mem, &vq, QSIZE + 1);
	cr_assert_eq(pop(), VIRTQ_BROKEN);
	cr_assert_eq(q.last_avail_idx, 0, "a corrupt index consumes nothing");
}

Test(virtq, avail_index_behind_the_device_is_broken)
{
	q.last_avail_idx = 10;
	vq_set_avail_idx(&mem, &vq, 9); /* 65535 entries ahead, modulo 2^16 */
	cr_assert_eq(pop(), VIRTQ_BROKEN);
}

Test(virtq, head_index_equal_to_the_queue_size_is_broken)
{
	vq_publish(&mem, &vq, QSIZE);
	cr_assert_eq(pop(), VIRTQ_BROKEN);
}

Test(virtq, head_index_0xffff_is_broken)
{
	vq_publish(&mem, &vq, 0xffff);
	cr_assert_eq(pop(), VIRTQ_BROKEN);
}

Test(virtq, avail_ring_outside_ram_is_broken)
{
	q.avail_gpa = RAM_SIZE;
	cr_assert_eq(pop(), VIRTQ_BROKEN);
}

/* ---- next indices and chain length ---- */

Test(virtq, next_index_out_of_range_is_a_bad_chain_that_names_its_head)
{
	vq_put_desc(&mem, &vq, 3, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, QSIZE);
	vq_publish(&mem, &vq, 3);

	cr_assert_eq(pop(), VIRTQ_BAD_CHAIN);
	cr_assert_eq(chain.head, 3);
	cr_assert_eq(q.last_avail_idx, 1, "the head is consumed so it can be returned");
}

Test(virtq, two_descriptor_loop_is_a_bad_chain)
{
	vq_put_desc(&mem, &vq, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	vq_put_desc(&mem, &vq, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	vq_publish(&mem, &vq, 0);

	cr_assert_eq(pop(), VIRTQ_BAD_CHAIN);
	cr_assert_eq(chain.head, 0);
}

Test(virtq, descriptor_pointing_at_itself_is_a_bad_chain)
{
	vq_put_desc(&mem, &vq, 7, BUF_GPA, 0, VIRTQ_DESC_F_NEXT, 7);
	vq_publish(&mem, &vq, 7);
	cr_assert_eq(pop(), VIRTQ_BAD_CHAIN);
}

Test(virtq, loop_inside_an_indirect_table_is_a_bad_chain)
{
	q.indirect = true;
	vq_put_desc(&mem, &vq, 0, TABLE_GPA, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	vq_put_desc_at(&mem, TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	vq_put_desc_at(&mem, TABLE_GPA, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	vq_publish(&mem, &vq, 0);
	cr_assert_eq(pop(), VIRTQ_BAD_CHAIN);
}

Test(virtq, chain_through_every_descriptor_of_the_queue_is_accepted)
{
	for (uint16_t i = 0; i < QSIZE; i++)
		vq_put_desc(&mem, &vq, i, BUF_GPA + i, 1,
			    i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	vq_publish(&mem, &vq, 0);

	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_eq(chain.nr, QSIZE);
	cr_assert_eq(chain.readable_len, QSIZE);
}

/* An indirect descriptor at head 0 whose table chains @entries one-byte buffers. */
static void put_long_indirect_chain(unsigned int entries)
{
	q.indirect = true;
	vq_put_desc(&mem, &vq, 0, TABLE_GPA, entries * 16, VIRTQ_DESC_F_INDIRECT, 0);
	for (unsigned int i = 0; i < entries; i++)
		vq_put_desc_at(&mem, TABLE_GPA, i, BUF_GPA, 1,
			       i + 1 < entries ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	vq_publish(&mem, &vq, 0);
}

Test(virtq, chain_of_max_chain_descriptors_is_accepted)
{
	/* The indirect descriptor counts: 1 + (VIRTQ_MAX_CHAIN - 1). */
	put_long_indirect_chain(VIRTQ_MAX_CHAIN - 1);
	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_eq(chain.nr, VIRTQ_MAX_CHAIN - 1);
}

Test(virtq, chain_longer_than_max_chain_is_a_bad_chain)
{
	put_long_indirect_chain(VIRTQ_MAX_CHAIN);
	cr_assert_eq(pop(), VIRTQ_BAD_CHAIN);
	cr_assert_eq(chain.head, 0);
}

/*
 * Indirect tables have no alignment rule (2.7.5.3; 2.7's 16-byte rule is the
 * ring's own table): a SLOB guest's kmalloc() gives 8-byte aligned ones.
 */
static void assert_indirect_table_at_is_walked(uint64_t table)
{
	q.indirect = true;
	vq_put_desc(&mem, &vq, 2, table, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	vq_put_desc_at(&mem, table, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	vq_put_desc_at(&mem, table, 1, BUF_GPA + 0x100, 1, VIRTQ_DESC_F_WRITE, 0);
	vq_publish(&mem, &vq, 2);

	cr_assert_eq(pop(), VIRTQ_CHAIN, "indirect table at 0x%llx", (unsigned long long)table);
	cr_assert_eq(chain.head, 2);
	cr_assert_eq(chain.nr, 2);
	cr_assert_eq(chain.readable_len, 16);
	cr_assert_eq(chain.writable_len, 1);
	assert_seg(1, BUF_GPA + 0x100, 1, true);
}

Test(virtq, indirect_table_8_byte_aligned_is_walked)
{
	assert_indirect_table_at_is_walked(TABLE_GPA + 8);
}

Test(virtq, indirect_table_4_byte_aligned_is_walked)
{
	assert_indirect_table_at_is_walked(TABLE_GPA + 4);
}

Test(virtq, indirect_table_2_byte_aligned_is_walked)
{
	assert_indirect_table_at_is_walked(TABLE_GPA + 2);
}

Test(virtq, direct_descriptors_then_an_indirect_table_are_one_chain)
{
	/* 2.7.5.3.2: zero or more chained descriptors, then one indirect. */
	q.indirect = true;
	vq_put_desc(&mem, &vq, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	vq_put_desc(&mem, &vq, 1, TABLE_GPA + 8, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vq_put_desc_at(&mem, TABLE_GPA + 8, 0, BUF_GPA + 0x100, 1, VIRTQ_DESC_F_WRITE, 0);
	vq_publish(&mem, &vq, 0);
	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_eq(chain.nr, 2);
	cr_assert_eq(chain.writable_len, 1);
}

Test(virtq, bad_chain_that_reaches_its_end_reports_the_final_descriptor)
{
	vq_put_desc(&mem, &vq, 0, RAM_SIZE + 0x1000, 16, VIRTQ_DESC_F_NEXT, 1);
	vq_put_desc(&mem, &vq, 1, BUF_GPA + 0x40, 1, VIRTQ_DESC_F_WRITE, 0);
	vq_publish(&mem, &vq, 0);
	cr_assert_eq(pop(), VIRTQ_BAD_CHAIN);
	cr_assert(chain.has_last);
	cr_assert_eq(chain.last.gpa, BUF_GPA + 0x40);
	cr_assert_eq(chain.last.len, 1);
	cr_assert(chain.last.write);
}

Test(virtq, bad_chain_with_readable_after_writable_reports_the_final_descriptor)
{
	vq_put_desc(&mem, &vq, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	vq_put_desc(&mem, &vq, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	vq_put_desc(&mem, &vq, 2, BUF_GPA + 0x40, 1, VIRTQ_DESC_F_WRITE, 0);
	vq_publish(&mem, &vq, 0);
	cr_assert_eq(pop(), VIRTQ_BAD_CHAIN);
	cr_assert(chain.has_last);
	cr_assert_eq(chain.last.gpa, BUF_GPA + 0x40);
}

Test(virtq, looping_chain_has_no_final_descriptor)
{
	vq_put_desc(&mem, &vq, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	vq_put_desc(&mem, &vq, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	vq_publish(&mem, &vq, 0);
	cr_assert_eq(pop(), VIRTQ_BAD_CHAIN);
	cr_assert_not(chain.has_last);
}

Test(virtq, good_chain_reports_its_final_descriptor)
{
	put_simple(4);
	vq_publish(&mem, &vq, 4);
	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert(chain.has_last);
	cr_assert_eq(chain.last.gpa, BUF_GPA);
}

/* ---- addresses ---- */

static enum virtq_pop_result pop_one_descriptor(uint64_t addr, uint32_t len)
{
	vq_put_desc(&mem, &vq, 0, addr, len, 0, 0);
	vq_publish(&mem, &vq, 0);
	return pop();
}

Test(virtq, descriptor_outside_ram_is_a_bad_chain)
{
	cr_assert_eq(pop_one_descriptor(RAM_SIZE + 0x1000, 16), VIRTQ_BAD_CHAIN);
}

Test(virtq, descriptor_crossing_the_end_of_ram_is_a_bad_chain)
{
	cr_assert_eq(pop_one_descriptor(RAM_SIZE - 8, 16), VIRTQ_BAD_CHAIN);
}

Test(virtq, descriptor_ending_exactly_at_the_end_of_ram_is_accepted)
{
	cr_assert_eq(pop_one_descriptor(RAM_SIZE - 16, 16), VIRTQ_CHAIN);
}

Test(virtq, descriptor_whose_length_overflows_the_address_is_a_bad_chain)
{
	cr_assert_eq(pop_one_descriptor(UINT64_MAX - 7, 16), VIRTQ_BAD_CHAIN);
	cr_assert_eq(pop_one_descriptor(UINT64_MAX, UINT32_MAX), VIRTQ_BAD_CHAIN);
}

Test(virtq, descriptor_crossing_from_one_ram_region_into_the_next_is_a_bad_chain)
{
	/* Contiguous in GPA space, separate host buffers: [0, 1M) and [1M, 2M). */
	uint8_t *high = aligned_alloc(4096, 1 << 20);
	struct guest_mem two;

	cr_assert_not_null(high);
	memset(&two, 0, sizeof(two));
	two.regions[0] = (struct guest_region){ .gpa = 0, .size = 1 << 20, .host = ram };
	two.regions[1] = (struct guest_region){ .gpa = 1 << 20, .size = 1 << 20, .host = high };
	two.nr_regions = 2;
	two.total_size = 2 << 20;

	vq_put_desc(&two, &vq, 0, (1 << 20) - 8, 16, 0, 0);
	vq_put_desc(&two, &vq, 1, (1 << 20) - 8, 8, VIRTQ_DESC_F_NEXT, 2);
	vq_put_desc(&two, &vq, 2, 1 << 20, 8, 0, 0);
	vq_publish(&two, &vq, 0);
	vq_publish(&two, &vq, 1);

	cr_assert_eq(virtq_pop(&q, &two, &chain), VIRTQ_BAD_CHAIN);
	cr_assert_eq(virtq_pop(&q, &two, &chain), VIRTQ_CHAIN,
		     "the same bytes as two descriptors, one per region, are fine");
	cr_assert_eq(chain.nr, 2);
	free(high);
}

Test(virtq, zero_length_descriptors_are_accepted_and_add_no_bytes)
{
	vq_put_desc(&mem, &vq, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	vq_put_desc(&mem, &vq, 1, BUF_GPA, 0, VIRTQ_DESC_F_NEXT, 2);
	vq_put_desc(&mem, &vq, 2, BUF_GPA + 0x1000, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	vq_put_desc(&mem, &vq, 3, BUF_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	vq_publish(&mem, &vq, 0);

	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_eq(chain.readable_len, 16);
	cr_assert_eq(chain.writable_len, 1);
	cr_assert_eq(chain.nr_readable, 2);
}

Test(virtq, chain_totalling_more_than_4_gib_is_a_bad_chain)
{
	/* 8 MiB of address space, never touched beyond the rings: 600 x 8 MiB > 4 GiB. */
	const uint64_t size = 8ULL << 20;
	uint8_t *big = mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct guest_mem m;

	cr_assert_neq(big, MAP_FAILED);
	cr_assert_eq(guest_mem_init_view(&m, 0, big, size), 0);
	q.indirect = true;
	vq_put_desc(&m, &vq, 0, TABLE_GPA, 600 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	for (unsigned int i = 0; i < 600; i++)
		vq_put_desc_at(&m, TABLE_GPA, i, 0, (uint32_t)size,
			       i + 1 < 600 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	vq_publish(&m, &vq, 0);

	cr_assert_eq(virtq_pop(&q, &m, &chain), VIRTQ_BAD_CHAIN);
	munmap(big, size);
}

/* ---- direction ---- */

Test(virtq, readable_after_writable_is_a_bad_chain)
{
	vq_put_desc(&mem, &vq, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	vq_put_desc(&mem, &vq, 1, BUF_GPA, 16, 0, 0);
	vq_publish(&mem, &vq, 0);
	cr_assert_eq(pop(), VIRTQ_BAD_CHAIN);
}

Test(virtq, chain_of_only_writable_descriptors_is_accepted)
{
	vq_put_desc(&mem, &vq, 0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
	vq_publish(&mem, &vq, 0);
	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_eq(chain.nr_readable, 0);
	cr_assert_eq(chain.writable_len, 16);
}

/* ---- indirect tables ---- */

Test(virtq, indirect_descriptor_without_the_feature_is_a_bad_chain)
{
	vq_put_desc(&mem, &vq, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vq_put_desc_at(&mem, TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	vq_publish(&mem, &vq, 0);
	cr_assert_eq(pop(), VIRTQ_BAD_CHAIN);
}

Test(virtq, indirect_table_supplies_the_segments)
{
	q.indirect = true;
	vq_put_desc(&mem, &vq, 4, TABLE_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	vq_put_desc_at(&mem, TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	vq_put_desc_at(&mem, TABLE_GPA, 2, BUF_GPA + 0x1000, 512,
		       VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	vq_put_desc_at(&mem, TABLE_GPA, 1, BUF_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	vq_publish(&mem, &vq, 4);

	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_eq(chain.head, 4);
	cr_assert_eq(chain.nr, 3);
	assert_seg(0, BUF_GPA, 16, false);
	assert_seg(1, BUF_GPA + 0x1000, 512, true);
	assert_seg(2, BUF_GPA + 0x2000, 1, true);
}

Test(virtq, direct_descriptors_may_precede_an_indirect_one)
{
	q.indirect = true;
	vq_put_desc(&mem, &vq, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	vq_put_desc(&mem, &vq, 1, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vq_put_desc_at(&mem, TABLE_GPA, 0, BUF_GPA + 0x1000, 1, VIRTQ_DESC_F_WRITE, 0);
	vq_publish(&mem, &vq, 0);

	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_eq(chain.nr, 2);
	assert_seg(0, BUF_GPA, 16, false);
	assert_seg(1, BUF_GPA + 0x1000, 1, true);
}

Test(virtq, write_flag_on_the_indirect_descriptor_itself_is_ignored)
{
	q.indirect = true;
	vq_put_desc(&mem, &vq, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	vq_put_desc_at(&mem, TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	vq_publish(&mem, &vq, 0);

	cr_assert_eq(pop(), VIRTQ_CHAIN);
	assert_seg(0, BUF_GPA, 16, false);
}

Test(virtq, nested_indirect_table_is_a_bad_chain)
{
	q.indirect = true;
	vq_put_desc(&mem, &vq, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vq_put_desc_at(&mem, TABLE_GPA, 0, TABLE_GPA + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vq_put_desc_at(&mem, TABLE_GPA + 0x100, 0, BUF_GPA, 16, 0, 0);
	vq_publish(&mem, &vq, 0);
	cr_assert_eq(pop(), VIRTQ_BAD_CHAIN);
}

Test(virtq, indirect_descriptor_with_next_is_a_bad_chain)
{
	q.indirect = true;
	vq_put_desc(&mem, &vq, 0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	vq_put_desc(&mem, &vq, 1, BUF_GPA, 16, 0, 0);
	vq_put_desc_at(&mem, TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	vq_publish(&mem, &vq, 0);
	cr_assert_eq(pop(), VIRTQ_BAD_CHAIN);
}

static enum virtq_pop_result pop_indirect(uint64_t table, uint32_t len)
{
	q.indirect = true;
	vq_put_desc(&mem, &vq, 0, table, len, VIRTQ_DESC_F_INDIRECT, 0);
	vq_publish(&mem, &vq, 0);
	return pop();
}

Test(virtq, indirect_table_length_not_a_multiple_of_16_is_a_bad_chain)
{
	vq_put_desc_at(&mem, TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	cr_assert_eq(pop_indirect(TABLE_GPA, 24), VIRTQ_BAD_CHAIN);
}

Test(virtq, indirect_table_of_length_zero_is_a_bad_chain)
{
	cr_assert_eq(pop_indirect(TABLE_GPA, 0), VIRTQ_BAD_CHAIN);
}

Test(virtq, indirect_table_above_max_chain_entries_is_a_bad_chain)
{
	vq_put_desc_at(&mem, TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	cr_assert_eq(pop_indirect(TABLE_GPA, (VIRTQ_MAX_CHAIN + 1) * 16), VIRTQ_BAD_CHAIN);
}

Test(virtq, indirect_table_outside_ram_is_a_bad_chain)
{
	cr_assert_eq(pop_indirect(RAM_SIZE, 16), VIRTQ_BAD_CHAIN);
}

Test(virtq, indirect_table_crossing_the_end_of_ram_is_a_bad_chain)
{
	vq_put_desc_at(&mem, RAM_SIZE - 16, 0, BUF_GPA, 16, 0, 0);
	cr_assert_eq(pop_indirect(RAM_SIZE - 16, 32), VIRTQ_BAD_CHAIN);
}

Test(virtq, next_index_beyond_the_indirect_table_is_a_bad_chain)
{
	vq_put_desc_at(&mem, TABLE_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	vq_put_desc_at(&mem, TABLE_GPA, 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	vq_put_desc_at(&mem, TABLE_GPA, 2, BUF_GPA, 16, 0, 0); /* in RAM, not in the table */
	cr_assert_eq(pop_indirect(TABLE_GPA, 2 * 16), VIRTQ_BAD_CHAIN);
}

Test(virtq, bad_chain_leaves_the_queue_usable)
{
	vq_put_desc(&mem, &vq, 0, RAM_SIZE, 16, 0, 0);
	put_simple(1);
	vq_publish(&mem, &vq, 0);
	vq_publish(&mem, &vq, 1);

	cr_assert_eq(pop(), VIRTQ_BAD_CHAIN);
	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_eq(chain.head, 1);
}

/* ---- virtq_valid: the layout a driver may enable ---- */

Test(virtq_valid, aligned_rings_inside_ram_are_valid)
{
	cr_assert(virtq_valid(&q, &mem));
	q.size = VIRTQ_MAX_SIZE;
	cr_assert(virtq_valid(&q, &mem));
	q.size = 1;
	cr_assert(virtq_valid(&q, &mem));
}

Test(virtq_valid, size_that_is_not_a_power_of_two_is_invalid)
{
	q.size = 12;
	cr_assert_not(virtq_valid(&q, &mem));
}

Test(virtq_valid, size_zero_is_invalid)
{
	q.size = 0;
	cr_assert_not(virtq_valid(&q, &mem));
}

Test(virtq_valid, size_above_256_is_invalid)
{
	q.size = 512;
	cr_assert_not(virtq_valid(&q, &mem));
}

Test(virtq_valid, descriptor_table_not_16_byte_aligned_is_invalid)
{
	q.desc_gpa = DESC_GPA + 8;
	cr_assert_not(virtq_valid(&q, &mem));
}

Test(virtq_valid, avail_ring_not_2_byte_aligned_is_invalid)
{
	q.avail_gpa = AVAIL_GPA + 1;
	cr_assert_not(virtq_valid(&q, &mem));
	q.avail_gpa = AVAIL_GPA + 2;
	cr_assert(virtq_valid(&q, &mem));
}

Test(virtq_valid, used_ring_not_4_byte_aligned_is_invalid)
{
	q.used_gpa = USED_GPA + 2;
	cr_assert_not(virtq_valid(&q, &mem));
	q.used_gpa = USED_GPA + 4;
	cr_assert(virtq_valid(&q, &mem));
}

Test(virtq_valid, descriptor_table_reaching_beyond_ram_is_invalid)
{
	q.desc_gpa = RAM_SIZE - 16 * QSIZE + 16;
	cr_assert_not(virtq_valid(&q, &mem));
	q.desc_gpa = RAM_SIZE - 16 * QSIZE;
	cr_assert(virtq_valid(&q, &mem));
}

Test(virtq_valid, avail_ring_reaching_beyond_ram_is_invalid)
{
	/* flags, idx, ring[16], used_event: 38 bytes */
	q.avail_gpa = RAM_SIZE - 36;
	cr_assert_not(virtq_valid(&q, &mem));
	q.avail_gpa = RAM_SIZE - 38;
	cr_assert(virtq_valid(&q, &mem));
}

Test(virtq_valid, used_ring_reaching_beyond_ram_is_invalid)
{
	/* flags, idx, ring[16] of 8 bytes, avail_event: 134 bytes */
	q.used_gpa = RAM_SIZE - 132;
	cr_assert_not(virtq_valid(&q, &mem));
	q.used_gpa = RAM_SIZE - 136;
	cr_assert(virtq_valid(&q, &mem));
}

Test(virtq_valid, rings_far_outside_ram_are_invalid)
{
	q.desc_gpa = 0xfffffffffffff000ULL;
	cr_assert_not(virtq_valid(&q, &mem));
}

/* ---- the used ring and interrupts ---- */

Test(virtq_notify, push_writes_id_and_len_and_bumps_the_used_index)
{
	cr_assert_eq(virtq_push(&q, &mem, 7, 513), 0);
	cr_assert_eq(vq_used_idx(&mem, &vq), 1);
	cr_assert_eq(vq_used_id(&mem, &vq, 0), 7);
	cr_assert_eq(vq_used_len(&mem, &vq, 0), 513);
	cr_assert_eq(q.used_idx, 1);
}

Test(virtq_notify, push_wraps_around_the_used_ring)
{
	q.used_idx = QSIZE + 1;
	cr_assert_eq(virtq_push(&q, &mem, 3, 1), 0);
	cr_assert_eq(vq_used_id(&mem, &vq, 1), 3);
	cr_assert_eq(vq_used_idx(&mem, &vq), QSIZE + 2);
}

Test(virtq_notify, push_into_a_used_ring_outside_ram_is_efault)
{
	q.used_gpa = RAM_SIZE;
	cr_assert_eq(virtq_push(&q, &mem, 0, 0), -EFAULT);
	cr_assert_eq(q.used_idx, 0);
}

Test(virtq_notify, without_event_idx_every_push_is_signalled)
{
	virtq_push(&q, &mem, 0, 0);
	cr_assert(virtq_should_signal(&q, &mem));
	virtq_push(&q, &mem, 1, 0);
	cr_assert(virtq_should_signal(&q, &mem));
}

Test(virtq_notify, without_event_idx_no_interrupt_flag_suppresses_the_signal)
{
	vq_set_avail_flags(&mem, &vq, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_push(&q, &mem, 0, 0);
	cr_assert_not(virtq_should_signal(&q, &mem));
}

Test(virtq_notify, with_event_idx_the_first_decision_signals)
{
	q.event_idx = true;
	vq_set_used_event(&mem, &vq, 100);
	virtq_push(&q, &mem, 0, 0);
	cr_assert(virtq_should_signal(&q, &mem));
}

Test(virtq_notify, with_event_idx_signal_only_once_used_passes_used_event)
{
	q.event_idx = true;
	virtq_push(&q, &mem, 0, 0);
	cr_assert(virtq_should_signal(&q, &mem)); /* used 1 */

	vq_set_used_event(&mem, &vq, 2); /* interrupt when entry 2 is used: used_idx 3 */
	virtq_push(&q, &mem, 1, 0);
	cr_assert_not(virtq_should_signal(&q, &mem), "used 2 has not passed used_event 2");
	virtq_push(&q, &mem, 2, 0);
	cr_assert(virtq_should_signal(&q, &mem), "used 3 passed used_event 2");
	virtq_push(&q, &mem, 3, 0);
	cr_assert_not(virtq_should_signal(&q, &mem), "already signalled past used_event");
}

Test(virtq_notify, with_event_idx_several_pushes_passing_used_event_signal_once)
{
	q.event_idx = true;
	virtq_push(&q, &mem, 0, 0);
	virtq_should_signal(&q, &mem);
	vq_set_used_event(&mem, &vq, 2);
	virtq_push(&q, &mem, 1, 0);
	virtq_push(&q, &mem, 2, 0);
	virtq_push(&q, &mem, 3, 0);
	cr_assert(virtq_should_signal(&q, &mem));
}

Test(virtq_notify, with_event_idx_the_comparison_wraps_at_65536)
{
	q.event_idx = true;
	q.used_idx = 0xfffe;
	virtq_should_signal(&q, &mem); /* signalled at 0xfffe */
	vq_set_used_event(&mem, &vq, 0xffff);
	virtq_push(&q, &mem, 0, 0); /* 0xffff */
	virtq_push(&q, &mem, 1, 0); /* 0x0000 */
	virtq_push(&q, &mem, 2, 0); /* 0x0001 */
	cr_assert(virtq_should_signal(&q, &mem));
}

Test(virtq_notify, with_event_idx_no_interrupt_flag_is_ignored)
{
	q.event_idx = true;
	vq_set_avail_flags(&mem, &vq, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_push(&q, &mem, 0, 0);
	cr_assert(virtq_should_signal(&q, &mem));
}

Test(virtq_notify, enable_notify_writes_avail_event)
{
	q.event_idx = true;
	put_simple(0);
	vq_publish(&mem, &vq, 0);
	vq_publish(&mem, &vq, 0);
	pop();
	pop();
	cr_assert_not(virtq_enable_notify(&q, &mem));
	cr_assert_eq(vq_avail_event(&mem, &vq), 2);
}

Test(virtq_notify, enable_notify_without_event_idx_leaves_avail_event_alone)
{
	gm_put16(&mem, USED_GPA + 4 + 8 * QSIZE, 0x5555);
	q.last_avail_idx = 3;
	vq_set_avail_idx(&mem, &vq, 3);
	cr_assert_not(virtq_enable_notify(&q, &mem));
	cr_assert_eq(vq_avail_event(&mem, &vq), 0x5555);
}

Test(virtq_notify, enable_notify_reports_buffers_that_raced_in)
{
	q.event_idx = true;
	put_simple(0);
	vq_publish(&mem, &vq, 0);
	cr_assert_eq(pop(), VIRTQ_CHAIN);
	vq_publish(&mem, &vq, 0); /* the driver adds one before looking at avail_event */
	cr_assert(virtq_enable_notify(&q, &mem));
	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_not(virtq_enable_notify(&q, &mem));
}

Test(virtq_notify, enable_notify_on_a_queue_not_ready_is_false)
{
	vq_set_avail_idx(&mem, &vq, 1);
	q.ready = false;
	cr_assert_not(virtq_enable_notify(&q, &mem));
}

/* ---- copying over a chain's halves ---- */

/* Readable 4 + 8 + 16 bytes, writable 10 + 6 bytes, each in its own page. */
static void pop_copy_chain(void)
{
	static const uint32_t lens[] = { 4, 8, 16, 10, 6 };

	for (uint16_t i = 0; i < 5; i++) {
		uint16_t flags = (i < 4 ? VIRTQ_DESC_F_NEXT : 0) | (i >= 3 ? VIRTQ_DESC_F_WRITE : 0);

		vq_put_desc(&mem, &vq, i, BUF_GPA + 0x1000ULL * i, lens[i], flags,
			    (uint16_t)(i + 1));
		for (uint32_t b = 0; b < lens[i]; b++)
			ram[BUF_GPA + 0x1000ULL * i + b] = (uint8_t)(0x10 * (i + 1) + b);
	}
	vq_publish(&mem, &vq, 0);
	cr_assert_eq(pop(), VIRTQ_CHAIN);
	cr_assert_eq(chain.readable_len, 28);
	cr_assert_eq(chain.writable_len, 16);
}

Test(virtq_copy, read_concatenates_the_readable_segments)
{
	uint8_t out[28], want[28];

	pop_copy_chain();
	memcpy(want, ram + BUF_GPA, 4);
	memcpy(want + 4, ram + BUF_GPA + 0x1000, 8);
	memcpy(want + 12, ram + BUF_GPA + 0x2000, 16);
	cr_assert_eq(virtq_chain_read(&chain, &mem, 0, out, sizeof(out)), 28);
	cr_assert_arr_eq(out, want, sizeof(want));
}

Test(virtq_copy, read_from_an_offset_spans_segments)
{
	uint8_t out[10];

	pop_copy_chain();
	cr_assert_eq(virtq_chain_read(&chain, &mem, 6, out, sizeof(out)), 10);
	cr_assert_arr_eq(out, ram + BUF_GPA + 0x1000 + 2, 6);
	cr_assert_arr_eq(out + 6, ram + BUF_GPA + 0x2000, 4);
}

Test(virtq_copy, read_is_short_at_the_end_of_the_readable_half)
{
	uint8_t out[100];

	pop_copy_chain();
	cr_assert_eq(virtq_chain_read(&chain, &mem, 20, out, sizeof(out)), 8,
		     "never reads into the writable half");
	cr_assert_arr_eq(out, ram + BUF_GPA + 0x2000 + 8, 8);
	cr_assert_eq(virtq_chain_read(&chain, &mem, 28, out, sizeof(out)), 0);
	cr_assert_eq(virtq_chain_read(&chain, &mem, 1000, out, sizeof(out)), 0);
}

Test(virtq_copy, write_fills_only_the_writable_half)
{
	uint8_t in[16], readable_before[16];

	pop_copy_chain();
	memcpy(readable_before, ram + BUF_GPA + 0x2000, 16);
	for (unsigned int i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(0xc0 + i);
	cr_assert_eq(virtq_chain_write(&chain, &mem, 0, in, sizeof(in)), 16);
	cr_assert_arr_eq(ram + BUF_GPA + 0x3000, in, 10);
	cr_assert_arr_eq(ram + BUF_GPA + 0x4000, in + 10, 6);
	cr_assert_arr_eq(ram + BUF_GPA + 0x2000, readable_before, 16);
}

Test(virtq_copy, write_from_an_offset_is_short_at_the_end)
{
	uint8_t in[32];

	pop_copy_chain();
	memset(in, 0xee, sizeof(in));
	cr_assert_eq(virtq_chain_write(&chain, &mem, 8, in, sizeof(in)), 8);
	cr_assert_eq(ram[BUF_GPA + 0x3000 + 7], 0x10 * 4 + 7, "byte before the offset untouched");
	cr_assert_eq(ram[BUF_GPA + 0x3000 + 8], 0xee);
	cr_assert_eq(ram[BUF_GPA + 0x4000 + 5], 0xee);
	cr_assert_eq(ram[BUF_GPA + 0x4000 + 6], 0, "nothing past the last segment");
}

Test(virtq_copy, iov_maps_a_range_across_segments)
{
	struct iovec iov[8];

	pop_copy_chain();
	cr_assert_eq(virtq_chain_iov(&chain, &mem, false, 2, 20, iov, 8), 3);
	cr_assert_eq(iov[0].iov_base, ram + BUF_GPA + 2);
	cr_assert_eq(iov[0].iov_len, 2);
	cr_assert_eq(iov[1].iov_base, ram + BUF_GPA + 0x1000);
	cr_assert_eq(iov[1].iov_len, 8);
	cr_assert_eq(iov[2].iov_base, ram + BUF_GPA + 0x2000);
	cr_assert_eq(iov[2].iov_len, 10);

	cr_assert_eq(virtq_chain_iov(&chain, &mem, true, 0, 16, iov, 8), 2);
	cr_assert_eq(iov[0].iov_base, ram + BUF_GPA + 0x3000);
	cr_assert_eq(iov[1].iov_len, 6);
}

Test(virtq_copy, iov_for_more_than_the_half_holds_is_einval)
{
	struct iovec iov[8];

	pop_copy_chain();
	cr_assert_eq(virtq_chain_iov(&chain, &mem, false, 0, 29, iov, 8), -EINVAL);
	cr_assert_eq(virtq_chain_iov(&chain, &mem, true, 1, 16, iov, 8), -EINVAL);
}

Test(virtq_copy, iov_with_too_few_entries_is_e2big)
{
	struct iovec iov[2];

	pop_copy_chain();
	cr_assert_eq(virtq_chain_iov(&chain, &mem, false, 0, 28, iov, 2), -E2BIG);
}

Test(virtq_copy, copy_over_a_segment_outside_ram_is_efault)
{
	uint8_t buf[8];
	struct iovec iov[1];

	chain.nr = chain.nr_readable = 1;
	chain.readable_len = 8;
	chain.segs[0] = (struct virtq_seg){ .gpa = RAM_SIZE, .len = 8, .write = false };
	cr_assert_eq(virtq_chain_read(&chain, &mem, 0, buf, 8), -EFAULT);
	cr_assert_eq(virtq_chain_iov(&chain, &mem, false, 0, 8, iov, 1), -EFAULT);
}

/* ---- save and restore ---- */

Test(virtq_state, save_then_restore_round_trips_every_field)
{
	struct virtq_state st;
	struct virtq back;

	q.event_idx = true;
	q.indirect = true;
	q.last_avail_idx = 1234;
	q.used_idx = 1230;
	q.signalled_used = 1229;
	q.signalled_used_valid = true;
	virtq_save(&q, &st);
	memset(&back, 0xa5, sizeof(back));

	cr_assert_eq(virtq_restore(&back, &st, &mem), 0);
	cr_assert_eq(back.size, QSIZE);
	cr_assert(back.ready);
	cr_assert_eq(back.desc_gpa, DESC_GPA);
	cr_assert_eq(back.avail_gpa, AVAIL_GPA);
	cr_assert_eq(back.used_gpa, USED_GPA);
	cr_assert(back.event_idx);
	cr_assert(back.indirect);
	cr_assert_eq(back.last_avail_idx, 1234);
	cr_assert_eq(back.used_idx, 1230);
	cr_assert_eq(back.signalled_used, 1229);
	cr_assert(back.signalled_used_valid);
}

Test(virtq_state, restore_rejects_sizes_a_driver_cannot_set)
{
	static const uint16_t bad[] = { 0, 3, 12, 512, 0xffff };
	struct virtq_state st;
	struct virtq back = q;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		virtq_save(&q, &st);
		st.size = bad[i];
		st.ready = 0;
		cr_assert_eq(virtq_restore(&back, &st, &mem), -EINVAL, "size %u", bad[i]);
		cr_assert_eq(back.size, QSIZE, "a refused state changes nothing");
	}
}

Test(virtq_state, restore_rejects_a_ready_queue_with_invalid_rings)
{
	struct virtq_state st;
	struct virtq back = q;

	virtq_save(&q, &st);
	st.desc_gpa = DESC_GPA + 8;
	cr_assert_eq(virtq_restore(&back, &st, &mem), -EINVAL);
	virtq_save(&q, &st);
	st.used_gpa = RAM_SIZE;
	cr_assert_eq(virtq_restore(&back, &st, &mem), -EINVAL);
	cr_assert_eq(back.desc_gpa, DESC_GPA);
	cr_assert_eq(back.used_gpa, USED_GPA);
}

Test(virtq_state, restore_accepts_a_queue_not_ready_whose_rings_are_unset)
{
	struct virtq_state st;
	struct virtq back;

	virtq_reset(&q);
	virtq_save(&q, &st);
	cr_assert_eq(virtq_restore(&back, &st, &mem), 0);
	cr_assert_not(back.ready);
	cr_assert_eq(back.size, VIRTQ_MAX_SIZE);
}

Test(virtq_state, reset_returns_to_the_power_on_state)
{
	q.event_idx = q.indirect = true;
	q.last_avail_idx = q.used_idx = q.signalled_used = 9;
	q.signalled_used_valid = true;
	virtq_reset(&q);

	cr_assert_not(q.ready);
	cr_assert_eq(q.size, VIRTQ_MAX_SIZE);
	cr_assert_eq(q.desc_gpa + q.avail_gpa + q.used_gpa, 0);
	cr_assert_eq(q.last_avail_idx + q.used_idx + q.signalled_used, 0);
	cr_assert_not(q.signalled_used_valid);
	cr_assert_not(q.event_idx, "features are renegotiated after a reset");
	cr_assert_not(q.indirect);
}

/* ---- dirty tracking: every device write to guest RAM marks its page ---- */

static void track(void)
{
	cr_assert_eq(guest_mem_track_dirty(&mem), 0);
}

static void untrack(void)
{
	dirty_bitmap_free(mem.dirty);
	free(mem.dirty);
	mem.dirty = NULL;
}

static bool dirty_page(uint64_t gpa)
{
	return dirty_bitmap_test(mem.dirty, gpa / DIRTY_PAGE_SIZE);
}

static unsigned int nr_dirty(void)
{
	unsigned int n = 0;

	for (uint64_t p = 0; p < mem.dirty->nr_pages; p++)
		n += dirty_bitmap_test(mem.dirty, p);
	return n;
}

Test(virtq_copy, push_marks_the_used_ring_page_only)
{
	track();
	cr_assert_eq(virtq_push(&q, &mem, 7, 513), 0);
	cr_assert(dirty_page(USED_GPA));
	cr_assert_eq(nr_dirty(), 1);
	untrack();
}

Test(virtq_copy, chain_write_marks_the_pages_written_and_reads_mark_none)
{
	uint8_t buf[28];

	pop_copy_chain();
	track();
	cr_assert_eq(virtq_chain_read(&chain, &mem, 0, buf, sizeof(buf)), 28);
	cr_assert_eq(nr_dirty(), 0, "reading the readable half marks nothing");
	cr_assert_eq(virtq_chain_write(&chain, &mem, 0, buf, 12), 12);
	cr_assert(dirty_page(BUF_GPA + 0x3000));
	cr_assert(dirty_page(BUF_GPA + 0x4000));
	cr_assert_eq(nr_dirty(), 2);
	untrack();
}

Test(virtq_copy, a_writable_iov_marks_its_pages_a_readable_one_does_not)
{
	struct iovec iov[8];

	pop_copy_chain();
	track();
	cr_assert_eq(virtq_chain_iov(&chain, &mem, false, 0, 28, iov, 8), 3);
	cr_assert_eq(nr_dirty(), 0);
	cr_assert_eq(virtq_chain_iov(&chain, &mem, true, 0, 16, iov, 8), 2);
	cr_assert(dirty_page(BUF_GPA + 0x3000));
	cr_assert(dirty_page(BUF_GPA + 0x4000));
	cr_assert_eq(nr_dirty(), 2);
	untrack();
}

Test(virtq_copy, enable_notify_with_event_idx_marks_the_avail_event_page)
{
	q.event_idx = true;
	track();
	virtq_enable_notify(&q, &mem);
	cr_assert(dirty_page(USED_GPA));
	cr_assert_eq(nr_dirty(), 1);
	untrack();
}
