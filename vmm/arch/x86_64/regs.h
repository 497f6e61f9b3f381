/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot-time CPU state for entering Linux in 64-bit mode: GDT and identity
 * page tables in guest memory, and the register images handed to KVM.
 * Everything here is pure computation on guest memory or structs so it can be
 * unit-tested without /dev/kvm; vcpu.c does the ioctls.
 */
#ifndef IGNIS_X86_REGS_H
#define IGNIS_X86_REGS_H

#include <stdint.h>

#include <linux/kvm.h>

#include "vmm/memory/memory.h"

#define GDT_CODE_FLAGS 0xa09b /* 64-bit code, present, DPL 0 */
#define GDT_DATA_FLAGS 0xc093
#define GDT_TSS_FLAGS  0x808b

#define X86_CR0_PE   0x1ULL
#define X86_CR0_PG   0x80000000ULL
#define X86_CR4_PAE  0x20ULL
#define EFER_LME     0x100ULL
#define EFER_LMA     0x400ULL

#define MSR_IA32_TSC            0x10
#define MSR_IA32_SYSENTER_CS    0x174
#define MSR_IA32_SYSENTER_ESP   0x175
#define MSR_IA32_SYSENTER_EIP   0x176
#define MSR_IA32_MISC_ENABLE    0x1a0
#define MSR_MTRR_DEF_TYPE       0x2ff
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SYSCALL_MASK        0xc0000084
#define MSR_KERNEL_GS_BASE      0xc0000102

#define BOOT_MSR_COUNT 11

uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);
struct kvm_segment gdt_entry_to_segment(uint64_t entry, unsigned int index);

/* Writes the GDT, an empty IDT, and PML4/PDPT/PD identity-mapping 1 GiB. */
int boot_tables_setup(const struct guest_mem *mem);

/* Adjusts KVM's default sregs for long mode with the boot GDT and page tables. */
void boot_sregs(struct kvm_sregs *sregs);
void boot_regs(struct kvm_regs *regs, uint64_t entry);
void boot_fpu(struct kvm_fpu *fpu);
/* Fills @entries (BOOT_MSR_COUNT of them) with the boot MSR values. */
void boot_msrs(struct kvm_msr_entry *entries);
/* LINT0 = ExtINT, LINT1 = NMI: what Linux expects from a PC's local APIC. */
void boot_lapic_lint(struct kvm_lapic_state *lapic);

#endif
