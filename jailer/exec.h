/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The final exec and the start-time flags it passes, as Firecracker's
 * jailer does:
 *   /<exec-name> --id <id> --start-time-us <t> --start-time-cpu-us <t>
 *                --parent-cpu-time-us <t> [args after "--"]
 */
#ifndef IGNIS_JAILER_EXEC_H
#define IGNIS_JAILER_EXEC_H

#include <stddef.h>
#include <stdint.h>

struct timing {
	uint64_t start_us;	/* CLOCK_MONOTONIC when the jailer started */
	uint64_t start_cpu_us;	/* this process's CPU clock then; 0 after a fork */
	uint64_t parent_cpu_us;	/* CPU time spent by the jailer processes before a fork */
};

/* Call first thing in main(). */
void timing_start(struct timing *t);

/* This process's CPU time, in microseconds. */
uint64_t timing_cpu_now_us(void);

/*
 * In a fork child: the parent's CPU time up to the fork (cpu_at_fork, read
 * by the parent just before fork) moves to parent_cpu_us, and this child's
 * CPU clock starts from 0.
 */
void timing_forked(struct timing *t, uint64_t cpu_at_fork);

/*
 * execve("/<exec_name>", ...) with an empty environment. Returns -errno only
 * if the exec failed (and says why).
 */
int exec_jailed(const char *exec_name, const char *id, const struct timing *t,
		char *const *extra, size_t n_extra);

#endif
