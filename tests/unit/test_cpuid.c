/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPUID normalisation against a fake KVM_GET_SUPPORTED_CPUID result: each
 * vCPU must see its own APIC ID, a topology that matches the microVM, and no
 * feature a VM cannot honour.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vmm/arch/x86_64/cpuid.h"

#define MAX_ENTRIES 32

#define LEAF1_ECX_PDCM         (1u << 15)
#define LEAF1_ECX_TSC_DEADLINE (1u << 24)
#define LEAF1_ECX_HYPERVISOR   (1u << 31)
#define LEAF1_EDX_HTT          (1u << 28)
#define LEAF6_EAX_TURBO        (1u << 1)
#define LEAF6_EAX_ARAT         (1u << 2)
#define LEAF7_ECX_UMIP         (1u << 2)
#define LEAF7_ECX_WAITPKG      (1u << 5)

/* Leaf 4 EAX as a host would report it: cache type 1/2/3 and level in [7:5]. */
#define CACHE(level, type) (0xfc000000u | 0x3ffc000u | 0x100u | ((level) << 5) | (type))

static struct kvm_cpuid_entry2 cpuid[MAX_ENTRIES];
static unsigned int nent;

static void add(uint32_t function, uint32_t index, uint32_t eax, uint32_t ebx, uint32_t ecx,
		uint32_t edx)
{
	cr_assert_lt(nent, MAX_ENTRIES);
	cpuid[nent++] = (struct kvm_cpuid_entry2){ .function = function, .index = index,
						   .eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx };
}

static void add_vendor(const char vendor[12])
{
	uint32_t ebx, edx, ecx;

	memcpy(&ebx, vendor, 4);
	memcpy(&edx, vendor + 4, 4);
	memcpy(&ecx, vendor + 8, 4);
	add(0, 0, 0x1f, ebx, ecx, edx);
}

/* What a host's KVM reports, including the bits normalisation must change. */
static void host_cpuid(const char vendor[12])
{
	nent = 0;
	memset(cpuid, 0, sizeof(cpuid));
	add_vendor(vendor);
	/* APIC ID 0x07, 16 logical CPUs, CLFLUSH 16 qwords, brand index 0x5a. */
	add(0x1, 0, 0x000906ea, 0x0710105a, LEAF1_ECX_PDCM | 0x1, LEAF1_EDX_HTT | 0x1);
	add(0x4, 0, CACHE(1, 1), 0x01c0003f, 0x3f, 0);
	add(0x4, 1, CACHE(1, 2), 0x01c0003f, 0x3f, 0);
	add(0x4, 2, CACHE(2, 3), 0x01c0003f, 0x3ff, 0);
	add(0x4, 3, CACHE(3, 3), 0x03c0003f, 0x3fff, 0);
	add(0x6, 0, LEAF6_EAX_TURBO | LEAF6_EAX_ARAT, 0, 0x1, 0);
	add(0x7, 0, 0, 0x029c6fbf, LEAF7_ECX_WAITPKG | LEAF7_ECX_UMIP, 0xbc000400);
	add(0xa, 0, 0x07300805, 0xffffffff, 0x1, 0x8603);
	for (uint32_t i = 0; i < 3; i++) {
		add(0xb, i, 0x4, 0x10, (i + 1) << 8 | i, 0x07);
		add(0x1f, i, 0x4, 0x10, (i + 1) << 8 | i, 0x07);
	}
	add(0x80000008, 0, 0x3030, 0, 0x700f, 0);
	add(0x8000001e, 0, 0x0e, 0x0107, 0x0300, 0);
}

static void normalize(unsigned int vcpu_id, unsigned int nr_vcpus, bool smt, bool tsc_deadline)
{
	const struct cpu_topology topo = { .vcpu_id = vcpu_id, .nr_vcpus = nr_vcpus, .smt = smt,
					   .tsc_deadline = tsc_deadline };

	cpuid_normalize(cpuid, nent, &topo);
}

static const struct kvm_cpuid_entry2 *leaf(uint32_t function, uint32_t index)
{
	for (unsigned int i = 0; i < nent; i++)
		if (cpuid[i].function == function && cpuid[i].index == index)
			return &cpuid[i];
	cr_assert_fail("no leaf 0x%x.%u", function, index);
	return NULL;
}

