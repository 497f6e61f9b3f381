/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const char *const huge_pages_names[] = {
	[HUGE_PAGES_NONE] = "None",
	[HUGE_PAGES_TRANSPARENT] = "Transparent",
	[HUGE_PAGES_2M] = "2M",
};

/* Top-level keys of Firecracker's config file that ignis does not serve yet. */
static const char *const unsupported_sections[] = {
	"drives", "network-interfaces", "balloon", "vsock", "entropy", "pmem",
	"memory-hotplug", "mmds-config", "logger", "metrics", "cpu-config",
};

const char *huge_pages_name(enum huge_pages hp)
{
	return (unsigned int)hp < 3 ? huge_pages_names[hp] : "?";
}

#define fail(err, ...) err_set((err), -EINVAL, __VA_ARGS__)

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->machine.vcpu_count = VM_DEFAULT_VCPUS;
	cfg->machine.mem_size_mib = VM_DEFAULT_MEM_MIB;
	cfg->machine.huge_pages = HUGE_PAGES_NONE;
}

void vm_config_free(struct vm_config *cfg)
{
	free(cfg->boot.kernel_image_path);
	free(cfg->boot.initrd_path);
	free(cfg->boot.boot_args);
	free(cfg->serial.serial_out_path);
	vm_config_init(cfg);
}

/* Rejects keys of @obj that are not in @allowed (Firecracker's deny_unknown_fields). */
static int check_keys(json_t *obj, const char *section, const char *const *allowed, size_t n,
		      struct err_buf *err)
{
	const char *key;
	json_t *val;

	json_object_foreach(obj, key, val) {
		size_t i;

		for (i = 0; i < n; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (i == n)
			return fail(err, "%s: unknown field `%s`", section, key);
	}
	return 0;
}

static int get_string(json_t *obj, const char *section, const char *key, bool required,
		      char **out, struct err_buf *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return fail(err, "%s: missing field `%s`", section, key);
		return 0;
	}
	if (!json_is_string(v))
		return fail(err, "%s.%s: expected a string", section, key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(err, "%s.%s: must not contain NUL characters", section, key);
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

static int get_bool(json_t *obj, const char *section, const char *key, bool *out,
		    struct err_buf *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail(err, "%s.%s: expected true or false", section, key);
	*out = json_is_true(v);
	return 0;
}

static int get_uint(json_t *obj, const char *section, const char *key, bool required,
		    unsigned long long min, unsigned long long max, unsigned int *out,
		    struct err_buf *err)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!v) {
		if (required)
			return fail(err, "%s: missing field `%s`", section, key);
		return 0;
	}
	if (!json_is_integer(v))
		return fail(err, "%s.%s: expected an integer", section, key);
	n = json_integer_value(v);
	if (n < 0 || (unsigned long long)n < min || (unsigned long long)n > max)
		return fail(err, "%s.%s: %lld is out of range (%llu to %llu)", section, key,
			    (long long)n, min, max);
	*out = (unsigned int)n;
	return 0;
}

static int parse_boot_source(json_t *obj, struct boot_source_config *bs, struct err_buf *err)
{
	static const char *const keys[] = { "kernel_image_path", "boot_args", "initrd_path" };
	const char *sec = "boot-source";
	int ret;

	if (!json_is_object(obj))
		return fail(err, "%s: expected an object", sec);
	ret = check_keys(obj, sec, keys, 3, err);
	if (!ret)
		ret = get_string(obj, sec, "kernel_image_path", true, &bs->kernel_image_path, err);
	if (!ret)
		ret = get_string(obj, sec, "boot_args", false, &bs->boot_args, err);
	if (!ret)
		ret = get_string(obj, sec, "initrd_path", false, &bs->initrd_path, err);
	if (ret)
		return ret;
	if (bs->kernel_image_path[0] == '\0')
		return fail(err, "%s.kernel_image_path: must not be empty", sec);
	if (!bs->boot_args) {
		bs->boot_args = strdup(VM_DEFAULT_BOOT_ARGS);
		if (!bs->boot_args)
			return -ENOMEM;
	}
	return 0;
}

static int parse_huge_pages(json_t *obj, const char *sec, enum huge_pages *out,
			    struct err_buf *err)
{
	json_t *v = json_object_get(obj, "huge_pages");

	if (!v)
		return 0;
	if (json_is_string(v)) {
		for (unsigned int i = 0; i < 3; i++) {
			if (strcmp(json_string_value(v), huge_pages_names[i]) == 0) {
				*out = (enum huge_pages)i;
				return 0;
			}
		}
	}
	return fail(err, "%s.huge_pages: expected one of \"None\", \"Transparent\", \"2M\"", sec);
}

