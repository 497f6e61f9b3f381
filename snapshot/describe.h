/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ignis --describe-snapshot FILE`: the format version of a state file and
 * a summary of what it holds, for people and scripts (one "key: value" per
 * line). Pure: reads the file, checks it as a load would, prints.
 */
#ifndef IGNIS_SNAPSHOT_DESCRIBE_H
#define IGNIS_SNAPSHOT_DESCRIBE_H

#include <stdio.h>

#include "snapshot/state.h"
#include "vmm/util/error.h"

/* Prints @st (read from a file of format @major.@minor) to @out. */
void snapshot_describe_state(FILE *out, const struct snapshot_state *st, unsigned int major,
			     unsigned int minor);

/*
 * Reads and checks @path and prints its summary. On a refusal nothing is
 * printed and @err says why (the messages of snapshot_file_read / decode).
 */
int snapshot_describe(FILE *out, const char *path, struct err_buf *err);

#endif
