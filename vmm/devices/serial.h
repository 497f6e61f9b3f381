/* SPDX-License-Identifier: Apache-2.0 */
/*
 * 16550A UART (COM1): the guest console.
 *
 * Register accesses come from vCPU threads; input comes from the VMM thread;
 * a mutex in the device orders the two. Transmission is instantaneous, so the
 * transmitter is always empty and THRE interrupts are raised as a real 16550
 * does whenever they are enabled. Interrupts leave through an eventfd bound
 * to the IRQ with KVM_IRQFD (each write is an edge).
 */
#ifndef IGNIS_SERIAL_H
#define IGNIS_SERIAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/devices/device.h"
#include "vmm/devices/serial_state.h"
#include "vmm/kvm/bus.h"

#define SERIAL_PORT_SIZE 8

struct serial {
	pthread_mutex_t lock;
	int out_fd;   /* console output; -1 discards */
	int irq_fd;   /* eventfd; -1: no interrupts (tests) */
	int rx_space_fd; /* eventfd written when a full RX FIFO drains; -1: none */

	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	uint8_t thr_empty_pending;

	uint8_t rx[SERIAL_RX_FIFO_SIZE];
	unsigned int rx_head, rx_count;

	uint64_t tx_bytes, rx_dropped;
	uint64_t tx_missed; /* bytes the console did not take (full, or gone) */
};

extern const struct bus_device_ops serial_ops;

/* @out_fd should be non-blocking (console_out.h): the UART drops what it cannot write. */
int serial_init(struct serial *s, int out_fd, int irq_fd);
void serial_destroy(struct serial *s);

/* Queues host input for the guest; returns how many bytes were accepted. */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);
/* Free space in the receive FIFO, so the VMM reads no more than fits. */
size_t serial_rx_space(struct serial *s);
/* Reports the UART's counters (metrics' "uart"); @s NULL, no machine yet: zeros. Any thread. */
void serial_stats(struct serial *s, const struct device_stats_writer *w);

/* Snapshots: the saved form is struct serial_state (serial_state.h). */
void serial_save(struct serial *s, struct serial_state *st);
/*
 * Rejects (-EINVAL, nothing changed) a state the UART could not have saved:
 * bits a register never holds, a FIFO overrun, LSR or MSR other than the
 * fixed values it keeps (serial.c).
 */
int serial_restore(struct serial *s, const struct serial_state *st);

#endif
