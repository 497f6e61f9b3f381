/* SPDX-License-Identifier: Apache-2.0 */
/* The x86_64 RAM layout around the 32-bit MMIO gap. */
#include <criterion/criterion.h>

#include "vmm/arch/x86_64/layout.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

Test(layout, ram_below_3g_is_one_range_from_zero)
{
	struct guest_range r[2];

	cr_assert_eq(x86_memory_ranges(128 * MiB, r), 1);
	cr_assert_eq(r[0].gpa, 0);
	cr_assert_eq(r[0].size, 128 * MiB);
}

Test(layout, ram_of_exactly_3g_is_one_range_ending_at_the_mmio_gap)
{
	struct guest_range r[2];

	cr_assert_eq(x86_memory_ranges(3 * GiB, r), 1);
	cr_assert_eq(r[0].gpa, 0);
	cr_assert_eq(r[0].size, MMIO_GAP_START);
}

Test(layout, ram_above_3g_continues_at_4g)
{
	struct guest_range r[2];

	cr_assert_eq(x86_memory_ranges(3 * GiB + 512 * MiB, r), 2);
	cr_assert_eq(r[0].gpa, 0);
	cr_assert_eq(r[0].size, 3 * GiB);
	cr_assert_eq(r[1].gpa, 4 * GiB);
	cr_assert_eq(r[1].size, 512 * MiB);
}

Test(layout, ranges_never_overlap_the_mmio_gap)
{
	struct guest_range r[2];
	unsigned int n = x86_memory_ranges(16 * GiB, r);

	cr_assert_eq(n, 2);
	cr_assert_leq(r[0].gpa + r[0].size, MMIO_GAP_START);
	cr_assert_geq(r[1].gpa, MMIO_GAP_END);
	cr_assert_eq(r[0].size + r[1].size, 16 * GiB);
}
