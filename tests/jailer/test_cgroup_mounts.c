/* SPDX-License-Identifier: Apache-2.0 */
/* Finding cgroup hierarchies in /proc/mounts and building the jail's paths. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jailer/cgroup_mounts.h"

/* This machine's layout: v1 controllers, a named hierarchy, cgroup2 aside. */
static const char hybrid[] =
	"sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
	"tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
	"cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
	"cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0\n"
	"cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0\n"
	"cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
	"cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0\n"
	"cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0\n"
	"cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";

static struct cgroup_mounts *parse(const char *text)
{
	struct cgroup_mounts *m = calloc(1, sizeof(*m));
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	cr_assert_not_null(m);
	cr_assert_not_null(f);
	cr_assert_eq(cgroup_mounts_parse(m, f), 0);
	fclose(f);
	return m;
}

Test(cgroup_mounts, finds_each_v1_controller_and_the_v2_mount)
{
	struct cgroup_mounts *m = parse(hybrid);

	cr_assert_eq(m->n_v1, 6);
	cr_assert(m->has_v2);
	cr_assert_str_eq(m->v2, "/sys/fs/cgroup/unified");
	cr_assert_str_eq(cgroup_mounts_v1_find(m, "pids"), "/sys/fs/cgroup/pids");
	cr_assert_str_eq(cgroup_mounts_v1_find(m, "memory"), "/sys/fs/cgroup/memory");
	cr_assert_str_eq(cgroup_mounts_v1_find(m, "cpuset"), "/sys/fs/cgroup/cpuset");
	free(m);
}

Test(cgroup_mounts, controller_match_is_a_whole_option)
{
	struct cgroup_mounts *m = parse(hybrid);

	/* "cpu" must not match the cpuset or cpuacct hierarchies, nor vice versa. */
	cr_assert_str_eq(cgroup_mounts_v1_find(m, "cpu"), "/sys/fs/cgroup/cpu");
	cr_assert_null(cgroup_mounts_v1_find(m, "systemd"));
	cr_assert_null(cgroup_mounts_v1_find(m, "hugetlb"));
	cr_assert_null(cgroup_mounts_v1_find(m, "rw,relatime"));
	cr_assert_null(cgroup_mounts_v1_find(m, ""));
	free(m);
}

