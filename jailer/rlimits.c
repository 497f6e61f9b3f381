/* SPDX-License-Identifier: Apache-2.0 */
#include "jailer/rlimits.h"

#include <errno.h>
#include <sys/resource.h>

#include "jailer/log.h"

static int set_limit(int resource, const char *name, uint64_t value)
{
	struct rlimit rl = { .rlim_cur = (rlim_t)value, .rlim_max = (rlim_t)value };
	int ret;

	if (!setrlimit(resource, &rl))
		return 0;
	ret = -errno;
	/* Raising a hard limit takes CAP_SYS_RESOURCE; say what the ceiling is. */
	if (ret == -EPERM && !getrlimit(resource, &rl))
		pr_err("resource-limit", ret, "%s=%llu (above the hard limit %llu)", name,
		       (unsigned long long)value, (unsigned long long)rl.rlim_max);
	else
		pr_err("resource-limit", ret, "%s=%llu", name, (unsigned long long)value);
	return ret;
}

int rlimits_apply(uint64_t no_file, bool has_fsize, uint64_t fsize)
{
	int ret = 0;

	if (has_fsize)
		ret = set_limit(RLIMIT_FSIZE, "fsize", fsize);
	if (!ret)
		ret = set_limit(RLIMIT_NOFILE, "no-file", no_file);
	return ret;
}
