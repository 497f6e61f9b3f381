/* SPDX-License-Identifier: Apache-2.0 */
/* --netns: join a network namespace (e.g. /var/run/netns/<name>). */
#ifndef IGNIS_JAILER_NETNS_H
#define IGNIS_JAILER_NETNS_H

/* Returns 0 or -errno. */
int netns_join(const char *path);

#endif