static int parse_machine_config(json_t *obj, struct machine_config *mc, struct err_buf *err)
{
	static const char *const keys[] = { "vcpu_count",        "mem_size_mib", "smt",
					    "track_dirty_pages", "huge_pages",   "cpu_template" };
	const char *sec = "machine-config";
	json_t *tmpl;
	int ret;

	if (!json_is_object(obj))
		return fail(err, "%s: expected an object", sec);
	ret = check_keys(obj, sec, keys, 6, err);
	if (!ret)
		ret = get_uint(obj, sec, "vcpu_count", true, 1, VM_MAX_VCPUS, &mc->vcpu_count, err);
	if (!ret)
		ret = get_uint(obj, sec, "mem_size_mib", true, 1, VM_MAX_MEM_MIB, &mc->mem_size_mib,
			       err);
	if (!ret)
		ret = get_bool(obj, sec, "smt", &mc->smt, err);
	if (!ret)
		ret = get_bool(obj, sec, "track_dirty_pages", &mc->track_dirty_pages, err);
	if (!ret)
		ret = parse_huge_pages(obj, sec, &mc->huge_pages, err);
	if (ret)
		return ret;

	tmpl = json_object_get(obj, "cpu_template");
	if (tmpl && !(json_is_string(tmpl) && strcmp(json_string_value(tmpl), "None") == 0))
		return fail(err, "%s.cpu_template: only \"None\" is supported", sec);
	if (mc->smt && mc->vcpu_count > 1 && mc->vcpu_count % 2)
		return fail(err, "%s.vcpu_count: with smt enabled it must be 1 or an even number",
			    sec);
	if (mc->huge_pages != HUGE_PAGES_NONE && mc->mem_size_mib % 2)
		return fail(err, "%s.mem_size_mib: must be a multiple of 2 with huge_pages \"%s\"",
			    sec, huge_pages_names[mc->huge_pages]);
	return 0;
}

static int parse_serial(json_t *obj, struct serial_config *sc, struct err_buf *err)
{
	static const char *const keys[] = { "serial_out_path" };
	const char *sec = "serial";
	int ret;

	if (!json_is_object(obj))
		return fail(err, "%s: expected an object", sec);
	ret = check_keys(obj, sec, keys, 1, err);
	if (!ret)
		ret = get_string(obj, sec, "serial_out_path", false, &sc->serial_out_path, err);
	if (!ret && sc->serial_out_path && sc->serial_out_path[0] == '\0')
		return fail(err, "%s.serial_out_path: must not be empty", sec);
	return ret;
}

static int parse_root(json_t *root, struct vm_config *cfg, struct err_buf *err)
{
	static const char *const keys[] = { "boot-source", "machine-config", "serial" };
	const char *key;
	json_t *val;
	int ret;

	if (!json_is_object(root))
		return fail(err, "config file: expected a JSON object at the top level");
	json_object_foreach(root, key, val) {
		for (size_t i = 0; i < sizeof(unsupported_sections) / sizeof(char *); i++)
			if (strcmp(key, unsupported_sections[i]) == 0)
				return fail(err, "%s: not supported by this version of ignis", key);
	}
	ret = check_keys(root, "config file", keys, 3, err);
	if (ret)
		return ret;

	val = json_object_get(root, "boot-source");
	if (val) {
		ret = parse_boot_source(val, &cfg->boot, err);
		if (ret)
			return ret;
		cfg->has_boot_source = true;
	}
	val = json_object_get(root, "serial");
	if (val) {
		ret = parse_serial(val, &cfg->serial, err);
		if (ret)
			return ret;
	}
	val = json_object_get(root, "machine-config");
	if (val)
		return parse_machine_config(val, &cfg->machine, err);
	return 0;
}

int vm_config_parse(struct vm_config *cfg, const char *json, struct err_buf *err)
{
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
	json_decref(root);
	if (ret) {
		vm_config_free(&tmp);
		return ret;
	}
	vm_config_free(cfg);
	*cfg = tmp;
	return 0;
}

int vm_config_parse_file(struct vm_config *cfg, const char *path, struct err_buf *err)
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
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, mem);
	ret = ferror(f) ? fail(err, "config file %s: read error", path) : 0;
	fclose(f);
	fclose(mem);
	if (!ret)
		ret = vm_config_parse(cfg, buf, err);
	free(buf);
	return ret;
}

int vm_config_validate_boot(const struct vm_config *cfg, struct err_buf *err)
{
	if (!cfg->has_boot_source)
		return fail(err, "boot-source: missing (a kernel image is required to start)");
	return 0;
}
