/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux zero page (struct boot_params), its e820 map, and the kernel
 * command line, written where the 64-bit boot protocol expects them.
 */
#ifndef IGNIS_X86_BOOT_PARAMS_H
#define IGNIS_X86_BOOT_PARAMS_H

#include <stdint.h>

#include "vmm/arch/x86_64/loader.h"
#include "vmm/memory/memory.h"
#include "vmm/util/error.h"

struct initrd_info {
	uint64_t addr;
	uint64_t size; /* 0: no initrd */
};

/* Fills @bp's e820 table from the guest's RAM regions. Returns 0 or -E2BIG. */
int e820_build(const struct guest_mem *mem, struct boot_params *bp);

/*
 * Writes the command line at CMDLINE_ADDR and the zero page at ZERO_PAGE_ADDR.
 * Returns 0, or -E2BIG for a command line longer than the kernel accepts.
 */
int boot_params_setup(const struct guest_mem *mem, const struct kernel_info *ki,
		      const char *cmdline, const struct initrd_info *initrd, struct err_buf *err);

#endif
