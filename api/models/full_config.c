/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's config file (--config-file, the shape of GET /vm/config):
 * each section through the same parser as its API body, then the same rules
 * as the API's PUTs (vm_config_put_drive, vm_config_put_net,
 * machine_config_apply).
 */
#include "api/models/config_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/models/fields.h"
#include "api/models/parse.h"

/* Top-level keys of Firecracker's config file that ignis does not serve yet. */
static const char *const unsupported_sections[] = {
	"balloon", "vsock", "entropy", "pmem",
	"memory-hotplug", "mmds-config", "cpu-config",
};

void config_file_extras_free(struct config_file_extras *ex)
{
	free(ex->logger.log_path);
	free(ex->metrics.metrics_path);
	memset(ex, 0, sizeof(*ex));
}

/* "logger" and "metrics": the API's parsers; null is an absent section. */
static int parse_extras(json_t *root, struct config_file_extras *ex, struct err_buf *err)
{
	json_t *logger = json_object_get(root, "logger");
	json_t *metrics = json_object_get(root, "metrics");
	struct err_buf why;

	if (logger && !json_is_null(logger)) {
		if (!json_is_object(logger))
			return fail(err, "logger: expected an object");
		if (logger_command_parse(logger, &ex->logger, &why))
			return fail(err, "%s", why.msg); /* it names "logger" already */
		ex->has_logger = true;
	}
	if (metrics && !json_is_null(metrics)) {
		if (!json_is_object(metrics))
			return fail(err, "metrics: expected an object");
		if (metrics_command_parse(metrics, &ex->metrics, &why))
			return fail(err, "%s", why.msg);
		ex->has_metrics = true;
	}
	return 0;
}

static int parse_drives(json_t *arr, struct vm_config *cfg, struct err_buf *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return fail(err, "drives: expected an array");
	json_array_foreach(arr, i, v) {
		struct drive_config d;
		struct err_buf why;
		int ret;

		ret = drive_config_parse(v, &d, &why);
		if (!ret) {
			for (unsigned int j = 0; j < cfg->nr_drives; j++) {
				if (strcmp(cfg->drives[j].drive_id, d.drive_id) == 0) {
					ret = fail(&why, "drive \"%s\": drive_id used twice", d.drive_id);
					drive_config_free(&d);
					break;
				}
			}
		}
		if (!ret) {
			ret = vm_config_put_drive(cfg, &d, &why);
			drive_config_free(&d);
		}
		if (ret)
			return fail(err, "drives[%zu]: %s", i, why.msg);
	}
	return 0;
}



static int parse_nets(json_t *arr, struct vm_config *cfg, struct err_buf *err)
{
	const char *sec = "network-interfaces";
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return fail(err, "%s: expected an array", sec);
	json_array_foreach(arr, i, v) {
		struct net_config n;
		struct err_buf why;
		int ret;

		ret = net_config_parse(v, &n, &why);
		for (unsigned int j = 0; !ret && j < cfg->nr_nets; j++)
			if (strcmp(cfg->nets[j].iface_id, n.iface_id) == 0)
				ret = fail(&why, "iface \"%s\": iface_id used twice", n.iface_id);
		if (!ret)
			ret = vm_config_put_net(cfg, &n, &why);
		if (ret)
			return fail(err, "%s[%zu]: %s", sec, i, why.msg);
	}
	return 0;
}

