/* SPDX-License-Identifier: Apache-2.0 */
#include "jailer/chroot.h"

#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jailer/log.h"

#define STEP "jail"
#define OLD_ROOT "old_root"

int chroot_enter(struct jail *j)
{
	int ret;

	if (unshare(CLONE_NEWNS)) {
		ret = -errno;
		pr_err(STEP, ret, "unshare(CLONE_NEWNS)");
		return ret;
	}
	/*
	 * Slave, recursively: host mount events still reach us, but nothing we
	 * mount or unmount here propagates back to the host (pivot_root also
	 * refuses a shared root). Firecracker's code does MS_SLAVE.
	 */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL)) {
		ret = -errno;
		pr_err(STEP, ret, "make / a recursive slave mount");
		return ret;
	}
	/* pivot_root needs the new root to be a mount point: bind it onto itself. */
	if (mount(j->chroot_dir, j->chroot_dir, NULL, MS_BIND | MS_REC, NULL)) {
		ret = -errno;
		pr_err(STEP, ret, "bind-mount %s onto itself", j->chroot_dir);
		return ret;
	}
	if (chdir(j->chroot_dir)) {
		ret = -errno;
		pr_err(STEP, ret, "chdir %s", j->chroot_dir);
		return ret;
	}
	/* A leftover old_root from a run killed mid-way is reused. */
	if (mkdir(OLD_ROOT, 0700)) {
		if (errno != EEXIST) {
			ret = -errno;
			pr_err(STEP, ret, "mkdir %s/%s", j->chroot_dir, OLD_ROOT);
			return ret;
		}
	} else {
		ret = jail_track(j, "/" OLD_ROOT, true);
		if (ret)
			return ret;
	}
	if (syscall(SYS_pivot_root, ".", OLD_ROOT)) {
		ret = -errno;
		pr_err(STEP, ret, "pivot_root into %s", j->chroot_dir);
		return ret;
	}
	/* From here on the jail's paths are relative to its new "/". */
	j->entered = true;
	if (chdir("/")) {
		ret = -errno;
		pr_err(STEP, ret, "chdir / in the jail");
		return ret;
	}
	/* Detach: host mounts below old_root may be busy; none stay reachable. */
	if (umount2(OLD_ROOT, MNT_DETACH)) {
		ret = -errno;
		pr_err(STEP, ret, "unmount the old root");
		return ret;
	}
	if (rmdir(OLD_ROOT)) {
		ret = -errno;
		pr_err(STEP, ret, "rmdir /%s", OLD_ROOT);
		return ret;
	}
	return 0;
}
