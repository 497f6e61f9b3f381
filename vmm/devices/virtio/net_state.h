/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net's saved form (snapshots): plain data, no host-side types (no
 * TAP), so snapshot/state.h includes it without the device.
 */
#ifndef IGNIS_VIRTIO_NET_STATE_H
#define IGNIS_VIRTIO_NET_STATE_H

#include <stdint.h>

#include "vmm/config/config.h"
#include "vmm/devices/virtio/mmio_state.h"

/* Device state for snapshots: the transport plus what the guest was told. */
struct virtio_net_state {
	struct virtio_mmio_state transport;
	char iface_id[NET_IFACE_ID_MAX + 1];
	uint8_t has_mac;
	uint8_t mac[6];
	uint16_t mtu;
};

#endif
