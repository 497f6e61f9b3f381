/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Valid snapshot states filled with pseudo-random values, for the unit
 * tests and the fuzzer's seed corpus: every field a value a real VM could
 * hold, every reserved or padding byte zero (not saved, so it must be zero
 * for a round trip to compare equal).
 */
#ifndef IGNIS_TEST_SNAPSHOT_SAMPLE_H
#define IGNIS_TEST_SNAPSHOT_SAMPLE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "snapshot/state.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/devices/virtio/virtio.h"

/* Tests are single-threaded: one generator state per process is enough. */
static uint64_t rng_state;

static inline uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static inline void rnd_bytes(void *dst, size_t len)
{
	uint8_t *p = dst;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rnd();
}

static inline void fill_segment(struct kvm_segment *s)
{
	s->base = rnd();
	s->limit = (uint32_t)rnd();
	s->selector = (uint16_t)rnd();
	s->type = rnd() % 16;
	s->present = rnd() & 1;
	s->dpl = rnd() % 4;
	s->db = rnd() & 1;
	s->s = rnd() & 1;
	s->l = rnd() & 1;
	s->g = rnd() & 1;
	s->avl = rnd() & 1;
	s->unusable = rnd() & 1;
}

static inline void fill_vcpu(struct snapshot_vcpu *v, uint32_t xsave_len, uint32_t nr_cpuid,
		      uint32_t nr_msrs)
{
	__u64 *regs[] = { &v->regs.rax, &v->regs.rbx, &v->regs.rcx, &v->regs.rdx, &v->regs.rsi,
			  &v->regs.rdi, &v->regs.rsp, &v->regs.rbp, &v->regs.r8,  &v->regs.r9,
			  &v->regs.r10, &v->regs.r11, &v->regs.r12, &v->regs.r13, &v->regs.r14,
			  &v->regs.r15, &v->regs.rip, &v->regs.rflags };
	struct kvm_sregs *s = &v->sregs;
	struct kvm_vcpu_events *e = &v->events;

	v->mp_state = rnd() % (KVM_MP_STATE_SUSPENDED + 1);
	for (unsigned int i = 0; i < 18; i++)
		*regs[i] = rnd();
	fill_segment(&s->cs);
	fill_segment(&s->ds);
	fill_segment(&s->es);
	fill_segment(&s->fs);
	fill_segment(&s->gs);
	fill_segment(&s->ss);
	fill_segment(&s->tr);
	fill_segment(&s->ldt);
	s->gdt.base = rnd();
	s->gdt.limit = (uint16_t)rnd();
	s->idt.base = rnd();
	s->idt.limit = (uint16_t)rnd();
	s->cr0 = rnd();
	s->cr2 = rnd();
	s->cr3 = rnd();
	s->cr4 = rnd();
	s->cr8 = rnd();
	s->efer = rnd();
	s->apic_base = rnd();
	for (unsigned int i = 0; i < 4; i++)
		s->interrupt_bitmap[i] = rnd();
	v->xsave_len = xsave_len;
	rnd_bytes(v->xsave, xsave_len);
	v->xcrs.nr_xcrs = 1 + rnd() % KVM_MAX_XCRS;
	v->xcrs.flags = (uint32_t)rnd();
	for (unsigned int i = 0; i < v->xcrs.nr_xcrs; i++) {
		v->xcrs.xcrs[i].xcr = (uint32_t)rnd();
		v->xcrs.xcrs[i].value = rnd();
	}
	for (unsigned int i = 0; i < 4; i++)
		v->debugregs.db[i] = rnd();
	v->debugregs.dr6 = rnd();
	v->debugregs.dr7 = rnd();
	v->debugregs.flags = rnd();
	rnd_bytes(v->lapic.regs, sizeof(v->lapic.regs));
	v->tsc_khz = 1 + (uint32_t)(rnd() % 5000000);
	v->nr_cpuid = nr_cpuid;
	for (unsigned int i = 0; i < nr_cpuid; i++) {
		v->cpuid[i].function = (uint32_t)rnd();
		v->cpuid[i].index = (uint32_t)rnd();
		v->cpuid[i].flags = (uint32_t)rnd();
		v->cpuid[i].eax = (uint32_t)rnd();
		v->cpuid[i].ebx = (uint32_t)rnd();
		v->cpuid[i].ecx = (uint32_t)rnd();
		v->cpuid[i].edx = (uint32_t)rnd();
	}
	v->nr_msrs = nr_msrs;
	for (unsigned int i = 0; i < nr_msrs; i++) {
		v->msrs[i].index = (uint32_t)rnd();
		v->msrs[i].value = rnd();
	}
	e->exception.injected = rnd() & 1;
	e->exception.nr = rnd() % 32;
	e->exception.has_error_code = rnd() & 1;
	e->exception.pending = rnd() & 1;
	e->exception.error_code = (uint32_t)rnd();
	e->interrupt.injected = rnd() & 1;
	e->interrupt.nr = (uint8_t)rnd();
	e->interrupt.soft = rnd() & 1;
	e->interrupt.shadow = (uint8_t)rnd();
	e->nmi.injected = rnd() & 1;
	e->nmi.pending = (uint8_t)rnd();
	e->nmi.masked = rnd() & 1;
	e->sipi_vector = (uint32_t)rnd();
	e->flags = (uint32_t)rnd();
	e->smi.smm = rnd() & 1;
	e->smi.pending = rnd() & 1;
	e->smi.smm_inside_nmi = rnd() & 1;
	e->smi.latched_init = rnd() & 1;
	e->triple_fault.pending = rnd() & 1;
	e->exception_has_payload = rnd() & 1;
	e->exception_payload = rnd();
}

