/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's --boot-timer device: the guest writes 123 to the first byte
 * of its MMIO page when init starts, and the VMM logs the wall and CPU time
 * since the VMM started.
 */
#ifndef IGNIS_BOOT_TIMER_H
#define IGNIS_BOOT_TIMER_H

#include <stdint.h>

#include "vmm/kvm/bus.h"

#define BOOT_TIMER_MAGIC 123

struct boot_timer {
	uint64_t start_wall_us; /* CLOCK_MONOTONIC */
	uint64_t start_cpu_us;  /* CLOCK_PROCESS_CPUTIME_ID */
};

extern const struct bus_device_ops boot_timer_ops;

#endif
