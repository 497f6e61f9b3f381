/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPUID normalisation: start from what KVM supports on this host and make
 * each vCPU's view consistent with the microVM's topology (APIC IDs,
 * topology leaves), mark it as a guest, and hide what a VM cannot honour
 * (perfmon, turbo, WAITPKG, PDCM). See Firecracker's cpuid-normalization.md.
 */
#ifndef IGNIS_X86_CPUID_H
#define IGNIS_X86_CPUID_H

#include <stdbool.h>

#include <linux/kvm.h>

enum cpu_vendor {
	CPU_VENDOR_OTHER = 0,
	CPU_VENDOR_INTEL,
	CPU_VENDOR_AMD,
};

struct cpu_topology {
	unsigned int vcpu_id;  /* this vCPU's index, also its APIC ID */
	unsigned int nr_vcpus;
	bool smt;              /* two threads per core */
	bool tsc_deadline;     /* KVM_CAP_TSC_DEADLINE_TIMER */
};

enum cpu_vendor cpuid_vendor(const struct kvm_cpuid_entry2 *entries, unsigned int nent);

/* Rewrites @entries in place for one vCPU. */
void cpuid_normalize(struct kvm_cpuid_entry2 *entries, unsigned int nent,
		     const struct cpu_topology *topo);

#endif
