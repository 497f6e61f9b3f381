/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport's saved form (snapshots): plain data, no
 * host-side types, for the transport and the snapshot schema alike.
 */
#ifndef IGNIS_VIRTIO_MMIO_STATE_H
#define IGNIS_VIRTIO_MMIO_STATE_H

#include <stdint.h>

#include "vmm/devices/virtio/queue_state.h"
#include "vmm/util/error.h"

#define VIRTIO_MAX_QUEUES 2

/* Serialisable transport state for snapshots. */
struct virtio_mmio_state {
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint64_t driver_features;
	uint32_t status, interrupt_status, config_generation;
	uint8_t activated;
	struct virtq_state queues[VIRTIO_MAX_QUEUES];
};

/*
 * 0 if @st is a state a transport whose device offers @offered could have
 * saved (its queues' rings aside: they need guest RAM, virtq_restore checks
 * them); else -EINVAL with the reason in @err. Any thread: pure.
 */
int virtio_mmio_state_check(const struct virtio_mmio_state *st, uint64_t offered,
			    struct err_buf *err);

#endif