static void intel(void)
{
	host_cpuid("GenuineIntel");
}

static void amd(void)
{
	host_cpuid("AuthenticAMD");
}

TestSuite(cpuid_intel, .init = intel);
TestSuite(cpuid_amd, .init = amd);

/* ---- vendor ---- */

Test(cpuid_vendor, genuine_intel_is_intel, .init = intel)
{
	cr_assert_eq(cpuid_vendor(cpuid, nent), CPU_VENDOR_INTEL);
}

Test(cpuid_vendor, authentic_amd_is_amd, .init = amd)
{
	cr_assert_eq(cpuid_vendor(cpuid, nent), CPU_VENDOR_AMD);
}

Test(cpuid_vendor, other_vendor_string_is_other)
{
	host_cpuid("HygonGenuine");
	cr_assert_eq(cpuid_vendor(cpuid, nent), CPU_VENDOR_OTHER);
}

Test(cpuid_vendor, missing_leaf_0_is_other, .init = intel)
{
	cr_assert_eq(cpuid_vendor(cpuid + 1, nent - 1), CPU_VENDOR_OTHER);
}

/* ---- leaf 1 ---- */

Test(cpuid_intel, leaf1_ebx_carries_the_apic_id)
{
	normalize(3, 4, false, false);
	cr_assert_eq(leaf(0x1, 0)->ebx >> 24, 3);
}

Test(cpuid_intel, leaf1_ebx_of_the_boot_cpu_has_apic_id_0)
{
	normalize(0, 1, false, false);
	cr_assert_eq(leaf(0x1, 0)->ebx >> 24, 0);
}

Test(cpuid_intel, leaf1_ebx_reports_64_byte_clflush_lines)
{
	normalize(3, 4, false, false);
	cr_assert_eq((leaf(0x1, 0)->ebx >> 8) & 0xff, 8);
}

Test(cpuid_intel, leaf1_ebx_counts_the_vcpus_and_keeps_the_brand_index)
{
	normalize(3, 4, false, false);
	cr_assert_eq((leaf(0x1, 0)->ebx >> 16) & 0xff, 4);
	cr_assert_eq(leaf(0x1, 0)->ebx & 0xff, 0x5a);
}

Test(cpuid_intel, leaf1_sets_the_hypervisor_bit)
{
	normalize(0, 1, false, false);
	cr_assert(leaf(0x1, 0)->ecx & LEAF1_ECX_HYPERVISOR);
	cr_assert(leaf(0x1, 0)->ecx & 0x1, "other ECX bits are kept");
}

Test(cpuid_intel, leaf1_hides_pdcm)
{
	normalize(0, 1, false, false);
	cr_assert_not(leaf(0x1, 0)->ecx & LEAF1_ECX_PDCM);
}

Test(cpuid_intel, leaf1_offers_tsc_deadline_when_kvm_has_it)
{
	normalize(0, 1, false, true);
	cr_assert(leaf(0x1, 0)->ecx & LEAF1_ECX_TSC_DEADLINE);
}

Test(cpuid_intel, leaf1_hides_tsc_deadline_when_kvm_lacks_it)
{
	cpuid[1].ecx |= LEAF1_ECX_TSC_DEADLINE;
	normalize(0, 1, false, false);
	cr_assert_not(leaf(0x1, 0)->ecx & LEAF1_ECX_TSC_DEADLINE);
}

Test(cpuid_intel, leaf1_clears_htt_for_a_single_vcpu)
{
	normalize(0, 1, false, false);
	cr_assert_not(leaf(0x1, 0)->edx & LEAF1_EDX_HTT);
	cr_assert(leaf(0x1, 0)->edx & 0x1, "other EDX bits are kept");
}

Test(cpuid_intel, leaf1_sets_htt_for_several_vcpus)
{
	cpuid[1].edx &= ~LEAF1_EDX_HTT;
	normalize(3, 4, false, false);
	cr_assert(leaf(0x1, 0)->edx & LEAF1_EDX_HTT);
}

/* ---- leaves 6, 7, 0xa ---- */

