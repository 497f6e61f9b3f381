/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The run-control protocol between the VMM thread and one VM's vCPU threads:
 * stop for good, and pause by parking every thread outside KVM_RUN.
 *
 * The VMM thread asks (run_ctl_request_pause, run_ctl_stop), kicks the vCPUs
 * out of KVM_RUN itself (vcpu_kick) and waits (run_ctl_wait_parked); a vCPU
 * thread checks between two KVM_RUN calls (run_ctl_park). A vCPU that wants
 * the machine stopped (guest reset, a fatal exit) says so with
 * run_ctl_request_exit, which the VMM thread then carries out. One mutex and
 * one condition variable; pause and stop are rare, so nothing here is on the
 * KVM_RUN fast path but one relaxed atomic load.
 */
#ifndef IGNIS_RUN_CTL_H
#define IGNIS_RUN_CTL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct run_ctl {
	atomic_bool stopping;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool pause_requested;
	unsigned int nr_parked;
	unsigned int nr_running; /* threads started and not yet exited */
	/* Asks the VMM thread to stop the machine; callable from any thread. */
	void (*request_exit)(void *ctx, int code);
	void *exit_ctx;
};

void run_ctl_init(struct run_ctl *rc, void (*request_exit)(void *ctx, int code), void *exit_ctx);
void run_ctl_destroy(struct run_ctl *rc);

void run_ctl_request_exit(struct run_ctl *rc, int code);
bool run_ctl_stopping(struct run_ctl *rc);

/* VMM thread: from now on vCPU threads park at their next check; kick them. */
void run_ctl_request_pause(struct run_ctl *rc);
/* VMM thread: returns once every running vCPU thread is parked (or on a stop). */
void run_ctl_wait_parked(struct run_ctl *rc);
void run_ctl_resume(struct run_ctl *rc);
/* Any thread: stop for good; parked threads wake and leave. Kick and join after. */
void run_ctl_stop(struct run_ctl *rc);

/* vCPU thread bookkeeping, so a pause never waits for a thread that is gone. */
void run_ctl_thread_starting(struct run_ctl *rc);
void run_ctl_thread_exited(struct run_ctl *rc);
/*
 * vCPU thread: parks while a pause is requested. When it sees one, @settle
 * (if any) runs first, unlocked, before the thread counts as parked: the
 * vCPU completes its last exit there, so that a paused vCPU's state can be
 * saved. Seeing the pause and parking are one step under the lock otherwise:
 * a pause requested after the check is met in KVM_RUN (the kick), never by
 * parking unsettled. Returns false to stop (also when @settle does).
 */
bool run_ctl_park(struct run_ctl *rc, bool (*settle)(void *ctx), void *ctx);

#endif
