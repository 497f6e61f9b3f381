/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/arch/x86_64/cpuid.h"

#include <string.h>

#define LEAF1_ECX_PDCM       (1u << 15)
#define LEAF1_ECX_TSC_DEADLINE (1u << 24)
#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define LEAF1_EDX_HTT        (1u << 28)
#define LEAF6_EAX_TURBO      (1u << 1)
#define LEAF7_ECX_WAITPKG    (1u << 5)
#define CLFLUSH_LINE_QWORDS  8 /* 64-byte lines */

/* Topology level types in leaves 0xb / 0x1f, ECX[15:8]. */
#define TOPO_LEVEL_SMT  1
#define TOPO_LEVEL_CORE 2

enum cpu_vendor cpuid_vendor(const struct kvm_cpuid_entry2 *entries, unsigned int nent)
{
	for (unsigned int i = 0; i < nent; i++) {
		char v[12];

		if (entries[i].function != 0)
			continue;
		memcpy(v, &entries[i].ebx, 4);
		memcpy(v + 4, &entries[i].edx, 4);
		memcpy(v + 8, &entries[i].ecx, 4);
		if (memcmp(v, "GenuineIntel", 12) == 0)
			return CPU_VENDOR_INTEL;
		if (memcmp(v, "AuthenticAMD", 12) == 0)
			return CPU_VENDOR_AMD;
		break;
	}
	return CPU_VENDOR_OTHER;
}

/* Smallest n with (1 << n) >= @count. */
static unsigned int order_base_2(unsigned int count)
{
	unsigned int n = 0;

	while ((1u << n) < count)
		n++;
	return n;
}

static void topology_leaf(struct kvm_cpuid_entry2 *e, const struct cpu_topology *topo)
{
	unsigned int threads = topo->smt ? 2 : 1;

	e->edx = topo->vcpu_id; /* x2APIC ID */
	switch (e->index) {
	case 0:
		e->eax = order_base_2(threads);
		e->ebx = threads;
		e->ecx = (TOPO_LEVEL_SMT << 8) | e->index;
		break;
	case 1:
		e->eax = order_base_2(topo->nr_vcpus);
		e->ebx = topo->nr_vcpus;
		e->ecx = (TOPO_LEVEL_CORE << 8) | e->index;
		break;
	default:
		/* Level type 0 ends the enumeration. */
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index;
		break;
	}
}

void cpuid_normalize(struct kvm_cpuid_entry2 *entries, unsigned int nent,
		     const struct cpu_topology *topo)
{
	enum cpu_vendor vendor = cpuid_vendor(entries, nent);
	unsigned int threads = topo->smt ? 2 : 1;
	unsigned int cores = (topo->nr_vcpus + threads - 1) / threads;

	for (unsigned int i = 0; i < nent; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];

		switch (e->function) {
		case 0x1:
			e->ebx = (e->ebx & 0x000000ffu) | (topo->vcpu_id << 24) |
				 ((topo->nr_vcpus & 0xffu) << 16) | (CLFLUSH_LINE_QWORDS << 8);
			e->ecx |= LEAF1_ECX_HYPERVISOR;
			e->ecx &= ~LEAF1_ECX_PDCM;
			if (topo->tsc_deadline)
				e->ecx |= LEAF1_ECX_TSC_DEADLINE;
			else
				e->ecx &= ~LEAF1_ECX_TSC_DEADLINE;
			if (topo->nr_vcpus > 1)
				e->edx |= LEAF1_EDX_HTT;
			else
				e->edx &= ~LEAF1_EDX_HTT;
			break;
		case 0x4:
			if (vendor != CPU_VENDOR_INTEL)
				break;
			/* Cores per package - 1, and threads sharing this cache - 1. */
			e->eax &= 0x3fffu;
			e->eax |= ((cores - 1) & 0x3fu) << 26;
			if (((e->eax >> 5) & 0x7) <= 2) /* L1/L2: per core */
				e->eax |= ((threads - 1) & 0xfffu) << 14;
			else /* L3: whole package */
				e->eax |= ((topo->nr_vcpus - 1) & 0xfffu) << 14;
			break;
		case 0x6:
			e->eax &= ~LEAF6_EAX_TURBO;
			break;
		case 0x7:
			if (e->index == 0)
				e->ecx &= ~LEAF7_ECX_WAITPKG;
			break;
		case 0xa:
			/* No architectural perfmon: KVM's vPMU is not offered. */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			topology_leaf(e, topo);
			break;
		case 0x80000008:
			if (vendor != CPU_VENDOR_AMD)
				break;
			/* NC = threads in package - 1; ApicIdCoreIdSize. */
			e->ecx = (e->ecx & ~0xf0ffu) | ((topo->nr_vcpus - 1) & 0xffu) |
				 (order_base_2(topo->nr_vcpus) << 12);
			break;
		case 0x8000001e:
			if (vendor != CPU_VENDOR_AMD)
				break;
			e->eax = topo->vcpu_id; /* extended APIC ID */
			e->ebx = ((threads - 1) << 8) | (topo->vcpu_id / threads);
			e->ecx = 0; /* one node */
			e->edx = 0;
			break;
		default:
			break;
		}
	}
}
