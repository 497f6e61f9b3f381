/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The 16550A as the guest's 8250 driver sees it, through the same register
 * ops the port I/O bus calls. Output goes to a pipe, interrupts to an eventfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/unit/helpers.h"
#include "vmm/devices/serial.h"

#define RBR_THR 0
#define IER 1
#define IIR_FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define IIR_NO_INT 0xc1
#define IIR_THRI 0xc2
#define IIR_RDI 0xc4
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

static struct serial uart;
static int console[2]; /* pipe: [0] is what the host reads */
static int irq_fd;

static void uart_setup(void)
{
	cr_assert_eq(pipe2(console, O_NONBLOCK | O_CLOEXEC), 0);
	irq_fd = test_eventfd();
	cr_assert_eq(serial_init(&uart, console[1], irq_fd), 0);
}

static void uart_teardown(void)
{
	serial_destroy(&uart);
	close(console[0]);
	close(console[1]);
	close(irq_fd);
}

TestSuite(serial, .init = uart_setup, .fini = uart_teardown);

static uint8_t in(uint64_t reg)
{
	return port_read8(&serial_ops, &uart, reg);
}

static void out(uint64_t reg, uint8_t v)
{
	port_write8(&serial_ops, &uart, reg, v);
}

/* Bytes the guest sent to the console since the last call. */
static ssize_t console_output(char *buf, size_t len)
{
	ssize_t n = read(console[0], buf, len);

	return n < 0 ? 0 : n;
}

static void input(const char *s)
{
	cr_assert_eq(serial_input(&uart, (const uint8_t *)s, strlen(s)), strlen(s));
}

Test(serial, thr_write_goes_to_the_console)
{
	char buf[8];

	out(RBR_THR, 'A');
	out(RBR_THR, 'b');
	cr_assert_eq(console_output(buf, sizeof(buf)), 2);
	cr_assert_eq(memcmp(buf, "Ab", 2), 0);
}

Test(serial, lsr_shows_the_transmitter_always_empty)
{
	cr_assert_eq(in(LSR), LSR_THRE | LSR_TEMT);
	out(RBR_THR, 'A');
	cr_assert_eq(in(LSR), LSR_THRE | LSR_TEMT);
}

Test(serial, dlab_selects_the_divisor_latch_and_transmits_nothing)
{
	char buf[8];

	cr_assert_eq(in(LCR), 0x03);
	out(LCR, 0x83);
	cr_assert_eq(in(RBR_THR), 12, "power-on divisor is 115200 baud");
	out(RBR_THR, 0x01);
	out(IER, 0x02);
	cr_assert_eq(in(RBR_THR), 0x01);
	cr_assert_eq(in(IER), 0x02);
	out(LCR, 0x03);

	cr_assert_eq(console_output(buf, sizeof(buf)), 0);
	cr_assert_eq(in(IER), 0, "DLM write must not reach IER");
	cr_assert_eq(eventfd_drain(irq_fd), 0);
}

Test(serial, ier_keeps_only_the_low_four_bits)
{
	/* Linux's autoconfig writes 0x0F and 0x00 and expects them back. */
	out(IER, 0x0f);
	cr_assert_eq(in(IER), 0x0f);
	out(IER, 0x00);
	cr_assert_eq(in(IER), 0x00);
	out(IER, 0xf5);
	cr_assert_eq(in(IER), 0x05);
}

Test(serial, no_interrupt_while_interrupts_are_disabled)
{
	out(RBR_THR, 'A');
	cr_assert_eq(eventfd_drain(irq_fd), 0);
	cr_assert_eq(in(IIR_FCR), IIR_NO_INT);
}

Test(serial, enabling_thri_raises_an_interrupt)
{
	out(IER, 0x02);
	cr_assert_geq(eventfd_drain(irq_fd), 1);
}

Test(serial, iir_reports_thri_once_then_no_interrupt)
{
	out(IER, 0x02);
	cr_assert_eq(in(IIR_FCR), IIR_THRI);
	cr_assert_eq(in(IIR_FCR), IIR_NO_INT);
}

