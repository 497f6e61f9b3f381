/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Each section is described once, by a visit_* function that runs in both
 * directions: with a writer it encodes the fields, with a reader it decodes
 * them into the same places, so the two can never disagree on order, tags
 * or types. The check_* functions run after a section is decoded, while it
 * is still open, so their messages name it.
 *
 * Tags are stable numbers within a section. Any change to a section's
 * fields, tags or meaning bumps SNAPSHOT_VERSION_MAJOR (docs/snapshots.md).
 *
 * This file has the section ids and order (visit_state), the machine and
 * memory sections and the public functions; the vm and vcpu sections are
 * in state_kvm.c, the device sections in state_devices.c (state_sections.h).
 */
#include "snapshot/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/format/codec.h"
#include "snapshot/format/format.h"
#include "snapshot/format/visit.h"
#include "snapshot/state_sections.h"
#include "vmm/arch/x86_64/layout.h"

enum section_id {
	SEC_MACHINE = 1,
	SEC_MEMORY = 2,
	SEC_VM = 3,
	SEC_VCPU = 4,
	SEC_SERIAL = 5,
	SEC_I8042 = 6,
	SEC_DEVICES = 7,
	SEC_VIRTIO_BLK = 8,
	SEC_VIRTIO_NET = 9,
};

/* --- machine ---------------------------------------------------------- */

static void visit_machine(struct snap_io *io, struct machine_config *m)
{
	uint8_t hp = (uint8_t)m->huge_pages;

	snap_io_uint(io, 1, "vcpu_count", &m->vcpu_count);
	snap_io_uint(io, 2, "mem_size_mib", &m->mem_size_mib);
	snap_io_bool(io, 3, "smt", &m->smt);
	snap_io_u8(io, 4, "huge_pages", &hp);
	m->huge_pages = (enum huge_pages)hp;
}

static void check_machine(struct snap_reader *r, const struct machine_config *m)
{
	const char *field;
	struct err_buf why;

	if (m->vcpu_count < 1 || m->vcpu_count > VM_MAX_VCPUS)
		snap_reader_fail(r, "vcpu_count", "%u is not in 1..%u", m->vcpu_count,
				 VM_MAX_VCPUS);
	else if (m->mem_size_mib < 1 || m->mem_size_mib > VM_MAX_MEM_MIB)
		snap_reader_fail(r, "mem_size_mib", "%u is not in 1..%llu", m->mem_size_mib,
				 (unsigned long long)VM_MAX_MEM_MIB);
	else if ((unsigned int)m->huge_pages >= HUGE_PAGES_COUNT)
		snap_reader_fail(r, "huge_pages", "unknown value %u", (unsigned int)m->huge_pages);
	else if (machine_config_problem(m, &field, &why))
		/* The same rules as PUT /machine-config: a real VM cannot break them. */
		snap_reader_fail(r, field, "%s", why.msg);
}

/* --- memory layout ------------------------------------------------------ */

static void visit_memory(struct snap_io *io, struct snapshot_state *st)
{
	uint32_t n = st->nr_regions;

	if (!snap_io_count(io, 1, "nr_regions", &n, GUEST_MEM_MAX_REGIONS))
		return;
	st->nr_regions = n;
	for (uint32_t i = 0; i < n; i++) {
		snap_io_u64(io, 2, "region.gpa", &st->regions[i].gpa);
		snap_io_u64(io, 3, "region.size", &st->regions[i].size);
	}
}

/* Restore rebuilds RAM from the machine's size: the saved layout must be that one. */
static void check_memory(struct snap_reader *r, const struct snapshot_state *st)
{
	struct guest_range want[2];
	uint64_t bytes = (uint64_t)st->machine.mem_size_mib << 20;
	unsigned int n = x86_memory_ranges(bytes, want);

	if (st->nr_regions != n) {
		snap_reader_fail(r, "nr_regions", "%u regions, %u MiB of RAM is laid out in %u",
				 st->nr_regions, st->machine.mem_size_mib, n);
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (st->regions[i].gpa != want[i].gpa || st->regions[i].size != want[i].size) {
			snap_reader_fail(r, "region",
					 "region %u is 0x%llx+0x%llx, %u MiB of RAM has "
					 "0x%llx+0x%llx there",
					 i, (unsigned long long)st->regions[i].gpa,
					 (unsigned long long)st->regions[i].size,
					 st->machine.mem_size_mib, (unsigned long long)want[i].gpa,
					 (unsigned long long)want[i].size);
			return;
		}
	}
}

/* --- the whole state -------------------------------------------------------- */

