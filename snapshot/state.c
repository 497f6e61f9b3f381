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
 */
#include "snapshot/state.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/format/codec.h"
#include "snapshot/format/format.h"
#include "snapshot/format/visit.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/devices/virtio/virtio.h"

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

#define IRQCHIP_SIZE 512 /* the chip union of struct kvm_irqchip */
#define VIRTIO_STATUS_KNOWN                                                              \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK |        \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)

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
	if (m->vcpu_count < 1 || m->vcpu_count > VM_MAX_VCPUS)
		snap_reader_fail(r, "vcpu_count", "%u is not in 1..%u", m->vcpu_count,
				 VM_MAX_VCPUS);
	else if (m->smt && m->vcpu_count > 1 && m->vcpu_count % 2)
		snap_reader_fail(r, "vcpu_count", "%u is odd with smt enabled", m->vcpu_count);
	else if (m->mem_size_mib < 1 || m->mem_size_mib > VM_MAX_MEM_MIB)
		snap_reader_fail(r, "mem_size_mib", "%u is not in 1..%llu", m->mem_size_mib,
				 (unsigned long long)VM_MAX_MEM_MIB);
	else if ((unsigned int)m->huge_pages > HUGE_PAGES_2M)
		snap_reader_fail(r, "huge_pages", "unknown value %u", (unsigned int)m->huge_pages);
	else if (m->huge_pages == HUGE_PAGES_2M && m->mem_size_mib % 2)
		snap_reader_fail(r, "mem_size_mib", "%u is not a multiple of 2 MiB hugepages",
				 m->mem_size_mib);
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

static bool in_ram(const struct snapshot_state *st, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < st->nr_regions; i++) {
		const struct guest_range *g = &st->regions[i];

		if (gpa >= g->gpa && gpa - g->gpa <= g->size && len <= g->size - (gpa - g->gpa))
			return true;
	}
	return false;
}

/* --- VM: in-kernel irqchips, PIT, kvmclock ------------------------------- */

static void visit_irqchip(struct snap_io *io, uint16_t tag, const char *name, struct kvm_irqchip *c)
{
	snap_io_u32(io, tag, name, &c->chip_id);
	snap_io_bytes(io, (uint16_t)(tag + 1), name, &c->chip, IRQCHIP_SIZE);
}

static void visit_pit_channel(struct snap_io *io, struct kvm_pit_channel_state *c)
{
	snap_io_u32(io, 10, "pit.count", &c->count);
	snap_io_u16(io, 11, "pit.latched_count", &c->latched_count);
	snap_io_u8(io, 12, "pit.count_latched", &c->count_latched);
	snap_io_u8(io, 13, "pit.status_latched", &c->status_latched);
	snap_io_u8(io, 14, "pit.status", &c->status);
	snap_io_u8(io, 15, "pit.read_state", &c->read_state);
	snap_io_u8(io, 16, "pit.write_state", &c->write_state);
	snap_io_u8(io, 17, "pit.write_latch", &c->write_latch);
	snap_io_u8(io, 18, "pit.rw_mode", &c->rw_mode);
	snap_io_u8(io, 19, "pit.mode", &c->mode);
	snap_io_flag(io, 20, "pit.bcd", &c->bcd);
	snap_io_flag(io, 21, "pit.gate", &c->gate);
	snap_io_k64(io, 22, "pit.count_load_time", (__u64 *)&c->count_load_time);
}

static void visit_vm(struct snap_io *io, struct snapshot_vm *vm)
{
	visit_irqchip(io, 1, "pic_master", &vm->pic_master);
	visit_irqchip(io, 3, "pic_slave", &vm->pic_slave);
	visit_irqchip(io, 5, "ioapic", &vm->ioapic);
	for (unsigned int i = 0; i < 3; i++)
		visit_pit_channel(io, &vm->pit.channels[i]);
	snap_io_u32(io, 30, "pit.flags", &vm->pit.flags);
	snap_io_k64(io, 40, "clock.clock", &vm->clock.clock);
	snap_io_u32(io, 41, "clock.flags", &vm->clock.flags);
	snap_io_k64(io, 42, "clock.realtime", &vm->clock.realtime);
	snap_io_k64(io, 43, "clock.host_tsc", &vm->clock.host_tsc);
}

