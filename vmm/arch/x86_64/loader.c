/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/arch/x86_64/loader.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#include "vmm/arch/x86_64/layout.h"

#define ELF_MAX_PHDRS 64
#define SETUP_HDR_OFFSET 0x1f1
#define SETUP_HDR_MAGIC 0x53726448 /* "HdrS" */
#define BOOT_PROTO_MIN 0x020c      /* 2.12: first with xloadflags */
#define DEFAULT_INITRD_ADDR_MAX 0x37ffffffULL
#define PAGE_SIZE 4096ULL

/* True if [off, off+size) lies inside a buffer of @len bytes, without overflow. */
static bool in_bounds(uint64_t off, uint64_t size, uint64_t len)
{
	return off <= len && size <= len - off;
}

int kernel_load_elf(const struct guest_mem *mem, const uint8_t *img, size_t len,
		    struct kernel_info *ki, struct err_buf *err)
{
	Elf64_Ehdr eh;
	bool entry_loaded = false;
	unsigned int loads = 0;

	memset(ki, 0, sizeof(*ki));
	if (len < sizeof(eh))
		return err_set(err, -ENOEXEC, "kernel image: too short for an ELF header");
	memcpy(&eh, img, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return err_set(err, -ENOEXEC, "kernel image: not an ELF file");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64)
		return err_set(err, -ENOEXEC, "kernel image: not a 64-bit x86 ELF");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > ELF_MAX_PHDRS)
		return err_set(err, -ENOEXEC, "kernel image: bad ELF program header table");
	if (!in_bounds(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len))
		return err_set(err, -ENOEXEC, "kernel image: truncated (program headers)");

	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint8_t *dst;

		memcpy(&ph, img + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return err_set(err, -ENOEXEC, "kernel image: segment %u file size > memory size", i);
		if (!in_bounds(ph.p_offset, ph.p_filesz, len))
			return err_set(err, -ENOEXEC, "kernel image: truncated (segment %u)", i);
		if (ph.p_paddr < HIMEM_START)
			return err_set(err, -ENOEXEC,
				       "kernel image: segment %u loads at 0x%llx, below 1 MiB", i,
				       (unsigned long long)ph.p_paddr);
		dst = guest_mem_ptr_write(mem, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return err_set(err, -ENOMEM,
				       "kernel image: segment %u [0x%llx, +0x%llx) does not fit in guest memory",
				       i, (unsigned long long)ph.p_paddr,
				       (unsigned long long)ph.p_memsz);
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr + ph.p_memsz > ki->load_end)
			ki->load_end = ph.p_paddr + ph.p_memsz;
		if (eh.e_entry >= ph.p_paddr && eh.e_entry - ph.p_paddr < ph.p_memsz)
			entry_loaded = true;
		loads++;
	}
	if (!loads)
		return err_set(err, -ENOEXEC, "kernel image: no loadable segments");
	if (!entry_loaded)
		return err_set(err, -ENOEXEC, "kernel image: entry point 0x%llx is not in a loaded segment",
			       (unsigned long long)eh.e_entry);
	ki->entry = eh.e_entry;
	return 0;
}

int kernel_load_bzimage(const struct guest_mem *mem, const uint8_t *img, size_t len,
			struct kernel_info *ki, struct err_buf *err)
{
	struct setup_header hdr;
	uint64_t setup_size, kernel_size, footprint;
	size_t hdr_len;
	uint8_t *dst;

	memset(ki, 0, sizeof(*ki));
	if (!in_bounds(SETUP_HDR_OFFSET, sizeof(hdr), len))
		return err_set(err, -ENOEXEC, "kernel image: too short for a bzImage setup header");
	memcpy(&hdr, img + SETUP_HDR_OFFSET, sizeof(hdr));
	if (hdr.header != SETUP_HDR_MAGIC || hdr.boot_flag != 0xaa55)
		return err_set(err, -ENOEXEC, "kernel image: neither ELF nor bzImage");
	if (hdr.version < BOOT_PROTO_MIN)
		return err_set(err, -ENOEXEC,
			       "kernel image: bzImage boot protocol %u.%02u is older than 2.12",
			       hdr.version >> 8, hdr.version & 0xff);
	if (!(hdr.xloadflags & XLF_KERNEL_64))
		return err_set(err, -ENOEXEC, "kernel image: bzImage has no 64-bit entry point");

	setup_size = ((uint64_t)(hdr.setup_sects ? hdr.setup_sects : 4) + 1) * 512;
	if (setup_size >= len)
		return err_set(err, -ENOEXEC, "kernel image: truncated (bzImage setup code)");
	kernel_size = len - setup_size;
	/* The decompressor works in place up to init_size past the load address. */
	footprint = hdr.init_size > kernel_size ? hdr.init_size : kernel_size;
	dst = guest_mem_ptr_write(mem, HIMEM_START, footprint);
	if (!dst)
		return err_set(err, -ENOMEM, "kernel image: bzImage needs %llu bytes above 1 MiB",
			       (unsigned long long)footprint);
	memcpy(dst, img + setup_size, kernel_size);

	/* The header ends at 0x202 + the byte at 0x201 (boot protocol docs). */
	hdr_len = 0x202 + img[0x201] - SETUP_HDR_OFFSET;
	if (hdr_len > sizeof(hdr))
		hdr_len = sizeof(hdr);
	memset(&ki->hdr, 0, sizeof(ki->hdr));
	memcpy(&ki->hdr, &hdr, hdr_len);
	ki->hdr_len = hdr_len;
	ki->bzimage = true;
	ki->entry = HIMEM_START + 0x200; /* startup_64 */
	ki->load_end = HIMEM_START + footprint;
	return 0;
}

int kernel_load(const struct guest_mem *mem, const uint8_t *img, size_t len,
		struct kernel_info *ki, struct err_buf *err)
{
	if (len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0)
		return kernel_load_elf(mem, img, len, ki, err);
	return kernel_load_bzimage(mem, img, len, ki, err);
}

int initrd_load(const struct guest_mem *mem, const struct kernel_info *ki, const uint8_t *img,
		size_t len, uint64_t *addr, struct err_buf *err)
{
	uint64_t top = guest_mem_region_end(mem, HIMEM_START);
	uint64_t max = DEFAULT_INITRD_ADDR_MAX;
	uint64_t start;
	uint8_t *dst;

	if (ki->bzimage && ki->hdr.initrd_addr_max)
		max = ki->hdr.initrd_addr_max;
	if (top > max + 1)
		top = max + 1;
	if (len == 0 || len > top)
		return err_set(err, -ENOMEM, "initrd: %zu bytes do not fit below 0x%llx", len,
			       (unsigned long long)top);
	start = (top - len) & ~(PAGE_SIZE - 1);
	if (start < ki->load_end)
		return err_set(err, -ENOMEM,
			       "initrd: %zu bytes do not fit between the kernel and 0x%llx; add guest memory",
			       len, (unsigned long long)top);
	dst = guest_mem_ptr_write(mem, start, len);
	if (!dst)
		return err_set(err, -ENOMEM, "initrd: does not fit in guest memory");
	memcpy(dst, img, len);
	*addr = start;
	return 0;
}
