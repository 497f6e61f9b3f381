/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel and initrd loading against hand-built images. Images are host input:
 * every malformed one must be refused with a message that says what is wrong.
 */
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tests/unit/helpers.h"
#include "vmm/arch/x86_64/loader.h"

#define MiB (1ULL << 20)
#define RAM_SIZE (64 * MiB)

static struct guest_mem mem;
static uint8_t *ram;
static struct kernel_info ki;
static struct err_buf err;

static void ram_setup(void)
{
	ram = malloc(RAM_SIZE);
	cr_assert_not_null(ram);
	memset(ram, 0xcc, RAM_SIZE); /* stale contents the loader must overwrite */
	cr_assert_eq(guest_mem_init_view(&mem, 0, ram, RAM_SIZE), 0);
	memset(&err, 0, sizeof(err));
}

static void ram_teardown(void)
{
	free(ram);
}

/* ---- ELF ---------------------------------------------------------------- */

#define ELF_PADDR  (16 * MiB)
#define ELF_FILESZ 0x100
#define ELF_MEMSZ  0x300
#define ELF_ENTRY  (ELF_PADDR + 0x40)

/* A minimal vmlinux: header, one program header, one segment with a bss tail. */
struct elf_image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint8_t text[ELF_FILESZ];
};

static struct elf_image elf;

static void elf_setup(void)
{
	ram_setup();
	memset(&elf, 0, sizeof(elf));
	memcpy(elf.eh.e_ident, ELFMAG, SELFMAG);
	elf.eh.e_ident[EI_CLASS] = ELFCLASS64;
	elf.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	elf.eh.e_ident[EI_VERSION] = EV_CURRENT;
	elf.eh.e_type = ET_EXEC;
	elf.eh.e_machine = EM_X86_64;
	elf.eh.e_version = EV_CURRENT;
	elf.eh.e_entry = ELF_ENTRY;
	elf.eh.e_phoff = offsetof(struct elf_image, ph);
	elf.eh.e_ehsize = sizeof(Elf64_Ehdr);
	elf.eh.e_phentsize = sizeof(Elf64_Phdr);
	elf.eh.e_phnum = 1;
	elf.ph.p_type = PT_LOAD;
	elf.ph.p_flags = PF_R | PF_X;
	elf.ph.p_offset = offsetof(struct elf_image, text);
	elf.ph.p_vaddr = 0xffffffff81000000ULL;
	elf.ph.p_paddr = ELF_PADDR;
	elf.ph.p_filesz = ELF_FILESZ;
	elf.ph.p_memsz = ELF_MEMSZ;
	elf.ph.p_align = 0x200000;
	for (unsigned int i = 0; i < ELF_FILESZ; i++)
		elf.text[i] = (uint8_t)(i + 1);
}

static int load_elf(void)
{
	return kernel_load_elf(&mem, (const uint8_t *)&elf, sizeof(elf), &ki, &err);
}

TestSuite(elf, .init = elf_setup, .fini = ram_teardown);

Test(elf, segment_bytes_land_at_its_physical_address)
{
	cr_assert_eq(load_elf(), 0, "%s", err.msg);
	cr_assert_eq(memcmp(ram + ELF_PADDR, elf.text, ELF_FILESZ), 0);
}

Test(elf, bss_beyond_file_size_is_zero_filled)
{
	cr_assert_eq(load_elf(), 0, "%s", err.msg);
	for (unsigned int i = ELF_FILESZ; i < ELF_MEMSZ; i++)
		cr_assert_eq(ram[ELF_PADDR + i], 0, "bss byte 0x%x not zeroed", i);
	cr_assert_eq(ram[ELF_PADDR + ELF_MEMSZ], 0xcc, "wrote past the segment");
}

Test(elf, entry_and_load_end_are_returned)
{
	cr_assert_eq(load_elf(), 0, "%s", err.msg);
	cr_assert_eq(ki.entry, ELF_ENTRY);
	cr_assert_eq(ki.load_end, ELF_PADDR + ELF_MEMSZ);
	cr_assert_not(ki.bzimage);
}

Test(elf, image_shorter_than_a_header_is_refused)
{
	cr_assert_fails_with(kernel_load_elf(&mem, (const uint8_t *)&elf, 10, &ki, &err),
			     -ENOEXEC, err, "too short");
}

