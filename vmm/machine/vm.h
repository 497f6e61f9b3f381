/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vm: everything one microVM owns. Built from a validated vm_config by
 * vm_create(), run by vm_run() on the calling (VMM) thread, torn down by
 * vm_destroy() which joins every thread and frees everything.
 */
#ifndef IGNIS_VM_H
#define IGNIS_VM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <pthread.h>
#include <stddef.h>

#include <linux/kvm.h>

#include "vmm/config/config.h"
#include "vmm/devices/boot_timer.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/serial.h"
#include "vmm/io/console_out.h"
#include "vmm/kvm/bus.h"
#include "vmm/kvm/run_ctl.h"
#include "vmm/kvm/snapshot_timing.h"
#include "vmm/kvm/vcpu.h"
#include "vmm/machine/devices.h"
#include "vmm/memory/memory.h"
#include "vmm/memory/restore_mem.h"
#include "vmm/util/error.h"
#include "vmm/util/event_loop.h"

/* What the VMM thread lends the machine it builds. */
struct seccomp_filters;

struct vm_opts {
	struct event_loop *loop;   /* the VMM thread's loop: device fds go here */
	/* Asks the VMM thread to stop the microVM; callable from any thread. */
	void (*request_exit)(void *ctx, int code);
	void *exit_ctx;
	bool boot_timer;
	int console_out_fd;   /* guest serial output (unless serial_out_path) */
	int console_space_fd; /* eventfd: the serial RX FIFO drained */
	uint64_t start_wall_us;
	uint64_t start_cpu_us;
	const struct seccomp_filters *seccomp; /* vcpu filter, see seccomp.h; NULL: none */
};

struct vm {
	int kvm_fd;
	int vm_fd;
	struct kvm_cpuid2 *supported_cpuid;
	struct vcpu_shared vcpu_shared; /* what the vCPUs see of this VM */

	struct guest_mem mem;
	struct restore_mem_uffd mem_uffd; /* Uffd backend: open for the VM's life */
	struct bus pio_bus;
	struct bus mmio_bus;

	struct serial serial;
	int serial_irq_fd;
	int serial_out_fd; /* opened from serial_out_path; -1: stdout or none */
	struct console_out console; /* the serial's output, non-blocking */
	struct i8042 i8042;
	int i8042_irq_fd;
	struct boot_timer boot_timer;
	struct vm_devices devices; /* the virtio devices, in slot order */

	struct vcpu vcpus[VM_MAX_VCPUS];
	unsigned int nr_vcpus;

	struct vm_opts opts;
	int reset_fd; /* eventfd: the guest reset the machine (i8042) */
	struct event_handler reset_handler;

	/* vCPU run control: stop, and pause by parking the threads. */
	struct run_ctl run;
	bool threads_started; /* vm_start() ran (a --prewarm VM parks them before any load) */

	struct snapshot_timing load_timing; /* armed by a resumed snapshot load */
};

int vm_create(struct vm *vm, const struct vm_config *cfg, const struct vm_opts *opts,
	      struct err_buf *err);
/*
 * Snapshot restore: the same machine (devices, memory slots, vCPUs) with guest
 * RAM from @restore (restore_mem.h), and no kernel loading or boot register
 * set-up; the caller then loads the saved state (snapshot_vm.h). On failure
 * everything is torn down, as with vm_create().
 */
int vm_create_for_restore(struct vm *vm, const struct vm_config *cfg, const struct vm_opts *opts,
			  const struct restore_mem_source *restore, struct err_buf *err);
/* Starts one thread per vCPU. */
int vm_start(struct vm *vm);
/* Parks every vCPU outside KVM_RUN and settles device I/O; returns once they are. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
/* Stops and joins every vCPU thread. Idempotent. */
void vm_stop(struct vm *vm);
void vm_destroy(struct vm *vm);

/*
 * Post-boot PATCH /drives/{id}: re-points drive @id at @path and records it
 * in @cfg. Returns 0 or -errno with @err (unknown id, unusable file).
 */
int vm_update_drive(struct vm *vm, struct vm_config *cfg, const char *id, const char *path,
		    struct err_buf *err);

/* Asks the VMM thread to stop the microVM (vCPU threads, devices). */
void vm_request_exit(struct vm *vm, int code);

#endif
