/* SPDX-License-Identifier: Apache-2.0 */
#include "jailer/privileges.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "jailer/log.h"

#define STEP "privileges"

/* Reads the bounding set back from the kernel: every cap it knows must be gone. */
static int bounding_set_is_empty(void)
{
	for (int cap = 0; ; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (r < 0)
			return errno == EINVAL ? 1 : -errno;	/* EINVAL: past the last cap */
		if (r > 0)
			return 0;
	}
}

int privileges_drop(uid_t uid, gid_t gid)
{
	int ret;

	capng_clear(CAPNG_SELECT_ALL);
	/*
	 * The bounding set first: dropping from it (PR_CAPBSET_DROP) needs
	 * CAP_SETPCAP, which the uid change below takes away.
	 */
	if (capng_apply(CAPNG_SELECT_BOUNDS)) {
		pr_err(STEP, EPERM, "clear the capability bounding set (needs CAP_SETPCAP)");
		return -EPERM;
	}
	if (setgroups(0, NULL)) {
		ret = -errno;
		pr_err(STEP, ret, "drop supplementary groups");
		return ret;
	}
	if (setresgid(gid, gid, gid)) {
		ret = -errno;
		pr_err(STEP, ret, "setresgid %u", gid);
		return ret;
	}
	if (setresuid(uid, uid, uid)) {
		ret = -errno;
		pr_err(STEP, ret, "setresuid %u", uid);
		return ret;
	}
	/*
	 * A change to a non-zero uid already empties the permitted and effective
	 * sets; uid 0 keeps them, so clear explicitly either way (and the
	 * inheritable and ambient sets with them).
	 */
	if (capng_apply(CAPNG_SELECT_CAPS)) {
		ret = errno ? -errno : -EPERM;
		pr_err(STEP, ret, "clear the capability sets");
		return ret;
	}
	if (capng_apply(CAPNG_SELECT_AMBIENT)) {
		ret = errno ? -errno : -EPERM;
		pr_err(STEP, ret, "clear the ambient capability set");
		return ret;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		ret = -errno;
		pr_err(STEP, ret, "prctl(PR_SET_NO_NEW_PRIVS)");
		return ret;
	}

	/* Trust, but verify: exec'ing with any capability left is worse than failing. */
	if (capng_get_caps_process() ||
	    capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE) {
		pr_err(STEP, EPERM, "capabilities remain after clearing them");
		return -EPERM;
	}
	ret = bounding_set_is_empty();
	if (ret <= 0) {
		ret = ret ? ret : -EPERM;
		pr_err(STEP, ret, "capabilities remain in the bounding set");
		return ret;
	}
	if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid) {
		pr_err(STEP, EPERM, "ids are not %u:%u after the change", uid, gid);
		return -EPERM;
	}
	return 0;
}
