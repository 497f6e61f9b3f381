/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vm_config and the instance back to Firecracker's JSON shapes: the
 * bodies of the GET answers (replies.h).
 */
#include "api/models/replies.h"

#include <jansson.h>

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *machine_to_json(const struct machine_config *mc)
{
	return json_pack("{s:i, s:i, s:b, s:b, s:s}", "vcpu_count", (json_int_t)mc->vcpu_count,
			 "mem_size_mib", (json_int_t)mc->mem_size_mib, "smt", mc->smt,
			 "track_dirty_pages", mc->track_dirty_pages, "huge_pages",
			 huge_pages_name(mc->huge_pages));
}

static json_t *drive_to_json(const struct drive_config *d)
{
	return json_pack("{s:s, s:o, s:b, s:s, s:b, s:s, s:n, s:s, s:n}", "drive_id", d->drive_id,
			 "partuuid", string_or_null(d->partuuid), "is_root_device",
			 d->is_root_device, "cache_type", cache_type_name(d->cache_type),
			 "is_read_only", d->is_read_only, "path_on_host", d->path_on_host,
			 "rate_limiter", "io_engine", io_engine_name(d->io_engine), "socket");
}

static json_t *net_to_json(const struct net_config *n)
{
	char mac[18];
	json_t *j = json_pack("{s:s, s:s, s:n, s:n}", "iface_id", n->iface_id, "host_dev_name",
			      n->host_dev_name, "rx_rate_limiter", "tx_rate_limiter");

	if (!j)
		return NULL;
	if (n->has_guest_mac) {
		net_mac_format(n->guest_mac, mac);
		json_object_set_new(j, "guest_mac", json_string(mac));
	} else {
		json_object_set_new(j, "guest_mac", json_null());
	}
	if (n->mtu)
		json_object_set_new(j, "mtu", json_integer((json_int_t)n->mtu));
	return j;
}

static json_t *vm_config_to_json(const struct vm_config *cfg)
{
	json_t *root, *drives, *nets, *boot;

	drives = json_array();
	for (unsigned int i = 0; drives && i < cfg->nr_drives; i++)
		json_array_append_new(drives, drive_to_json(&cfg->drives[i]));
	nets = json_array();
	for (unsigned int i = 0; nets && i < cfg->nr_nets; i++)
		json_array_append_new(nets, net_to_json(&cfg->nets[i]));
	if (cfg->has_boot_source)
		boot = json_pack("{s:s, s:o, s:o}", "kernel_image_path", cfg->boot.kernel_image_path,
				 "initrd_path", string_or_null(cfg->boot.initrd_path), "boot_args",
				 string_or_null(cfg->boot.boot_args));
	else
		boot = json_null();
	root = json_pack("{s:o, s:o, s:o, s:o}", "boot-source", boot, "machine-config",
			 machine_to_json(&cfg->machine), "drives", drives,
			 "network-interfaces", nets);
	if (root && cfg->serial.serial_out_path)
		json_object_set_new(root, "serial",
				    json_pack("{s:s}", "serial_out_path", cfg->serial.serial_out_path));
	return root;
}

/* Serialises and drops @json; NULL stays NULL. */
static char *text_of(json_t *json)
{
	char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;

	json_decref(json);
	return text;
}

char *reply_instance_info(const char *id, const char *state, const char *vmm_version)
{
	return text_of(json_pack("{s:s, s:s, s:s, s:s}", "app_name", "ignis", "id", id, "state",
				 state, "vmm_version", vmm_version));
}

char *reply_version(const char *firecracker_version, const char *ignis_version)
{
	return text_of(json_pack("{s:s, s:s}", "firecracker_version", firecracker_version,
				 "ignis_version", ignis_version));
}

char *reply_machine_config(const struct machine_config *mc)
{
	return text_of(machine_to_json(mc));
}

char *reply_vm_config(const struct vm_config *cfg)
{
	return text_of(vm_config_to_json(cfg));
}
