/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/machine/devices.h"

#include <string.h>

#include "vmm/arch/x86_64/cmdline.h"
#include "vmm/devices/virtio/block.h"
#include "vmm/devices/virtio/mmio.h"
#include "vmm/devices/virtio/net.h"

/* Every kind, by enum virtio_slot_kind: a new kind is one line here. */
static const struct device_ops *const kinds[VIRTIO_SLOT_KIND_COUNT] = {
	[VIRTIO_SLOT_DRIVE] = &virtio_blk_device_ops,
	[VIRTIO_SLOT_NET] = &virtio_net_device_ops,
};

const struct device_ops *vm_device_ops(unsigned int kind)
{
	return kind < VIRTIO_SLOT_KIND_COUNT ? kinds[kind] : NULL;
}

int vm_devices_create(struct vm_devices *ds, const struct device_env *env,
		      const struct vm_config *cfg, struct err_buf *err)
{
	struct virtio_slot order[VM_MAX_VIRTIO_DEVICES];
	unsigned int n = cmdline_device_order(cfg, order);

	for (unsigned int slot = 0; slot < n; slot++) {
		struct device *d = &ds->items[ds->nr];
		int ret;

		memset(d, 0, sizeof(*d));
		d->ops = kinds[order[slot].kind];
		d->kind = order[slot].kind;
		d->slot = slot;
		d->base = cmdline_virtio_base(slot);
		d->irq = cmdline_virtio_irq(slot);
		ret = d->ops->create(d, env, cfg, order[slot].index, err);
		if (ret)
			return ret;
		ds->nr++;
	}
	return 0;
}

void vm_devices_pause(struct vm_devices *ds)
{
	for (unsigned int i = 0; i < ds->nr; i++) {
		struct device *d = &ds->items[i];

		virtio_mmio_settle(d->transport);
		if (d->ops->quiesce)
			d->ops->quiesce(d);
	}
}

void vm_devices_destroy(struct vm_devices *ds)
{
	for (unsigned int i = 0; i < ds->nr; i++)
		ds->items[i].ops->destroy(&ds->items[i]);
	ds->nr = 0;
}

struct device *vm_devices_find(struct vm_devices *ds, enum virtio_slot_kind kind, const char *id)
{
	for (unsigned int i = 0; i < ds->nr; i++)
		if (ds->items[i].kind == kind && strcmp(ds->items[i].id, id) == 0)
			return &ds->items[i];
	return NULL;
}

unsigned int vm_devices_count(const struct vm_devices *ds, enum virtio_slot_kind kind)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < ds->nr; i++)
		n += ds->items[i].kind == kind;
	return n;
}
