/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the kernel loaders (vmm/arch/x86_64/loader.c), ELF
 * vmlinux and bzImage by content, and the initrd after them, given a
 * kernel file the operator named (which may be anything). Guest RAM is a
 * 64 MiB view; ASan catches any write outside it. Beyond "no crash, no UB":
 * a loaded kernel's entry point and end lie in guest RAM, and a refusal says
 * why. Seeds: tests/fuzz/corpus-loader/ (small ELF and bzImage headers).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/invariant.h"
#include "vmm/arch/x86_64/loader.h"
#include "vmm/memory/memory.h"

#define RAM_SIZE (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	struct guest_mem mem;
	struct kernel_info ki;
	struct err_buf err = { "" };
	uint64_t initrd;

	if (!ram)
		ram = malloc(RAM_SIZE);
	if (!ram || guest_mem_init_view(&mem, 0, ram, RAM_SIZE))
		return 0;
	memset(&ki, 0, sizeof(ki));
	if (kernel_load(&mem, data, size, &ki, &err)) {
		invariant(err.msg[0] != '\0', "a refusal says why");
		return 0;
	}
	invariant(ki.load_end <= RAM_SIZE, "the kernel ends in guest RAM");
	invariant(ki.entry < RAM_SIZE, "the entry point is in guest RAM");
	/* The same bytes as an initrd: placement must stay inside RAM too. */
	err.msg[0] = '\0';
	if (initrd_load(&mem, &ki, data, size, &initrd, &err) == 0)
		invariant(initrd < RAM_SIZE && size <= RAM_SIZE - initrd, "the initrd is in guest RAM");
	else
		invariant(err.msg[0] != '\0', "an initrd refusal says why");
	return 0;
}
