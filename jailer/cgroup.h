/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Creating and joining the jail's cgroup (--cgroup, --cgroup-version,
 * --parent-cgroup): <mount>/<parent>/<id> for every hierarchy a --cgroup
 * file needs, values written, then the process moved in.
 */
#ifndef IGNIS_JAILER_CGROUP_H
#define IGNIS_JAILER_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "jailer/args.h"

struct cgroup_request {
	int version;			/* 1 or 2 */
	const char *parent;		/* relative path below the mount */
	bool parent_given;		/* --parent-cgroup was on the command line */
	const char *id;
	const struct cgroup_setting *settings;
	size_t n_settings;
	pid_t pid;
	const char *proc_mounts;	/* normally "/proc/mounts" */
};

/*
 * Does the whole cgroup step. On failure, reports it, removes the cgroup
 * directories this call created (they are still empty then: the process
 * joins last) and returns -errno. Directories that already exist are
 * reused, so a rerun after any failure is not stopped by a leftover.
 */
int cgroup_apply(const struct cgroup_request *req);

#endif
