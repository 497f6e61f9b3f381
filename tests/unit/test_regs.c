/* SPDX-License-Identifier: Apache-2.0 */
/* Long-mode boot state: GDT, identity page tables, and the register images. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/regs.h"

#define RAM_SIZE (1u << 20)
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360

static uint64_t read_u64(const struct guest_mem *mem, uint64_t gpa)
{
	uint64_t v;

	cr_assert_eq(guest_mem_read(mem, gpa, &v, sizeof(v)), 0);
	return v;
}

static uint32_t lapic_reg(const struct kvm_lapic_state *lapic, unsigned int reg)
{
	uint32_t v;

	memcpy(&v, &lapic->regs[reg], sizeof(v));
	return v;
}

static void set_lapic_reg(struct kvm_lapic_state *lapic, unsigned int reg, uint32_t v)
{
	memcpy(&lapic->regs[reg], &v, sizeof(v));
}

Test(regs, gdt_entry_encodes_the_64bit_code_segment)
{
	cr_assert_eq(gdt_entry(GDT_CODE_FLAGS, 0, 0xfffff), 0x00af9b000000ffffULL);
}

Test(regs, gdt_entry_encodes_the_flat_data_segment)
{
	cr_assert_eq(gdt_entry(GDT_DATA_FLAGS, 0, 0xfffff), 0x00cf93000000ffffULL);
}

Test(regs, gdt_entry_splits_base_and_limit_across_the_descriptor)
{
	cr_assert_eq(gdt_entry(GDT_DATA_FLAGS, 0x12345678, 0xabcde), 0x12ca93345678bcdeULL);
}

Test(regs, code_descriptor_becomes_a_long_mode_segment)
{
	struct kvm_segment cs = gdt_entry_to_segment(gdt_entry(GDT_CODE_FLAGS, 0, 0xfffff), 1);

	cr_assert_eq(cs.selector, 8);
	cr_assert_eq(cs.base, 0);
	cr_assert_eq(cs.limit, 0xffffffff);
	cr_assert_eq(cs.g, 1);
	cr_assert_eq(cs.l, 1);
	cr_assert_eq(cs.db, 0);
	cr_assert_eq(cs.type, 0xb);
	cr_assert_eq(cs.s, 1);
	cr_assert_eq(cs.present, 1);
	cr_assert_eq(cs.dpl, 0);
	cr_assert_eq(cs.unusable, 0);
}

Test(regs, data_descriptor_becomes_a_flat_32bit_segment)
{
	struct kvm_segment ds = gdt_entry_to_segment(gdt_entry(GDT_DATA_FLAGS, 0, 0xfffff), 2);

	cr_assert_eq(ds.selector, 16);
	cr_assert_eq(ds.limit, 0xffffffff);
	cr_assert_eq(ds.g, 1);
	cr_assert_eq(ds.l, 0);
	cr_assert_eq(ds.db, 1);
	cr_assert_eq(ds.type, 0x3);
	cr_assert_eq(ds.present, 1);
}

Test(regs, segment_round_trips_base_and_byte_granular_limit)
{
	struct kvm_segment s = gdt_entry_to_segment(gdt_entry(0x0093, 0x12345678, 0xabcde), 3);

	cr_assert_eq(s.base, 0x12345678);
	cr_assert_eq(s.g, 0);
	cr_assert_eq(s.limit, 0xabcde);
	cr_assert_eq(s.selector, 24);
}

Test(regs, boot_tables_write_the_gdt_at_0x500)
{
	uint8_t *ram = calloc(1, RAM_SIZE);
	struct guest_mem mem;

	cr_assert_eq(guest_mem_init_view(&mem, 0, ram, RAM_SIZE), 0);
	cr_assert_eq(boot_tables_setup(&mem), 0);
	cr_assert_eq(read_u64(&mem, 0x500), 0);
	cr_assert_eq(read_u64(&mem, 0x508), 0x00af9b000000ffffULL);
	cr_assert_eq(read_u64(&mem, 0x510), 0x00cf93000000ffffULL);
	cr_assert_eq(read_u64(&mem, 0x518), gdt_entry(GDT_TSS_FLAGS, 0, 0xfffff));
	free(ram);
}

Test(regs, boot_tables_identity_map_the_first_gigabyte_with_2m_pages)
{
	uint8_t *ram = malloc(RAM_SIZE);
	struct guest_mem mem;

	memset(ram, 0xcc, RAM_SIZE); /* stale data the tables must not inherit */
	cr_assert_eq(guest_mem_init_view(&mem, 0, ram, RAM_SIZE), 0);
	cr_assert_eq(boot_tables_setup(&mem), 0);

	cr_assert_eq(read_u64(&mem, PML4_ADDR), 0xa003);
	cr_assert_eq(read_u64(&mem, PDPT_ADDR), 0xb003);
	for (uint64_t i = 1; i < 512; i++) {
		cr_assert_eq(read_u64(&mem, PML4_ADDR + i * 8), 0, "PML4[%llu] not empty",
			     (unsigned long long)i);
		cr_assert_eq(read_u64(&mem, PDPT_ADDR + i * 8), 0, "PDPT[%llu] not empty",
			     (unsigned long long)i);
	}
	for (uint64_t i = 0; i < 512; i++)
		cr_assert_eq(read_u64(&mem, PD_ADDR + i * 8), (i << 21) | 0x83,
			     "PD[%llu] = 0x%llx", (unsigned long long)i,
			     (unsigned long long)read_u64(&mem, PD_ADDR + i * 8));
	free(ram);
}

