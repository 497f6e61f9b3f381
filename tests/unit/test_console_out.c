/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The console's output never blocks a vCPU (issue 14 #3): a pipe nobody
 * reads gets a non-blocking description of its own, the UART drops and
 * counts what does not fit, the description the caller holds stays as it
 * was; a socket (no /proc reopen) is switched to non-blocking and back; a
 * regular file is used as it is.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/unit/helpers.h"
#include "vmm/devices/serial.h"
#include "vmm/io/console_out.h"

#define GUEST_BYTES 200000

struct counts {
	uint64_t missed, written;
};

static void put(void *ctx, const char *name, uint64_t v)
{
	struct counts *c = ctx;

	if (!strcmp(name, "missed_write_count"))
		c->missed = v;
	else if (!strcmp(name, "write_bytes"))
		c->written = v;
}

/* A guest printing @n bytes to a UART whose console is @fd; the counters after. */
static struct counts guest_prints(int fd, unsigned int n)
{
	struct device_stats_writer w = { 0 };
	struct serial uart;
	struct counts c = { 0 };

	cr_assert_eq(serial_init(&uart, fd, -1), 0);
	for (unsigned int i = 0; i < n; i++)
		port_write8(&serial_ops, &uart, 0, 'x');
	w.ctx = &c;
	w.u64 = put;
	serial_stats(&uart, &w);
	serial_destroy(&uart);
	return c;
}

Test(console_out, a_pipe_nobody_reads_drops_output_instead_of_blocking)
{
	struct console_out co;
	struct err_buf err = { "" };
	struct counts c;
	int p[2], cap;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0); /* blocking, like a shell's pipe */
	cap = fcntl(p[1], F_GETPIPE_SZ);
	cr_assert_gt(cap, 0);
	cr_assert_eq(console_out_open(&co, p[1], &err), 0, "%s", err.msg);
	cr_assert_neq(co.fd, p[1], "reopened through /proc/self/fd");
	cr_assert(fcntl(co.fd, F_GETFL) & O_NONBLOCK);
	cr_assert_not(fcntl(p[1], F_GETFL) & O_NONBLOCK, "the caller's description changed");
	c = guest_prints(co.fd, GUEST_BYTES);
	cr_assert_eq(c.written, GUEST_BYTES);
	cr_assert_eq(c.missed, (uint64_t)(GUEST_BYTES - cap), "missed %llu, pipe holds %d",
		     (unsigned long long)c.missed, cap);
	console_out_close(&co);
	cr_assert_eq(co.fd, -1);
	close(p[0]);
	close(p[1]);
}

Test(console_out, a_socket_is_made_non_blocking_and_put_back)
{
	struct console_out co;
	struct err_buf err = { "" };
	struct counts c;
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(console_out_open(&co, sv[1], &err), 0, "%s", err.msg);
	cr_assert_eq(co.fd, sv[1], "a socket cannot be reopened");
	cr_assert(fcntl(sv[1], F_GETFL) & O_NONBLOCK);
	c = guest_prints(co.fd, GUEST_BYTES * 10);
	cr_assert_gt(c.missed, 0);
	console_out_close(&co);
	cr_assert_not(fcntl(sv[1], F_GETFL) & O_NONBLOCK, "flags not put back");
	close(sv[0]);
	close(sv[1]);
}

Test(console_out, a_regular_file_and_no_console_are_used_as_they_are)
{
	char path[] = "/tmp/ignis-console-XXXXXX";
	struct console_out co;
	struct err_buf err = { "" };
	struct counts c;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(console_out_open(&co, fd, &err), 0, "%s", err.msg);
	cr_assert_eq(co.fd, fd);
	cr_assert_not(fcntl(fd, F_GETFL) & O_NONBLOCK);
	c = guest_prints(co.fd, 1000);
	cr_assert_eq(c.missed, 0);
	cr_assert_eq(lseek(fd, 0, SEEK_END), 1000);
	console_out_close(&co);
	close(fd);
	cr_assert_eq(console_out_open(&co, -1, &err), 0);
	cr_assert_eq(co.fd, -1);
	console_out_close(&co);
}