static int visit_state(struct snap_io *io, struct snapshot_state *st)
{
	struct snap_reader *r = io->r;

	if (snap_io_begin(io, SEC_MACHINE, "machine"))
		return -1;
	visit_machine(io, &st->machine);
	if (r && !r->error)
		check_machine(r, &st->machine);
	if (snap_io_end(io) || snap_io_begin(io, SEC_MEMORY, "memory"))
		return -1;
	visit_memory(io, st);
	if (r && !r->error)
		check_memory(r, st);
	if (snap_io_end(io) || snap_io_begin(io, SEC_VM, "vm"))
		return -1;
	state_visit_vm(io, st);
	if (snap_io_end(io))
		return -1;

	for (uint32_t i = 0; i < st->machine.vcpu_count; i++) {
		if (snap_io_begin(io, SEC_VCPU, "vcpu"))
			return -1;
		state_visit_vcpu(io, st, i);
		if (snap_io_end(io))
			return -1;
	}

	if (snap_io_begin(io, SEC_SERIAL, "serial"))
		return -1;
	state_visit_serial(io, st);
	if (snap_io_end(io) || snap_io_begin(io, SEC_I8042, "i8042"))
		return -1;
	state_visit_i8042(io, st);
	if (snap_io_end(io) || snap_io_begin(io, SEC_DEVICES, "devices"))
		return -1;
	state_visit_devices(io, st);
	if (snap_io_end(io))
		return -1;

	for (unsigned int i = 0; i < st->nr_blks; i++) {
		if (snap_io_begin(io, SEC_VIRTIO_BLK, "virtio-blk"))
			return -1;
		state_visit_blk(io, st, i);
		if (snap_io_end(io))
			return -1;
	}
	for (unsigned int i = 0; i < st->nr_nets; i++) {
		if (snap_io_begin(io, SEC_VIRTIO_NET, "virtio-net"))
			return -1;
		state_visit_net(io, st, i);
		if (snap_io_end(io))
			return -1;
	}
	return 0;
}

struct snapshot_state *snapshot_state_alloc(void)
{
	return calloc(1, sizeof(struct snapshot_state));
}

void snapshot_state_free(struct snapshot_state *st)
{
	free(st);
}

int snapshot_state_decode(struct snapshot_state *st, const uint8_t *buf, size_t len,
			  struct err_buf *err)
{
	struct snap_reader r;
	struct snap_io io = { .r = &r };

	memset(st, 0, sizeof(*st));
	snap_reader_init(&r, buf, len, err);
	visit_state(&io, st);
	return snap_reader_finish(&r);
}

int snapshot_state_encode(const struct snapshot_state *st, uint8_t **buf, size_t *len,
			  struct err_buf *err)
{
	struct snap_writer w;
	struct snap_io io = { .w = &w };
	struct snapshot_state *check;
	int ret;

	if (st->machine.vcpu_count > VM_MAX_VCPUS || st->nr_blks > VM_MAX_DRIVES ||
	    st->nr_nets > VM_MAX_NETS)
		return err_set(err, -EINVAL, "snapshot state: more vCPUs or devices than supported");
	snap_writer_init(&w, SNAPSHOT_MAX_PAYLOAD);
	/* The visitors only read through @st when writing. */
	visit_state(&io, (struct snapshot_state *)st);
	ret = snap_writer_finish(&w, buf, len);
	if (ret)
		return err_set(err, ret, "cannot encode the snapshot state: %s", strerror(-ret));

	/* Never write a snapshot we would refuse to load: decode it once. */
	check = snapshot_state_alloc();
	if (!check) {
		ret = err_set(err, -ENOMEM, "out of memory checking the snapshot state");
	} else {
		ret = snapshot_state_decode(check, *buf, *len, err);
		snapshot_state_free(check);
	}
	if (ret) {
		free(*buf);
		*buf = NULL;
	}
	return ret;
}

int snapshot_state_save(const char *path, const struct snapshot_state *st, struct err_buf *err)
{
	uint8_t *buf;
	size_t len;
	int ret = snapshot_state_encode(st, &buf, &len, err);

	if (ret)
		return ret;
	ret = snapshot_file_write(path, buf, len, err);
	free(buf);
	return ret;
}

int snapshot_state_parse(struct snapshot_state *st, const uint8_t *buf, size_t len,
			 struct err_buf *err)
{
	const uint8_t *payload;
	size_t plen;
	int ret = snapshot_file_parse(buf, len, &payload, &plen, NULL, err);

	return ret ? ret : snapshot_state_decode(st, payload, plen, err);
}

int snapshot_state_load(const char *path, struct snapshot_state *st, struct err_buf *err)
{
	uint8_t *payload;
	size_t len;
	int ret = snapshot_file_read(path, &payload, &len, NULL, err);

	if (ret)
		return ret;
	ret = snapshot_state_decode(st, payload, len, err);
	free(payload);
	return ret;
}
