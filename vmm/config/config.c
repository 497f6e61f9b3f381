/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/config/config.h"

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

/* Top-level keys of Firecracker's config file that ignis does not serve yet. */
static const char *const unsupported_sections[] = {
	"balloon", "vsock", "entropy", "pmem",
	"memory-hotplug", "mmds-config", "logger", "metrics", "cpu-config",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *huge_pages_name(enum huge_pages hp)
{
	return (unsigned int)hp < ARRAY_SIZE(huge_pages_names) ? huge_pages_names[hp] : "?";
}

const char *cache_type_name(enum cache_type ct)
{
	return (unsigned int)ct < ARRAY_SIZE(cache_type_names) ? cache_type_names[ct] : "?";
}

const char *io_engine_name(enum io_engine e)
{
	return (unsigned int)e < ARRAY_SIZE(io_engine_names) ? io_engine_names[e] : "?";
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
	boot_source_free(&cfg->boot);
	free(cfg->serial.serial_out_path);
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		drive_config_free(&cfg->drives[i]);
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		net_config_free(&cfg->nets[i]);
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

/* An optional string field that must be one of @names; sets *out to its index. */
static int get_enum(json_t *obj, const char *sec, const char *key, const char *const *names,
		    unsigned int n, int *out, struct err_buf *err)
{
	json_t *v = json_object_get(obj, key);
	char expected[160] = "";

	if (!v)
		return 0;
	if (json_is_string(v)) {
		for (unsigned int i = 0; i < n; i++) {
			if (strcmp(json_string_value(v), names[i]) == 0) {
				*out = (int)i;
				return 0;
			}
		}
	}
	for (unsigned int i = 0; i < n; i++)
		snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected),
			 "%s\"%s\"", i ? ", " : "", names[i]);
	return fail(err, "%s.%s: expected one of %s", sec, key, expected);
}

static int parse_huge_pages(json_t *obj, const char *sec, enum huge_pages *out,
			    struct err_buf *err)
{
	int v = (int)*out;
	int ret = get_enum(obj, sec, "huge_pages", huge_pages_names, ARRAY_SIZE(huge_pages_names),
			   &v, err);

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
	ret = check_keys(obj, sec, keys, 6, err);
	if (!ret)
		ret = get_uint(obj, sec, "vcpu_count", !patch, 1, VM_MAX_VCPUS, &mc->vcpu_count,
			       err);
	if (!ret)
		ret = get_uint(obj, sec, "mem_size_mib", !patch, 1, VM_MAX_MEM_MIB,
			       &mc->mem_size_mib, err);
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
	ret = get_string(obj, "drive", "drive_id", true, &id, err);
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

