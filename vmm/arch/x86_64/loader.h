/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel and initrd loading for the Linux 64-bit boot protocol.
 *
 * Images are host input: every offset and size read from them is checked
 * against the image length and the guest's RAM before it is used, so a
 * truncated or malicious image gives a clear error, never a crash.
 */
#ifndef IGNIS_X86_LOADER_H
#define IGNIS_X86_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "vmm/memory/memory.h"
#include "vmm/util/error.h"

struct kernel_info {
	uint64_t entry;      /* GPA of the 64-bit entry point */
	uint64_t load_end;   /* first GPA past the loaded kernel */
	bool bzimage;
	/* For bzImage: the image's setup header, which seeds the zero page. */
	struct setup_header hdr;
	size_t hdr_len;
};

/* Loads an ELF vmlinux or a bzImage (detected by content). Returns 0 or -errno. */
int kernel_load(const struct guest_mem *mem, const uint8_t *img, size_t len,
		struct kernel_info *ki, struct err_buf *err);
int kernel_load_elf(const struct guest_mem *mem, const uint8_t *img, size_t len,
		    struct kernel_info *ki, struct err_buf *err);
int kernel_load_bzimage(const struct guest_mem *mem, const uint8_t *img, size_t len,
			struct kernel_info *ki, struct err_buf *err);

/*
 * Places the initrd page-aligned at the top of low RAM (below the kernel's
 * initrd_addr_max) and above the kernel. Returns its GPA in @addr.
 */
int initrd_load(const struct guest_mem *mem, const struct kernel_info *ki, const uint8_t *img,
		size_t len, uint64_t *addr, struct err_buf *err);

#endif
