/* SPDX-License-Identifier: Apache-2.0 */
/* The zero page, the e820 map and the command line, as a Linux guest reads them. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tests/unit/helpers.h"
#include "vmm/arch/x86_64/boot_params.h"
#include "vmm/arch/x86_64/layout.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define RAM_SIZE (64 * MiB)
#define E820_RAM 1
#define E820_RESERVED 2

static const char cmdline[] = "console=ttyS0 reboot=k panic=1";

static struct guest_mem mem;
static uint8_t *ram;

static void ram_setup(void)
{
	ram = malloc(RAM_SIZE);
	cr_assert_not_null(ram);
	memset(ram, 0xcc, RAM_SIZE); /* garbage, so nothing passes by accident */
	cr_assert_eq(guest_mem_init_view(&mem, 0, ram, RAM_SIZE), 0);
}

static void ram_teardown(void)
{
	free(ram);
}

static const struct kernel_info elf_kernel = { .entry = 0x1000000, .load_end = 0x2000000 };

/* Sets up boot params for @ki and returns a copy of the zero page. */
static struct boot_params setup_zero_page(const struct kernel_info *ki,
					  const struct initrd_info *initrd)
{
	struct boot_params bp;
	struct err_buf err = { "" };
	int ret = boot_params_setup(&mem, ki, cmdline, initrd, &err);

	cr_assert_eq(ret, 0, "boot_params_setup: %d %s", ret, err.msg);
	cr_assert_eq(guest_mem_read(&mem, ZERO_PAGE_ADDR, &bp, sizeof(bp)), 0);
	return bp;
}

static void assert_e820(const struct boot_params *bp, unsigned int i, uint64_t addr,
			uint64_t size, uint32_t type)
{
	const struct boot_e820_entry *e = &bp->e820_table[i];

	cr_assert_eq(e->addr, addr, "e820[%u].addr = 0x%llx, expected 0x%llx", i,
		     (unsigned long long)e->addr, (unsigned long long)addr);
	cr_assert_eq(e->size, size, "e820[%u].size = 0x%llx, expected 0x%llx", i,
		     (unsigned long long)e->size, (unsigned long long)size);
	cr_assert_eq(e->type, type, "e820[%u].type = %u, expected %u", i, e->type, type);
}

TestSuite(boot_params, .init = ram_setup, .fini = ram_teardown);

Test(boot_params, zero_page_carries_the_boot_flag_and_header_magic)
{
	struct boot_params bp = setup_zero_page(&elf_kernel, NULL);

	cr_assert_eq(bp.hdr.boot_flag, 0xaa55);
	cr_assert_eq(memcmp(&bp.hdr.header, "HdrS", 4), 0);
}

Test(boot_params, loader_type_is_undefined)
{
	struct boot_params bp = setup_zero_page(&elf_kernel, NULL);

	cr_assert_eq(bp.hdr.type_of_loader, 0xff);
}

Test(boot_params, command_line_is_written_at_0x20000_and_nul_terminated)
{
	struct boot_params bp = setup_zero_page(&elf_kernel, NULL);

	cr_assert_eq(bp.hdr.cmd_line_ptr, 0x20000);
	cr_assert_eq(memcmp(ram + 0x20000, cmdline, sizeof(cmdline)), 0);
	cr_assert_eq(ram[0x20000 + strlen(cmdline)], '\0');
}

Test(boot_params, cmdline_size_is_the_command_line_length)
{
	struct boot_params bp = setup_zero_page(&elf_kernel, NULL);

	cr_assert_eq(bp.hdr.cmdline_size, strlen(cmdline));
}

