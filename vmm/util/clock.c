/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/util/clock.h"

#include <time.h>

uint64_t clock_us(int clock_id)
{
	struct timespec ts;

	clock_gettime((clockid_t)clock_id, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
