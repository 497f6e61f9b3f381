/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sections of the devices ignis emulates: serial, i8042, the virtio
 * device counts, and one section per virtio-blk and virtio-net device
 * (transport and queues, then the device's own fields and host side).
 * Tags and conventions as in state.c.
 */
#include "snapshot/state_sections.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "snapshot/format/codec.h"
#include "snapshot/format/visit.h"
#include "snapshot/state.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/devices/virtio/virtio.h"

#define VIRTIO_STATUS_KNOWN                                                              \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK |        \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)

/* The memory section is checked before any device's, so @st's regions are the machine's. */
static bool in_ram(const struct snapshot_state *st, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < st->nr_regions; i++) {
		const struct guest_range *g = &st->regions[i];

		if (gpa >= g->gpa && gpa - g->gpa <= g->size && len <= g->size - (gpa - g->gpa))
			return true;
	}
	return false;
}

static void visit_serial(struct snap_io *io, struct serial_state *s)
{
	uint32_t n = s->rx_count;

	snap_io_u8(io, 1, "ier", &s->ier);
	snap_io_u8(io, 2, "lcr", &s->lcr);
	snap_io_u8(io, 3, "mcr", &s->mcr);
	snap_io_u8(io, 4, "lsr", &s->lsr);
	snap_io_u8(io, 5, "msr", &s->msr);
	snap_io_u8(io, 6, "scr", &s->scr);
	snap_io_u8(io, 7, "dll", &s->dll);
	snap_io_u8(io, 8, "dlm", &s->dlm);
	snap_io_u8(io, 9, "fcr", &s->fcr);
	snap_io_flag(io, 10, "thr_empty_pending", &s->thr_empty_pending);
	if (!snap_io_count(io, 11, "rx_count", &n, SERIAL_RX_FIFO_SIZE))
		return;
	s->rx_count = (uint8_t)n;
	snap_io_bytes(io, 12, "rx", s->rx, n);
}

static void check_serial(struct snap_reader *r, const struct serial_state *s)
{
	if (s->ier & ~0x0f)
		snap_reader_fail(r, "ier", "0x%02x has bits the UART does not have", s->ier);
	else if (s->mcr & ~0x1f)
		snap_reader_fail(r, "mcr", "0x%02x has bits the UART does not have", s->mcr);
}

static void visit_i8042(struct snap_io *io, struct i8042_state *k)
{
	uint32_t n = k->count;

	snap_io_u8(io, 1, "ctr", &k->ctr);
	snap_io_u8(io, 2, "outp", &k->outp);
	snap_io_u8(io, 3, "pending_cmd", &k->pending_cmd);
	if (!snap_io_count(io, 4, "count", &n, I8042_BUF_SIZE))
		return;
	k->count = (uint8_t)n;
	snap_io_bytes(io, 5, "buf", k->buf, n);
}

static void check_i8042(struct snap_reader *r, const struct i8042_state *k)
{
	/* Only "write command byte" (0x60) and "write output port" (0xd1) wait for data. */
	if (k->pending_cmd && k->pending_cmd != 0x60 && k->pending_cmd != 0xd1)
		snap_reader_fail(r, "pending_cmd", "0x%02x takes no data byte", k->pending_cmd);
}

static void visit_queue(struct snap_io *io, struct virtq_state *q)
{
	snap_io_u16(io, 20, "queue.size", &q->size);
	snap_io_flag(io, 21, "queue.ready", &q->ready);
	snap_io_flag(io, 22, "queue.event_idx", &q->event_idx);
	snap_io_flag(io, 23, "queue.indirect", &q->indirect);
	snap_io_u64(io, 24, "queue.desc_gpa", &q->desc_gpa);
	snap_io_u64(io, 25, "queue.avail_gpa", &q->avail_gpa);
	snap_io_u64(io, 26, "queue.used_gpa", &q->used_gpa);
	snap_io_u16(io, 27, "queue.last_avail_idx", &q->last_avail_idx);
	snap_io_u16(io, 28, "queue.used_idx", &q->used_idx);
	snap_io_u16(io, 29, "queue.signalled_used", &q->signalled_used);
	snap_io_flag(io, 30, "queue.signalled_used_valid", &q->signalled_used_valid);
}

