/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a microVM snapshot holds besides guest RAM, as plain data, and its
 * encoding into the sections of the state file (codec.h inside format.h).
 *
 * Pure functions: nothing here issues a KVM ioctl or touches a device. The
 * code that pauses a VM gathers the KVM structs and the device states into
 * a struct snapshot_state and calls snapshot_state_save(); restore calls
 * snapshot_state_load() and hands each piece back. Decoding checks every
 * value a real VM could not have produced (counts over the limits, queue
 * sizes, a memory layout that does not match the machine's size) and says
 * which section and field is wrong.
 *
 * Sections, in this order (ids in state.c and docs/snapshots.md):
 *   machine, memory, vm, vcpu x vcpu_count, serial, i8042, devices,
 *   virtio-blk x nr_blks, virtio-net x nr_nets
 * (format 2: virtio-blk and virtio-net also carry the device's host config)
 */
#ifndef IGNIS_SNAPSHOT_STATE_H
#define IGNIS_SNAPSHOT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "vmm/config/config.h"
#include "vmm/devices/i8042_state.h"
#include "vmm/devices/serial_state.h"
#include "vmm/devices/virtio/block_state.h"
#include "vmm/devices/virtio/net_state.h"
#include "vmm/memory/memory.h"
#include "vmm/util/error.h"

#define SNAPSHOT_MAX_MSRS 1024
#define SNAPSHOT_MAX_CPUID 256     /* KVM's KVM_MAX_CPUID_ENTRIES */
#define SNAPSHOT_XSAVE_MIN 4096    /* struct kvm_xsave: KVM_GET_XSAVE */
#define SNAPSHOT_XSAVE_MAX 16384   /* KVM_GET_XSAVE2 with AMX is ~11 KiB */
#define SNAPSHOT_PATH_MAX 4095     /* PATH_MAX - 1 */
#define SNAPSHOT_PARTUUID_MAX 64   /* GPT: 36 characters, MBR: 11 */

struct snapshot_msr {
	uint32_t index;
	uint64_t value;
};

/* One vCPU, in Firecracker's save order. Reserved and padding fields are not saved. */
struct snapshot_vcpu {
	uint32_t mp_state;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint32_t xsave_len; /* bytes of @xsave in use */
	uint8_t xsave[SNAPSHOT_XSAVE_MAX];
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_lapic_state lapic;
	uint32_t tsc_khz;
	uint32_t nr_cpuid;
	struct kvm_cpuid_entry2 cpuid[SNAPSHOT_MAX_CPUID];
	uint32_t nr_msrs;
	struct snapshot_msr msrs[SNAPSHOT_MAX_MSRS];
	struct kvm_vcpu_events events;
};

/*
 * A drive's host side, from its configuration (format 2): what a restore
 * needs to reopen the same backing file the same way. The guest-visible
 * side (transport, id, capacity) is struct virtio_blk_state.
 */
struct snapshot_drive {
	char path_on_host[SNAPSHOT_PATH_MAX + 1];
	uint8_t is_root_device;
	uint8_t is_read_only;
	uint8_t has_partuuid;
	char partuuid[SNAPSHOT_PARTUUID_MAX + 1];
	uint8_t cache_type; /* enum cache_type */
	uint8_t io_engine;  /* enum io_engine */
};

/* A network interface's host side (format 2): its TAP, unless network_overrides names another. */
struct snapshot_net {
	char host_dev_name[NET_HOST_DEV_NAME_MAX + 1];
};

/* The in-kernel devices: PIC master/slave and IOAPIC (KVM_GET_IRQCHIP), PIT2, kvmclock. */
struct snapshot_vm {
	struct kvm_irqchip pic_master, pic_slave, ioapic;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

struct snapshot_state {
	/* vcpu_count, mem_size_mib, smt, huge_pages; track_dirty_pages is not saved (as Firecracker). */
	struct machine_config machine;
	unsigned int nr_regions;
	struct guest_range regions[GUEST_MEM_MAX_REGIONS];
	struct snapshot_vm vm;
	struct snapshot_vcpu vcpus[VM_MAX_VCPUS]; /* machine.vcpu_count of them */
	struct serial_state serial;
	struct i8042_state i8042;
	unsigned int nr_blks;
	struct virtio_blk_state blks[VM_MAX_DRIVES];
	struct snapshot_drive drives[VM_MAX_DRIVES]; /* blks[i]'s host side */
	unsigned int nr_nets;
	struct virtio_net_state nets[VM_MAX_NETS];
	struct snapshot_net net_hosts[VM_MAX_NETS]; /* nets[i]'s host side */
};

/* Zeroed; about a megabyte, so never on the stack. NULL on ENOMEM. */
struct snapshot_state *snapshot_state_alloc(void);
void snapshot_state_free(struct snapshot_state *st);

/* Encodes @st (checked as decoding would) into a malloc'd payload. */
int snapshot_state_encode(const struct snapshot_state *st, uint8_t **buf, size_t *len,
			  struct err_buf *err);
/* Decodes and checks a payload into @st (overwritten entirely). */
int snapshot_state_decode(struct snapshot_state *st, const uint8_t *buf, size_t len,
			  struct err_buf *err);

/* Encode + snapshot_file_write(); read + snapshot_file_parse() + decode. */
int snapshot_state_save(const char *path, const struct snapshot_state *st, struct err_buf *err);
int snapshot_state_load(const char *path, struct snapshot_state *st, struct err_buf *err);

/* The state file in @buf (header, payload, CRC) decoded into @st: what the fuzzer drives. */
int snapshot_state_parse(struct snapshot_state *st, const uint8_t *buf, size_t len,
			 struct err_buf *err);

#endif
