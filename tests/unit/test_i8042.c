/* SPDX-License-Identifier: Apache-2.0 */
/* The i8042 controller: enough for Linux to probe it, and the reset line. */
#include <stdint.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/unit/helpers.h"
#include "vmm/devices/i8042.h"

#define DATA 0   /* port 0x60 */
#define STATUS 4 /* port 0x64: status on read, command on write */
#define STATUS_OBF 0x01

static struct i8042 kbc;
static int irq_fd, reset_fd;

static void kbc_setup(void)
{
	irq_fd = test_eventfd();
	reset_fd = test_eventfd();
	cr_assert_eq(i8042_init(&kbc, irq_fd, reset_fd), 0);
}

static void kbc_teardown(void)
{
	i8042_destroy(&kbc);
	close(irq_fd);
	close(reset_fd);
}

TestSuite(i8042, .init = kbc_setup, .fini = kbc_teardown);

static uint8_t in(uint64_t port)
{
	return port_read8(&i8042_ops, &kbc, port);
}

static void out(uint64_t port, uint8_t v)
{
	port_write8(&i8042_ops, &kbc, port, v);
}

Test(i8042, command_0xfe_signals_a_cpu_reset)
{
	out(STATUS, 0xfe);
	cr_assert_eq(eventfd_drain(reset_fd), 1);
}

Test(i8042, other_commands_do_not_reset)
{
	out(STATUS, 0x20);
	out(STATUS, 0xaa);
	out(DATA, 0xfe);
	cr_assert_eq(eventfd_drain(reset_fd), 0);
}

Test(i8042, output_buffer_full_follows_the_buffer)
{
	cr_assert_not(in(STATUS) & STATUS_OBF);
	out(STATUS, 0x20);
	cr_assert(in(STATUS) & STATUS_OBF);
	(void)in(DATA);
	cr_assert_not(in(STATUS) & STATUS_OBF);
}

Test(i8042, status_reports_a_passed_self_test_and_an_unlocked_keyboard)
{
	cr_assert_eq(in(STATUS) & 0x14, 0x14);
}

Test(i8042, read_ctr_returns_the_command_byte)
{
	out(STATUS, 0x20);
	cr_assert_eq(in(DATA), 0x05, "power-on CTR: keyboard interrupt and system flag");
}

Test(i8042, write_ctr_takes_the_next_data_byte)
{
	out(STATUS, 0x60);
	out(DATA, 0x47);
	cr_assert_not(in(STATUS) & STATUS_OBF, "the CTR byte is not acknowledged");
	out(STATUS, 0x20);
	cr_assert_eq(in(DATA), 0x47);
}

Test(i8042, self_test_passes)
{
	out(STATUS, 0xaa);
	cr_assert_eq(in(DATA), 0x55);
}

Test(i8042, keyboard_bytes_are_acknowledged)
{
	out(DATA, 0xf4); /* enable scanning */
	cr_assert_eq(in(DATA), 0xfa);
	cr_assert_not(in(STATUS) & STATUS_OBF);
}

Test(i8042, keyboard_reset_is_acknowledged_and_passes)
{
	out(DATA, 0xff);
	cr_assert_eq(in(DATA), 0xfa);
	cr_assert_eq(in(DATA), 0xaa);
}

Test(i8042, output_raises_irq1_while_keyboard_interrupts_are_enabled)
{
	out(STATUS, 0xaa);
	cr_assert_eq(eventfd_drain(irq_fd), 1);
}

Test(i8042, output_raises_no_irq_with_keyboard_interrupts_disabled)
{
	out(STATUS, 0x60);
	out(DATA, 0x00);
	out(STATUS, 0xaa);
	cr_assert_eq(eventfd_drain(irq_fd), 0);
}