Test(cpuid_intel, leaf6_hides_turbo_and_keeps_arat)
{
	normalize(0, 1, false, false);
	cr_assert_eq(leaf(0x6, 0)->eax, LEAF6_EAX_ARAT);
}

Test(cpuid_intel, leaf7_hides_waitpkg_and_keeps_the_rest)
{
	normalize(0, 1, false, false);
	cr_assert_eq(leaf(0x7, 0)->ecx, LEAF7_ECX_UMIP);
	cr_assert_eq(leaf(0x7, 0)->ebx, 0x029c6fbf);
	cr_assert_eq(leaf(0x7, 0)->edx, 0xbc000400);
}

Test(cpuid_intel, leaf_0xa_perfmon_is_zeroed)
{
	const struct kvm_cpuid_entry2 *e;

	normalize(0, 1, false, false);
	e = leaf(0xa, 0);
	cr_assert_eq(e->eax | e->ebx | e->ecx | e->edx, 0);
}

/* ---- topology leaves 0xb and 0x1f ---- */

/* Intel's extended topology leaf 0xb and its successor 0x1f read the same. */
static const uint32_t topology_leaves[] = { 0xb, 0x1f };

static void assert_x2apic_id_in_every_subleaf(unsigned int apic_id)
{
	for (unsigned int k = 0; k < 2; k++) {
		uint32_t fn = topology_leaves[k];

		for (uint32_t i = 0; i < 3; i++)
			cr_assert_eq(leaf(fn, i)->edx, apic_id, "leaf 0x%x.%u EDX", fn, i);
	}
}

Test(cpuid_intel, topology_leaves_report_the_x2apic_id)
{
	normalize(3, 4, false, false);
	assert_x2apic_id_in_every_subleaf(3);
}

Test(cpuid_intel, apic_id_is_the_vcpu_index_with_smt_too)
{
	normalize(3, 4, true, false);
	cr_assert_eq(leaf(0x1, 0)->ebx >> 24, 3);
	assert_x2apic_id_in_every_subleaf(3);
}

Test(cpuid_intel, topology_leaves_report_x2apic_id_0_for_the_boot_cpu)
{
	normalize(0, 1, false, false);
	assert_x2apic_id_in_every_subleaf(0);
}

Test(cpuid_intel, topology_subleaf_0_is_one_thread_without_smt)
{
	normalize(3, 4, false, false);
	for (unsigned int k = 0; k < 2; k++) {
		uint32_t fn = topology_leaves[k];

		cr_assert_eq((leaf(fn, 0)->ecx >> 8) & 0xff, 1, "leaf 0x%x: type SMT", fn);
		cr_assert_eq(leaf(fn, 0)->ecx & 0xff, 0);
		cr_assert_eq(leaf(fn, 0)->ebx, 1);
		cr_assert_eq(leaf(fn, 0)->eax, 0);
	}
}

Test(cpuid_intel, topology_subleaf_0_is_two_threads_with_smt)
{
	normalize(3, 4, true, false);
	for (unsigned int k = 0; k < 2; k++) {
		uint32_t fn = topology_leaves[k];

		cr_assert_eq((leaf(fn, 0)->ecx >> 8) & 0xff, 1, "leaf 0x%x: type SMT", fn);
		cr_assert_eq(leaf(fn, 0)->ebx, 2);
		cr_assert_eq(leaf(fn, 0)->eax, 1, "one APIC ID bit per thread");
	}
}

Test(cpuid_intel, topology_subleaf_1_is_the_core_level_with_every_vcpu)
{
	normalize(3, 4, false, false);
	for (unsigned int k = 0; k < 2; k++) {
		uint32_t fn = topology_leaves[k];

		cr_assert_eq((leaf(fn, 1)->ecx >> 8) & 0xff, 2, "leaf 0x%x: type core", fn);
		cr_assert_eq(leaf(fn, 1)->ecx & 0xff, 1);
		cr_assert_eq(leaf(fn, 1)->ebx, 4);
		cr_assert_eq(leaf(fn, 1)->eax, 2, "APIC IDs 0..3 need 2 bits");
	}
}

