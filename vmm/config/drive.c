/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives: Firecracker's Drive object (the config file's "drives" and PUT
 * /drives), its cache_type and io_engine names, and adding one to a
 * struct vm_config.
 */
#include "vmm/config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/json_get.h"

static const char *const cache_type_names[] = {
	[CACHE_UNSAFE] = "Unsafe",
	[CACHE_WRITEBACK] = "Writeback",
	[CACHE_WRITETHROUGH] = "Writethrough",
	[CACHE_NONE] = "None",
};

static const char *const io_engine_names[] = {
	[IO_ENGINE_SYNC] = "Sync",
	[IO_ENGINE_ASYNC] = "Async",
};

const char *cache_type_name(enum cache_type ct)
{
	return (unsigned int)ct < ARRAY_SIZE(cache_type_names) ? cache_type_names[ct] : "?";
}

const char *io_engine_name(enum io_engine e)
{
	return (unsigned int)e < ARRAY_SIZE(io_engine_names) ? io_engine_names[e] : "?";
}

void drive_config_free(struct drive_config *d)
{
	free(d->path_on_host);
	free(d->partuuid);
	memset(d, 0, sizeof(*d));
}

int drive_config_parse(const void *json_obj, struct drive_config *out, struct err_buf *err)
{
	static const char *const keys[] = { "drive_id",  "path_on_host", "is_root_device",
					    "is_read_only", "partuuid", "cache_type",
					    "io_engine", "rate_limiter", "socket" };
	json_t *obj = (json_t *)json_obj;
	struct drive_config d;
	char sec[DRIVE_ID_MAX + 16];
	char *id = NULL;
	const char *why;
	json_t *root;
	int ct = CACHE_UNSAFE, eng = IO_ENGINE_SYNC;
	int ret;

	memset(&d, 0, sizeof(d));
	if (!json_is_object(obj))
		return fail(err, "drive: expected an object");
	ret = config_get_string(obj, "drive", "drive_id", true, &id, err);
	if (ret)
		return ret;
	why = config_id_problem(id);
	if (why || strlen(id) > DRIVE_ID_MAX) {
		ret = fail(err, "drive.drive_id \"%s\": %s", id,
			   why ? why : "longer than 64 characters");
		free(id);
		return ret;
	}
	strcpy(d.drive_id, id);
	free(id);
	snprintf(sec, sizeof(sec), "drive \"%s\"", d.drive_id);

	ret = config_check_keys(obj, sec, keys, ARRAY_SIZE(keys), err);
	if (!ret && json_object_get(obj, "rate_limiter") && !json_is_null(json_object_get(obj, "rate_limiter")))
		ret = fail(err, "%s: rate_limiter is not supported by this version of ignis", sec);
	if (!ret && json_object_get(obj, "socket") && !json_is_null(json_object_get(obj, "socket")))
		ret = fail(err, "%s: socket (vhost-user-blk) is not supported by ignis", sec);
	if (!ret)
		ret = config_get_string(obj, sec, "path_on_host", true, &d.path_on_host, err);
	if (!ret && !d.path_on_host[0])
		ret = fail(err, "%s.path_on_host: must not be empty", sec);
	if (!ret) {
		root = json_object_get(obj, "is_root_device");
		if (!root)
			ret = fail(err, "%s: missing field `is_root_device`", sec);
	}
	if (!ret)
		ret = config_get_bool(obj, sec, "is_root_device", &d.is_root_device, err);
	if (!ret)
		ret = config_get_bool(obj, sec, "is_read_only", &d.is_read_only, err);
	if (!ret)
		ret = config_get_string(obj, sec, "partuuid", false, &d.partuuid, err);
	if (!ret)
		ret = config_get_enum(obj, sec, "cache_type", cache_type_names,
				      ARRAY_SIZE(cache_type_names), &ct, err);
	if (!ret)
		ret = config_get_enum(obj, sec, "io_engine", io_engine_names,
				      ARRAY_SIZE(io_engine_names), &eng, err);
	if (!ret && d.partuuid && !d.partuuid[0])
		ret = fail(err, "%s.partuuid: must not be empty", sec);
	if (ret) {
		drive_config_free(&d);
		return ret;
	}
	d.cache_type = (enum cache_type)ct;
	d.io_engine = (enum io_engine)eng;
	*out = d;
	return 0;
}

int vm_config_put_drive(struct vm_config *cfg, struct drive_config *d, struct err_buf *err)
{
	unsigned int slot = cfg->nr_drives;

	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		if (strcmp(cfg->drives[i].drive_id, d->drive_id) == 0)
			slot = i;
		else if (d->is_root_device && cfg->drives[i].is_root_device)
			return fail(err, "drive \"%s\": a root block device already exists (drive \"%s\")",
				    d->drive_id, cfg->drives[i].drive_id);
	}
	if (slot == VM_MAX_DRIVES)
		return fail(err, "drive \"%s\": at most %d drives are supported", d->drive_id,
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
