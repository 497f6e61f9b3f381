/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the cgroup hierarchies are: parsing /proc/mounts and building the
 * jail's cgroup paths. Pure string work, no cgroup file system access, so
 * it is unit-tested against canned /proc/mounts text.
 */
#ifndef IGNIS_JAILER_CGROUP_MOUNTS_H
#define IGNIS_JAILER_CGROUP_MOUNTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CGROUP_V1_MAX 32

struct cgroup_v1_mount {
	char path[PATH_MAX];
	char options[256];	/* super options, e.g. "rw,relatime,cpu,cpuacct" */
};

struct cgroup_mounts {
	bool has_v2;
	char v2[PATH_MAX];	/* first cgroup2 mount point */
	size_t n_v1;
	struct cgroup_v1_mount v1[CGROUP_V1_MAX];
};

/*
 * Reads /proc/mounts-format text (octal escapes such as \040 decoded).
 * Returns 0 or -errno (-E2BIG if more than CGROUP_V1_MAX v1 mounts).
 */
int cgroup_mounts_parse(struct cgroup_mounts *m, FILE *mounts);

/*
 * The v1 mount point that carries controller (an exact option token:
 * "cpu" does not match "cpuset", "systemd" does not match
 * "name=systemd"), or NULL.
 */
const char *cgroup_mounts_v1_find(const struct cgroup_mounts *m,
				  const char *controller);

/* True if a comma-separated option list holds token exactly. */
bool cgroup_option_has(const char *options, const char *token);

/*
 * The controller a cgroup file belongs to: the text before the first '.'
 * ("cpuset.cpus" -> "cpuset"). Returns 0, or -EINVAL if there is none.
 */
int cgroup_controller(const char *file, char *out, size_t outlen);

/* True for files of the cgroup core ("cgroup.*"), which no controller owns. */
bool cgroup_is_core_file(const char *file);

/*
 * <mount>/<parent>/<id>, or <mount>/<parent> if id is NULL. Returns 0, or
 * -ENAMETOOLONG.
 */
int cgroup_path(char *out, size_t outlen, const char *mount, const char *parent,
		const char *id);

/*
 * True if the space- or newline-separated list (cgroup.controllers,
 * cgroup.subtree_control) holds name.
 */
bool cgroup_list_has(const char *list, const char *name);

#endif