Test(cpuid_intel, topology_subleaf_2_ends_the_enumeration)
{
	normalize(3, 4, true, false);
	for (unsigned int k = 0; k < 2; k++) {
		uint32_t fn = topology_leaves[k];

		cr_assert_eq((leaf(fn, 2)->ecx >> 8) & 0xff, 0, "leaf 0x%x: type invalid", fn);
		cr_assert_eq(leaf(fn, 2)->ecx & 0xff, 2);
		cr_assert_eq(leaf(fn, 2)->ebx, 0);
		cr_assert_eq(leaf(fn, 2)->eax, 0);
	}
}

/* ---- Intel leaf 4: deterministic cache parameters ---- */

Test(cpuid_intel, leaf4_counts_cores_without_smt)
{
	normalize(3, 4, false, false);
	for (uint32_t i = 0; i < 4; i++)
		cr_assert_eq(leaf(0x4, i)->eax >> 26, 3, "subleaf %u", i);
}

Test(cpuid_intel, leaf4_counts_cores_with_smt)
{
	normalize(3, 4, true, false);
	for (uint32_t i = 0; i < 4; i++)
		cr_assert_eq(leaf(0x4, i)->eax >> 26, 1, "subleaf %u", i);
}

Test(cpuid_intel, leaf4_single_vcpu_has_one_core)
{
	normalize(0, 1, false, false);
	for (uint32_t i = 0; i < 4; i++)
		cr_assert_eq(leaf(0x4, i)->eax >> 26, 0, "subleaf %u", i);
}

Test(cpuid_intel, leaf4_l1_and_l2_are_shared_by_the_threads_of_a_core)
{
	normalize(3, 4, true, false);
	for (uint32_t i = 0; i < 3; i++)
		cr_assert_eq((leaf(0x4, i)->eax >> 14) & 0xfff, 1, "subleaf %u", i);
}

Test(cpuid_intel, leaf4_l3_is_shared_by_every_vcpu)
{
	normalize(3, 4, true, false);
	cr_assert_eq((leaf(0x4, 3)->eax >> 14) & 0xfff, 3);
}

Test(cpuid_intel, leaf4_keeps_the_cache_description)
{
	normalize(3, 4, false, false);
	cr_assert_eq(leaf(0x4, 3)->eax & 0x3fff, CACHE(3, 3) & 0x3fff);
	cr_assert_eq(leaf(0x4, 3)->ecx, 0x3fff);
}

Test(cpuid_intel, amd_extended_topology_is_left_alone_on_intel)
{
	normalize(3, 4, false, false);
	cr_assert_eq(leaf(0x8000001e, 0)->eax, 0x0e);
	cr_assert_eq(leaf(0x80000008, 0)->ecx, 0x700f);
}

/* ---- AMD ---- */

Test(cpuid_amd, leaf_8000001e_eax_is_the_extended_apic_id)
{
	normalize(3, 4, false, false);
	cr_assert_eq(leaf(0x8000001e, 0)->eax, 3);
}

Test(cpuid_amd, leaf_8000001e_ebx_gives_threads_per_core_and_core_id)
{
	normalize(3, 4, true, false);
	cr_assert_eq((leaf(0x8000001e, 0)->ebx >> 8) & 0xff, 1, "two threads per core");
	cr_assert_eq(leaf(0x8000001e, 0)->ebx & 0xff, 1, "vCPU 3 is core 1's second thread");
}

Test(cpuid_amd, leaf_80000008_counts_the_vcpus)
{
	normalize(3, 4, false, false);
	cr_assert_eq(leaf(0x80000008, 0)->ecx & 0xff, 3);
	cr_assert_eq((leaf(0x80000008, 0)->ecx >> 12) & 0xf, 2);
}

Test(cpuid_amd, leaf1_carries_the_apic_id_on_amd_too)
{
	normalize(3, 4, false, false);
	cr_assert_eq(leaf(0x1, 0)->ebx >> 24, 3);
	cr_assert(leaf(0x1, 0)->ecx & LEAF1_ECX_HYPERVISOR);
}

Test(cpuid_amd, intel_cache_leaf_is_left_alone_on_amd)
{
	normalize(3, 4, false, false);
	cr_assert_eq(leaf(0x4, 0)->eax, CACHE(1, 1));
}
