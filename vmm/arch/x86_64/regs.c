/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/arch/x86_64/regs.h"

#include <errno.h>
#include <string.h>

#include "vmm/arch/x86_64/layout.h"

#define PTE_PRESENT 0x1ULL
#define PTE_WRITE   0x2ULL
#define PTE_PS      0x80ULL
#define APIC_LVT0   0x350
#define APIC_LVT1   0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0xffffu);
}

struct kvm_segment gdt_entry_to_segment(uint64_t entry, unsigned int index)
{
	struct kvm_segment seg;
	uint32_t limit = (uint32_t)((entry & 0xffff) | ((entry >> 32) & 0xf0000));

	memset(&seg, 0, sizeof(seg));
	seg.base = ((entry >> 16) & 0xffffff) | ((entry >> 32) & 0xff000000);
	seg.g = (entry >> 55) & 1;
	seg.limit = seg.g ? (limit << 12) | 0xfff : limit;
	seg.selector = (uint16_t)(index * 8);
	seg.type = (entry >> 40) & 0xf;
	seg.s = (entry >> 44) & 1;
	seg.dpl = (entry >> 45) & 3;
	seg.present = (entry >> 47) & 1;
	seg.avl = (entry >> 52) & 1;
	seg.l = (entry >> 53) & 1;
	seg.db = (entry >> 54) & 1;
	seg.unusable = !seg.present;
	return seg;
}

static void boot_gdt(uint64_t gdt[BOOT_GDT_ENTRIES])
{
	gdt[0] = 0;
	gdt[1] = gdt_entry(GDT_CODE_FLAGS, 0, 0xfffff);
	gdt[2] = gdt_entry(GDT_DATA_FLAGS, 0, 0xfffff);
	gdt[3] = gdt_entry(GDT_TSS_FLAGS, 0, 0xfffff);
}

int boot_tables_setup(const struct guest_mem *mem)
{
	uint64_t gdt[BOOT_GDT_ENTRIES];
	uint64_t idt = 0, pml4e = PDPT_ADDR | PTE_PRESENT | PTE_WRITE;
	uint64_t pdpte = PD_ADDR | PTE_PRESENT | PTE_WRITE;
	uint64_t *pd;

	boot_gdt(gdt);
	if (guest_mem_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt)) ||
	    guest_mem_write(mem, BOOT_IDT_ADDR, &idt, sizeof(idt)))
		return -EFAULT;

	if (guest_mem_clear(mem, PML4_ADDR, 4096) || guest_mem_clear(mem, PDPT_ADDR, 4096) ||
	    guest_mem_write(mem, PML4_ADDR, &pml4e, sizeof(pml4e)) ||
	    guest_mem_write(mem, PDPT_ADDR, &pdpte, sizeof(pdpte)))
		return -EFAULT;
	pd = guest_mem_ptr_write(mem, PD_ADDR, 512 * sizeof(uint64_t));
	if (!pd)
		return -EFAULT;
	/* 512 x 2 MiB pages: the first GiB, enough for the kernel to set up its own. */
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t pde = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_PS;

		memcpy(&pd[i], &pde, sizeof(pde));
	}
	return 0;
}

void boot_sregs(struct kvm_sregs *sregs)
{
	uint64_t gdt[BOOT_GDT_ENTRIES];
	struct kvm_segment code, data, tss;

	boot_gdt(gdt);
	code = gdt_entry_to_segment(gdt[1], 1);
	data = gdt_entry_to_segment(gdt[2], 2);
	tss = gdt_entry_to_segment(gdt[3], 3);

	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = sizeof(gdt) - 1;
	sregs->idt.base = BOOT_IDT_ADDR;
	sregs->idt.limit = sizeof(uint64_t) - 1;
	sregs->cs = code;
	sregs->ds = data;
	sregs->es = data;
	sregs->fs = data;
	sregs->gs = data;
	sregs->ss = data;
	sregs->tr = tss;

	sregs->cr0 |= X86_CR0_PE | X86_CR0_PG;
	sregs->cr3 = PML4_ADDR;
	sregs->cr4 |= X86_CR4_PAE;
	sregs->efer |= EFER_LME | EFER_LMA;
}

void boot_regs(struct kvm_regs *regs, uint64_t entry)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2; /* bit 1 is reserved and always set */
	regs->rip = entry;
	regs->rsp = BOOT_STACK_ADDR;
	regs->rbp = BOOT_STACK_ADDR;
	regs->rsi = ZERO_PAGE_ADDR; /* the 64-bit boot protocol's boot_params pointer */
}

void boot_fpu(struct kvm_fpu *fpu)
{
	memset(fpu, 0, sizeof(*fpu));
	fpu->fcw = 0x37f;
	fpu->mxcsr = 0x1f80;
}

void boot_msrs(struct kvm_msr_entry *entries)
{
	static const struct {
		uint32_t index;
		uint64_t data;
	} msrs[BOOT_MSR_COUNT] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, 1 /* FAST_STRING */ },
		{ MSR_MTRR_DEF_TYPE, (1 << 11) | 6 /* MTRRs on, default write-back */ },
	};

	for (unsigned int i = 0; i < BOOT_MSR_COUNT; i++) {
		memset(&entries[i], 0, sizeof(entries[i]));
		entries[i].index = msrs[i].index;
		entries[i].data = msrs[i].data;
	}
}

static void lapic_set_mode(struct kvm_lapic_state *lapic, unsigned int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &lapic->regs[reg], sizeof(v));
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&lapic->regs[reg], &v, sizeof(v));
}

void boot_lapic_lint(struct kvm_lapic_state *lapic)
{
	lapic_set_mode(lapic, APIC_LVT0, APIC_MODE_EXTINT);
	lapic_set_mode(lapic, APIC_LVT1, APIC_MODE_NMI);
}
