/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a saved virtio-mmio transport (mmio_state.h) may hold: the states
 * the live transport (mmio.c) can reach, and no others. virtio_mmio_restore
 * refuses the rest, so a state file cannot give a device a state its guest
 * could not have given it.
 */
#include "vmm/devices/virtio/mmio_state.h"

#include <errno.h>

#include "vmm/devices/virtio/virtio.h"

int virtio_mmio_state_check(const struct virtio_mmio_state *st, uint64_t offered,
			    struct err_buf *err)
{
	if (st->driver_features & ~offered)
		return err_set(err, -EINVAL, "driver features 0x%llx outside the offer 0x%llx",
			       (unsigned long long)st->driver_features,
			       (unsigned long long)offered);
	if (st->activated && !(st->status & VIRTIO_STATUS_DRIVER_OK))
		return err_set(err, -EINVAL, "activated without DRIVER_OK in status 0x%x",
			       st->status);
	return 0;
}