static void check_vm(struct snap_reader *r, const struct snapshot_vm *vm)
{
	if (vm->pic_master.chip_id != KVM_IRQCHIP_PIC_MASTER)
		snap_reader_fail(r, "pic_master", "chip id %u", vm->pic_master.chip_id);
	else if (vm->pic_slave.chip_id != KVM_IRQCHIP_PIC_SLAVE)
		snap_reader_fail(r, "pic_slave", "chip id %u", vm->pic_slave.chip_id);
	else if (vm->ioapic.chip_id != KVM_IRQCHIP_IOAPIC)
		snap_reader_fail(r, "ioapic", "chip id %u", vm->ioapic.chip_id);
	for (unsigned int i = 0; i < 3 && !r->error; i++) {
		const struct kvm_pit_channel_state *c = &vm->pit.channels[i];

		/*
		 * An 8254 counts from at most 65536 and has modes 0..5; KVM reports
		 * 0xff for a channel the guest never programmed (kvm_pit_reset).
		 */
		if (c->count > 0x10000)
			snap_reader_fail(r, "pit.count", "channel %u: %u is over 65536", i, c->count);
		else if (c->mode > 5 && c->mode != 0xff)
			snap_reader_fail(r, "pit.mode", "channel %u: mode %u", i, c->mode);
		else if (c->rw_mode > 3)
			snap_reader_fail(r, "pit.rw_mode", "channel %u: %u", i, c->rw_mode);
	}
}

/* --- vCPU ------------------------------------------------------------------ */

static void visit_segment(struct snap_io *io, uint16_t tag, struct kvm_segment *s)
{
	snap_io_k64(io, tag, "sregs.segment.base", &s->base);
	snap_io_u32(io, (uint16_t)(tag + 1), "sregs.segment.limit", &s->limit);
	snap_io_u16(io, (uint16_t)(tag + 2), "sregs.segment.selector", &s->selector);
	snap_io_u8(io, (uint16_t)(tag + 3), "sregs.segment.type", &s->type);
	snap_io_flag(io, (uint16_t)(tag + 4), "sregs.segment.present", &s->present);
	snap_io_u8(io, (uint16_t)(tag + 5), "sregs.segment.dpl", &s->dpl);
	snap_io_flag(io, (uint16_t)(tag + 6), "sregs.segment.db", &s->db);
	snap_io_flag(io, (uint16_t)(tag + 7), "sregs.segment.s", &s->s);
	snap_io_flag(io, (uint16_t)(tag + 8), "sregs.segment.l", &s->l);
	snap_io_flag(io, (uint16_t)(tag + 9), "sregs.segment.g", &s->g);
	snap_io_flag(io, (uint16_t)(tag + 10), "sregs.segment.avl", &s->avl);
	snap_io_flag(io, (uint16_t)(tag + 11), "sregs.segment.unusable", &s->unusable);
}

static void visit_dtable(struct snap_io *io, uint16_t tag, struct kvm_dtable *d)
{
	snap_io_k64(io, tag, "sregs.dtable.base", &d->base);
	snap_io_u16(io, (uint16_t)(tag + 1), "sregs.dtable.limit", &d->limit);
}

static void visit_regs(struct snap_io *io, struct kvm_regs *g)
{
	__u64 *regs[] = { &g->rax, &g->rbx, &g->rcx, &g->rdx, &g->rsi, &g->rdi,
			     &g->rsp, &g->rbp, &g->r8,  &g->r9,  &g->r10, &g->r11,
			     &g->r12, &g->r13, &g->r14, &g->r15, &g->rip, &g->rflags };
	static const char *const names[] = {
		"regs.rax", "regs.rbx", "regs.rcx", "regs.rdx", "regs.rsi", "regs.rdi",
		"regs.rsp", "regs.rbp", "regs.r8",  "regs.r9",  "regs.r10", "regs.r11",
		"regs.r12", "regs.r13", "regs.r14", "regs.r15", "regs.rip", "regs.rflags",
	};

	for (unsigned int i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		snap_io_k64(io, (uint16_t)(100 + i), names[i], regs[i]);
}

static void visit_sregs(struct snap_io *io, struct kvm_sregs *s)
{
	struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs,
				       &s->gs, &s->ss, &s->tr, &s->ldt };

	/* Segment n takes tags 200 + 16n .. 200 + 16n + 11. */
	for (unsigned int i = 0; i < 8; i++)
		visit_segment(io, (uint16_t)(200 + 16 * i), segs[i]);
	visit_dtable(io, 340, &s->gdt);
	visit_dtable(io, 342, &s->idt);
	snap_io_k64(io, 344, "sregs.cr0", &s->cr0);
	snap_io_k64(io, 345, "sregs.cr2", &s->cr2);
	snap_io_k64(io, 346, "sregs.cr3", &s->cr3);
	snap_io_k64(io, 347, "sregs.cr4", &s->cr4);
	snap_io_k64(io, 348, "sregs.cr8", &s->cr8);
	snap_io_k64(io, 349, "sregs.efer", &s->efer);
	snap_io_k64(io, 350, "sregs.apic_base", &s->apic_base);
	for (unsigned int i = 0; i < 4; i++)
		snap_io_k64(io, 351, "sregs.interrupt_bitmap", &s->interrupt_bitmap[i]);
}

