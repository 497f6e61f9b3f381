/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Uffd backend's handshake message: what ignis builds parses back to the
 * same regions, and the handler's parser refuses every hostile message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "snapshot/format/uffd_regions.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static char why[256];

static int parse(const char *text, uint64_t file_size, struct uffd_region *out, unsigned int *nr)
{
	why[0] = '\0';
	return uffd_regions_parse(text, strlen(text), file_size, out, UFFD_REGIONS_MAX, nr, why,
				  sizeof(why));
}

/* Parsing @text against @file_size fails and the reason mentions @needle. */
static void refused(const char *text, uint64_t file_size, const char *needle)
{
	struct uffd_region r[UFFD_REGIONS_MAX];
	unsigned int nr = 99;

	cr_assert_eq(parse(text, file_size, r, &nr), -EINVAL, "accepted %s", text);
	cr_assert_eq(nr, 0);
	cr_assert_not_null(strstr(why, needle), "\"%s\" does not mention \"%s\" (%s)", why, needle,
			   text);
}

Test(uffd_regions, built_message_is_firecrackers_format)
{
	struct uffd_region r = { .base_host_virt_addr = 0x7f0000000000, .size = 32 * MIB,
				 .offset = 0, .page_size = 4096 };
	char *text = uffd_regions_to_json(&r, 1);
	json_t *arr = json_loads(text, 0, NULL), *o;

	cr_assert_not_null(arr);
	cr_assert(json_is_array(arr) && json_array_size(arr) == 1);
	o = json_array_get(arr, 0);
	cr_assert_eq(json_object_size(o), 5);
	cr_assert_eq(json_integer_value(json_object_get(o, "base_host_virt_addr")), 0x7f0000000000);
	cr_assert_eq(json_integer_value(json_object_get(o, "size")), 32 * MIB);
	cr_assert_eq(json_integer_value(json_object_get(o, "offset")), 0);
	cr_assert_eq(json_integer_value(json_object_get(o, "page_size")), 4096);
	/* Deprecated, and in bytes despite its name, as Firecracker sends it. */
	cr_assert_eq(json_integer_value(json_object_get(o, "page_size_kib")), 4096);
	json_decref(arr);
	free(text);
}

Test(uffd_regions, two_regions_round_trip)
{
	/* The layout of a 4 GiB guest on 2 MiB pages: 3 GiB below the MMIO gap, 1 GiB above. */
	struct uffd_region in[2] = {
		{ .base_host_virt_addr = 0x7f0000000000, .size = 3 * GIB, .offset = 0,
		  .page_size = UFFD_PAGE_2M },
		{ .base_host_virt_addr = 0x7f00c0000000, .size = 1 * GIB, .offset = 3 * GIB,
		  .page_size = UFFD_PAGE_2M },
	}, out[UFFD_REGIONS_MAX];
	char *text = uffd_regions_to_json(in, 2);
	unsigned int nr;

	cr_assert_not_null(text);
	cr_assert_eq(parse(text, 4 * GIB, out, &nr), 0, "%s", why);
	cr_assert_eq(nr, 2);
	cr_assert_arr_eq(out, in, sizeof(in));
	free(text);
}

Test(uffd_regions, unknown_keys_are_ignored)
{
	struct uffd_region r[1];
	unsigned int nr;

	cr_assert_eq(parse("[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":0,"
			   "\"page_size\":4096,\"future\":true}]", 4096, r, &nr), 0, "%s", why);
	cr_assert_eq(nr, 1);
}

Test(uffd_regions, refuses_what_is_not_an_array_of_regions)
{
	refused("", 4096, "not JSON");
	refused("[{\"size\":4096", 4096, "not JSON");
	refused("{}", 4096, "array");
	refused("[]", 4096, "array");
	refused("[1]", 4096, "non-negative integers");
	refused("[{\"size\":4096,\"offset\":0,\"page_size\":4096}]", 4096, "non-negative integers");
	refused("[{\"base_host_virt_addr\":\"4096\",\"size\":4096,\"offset\":0,\"page_size\":4096}]",
		4096, "non-negative integers");
	refused("[{\"base_host_virt_addr\":4096,\"size\":-4096,\"offset\":0,\"page_size\":4096}]",
		4096, "non-negative integers");
	refused("[{\"base_host_virt_addr\":4096.0,\"size\":4096,\"offset\":0,\"page_size\":4096}]",
		4096, "non-negative integers");
	/* Beyond json_int_t: jansson refuses it while parsing. */
	refused("[{\"base_host_virt_addr\":18446744073709551615,\"size\":4096,\"offset\":0,"
		"\"page_size\":4096}]", 4096, "not JSON");
	refused("[{\"base_host_virt_addr\":0,\"base_host_virt_addr\":4096,\"size\":4096,"
		"\"offset\":0,\"page_size\":4096}]", 4096, "not JSON");
}

