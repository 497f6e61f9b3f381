/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vmm: the VMM thread. It owns the event loop, the configuration as
 * the config file or the API builds it, and, once started, the microVM.
 * Everything that changes VM state happens here, on the calling thread of
 * vmm_run(); vCPU threads and the API thread only ask.
 */
#ifndef IGNIS_VMM_H
#define IGNIS_VMM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/config/config.h"
#include "vmm/machine/vm.h"
#include "vmm/util/error.h"
#include "vmm/util/event_loop.h"

struct snapshot_state;

enum vmm_state {
	VMM_NOT_STARTED = 0,
	VMM_RUNNING,
	VMM_PAUSED,
};

struct vmm_opts {
	const char *id;
	bool boot_timer;
	int console_in_fd;  /* -1: no guest input */
	int console_out_fd;
	int signal_fd;      /* signalfd for the stop signals; -1: none */
	uint64_t start_wall_us;
	uint64_t start_cpu_us;
	/* vCPU threads install its vcpu filter before their first KVM_RUN; NULL: none. */
	const struct seccomp_filters *seccomp;
};

struct vmm {
	struct vmm_opts opts;
	struct event_loop loop;
	struct vm_config config;
	struct vm *vm; /* NULL until started */
	/*
	 * --prewarm: a microVM built from a snapshot's configuration, not yet
	 * started, its RAM a reservation; the next load fills and adopts it.
	 */
	struct vm *prewarmed;
	struct vm_config prewarmed_config;
	/*
	 * PUT /snapshot/rewind: the state the microVM was loaded with (NULL: not
	 * loaded, or onto huge pages). rewind_dirty_consumed: a snapshot create
	 * took the dirty log since the load, so a rewind drops every page.
	 */
	struct snapshot_state *rewind_state;
	bool rewind_dirty_consumed;
	enum vmm_state state;

	int exit_fd;  /* eventfd: someone asked the microVM to stop */
	atomic_bool exit_requested;
	atomic_int exit_code;
	bool stopping;
	uint64_t load_request_ns; /* CLOCK_MONOTONIC: the last PUT /snapshot/load came in */

	int console_in_fd;
	int console_space_fd;
	struct event_handler exit_handler, signal_handler;
	struct event_handler console_handler, console_space_handler;
};

int vmm_init(struct vmm *vmm, const struct vmm_opts *opts, struct err_buf *err);
void vmm_destroy(struct vmm *vmm);

/* InstanceStart: builds the microVM from vmm->config and runs its vCPUs. */
int vmm_start(struct vmm *vmm, struct err_buf *err);
/*
 * Snapshot load: builds (not starts) a microVM from @cfg with its RAM from
 * @mem (restore_mem.h); NULL with @err on failure, nothing left behind. The
 * caller loads the saved state into it, makes @cfg vmm->config, then
 * vmm_start_restored() adopts it (or vm_destroy() + free() drop it).
 */
struct vm *vmm_build_for_restore(struct vmm *vmm, const struct vm_config *cfg,
				 const struct restore_mem_source *mem, struct err_buf *err);
/*
 * --prewarm: builds the microVM of @cfg (a snapshot's configuration) with
 * reserved RAM and keeps it, with @cfg, in vmm->prewarmed; @cfg is taken
 * over on success (left to the caller on failure). 0 or -errno with @err.
 */
int vmm_prewarm(struct vmm *vmm, struct vm_config *cfg, struct err_buf *err);
/* Hands the pre-warmed microVM to the caller (NULL if none) and forgets its configuration. */
struct vm *vmm_take_prewarmed(struct vmm *vmm);
int vmm_start_restored(struct vmm *vmm, struct vm *vm, bool resume, struct err_buf *err);
/* Firecracker's PATCH /vm: idempotent; -EINVAL before start. */
int vmm_pause(struct vmm *vmm);
int vmm_resume(struct vmm *vmm);

/* Serves events until the microVM stops; returns the process exit code. */
int vmm_run(struct vmm *vmm);
/* First caller's code wins; callable from any thread. */
void vmm_request_exit(struct vmm *vmm, int code);

const char *vmm_state_name(enum vmm_state state);

#endif
