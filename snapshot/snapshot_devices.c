/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One table entry per device kind, by enum virtio_slot_kind: a kind's
 * devices fill st->blks/st->nets (and their host sides) in slot order, the
 * order the collection and a restored machine's cmdline_device_order share.
 */
#include "snapshot/snapshot_devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/devices/virtio/block.h"
#include "vmm/devices/virtio/net.h"

struct snapshot_device_ops {
	/* Device @d is the @i-th of its kind: saved into @st's @i-th entry. */
	int (*save)(struct device *d, const struct vm_config *cfg, struct snapshot_state *st,
		    unsigned int i, struct err_buf *err);
	/* How many of this kind @st holds. */
	unsigned int (*count)(const struct snapshot_state *st);
	int (*restore)(struct device *d, const struct snapshot_state *st, unsigned int i,
		       struct err_buf *err);
	/* The configuration of @st's @i-th device of this kind, put into @cfg. */
	int (*config)(const struct snapshot_state *st, unsigned int i,
		      const struct snapshot_net_override *ov, unsigned int nr_ov,
		      struct vm_config *cfg, struct err_buf *err);
};

/* ---- virtio-blk --------------------------------------------------------- */

/* The configuration behind drive @id (PATCH /drives may have swapped its file since boot). */
static int save_drive_host(const struct vm_config *cfg, const char *id, struct snapshot_drive *d,
			   struct err_buf *err)
{
	const struct drive_config *c = NULL;

	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		if (strcmp(cfg->drives[i].drive_id, id) == 0)
			c = &cfg->drives[i];
	if (!c)
		return err_set(err, -EINVAL, "drive %s has no configuration", id);
	if (strlen(c->path_on_host) > SNAPSHOT_PATH_MAX)
		return err_set(err, -ENAMETOOLONG, "drive %s: path_on_host is over %u bytes", id,
			       SNAPSHOT_PATH_MAX);
	if (c->partuuid && strlen(c->partuuid) > SNAPSHOT_PARTUUID_MAX)
		return err_set(err, -ENAMETOOLONG, "drive %s: partuuid is over %u bytes", id,
			       SNAPSHOT_PARTUUID_MAX);
	snprintf(d->path_on_host, sizeof(d->path_on_host), "%s", c->path_on_host);
	d->is_root_device = c->is_root_device;
	d->is_read_only = c->is_read_only;
	d->has_partuuid = c->partuuid != NULL;
	snprintf(d->partuuid, sizeof(d->partuuid), "%s", c->partuuid ? c->partuuid : "");
	d->cache_type = (uint8_t)c->cache_type;
	d->io_engine = (uint8_t)c->io_engine;
	return 0;
}

static int restore_drive_config(const struct snapshot_state *st, unsigned int i,
				struct vm_config *cfg, struct err_buf *err)
{
	const struct snapshot_drive *sd = &st->drives[i];
	struct drive_config d;
	int ret;

	memset(&d, 0, sizeof(d));
	snprintf(d.drive_id, sizeof(d.drive_id), "%s", st->blks[i].drive_id);
	d.path_on_host = strdup(sd->path_on_host);
	d.partuuid = sd->has_partuuid ? strdup(sd->partuuid) : NULL;
	if (!d.path_on_host || (sd->has_partuuid && !d.partuuid)) {
		drive_config_free(&d);
		return err_set(err, -ENOMEM, "out of memory");
	}
	d.is_root_device = sd->is_root_device;
	d.is_read_only = sd->is_read_only;
	d.cache_type = (enum cache_type)sd->cache_type;
	d.io_engine = (enum io_engine)sd->io_engine;
	ret = vm_config_put_drive(cfg, &d, err);
	drive_config_free(&d);
	return ret;
}

static int blk_save(struct device *d, const struct vm_config *cfg, struct snapshot_state *st,
		    unsigned int i, struct err_buf *err)
{
	virtio_blk_save(d->dev, &st->blks[i]);
	st->nr_blks = i + 1;
	return save_drive_host(cfg, d->id, &st->drives[i], err);
}

static unsigned int blk_count(const struct snapshot_state *st)
{
	return st->nr_blks;
}

static int blk_restore(struct device *d, const struct snapshot_state *st, unsigned int i,
		       struct err_buf *err)
{
	return virtio_blk_restore(d->dev, &st->blks[i], err);
}

static int blk_config(const struct snapshot_state *st, unsigned int i,
		      const struct snapshot_net_override *ov, unsigned int nr_ov,
		      struct vm_config *cfg, struct err_buf *err)
{
	(void)ov;
	(void)nr_ov;
	return restore_drive_config(st, i, cfg, err);
}

