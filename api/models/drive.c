/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's Drive (PUT /drives/{id}, the config file's "drives") and
 * PartialDrive (PATCH /drives/{id}).
 */
#include "api/models/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/models/fields.h"

int drive_config_parse(json_t *obj, struct drive_config *out, struct err_buf *err)
{
	static const char *const keys[] = { "drive_id",  "path_on_host", "is_root_device",
					    "is_read_only", "partuuid", "cache_type",
					    "io_engine", "rate_limiter", "socket" };
	struct drive_config d;
	char sec[DRIVE_ID_MAX + 16];
	json_t *root;
	const char *ct_names[CACHE_TYPE_COUNT], *eng_names[IO_ENGINE_COUNT];
	int ct = CACHE_UNSAFE, eng = IO_ENGINE_SYNC;
	int ret;

	for (int i = 0; i < CACHE_TYPE_COUNT; i++)
		ct_names[i] = cache_type_name((enum cache_type)i);
	for (int i = 0; i < IO_ENGINE_COUNT; i++)
		eng_names[i] = io_engine_name((enum io_engine)i);

	memset(&d, 0, sizeof(d));
	if (!json_is_object(obj))
		return fail(err, "drive: expected an object");
	ret = fields_get_id(obj, "drive", "drive_id", "drive.drive_id", DRIVE_ID_MAX, d.drive_id,
			    err);
	if (ret)
		return ret;
	snprintf(sec, sizeof(sec), "drive \"%s\"", d.drive_id);

	ret = fields_check_keys(obj, sec, keys, ARRAY_SIZE(keys), err);
	if (!ret && fields_is_set(obj, "rate_limiter"))
		ret = fail(err, "%s: rate_limiter is not supported by this version of ignis", sec);
	if (!ret && fields_is_set(obj, "socket"))
		ret = fail(err, "%s: socket (vhost-user-blk) is not supported by ignis", sec);
	if (!ret)
		ret = fields_get_string(obj, sec, "path_on_host", true, &d.path_on_host, err);
	if (!ret && !d.path_on_host[0])
		ret = fail(err, "%s.path_on_host: must not be empty", sec);
	if (!ret) {
		root = json_object_get(obj, "is_root_device");
		if (!root)
			ret = fail(err, "%s: missing field `is_root_device`", sec);
	}
	if (!ret)
		ret = fields_get_bool(obj, sec, "is_root_device", &d.is_root_device, err);
	/* An Option in Firecracker: null (firecracker-go-sdk's unset field) is false. */
	if (!ret && !json_is_null(json_object_get(obj, "is_read_only")))
		ret = fields_get_bool(obj, sec, "is_read_only", &d.is_read_only, err);
	if (!ret)
		ret = fields_get_string(obj, sec, "partuuid", false, &d.partuuid, err);
	if (!ret)
		ret = fields_get_enum(obj, sec, "cache_type", ct_names, CACHE_TYPE_COUNT, &ct, err);
	if (!ret)
		ret = fields_get_enum(obj, sec, "io_engine", eng_names, IO_ENGINE_COUNT, &eng, err);
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

int drive_update_parse(json_t *obj, struct drive_update *out, struct err_buf *err)
{
	static const char *const keys[] = { "drive_id", "path_on_host", "rate_limiter" };
	json_t *path = json_object_get(obj, "path_on_host");
	int ret;

	memset(out, 0, sizeof(*out));
	ret = fields_check_keys(obj, NULL, keys, ARRAY_SIZE(keys), err);
	if (ret)
		return ret;
	/* The VMM thread refuses it before it looks at the path, as it always has. */
	out->sets_rate_limiter = fields_is_set(obj, "rate_limiter");
	if (!path || out->sets_rate_limiter)
		return 0;
	if (!json_is_string(path) || !json_string_value(path)[0])
		return fail(err, "path_on_host: expected a non-empty string");
	out->path_on_host = strdup(json_string_value(path));
	return out->path_on_host ? 0 : err_set(err, -ENOMEM, "out of memory");
}
