/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the guest console's output goes, made non-blocking. The UART
 * transmits from a vCPU thread with its lock held: a write that blocks on a
 * console nobody reads (a full pipe, a FIFO whose reader stopped, a
 * suspended terminal) would stall that vCPU, then the VMM thread behind the
 * lock (console input, pause, snapshot) and the stop. With the fd
 * non-blocking, output the reader does not take is dropped and counted
 * (serial.h, metrics "uart.missed_write_count").
 *
 * A regular file (or block device) is used as it is: writing it never waits
 * for a reader. Anything else gets a file description of its own, reopened
 * through /proc/self/fd with O_NONBLOCK, so the process that handed ignis
 * its stdout (a shell's terminal, an orchestrator's pipe) keeps a blocking
 * one. Where that cannot be done (no /proc in a jail, a socket) the shared
 * description is switched to O_NONBLOCK and switched back at close.
 */
#ifndef IGNIS_CONSOLE_OUT_H
#define IGNIS_CONSOLE_OUT_H

#include "vmm/util/error.h"

struct console_out {
	int fd;            /* write here; -1: discard */
	int owned_fd;      /* fd when it was reopened for us, else -1 */
	int restore_fd;    /* a shared description we made non-blocking, else -1 */
	int restore_flags; /* its flags before */
};

/* Prepares @fd (not taken; -1 for no console). 0, or -errno with @err. */
int console_out_open(struct console_out *co, int fd, struct err_buf *err);
/* Closes what console_out_open() opened and puts back what it changed. */
void console_out_close(struct console_out *co);

#endif
