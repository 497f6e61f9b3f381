/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Puts everything a Linux guest needs to start into guest memory: kernel,
 * initrd, command line, zero page, MP table, GDT and page tables.
 */
#ifndef IGNIS_X86_BOOT_H
#define IGNIS_X86_BOOT_H

#include <stdint.h>

#include "vmm/config/config.h"
#include "vmm/memory/memory.h"
#include "vmm/util/error.h"

/*
 * Loads the boot source named by @bs for @nr_vcpus vCPUs with @cmdline as
 * the final kernel command line. Returns 0 and the 64-bit entry GPA, or
 * -errno with @err saying which file or step failed.
 */
int x86_boot_setup(const struct guest_mem *mem, const struct boot_source_config *bs,
		   const char *cmdline, unsigned int nr_vcpus, uint64_t *entry,
		   struct err_buf *err);

#endif