Test(elf, bad_magic_is_refused)
{
	elf.eh.e_ident[EI_MAG1] = 'X';
	cr_assert_fails_with(load_elf(), -ENOEXEC, err, "not an ELF");
}

Test(elf, 32bit_class_is_refused)
{
	elf.eh.e_ident[EI_CLASS] = ELFCLASS32;
	cr_assert_fails_with(load_elf(), -ENOEXEC, err, "64-bit x86");
}

Test(elf, other_machine_is_refused)
{
	elf.eh.e_machine = EM_AARCH64;
	cr_assert_fails_with(load_elf(), -ENOEXEC, err, "64-bit x86");
}

Test(elf, zero_program_headers_are_refused)
{
	elf.eh.e_phnum = 0;
	cr_assert_fails_with(load_elf(), -ENOEXEC, err, "program header");
}

Test(elf, wrong_program_header_size_is_refused)
{
	elf.eh.e_phentsize = sizeof(Elf64_Phdr) - 8;
	cr_assert_fails_with(load_elf(), -ENOEXEC, err, "program header");
}

Test(elf, program_headers_past_the_end_are_refused)
{
	elf.eh.e_phoff = sizeof(elf) - sizeof(Elf64_Phdr) + 1;
	cr_assert_fails_with(load_elf(), -ENOEXEC, err, "program headers");
}

Test(elf, program_header_offset_that_overflows_is_refused)
{
	elf.eh.e_phoff = UINT64_MAX - 8;
	elf.eh.e_phnum = 64;
	cr_assert_fails_with(load_elf(), -ENOEXEC, err, "program headers");
}

Test(elf, segment_data_past_the_end_is_refused)
{
	elf.ph.p_offset = sizeof(elf) - ELF_FILESZ + 1;
	cr_assert_fails_with(load_elf(), -ENOEXEC, err, "segment 0");
}

Test(elf, segment_offset_that_overflows_is_refused)
{
	elf.ph.p_offset = UINT64_MAX - 0x10;
	cr_assert_fails_with(load_elf(), -ENOEXEC, err, "segment 0");
}

Test(elf, file_size_larger_than_memory_size_is_refused)
{
	elf.ph.p_filesz = ELF_MEMSZ + 1;
	elf.ph.p_offset = 0;
	cr_assert_fails_with(load_elf(), -ENOEXEC, err, "file size > memory size");
}

Test(elf, segment_below_1m_is_refused)
{
	elf.ph.p_paddr = 0x7000; /* would overwrite the zero page */
	elf.eh.e_entry = 0x7000;
	cr_assert_fails_with(load_elf(), -ENOEXEC, err, "below 1 MiB");
}

Test(elf, segment_beyond_guest_memory_is_refused)
{
	elf.ph.p_paddr = RAM_SIZE - ELF_MEMSZ + 1;
	elf.eh.e_entry = elf.ph.p_paddr;
	cr_assert_fails_with(load_elf(), -ENOMEM, err, "does not fit in guest memory");
}

Test(elf, segment_whose_end_overflows_64_bits_is_refused)
{
	elf.ph.p_paddr = UINT64_MAX - 0xff;
	elf.eh.e_entry = elf.ph.p_paddr;
	cr_assert_fails_with(load_elf(), -ENOMEM, err, "does not fit in guest memory");
}

Test(elf, entry_outside_the_loaded_segments_is_refused)
{
	elf.eh.e_entry = ELF_PADDR + ELF_MEMSZ;
	cr_assert_fails_with(load_elf(), -ENOEXEC, err, "entry point");
}

Test(elf, image_without_a_load_segment_is_refused)
{
	elf.ph.p_type = PT_NOTE;
	cr_assert_fails_with(load_elf(), -ENOEXEC, err, "no loadable segments");
}

/* ---- bzImage ------------------------------------------------------------ */

#define BZ_SETUP_SIZE  (2 * 512) /* boot sector + setup_sects = 1 */
#define BZ_KERNEL_SIZE 0x2000
#define BZ_INIT_SIZE   0x400000
#define SETUP_HDR_OFFSET 0x1f1

static uint8_t bz[BZ_SETUP_SIZE + BZ_KERNEL_SIZE];
static struct setup_header bz_hdr;

