/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshot create and restore of a whole microVM: the KVM ioctls that read
 * and write vCPU and VM state, the devices' save/restore hooks, and the
 * memory file. The state file's encoding is snapshot/state.h's.
 *
 * Create runs on the VMM thread while every vCPU is parked (vm_pause): KVM
 * allows KVM_GET_* on a vCPU fd from another thread while it is not in
 * KVM_RUN. Restore runs on a fresh process, before anything is configured.
 */
#ifndef IGNIS_SNAPSHOT_VM_H
#define IGNIS_SNAPSHOT_VM_H

#include "snapshot/snapshot_devices.h"
#include "snapshot/state.h"
#include "vmm/config/config.h"
#include "vmm/machine/vm.h"
#include "vmm/util/error.h"

/* Gathers @vm's state (paused) and @cfg's machine config into @st. */
int snapshot_vm_save(struct vm *vm, const struct vm_config *cfg, struct snapshot_state *st,
		     struct err_buf *err);
/* The memory file: snapshot_mem.h. */

/*
 * The configuration a snapshot restores: its machine config, drives (the
 * saved files, opened as they were) and network interfaces (the saved TAP,
 * or the host_dev_name @ov gives (struct snapshot_net_override,
 * snapshot_devices.h) for that iface_id).
 * @cfg must be freshly initialised; on failure it may hold partial contents
 * the caller frees.
 */
int snapshot_vm_config(const struct snapshot_state *st, const struct snapshot_net_override *ov,
		       unsigned int nr_ov, struct vm_config *cfg, struct err_buf *err);

/* Loads @st's vCPU, VM and device state into @vm, built by vm_create_for_restore(). */
int snapshot_vm_restore(struct vm *vm, const struct snapshot_state *st, struct err_buf *err);

#endif