	ret = check_keys(obj, sec, keys, ARRAY_SIZE(keys), err);
	if (!ret && json_object_get(obj, "rate_limiter") && !json_is_null(json_object_get(obj, "rate_limiter")))
		ret = fail(err, "%s: rate_limiter is not supported by this version of ignis", sec);
	if (!ret && json_object_get(obj, "socket") && !json_is_null(json_object_get(obj, "socket")))
		ret = fail(err, "%s: socket (vhost-user-blk) is not supported by ignis", sec);
	if (!ret)
		ret = get_string(obj, sec, "path_on_host", true, &d.path_on_host, err);
	if (!ret && !d.path_on_host[0])
		ret = fail(err, "%s.path_on_host: must not be empty", sec);
	if (!ret) {
		root = json_object_get(obj, "is_root_device");
		if (!root)
			ret = fail(err, "%s: missing field `is_root_device`", sec);
	}
	if (!ret)
		ret = get_bool(obj, sec, "is_root_device", &d.is_root_device, err);
	if (!ret)
		ret = get_bool(obj, sec, "is_read_only", &d.is_read_only, err);
	if (!ret)
		ret = get_string(obj, sec, "partuuid", false, &d.partuuid, err);
	if (!ret)
		ret = get_enum(obj, sec, "cache_type", cache_type_names, ARRAY_SIZE(cache_type_names),
			       &ct, err);
	if (!ret)
		ret = get_enum(obj, sec, "io_engine", io_engine_names, ARRAY_SIZE(io_engine_names),
			       &eng, err);
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

/* One more virtio device would need an IRQ past 23: say so, naming the newcomer. */
static bool too_many_virtio_devices(const struct vm_config *cfg, struct err_buf *err,
				    const char *kind, const char *id)
{
	if (cfg->nr_drives + cfg->nr_nets < VM_MAX_VIRTIO_DEVICES)
		return false;
	fail(err,
	     "%s \"%s\": too many virtio devices: %u drive(s) and %u network interface(s) "
	     "already use all %d (one IRQ each, 5 to 23)",
	     kind, id, cfg->nr_drives, cfg->nr_nets, VM_MAX_VIRTIO_DEVICES);
	return true;
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
	if (slot == cfg->nr_drives && too_many_virtio_devices(cfg, err, "drive", d->drive_id))
		return -EINVAL;
	if (slot < cfg->nr_drives)
		drive_config_free(&cfg->drives[slot]);
	else
		cfg->nr_drives++;
	cfg->drives[slot] = *d;
	memset(d, 0, sizeof(*d));
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

void net_config_free(struct net_config *n)
{
	/* Nothing is heap-owned today; kept so callers free nets as they free drives. */
	memset(n, 0, sizeof(*n));
}

void net_mac_format(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Firecracker's MacAddr: six two-digit hex bytes separated by ':'. NULL or the problem. */
static const char *mac_parse(const char *s, uint8_t mac[6])
{
	static const char *const form =
		"expected six two-digit hex bytes separated by ':', like \"06:00:ac:10:00:02\"";

	if (strlen(s) != 17)
		return form;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return form;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if (mac[0] & 1)
		return "is a multicast address (the lowest bit of the first byte must be 0)";
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return "is all zeroes";
	return NULL;
}

/* What Linux's dev_valid_name() accepts, so the TAP can exist at all. NULL or the problem. */
static const char *ifname_problem(const char *name)
{
	if (!name[0])
		return "must not be empty";
	if (strlen(name) > NET_HOST_DEV_NAME_MAX)
		return "longer than 15 characters (IFNAMSIZ)";
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return "is not a valid interface name";
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || *p == ' ' || (*p >= '\t' && *p <= '\r'))
			return "is not a valid interface name (no '/', ':' or whitespace)";
	return NULL;
}

/* A rate limiter object is refused; null (what GET /vm/config shows) means none. */
static int refuse_present(json_t *obj, const char *sec, const char *key, struct err_buf *err)
{
	json_t *v = json_object_get(obj, key);

	if (v && !json_is_null(v))
		return fail(err, "%s: %s is not supported by this version of ignis", sec, key);
	return 0;
}

int net_config_parse(const void *json_obj, struct net_config *out, struct err_buf *err)
{
	static const char *const keys[] = { "iface_id", "host_dev_name",   "guest_mac",
					    "mtu",      "rx_rate_limiter", "tx_rate_limiter" };
	json_t *obj = (json_t *)json_obj;
	struct net_config n;
	char sec[NET_IFACE_ID_MAX + 16];
	char *str = NULL;
	const char *why;
	json_t *mtu;
	int ret;

	memset(&n, 0, sizeof(n));
	if (!json_is_object(obj))
		return fail(err, "network interface: expected an object");
	ret = get_string(obj, "network interface", "iface_id", true, &str, err);
	if (ret)
		return ret;
	why = config_id_problem(str);
	if (why || strlen(str) > NET_IFACE_ID_MAX) {
		ret = fail(err, "iface_id \"%s\": %s", str, why ? why : "longer than 64 characters");
		free(str);
		return ret;
	}
	strcpy(n.iface_id, str);
	free(str);
	snprintf(sec, sizeof(sec), "iface \"%s\"", n.iface_id);

	ret = check_keys(obj, sec, keys, ARRAY_SIZE(keys), err);
	if (!ret)
		ret = refuse_present(obj, sec, "rx_rate_limiter", err);
	if (!ret)
		ret = refuse_present(obj, sec, "tx_rate_limiter", err);
	if (!ret)
		ret = get_string(obj, sec, "host_dev_name", true, &str, err);
	if (ret)
		return ret;
	why = ifname_problem(str);
	if (why) {
		ret = fail(err, "%s.host_dev_name \"%s\": %s", sec, str, why);
		free(str);
		return ret;
	}
	strcpy(n.host_dev_name, str);
	free(str);

	ret = get_string(obj, sec, "guest_mac", false, &str, err);
	if (ret)
		return ret;
	if (str) {
		why = mac_parse(str, n.guest_mac);
		if (why) {
			ret = fail(err, "%s.guest_mac \"%s\": %s", sec, str, why);
			free(str);
			return ret;
		}
		n.has_guest_mac = true;
		free(str);
	}

	mtu = json_object_get(obj, "mtu");
	if (mtu && !json_is_null(mtu)) {
		ret = get_uint(obj, sec, "mtu", false, NET_MTU_MIN, NET_MTU_MAX, &n.mtu, err);
		if (ret)
			return ret;
	}
	*out = n;
	return 0;
}

int vm_config_put_net(struct vm_config *cfg, struct net_config *n, struct err_buf *err)
{
	unsigned int slot = cfg->nr_nets;

	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *o = &cfg->nets[i];

		if (strcmp(o->iface_id, n->iface_id) == 0) {
			slot = i;
			continue;
		}
		if (strcmp(o->host_dev_name, n->host_dev_name) == 0)
			return fail(err, "iface \"%s\": host_dev_name \"%s\" is already used by iface \"%s\"",
				    n->iface_id, n->host_dev_name, o->iface_id);
		if (n->has_guest_mac && o->has_guest_mac &&
		    memcmp(o->guest_mac, n->guest_mac, sizeof(n->guest_mac)) == 0) {
			char mac[18];

			net_mac_format(n->guest_mac, mac);
			return fail(err, "iface \"%s\": guest_mac %s is already used by iface \"%s\"",
				    n->iface_id, mac, o->iface_id);
		}
	}
	if (slot == cfg->nr_nets && too_many_virtio_devices(cfg, err, "iface", n->iface_id))
		return -EINVAL;
	if (slot < cfg->nr_nets)
		net_config_free(&cfg->nets[slot]);
	else
		cfg->nr_nets++;
	cfg->nets[slot] = *n;
	memset(n, 0, sizeof(*n));
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
	ret = check_keys(obj, sec, keys, 1, err);
	if (!ret)
		ret = get_string(obj, sec, "serial_out_path", false, &sc->serial_out_path, err);
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
