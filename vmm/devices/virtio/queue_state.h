/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A virtqueue's saved form (snapshots): plain data, no host-side types, so
 * the snapshot schema (snapshot/state.h) includes it without the device.
 */
#ifndef IGNIS_VIRTQ_STATE_H
#define IGNIS_VIRTQ_STATE_H

#include <stdint.h>

/* Serialisable queue state for snapshots. */
struct virtq_state {
	uint16_t size;
	uint8_t ready;
	uint8_t event_idx;
	uint8_t indirect;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail_idx, used_idx, signalled_used;
	uint8_t signalled_used_valid;
};

#endif
