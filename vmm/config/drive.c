/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives: the names of cache_type and io_engine, and adding a drive to a
 * struct vm_config under the rules between drives (one root device, the
 * drive and virtio device limits). api/models/drive.c parses the JSON.
 */
#include "vmm/config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *const cache_type_names[CACHE_TYPE_COUNT] = {
	[CACHE_UNSAFE] = "Unsafe",
	[CACHE_WRITEBACK] = "Writeback",
	[CACHE_WRITETHROUGH] = "Writethrough",
	[CACHE_NONE] = "None",
};

static const char *const io_engine_names[IO_ENGINE_COUNT] = {
	[IO_ENGINE_SYNC] = "Sync",
	[IO_ENGINE_ASYNC] = "Async",
};

const char *cache_type_name(enum cache_type ct)
{
	return (unsigned int)ct < CACHE_TYPE_COUNT ? cache_type_names[ct] : "?";
}

const char *io_engine_name(enum io_engine e)
{
	return (unsigned int)e < IO_ENGINE_COUNT ? io_engine_names[e] : "?";
}

void drive_config_free(struct drive_config *d)
{
	free(d->path_on_host);
	free(d->partuuid);
	memset(d, 0, sizeof(*d));
}

int vm_config_put_drive(struct vm_config *cfg, struct drive_config *d, struct err_buf *err)
{
	unsigned int slot = cfg->nr_drives;

	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		if (strcmp(cfg->drives[i].drive_id, d->drive_id) == 0)
			slot = i;
		else if (d->is_root_device && cfg->drives[i].is_root_device)
			return err_set(err, -EINVAL, "drive \"%s\": a root block device already exists (drive \"%s\")",
				    d->drive_id, cfg->drives[i].drive_id);
	}
	if (slot == VM_MAX_DRIVES)
		return err_set(err, -EINVAL, "drive \"%s\": at most %d drives are supported", d->drive_id,
			    VM_MAX_DRIVES);
	if (slot == cfg->nr_drives && vm_config_virtio_full(cfg, "drive", d->drive_id, err))
		return -EINVAL;
	if (slot < cfg->nr_drives)
		drive_config_free(&cfg->drives[slot]);
	else
		cfg->nr_drives++;
	cfg->drives[slot] = *d;
	memset(d, 0, sizeof(*d));
	return 0;
}