/* Writes bz_hdr into the image, where the boot protocol puts it. */
static void bz_commit(void)
{
	memcpy(bz + SETUP_HDR_OFFSET, &bz_hdr, sizeof(bz_hdr));
}

static void bzimage_setup(void)
{
	ram_setup();
	memset(bz, 0, sizeof(bz));
	for (unsigned int i = 0; i < BZ_KERNEL_SIZE; i++)
		bz[BZ_SETUP_SIZE + i] = (uint8_t)(i * 7 + 3);
	memset(&bz_hdr, 0, sizeof(bz_hdr));
	bz_hdr.setup_sects = 1;
	bz_hdr.boot_flag = 0xaa55;
	/* A short jump over the header: its second byte says where the header ends. */
	bz_hdr.jump = (uint16_t)(0xeb | ((SETUP_HDR_OFFSET + sizeof(bz_hdr) - 0x202) << 8));
	memcpy(&bz_hdr.header, "HdrS", 4);
	bz_hdr.version = 0x020f;
	bz_hdr.loadflags = 0x01; /* LOADED_HIGH */
	bz_hdr.kernel_alignment = 0x200000;
	bz_hdr.initrd_addr_max = 0x7fffffff;
	bz_hdr.xloadflags = XLF_KERNEL_64;
	bz_hdr.init_size = BZ_INIT_SIZE;
	bz_commit();
}

static int load_bz(void)
{
	return kernel_load_bzimage(&mem, bz, sizeof(bz), &ki, &err);
}

TestSuite(bzimage, .init = bzimage_setup, .fini = ram_teardown);

Test(bzimage, protected_mode_kernel_lands_at_1m)
{
	cr_assert_eq(load_bz(), 0, "%s", err.msg);
	cr_assert_eq(memcmp(ram + 1 * MiB, bz + BZ_SETUP_SIZE, BZ_KERNEL_SIZE), 0);
	cr_assert_eq(ram[1 * MiB - 1], 0xcc, "setup code must not be loaded");
}

Test(bzimage, entry_is_startup_64)
{
	cr_assert_eq(load_bz(), 0, "%s", err.msg);
	cr_assert_eq(ki.entry, 0x100200);
	cr_assert(ki.bzimage);
}

Test(bzimage, load_end_covers_init_size)
{
	cr_assert_eq(load_bz(), 0, "%s", err.msg);
	cr_assert_eq(ki.load_end, 1 * MiB + BZ_INIT_SIZE);
}

Test(bzimage, setup_header_is_kept_for_the_zero_page)
{
	cr_assert_eq(load_bz(), 0, "%s", err.msg);
	cr_assert_eq(ki.hdr_len, sizeof(ki.hdr));
	cr_assert_eq(ki.hdr.version, 0x020f);
	cr_assert_eq(ki.hdr.init_size, BZ_INIT_SIZE);
	cr_assert_eq(ki.hdr.kernel_alignment, 0x200000);
	cr_assert_eq(ki.hdr.initrd_addr_max, 0x7fffffff);
}

Test(bzimage, zero_setup_sects_means_four)
{
	static uint8_t big[5 * 512 + BZ_KERNEL_SIZE];

	bz_hdr.setup_sects = 0;
	bz_commit();
	memcpy(big, bz, BZ_SETUP_SIZE);
	memcpy(big + 5 * 512, bz + BZ_SETUP_SIZE, BZ_KERNEL_SIZE);
	cr_assert_eq(kernel_load_bzimage(&mem, big, sizeof(big), &ki, &err), 0, "%s", err.msg);
	cr_assert_eq(memcmp(ram + 1 * MiB, bz + BZ_SETUP_SIZE, BZ_KERNEL_SIZE), 0);
}

Test(bzimage, boot_protocol_older_than_2_12_is_refused)
{
	bz_hdr.version = 0x020b;
	bz_commit();
	cr_assert_fails_with(load_bz(), -ENOEXEC, err, "2.11 is older than 2.12");
}

Test(bzimage, image_without_a_64bit_entry_is_refused)
{
	bz_hdr.xloadflags = 0;
	bz_commit();
	cr_assert_fails_with(load_bz(), -ENOEXEC, err, "64-bit entry point");
}

Test(bzimage, image_too_short_for_the_header_is_refused)
{
	cr_assert_fails_with(kernel_load_bzimage(&mem, bz, 0x200, &ki, &err), -ENOEXEC, err,
			     "too short");
}

