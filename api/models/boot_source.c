/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's BootSource (PUT /boot-source, the config file's
 * "boot-source") and SerialDevice (PUT /serial, "serial").
 */
#include "api/models/parse.h"

#include <stdlib.h>
#include <string.h>

#include "api/models/fields.h"

int boot_source_parse(json_t *obj, struct boot_source_config *out, struct err_buf *err)
{
	static const char *const keys[] = { "kernel_image_path", "boot_args", "initrd_path" };
	const char *sec = "boot-source";
	struct boot_source_config bs = { 0 };
	int ret;

	if (!json_is_object(obj))
		return fail(err, "%s: expected an object", sec);
	ret = fields_check_keys(obj, sec, keys, ARRAY_SIZE(keys), err);
	if (!ret)
		ret = fields_get_string(obj, sec, "kernel_image_path", true, &bs.kernel_image_path,
					err);
	if (!ret)
		ret = fields_get_string(obj, sec, "boot_args", false, &bs.boot_args, err);
	if (!ret)
		ret = fields_get_string(obj, sec, "initrd_path", false, &bs.initrd_path, err);
	if (!ret && bs.kernel_image_path[0] == '\0')
		ret = fail(err, "%s.kernel_image_path: must not be empty", sec);
	if (!ret && !bs.boot_args) {
		bs.boot_args = strdup(VM_DEFAULT_BOOT_ARGS);
		if (!bs.boot_args)
			ret = err_set(err, -ENOMEM, "out of memory");
	}
	if (ret) {
		boot_source_free(&bs);
		return ret;
	}
	*out = bs;
	return 0;
}

int serial_config_parse(json_t *obj, struct serial_config *out, struct err_buf *err)
{
	static const char *const keys[] = { "serial_out_path" };
	const char *sec = "serial";
	struct serial_config sc = { 0 };
	int ret;

	if (!json_is_object(obj))
		return fail(err, "%s: expected an object", sec);
	ret = fields_check_keys(obj, sec, keys, ARRAY_SIZE(keys), err);
	if (!ret)
		ret = fields_get_string(obj, sec, "serial_out_path", false, &sc.serial_out_path,
					err);
	if (!ret && sc.serial_out_path && sc.serial_out_path[0] == '\0')
		ret = fail(err, "%s.serial_out_path: must not be empty", sec);
	if (ret) {
		free(sc.serial_out_path);
		return ret;
	}
	*out = sc;
	return 0;
}