static void visit_events(struct snap_io *io, struct kvm_vcpu_events *e)
{
	snap_io_flag(io, 600, "events.exception.injected", &e->exception.injected);
	snap_io_u8(io, 601, "events.exception.nr", &e->exception.nr);
	snap_io_flag(io, 602, "events.exception.has_error_code", &e->exception.has_error_code);
	snap_io_flag(io, 603, "events.exception.pending", &e->exception.pending);
	snap_io_u32(io, 604, "events.exception.error_code", &e->exception.error_code);
	snap_io_flag(io, 605, "events.interrupt.injected", &e->interrupt.injected);
	snap_io_u8(io, 606, "events.interrupt.nr", &e->interrupt.nr);
	snap_io_flag(io, 607, "events.interrupt.soft", &e->interrupt.soft);
	snap_io_u8(io, 608, "events.interrupt.shadow", &e->interrupt.shadow);
	snap_io_flag(io, 609, "events.nmi.injected", &e->nmi.injected);
	snap_io_u8(io, 610, "events.nmi.pending", &e->nmi.pending);
	snap_io_flag(io, 611, "events.nmi.masked", &e->nmi.masked);
	snap_io_u32(io, 612, "events.sipi_vector", &e->sipi_vector);
	snap_io_u32(io, 613, "events.flags", &e->flags);
	snap_io_flag(io, 614, "events.smi.smm", &e->smi.smm);
	snap_io_flag(io, 615, "events.smi.pending", &e->smi.pending);
	snap_io_flag(io, 616, "events.smi.smm_inside_nmi", &e->smi.smm_inside_nmi);
	snap_io_flag(io, 617, "events.smi.latched_init", &e->smi.latched_init);
	snap_io_flag(io, 618, "events.triple_fault.pending", &e->triple_fault.pending);
	snap_io_flag(io, 619, "events.exception_has_payload", &e->exception_has_payload);
	snap_io_k64(io, 620, "events.exception_payload", &e->exception_payload);
}

static void visit_vcpu(struct snap_io *io, uint32_t *index, struct snapshot_vcpu *v)
{
	uint32_t n;

	snap_io_u32(io, 1, "index", index);
	snap_io_u32(io, 2, "mp_state", &v->mp_state);
	visit_regs(io, &v->regs);
	visit_sregs(io, &v->sregs);

	if (io->w) {
		snap_put_bytes(io->w, 400, v->xsave, v->xsave_len);
	} else {
		v->xsave_len = (uint32_t)snap_get_blob(io->r, 400, "xsave", v->xsave,
						       SNAPSHOT_XSAVE_MIN, SNAPSHOT_XSAVE_MAX);
	}

	n = v->xcrs.nr_xcrs;
	if (!snap_io_count(io, 410, "xcrs.nr_xcrs", &n, KVM_MAX_XCRS))
		return;
	v->xcrs.nr_xcrs = n;
	snap_io_u32(io, 411, "xcrs.flags", &v->xcrs.flags);
	for (uint32_t i = 0; i < n; i++) {
		snap_io_u32(io, 412, "xcrs.xcr", &v->xcrs.xcrs[i].xcr);
		snap_io_k64(io, 413, "xcrs.value", &v->xcrs.xcrs[i].value);
	}

	for (unsigned int i = 0; i < 4; i++)
		snap_io_k64(io, 420, "debugregs.db", &v->debugregs.db[i]);
	snap_io_k64(io, 421, "debugregs.dr6", &v->debugregs.dr6);
	snap_io_k64(io, 422, "debugregs.dr7", &v->debugregs.dr7);
	snap_io_k64(io, 423, "debugregs.flags", &v->debugregs.flags);

	snap_io_bytes(io, 430, "lapic", v->lapic.regs, KVM_APIC_REG_SIZE);
	snap_io_u32(io, 440, "tsc_khz", &v->tsc_khz);

	if (!snap_io_count(io, 450, "nr_cpuid", &v->nr_cpuid, SNAPSHOT_MAX_CPUID))
		return;
	for (uint32_t i = 0; i < v->nr_cpuid; i++) {
		struct kvm_cpuid_entry2 *c = &v->cpuid[i];

		snap_io_u32(io, 451, "cpuid.function", &c->function);
		snap_io_u32(io, 452, "cpuid.index", &c->index);
		snap_io_u32(io, 453, "cpuid.flags", &c->flags);
		snap_io_u32(io, 454, "cpuid.eax", &c->eax);
		snap_io_u32(io, 455, "cpuid.ebx", &c->ebx);
		snap_io_u32(io, 456, "cpuid.ecx", &c->ecx);
		snap_io_u32(io, 457, "cpuid.edx", &c->edx);
	}

	if (!snap_io_count(io, 500, "nr_msrs", &v->nr_msrs, SNAPSHOT_MAX_MSRS))
		return;
	for (uint32_t i = 0; i < v->nr_msrs; i++) {
		snap_io_u32(io, 501, "msr.index", &v->msrs[i].index);
		snap_io_u64(io, 502, "msr.value", &v->msrs[i].value);
	}

	visit_events(io, &v->events);
}

