/* SPDX-License-Identifier: Apache-2.0 */
#include "jailer/exec.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "jailer/log.h"

static uint64_t clock_us(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void timing_start(struct timing *t)
{
	t->start_us = clock_us(CLOCK_MONOTONIC);
	t->start_cpu_us = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	t->parent_cpu_us = 0;
}

uint64_t timing_cpu_now_us(void)
{
	return clock_us(CLOCK_PROCESS_CPUTIME_ID);
}

void timing_forked(struct timing *t, uint64_t cpu_at_fork)
{
	if (cpu_at_fork > t->start_cpu_us)
		t->parent_cpu_us += cpu_at_fork - t->start_cpu_us;
	t->start_cpu_us = 0;
}

int exec_jailed(const char *exec_name, const char *id, const struct timing *t,
		char *const *extra, size_t n_extra)
{
	char path[NAME_MAX + 2], start[24], start_cpu[24], parent_cpu[24];
	char *const envp[] = { NULL };
	const char **argv;
	size_t n = 0;
	int ret;

	if (snprintf(path, sizeof(path), "/%s", exec_name) >= (int)sizeof(path)) {
		pr_err("exec", ENAMETOOLONG, "/%s", exec_name);
		return -ENAMETOOLONG;
	}
	snprintf(start, sizeof(start), "%llu", (unsigned long long)t->start_us);
	snprintf(start_cpu, sizeof(start_cpu), "%llu", (unsigned long long)t->start_cpu_us);
	snprintf(parent_cpu, sizeof(parent_cpu), "%llu", (unsigned long long)t->parent_cpu_us);

	argv = calloc(9 + n_extra + 1, sizeof(*argv));
	if (!argv) {
		pr_err("exec", ENOMEM, "%s", path);
		return -ENOMEM;
	}
	argv[n++] = path;
	argv[n++] = "--id";
	argv[n++] = id;
	argv[n++] = "--start-time-us";
	argv[n++] = start;
	argv[n++] = "--start-time-cpu-us";
	argv[n++] = start_cpu;
	argv[n++] = "--parent-cpu-time-us";
	argv[n++] = parent_cpu;
	for (size_t i = 0; i < n_extra; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	execve(path, (char *const *)argv, envp);
	ret = -errno;
	/* ENOENT for a file that is there: its loader or libraries are not in the jail. */
	pr_err("exec", ret, "%s%s", path,
	       ret == -ENOENT && !access(path, F_OK) ?
	       " (its ELF interpreter is missing: a dynamically linked binary needs its "
	       "loader and libraries inside the jail)" : "");
	free(argv);
	return ret;
}
