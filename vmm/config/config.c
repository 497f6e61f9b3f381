/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vmm/config/json_get.h"

static const char *const huge_pages_names[] = {
	[HUGE_PAGES_NONE] = "None",
	[HUGE_PAGES_TRANSPARENT] = "Transparent",
	[HUGE_PAGES_2M] = "2M",
};

/* Top-level keys of Firecracker's config file that ignis does not serve yet. */
static const char *const unsupported_sections[] = {
	"balloon", "vsock", "entropy", "pmem",
	"memory-hotplug", "mmds-config", "logger", "metrics", "cpu-config",
};

const char *huge_pages_name(enum huge_pages hp)
{
	return (unsigned int)hp < ARRAY_SIZE(huge_pages_names) ? huge_pages_names[hp] : "?";
}

const char *config_id_problem(const char *id)
{
	if (!id[0])
		return "The ID cannot be empty.";
	for (const char *p = id; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return "API Resource IDs can only contain alphanumeric characters and underscores.";
	}
	return NULL;
}

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->machine.vcpu_count = VM_DEFAULT_VCPUS;
	cfg->machine.mem_size_mib = VM_DEFAULT_MEM_MIB;
	cfg->machine.huge_pages = HUGE_PAGES_NONE;
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

static int parse_boot_source(json_t *obj, struct boot_source_config *bs, struct err_buf *err)
{
	static const char *const keys[] = { "kernel_image_path", "boot_args", "initrd_path" };
	const char *sec = "boot-source";
	int ret;

	if (!json_is_object(obj))
		return fail(err, "%s: expected an object", sec);
	ret = config_check_keys(obj, sec, keys, 3, err);
	if (!ret)
		ret = config_get_string(obj, sec, "kernel_image_path", true, &bs->kernel_image_path,
					err);
	if (!ret)
		ret = config_get_string(obj, sec, "boot_args", false, &bs->boot_args, err);
	if (!ret)
		ret = config_get_string(obj, sec, "initrd_path", false, &bs->initrd_path, err);
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
	int v = (int)*out;
	int ret = config_get_enum(obj, sec, "huge_pages", huge_pages_names,
				  ARRAY_SIZE(huge_pages_names), &v, err);

	*out = (enum huge_pages)v;
	return ret;
}

static int parse_machine_config(json_t *obj, struct machine_config *mc, bool patch,
				struct err_buf *err)
{
	static const char *const keys[] = { "vcpu_count",        "mem_size_mib", "smt",
					    "track_dirty_pages", "huge_pages",   "cpu_template" };
	const char *sec = "machine-config";
	json_t *tmpl;
	int ret;

	if (!json_is_object(obj))
		return fail(err, "%s: expected an object", sec);
	ret = config_check_keys(obj, sec, keys, 6, err);
	if (!ret)
		ret = config_get_uint(obj, sec, "vcpu_count", !patch, 1, VM_MAX_VCPUS,
				      &mc->vcpu_count, err);
	if (!ret)
		ret = config_get_uint(obj, sec, "mem_size_mib", !patch, 1, VM_MAX_MEM_MIB,
				      &mc->mem_size_mib, err);
	if (!ret)
		ret = config_get_bool(obj, sec, "smt", &mc->smt, err);
	if (!ret)
		ret = config_get_bool(obj, sec, "track_dirty_pages", &mc->track_dirty_pages, err);
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

/* One more virtio device would need an IRQ past 23: say so, naming the newcomer. */
bool vm_config_virtio_full(const struct vm_config *cfg, const char *kind, const char *id,
			   struct err_buf *err)
{
	if (cfg->nr_drives + cfg->nr_nets < VM_MAX_VIRTIO_DEVICES)
		return false;
	fail(err,
	     "%s \"%s\": too many virtio devices: %u drive(s) and %u network interface(s) "
	     "already use all %d (one IRQ each, 5 to 23)",
	     kind, id, cfg->nr_drives, cfg->nr_nets, VM_MAX_VIRTIO_DEVICES);
	return true;
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

static int parse_serial(json_t *obj, struct serial_config *sc, struct err_buf *err)
{
	static const char *const keys[] = { "serial_out_path" };
	const char *sec = "serial";
	int ret;

	if (!json_is_object(obj))
		return fail(err, "%s: expected an object", sec);
	ret = config_check_keys(obj, sec, keys, 1, err);
	if (!ret)
		ret = config_get_string(obj, sec, "serial_out_path", false, &sc->serial_out_path,
					err);
	if (!ret && sc->serial_out_path && sc->serial_out_path[0] == '\0')
		return fail(err, "%s.serial_out_path: must not be empty", sec);
	return ret;
}

int machine_config_parse(const void *json_obj, const struct machine_config *base, bool patch,
			 struct machine_config *out, struct err_buf *err)
{
	struct machine_config mc;
	int ret;

	if (base) {
		mc = *base;
	} else {
		struct vm_config defaults;

		vm_config_init(&defaults);
		mc = defaults.machine;
	}
	ret = parse_machine_config((json_t *)json_obj, &mc, patch, err);
	if (!ret)
		*out = mc;
	return ret;
}

int boot_source_parse(const void *json_obj, struct boot_source_config *out, struct err_buf *err)
{
	struct boot_source_config bs = { 0 };
	int ret = parse_boot_source((json_t *)json_obj, &bs, err);

	if (ret) {
		boot_source_free(&bs);
		return ret;
	}
	*out = bs;
	return 0;
}

void boot_source_free(struct boot_source_config *bs)
{
	free(bs->kernel_image_path);
	free(bs->initrd_path);
	free(bs->boot_args);
	memset(bs, 0, sizeof(*bs));
}

int serial_config_parse(const void *json_obj, struct serial_config *out, struct err_buf *err)
{
	struct serial_config sc = { 0 };
	int ret = parse_serial((json_t *)json_obj, &sc, err);

	if (ret) {
		free(sc.serial_out_path);
		return ret;
	}
	*out = sc;
	return 0;
}

static int parse_root(json_t *root, struct vm_config *cfg, struct err_buf *err)
{
	static const char *const keys[] = { "boot-source", "machine-config", "serial", "drives",
					    "network-interfaces" };
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
		ret = parse_boot_source(val, &cfg->boot, err);
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
		ret = parse_serial(val, &cfg->serial, err);
		if (ret)
			return ret;
	}
	val = json_object_get(root, "machine-config");
	if (val && !json_is_null(val))
		return parse_machine_config(val, &cfg->machine, false, err);
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
