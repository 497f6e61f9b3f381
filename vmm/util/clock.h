/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the clocks the VMM reports times against. */
#ifndef IGNIS_CLOCK_H
#define IGNIS_CLOCK_H

#include <stdint.h>

/* @clock_id's time in microseconds (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, ...). */
uint64_t clock_us(int clock_id);

#endif
