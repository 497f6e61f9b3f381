/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport's saved form (snapshots): plain data, no
 * host-side types, for the transport and the snapshot schema alike.
 */
#ifndef IGNIS_VIRTIO_MMIO_STATE_H
#define IGNIS_VIRTIO_MMIO_STATE_H

#include <stdint.h>

#include "vmm/devices/virtio/queue_state.h"

#define VIRTIO_MAX_QUEUES 2

/* Serialisable transport state for snapshots. */
struct virtio_mmio_state {
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint64_t driver_features;
	uint32_t status, interrupt_status, config_generation;
	uint8_t activated;
	struct virtq_state queues[VIRTIO_MAX_QUEUES];
};

#endif
