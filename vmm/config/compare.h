/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whether two configurations build the same microVM: the same machine and
 * the same devices on the same host resources. A pre-warmed process
 * (--prewarm) built its microVM from one snapshot's configuration and can
 * take a later load only of a snapshot whose configuration matches it.
 */
#ifndef IGNIS_CONFIG_COMPARE_H
#define IGNIS_CONFIG_COMPARE_H

#include <stddef.h>

#include "vmm/config/config.h"

/*
 * 0 if @a and @b give the same machine (vCPUs, memory, SMT, huge pages,
 * dirty tracking) with the same drives and network interfaces, in order;
 * else -1 with the first difference in @why ("drive rootfs: path_on_host
 * /a here, /b in the pre-warmed microVM"), @a being the new one. The boot
 * source and serial are not compared: a restore uses neither.
 */
int vm_config_compare(const struct vm_config *a, const struct vm_config *b, char *why,
		      size_t len);

#endif
