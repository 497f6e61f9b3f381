/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Minimal i8042 keyboard controller: enough for Linux's driver to probe it,
 * and the CPU-reset command (0xFE on port 0x64) that `reboot` with
 * `reboot=k` sends, which ends the VMM cleanly.
 */
#ifndef IGNIS_I8042_H
#define IGNIS_I8042_H

#include <pthread.h>
#include <stdint.h>

#include "vmm/devices/i8042_state.h"
#include "vmm/kvm/bus.h"


struct i8042 {
	pthread_mutex_t lock;
	int irq_fd;    /* eventfd for IRQ 1; -1: none */
	int reset_fd;  /* eventfd written on CPU reset; the VMM exits on it */
	uint8_t ctr;   /* controller command byte */
	uint8_t outp;  /* output port */
	uint8_t pending_cmd;
	uint8_t buf[I8042_BUF_SIZE];
	unsigned int head, count;
};

extern const struct bus_device_ops i8042_ops;

int i8042_init(struct i8042 *dev, int irq_fd, int reset_fd);
void i8042_destroy(struct i8042 *dev);

/*
 * Firecracker's SendCtrlAltDel: queues the scancode-set-2 make codes for
 * Ctrl, Alt and Delete and raises IRQ 1, so a guest that maps
 * Ctrl-Alt-Del to a reboot (Linux: SIGINT to init) does one. Any thread.
 */
void i8042_send_ctrl_alt_del(struct i8042 *dev);

/* Snapshots: the saved form is struct i8042_state (i8042_state.h). */
void i8042_save(struct i8042 *dev, struct i8042_state *st);
/* Rejects a buffer count over I8042_BUF_SIZE and a pending command that takes no data. */
int i8042_restore(struct i8042 *dev, const struct i8042_state *st);

#endif