static inline void fill_transport(struct virtio_mmio_state *t, uint64_t ring_gpa)
{
	t->device_features_sel = (uint32_t)rnd();
	t->driver_features_sel = (uint32_t)rnd();
	t->queue_sel = (uint32_t)rnd();
	t->driver_features = rnd();
	t->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		    VIRTIO_STATUS_DRIVER_OK;
	t->interrupt_status = rnd() % 4;
	t->config_generation = (uint32_t)rnd();
	t->activated = 1;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		struct virtq_state *q = &t->queues[i];

		q->size = (uint16_t)(1u << (rnd() % 9));
		q->ready = 1;
		q->event_idx = rnd() & 1;
		q->indirect = rnd() & 1;
		q->desc_gpa = ring_gpa + i * 0x4000;
		q->avail_gpa = q->desc_gpa + 0x1000;
		q->used_gpa = q->desc_gpa + 0x2000;
		q->last_avail_idx = (uint16_t)rnd();
		q->used_idx = (uint16_t)rnd();
		q->signalled_used = (uint16_t)rnd();
		q->signalled_used_valid = rnd() & 1;
	}
}

/*
 * A valid state: @nr_vcpus vCPUs with @nr_cpuid CPUID entries and @nr_msrs
 * MSRs each, @nr_blks drives and @nr_nets interfaces, @mem_mib of RAM.
 */