static void check_segments(struct snap_reader *r, const struct kvm_sregs *s)
{
	const struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs,
					     &s->gs, &s->ss, &s->tr, &s->ldt };
	static const char *const names[] = { "cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt" };

	for (unsigned int i = 0; i < 8 && !r->error; i++) {
		if (segs[i]->type > 15)
			snap_reader_fail(r, "sregs.segment.type", "%s: type %u", names[i],
					 segs[i]->type);
		else if (segs[i]->dpl > 3)
			snap_reader_fail(r, "sregs.segment.dpl", "%s: privilege level %u", names[i],
					 segs[i]->dpl);
	}
}

static void check_vcpu(struct snap_reader *r, uint32_t index, uint32_t want,
		       const struct snapshot_vcpu *v)
{
	if (index != want)
		snap_reader_fail(r, "index", "vCPU %u where vCPU %u was expected", index, want);
	else if (v->mp_state > KVM_MP_STATE_SUSPENDED)
		snap_reader_fail(r, "mp_state", "unknown state %u", v->mp_state);
	else if (v->xsave_len % 4)
		snap_reader_fail(r, "xsave", "%u bytes is not a whole number of 32-bit words",
				 v->xsave_len);
	else if (v->tsc_khz == 0)
		snap_reader_fail(r, "tsc_khz", "0: no TSC frequency");
	else if (v->events.exception.nr > 31)
		snap_reader_fail(r, "events.exception.nr", "vector %u is not an exception",
				 v->events.exception.nr);
	if (!r->error)
		check_segments(r, &v->sregs);
}

/* --- devices ---------------------------------------------------------------- */

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
	visit_vm(io, &st->vm);
	if (r && !r->error)
		check_vm(r, &st->vm);
	if (snap_io_end(io))
		return -1;

	for (uint32_t i = 0; i < st->machine.vcpu_count; i++) {
		uint32_t index = i;

		if (snap_io_begin(io, SEC_VCPU, "vcpu"))
			return -1;
		visit_vcpu(io, &index, &st->vcpus[i]);
		if (r && !r->error)
			check_vcpu(r, index, i, &st->vcpus[i]);
		if (snap_io_end(io))
			return -1;
	}

	if (snap_io_begin(io, SEC_SERIAL, "serial"))
		return -1;
	visit_serial(io, &st->serial);
	if (r && !r->error)
		check_serial(r, &st->serial);
	if (snap_io_end(io) || snap_io_begin(io, SEC_I8042, "i8042"))
		return -1;
	visit_i8042(io, &st->i8042);
	if (r && !r->error)
		check_i8042(r, &st->i8042);
	if (snap_io_end(io) || snap_io_begin(io, SEC_DEVICES, "devices"))
		return -1;
	visit_devices(io, st);
	if (r && !r->error)
		check_devices(r, st);
	if (snap_io_end(io))
		return -1;

	for (unsigned int i = 0; i < st->nr_blks; i++) {
		if (snap_io_begin(io, SEC_VIRTIO_BLK, "virtio-blk"))
			return -1;
		visit_blk(io, &st->blks[i], &st->drives[i]);
		if (r && !r->error) {
			check_transport(r, st, &st->blks[i].transport);
			check_drive(r, st, i);
			check_unique(r, "drive_id", st->blks[i].drive_id, st->blks[0].drive_id,
				     sizeof(st->blks[0]), i);
		}
		if (snap_io_end(io))
			return -1;
	}
	for (unsigned int i = 0; i < st->nr_nets; i++) {
		if (snap_io_begin(io, SEC_VIRTIO_NET, "virtio-net"))
			return -1;
		visit_net(io, &st->nets[i], &st->net_hosts[i]);
		if (r && !r->error) {
			check_transport(r, st, &st->nets[i].transport);
			check_net(r, &st->nets[i]);
			check_unique(r, "iface_id", st->nets[i].iface_id, st->nets[0].iface_id,
				     sizeof(st->nets[0]), i);
		}
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