Test(cgroup_mounts, co_mounted_controllers_share_a_hierarchy)
{
	struct cgroup_mounts *m = parse(
		"cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0\n"
		"cgroup /sys/fs/cgroup/net_cls,net_prio cgroup rw,net_cls,net_prio 0 0\n");

	cr_assert_str_eq(cgroup_mounts_v1_find(m, "cpu"), "/sys/fs/cgroup/cpu,cpuacct");
	cr_assert_str_eq(cgroup_mounts_v1_find(m, "cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
	cr_assert_str_eq(cgroup_mounts_v1_find(m, "net_prio"), "/sys/fs/cgroup/net_cls,net_prio");
	cr_assert_not(m->has_v2);
	free(m);
}

Test(cgroup_mounts, pure_v2_host_has_no_v1_hierarchy)
{
	struct cgroup_mounts *m = parse(
		"cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n");

	cr_assert(m->has_v2);
	cr_assert_str_eq(m->v2, "/sys/fs/cgroup");
	cr_assert_eq(m->n_v1, 0);
	cr_assert_null(cgroup_mounts_v1_find(m, "pids"));
	free(m);
}

Test(cgroup_mounts, octal_escapes_in_mount_points_are_decoded)
{
	struct cgroup_mounts *m = parse(
		"cgroup2 /mnt/my\\040cgroups cgroup2 rw 0 0\n"
		"cgroup /mnt/back\\134slash cgroup rw,pids 0 0\n");

	cr_assert_str_eq(m->v2, "/mnt/my cgroups");
	cr_assert_str_eq(cgroup_mounts_v1_find(m, "pids"), "/mnt/back\\slash");
	free(m);
}

Test(cgroup_mounts, first_cgroup2_mount_wins_and_junk_lines_are_skipped)
{
	struct cgroup_mounts *m = parse(
		"garbage\n"
		"\n"
		"cgroup2 /first cgroup2 rw 0 0\n"
		"cgroup2 /second cgroup2 rw 0 0\n");

	cr_assert_str_eq(m->v2, "/first");
	free(m);
}

Test(cgroup_mounts, too_many_v1_mounts_is_an_error)
{
	char *text = calloc(CGROUP_V1_MAX + 2, 64);
	struct cgroup_mounts *m = calloc(1, sizeof(*m));
	FILE *f;

	for (int i = 0; i < CGROUP_V1_MAX + 1; i++)
		sprintf(text + strlen(text), "cgroup /c%d cgroup rw,c%d 0 0\n", i, i);
	f = fmemopen(text, strlen(text), "r");
	cr_assert_eq(cgroup_mounts_parse(m, f), -E2BIG);
	fclose(f);
	free(m);
	free(text);
}

Test(cgroup_mounts, controller_is_the_text_before_the_first_dot)
{
	char ctrl[32];

	cr_assert_eq(cgroup_controller("cpuset.cpus", ctrl, sizeof(ctrl)), 0);
	cr_assert_str_eq(ctrl, "cpuset");
	cr_assert_eq(cgroup_controller("hugetlb.2MB.max", ctrl, sizeof(ctrl)), 0);
	cr_assert_str_eq(ctrl, "hugetlb");
	cr_assert_eq(cgroup_controller("memory.limit_in_bytes", ctrl, sizeof(ctrl)), 0);
	cr_assert_str_eq(ctrl, "memory");
	cr_assert_eq(cgroup_controller("cpusetcpus", ctrl, sizeof(ctrl)), -EINVAL);
	cr_assert_eq(cgroup_controller(".cpus", ctrl, sizeof(ctrl)), -EINVAL);
	cr_assert_eq(cgroup_controller("cpuset.", ctrl, sizeof(ctrl)), -EINVAL);
	cr_assert_eq(cgroup_controller("", ctrl, sizeof(ctrl)), -EINVAL);
	cr_assert_eq(cgroup_controller("averylongcontrollername.x", ctrl, 8), -ENAMETOOLONG);
}

Test(cgroup_mounts, core_files_belong_to_no_controller)
{
	cr_assert(cgroup_is_core_file("cgroup.max.descendants"));
	cr_assert_not(cgroup_is_core_file("cgroupx.max"));
	cr_assert_not(cgroup_is_core_file("pids.max"));
}

Test(cgroup_mounts, jail_cgroup_path_is_mount_parent_id)
{
	char path[64];

	cr_assert_eq(cgroup_path(path, sizeof(path), "/sys/fs/cgroup/pids", "firecracker",
				 "vm-1"), 0);
	cr_assert_str_eq(path, "/sys/fs/cgroup/pids/firecracker/vm-1");
	cr_assert_eq(cgroup_path(path, sizeof(path), "/sys/fs/cgroup", "a/b", NULL), 0);
	cr_assert_str_eq(path, "/sys/fs/cgroup/a/b");
	cr_assert_eq(cgroup_path(path, 16, "/sys/fs/cgroup", "a", "b"), -ENAMETOOLONG);
}

Test(cgroup_mounts, controller_lists_match_whole_names)
{
	cr_assert(cgroup_list_has("cpuset cpu io memory pids\n", "cpu"));
	cr_assert(cgroup_list_has("cpuset cpu io memory pids\n", "pids"));
	cr_assert_not(cgroup_list_has("cpuset io memory\n", "cpu"));
	cr_assert_not(cgroup_list_has("", "cpu"));
	cr_assert_not(cgroup_list_has("hugetlb\n", ""));
}

Test(cgroup_mounts, option_lists_match_whole_tokens)
{
	cr_assert(cgroup_option_has("rw,relatime,cpu,cpuacct", "cpu"));
	cr_assert(cgroup_option_has("rw,relatime,cpu,cpuacct", "cpuacct"));
	cr_assert(cgroup_option_has("cpuset", "cpuset"));
	cr_assert_not(cgroup_option_has("rw,relatime,cpuset", "cpu"));
	cr_assert_not(cgroup_option_has("rw,name=systemd", "systemd"));
}
