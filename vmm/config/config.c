/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vm_config as a whole: its defaults, freeing it, the names of its
 * enums, and the rules of the machine section and of the virtio device
 * limit. Drives and network interfaces have their rules in drive.c, net.c.
 */
#include "vmm/config/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const huge_pages_names[HUGE_PAGES_COUNT] = {
	[HUGE_PAGES_NONE] = "None",
	[HUGE_PAGES_TRANSPARENT] = "Transparent",
	[HUGE_PAGES_2M] = "2M",
};

const char *huge_pages_name(enum huge_pages hp)
{
	return (unsigned int)hp < HUGE_PAGES_COUNT ? huge_pages_names[hp] : "?";
}

void machine_config_init(struct machine_config *mc)
{
	memset(mc, 0, sizeof(*mc));
	mc->vcpu_count = VM_DEFAULT_VCPUS;
	mc->mem_size_mib = VM_DEFAULT_MEM_MIB;
	mc->huge_pages = HUGE_PAGES_NONE;
}

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	machine_config_init(&cfg->machine);
}

void boot_source_free(struct boot_source_config *bs)
{
	free(bs->kernel_image_path);
	free(bs->initrd_path);
	free(bs->boot_args);
	memset(bs, 0, sizeof(*bs));
}

void vm_config_free(struct vm_config *cfg)
{
	boot_source_free(&cfg->boot);
	free(cfg->serial.serial_out_path);
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		drive_config_free(&cfg->drives[i]);
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		net_config_free(&cfg->nets[i]);
	vm_config_init(cfg);
}

int machine_config_problem(const struct machine_config *mc, const char **field,
			   struct err_buf *why)
{
	if (mc->smt && mc->vcpu_count > 1 && mc->vcpu_count % 2) {
		*field = "vcpu_count";
		return err_set(why, -EINVAL, "with smt enabled it must be 1 or an even number");
	}
	if (mc->huge_pages != HUGE_PAGES_NONE && mc->mem_size_mib % 2) {
		*field = "mem_size_mib";
		return err_set(why, -EINVAL, "must be a multiple of 2 with huge_pages \"%s\"",
			       huge_pages_name(mc->huge_pages));
	}
	return 0;
}

int machine_config_check(const struct machine_config *mc, struct err_buf *err)
{
	const char *field;
	struct err_buf why;

	if (!machine_config_problem(mc, &field, &why))
		return 0;
	return err_set(err, -EINVAL, "machine-config.%s: %s", field, why.msg);
}

int machine_config_apply(const struct machine_config *base, const struct machine_config_update *u,
			 struct machine_config *out, struct err_buf *err)
{
	struct machine_config mc = *base;
	int ret;

	if (u->has_vcpu_count)
		mc.vcpu_count = u->v.vcpu_count;
	if (u->has_mem_size_mib)
		mc.mem_size_mib = u->v.mem_size_mib;
	if (u->has_smt)
		mc.smt = u->v.smt;
	if (u->has_track_dirty_pages)
		mc.track_dirty_pages = u->v.track_dirty_pages;
	if (u->has_huge_pages)
		mc.huge_pages = u->v.huge_pages;
	ret = machine_config_check(&mc, err);
	if (!ret)
		*out = mc;
	return ret;
}

/* One more virtio device would need an IRQ past 23: say so, naming the newcomer. */
bool vm_config_virtio_full(const struct vm_config *cfg, const char *kind, const char *id,
			   struct err_buf *err)
{
	if (cfg->nr_drives + cfg->nr_nets < VM_MAX_VIRTIO_DEVICES)
		return false;
	err_set(err, -EINVAL,
		"%s \"%s\": too many virtio devices: %u drive(s) and %u network interface(s) "
		"already use all %d (one IRQ each, 5 to 23)",
		kind, id, cfg->nr_drives, cfg->nr_nets, VM_MAX_VIRTIO_DEVICES);
	return true;
}

int vm_config_validate_boot(const struct vm_config *cfg, struct err_buf *err)
{
	if (!cfg->has_boot_source)
		return err_set(err, -EINVAL,
			       "boot-source: missing (a kernel image is required to start)");
	return 0;
}
