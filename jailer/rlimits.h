/* SPDX-License-Identifier: Apache-2.0 */
/* --resource-limit: RLIMIT_FSIZE and RLIMIT_NOFILE for the jailed process. */
#ifndef IGNIS_JAILER_RLIMITS_H
#define IGNIS_JAILER_RLIMITS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Sets soft and hard limit alike (as Firecracker does, so the jailed
 * process cannot raise them again). Returns 0 or -errno.
 */
int rlimits_apply(uint64_t no_file, bool has_fsize, uint64_t fsize);

#endif
