/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/snapshot_vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "snapshot/snapshot_devices.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/serial.h"
#include "vmm/util/log.h"

#define MSR_CHUNK 64
#define MSR_IA32_TSC_DEADLINE 0x6e0

/* ---- save -------------------------------------------------------------- */

static int get_xsave(struct vcpu *v, struct snapshot_vcpu *s, int kvm_fd, struct err_buf *err)
{
	int size = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	unsigned long req = KVM_GET_XSAVE2;
	void *buf;

	if (size < (int)SNAPSHOT_XSAVE_MIN) {
		size = SNAPSHOT_XSAVE_MIN;
		req = KVM_GET_XSAVE;
	}
	if (size > SNAPSHOT_XSAVE_MAX)
		return err_set(err, -E2BIG, "vCPU %u: XSAVE area of %d bytes is over %d", v->id,
			       size, SNAPSHOT_XSAVE_MAX);
	buf = calloc(1, (size_t)size);
	if (!buf)
		return err_set(err, -ENOMEM, "out of memory");
	if (ioctl(v->fd, req, buf) < 0) {
		int ret = err_set(err, -errno, "vCPU %u: KVM_GET_XSAVE: %s", v->id, strerror(errno));

		free(buf);
		return ret;
	}
	memcpy(s->xsave, buf, (size_t)size);
	s->xsave_len = (uint32_t)size;
	free(buf);
	return 0;
}

static int get_cpuid(struct vcpu *v, struct snapshot_vcpu *s, struct err_buf *err)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + SNAPSHOT_MAX_CPUID * sizeof(c->entries[0]));

	if (!c)
		return err_set(err, -ENOMEM, "out of memory");
	c->nent = SNAPSHOT_MAX_CPUID;
	if (ioctl(v->fd, KVM_GET_CPUID2, c) < 0) {
		int ret = err_set(err, -errno, "vCPU %u: KVM_GET_CPUID2: %s", v->id, strerror(errno));

		free(c);
		return ret;
	}
	s->nr_cpuid = c->nent;
	memcpy(s->cpuid, c->entries, c->nent * sizeof(c->entries[0]));
	free(c);
	return 0;
}

/* The MSRs KVM says it saves, read in chunks; ones KVM refuses to read are skipped. */
static int get_msrs(struct vm *vm, struct vcpu *v, struct snapshot_vcpu *s, struct err_buf *err)
{
	struct kvm_msr_list *list;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[MSR_CHUNK];
	} m;
	unsigned int pos = 0;
	int ret = 0;

	list = calloc(1, sizeof(*list) + SNAPSHOT_MAX_MSRS * sizeof(list->indices[0]));
	if (!list)
		return err_set(err, -ENOMEM, "out of memory");
	list->nmsrs = SNAPSHOT_MAX_MSRS;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		ret = err_set(err, -errno, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
		goto out;
	}
	s->nr_msrs = 0;
	while (pos < list->nmsrs) {
		unsigned int n = list->nmsrs - pos < MSR_CHUNK ? list->nmsrs - pos : MSR_CHUNK;
		int got;

		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = n;
		for (unsigned int i = 0; i < n; i++)
			m.e[i].index = list->indices[pos + i];
		got = ioctl(v->fd, KVM_GET_MSRS, &m);
		if (got < 0) {
			ret = err_set(err, -errno, "vCPU %u: KVM_GET_MSRS: %s", v->id, strerror(errno));
			goto out;
		}
		for (int i = 0; i < got && s->nr_msrs < SNAPSHOT_MAX_MSRS; i++) {
			s->msrs[s->nr_msrs].index = m.e[i].index;
			s->msrs[s->nr_msrs].value = m.e[i].data;
			s->nr_msrs++;
		}
		/* Entry @got was refused: skip it and go on after it. */
		pos += (unsigned int)got < n ? (unsigned int)got + 1 : n;
	}
out:
	free(list);
	return ret;
}

