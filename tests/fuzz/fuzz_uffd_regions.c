/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the Uffd handshake's region list as a page-fault
 * handler parses it (snapshot/format/uffd_regions.c, the example handler's
 * uffd_regions_parse), from a peer it does not trust. Input: 8 bytes of
 * memory-file size (little endian), then the message text. Beyond "no
 * crash, no leak, no UB": every accepted list obeys the rules the header
 * promises (page sizes, alignment, inside the file, no overlap) and
 * survives uffd_regions_to_json and a second parse unchanged; every refusal
 * says why. Seeds: tests/fuzz/corpus-uffd/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/format/uffd_regions.h"
#include "tests/fuzz/invariant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rules(const struct uffd_region *r, unsigned int nr, uint64_t file_size)
{
	invariant(nr >= 1 && nr <= UFFD_REGIONS_MAX, "1..max regions");
	for (unsigned int i = 0; i < nr; i++) {
		uint64_t ps = r[i].page_size;

		invariant(ps == UFFD_PAGE_4K || ps == UFFD_PAGE_2M, "a known page size");
		invariant(r[i].size && !(r[i].size % ps) && !(r[i].offset % ps) &&
				  !(r[i].base_host_virt_addr % ps),
			  "sizes and offsets are page multiples");
		invariant(r[i].offset <= file_size && r[i].size <= file_size - r[i].offset,
			  "inside the memory file");
		for (unsigned int j = 0; j < i; j++)
			invariant(r[i].base_host_virt_addr >= r[j].base_host_virt_addr + r[j].size ||
					  r[j].base_host_virt_addr >= r[i].base_host_virt_addr + r[i].size,
				  "no two regions overlap");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uffd_region r[UFFD_REGIONS_MAX], again[UFFD_REGIONS_MAX];
	unsigned int nr = 0, nr2 = 0;
	uint64_t file_size = 0;
	char why[256] = "";
	char *text;

	if (size < 8)
		return 0;
	for (int i = 7; i >= 0; i--)
		file_size = file_size << 8 | data[i];
	if (uffd_regions_parse((const char *)data + 8, size - 8, file_size, r, UFFD_REGIONS_MAX,
			       &nr, why, sizeof(why))) {
		invariant(why[0] != '\0', "a refusal says why");
		return 0;
	}
	check_rules(r, nr, file_size);
	text = uffd_regions_to_json(r, nr);
	invariant(text != NULL, "an accepted list serialises");
	invariant(uffd_regions_parse(text, strlen(text), file_size, again, UFFD_REGIONS_MAX, &nr2,
				     why, sizeof(why)) == 0,
		  "its own serialisation parses");
	invariant(nr2 == nr && !memcmp(again, r, nr * sizeof(r[0])), "and gives the same regions");
	free(text);
	return 0;
}
