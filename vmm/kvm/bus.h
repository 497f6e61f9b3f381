/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An address space (port I/O or MMIO) of device register windows.
 *
 * Windows are registered while the VM is built and never change after the
 * vCPUs start, so vCPU threads dispatch without locking the bus; each device
 * protects its own state.
 */
#ifndef IGNIS_BUS_H
#define IGNIS_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_WINDOWS 32

struct bus_device_ops {
	/* @offset is relative to the window base; @len is 1, 2, 4 or 8. */
	void (*read)(void *dev, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *dev, uint64_t offset, const uint8_t *data, uint32_t len);
};

struct bus_window {
	uint64_t base;
	uint64_t len;
	const struct bus_device_ops *ops;
	void *dev;
};

struct bus {
	struct bus_window windows[BUS_MAX_WINDOWS];
	unsigned int nr;
};

/* Returns 0, -EEXIST if the window overlaps another, -ENOSPC or -EINVAL. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_device_ops *ops,
		 void *dev);

/*
 * Dispatches an access. Returns false when no window covers the whole access;
 * reads then fill @data with 0xff, like an open bus.
 */
bool bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len);
bool bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len);

#endif
