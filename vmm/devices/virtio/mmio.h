/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-mmio transport, version 2 (virtio 1.2, 4.2).
 *
 * The transport knows no device types: a device supplies a const ops table
 * and gets queues, feature negotiation, status handling, notifications and
 * interrupts. Register accesses arrive on vCPU threads; queue notifications
 * arrive as ioeventfds on the VMM thread. One mutex per transport orders
 * the two: every device callback runs with it held.
 */
#ifndef IGNIS_VIRTIO_MMIO_H
#define IGNIS_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/devices/virtio/mmio_state.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/devices/virtio/virtio.h"
#include "vmm/kvm/bus.h"
#include "vmm/memory/memory.h"
#include "vmm/util/error.h"
#include "vmm/util/event_loop.h"
#include "vmm/util/log.h"

#define VIRTIO_MMIO_CONFIG 0x100

struct virtio_mmio;

struct virtio_device_ops {
	const char *name;
	uint32_t device_id;
	unsigned int num_queues;
	/* Features the device offers (transport bits included). */
	uint64_t (*features)(void *dev);
	/* Config space at VIRTIO_MMIO_CONFIG; @offset is relative to it. */
	void (*config_read)(void *dev, uint64_t offset, uint8_t *data, uint32_t len);
	void (*config_write)(void *dev, uint64_t offset, const uint8_t *data, uint32_t len);
	/*
	 * activate and reset run on the vCPU thread that wrote Status: they only
	 * record the new state (no syscall, no waiting); what needs the host is
	 * done by settle, on the VMM thread, before the device's next queue work.
	 */
	/* DRIVER_OK with every ready queue checked. Non-zero: NEEDS_RESET. */
	int (*activate)(void *dev);
	/* Driver wrote 0 to Status: forget in-flight work, back to power-on state. */
	void (*reset)(void *dev);
	/* VMM thread: carry out the last activate or reset (TAP offloads, polling). */
	void (*settle)(void *dev);
	/* New buffers on queue @q (VMM thread). */
	void (*queue_notify)(void *dev, unsigned int q);
};

struct virtio_mmio_notify {
	struct event_handler handler;
	struct virtio_mmio *transport;
	unsigned int queue;
	int fd;
};

struct virtio_mmio {
	pthread_mutex_t lock;
	const struct virtio_device_ops *ops;
	void *dev;
	const struct guest_mem *mem;
	struct event_loop *loop;
	int vm_fd;
	uint64_t base;
	unsigned int irq;
	int irq_fd;

	struct virtq queues[VIRTIO_MAX_QUEUES];
	struct virtio_mmio_notify notify[VIRTIO_MAX_QUEUES];

	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint64_t driver_features;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	bool activated;
	/*
	 * The driver wrote feature bits outside the offer: they were dropped
	 * (so driver_features, and any snapshot of it, stays inside the offer)
	 * and FEATURES_OK is refused until a reset. Not saved: a snapshot taken
	 * mid-negotiation forgets it.
	 */
	bool features_overreach;
	bool bad_access_logged;
	struct log_ratelimit warn_log; /* what a driver does wrong: a guest repeats it at will */

	/* An activate or reset waits for settle on the VMM thread (see the ops). */
	bool settle_pending;
	int settle_fd; /* eventfd on @loop; -1 (unit tests): settle runs at once */
	struct event_handler settle_handler;
};

extern const struct bus_device_ops virtio_mmio_bus_ops;

/*
 * Sets up the transport for @dev at MMIO @base raising GSI @irq. With
 * @vm_fd >= 0 it binds the irqfd and one ioeventfd per queue in KVM and
 * serves them on @loop; with -1 (unit tests) notifications come only
 * through QueueNotify register writes and interrupts only set the status.
 */
int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_device_ops *ops, void *dev,
		     const struct guest_mem *mem, struct event_loop *loop, int vm_fd,
		     uint64_t base, unsigned int irq, struct err_buf *err);
void virtio_mmio_destroy(struct virtio_mmio *t);

/* With the lock held: tell the driver about used buffers on @q if it wants to know. */
void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned int q);
/* With the lock held: the device cannot go on (bad ring): set NEEDS_RESET. */
void virtio_mmio_needs_reset(struct virtio_mmio *t);
/* With the lock held: config space changed (e.g. capacity). */
void virtio_mmio_config_changed(struct virtio_mmio *t);

bool virtio_mmio_has_feature(const struct virtio_mmio *t, unsigned int bit);

/*
 * VMM thread, without the lock: what the driver's QueueNotify of @q does
 * (nothing unless the device is active and needs no reset). A device that
 * yields a long queue turn takes it up again so.
 */
void virtio_mmio_kick(struct virtio_mmio *t, unsigned int q);

/*
 * VMM thread, without the lock: runs a pending settle now (before a pause
 * completes, so that a saved device is a settled one).
 */
void virtio_mmio_settle(struct virtio_mmio *t);
/* The same with the lock held (a device's own VMM-thread handlers). */
void virtio_mmio_settle_locked(struct virtio_mmio *t);

/*
 * Snapshots: the saved form is struct virtio_mmio_state (mmio_state.h).
 * Restore checks it (virtio_mmio_state_check, and the rings against guest
 * RAM) before changing anything; a refusal (-EINVAL) says why in @err.
 */
void virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *st);
int virtio_mmio_restore(struct virtio_mmio *t, const struct virtio_mmio_state *st,
			struct err_buf *err);

#endif
