/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk's saved form (snapshots): plain data, no host-side types (no
 * io_uring, no file), so snapshot/state.h includes it without the device.
 */
#ifndef IGNIS_VIRTIO_BLOCK_STATE_H
#define IGNIS_VIRTIO_BLOCK_STATE_H

#include <stdint.h>

#include "vmm/config/config.h"
#include "vmm/devices/virtio/mmio_state.h"

/* Device state for snapshots: the transport plus what identifies the disk. */
struct virtio_blk_state {
	struct virtio_mmio_state transport;
	char drive_id[DRIVE_ID_MAX + 1];
	uint64_t capacity_sectors;
};

#endif
