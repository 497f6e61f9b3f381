/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entering the jail: a private mount namespace whose root is the chroot
 * dir (pivot_root, not chroot(2): the old root is unmounted, not merely
 * out of reach, so there is nothing to escape back to).
 */
#ifndef IGNIS_JAILER_CHROOT_H
#define IGNIS_JAILER_CHROOT_H

#include "jailer/jail.h"

/* Returns 0 with "/" = j->chroot_dir and j->entered set, or -errno. */
int chroot_enter(struct jail *j);

#endif
