/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/arch/x86_64/boot_params.h"

#include <errno.h>
#include <string.h>

#include "vmm/arch/x86_64/layout.h"

#define E820_RAM 1
#define E820_RESERVED 2
#define KERNEL_LOADER_OTHER 0xff
#define KERNEL_ALIGNMENT 0x1000000

static int e820_add(struct boot_params *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	if (bp->e820_entries >= sizeof(bp->e820_table) / sizeof(bp->e820_table[0]))
		return -E2BIG;
	bp->e820_table[bp->e820_entries].addr = addr;
	bp->e820_table[bp->e820_entries].size = size;
	bp->e820_table[bp->e820_entries].type = type;
	bp->e820_entries++;
	return 0;
}

int e820_build(const struct guest_mem *mem, struct boot_params *bp)
{
	int ret;

	bp->e820_entries = 0;
	/* Low memory up to the EBDA, then the MP table and legacy ROM hole. */
	ret = e820_add(bp, 0, EBDA_START, E820_RAM);
	if (!ret)
		ret = e820_add(bp, EBDA_START, HIMEM_START - EBDA_START, E820_RESERVED);
	for (unsigned int i = 0; i < mem->nr_regions && !ret; i++) {
		const struct guest_region *r = &mem->regions[i];
		uint64_t start = r->gpa < HIMEM_START ? HIMEM_START : r->gpa;
		uint64_t end = r->gpa + r->size;

		if (end > start)
			ret = e820_add(bp, start, end - start, E820_RAM);
	}
	return ret;
}

int boot_params_setup(const struct guest_mem *mem, const struct kernel_info *ki,
		      const char *cmdline, const struct initrd_info *initrd, struct err_buf *err)
{
	struct boot_params bp;
	size_t cmdline_len = strlen(cmdline);

	if (cmdline_len + 1 > CMDLINE_MAX_SIZE)
		return err_set(err, -E2BIG, "kernel command line: %zu bytes, the limit is %llu",
			       cmdline_len, CMDLINE_MAX_SIZE - 1);
	if (guest_mem_clear(mem, CMDLINE_ADDR, CMDLINE_MAX_SIZE) ||
	    guest_mem_write(mem, CMDLINE_ADDR, cmdline, cmdline_len + 1))
		return err_set(err, -ENOMEM, "guest memory too small for the command line");

	memset(&bp, 0, sizeof(bp));
	if (ki->bzimage)
		memcpy(&bp.hdr, &ki->hdr, ki->hdr_len);
	else
		bp.hdr.kernel_alignment = KERNEL_ALIGNMENT;
	bp.hdr.type_of_loader = KERNEL_LOADER_OTHER;
	bp.hdr.boot_flag = 0xaa55;
	bp.hdr.header = 0x53726448;
	bp.hdr.cmd_line_ptr = (uint32_t)CMDLINE_ADDR;
	bp.hdr.cmdline_size = (uint32_t)cmdline_len;
	if (initrd && initrd->size) {
		bp.hdr.ramdisk_image = (uint32_t)initrd->addr;
		bp.hdr.ramdisk_size = (uint32_t)initrd->size;
		bp.ext_ramdisk_image = (uint32_t)(initrd->addr >> 32);
		bp.ext_ramdisk_size = (uint32_t)(initrd->size >> 32);
	}
	if (e820_build(mem, &bp))
		return err_set(err, -E2BIG, "too many memory regions for the e820 map");
	if (guest_mem_write(mem, ZERO_PAGE_ADDR, &bp, sizeof(bp)))
		return err_set(err, -ENOMEM, "guest memory too small for the zero page");
	return 0;
}
