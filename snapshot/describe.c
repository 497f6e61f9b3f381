/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/describe.h"

#include <errno.h>
#include <stdlib.h>

#include "snapshot/format/format.h"

static uint64_t memory_bytes(const struct snapshot_state *st)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < st->nr_regions; i++)
		total += st->regions[i].size;
	return total;
}

static void describe_vcpus(FILE *out, const struct snapshot_state *st)
{
	for (unsigned int i = 0; i < st->machine.vcpu_count; i++) {
		const struct snapshot_vcpu *v = &st->vcpus[i];

		fprintf(out,
			"vcpu %u: rip 0x%llx, mp_state %u, tsc %u kHz, xsave %u bytes, "
			"%u CPUID entries, %u MSRs\n",
			i, (unsigned long long)v->regs.rip, v->mp_state, v->tsc_khz, v->xsave_len,
			v->nr_cpuid, v->nr_msrs);
	}
}

static void describe_devices(FILE *out, const struct snapshot_state *st)
{
	for (unsigned int i = 0; i < st->nr_blks; i++) {
		const struct virtio_blk_state *b = &st->blks[i];
		const struct snapshot_drive *d = &st->drives[i];

		fprintf(out, "drive %s: %s, %llu sectors, %s%s%s%s, cache %s, engine %s\n",
			b->drive_id, d->path_on_host, (unsigned long long)b->capacity_sectors,
			d->is_read_only ? "read-only" : "read-write",
			d->is_root_device ? ", root" : "", d->has_partuuid ? " partuuid " : "",
			d->has_partuuid ? d->partuuid : "",
			cache_type_name((enum cache_type)d->cache_type),
			io_engine_name((enum io_engine)d->io_engine));
	}
	for (unsigned int i = 0; i < st->nr_nets; i++) {
		const struct virtio_net_state *n = &st->nets[i];
		const uint8_t *m = n->mac;

		fprintf(out, "network interface %s: tap %s", n->iface_id,
			st->net_hosts[i].host_dev_name);
		if (n->has_mac)
			fprintf(out, ", mac %02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
				m[4], m[5]);
		if (n->mtu)
			fprintf(out, ", mtu %u", n->mtu);
		fputc('\n', out);
	}
}

void snapshot_describe_state(FILE *out, const struct snapshot_state *st, unsigned int major,
			     unsigned int minor)
{
	fprintf(out, "format version: %u.%u\n", major, minor);
	fprintf(out, "architecture: x86_64\n");
	fprintf(out, "vcpus: %u\n", st->machine.vcpu_count);
	fprintf(out, "memory: %u MiB\n", st->machine.mem_size_mib);
	fprintf(out, "memory file size: %llu bytes\n", (unsigned long long)memory_bytes(st));
	for (unsigned int i = 0; i < st->nr_regions; i++)
		fprintf(out, "memory region %u: gpa 0x%llx, 0x%llx bytes\n", i,
			(unsigned long long)st->regions[i].gpa,
			(unsigned long long)st->regions[i].size);
	fprintf(out, "smt: %s\n", st->machine.smt ? "true" : "false");
	fprintf(out, "huge pages: %s\n", huge_pages_name(st->machine.huge_pages));
	describe_vcpus(out, st);
	fprintf(out, "drives: %u\n", st->nr_blks);
	fprintf(out, "network interfaces: %u\n", st->nr_nets);
	describe_devices(out, st);
}

int snapshot_describe(FILE *out, const char *path, struct err_buf *err)
{
	struct snapshot_version v;
	struct snapshot_state *st;
	uint8_t *payload;
	size_t len;
	int ret;

	ret = snapshot_file_read(path, &payload, &len, &v, err);
	if (ret)
		return ret;
	st = snapshot_state_alloc();
	if (!st) {
		free(payload);
		return err_set(err, -ENOMEM, "out of memory");
	}
	ret = snapshot_state_decode(st, payload, len, err);
	if (!ret)
		snapshot_describe_state(out, st, v.major, v.minor);
	snapshot_state_free(st);
	free(payload);
	return ret;
}
