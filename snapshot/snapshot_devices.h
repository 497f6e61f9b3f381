/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The snapshot side of each device kind: how a device of the machine's
 * collection (vmm/machine/devices.h) goes into struct snapshot_state, comes
 * back out of it, and which configuration a restore rebuilds it from. The
 * table lives here, not beside the devices, because devices never depend
 * on snapshot/. snapshot_vm.c iterates the collection with it; the file
 * encoding is state.h's. VMM thread.
 */
#ifndef IGNIS_SNAPSHOT_DEVICES_H
#define IGNIS_SNAPSHOT_DEVICES_H

#include <stdbool.h>

#include "snapshot/state.h"
#include "vmm/config/config.h"
#include "vmm/machine/devices.h"
#include "vmm/util/error.h"

/* A restore's network_overrides entry: another TAP for the interface @iface_id. */
struct snapshot_net_override {
	const char *iface_id;
	const char *host_dev_name;
};

/* Saves every device of @ds (paused) into @st, with its host side from @cfg. */
int snapshot_devices_save(struct vm_devices *ds, const struct vm_config *cfg,
			  struct snapshot_state *st, struct err_buf *err);
/* Whether @ds has as many devices of each kind as @st holds. */
bool snapshot_devices_match(const struct vm_devices *ds, const struct snapshot_state *st);
/* Loads each device's state; @ds must match @st. */
int snapshot_devices_restore(struct vm_devices *ds, const struct snapshot_state *st,
			     struct err_buf *err);
/* Puts every saved device's configuration into @cfg, kind by kind, as saved. */
int snapshot_devices_config(const struct snapshot_state *st,
			    const struct snapshot_net_override *ov, unsigned int nr_ov,
			    struct vm_config *cfg, struct err_buf *err);

#endif
