/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel MultiProcessor Specification 1.4 table at EBDA_START, so a Linux
 * built without ACPI finds every vCPU, the IOAPIC and the ISA IRQ routing.
 */
#ifndef IGNIS_X86_MPTABLE_H
#define IGNIS_X86_MPTABLE_H

#include "vmm/memory/memory.h"

#define MPTABLE_MAX_CPUS 32
#define MPTABLE_IRQS 24 /* IOAPIC pins */

/* Returns 0, -EINVAL for a bad CPU count, -EFAULT if memory is too small. */
int mptable_setup(const struct guest_mem *mem, unsigned int nr_cpus);

#endif
