/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/kvm/bus.h"

#include <errno.h>
#include <string.h>

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_device_ops *ops,
		 void *dev)
{
	if (len == 0 || base + len < base || !ops)
		return -EINVAL;
	if (bus->nr >= BUS_MAX_WINDOWS)
		return -ENOSPC;
	for (unsigned int i = 0; i < bus->nr; i++) {
		const struct bus_window *w = &bus->windows[i];

		if (base < w->base + w->len && w->base < base + len)
			return -EEXIST;
	}
	bus->windows[bus->nr++] = (struct bus_window){ base, len, ops, dev };
	return 0;
}

static const struct bus_window *bus_find(const struct bus *bus, uint64_t addr, uint32_t len)
{
	for (unsigned int i = 0; i < bus->nr; i++) {
		const struct bus_window *w = &bus->windows[i];

		if (addr >= w->base && addr - w->base < w->len && len <= w->len - (addr - w->base))
			return w;
	}
	return NULL;
}

bool bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len)
{
	const struct bus_window *w = bus_find(bus, addr, len);

	if (!w || !w->ops->read) {
		memset(data, 0xff, len);
		return w != NULL;
	}
	w->ops->read(w->dev, addr - w->base, data, len);
	return true;
}

bool bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len)
{
	const struct bus_window *w = bus_find(bus, addr, len);

	if (!w)
		return false;
	if (w->ops->write)
		w->ops->write(w->dev, addr - w->base, data, len);
	return true;
}
