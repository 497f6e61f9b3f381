/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One vCPU: its KVM fd, its shared kvm_run page and its thread. The thread
 * loops on KVM_RUN and dispatches port and MMIO exits to the VM's buses;
 * anything that ends the guest is reported to the VMM thread through the
 * run-control protocol (run_ctl.h), which then stops every vCPU. A vCPU
 * knows its machine only through struct vcpu_shared: it never sees the
 * devices or the struct vm that holds it.
 */
#ifndef IGNIS_VCPU_H
#define IGNIS_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "vmm/kvm/bus.h"
#include "vmm/kvm/run_ctl.h"
#include "vmm/kvm/snapshot_timing.h"
#include "vmm/util/error.h"

struct seccomp_filters;

/* What every vCPU of one VM shares; owned by the VM, which fills it in. */
struct vcpu_shared {
	int vm_fd;
	size_t run_size;                          /* KVM_GET_VCPU_MMAP_SIZE */
	const struct kvm_cpuid2 *supported_cpuid; /* KVM_GET_SUPPORTED_CPUID */
	bool tsc_deadline;                        /* KVM_CAP_TSC_DEADLINE_TIMER */
	bool smt;
	unsigned int nr_vcpus; /* final before vcpu_configure_boot (CPU topology) */
	const struct bus *pio_bus, *mmio_bus;
	struct run_ctl *run;
	const struct seccomp_filters *seccomp; /* the vCPU filter; NULL: none */
	struct snapshot_timing *load_timing;
};

/* Written by the vCPU thread, read by the metrics flush (relaxed atomics). */
struct vcpu_stats {
	uint64_t exit_io_in, exit_io_out;
	uint64_t exit_mmio_read, exit_mmio_write;
	uint64_t failures;
};

struct vcpu {
	const struct vcpu_shared *shared;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	/* The last exit was I/O or MMIO: KVM finishes it on the next KVM_RUN. (vCPU thread) */
	bool exit_pending;
	struct vcpu_stats stats;
};

int vcpu_create(const struct vcpu_shared *shared, unsigned int id, struct vcpu *vcpu,
		struct err_buf *err);
/* Loads CPUID, MSRs, registers and LAPIC for a 64-bit Linux boot at @entry. */
int vcpu_configure_boot(struct vcpu *vcpu, uint64_t entry, struct err_buf *err);
int vcpu_start(struct vcpu *vcpu);
/* Makes KVM_RUN return promptly (now or on its next entry). Any thread. */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);

/* The signal used to kick vCPU threads out of KVM_RUN. */
int vcpu_kick_signal(void);
/* Installs the no-op kick handler; once per process, before threads start. */
int vcpu_signals_init(void);

#endif
