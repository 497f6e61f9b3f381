/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/arch/x86_64/layout.h"

unsigned int x86_memory_ranges(uint64_t mem_bytes, struct guest_range ranges[2])
{
	if (mem_bytes <= MMIO_GAP_START) {
		ranges[0] = (struct guest_range){ 0, mem_bytes };
		return 1;
	}
	ranges[0] = (struct guest_range){ 0, MMIO_GAP_START };
	ranges[1] = (struct guest_range){ MMIO_GAP_END, mem_bytes - MMIO_GAP_START };
	return 2;
}