Test(bzimage, image_truncated_inside_the_setup_code_is_refused)
{
	bz_hdr.setup_sects = 20; /* (20 + 1) * 512 bytes of setup: more than the image */
	bz_commit();
	cr_assert_fails_with(load_bz(), -ENOEXEC, err, "truncated");
}

Test(bzimage, init_size_larger_than_memory_is_refused)
{
	bz_hdr.init_size = RAM_SIZE;
	bz_commit();
	cr_assert_fails_with(load_bz(), -ENOMEM, err, "above 1 MiB");
}

/* ---- kernel_load: format by content ------------------------------------- */

Test(kernel_load, elf_magic_selects_the_elf_loader, .init = elf_setup, .fini = ram_teardown)
{
	cr_assert_eq(kernel_load(&mem, (const uint8_t *)&elf, sizeof(elf), &ki, &err), 0, "%s",
		     err.msg);
	cr_assert_not(ki.bzimage);
	cr_assert_eq(ki.entry, ELF_ENTRY);
}

Test(kernel_load, setup_header_selects_the_bzimage_loader, .init = bzimage_setup,
     .fini = ram_teardown)
{
	cr_assert_eq(kernel_load(&mem, bz, sizeof(bz), &ki, &err), 0, "%s", err.msg);
	cr_assert(ki.bzimage);
	cr_assert_eq(ki.entry, 0x100200);
}

Test(kernel_load, neither_format_is_refused, .init = ram_setup, .fini = ram_teardown)
{
	static uint8_t junk[4096];

	memset(junk, 0x41, sizeof(junk));
	cr_assert_fails_with(kernel_load(&mem, junk, sizeof(junk), &ki, &err), -ENOEXEC, err,
			     "neither ELF nor bzImage");
}

/* ---- initrd ------------------------------------------------------------- */

#define INITRD_SIZE 10000

static uint8_t initrd[INITRD_SIZE];
static uint64_t initrd_addr;

static void initrd_setup(void)
{
	ram_setup();
	memset(&ki, 0, sizeof(ki));
	ki.entry = ELF_ENTRY;
	ki.load_end = ELF_PADDR + ELF_MEMSZ;
	for (unsigned int i = 0; i < INITRD_SIZE; i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
}

TestSuite(initrd, .init = initrd_setup, .fini = ram_teardown);

Test(initrd, is_placed_page_aligned_at_the_top_of_ram)
{
	cr_assert_eq(initrd_load(&mem, &ki, initrd, INITRD_SIZE, &initrd_addr, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(initrd_addr % 4096, 0);
	cr_assert_leq(initrd_addr + INITRD_SIZE, RAM_SIZE);
	cr_assert_gt(initrd_addr + INITRD_SIZE + 4096, RAM_SIZE, "not at the top of RAM");
	cr_assert_eq(memcmp(ram + initrd_addr, initrd, INITRD_SIZE), 0);
}

Test(initrd, is_placed_above_the_kernel)
{
	cr_assert_eq(initrd_load(&mem, &ki, initrd, INITRD_SIZE, &initrd_addr, &err), 0, "%s",
		     err.msg);
	cr_assert_geq(initrd_addr, ki.load_end);
}

Test(initrd, stays_below_the_kernels_initrd_addr_max)
{
	ki.bzimage = true;
	ki.hdr.initrd_addr_max = 32 * MiB - 1;
	cr_assert_eq(initrd_load(&mem, &ki, initrd, INITRD_SIZE, &initrd_addr, &err), 0, "%s",
		     err.msg);
	cr_assert_leq(initrd_addr + INITRD_SIZE, 32 * MiB);
	cr_assert_eq(initrd_addr % 4096, 0);
}

Test(initrd, larger_than_ram_is_refused)
{
	static const uint8_t *huge = initrd; /* never read: the size check comes first */

	cr_assert_fails_with(initrd_load(&mem, &ki, huge, RAM_SIZE + 1, &initrd_addr, &err),
			     -ENOMEM, err, "do not fit");
}

Test(initrd, overlapping_the_kernel_is_refused)
{
	ki.load_end = RAM_SIZE - 4096;
	cr_assert_fails_with(initrd_load(&mem, &ki, initrd, INITRD_SIZE, &initrd_addr, &err),
			     -ENOMEM, err, "between the kernel");
}