/* One KVM_GET_* ioctl of vCPU @v into @arg: 0, or -errno with @err naming @what. */
static int vcpu_get(struct vcpu *v, unsigned long req, void *arg, const char *what,
		    struct err_buf *err)
{
	if (ioctl(v->fd, req, arg) < 0)
		return err_set(err, -errno, "vCPU %u: %s: %s", v->id, what, strerror(errno));
	return 0;
}

static int save_vcpu(struct vm *vm, struct vcpu *v, struct snapshot_vcpu *s, struct err_buf *err)
{
	struct kvm_mp_state mp;
	int khz, ret;

	ret = vcpu_get(v, KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE", err);
	if (ret)
		return ret;
	s->mp_state = mp.mp_state;
	ret = vcpu_get(v, KVM_GET_REGS, &s->regs, "KVM_GET_REGS", err);
	if (ret)
		return ret;
	ret = vcpu_get(v, KVM_GET_SREGS, &s->sregs, "KVM_GET_SREGS", err);
	if (ret)
		return ret;
	ret = get_xsave(v, s, vm->kvm_fd, err);
	if (ret)
		return ret;
	ret = vcpu_get(v, KVM_GET_XCRS, &s->xcrs, "KVM_GET_XCRS", err);
	if (ret)
		return ret;
	ret = vcpu_get(v, KVM_GET_DEBUGREGS, &s->debugregs, "KVM_GET_DEBUGREGS", err);
	if (ret)
		return ret;
	ret = vcpu_get(v, KVM_GET_LAPIC, &s->lapic, "KVM_GET_LAPIC", err);
	if (ret)
		return ret;
	khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0)
		return err_set(err, -errno, "vCPU %u: KVM_GET_TSC_KHZ: %s", v->id, strerror(errno));
	s->tsc_khz = (uint32_t)khz;
	ret = get_cpuid(v, s, err);
	if (!ret)
		ret = get_msrs(vm, v, s, err);
	if (ret)
		return ret;
	return vcpu_get(v, KVM_GET_VCPU_EVENTS, &s->events, "KVM_GET_VCPU_EVENTS", err);
}

static int save_vm_kvm(struct vm *vm, struct snapshot_vm *s, struct err_buf *err)
{
	s->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	s->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->pic_master) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->pic_slave) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->ioapic) < 0)
		return err_set(err, -errno, "KVM_GET_IRQCHIP: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &s->pit) < 0)
		return err_set(err, -errno, "KVM_GET_PIT2: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &s->clock) < 0)
		return err_set(err, -errno, "KVM_GET_CLOCK: %s", strerror(errno));
	return 0;
}

int snapshot_vm_save(struct vm *vm, const struct vm_config *cfg, struct snapshot_state *st,
		     struct err_buf *err)
{
	int ret;

	st->machine = cfg->machine;
	st->machine.track_dirty_pages = false;
	st->nr_regions = vm->mem.nr_regions;
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		st->regions[i].gpa = vm->mem.regions[i].gpa;
		st->regions[i].size = vm->mem.regions[i].size;
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		ret = save_vcpu(vm, &vm->vcpus[i], &st->vcpus[i], err);
		if (ret)
			return ret;
	}
	ret = save_vm_kvm(vm, &st->vm, err);
	if (ret)
		return ret;
	serial_save(&vm->serial, &st->serial);
	i8042_save(&vm->i8042, &st->i8042);
	return snapshot_devices_save(&vm->devices, cfg, st, err);
}

/* ---- restore ----------------------------------------------------------- */

int snapshot_vm_config(const struct snapshot_state *st, const struct snapshot_net_override *ov,
		       unsigned int nr_ov, struct vm_config *cfg, struct err_buf *err)
{
	cfg->machine = st->machine;
	for (unsigned int j = 0; j < nr_ov; j++) {
		unsigned int i;

		for (i = 0; i < st->nr_nets && strcmp(ov[j].iface_id, st->nets[i].iface_id); i++)
			;
		if (i == st->nr_nets)
			return err_set(err, -EINVAL,
				       "network_overrides: the snapshot has no interface %s",
				       ov[j].iface_id);
	}
	return snapshot_devices_config(st, ov, nr_ov, cfg, err);
}

