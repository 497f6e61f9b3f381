/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The machine's device collection: one entry per virtio-mmio device, in
 * slot order (cmdline_device_order: the drives, then the network
 * interfaces), each with its kind's life-cycle ops (vmm/devices/device.h).
 * vm.c builds, pauses and destroys the devices through it; snapshot/ and
 * metrics iterate it. VMM thread only.
 *
 * The legacy devices (serial, i8042, boot timer) stay typed fields of
 * struct vm: one of each, at fixed ports, wired to the console and reset.
 */
#ifndef IGNIS_VM_DEVICES_H
#define IGNIS_VM_DEVICES_H

#include "vmm/config/config.h"
#include "vmm/devices/device.h"
#include "vmm/util/error.h"

struct vm_devices {
	struct device items[VM_MAX_VIRTIO_DEVICES];
	unsigned int nr;
};

/* The ops of @kind (enum virtio_slot_kind); NULL past the last kind. */
const struct device_ops *vm_device_ops(unsigned int kind);

/* Every device of @cfg, in slot order. On failure the ones built stay for vm_devices_destroy(). */
int vm_devices_create(struct vm_devices *ds, const struct device_env *env,
		      const struct vm_config *cfg, struct err_buf *err);
/* With the vCPUs parked: settles each transport, then lets host I/O land. */
void vm_devices_pause(struct vm_devices *ds);
void vm_devices_destroy(struct vm_devices *ds);

/* The device of @kind named @id, or NULL. */
struct device *vm_devices_find(struct vm_devices *ds, enum virtio_slot_kind kind, const char *id);
unsigned int vm_devices_count(const struct vm_devices *ds, enum virtio_slot_kind kind);

#endif