static void visit_transport(struct snap_io *io, struct virtio_mmio_state *t)
{
	uint32_t nq = VIRTIO_MAX_QUEUES;

	snap_io_u32(io, 1, "device_features_sel", &t->device_features_sel);
	snap_io_u32(io, 2, "driver_features_sel", &t->driver_features_sel);
	snap_io_u32(io, 3, "queue_sel", &t->queue_sel);
	snap_io_u64(io, 4, "driver_features", &t->driver_features);
	snap_io_u32(io, 5, "status", &t->status);
	snap_io_u32(io, 6, "interrupt_status", &t->interrupt_status);
	snap_io_u32(io, 7, "config_generation", &t->config_generation);
	snap_io_flag(io, 8, "activated", &t->activated);
	snap_io_u32(io, 9, "nr_queues", &nq);
	if (io->r && !io->r->error && nq != VIRTIO_MAX_QUEUES) {
		snap_reader_fail(io->r, "nr_queues", "%u, the transport has %u", nq,
				 VIRTIO_MAX_QUEUES);
		return;
	}
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		visit_queue(io, &t->queues[i]);
}

static void check_queue(struct snap_reader *r, const struct snapshot_state *st,
			unsigned int i, const struct virtq_state *q)
{
	uint64_t n = q->size;

	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1))) {
		snap_reader_fail(r, "queue.size", "queue %u: %u is not a power of two in 1..%u", i,
				 q->size, VIRTQ_MAX_SIZE);
		return;
	}
	if (!q->ready)
		return;
	/* virtio 1.2 2.7: alignment 16/2/4; every ring inside one RAM region. */
	if ((q->desc_gpa & 15) || !in_ram(st, q->desc_gpa, 16 * n))
		snap_reader_fail(r, "queue.desc_gpa", "queue %u: 0x%llx is misaligned or not RAM",
				 i, (unsigned long long)q->desc_gpa);
	else if ((q->avail_gpa & 1) || !in_ram(st, q->avail_gpa, 6 + 2 * n))
		snap_reader_fail(r, "queue.avail_gpa", "queue %u: 0x%llx is misaligned or not RAM",
				 i, (unsigned long long)q->avail_gpa);
	else if ((q->used_gpa & 3) || !in_ram(st, q->used_gpa, 6 + 8 * n))
		snap_reader_fail(r, "queue.used_gpa", "queue %u: 0x%llx is misaligned or not RAM",
				 i, (unsigned long long)q->used_gpa);
}

static void check_transport(struct snap_reader *r, const struct snapshot_state *st,
			    const struct virtio_mmio_state *t)
{
	if (t->status & ~VIRTIO_STATUS_KNOWN)
		snap_reader_fail(r, "status", "0x%x has undefined bits", t->status);
	else if (t->interrupt_status & ~3u)
		snap_reader_fail(r, "interrupt_status", "0x%x has undefined bits",
				 t->interrupt_status);
	else if (t->activated && !(t->status & VIRTIO_STATUS_DRIVER_OK))
		snap_reader_fail(r, "activated", "set without DRIVER_OK in status 0x%x",
				 t->status);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES && !r->error; i++)
		check_queue(r, st, i, &t->queues[i]);
}

static void visit_blk(struct snap_io *io, struct virtio_blk_state *b, struct snapshot_drive *d)
{
	visit_transport(io, &b->transport);
	snap_io_string(io, 40, "drive_id", b->drive_id, DRIVE_ID_MAX);
	snap_io_u64(io, 41, "capacity_sectors", &b->capacity_sectors);
	/* Format 2: the host side, so a restore reopens the same file the same way. */
	snap_io_string(io, 50, "path_on_host", d->path_on_host, SNAPSHOT_PATH_MAX);
	snap_io_flag(io, 51, "is_root_device", &d->is_root_device);
	snap_io_flag(io, 52, "is_read_only", &d->is_read_only);
	snap_io_flag(io, 53, "has_partuuid", &d->has_partuuid);
	if (d->has_partuuid)
		snap_io_string(io, 54, "partuuid", d->partuuid, SNAPSHOT_PARTUUID_MAX);
	snap_io_u8(io, 55, "cache_type", &d->cache_type);
	snap_io_u8(io, 56, "io_engine", &d->io_engine);
}