Test(regs, boot_tables_fail_when_memory_cannot_hold_them)
{
	uint8_t *ram = calloc(1, RAM_SIZE);
	struct guest_mem mem;

	cr_assert_eq(guest_mem_init_view(&mem, 0, ram, 0x100), 0);
	cr_assert_eq(boot_tables_setup(&mem), -EFAULT, "GDT does not fit");
	cr_assert_eq(guest_mem_init_view(&mem, 0, ram, PD_ADDR + 0x800), 0);
	cr_assert_eq(boot_tables_setup(&mem), -EFAULT, "page directory does not fit");
	free(ram);
}

Test(regs, boot_sregs_enter_long_mode_with_paging)
{
	struct kvm_sregs sregs;

	memset(&sregs, 0, sizeof(sregs));
	sregs.cr0 = 0x60000010; /* KVM's reset value: CD|NW|ET, kept */
	boot_sregs(&sregs);

	cr_assert_eq(sregs.cr0, 0x60000010 | X86_CR0_PE | X86_CR0_PG);
	cr_assert_eq(sregs.cr3, 0x9000);
	cr_assert(sregs.cr4 & X86_CR4_PAE);
	cr_assert_eq(sregs.efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
}

Test(regs, boot_sregs_load_the_boot_gdt_segments)
{
	struct kvm_sregs sregs;

	memset(&sregs, 0, sizeof(sregs));
	boot_sregs(&sregs);

	cr_assert_eq(sregs.gdt.base, 0x500);
	cr_assert_eq(sregs.gdt.limit, BOOT_GDT_ENTRIES * 8 - 1);
	cr_assert_eq(sregs.cs.l, 1);
	cr_assert_eq(sregs.cs.selector, 8);
	cr_assert_eq(sregs.ds.selector, 16);
	cr_assert_eq(sregs.ss.selector, 16);
	cr_assert_eq(sregs.tr.selector, 24);
	cr_assert_eq(sregs.tr.type, 0xb);
}

Test(regs, boot_regs_point_at_entry_stack_and_zero_page)
{
	struct kvm_regs regs;

	memset(&regs, 0xff, sizeof(regs));
	boot_regs(&regs, 0x1000000);

	cr_assert_eq(regs.rip, 0x1000000);
	cr_assert_eq(regs.rsp, 0x8ff0);
	cr_assert_eq(regs.rbp, 0x8ff0);
	cr_assert_eq(regs.rsi, 0x7000);
	cr_assert_eq(regs.rflags, 0x2);
	cr_assert_eq(regs.rax, 0);
}

Test(regs, boot_fpu_has_the_reset_control_words)
{
	struct kvm_fpu fpu;

	boot_fpu(&fpu);
	cr_assert_eq(fpu.fcw, 0x37f);
	cr_assert_eq(fpu.mxcsr, 0x1f80);
}

Test(regs, boot_msrs_enable_fast_strings_and_write_back_mtrrs)
{
	struct kvm_msr_entry msrs[BOOT_MSR_COUNT];
	int misc = -1, mtrr = -1;

	boot_msrs(msrs);
	for (int i = 0; i < BOOT_MSR_COUNT; i++) {
		if (msrs[i].index == MSR_IA32_MISC_ENABLE)
			misc = i;
		if (msrs[i].index == MSR_MTRR_DEF_TYPE)
			mtrr = i;
	}
	cr_assert_geq(misc, 0, "IA32_MISC_ENABLE missing");
	cr_assert_geq(mtrr, 0, "MTRRdefType missing");
	cr_assert_eq(msrs[misc].data, 1);
	/* E (bit 11) and type WB; FE stays clear, as in Firecracker, because KVM's
	 * fixed-range MTRRs reset to UC and would make the first MiB uncached. */
	cr_assert_eq(msrs[mtrr].data, 0x806);
}

Test(regs, boot_lapic_lint_sets_extint_and_nmi_keeping_other_bits)
{
	struct kvm_lapic_state lapic;

	memset(&lapic, 0, sizeof(lapic));
	set_lapic_reg(&lapic, APIC_LVT0, 0x00010231); /* masked, SMI mode, vector 0x31 */
	set_lapic_reg(&lapic, APIC_LVT1, 0x00010700);
	boot_lapic_lint(&lapic);

	cr_assert_eq(lapic_reg(&lapic, APIC_LVT0), 0x00010731);
	cr_assert_eq(lapic_reg(&lapic, APIC_LVT1), 0x00010400);
	cr_assert_eq((lapic_reg(&lapic, APIC_LVT0) >> 8) & 7, 7, "ExtINT");
	cr_assert_eq((lapic_reg(&lapic, APIC_LVT1) >> 8) & 7, 4, "NMI");
}
