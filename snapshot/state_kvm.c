/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sections KVM's state goes into: vm (in-kernel irqchips, PIT,
 * kvmclock) and one vcpu per vCPU. Tags and conventions as in state.c.
 */
#include "snapshot/state_sections.h"

#include <stdint.h>

#include <linux/kvm.h>

#include "snapshot/format/codec.h"
#include "snapshot/format/visit.h"
#include "snapshot/state.h"

#define IRQCHIP_SIZE 512 /* the chip union of struct kvm_irqchip */

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

/* --- the sections, for visit_state() (state.c) ----------------------------- */

void state_visit_vm(struct snap_io *io, struct snapshot_state *st)
{
	visit_vm(io, &st->vm);
	if (io->r && !io->r->error)
		check_vm(io->r, &st->vm);
}

void state_visit_vcpu(struct snap_io *io, struct snapshot_state *st, uint32_t i)
{
	uint32_t index = i;

	visit_vcpu(io, &index, &st->vcpus[i]);
	if (io->r && !io->r->error)
		check_vcpu(io->r, index, i, &st->vcpus[i]);
}
