/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libseccomp's <seccomp.h>. Our own seccomp.h sits in a directory on the
 * include path and shadows it, so this header (included as <libseccomp.h>,
 * found in that same directory) asks for the next one along the path.
 */
#ifndef IGNIS_LIBSECCOMP_H
#define IGNIS_LIBSECCOMP_H

#include_next <seccomp.h>

#endif
