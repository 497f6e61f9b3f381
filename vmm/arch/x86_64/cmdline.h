/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The final kernel command line and the virtio-mmio device layout it
 * announces. Pure functions of the configuration, so the layout the VM is
 * built with and the one the guest is told about cannot disagree.
 */
#ifndef IGNIS_CMDLINE_H
#define IGNIS_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/config/config.h"

#define VIRTIO_MMIO_FIRST_IRQ 5
#define VIRTIO_MMIO_LAST_IRQ 23

/*
 * The order drives become virtio-mmio devices: the root drive first (so it
 * is /dev/vda), then the others as configured. Fills @order with indices
 * into cfg->drives; returns how many.
 */
unsigned int cmdline_drive_order(const struct vm_config *cfg, unsigned int order[VM_MAX_DRIVES]);

/* What sits in one virtio-mmio slot: a drive or a network interface, by config index. */
enum virtio_slot_kind {
	VIRTIO_SLOT_DRIVE,
	VIRTIO_SLOT_NET,
	VIRTIO_SLOT_KIND_COUNT, /* not a kind: how many there are */
};

struct virtio_slot {
	enum virtio_slot_kind kind;
	unsigned int index; /* into cfg->drives or cfg->nets */
};

/*
 * Every virtio-mmio device in slot order: the drives as cmdline_drive_order()
 * puts them, then the network interfaces as configured (eth0, eth1, ...).
 * Slots past VM_MAX_VIRTIO_DEVICES (IRQ 23) are left out; the configuration
 * refuses that many devices. Returns how many slots were filled.
 */
unsigned int cmdline_device_order(const struct vm_config *cfg,
				  struct virtio_slot order[VM_MAX_VIRTIO_DEVICES]);

/* MMIO base and GSI of the @slot-th virtio-mmio device. */
uint64_t cmdline_virtio_base(unsigned int slot);
unsigned int cmdline_virtio_irq(unsigned int slot);

/*
 * boot_args, plus root= / ro|rw for a root drive and one
 * virtio_mmio.device= per device, all inserted before a " -- " (whatever
 * follows it belongs to init). Returns 0 or -E2BIG.
 */
int cmdline_build(const struct vm_config *cfg, char *buf, size_t len);

#endif
