/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The last step before exec: become uid:gid with no supplementary groups,
 * no capabilities in any set (effective, permitted, inheritable, ambient,
 * bounding) and no_new_privs, so nothing the jailed process execs can gain
 * privileges back.
 */
#ifndef IGNIS_JAILER_PRIVILEGES_H
#define IGNIS_JAILER_PRIVILEGES_H

#include <sys/types.h>

/* Returns 0 or -errno; on failure the process must not exec. */
int privileges_drop(uid_t uid, gid_t gid);

#endif
