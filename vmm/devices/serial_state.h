/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The 16550's saved form (snapshots): plain data, for the UART and the
 * snapshot schema alike.
 */
#ifndef IGNIS_SERIAL_STATE_H
#define IGNIS_SERIAL_STATE_H

#include <stdint.h>

#define SERIAL_RX_FIFO_SIZE 64

/* Serialisable UART state for snapshots: the registers and the RX FIFO, oldest byte first. */
struct serial_state {
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	uint8_t thr_empty_pending;
	uint8_t rx_count;
	uint8_t rx[SERIAL_RX_FIFO_SIZE];
};

#endif