Test(serial, thr_write_rearms_thri)
{
	out(IER, 0x02);
	(void)in(IIR_FCR);
	eventfd_drain(irq_fd);

	out(RBR_THR, 'A');
	cr_assert_geq(eventfd_drain(irq_fd), 1);
	cr_assert_eq(in(IIR_FCR), IIR_THRI);
}

Test(serial, msr_reports_carrier_and_ready_lines)
{
	cr_assert_eq(in(MSR), 0xb0);
}

Test(serial, loopback_mirrors_mcr_outputs_in_msr)
{
	out(MCR, 0x10 | 0x0a); /* LOOP | OUT2 | RTS */
	cr_assert_eq(in(MSR), 0x90);
}

Test(serial, loopback_returns_thr_bytes_on_rbr_instead_of_the_console)
{
	char buf[8];

	out(MCR, 0x10 | 0x0a);
	out(RBR_THR, 'x');
	cr_assert_eq(console_output(buf, sizeof(buf)), 0);
	cr_assert(in(LSR) & LSR_DR);
	cr_assert_eq(in(RBR_THR), 'x');
	cr_assert_not(in(LSR) & LSR_DR);
}

Test(serial, input_is_read_back_in_order_with_dr_set)
{
	cr_assert_not(in(LSR) & LSR_DR);
	input("hi");
	cr_assert(in(LSR) & LSR_DR);
	cr_assert_eq(in(RBR_THR), 'h');
	cr_assert_eq(in(RBR_THR), 'i');
	cr_assert_not(in(LSR) & LSR_DR);
}

Test(serial, input_raises_no_interrupt_without_rdi)
{
	input("x");
	cr_assert_eq(eventfd_drain(irq_fd), 0);
}

Test(serial, input_raises_an_interrupt_with_rdi)
{
	out(IER, 0x01);
	eventfd_drain(irq_fd);
	input("x");
	cr_assert_geq(eventfd_drain(irq_fd), 1);
	cr_assert_eq(in(IIR_FCR), IIR_RDI);
}

Test(serial, received_data_takes_priority_over_thri)
{
	out(IER, 0x03);
	input("x");
	cr_assert_eq(in(IIR_FCR), IIR_RDI);
	cr_assert_eq(in(RBR_THR), 'x');
	cr_assert_eq(in(IIR_FCR), IIR_THRI, "THRI is still pending once the FIFO is empty");
}

Test(serial, rx_fifo_accepts_no_more_than_its_capacity)
{
	uint8_t flood[SERIAL_RX_FIFO_SIZE + 10];

	memset(flood, 'z', sizeof(flood));
	cr_assert_eq(serial_input(&uart, flood, sizeof(flood)), SERIAL_RX_FIFO_SIZE);
	cr_assert_eq(serial_rx_space(&uart), 0);
	cr_assert_eq(serial_input(&uart, flood, 1), 0);
}

Test(serial, rx_space_counts_the_free_slots)
{
	cr_assert_eq(serial_rx_space(&uart), SERIAL_RX_FIFO_SIZE);
	input("hello");
	cr_assert_eq(serial_rx_space(&uart), SERIAL_RX_FIFO_SIZE - 5);
	(void)in(RBR_THR);
	cr_assert_eq(serial_rx_space(&uart), SERIAL_RX_FIFO_SIZE - 4);
}

Test(serial, draining_a_full_fifo_wakes_the_input_reader)
{
	uint8_t fill[SERIAL_RX_FIFO_SIZE];

	uart.rx_space_fd = test_eventfd();
	memset(fill, 'z', sizeof(fill));
	cr_assert_eq(serial_input(&uart, fill, sizeof(fill)), SERIAL_RX_FIFO_SIZE);
	(void)in(RBR_THR);
	cr_assert_eq(eventfd_drain(uart.rx_space_fd), 1);
	close(uart.rx_space_fd);
}

Test(serial, reading_from_a_fifo_that_is_not_full_does_not_wake_the_reader)
{
	uart.rx_space_fd = test_eventfd();
	input("ab");
	(void)in(RBR_THR);
	cr_assert_eq(eventfd_drain(uart.rx_space_fd), 0);
	close(uart.rx_space_fd);
}