static void check_drive(struct snap_reader *r, const struct snapshot_state *st, unsigned int i)
{
	const struct snapshot_drive *d = &st->drives[i];

	if (d->cache_type > CACHE_NONE)
		snap_reader_fail(r, "cache_type", "unknown value %u", d->cache_type);
	else if (d->io_engine > IO_ENGINE_ASYNC)
		snap_reader_fail(r, "io_engine", "unknown value %u", d->io_engine);
	else if (d->has_partuuid && !d->is_root_device)
		snap_reader_fail(r, "partuuid", "set on a drive that is not the root device");
	/* Restore rebuilds the slots root first (cmdline_drive_order): only slot 0 may be root. */
	else if (d->is_root_device && i != 0)
		snap_reader_fail(r, "is_root_device", "drive %u is root; only the first drive can be",
				 i);
}

static void visit_net(struct snap_io *io, struct virtio_net_state *n, struct snapshot_net *h)
{
	visit_transport(io, &n->transport);
	snap_io_string(io, 40, "iface_id", n->iface_id, NET_IFACE_ID_MAX);
	snap_io_flag(io, 41, "has_mac", &n->has_mac);
	snap_io_bytes(io, 42, "mac", n->mac, sizeof(n->mac));
	snap_io_u16(io, 43, "mtu", &n->mtu);
	snap_io_string(io, 50, "host_dev_name", h->host_dev_name, NET_HOST_DEV_NAME_MAX);
}

static void check_net(struct snap_reader *r, const struct virtio_net_state *n)
{
	if (n->mtu && n->mtu < NET_MTU_MIN)
		snap_reader_fail(r, "mtu", "%u is below %u", n->mtu, NET_MTU_MIN);
}

static void visit_devices(struct snap_io *io, struct snapshot_state *st)
{
	uint32_t nb = st->nr_blks, nn = st->nr_nets;

	if (!snap_io_count(io, 1, "nr_blks", &nb, VM_MAX_DRIVES) ||
	    !snap_io_count(io, 2, "nr_nets", &nn, VM_MAX_NETS))
		return;
	st->nr_blks = nb;
	st->nr_nets = nn;
}

static void check_devices(struct snap_reader *r, const struct snapshot_state *st)
{
	if (st->nr_blks + st->nr_nets > VM_MAX_VIRTIO_DEVICES)
		snap_reader_fail(r, "nr_nets", "%u drives and %u interfaces: over %u devices",
				 st->nr_blks, st->nr_nets, VM_MAX_VIRTIO_DEVICES);
}

/* Two devices of a kind with the same id: restore could not tell them apart. */
static void check_unique(struct snap_reader *r, const char *field, const char *id,
			 const char *prev, size_t stride, unsigned int nr_prev)
{
	for (unsigned int i = 0; i < nr_prev && !r->error; i++)
		if (!strcmp(prev + i * stride, id))
			snap_reader_fail(r, field, "\"%s\" appears twice", id);
}

/* --- the sections, for visit_state() (state.c) ----------------------------- */

void state_visit_serial(struct snap_io *io, struct snapshot_state *st)
{
	visit_serial(io, &st->serial);
	if (io->r && !io->r->error)
		check_serial(io->r, &st->serial);
}

void state_visit_i8042(struct snap_io *io, struct snapshot_state *st)
{
	visit_i8042(io, &st->i8042);
	if (io->r && !io->r->error)
		check_i8042(io->r, &st->i8042);
}

void state_visit_devices(struct snap_io *io, struct snapshot_state *st)
{
	visit_devices(io, st);
	if (io->r && !io->r->error)
		check_devices(io->r, st);
}

void state_visit_blk(struct snap_io *io, struct snapshot_state *st, unsigned int i)
{
	struct snap_reader *r = io->r;

	visit_blk(io, &st->blks[i], &st->drives[i]);
	if (r && !r->error) {
		check_transport(r, st, &st->blks[i].transport);
		check_drive(r, st, i);
		check_unique(r, "drive_id", st->blks[i].drive_id, st->blks[0].drive_id,
			     sizeof(st->blks[0]), i);
	}
}

void state_visit_net(struct snap_io *io, struct snapshot_state *st, unsigned int i)
{
	struct snap_reader *r = io->r;

	visit_net(io, &st->nets[i], &st->net_hosts[i]);
	if (r && !r->error) {
		check_transport(r, st, &st->nets[i].transport);
		check_net(r, &st->nets[i]);
		check_unique(r, "iface_id", st->nets[i].iface_id, st->nets[0].iface_id,
			     sizeof(st->nets[0]), i);
	}
}