/* One KVM_SET_* ioctl of vCPU @v from @arg: 0, or -errno with @err naming @what. */
static int vcpu_set(struct vcpu *v, unsigned long req, const void *arg, const char *what,
		    struct err_buf *err)
{
	if (ioctl(v->fd, req, arg) < 0)
		return err_set(err, -errno, "vCPU %u: %s: %s", v->id, what, strerror(errno));
	return 0;
}

static int set_cpuid(struct vcpu *v, const struct snapshot_vcpu *s, struct err_buf *err)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + s->nr_cpuid * sizeof(c->entries[0]));
	int ret = 0;

	if (!c)
		return err_set(err, -ENOMEM, "out of memory");
	c->nent = s->nr_cpuid;
	memcpy(c->entries, s->cpuid, s->nr_cpuid * sizeof(c->entries[0]));
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		ret = err_set(err, -errno, "vCPU %u: KVM_SET_CPUID2: %s", v->id, strerror(errno));
	free(c);
	return ret;
}

static int set_msrs(struct vcpu *v, const struct snapshot_vcpu *s, struct err_buf *err)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[MSR_CHUNK];
	} m;
	unsigned int pos = 0, deadline = s->nr_msrs;

	/* MSR_IA32_TSC_DEADLINE last: it is relative to the TSC, set before it. */
	for (unsigned int i = 0; i < s->nr_msrs; i++)
		if (s->msrs[i].index == MSR_IA32_TSC_DEADLINE)
			deadline = i;
	while (pos < s->nr_msrs) {
		unsigned int n = s->nr_msrs - pos < MSR_CHUNK ? s->nr_msrs - pos : MSR_CHUNK;
		int done;

		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = n;
		for (unsigned int i = 0; i < n; i++) {
			/* Index @deadline is skipped and the rest move up one. */
			unsigned int k = pos + i >= deadline ? pos + i + 1 : pos + i;

			if (k == s->nr_msrs)
				k = deadline;
			m.e[i].index = s->msrs[k].index;
			m.e[i].data = s->msrs[k].value;
		}
		done = ioctl(v->fd, KVM_SET_MSRS, &m);
		if (done < 0)
			return err_set(err, -errno, "vCPU %u: KVM_SET_MSRS: %s", v->id,
				       strerror(errno));
		if ((unsigned int)done < n)
			return err_set(err, -EINVAL, "vCPU %u: KVM_SET_MSRS: KVM refused MSR 0x%x",
				       v->id, m.e[done].index);
		pos += n;
	}
	return 0;
}

static int set_xsave(struct vm *vm, struct vcpu *v, const struct snapshot_vcpu *s,
		     struct err_buf *err)
{
	int size = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	size_t len;
	void *buf;
	int ret = 0;

	if (size < (int)SNAPSHOT_XSAVE_MIN)
		size = SNAPSHOT_XSAVE_MIN;
	len = (size_t)size > s->xsave_len ? (size_t)size : s->xsave_len;
	buf = calloc(1, len);
	if (!buf)
		return err_set(err, -ENOMEM, "out of memory");
	memcpy(buf, s->xsave, s->xsave_len);
	if (ioctl(v->fd, KVM_SET_XSAVE, buf) < 0)
		ret = err_set(err, -errno, "vCPU %u: KVM_SET_XSAVE: %s", v->id, strerror(errno));
	free(buf);
	return ret;
}

static int restore_vcpu(struct vm *vm, struct vcpu *v, const struct snapshot_vcpu *s,
			struct err_buf *err)
{
	struct kvm_mp_state mp = { .mp_state = s->mp_state };
	int khz, ret;