Test(boot_params, longest_accepted_command_line_is_2047_bytes)
{
	static char longest[CMDLINE_MAX_SIZE];
	struct err_buf err = { "" };

	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	cr_assert_eq(boot_params_setup(&mem, &elf_kernel, longest, NULL, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(ram[0x20000 + 2047], '\0');
}

Test(boot_params, command_line_of_2048_bytes_is_too_big)
{
	static char too_long[CMDLINE_MAX_SIZE + 1];
	struct err_buf err = { "" };

	memset(too_long, 'x', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	cr_assert_fails_with(boot_params_setup(&mem, &elf_kernel, too_long, NULL, &err), -E2BIG,
			     err, "command line");
}

Test(boot_params, ramdisk_fields_describe_the_initrd)
{
	const struct initrd_info rd = { .addr = 0x3f00000, .size = 0x12345 };
	struct boot_params bp = setup_zero_page(&elf_kernel, &rd);

	cr_assert_eq(bp.hdr.ramdisk_image, 0x3f00000);
	cr_assert_eq(bp.hdr.ramdisk_size, 0x12345);
	cr_assert_eq(bp.ext_ramdisk_image, 0);
	cr_assert_eq(bp.ext_ramdisk_size, 0);
}

Test(boot_params, no_initrd_leaves_ramdisk_fields_zero)
{
	const struct initrd_info none = { 0 };
	struct boot_params bp = setup_zero_page(&elf_kernel, &none);

	cr_assert_eq(bp.hdr.ramdisk_image, 0);
	cr_assert_eq(bp.hdr.ramdisk_size, 0);
}

Test(boot_params, e820_has_low_ram_the_ebda_hole_and_ram_from_1m)
{
	struct boot_params bp = setup_zero_page(&elf_kernel, NULL);

	cr_assert_eq(bp.e820_entries, 3);
	assert_e820(&bp, 0, 0, 0x9fc00, E820_RAM);
	assert_e820(&bp, 1, 0x9fc00, 1 * MiB - 0x9fc00, E820_RESERVED);
	assert_e820(&bp, 2, 1 * MiB, RAM_SIZE - 1 * MiB, E820_RAM);
}

Test(boot_params, e820_of_memory_split_at_the_mmio_gap_has_ram_at_4g)
{
	/* e820_build reads only region metadata: the host buffer is never touched. */
	static uint8_t unused[16];
	struct guest_mem split = { 0 };
	struct boot_params bp;

	split.regions[0] = (struct guest_region){ .gpa = 0, .size = 3 * GiB, .host = unused };
	split.regions[1] = (struct guest_region){ .gpa = 4 * GiB, .size = 2 * GiB, .host = unused };
	split.nr_regions = 2;
	memset(&bp, 0, sizeof(bp));

	cr_assert_eq(e820_build(&split, &bp), 0);
	cr_assert_eq(bp.e820_entries, 4);
	assert_e820(&bp, 2, 1 * MiB, 3 * GiB - 1 * MiB, E820_RAM);
	assert_e820(&bp, 3, 4 * GiB, 2 * GiB, E820_RAM);
}

Test(boot_params, bzimage_setup_header_seeds_the_zero_page)
{
	struct kernel_info ki = { .entry = 0x100200, .load_end = 0x800000, .bzimage = true };
	struct boot_params bp;

	ki.hdr.setup_sects = 27;
	ki.hdr.version = 0x020f;
	ki.hdr.xloadflags = XLF_KERNEL_64;
	ki.hdr.kernel_alignment = 0x200000;
	ki.hdr.initrd_addr_max = 0x7fffffff;
	ki.hdr.init_size = 0x1234000;
	ki.hdr.relocatable_kernel = 1;
	ki.hdr_len = sizeof(ki.hdr);
	bp = setup_zero_page(&ki, NULL);

	cr_assert_eq(bp.hdr.setup_sects, 27);
	cr_assert_eq(bp.hdr.version, 0x020f);
	cr_assert_eq(bp.hdr.xloadflags, XLF_KERNEL_64);
	cr_assert_eq(bp.hdr.kernel_alignment, 0x200000);
	cr_assert_eq(bp.hdr.initrd_addr_max, 0x7fffffff);
	cr_assert_eq(bp.hdr.init_size, 0x1234000);
	cr_assert_eq(bp.hdr.relocatable_kernel, 1);
}

Test(boot_params, bzimage_loader_fields_are_overridden)
{
	struct kernel_info ki = { .entry = 0x100200, .load_end = 0x800000, .bzimage = true };
	const struct initrd_info rd = { .addr = 0x3000000, .size = 0x1000 };
	struct boot_params bp;

	ki.hdr.type_of_loader = 0x00;
	ki.hdr.cmd_line_ptr = 0xdead0000;
	ki.hdr.cmdline_size = 0x7ff;
	ki.hdr.ramdisk_image = 0xbad00000;
	ki.hdr.ramdisk_size = 0xbad;
	ki.hdr.boot_flag = 0;
	ki.hdr_len = sizeof(ki.hdr);
	bp = setup_zero_page(&ki, &rd);

	cr_assert_eq(bp.hdr.type_of_loader, 0xff);
	cr_assert_eq(bp.hdr.cmd_line_ptr, 0x20000);
	cr_assert_eq(bp.hdr.cmdline_size, strlen(cmdline));
	cr_assert_eq(bp.hdr.ramdisk_image, 0x3000000);
	cr_assert_eq(bp.hdr.ramdisk_size, 0x1000);
	cr_assert_eq(bp.hdr.boot_flag, 0xaa55);
}

Test(boot_params, memory_too_small_for_the_command_line_is_an_error)
{
	struct guest_mem tiny;
	struct err_buf err = { "" };

	cr_assert_eq(guest_mem_init_view(&tiny, 0, ram, 0x10000), 0);
	cr_assert_fails_with(boot_params_setup(&tiny, &elf_kernel, cmdline, NULL, &err), -ENOMEM,
			     err, "command line");
}
