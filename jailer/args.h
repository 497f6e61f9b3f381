/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ignis-jailer's command line: Firecracker's jailer flags, parsed and
 * validated without touching the system (args_parse), plus the one check
 * that needs the file system (args_resolve_exec_file).
 */
#ifndef IGNIS_JAILER_ARGS_H
#define IGNIS_JAILER_ARGS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JAILER_ID_MAX 64
#define JAILER_DEFAULT_CHROOT_BASE "/srv/jailer"
#define JAILER_DEFAULT_NO_FILE 2048

/* One --cgroup <file>=<value>, split at the first '='. */
struct cgroup_setting {
	char *file;
	char *value;
};

struct jailer_args {
	const char *id;
	const char *exec_file;		/* as given; see args_resolve_exec_file */
	uid_t uid;
	gid_t gid;
	const char *chroot_base;	/* default JAILER_DEFAULT_CHROOT_BASE */
	const char *netns;		/* NULL: stay in the caller's netns */
	int cgroup_version;		/* 1 (default) or 2 */
	const char *parent_cgroup;	/* NULL: the exec file's name */
	struct cgroup_setting *cgroups;
	size_t n_cgroups;
	bool has_fsize;
	uint64_t fsize;
	uint64_t no_file;		/* default JAILER_DEFAULT_NO_FILE */
	bool daemonize;
	bool new_pid_ns;
	bool version;
	bool help;
	char *const *extra_args;	/* everything after "--", for the exec file */
	size_t n_extra_args;
};

/*
 * Parses and validates argv (argv[0] is the program name). On error returns
 * -EINVAL with a one-line reason a person can act on in err. --version and
 * --help skip the checks for required flags. Free with args_free().
 */
int args_parse(struct jailer_args *args, int argc, char *const argv[],
	       char *err, size_t errlen);
void args_free(struct jailer_args *args);

/* The exec file's resolved path and its file name (which names the jail). */
struct exec_file {
	char path[PATH_MAX];
	const char *name;		/* points into path */
};

/*
 * Canonicalises path (symlinks resolved) and checks it is a regular file.
 * Returns 0, or -errno with the reason in err.
 */
int args_resolve_exec_file(const char *path, struct exec_file *exec,
			   char *err, size_t errlen);

/* Instance id rule shared with Firecracker: 1..64 of [A-Za-z0-9-]. */
bool args_valid_id(const char *id);

#endif
