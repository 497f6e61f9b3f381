/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by the unit tests. */
#ifndef IGNIS_TEST_HELPERS_H
#define IGNIS_TEST_HELPERS_H

#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "vmm/kvm/bus.h"

/* Asserts a 0/-errno call failed with @code and an err_buf that names @needle. */
#define cr_assert_fails_with(ret, code, err, needle)                                        \
	do {                                                                                \
		int ret_ = (ret);                                                           \
		cr_assert_eq(ret_, (code), "returned %d, expected %d", ret_, (code));       \
		cr_assert_neq((err).msg[0], '\0', "no error message");                     \
		cr_assert_not_null(strstr((err).msg, (needle)),                             \
				   "message \"%s\" does not mention \"%s\"", (err).msg,     \
				   (needle));                                               \
	} while (0)

static inline int test_eventfd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	cr_assert_geq(fd, 0, "eventfd");
	return fd;
}

/* How many times @fd was signalled since the last call (0: never). */
static inline uint64_t eventfd_drain(int fd)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 0;
	return n;
}

/* One-byte register accesses, as a vCPU's IN/OUT would make them through the bus. */
static inline uint8_t port_read8(const struct bus_device_ops *ops, void *dev, uint64_t offset)
{
	uint8_t v;

	ops->read(dev, offset, &v, 1);
	return v;
}

static inline void port_write8(const struct bus_device_ops *ops, void *dev, uint64_t offset,
			       uint8_t v)
{
	ops->write(dev, offset, &v, 1);
}

#endif
