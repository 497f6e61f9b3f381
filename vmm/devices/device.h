/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the machine's device collection (vmm/machine/devices.h) knows of a
 * device: a const ops table per kind for its life cycle (create from the
 * configuration, quiesce on pause, destroy, report counters), and one entry
 * per device. The collection calls these on the VMM thread only.
 *
 * A kind's ops live beside the device (virtio/block_device.c, ...); the
 * collection names each kind once. Devices report counters through a
 * writer, so metrics never reach into a device's struct or its lock.
 */
#ifndef IGNIS_DEVICE_H
#define IGNIS_DEVICE_H

#include <stdint.h>

#include "vmm/arch/x86_64/cmdline.h"
#include "vmm/config/config.h"
#include "vmm/kvm/bus.h"
#include "vmm/memory/memory.h"
#include "vmm/util/error.h"
#include "vmm/util/event_loop.h"

struct virtio_mmio;

/* Receives a device's counters, one name and value at a time, in the device's order. */
struct device_stats_writer {
	void (*u64)(void *ctx, const char *name, uint64_t value);
	void *ctx;
};

/* What the machine lends a device it creates. */
struct device_env {
	const struct guest_mem *mem;
	struct event_loop *loop;
	int vm_fd;
	struct bus *mmio_bus;
};

struct device_ops;

/* One device of the machine. */
struct device {
	const struct device_ops *ops;
	enum virtio_slot_kind kind;
	const char *id;                /* drive_id, iface_id: owned by the device */
	void *dev;                     /* struct virtio_blk, struct virtio_net, ... */
	struct virtio_mmio *transport; /* settled on pause */
	unsigned int slot;             /* virtio-mmio slot (cmdline_device_order) */
	uint64_t base;
	unsigned int irq;
};

struct device_ops {
	const char *metrics_group; /* the metrics object its devices appear in, by id */
	/*
	 * Builds config item @index of this kind at d->base/d->irq (set by the
	 * caller), registers it on env->mmio_bus, and fills d->dev, d->transport
	 * and d->id. On failure nothing is left to destroy.
	 */
	int (*create)(struct device *d, const struct device_env *env, const struct vm_config *cfg,
		      unsigned int index, struct err_buf *err);
	/* After the transport settled on pause: let in-flight host I/O land. NULL: none. */
	void (*quiesce)(struct device *d);
	/* Tears the device down and frees it. */
	void (*destroy)(struct device *d);
	void (*stats)(struct device *d, const struct device_stats_writer *w);
};

#endif