	/* The guest's TSC rate, if this host's differs (needs TSC scaling). */
	khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	if (khz > 0 && (uint32_t)khz != s->tsc_khz &&
	    ioctl(v->fd, KVM_SET_TSC_KHZ, (unsigned long)s->tsc_khz) < 0)
		pr_warn("vCPU %u: cannot set the TSC to the snapshot's %u kHz (host %d kHz): %s",
			v->id, s->tsc_khz, khz, strerror(errno));
	/*
	 * Firecracker's order. The LAPIC goes in before the MSRs: KVM_SET_LAPIC
	 * switching the timer to TSC-deadline mode clears the deadline, so
	 * MSR_IA32_TSC_DEADLINE must be written after it (and after
	 * MSR_IA32_TSC, see set_msrs) or the guest's next timer never fires.
	 */
	ret = set_cpuid(v, s, err);
	if (ret)
		return ret;
	ret = vcpu_set(v, KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE", err);
	if (ret)
		return ret;
	ret = vcpu_set(v, KVM_SET_REGS, &s->regs, "KVM_SET_REGS", err);
	if (ret)
		return ret;
	ret = vcpu_set(v, KVM_SET_SREGS, &s->sregs, "KVM_SET_SREGS", err);
	if (ret)
		return ret;
	ret = set_xsave(vm, v, s, err);
	if (ret)
		return ret;
	ret = vcpu_set(v, KVM_SET_XCRS, &s->xcrs, "KVM_SET_XCRS", err);
	if (ret)
		return ret;
	ret = vcpu_set(v, KVM_SET_DEBUGREGS, &s->debugregs, "KVM_SET_DEBUGREGS", err);
	if (ret)
		return ret;
	ret = vcpu_set(v, KVM_SET_LAPIC, &s->lapic, "KVM_SET_LAPIC", err);
	if (ret)
		return ret;
	ret = set_msrs(v, s, err);
	if (ret)
		return ret;
	return vcpu_set(v, KVM_SET_VCPU_EVENTS, &s->events, "KVM_SET_VCPU_EVENTS", err);
}

static int restore_vm_kvm(struct vm *vm, const struct snapshot_vm *s, struct err_buf *err)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit = s->pit;
	struct kvm_clock_data clock;

	chip = s->pic_master;
	chip.chip_id = KVM_IRQCHIP_PIC_MASTER;
	if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
		return err_set(err, -errno, "KVM_SET_IRQCHIP (PIC master): %s", strerror(errno));
	chip = s->pic_slave;
	chip.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
		return err_set(err, -errno, "KVM_SET_IRQCHIP (PIC slave): %s", strerror(errno));
	chip = s->ioapic;
	chip.chip_id = KVM_IRQCHIP_IOAPIC;
	if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
		return err_set(err, -errno, "KVM_SET_IRQCHIP (IOAPIC): %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return err_set(err, -errno, "KVM_SET_PIT2: %s", strerror(errno));
	/* The guest's clock value only; KVM recomputes stability on this host. */
	memset(&clock, 0, sizeof(clock));
	clock.clock = s->clock.clock;
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return err_set(err, -errno, "KVM_SET_CLOCK: %s", strerror(errno));
	return 0;
}

int snapshot_vm_restore(struct vm *vm, const struct snapshot_state *st, struct err_buf *err)
{
	int ret;

	if (vm->nr_vcpus != st->machine.vcpu_count || !snapshot_devices_match(&vm->devices, st))
		return err_set(err, -EINVAL, "the restored machine does not match the snapshot");
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		ret = restore_vcpu(vm, &vm->vcpus[i], &st->vcpus[i], err);
		if (ret)
			return ret;
	}
	ret = restore_vm_kvm(vm, &st->vm, err);
	if (ret)
		return ret;
	if (serial_restore(&vm->serial, &st->serial))
		return err_set(err, -EINVAL, "serial: the saved state is not valid");
	if (i8042_restore(&vm->i8042, &st->i8042))
		return err_set(err, -EINVAL, "i8042: the saved state is not valid");
	return snapshot_devices_restore(&vm->devices, st, err);
}
