/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/config/compare.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static int differ(char *why, size_t len, const char *fmt,
							   ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *or_none(const char *s)
{
	return s ? s : "(none)";
}

static int machine_compare(const struct machine_config *a, const struct machine_config *b,
			   char *why, size_t len)
{
	if (a->vcpu_count != b->vcpu_count)
		return differ(why, len, "vcpu_count %u here, %u in the pre-warmed microVM",
			      a->vcpu_count, b->vcpu_count);
	if (a->mem_size_mib != b->mem_size_mib)
		return differ(why, len, "mem_size_mib %u here, %u in the pre-warmed microVM",
			      a->mem_size_mib, b->mem_size_mib);
	if (a->smt != b->smt)
		return differ(why, len, "smt %s here, %s in the pre-warmed microVM",
			      a->smt ? "true" : "false", b->smt ? "true" : "false");
	if (a->huge_pages != b->huge_pages)
		return differ(why, len, "huge_pages %s here, %s in the pre-warmed microVM",
			      huge_pages_name(a->huge_pages), huge_pages_name(b->huge_pages));
	if (a->track_dirty_pages != b->track_dirty_pages)
		return differ(why, len, "track_dirty_pages %s here, %s in the pre-warmed microVM",
			      a->track_dirty_pages ? "true" : "false",
			      b->track_dirty_pages ? "true" : "false");
	return 0;
}

static int drive_compare(const struct drive_config *a, const struct drive_config *b, char *why,
			 size_t len)
{
	const char *pa = or_none(a->path_on_host), *pb = or_none(b->path_on_host);

	if (strcmp(a->drive_id, b->drive_id))
		return differ(why, len, "drive %s here, %s in the pre-warmed microVM", a->drive_id,
			      b->drive_id);
	if (strcmp(pa, pb))
		return differ(why, len, "drive %s: path_on_host %s here, %s in the pre-warmed microVM",
			      a->drive_id, pa, pb);
	if (a->is_read_only != b->is_read_only || a->is_root_device != b->is_root_device)
		return differ(why, len, "drive %s: is_read_only or is_root_device differs",
			      a->drive_id);
	if (a->cache_type != b->cache_type || a->io_engine != b->io_engine)
		return differ(why, len, "drive %s: cache_type %s/%s, io_engine %s/%s (here/pre-warmed)",
			      a->drive_id, cache_type_name(a->cache_type),
			      cache_type_name(b->cache_type), io_engine_name(a->io_engine),
			      io_engine_name(b->io_engine));
	return 0;
}

static int net_compare(const struct net_config *a, const struct net_config *b, char *why,
		       size_t len)
{
	if (strcmp(a->iface_id, b->iface_id))
		return differ(why, len, "network interface %s here, %s in the pre-warmed microVM",
			      a->iface_id, b->iface_id);
	if (strcmp(a->host_dev_name, b->host_dev_name))
		return differ(why, len,
			      "network interface %s: host_dev_name %s here, %s in the pre-warmed "
			      "microVM",
			      a->iface_id, a->host_dev_name, b->host_dev_name);
	if (a->has_guest_mac != b->has_guest_mac ||
	    (a->has_guest_mac && memcmp(a->guest_mac, b->guest_mac, sizeof(a->guest_mac))))
		return differ(why, len, "network interface %s: guest_mac differs", a->iface_id);
	if (a->mtu != b->mtu)
		return differ(why, len, "network interface %s: mtu %u here, %u in the pre-warmed microVM",
			      a->iface_id, a->mtu, b->mtu);
	return 0;
}

int vm_config_compare(const struct vm_config *a, const struct vm_config *b, char *why,
		      size_t len)
{
	if (machine_compare(&a->machine, &b->machine, why, len))
		return -1;
	if (a->nr_drives != b->nr_drives)
		return differ(why, len, "%u drive(s) here, %u in the pre-warmed microVM", a->nr_drives,
			      b->nr_drives);
	if (a->nr_nets != b->nr_nets)
		return differ(why, len, "%u network interface(s) here, %u in the pre-warmed microVM",
			      a->nr_nets, b->nr_nets);
	for (unsigned int i = 0; i < a->nr_drives; i++)
		if (drive_compare(&a->drives[i], &b->drives[i], why, len))
			return -1;
	for (unsigned int i = 0; i < a->nr_nets; i++)
		if (net_compare(&a->nets[i], &b->nets[i], why, len))
			return -1;
	return 0;
}
