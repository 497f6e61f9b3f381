/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jail on disk: <base>/<exec-name>/<id>/root holding the copy of the
 * exec file, the pid file, /dev (kvm, net/tun, urandom, userfaultfd) and
 * /run, all owned by the jail's uid:gid. It also remembers what this run
 * created so a failed run can take it away again (jail_undo).
 */
#ifndef IGNIS_JAILER_JAIL_H
#define IGNIS_JAILER_JAIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "jailer/args.h"

#define JAIL_MAX_CREATED 16

struct jail {
	char base_dir[PATH_MAX];	/* canonical --chroot-base-dir ("" for "/") */
	char id[JAILER_ID_MAX + 1];
	char chroot_dir[PATH_MAX];	/* <base>/<exec-name>/<id>/root, host view */
	char exec_name[NAME_MAX + 1];
	uid_t uid;
	gid_t gid;
	bool entered;			/* after pivot_root "/" is chroot_dir */
	/* Made by this run, relative to the jail root, in creation order. */
	struct {
		char path[NAME_MAX + 8];
		bool is_dir;
	} created[JAIL_MAX_CREATED];
	size_t n_created;
	/* Host directories made by this run: <base>/<exec>/<id>, .../root. */
	char host_dirs[2][PATH_MAX];
	size_t n_host_dirs;
};

/*
 * Fills in the jail's paths (base is created if missing, then
 * canonicalised) and does nothing else. Returns 0 or -errno.
 */
int jail_init(struct jail *j, const char *base, const char *exec_name,
	      const char *id, uid_t uid, gid_t gid);

/*
 * Creates the chroot dir and copies the exec file into it (never a hard
 * link; a destination that exists is refused: "jail already exists").
 */
int jail_create(struct jail *j, const char *exec_path);

/* Records something created inside the jail (path relative to its root). */
int jail_track(struct jail *j, const char *rel, bool is_dir);

/*
 * Inside the jail (after chroot_enter): "/" itself, /dev, /dev/net and /run
 * as 0700 uid:gid, then the device nodes. userfaultfd_minor < 0 skips
 * /dev/userfaultfd.
 */
int jail_populate(struct jail *j, int userfaultfd_minor);

/* Writes pid to /<exec-name>.pid (inside the jail). */
int jail_write_pid_file(struct jail *j, pid_t pid);

/*
 * Removes, best effort and in reverse order, what this run created in the
 * jail, whether or not the jail was entered yet. The chroot dir itself can
 * only go before entering (after, it is this mount namespace's root); an
 * empty one left behind does not stop a rerun.
 */
void jail_undo(struct jail *j);

/* The minor number /proc/misc lists for name, or -ENOENT. */
int jail_misc_minor(const char *proc_misc, const char *name);

#endif