static inline struct snapshot_state *make_state(uint64_t seed, unsigned int nr_vcpus,
					 unsigned int mem_mib, uint32_t nr_cpuid,
					 uint32_t nr_msrs, unsigned int nr_blks,
					 unsigned int nr_nets)
{
	struct snapshot_state *st = snapshot_state_alloc();

	if (!st)
		abort();
	rng_state = seed;
	st->machine.vcpu_count = nr_vcpus;
	st->machine.mem_size_mib = mem_mib;
	st->machine.smt = nr_vcpus % 2 == 0;
	/* Huge pages of either kind need an even size (machine_config_check). */
	st->machine.huge_pages = mem_mib % 2 ? HUGE_PAGES_NONE
			       : mem_mib % 4 ? HUGE_PAGES_TRANSPARENT : HUGE_PAGES_2M;
	st->nr_regions = x86_memory_ranges((uint64_t)mem_mib << 20, st->regions);

	st->vm.pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	rnd_bytes(st->vm.pic_master.chip.dummy, sizeof(st->vm.pic_master.chip.dummy));
	st->vm.pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	rnd_bytes(st->vm.pic_slave.chip.dummy, sizeof(st->vm.pic_slave.chip.dummy));
	st->vm.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	rnd_bytes(st->vm.ioapic.chip.dummy, sizeof(st->vm.ioapic.chip.dummy));
	for (unsigned int i = 0; i < 3; i++) {
		struct kvm_pit_channel_state *c = &st->vm.pit.channels[i];

		c->count = (uint32_t)(rnd() % 0x10001);
		c->latched_count = (uint16_t)rnd();
		c->count_latched = rnd() % 4;
		c->status_latched = rnd() & 1;
		c->status = (uint8_t)rnd();
		c->read_state = rnd() % 5;
		c->write_state = rnd() % 5;
		c->write_latch = (uint8_t)rnd();
		c->rw_mode = rnd() % 4;
		c->mode = rnd() % 6;
		c->bcd = rnd() & 1;
		c->gate = rnd() & 1;
		c->count_load_time = (__s64)rnd();
	}
	st->vm.pit.flags = (uint32_t)rnd();
	st->vm.clock.clock = rnd();
	st->vm.clock.flags = (uint32_t)rnd();
	st->vm.clock.realtime = rnd();
	st->vm.clock.host_tsc = rnd();

	for (unsigned int i = 0; i < nr_vcpus; i++)
		fill_vcpu(&st->vcpus[i], i % 2 ? 11008 : SNAPSHOT_XSAVE_MIN, nr_cpuid, nr_msrs);

	st->serial.ier = rnd() & 0x0f;
	st->serial.lcr = (uint8_t)rnd();
	st->serial.mcr = rnd() & 0x1f;
	st->serial.lsr = (uint8_t)rnd();
	st->serial.msr = (uint8_t)rnd();
	st->serial.scr = (uint8_t)rnd();
	st->serial.dll = (uint8_t)rnd();
	st->serial.dlm = (uint8_t)rnd();
	st->serial.fcr = (uint8_t)rnd();
	st->serial.thr_empty_pending = 1;
	st->serial.rx_count = 10;
	rnd_bytes(st->serial.rx, 10);

	st->i8042.ctr = (uint8_t)rnd();
	st->i8042.outp = (uint8_t)rnd();
	st->i8042.pending_cmd = 0x60;
	st->i8042.count = 3;
	rnd_bytes(st->i8042.buf, 3);

	st->nr_blks = nr_blks;
	for (unsigned int i = 0; i < nr_blks; i++) {
		fill_transport(&st->blks[i].transport, 0x100000 + i * 0x10000);
		snprintf(st->blks[i].drive_id, sizeof(st->blks[i].drive_id), "drive%u", i);
		st->blks[i].capacity_sectors = rnd() >> 9;
		snprintf(st->drives[i].path_on_host, sizeof(st->drives[i].path_on_host),
			 "/srv/vm/disk-%u-%llx.ext4", i, (unsigned long long)rnd());
		st->drives[i].is_root_device = i == 0;
		st->drives[i].is_read_only = (uint8_t)(rnd() & 1);
		st->drives[i].has_partuuid = i == 0;
		if (i == 0)
			snprintf(st->drives[i].partuuid, sizeof(st->drives[i].partuuid),
				 "0eaa91a0-01");
		st->drives[i].cache_type = (uint8_t)(rnd() % (CACHE_NONE + 1));
		st->drives[i].io_engine = (uint8_t)(rnd() % (IO_ENGINE_ASYNC + 1));
	}
	st->nr_nets = nr_nets;
	for (unsigned int i = 0; i < nr_nets; i++) {
		fill_transport(&st->nets[i].transport, 0x400000 + i * 0x10000);
		snprintf(st->nets[i].iface_id, sizeof(st->nets[i].iface_id), "eth%u", i);
		st->nets[i].has_mac = 1;
		rnd_bytes(st->nets[i].mac, 6);
		st->nets[i].mtu = 1500;
		snprintf(st->net_hosts[i].host_dev_name, sizeof(st->net_hosts[i].host_dev_name),
			 "tap%u", i);
	}
	return st;
}

#endif
