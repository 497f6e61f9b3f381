/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The x86_64 guest physical layout. Addresses match Firecracker's so that
 * guests, tools and expectations carry over unchanged.
 */
#ifndef IGNIS_X86_LAYOUT_H
#define IGNIS_X86_LAYOUT_H

#include <stdint.h>

#include "vmm/memory/memory.h"

#define BOOT_GDT_ADDR      0x500ULL
#define BOOT_GDT_ENTRIES   4
#define BOOT_IDT_ADDR      0x520ULL
#define ZERO_PAGE_ADDR     0x7000ULL
#define BOOT_STACK_ADDR    0x8ff0ULL
#define PML4_ADDR          0x9000ULL
#define PDPT_ADDR          0xa000ULL
#define PD_ADDR            0xb000ULL
#define CMDLINE_ADDR       0x20000ULL
#define CMDLINE_MAX_SIZE   2048ULL /* Linux's x86 COMMAND_LINE_SIZE, NUL included */
#define EBDA_START         0x9fc00ULL /* MP table: "last 1 KiB of 640 KiB" */
#define HIMEM_START        0x100000ULL

/* The last GiB below 4 GiB is MMIO; RAM beyond 3 GiB continues at 4 GiB. */
#define MMIO_GAP_START     0xc0000000ULL
#define MMIO_GAP_END       0x100000000ULL
#define BOOT_TIMER_ADDR    0xc0000000ULL
#define BOOT_TIMER_SIZE    0x1000ULL
#define VIRTIO_MMIO_BASE   0xc0001000ULL
#define VIRTIO_MMIO_SIZE   0x1000 /* one window per virtio-mmio device, in slot order */

#define KVM_TSS_ADDR       0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define IOAPIC_ADDR        0xfec00000ULL
#define APIC_ADDR          0xfee00000ULL

#define SERIAL_COM1_PORT   0x3f8
#define SERIAL_COM1_IRQ    4
#define I8042_PORT_BASE    0x60
#define I8042_PORT_SIZE    5
#define I8042_IRQ          1

/* Splits @mem_bytes of RAM around the MMIO gap. Returns the number of ranges. */
unsigned int x86_memory_ranges(uint64_t mem_bytes, struct guest_range ranges[2]);

#endif