static int parse_root(json_t *root, struct vm_config *cfg, struct err_buf *err)
{
	static const char *const keys[] = { "boot-source", "machine-config", "serial", "drives",
					    "network-interfaces", "logger", "metrics" };
	const char *key;
	json_t *val;
	int ret;

	if (!json_is_object(root))
		return fail(err, "config file: expected a JSON object at the top level");
	json_object_foreach(root, key, val) {
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			known |= strcmp(key, keys[i]) == 0;
		for (size_t i = 0; i < ARRAY_SIZE(unsupported_sections) && !known; i++) {
			if (strcmp(key, unsupported_sections[i]) != 0)
				continue;
			/* null is what GET /vm/config says for an absent section. */
			if (!json_is_null(val))
				return fail(err, "%s: not supported by this version of ignis", key);
			known = true;
		}
		if (!known)
			return fail(err, "config file: unknown field `%s`", key);
	}

	val = json_object_get(root, "boot-source");
	if (val && !json_is_null(val)) {
		ret = boot_source_parse(val, &cfg->boot, err);
		if (ret)
			return ret;
		cfg->has_boot_source = true;
	}
	val = json_object_get(root, "drives");
	if (val && !json_is_null(val)) {
		ret = parse_drives(val, cfg, err);
		if (ret)
			return ret;
	}
	val = json_object_get(root, "network-interfaces");
	if (val && !json_is_null(val)) {
		ret = parse_nets(val, cfg, err);
		if (ret)
			return ret;
	}
	val = json_object_get(root, "serial");
	if (val && !json_is_null(val)) {
		ret = serial_config_parse(val, &cfg->serial, err);
		if (ret)
			return ret;
	}
	val = json_object_get(root, "machine-config");
	if (val && !json_is_null(val)) {
		struct machine_config_update u;

		ret = machine_config_parse(val, false, &u, err);
		if (!ret)
			ret = machine_config_apply(&cfg->machine, &u, &cfg->machine, err);
		return ret;
	}
	return 0;
}

int vm_config_parse_ext(struct vm_config *cfg, struct config_file_extras *ex, const char *json,
			struct err_buf *err)
{
	struct config_file_extras extras = { 0 };
	struct vm_config tmp;
	json_error_t jerr;
	json_t *root;
	int ret;

	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(err, "config file: invalid JSON at line %d column %d: %s", jerr.line,
			    jerr.column, jerr.text);

	/* Parse into a scratch copy so a bad file leaves @cfg as it was. */
	vm_config_init(&tmp);
	ret = parse_root(root, &tmp, err);
	if (!ret)
		ret = parse_extras(root, &extras, err);
	json_decref(root);
	if (ret) {
		vm_config_free(&tmp);
		config_file_extras_free(&extras);
		return ret;
	}
	vm_config_free(cfg);
	*cfg = tmp;
	if (ex)
		*ex = extras;
	else
		config_file_extras_free(&extras);
	return 0;
}

int vm_config_parse(struct vm_config *cfg, const char *json, struct err_buf *err)
{
	return vm_config_parse_ext(cfg, NULL, json, err);
}

/* A microVM's whole description is a few KiB; 1 MiB leaves room for comments and base64. */
#define CONFIG_FILE_MAX (1 << 20)

int vm_config_parse_file(struct vm_config *cfg, const char *path, struct err_buf *err)
{
	return vm_config_parse_file_ext(cfg, NULL, path, err);
}

int vm_config_parse_file_ext(struct vm_config *cfg, struct config_file_extras *ex,
			     const char *path, struct err_buf *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f, *mem;
	char chunk[4096];
	size_t n;
	int ret;

	f = fopen(path, "re");
	if (!f)
		return fail(err, "config file %s: %s", path, strerror(errno));
	mem = open_memstream(&buf, &len);
	if (!mem) {
		fclose(f);
		return -ENOMEM;
	}
	ret = 0;
	while (!ret && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		/* Bounded: the path may name anything, /dev/zero or an endless FIFO included. */
		if (ftell(mem) + (long)n > CONFIG_FILE_MAX)
			ret = fail(err, "config file %s: larger than %d bytes", path, CONFIG_FILE_MAX);
		else
			fwrite(chunk, 1, n, mem);
	}
	if (!ret && ferror(f))
		ret = fail(err, "config file %s: read error", path);
	fclose(f);
	fclose(mem);
	if (!ret)
		ret = vm_config_parse_ext(cfg, ex, buf, err);
	free(buf);
	return ret;
}