Test(serial, fcr_bit1_clears_the_rx_fifo)
{
	input("hello");
	out(IIR_FCR, 0x01 | 0x02);
	cr_assert_not(in(LSR) & LSR_DR);
	cr_assert_eq(serial_rx_space(&uart), SERIAL_RX_FIFO_SIZE);
}

Test(serial, clearing_a_full_fifo_wakes_the_input_reader)
{
	/* Linux clears the FIFOs when a tty opens: input parked meanwhile must resume. */
	uint8_t fill[SERIAL_RX_FIFO_SIZE];

	uart.rx_space_fd = test_eventfd();
	memset(fill, 'z', sizeof(fill));
	cr_assert_eq(serial_input(&uart, fill, sizeof(fill)), SERIAL_RX_FIFO_SIZE);
	out(IIR_FCR, 0x01 | 0x02);
	cr_assert_eq(eventfd_drain(uart.rx_space_fd), 1);
	close(uart.rx_space_fd);
}

Test(serial, scratch_register_holds_a_byte)
{
	out(SCR, 0x5a);
	cr_assert_eq(in(SCR), 0x5a);
}

Test(serial, accesses_beyond_the_eight_registers_are_ignored)
{
	uint8_t wide[8];
	char buf[8];

	memset(wide, 0xee, sizeof(wide));
	serial_ops.read(&uart, 8, wide, 4);
	cr_assert_eq(wide[0] | wide[1] | wide[2] | wide[3], 0);
	serial_ops.read(&uart, UINT64_MAX, wide, 1);
	cr_assert_eq(wide[0], 0);
	out(8, 'A');
	out(UINT64_MAX, 'A');
	cr_assert_eq(console_output(buf, sizeof(buf)), 0);
}

/* ---- snapshots ---- */

/*
 * The UART holds LSR (THRE | TEMT: its transmitter is always empty) and MSR
 * (a modem with DCD, DSR and CTS up) at their power-on values for good;
 * data ready comes from the FIFO, and loopback's MSR from MCR, as they are
 * read. A saved state with any other value is one the UART never was in:
 * e.g. data ready with an empty FIFO, a guest waiting on a byte forever.
 */
Test(serial, restore_refuses_lsr_and_msr_values_the_uart_never_holds)
{
	static const uint8_t bad_lsr[] = { LSR_DR | LSR_THRE | LSR_TEMT, LSR_TEMT, 0x02, 0xff };
	static const uint8_t bad_msr[] = { 0x00, 0xb1, 0xf0, 0x30 };
	struct serial_state st, bad, after;

	serial_save(&uart, &st);
	cr_assert_eq(serial_restore(&uart, &st), 0, "the power-on state restores");
	for (unsigned int i = 0; i < 4; i++) {
		bad = st;
		bad.lsr = bad_lsr[i];
		cr_assert_eq(serial_restore(&uart, &bad), -EINVAL, "LSR 0x%02x accepted", bad_lsr[i]);
		bad = st;
		bad.msr = bad_msr[i];
		cr_assert_eq(serial_restore(&uart, &bad), -EINVAL, "MSR 0x%02x accepted", bad_msr[i]);
	}
	serial_save(&uart, &after);
	cr_assert_eq(memcmp(&st, &after, sizeof(st)), 0, "a refused state changes nothing");
	cr_assert_eq(in(LSR), LSR_THRE | LSR_TEMT, "no data ready with an empty FIFO");
}

Test(serial, restore_keeps_data_ready_coming_from_the_fifo)
{
	struct serial_state st;

	serial_input(&uart, (const uint8_t *)"ab", 2);
	out(MCR, 0x18); /* loopback: MSR now mirrors MCR's outputs */
	serial_save(&uart, &st);
	cr_assert_eq(serial_restore(&uart, &st), 0);
	cr_assert_eq(in(LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	cr_assert_eq(in(MSR), 0x80, "OUT2 looped back to DCD");
}
