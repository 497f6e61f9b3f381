/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Timing of snapshot create and load, for tests/perf/snapshot-bench.sh: one
 * info line per create and per resumed load. "First guest instruction after
 * a load" is measured as the first KVM_RUN exit of any vCPU after the
 * restored microVM starts running: the earliest point the VMM can see that
 * the guest has executed. A load without resume_vm logs nothing.
 *
 * Cost on the normal path: one relaxed atomic load per vCPU exit.
 */
#ifndef IGNIS_SNAPSHOT_TIMING_H
#define IGNIS_SNAPSHOT_TIMING_H

#include <stdatomic.h>
#include <stdint.h>

#include <linux/kvm.h>

struct snapshot_timing {
	uint64_t request_ns;  /* CLOCK_MONOTONIC: the load request reached the controller */
	uint64_t restored_ns; /* state, memory and devices restored; vCPUs about to start */
	atomic_bool armed;    /* until the first vCPU exit after the start */
};

uint64_t snapshot_timing_now_ns(void);

/* Before the restored microVM's vCPUs start running. */
void snapshot_timing_arm(struct snapshot_timing *t, uint64_t request_ns);

/* Logs the load line (with @run's exit); only the first caller after an arm does. */
void snapshot_timing_first_exit(struct snapshot_timing *t, const struct kvm_run *run);

/* From a vCPU thread after every KVM_RUN that returned. */
static inline void snapshot_timing_on_exit(struct snapshot_timing *t, const struct kvm_run *run)
{
	if (__builtin_expect(atomic_load_explicit(&t->armed, memory_order_relaxed), 0))
		snapshot_timing_first_exit(t, run);
}

/*
 * The create line: @t0 request handled, @t1 state file written, @t2 memory
 * file written (CLOCK_MONOTONIC ns); sizes from the files themselves.
 */
void snapshot_timing_log_create(const char *state_path, const char *mem_path, uint64_t t0,
				uint64_t t1, uint64_t t2);

#endif