Test(uffd_regions, refuses_more_regions_than_the_limit)
{
	size_t cap = (UFFD_REGIONS_MAX + 1) * 100 + 3, len = 1;
	char *text = malloc(cap);

	text[0] = '[';
	for (unsigned int i = 0; i <= UFFD_REGIONS_MAX; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"%s{\"base_host_virt_addr\":%u,\"size\":4096,\"offset\":0,"
					"\"page_size\":4096}", i ? "," : "", (i + 1) * 4096);
	snprintf(text + len, cap - len, "]");
	refused(text, 4096, "1 to 64 regions");
	free(text);
}

Test(uffd_regions, refuses_odd_page_sizes_and_misalignment)
{
	refused("[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":0,\"page_size\":1024}]",
		4096, "page_size 1024");
	refused("[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":0,\"page_size\":0}]",
		4096, "page_size 0");
	refused("[{\"base_host_virt_addr\":4096,\"size\":0,\"offset\":0,\"page_size\":4096}]",
		4096, "non-zero multiples");
	refused("[{\"base_host_virt_addr\":4097,\"size\":4096,\"offset\":0,\"page_size\":4096}]",
		8192, "non-zero multiples");
	refused("[{\"base_host_virt_addr\":4096,\"size\":4095,\"offset\":0,\"page_size\":4096}]",
		8192, "non-zero multiples");
	refused("[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":1,\"page_size\":4096}]",
		8192, "non-zero multiples");
	/* 4 KiB-aligned but not 2 MiB-aligned for a hugepage region. */
	refused("[{\"base_host_virt_addr\":4096,\"size\":2097152,\"offset\":0,\"page_size\":2097152}]",
		4 * MIB, "non-zero multiples");
}

Test(uffd_regions, refuses_ranges_outside_the_file)
{
	struct uffd_region r[1];
	unsigned int nr;

	refused("[{\"base_host_virt_addr\":4096,\"size\":8192,\"offset\":0,\"page_size\":4096}]",
		4096, "of the memory file, which has 4096");
	refused("[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":4096,\"page_size\":4096}]",
		4096, "of the memory file");
	refused("[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":9223372036854771712,"
		"\"page_size\":4096}]", 8192, "of the memory file");
	/* Huge values one page past the end of an equally huge file. */
	refused("[{\"base_host_virt_addr\":4096,\"size\":9223372036854771712,"
		"\"offset\":9223372036854771712,\"page_size\":4096}]",
		2 * 9223372036854771712ULL - 4096, "of the memory file");
	/* Ending exactly at the end of the file is fine. */
	cr_assert_eq(parse("[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":4096,"
			   "\"page_size\":4096}]", 8192, r, &nr), 0, "%s", why);
}

Test(uffd_regions, refuses_overlapping_regions)
{
	refused("[{\"base_host_virt_addr\":4096,\"size\":8192,\"offset\":0,\"page_size\":4096},"
		"{\"base_host_virt_addr\":8192,\"size\":4096,\"offset\":0,\"page_size\":4096}]",
		8192, "regions 0 and 1 overlap");
}

Test(uffd_regions, find_maps_addresses_to_their_region_only)
{
	struct uffd_region r[2] = {
		{ .base_host_virt_addr = 0x10000, .size = 0x2000, .page_size = 4096 },
		{ .base_host_virt_addr = 0x20000, .size = 0x1000, .offset = 0x2000, .page_size = 4096 },
	};

	cr_assert_eq(uffd_regions_find(r, 2, 0x10000), &r[0]);
	cr_assert_eq(uffd_regions_find(r, 2, 0x11fff), &r[0]);
	cr_assert_null(uffd_regions_find(r, 2, 0x12000));
	cr_assert_null(uffd_regions_find(r, 2, 0xffff));
	cr_assert_eq(uffd_regions_find(r, 2, 0x20fff), &r[1]);
	cr_assert_null(uffd_regions_find(r, 2, 0x21000));
	cr_assert_null(uffd_regions_find(r, 2, UINT64_MAX));
	cr_assert_null(uffd_regions_find(r, 0, 0x10000));
}
