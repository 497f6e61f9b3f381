/* SPDX-License-Identifier: Apache-2.0 */
/* Bus windows: registration rules and dispatch of guest accesses. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vmm/kvm/bus.h"

/* A device that records the last access it saw. */
struct probe {
	unsigned int reads, writes;
	uint64_t offset;
	uint32_t len;
	uint8_t written[8];
};

static void probe_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct probe *p = dev;

	p->reads++;
	p->offset = offset;
	p->len = len;
	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)(0x10 + offset + i);
}

static void probe_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct probe *p = dev;

	p->writes++;
	p->offset = offset;
	p->len = len;
	memcpy(p->written, data, len);
}

static const struct bus_device_ops probe_ops = { .read = probe_read, .write = probe_write };
static const struct bus_device_ops write_only_ops = { .write = probe_write };

static struct bus bus;
static struct probe com1, com2;

static void bus_setup(void)
{
	memset(&bus, 0, sizeof(bus));
	memset(&com1, 0, sizeof(com1));
	memset(&com2, 0, sizeof(com2));
	cr_assert_eq(bus_register(&bus, 0x3f8, 8, &probe_ops, &com1), 0);
}

TestSuite(bus, .init = bus_setup);

Test(bus, overlapping_window_is_refused)
{
	cr_assert_eq(bus_register(&bus, 0x3fc, 8, &probe_ops, &com2), -EEXIST, "tail overlap");
	cr_assert_eq(bus_register(&bus, 0x3f0, 9, &probe_ops, &com2), -EEXIST, "head overlap");
	cr_assert_eq(bus_register(&bus, 0x3f9, 1, &probe_ops, &com2), -EEXIST, "inside");
	cr_assert_eq(bus_register(&bus, 0x300, 0x200, &probe_ops, &com2), -EEXIST, "around");
	cr_assert_eq(bus.nr, 1);
}

Test(bus, adjacent_windows_are_accepted)
{
	cr_assert_eq(bus_register(&bus, 0x400, 8, &probe_ops, &com2), 0);
	cr_assert_eq(bus_register(&bus, 0x3f0, 8, &probe_ops, &com2), 0);
	cr_assert_eq(bus.nr, 3);
}

Test(bus, empty_wrapping_or_opless_windows_are_invalid)
{
	cr_assert_eq(bus_register(&bus, 0x1000, 0, &probe_ops, &com2), -EINVAL);
	cr_assert_eq(bus_register(&bus, UINT64_MAX - 3, 8, &probe_ops, &com2), -EINVAL);
	cr_assert_eq(bus_register(&bus, 0x1000, 8, NULL, &com2), -EINVAL);
}

Test(bus, read_is_dispatched_with_an_offset_from_the_base)
{
	uint8_t data[2] = { 0 };

	cr_assert(bus_read(&bus, 0x3fd, data, 2));
	cr_assert_eq(com1.reads, 1);
	cr_assert_eq(com1.offset, 5);
	cr_assert_eq(com1.len, 2);
	cr_assert_eq(data[0], 0x15);
	cr_assert_eq(data[1], 0x16);
}

Test(bus, write_is_dispatched_with_an_offset_from_the_base)
{
	const uint8_t data[4] = { 1, 2, 3, 4 };

	cr_assert(bus_write(&bus, 0x3f8, data, 4));
	cr_assert_eq(com1.writes, 1);
	cr_assert_eq(com1.offset, 0);
	cr_assert_eq(com1.len, 4);
	cr_assert_eq(memcmp(com1.written, data, 4), 0);
}

Test(bus, access_goes_to_the_window_that_covers_it)
{
	uint8_t b = 0x42;

	cr_assert_eq(bus_register(&bus, 0x2f8, 8, &probe_ops, &com2), 0);
	cr_assert(bus_write(&bus, 0x2ff, &b, 1));
	cr_assert_eq(com2.writes, 1);
	cr_assert_eq(com2.offset, 7);
	cr_assert_eq(com1.writes, 0);
}

Test(bus, access_straddling_the_window_end_is_not_dispatched)
{
	uint8_t data[4] = { 0 };

	cr_assert_not(bus_write(&bus, 0x3fe, data, 4));
	cr_assert_not(bus_read(&bus, 0x3ff, data, 2));
	cr_assert_eq(com1.reads + com1.writes, 0);
}

Test(bus, unhandled_read_returns_all_ones)
{
	uint8_t data[4] = { 0 };

	cr_assert_not(bus_read(&bus, 0x80, data, 4));
	for (int i = 0; i < 4; i++)
		cr_assert_eq(data[i], 0xff);
}

Test(bus, unhandled_write_is_reported)
{
	uint8_t b = 0;

	cr_assert_not(bus_write(&bus, 0x80, &b, 1));
}

Test(bus, access_at_the_top_of_the_address_space_does_not_wrap)
{
	uint8_t data[8];

	cr_assert_eq(bus_register(&bus, 0, 0x10, &probe_ops, &com2), 0);
	cr_assert_not(bus_read(&bus, UINT64_MAX - 3, data, 8));
	cr_assert_eq(com2.reads, 0);
}

Test(bus, window_without_a_read_op_reads_all_ones_but_is_handled)
{
	uint8_t data[2] = { 0 };

	cr_assert_eq(bus_register(&bus, 0x80, 1, &write_only_ops, &com2), 0);
	cr_assert(bus_read(&bus, 0x80, data, 1));
	cr_assert_eq(data[0], 0xff);
}

Test(bus, holds_at_most_bus_max_windows)
{
	for (unsigned int i = 1; i < BUS_MAX_WINDOWS; i++)
		cr_assert_eq(bus_register(&bus, 0x1000 * i, 8, &probe_ops, &com2), 0, "window %u", i);
	cr_assert_eq(bus.nr, BUS_MAX_WINDOWS);
	cr_assert_eq(bus_register(&bus, 0x100000, 8, &probe_ops, &com2), -ENOSPC);
}