/* ---- virtio-net --------------------------------------------------------- */

static int save_net_host(const struct vm_config *cfg, const char *id, struct snapshot_net *n,
			 struct err_buf *err)
{
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		if (strcmp(cfg->nets[i].iface_id, id) == 0) {
			snprintf(n->host_dev_name, sizeof(n->host_dev_name), "%s",
				 cfg->nets[i].host_dev_name);
			return 0;
		}
	}
	return err_set(err, -EINVAL, "network interface %s has no configuration", id);
}

static int restore_net_config(const struct snapshot_state *st, unsigned int i,
			      const struct snapshot_net_override *ov, unsigned int nr_ov,
			      struct vm_config *cfg, struct err_buf *err)
{
	const struct virtio_net_state *ns = &st->nets[i];
	const char *tap = st->net_hosts[i].host_dev_name;
	struct net_config nc;

	for (unsigned int j = 0; j < nr_ov; j++)
		if (strcmp(ov[j].iface_id, ns->iface_id) == 0)
			tap = ov[j].host_dev_name;
	memset(&nc, 0, sizeof(nc));
	snprintf(nc.iface_id, sizeof(nc.iface_id), "%s", ns->iface_id);
	if (strlen(tap) >= sizeof(nc.host_dev_name))
		return err_set(err, -EINVAL, "network interface %s: host_dev_name too long",
			       ns->iface_id);
	snprintf(nc.host_dev_name, sizeof(nc.host_dev_name), "%s", tap);
	nc.has_guest_mac = ns->has_mac;
	memcpy(nc.guest_mac, ns->mac, sizeof(nc.guest_mac));
	nc.mtu = ns->mtu;
	return vm_config_put_net(cfg, &nc, err);
}

static int net_save(struct device *d, const struct vm_config *cfg, struct snapshot_state *st,
		    unsigned int i, struct err_buf *err)
{
	virtio_net_save(d->dev, &st->nets[i]);
	st->nr_nets = i + 1;
	return save_net_host(cfg, st->nets[i].iface_id, &st->net_hosts[i], err);
}

static unsigned int net_count(const struct snapshot_state *st)
{
	return st->nr_nets;
}

static int net_restore(struct device *d, const struct snapshot_state *st, unsigned int i,
		       struct err_buf *err)
{
	return virtio_net_restore(d->dev, &st->nets[i], err);
}

/* ---- the table and its iterations ----------------------------------------- */

static const struct snapshot_device_ops kinds[VIRTIO_SLOT_KIND_COUNT] = {
	[VIRTIO_SLOT_DRIVE] = { blk_save, blk_count, blk_restore, blk_config },
	[VIRTIO_SLOT_NET] = { net_save, net_count, net_restore, restore_net_config },
};

int snapshot_devices_save(struct vm_devices *ds, const struct vm_config *cfg,
			  struct snapshot_state *st, struct err_buf *err)
{
	unsigned int seen[VIRTIO_SLOT_KIND_COUNT] = { 0 };

	st->nr_blks = st->nr_nets = 0;
	for (unsigned int i = 0; i < ds->nr; i++) {
		struct device *d = &ds->items[i];
		int ret = kinds[d->kind].save(d, cfg, st, seen[d->kind]++, err);

		if (ret)
			return ret;
	}
	return 0;
}

bool snapshot_devices_match(const struct vm_devices *ds, const struct snapshot_state *st)
{
	for (unsigned int k = 0; k < VIRTIO_SLOT_KIND_COUNT; k++)
		if (vm_devices_count(ds, k) != kinds[k].count(st))
			return false;
	return true;
}

int snapshot_devices_restore(struct vm_devices *ds, const struct snapshot_state *st,
			     struct err_buf *err)
{
	unsigned int seen[VIRTIO_SLOT_KIND_COUNT] = { 0 };

	for (unsigned int i = 0; i < ds->nr; i++) {
		struct device *d = &ds->items[i];
		int ret = kinds[d->kind].restore(d, st, seen[d->kind]++, err);

		if (ret)
			return ret;
	}
	return 0;
}

int snapshot_devices_config(const struct snapshot_state *st,
			    const struct snapshot_net_override *ov, unsigned int nr_ov,
			    struct vm_config *cfg, struct err_buf *err)
{
	for (unsigned int k = 0; k < VIRTIO_SLOT_KIND_COUNT; k++) {
		for (unsigned int i = 0; i < kinds[k].count(st); i++) {
			int ret = kinds[k].config(st, i, ov, nr_ov, cfg, err);

			if (ret)
				return ret;
		}
	}
	return 0;
}
