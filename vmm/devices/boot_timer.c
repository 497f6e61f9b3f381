/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/devices/boot_timer.h"

#include <time.h>

#include "vmm/util/clock.h"
#include "vmm/util/log.h"

static void boot_timer_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	const struct boot_timer *bt = opaque;
	uint64_t wall, cpu;

	(void)len;
	if (offset != 0 || data[0] != BOOT_TIMER_MAGIC)
		return;
	wall = clock_us(CLOCK_MONOTONIC) - bt->start_wall_us;
	cpu = clock_us(CLOCK_PROCESS_CPUTIME_ID) - bt->start_cpu_us;
	pr_info("Guest-boot-time = %6llu us %llu ms, %6llu CPU us %llu CPU ms",
		(unsigned long long)wall, (unsigned long long)(wall / 1000),
		(unsigned long long)cpu, (unsigned long long)(cpu / 1000));
}

const struct bus_device_ops boot_timer_ops = {
	.read = NULL,
	.write = boot_timer_write,
};
