/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/arch/x86_64/cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/arch/x86_64/layout.h"

unsigned int cmdline_drive_order(const struct vm_config *cfg, unsigned int order[VM_MAX_DRIVES])
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		if (cfg->drives[i].is_root_device)
			order[n++] = i;
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		if (!cfg->drives[i].is_root_device)
			order[n++] = i;
	return n;
}

_Static_assert(VIRTIO_MMIO_LAST_IRQ - VIRTIO_MMIO_FIRST_IRQ + 1 == VM_MAX_VIRTIO_DEVICES,
	       "one IRQ per virtio-mmio device");

unsigned int cmdline_device_order(const struct vm_config *cfg,
				  struct virtio_slot order[VM_MAX_VIRTIO_DEVICES])
{
	unsigned int drives[VM_MAX_DRIVES];
	unsigned int nr_drives = cmdline_drive_order(cfg, drives);
	unsigned int n = 0;

	for (unsigned int i = 0; i < nr_drives && n < VM_MAX_VIRTIO_DEVICES; i++)
		order[n++] = (struct virtio_slot){ VIRTIO_SLOT_DRIVE, drives[i] };
	for (unsigned int i = 0; i < cfg->nr_nets && n < VM_MAX_VIRTIO_DEVICES; i++)
		order[n++] = (struct virtio_slot){ VIRTIO_SLOT_NET, i };
	return n;
}

uint64_t cmdline_virtio_base(unsigned int slot)
{
	return VIRTIO_MMIO_BASE + (uint64_t)slot * VIRTIO_MMIO_SIZE;
}

unsigned int cmdline_virtio_irq(unsigned int slot)
{
	return VIRTIO_MMIO_FIRST_IRQ + slot;
}

struct strbuf {
	char *buf;
	size_t len, used;
	bool overflow;
};

__attribute__((format(printf, 2, 3))) static void append(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->used, sb->len - sb->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sb->len - sb->used)
		sb->overflow = true;
	else
		sb->used += (size_t)n;
}

int cmdline_build(const struct vm_config *cfg, char *buf, size_t len)
{
	const char *args = cfg->boot.boot_args ? cfg->boot.boot_args : "";
	const char *init_args = strstr(args, " -- ");
	size_t kernel_len = init_args ? (size_t)(init_args - args) : strlen(args);
	struct strbuf sb = { buf, len, 0, len == 0 };
	struct virtio_slot slots[VM_MAX_VIRTIO_DEVICES];
	unsigned int nr_slots = cmdline_device_order(cfg, slots);

	if (len)
		buf[0] = '\0';
	append(&sb, "%.*s", (int)kernel_len, args);
	for (unsigned int slot = 0; slot < nr_slots; slot++) {
		const struct drive_config *d = &cfg->drives[slots[slot].index];

		if (slots[slot].kind != VIRTIO_SLOT_DRIVE || !d->is_root_device)
			continue;
		if (d->partuuid)
			append(&sb, " root=PARTUUID=%s", d->partuuid);
		else
			append(&sb, " root=/dev/vda");
		append(&sb, " %s", d->is_read_only ? "ro" : "rw");
	}
	for (unsigned int slot = 0; slot < nr_slots; slot++)
		append(&sb, " virtio_mmio.device=4K@0x%llx:%u",
		       (unsigned long long)cmdline_virtio_base(slot), cmdline_virtio_irq(slot));
	if (init_args)
		append(&sb, "%s", init_args);
	return sb.overflow ? -E2BIG : 0;
}
