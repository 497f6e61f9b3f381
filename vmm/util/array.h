/* SPDX-License-Identifier: Apache-2.0 */
/* The element count of an array (not a pointer). */
#ifndef IGNIS_ARRAY_H
#define IGNIS_ARRAY_H

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
