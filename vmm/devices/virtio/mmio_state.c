/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a saved virtio-mmio transport (mmio_state.h) may hold: the states
 * the live transport (mmio.c) can reach, and no others. virtio_mmio_restore
 * refuses the rest, so a state file cannot give a device a state its guest
 * could not have given it.
 */
#include "vmm/devices/virtio/mmio_state.h"

#include <errno.h>
#include <stdbool.h>

#include "vmm/devices/virtio/virtio.h"

/*
 * The status write path's rules (write_status, set_features_ok in mmio.c):
 * the driver's bits only, with undefined ones dropped, and NEEDS_RESET, the
 * device's own; FEATURES_OK only for features that include VERSION_1 (no
 * legacy drivers); DRIVER_OK only after FEATURES_OK. ACKNOWLEDGE, DRIVER
 * and FAILED are kept whenever written, in any order, so they constrain
 * nothing; neither does NEEDS_RESET, which the device sets in any phase.
 */
static int check_status(const struct virtio_mmio_state *st, struct err_buf *err)
{
	uint32_t s = st->status;

	if (s & ~(VIRTIO_STATUS_DRIVER_BITS | VIRTIO_STATUS_NEEDS_RESET))
		return err_set(err, -EINVAL, "status 0x%x has undefined bits", s);
	if ((s & VIRTIO_STATUS_FEATURES_OK) &&
	    !(st->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
		return err_set(err, -EINVAL,
			       "status 0x%x has FEATURES_OK for driver features 0x%llx without "
			       "VERSION_1",
			       s, (unsigned long long)st->driver_features);
	if ((s & VIRTIO_STATUS_DRIVER_OK) && !(s & VIRTIO_STATUS_FEATURES_OK))
		return err_set(err, -EINVAL, "status 0x%x has DRIVER_OK without FEATURES_OK", s);
	return 0;
}

/*
 * A queue flag as set_features_ok leaves it: the negotiated feature once
 * FEATURES_OK is set (the features are then fixed until a reset), clear
 * before (a reset clears it). A flag without its feature would let a state
 * file give a device a walk it never offered (virtio-net has no
 * INDIRECT_DESC); one missing would leave the guest's rings misread.
 */
static int check_queue_flag(const struct virtio_mmio_state *st, unsigned int q,
			    const char *name, unsigned int bit, uint8_t saved,
			    struct err_buf *err)
{
	bool in_force = st->status & VIRTIO_STATUS_FEATURES_OK;
	bool negotiated = st->driver_features & VIRTIO_BIT(bit);

	if (!!saved == (in_force && negotiated))
		return 0;
	if (!in_force)
		return err_set(err, -EINVAL, "queue %u: %s on before FEATURES_OK", q, name);
	return err_set(err, -EINVAL, "queue %u: %s %s, but the driver features %s it", q, name,
		       saved ? "on" : "off", saved ? "lack" : "have");
}

int virtio_mmio_state_check(const struct virtio_mmio_state *st, uint64_t offered,
			    struct err_buf *err)
{
	int ret;

	if (st->driver_features & ~offered)
		return err_set(err, -EINVAL, "driver features 0x%llx outside the offer 0x%llx",
			       (unsigned long long)st->driver_features,
			       (unsigned long long)offered);
	ret = check_status(st, err);
	if (ret)
		return ret;
	if (st->activated && !(st->status & VIRTIO_STATUS_DRIVER_OK))
		return err_set(err, -EINVAL, "activated without DRIVER_OK in status 0x%x",
			       st->status);
	/* Every queue, used or not: set_features_ok sets them all. */
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES && !ret; q++) {
		const struct virtq_state *vq = &st->queues[q];

		ret = check_queue_flag(st, q, "EVENT_IDX", VIRTIO_F_EVENT_IDX, vq->event_idx, err);
		if (!ret)
			ret = check_queue_flag(st, q, "INDIRECT_DESC", VIRTIO_F_INDIRECT_DESC,
					       vq->indirect, err);
	}
	return ret;
}
