/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The i8042's saved form (snapshots): plain data, for the controller and
 * the snapshot schema alike.
 */
#ifndef IGNIS_I8042_STATE_H
#define IGNIS_I8042_STATE_H

#include <stdint.h>

#define I8042_BUF_SIZE 16

/* Serialisable controller state for snapshots: the output buffer oldest byte first. */
struct i8042_state {
	uint8_t ctr, outp, pending_cmd;
	uint8_t count;
	uint8_t buf[I8042_BUF_SIZE];
};

#endif
