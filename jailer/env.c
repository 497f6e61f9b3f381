/* SPDX-License-Identifier: Apache-2.0 */
#include "jailer/env.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

/* Fallback 1: walk /proc/self/fd (exact, but needs /proc). */
static int close_listed_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int self;

	if (!dir)
		return -errno;
	self = dirfd(dir);
	/*
	 * Closing while iterating is safe for /proc/self/fd: readdir only
	 * moves forward by fd number.
	 */
	while ((de = readdir(dir))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end || end == de->d_name || fd <= 2 || fd == self)
			continue;
		close((int)fd);
	}
	closedir(dir);
	return 0;
}

/* Fallback 2: close every possible fd up to the hard limit. */
static int close_all_fds(void)
{
	struct rlimit rl;
	rlim_t max = 65536;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_max != RLIM_INFINITY)
		max = rl.rlim_max;
	for (rlim_t fd = 3; fd < max && fd <= INT_MAX; fd++)
		close((int)fd);
	return 0;
}

int env_close_inherited_fds(void)
{
	/*
	 * close_range (5.9) closes them all in one call; CLOSE_RANGE_UNSHARE
	 * first gives this process its own fd table, so a CLONE_FILES sibling
	 * cannot keep a descriptor alive in ours. Older kernels: fall back.
	 */
	if (!syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_UNSHARE))
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -errno;
	if (!close_listed_fds())
		return 0;
	return close_all_fds();
}

int env_clear(void)
{
	return clearenv() ? -ENOMEM : 0;
}
