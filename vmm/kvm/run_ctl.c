/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/kvm/run_ctl.h"

void run_ctl_init(struct run_ctl *rc, void (*request_exit)(void *ctx, int code), void *exit_ctx)
{
	atomic_init(&rc->stopping, false);
	pthread_mutex_init(&rc->lock, NULL);
	pthread_cond_init(&rc->cond, NULL);
	rc->pause_requested = false;
	rc->nr_parked = rc->nr_running = 0;
	rc->request_exit = request_exit;
	rc->exit_ctx = exit_ctx;
}

void run_ctl_destroy(struct run_ctl *rc)
{
	/* Zeroed (never initialised) primitives are valid to destroy. */
	pthread_cond_destroy(&rc->cond);
	pthread_mutex_destroy(&rc->lock);
}

void run_ctl_request_exit(struct run_ctl *rc, int code)
{
	rc->request_exit(rc->exit_ctx, code);
}

bool run_ctl_stopping(struct run_ctl *rc)
{
	return atomic_load(&rc->stopping);
}

void run_ctl_request_pause(struct run_ctl *rc)
{
	pthread_mutex_lock(&rc->lock);
	rc->pause_requested = true;
	pthread_mutex_unlock(&rc->lock);
}

void run_ctl_wait_parked(struct run_ctl *rc)
{
	pthread_mutex_lock(&rc->lock);
	/* A vCPU thread that already exited cannot park; count only live ones. */
	while (rc->nr_parked < rc->nr_running && !run_ctl_stopping(rc))
		pthread_cond_wait(&rc->cond, &rc->lock);
	pthread_mutex_unlock(&rc->lock);
}

void run_ctl_resume(struct run_ctl *rc)
{
	pthread_mutex_lock(&rc->lock);
	rc->pause_requested = false;
	pthread_cond_broadcast(&rc->cond);
	pthread_mutex_unlock(&rc->lock);
}

void run_ctl_stop(struct run_ctl *rc)
{
	pthread_mutex_lock(&rc->lock);
	atomic_store(&rc->stopping, true);
	pthread_cond_broadcast(&rc->cond);
	pthread_mutex_unlock(&rc->lock);
}

void run_ctl_thread_starting(struct run_ctl *rc)
{
	pthread_mutex_lock(&rc->lock);
	rc->nr_running++;
	pthread_mutex_unlock(&rc->lock);
}

void run_ctl_thread_exited(struct run_ctl *rc)
{
	pthread_mutex_lock(&rc->lock);
	rc->nr_running--;
	pthread_cond_broadcast(&rc->cond); /* a pause may be waiting on us */
	pthread_mutex_unlock(&rc->lock);
}

bool run_ctl_park(struct run_ctl *rc, bool (*settle)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&rc->lock);
	if (settle && rc->pause_requested && !run_ctl_stopping(rc)) {
		pthread_mutex_unlock(&rc->lock);
		if (!settle(ctx))
			return false;
		pthread_mutex_lock(&rc->lock);
	}
	if (rc->pause_requested && !run_ctl_stopping(rc)) {
		rc->nr_parked++;
		pthread_cond_broadcast(&rc->cond);
		while (rc->pause_requested && !run_ctl_stopping(rc))
			pthread_cond_wait(&rc->cond, &rc->lock);
		rc->nr_parked--;
	}
	pthread_mutex_unlock(&rc->lock);
	return !run_ctl_stopping(rc);
}
