/* SPDX-License-Identifier: Apache-2.0 */
#include "jailer/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "jailer/log.h"

int netns_join(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0) {
		ret = -errno;
		pr_err("netns", ret, "open %s", path);
		return ret;
	}
	/* CLONE_NEWNET makes setns check that fd really is a network namespace. */
	if (setns(fd, CLONE_NEWNET)) {
		ret = -errno;
		pr_err("netns", ret, "setns %s%s", path,
		       ret == -EINVAL ? " (not a network namespace)" : "");
	}
	close(fd);
	return ret;
}
