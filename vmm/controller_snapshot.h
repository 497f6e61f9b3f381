/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PUT /snapshot/create and PUT /snapshot/load, for controller_handle()
 * (internal to ignis_controller; main.c calls the --prewarm one). Each carries out its typed command (parsed
 * on the API thread, api/models/snapshot.c) and answers @resp with
 * Firecracker's statuses and error strings. The pre-/post-boot
 * and "load after configuring" rules are the caller's, checked before these
 * are called: they take the VMM and the metrics rather than the controller
 * so that this never needs controller.h.
 */
#ifndef IGNIS_CONTROLLER_SNAPSHOT_H
#define IGNIS_CONTROLLER_SNAPSHOT_H

#include "api/models/command.h"
#include "api/response.h"
#include "vmm/metrics.h"
#include "vmm/vmm.h"

/* Writes the paused microVM's state and memory files (Full or Diff). */
void controller_snapshot_create(struct vmm *vmm, const struct snapshot_create_command *cmd,
				struct api_response *resp);

/*
 * Builds and starts a microVM from a state file and its memory (a file, or a
 * Uffd handler's socket), then flushes @metrics. A failed load changes
 * nothing.
 */
void controller_snapshot_load(struct vmm *vmm, struct metrics *metrics,
			      const struct snapshot_load_command *cmd, struct api_response *resp);

/*
 * PUT /snapshot/rewind (ignis extension): the microVM loaded from a snapshot
 * goes back to exactly the loaded state in this process: vCPUs parked, the
 * guest pages written since the load dropped back to the memory file's
 * contents, vCPU, irqchip, clock and device state set again from the copy
 * kept at load; paused, or running with resume_vm.
 */
void controller_snapshot_rewind(struct vmm *vmm, const struct snapshot_rewind_command *cmd,
				struct api_response *resp);

/*
 * PUT /snapshot/working-set (ignis extension): writes which pages of the
 * loaded microVM's memory are mapped now (touched since the load) to a
 * working-set file (snapshot/format/working_set.h) that a later load's
 * working_set_path populates before its vCPUs run.
 */
void controller_snapshot_working_set(struct vmm *vmm,
				     const struct snapshot_working_set_command *cmd,
				     struct api_response *resp);

/*
 * --prewarm STATE: builds the microVM that @state_path's snapshot needs (KVM
 * VM, irqchip, vCPUs, memory slots over reserved RAM, devices with their
 * files and TAPs open) and keeps it for the next load, which then only maps
 * the memory file, sets the saved state and starts it. A load of a snapshot
 * that needs another microVM is refused and leaves it pre-warmed. 0 or
 * -errno with @err.
 */
int controller_snapshot_prewarm(struct vmm *vmm, const char *state_path, struct err_buf *err);

#endif
