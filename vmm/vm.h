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
#include <stddef.h>

#include <linux/kvm.h>

#include "bus.h"
#include "config.h"
#include "devices/boot_timer.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "devices/virtio/block.h"
#include "error.h"
#include "event_loop.h"
#include "memory.h"
#include "vcpu.h"

struct vm_opts {
	bool boot_timer;
	int console_out_fd;  /* guest serial output */
	int console_in_fd;   /* guest serial input; -1: none */
	uint64_t start_wall_us;
	uint64_t start_cpu_us;
	int signal_fd;       /* signalfd for SIGINT/SIGTERM/SIGHUP; -1: none */
};

struct vm {
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	struct kvm_cpuid2 *supported_cpuid;
	bool tsc_deadline;
	bool smt;

	struct guest_mem mem;
	struct bus pio_bus;
	struct bus mmio_bus;

	struct serial serial;
	int serial_irq_fd;
	int serial_out_fd; /* opened from serial_out_path; -1: stdout or none */
	struct i8042 i8042;
	int i8042_irq_fd;
	struct boot_timer boot_timer;
	struct virtio_blk *blks[VM_MAX_DRIVES]; /* in device-slot order */
	unsigned int nr_blks;

	struct vcpu vcpus[VM_MAX_VCPUS];
	unsigned int nr_vcpus;

	struct event_loop loop;
	int exit_fd;  /* eventfd: a vCPU or device asks the VMM thread to stop */
	int reset_fd; /* eventfd: the guest reset the machine (i8042) */
	int console_in_fd;
	int console_space_fd; /* serial RX FIFO drained */
	int signal_fd;
	struct event_handler exit_handler, reset_handler, console_handler;
	struct event_handler console_space_handler, signal_handler;

	atomic_bool stopping;
	atomic_int exit_code;
	atomic_bool exit_requested;
};

int vm_create(struct vm *vm, const struct vm_config *cfg, const struct vm_opts *opts,
	      struct err_buf *err);
/* Runs the guest until it stops; returns the process exit code. */
int vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/* First caller's code wins. Callable from any thread. */
void vm_request_exit(struct vm *vm, int code);
bool vm_stopping(struct vm *vm);

#endif
