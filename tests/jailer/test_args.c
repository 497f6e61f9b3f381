/* SPDX-License-Identifier: Apache-2.0 */
/* ignis-jailer's command line: what it accepts, what it rejects and why. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jailer/args.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static struct jailer_args args;
static char err[512];

static void teardown(void)
{
	args_free(&args);
}

TestSuite(jailer_args, .fini = teardown);

/* The four required flags, and whatever a test adds after them. */
#define BASE "ignis-jailer", "--id", "vm-1", "--exec-file", "/bin/ignis", \
	"--uid", "123", "--gid", "456"

Test(jailer_args, minimal_command_line_gets_firecracker_defaults)
{
	char *argv[] = { BASE };

	cr_assert_eq(args_parse(&args, ARGC(argv), argv, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(args.id, "vm-1");
	cr_assert_str_eq(args.exec_file, "/bin/ignis");
	cr_assert_eq(args.uid, 123);
	cr_assert_eq(args.gid, 456);
	cr_assert_str_eq(args.chroot_base, "/srv/jailer");
	cr_assert_eq(args.cgroup_version, 1);
	cr_assert_null(args.parent_cgroup);
	cr_assert_null(args.netns);
	cr_assert_eq(args.no_file, 2048);
	cr_assert_not(args.has_fsize);
	cr_assert_not(args.daemonize);
	cr_assert_not(args.new_pid_ns);
	cr_assert_eq(args.n_cgroups, 0);
	cr_assert_eq(args.n_extra_args, 0);
}

Test(jailer_args, every_flag_is_taken)
{
	char *argv[] = { BASE, "--chroot-base-dir", "/tmp/j", "--netns", "/run/netns/a",
			 "--cgroup-version", "2", "--cgroup", "cpuset.cpus=0-1",
			 "--cgroup", "pids.max=50", "--parent-cgroup", "a/b",
			 "--resource-limit", "fsize=1048576", "--resource-limit", "no-file=64",
			 "--daemonize", "--new-pid-ns" };

	cr_assert_eq(args_parse(&args, ARGC(argv), argv, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(args.chroot_base, "/tmp/j");
	cr_assert_str_eq(args.netns, "/run/netns/a");
	cr_assert_eq(args.cgroup_version, 2);
	cr_assert_eq(args.n_cgroups, 2);
	cr_assert_str_eq(args.cgroups[0].file, "cpuset.cpus");
	cr_assert_str_eq(args.cgroups[0].value, "0-1");
	cr_assert_str_eq(args.cgroups[1].file, "pids.max");
	cr_assert_str_eq(args.cgroups[1].value, "50");
	cr_assert_str_eq(args.parent_cgroup, "a/b");
	cr_assert(args.has_fsize);
	cr_assert_eq(args.fsize, 1048576);
	cr_assert_eq(args.no_file, 64);
	cr_assert(args.daemonize);
	cr_assert(args.new_pid_ns);
}

Test(jailer_args, flag_equals_value_form_is_accepted)
{
	char *argv[] = { "ignis-jailer", "--id=vm-2", "--exec-file=/x", "--uid=0", "--gid=0",
			 "--cgroup=cpuset.cpus=0" };

	cr_assert_eq(args_parse(&args, ARGC(argv), argv, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(args.id, "vm-2");
	cr_assert_str_eq(args.cgroups[0].file, "cpuset.cpus");
	cr_assert_str_eq(args.cgroups[0].value, "0");
}

Test(jailer_args, everything_after_double_dash_goes_to_the_exec_file)
{
	char *argv[] = { BASE, "--", "--api-sock", "/run/x.sock", "--id", "ignored-by-jailer" };

	cr_assert_eq(args_parse(&args, ARGC(argv), argv, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(args.n_extra_args, 4);
	cr_assert_str_eq(args.extra_args[0], "--api-sock");
	cr_assert_str_eq(args.extra_args[3], "ignored-by-jailer");
	cr_assert_str_eq(args.id, "vm-1");
}

Test(jailer_args, version_and_help_need_no_other_flag)
{
	char *version[] = { "ignis-jailer", "--version" };
	char *help[] = { "ignis-jailer", "--help" };

	cr_assert_eq(args_parse(&args, ARGC(version), version, err, sizeof(err)), 0, "%s", err);
	cr_assert(args.version);
	args_free(&args);
	cr_assert_eq(args_parse(&args, ARGC(help), help, err, sizeof(err)), 0, "%s", err);
	cr_assert(args.help);
}

/* Parses argv, expects -EINVAL and a message containing want. */
static void assert_rejected(int argc, char **argv, const char *want)
{
	cr_assert_eq(args_parse(&args, argc, argv, err, sizeof(err)), -EINVAL,
		     "accepted, wanted an error about '%s'", want);
	cr_assert(strstr(err, want), "message '%s' does not mention '%s'", err, want);
}

Test(jailer_args, each_required_flag_is_required)
{
	char *no_id[] = { "j", "--exec-file", "/x", "--uid", "1", "--gid", "1" };
	char *no_exec[] = { "j", "--id", "a", "--uid", "1", "--gid", "1" };
	char *no_uid[] = { "j", "--id", "a", "--exec-file", "/x", "--gid", "1" };
	char *no_gid[] = { "j", "--id", "a", "--exec-file", "/x", "--uid", "1" };

	assert_rejected(ARGC(no_id), no_id, "missing required flag '--id'");
	args_free(&args);
	assert_rejected(ARGC(no_exec), no_exec, "missing required flag '--exec-file'");
	args_free(&args);
	assert_rejected(ARGC(no_uid), no_uid, "missing required flag '--uid'");
	args_free(&args);
	assert_rejected(ARGC(no_gid), no_gid, "missing required flag '--gid'");
}

Test(jailer_args, id_allows_alphanumerics_and_dashes_up_to_64)
{
	char id64[65], id65[66];

	memset(id64, 'a', 64);
	id64[64] = '\0';
	memset(id65, 'a', 65);
	id65[65] = '\0';
	cr_assert(args_valid_id("bd65600d-8669-4903-8a14-af88203add38"));
	cr_assert(args_valid_id("A-z-0-9"));
	cr_assert(args_valid_id(id64));
	cr_assert_not(args_valid_id(id65));
	cr_assert_not(args_valid_id(""));
	cr_assert_not(args_valid_id("a_b"));
	cr_assert_not(args_valid_id("a/b"));
	cr_assert_not(args_valid_id("../x"));
	cr_assert_not(args_valid_id("a.b"));
	cr_assert_not(args_valid_id("a b"));
}

Test(jailer_args, bad_id_is_rejected_with_the_rule)
{
	char *argv[] = { "j", "--id", "vm/../x", "--exec-file", "/x", "--uid", "1", "--gid", "1" };

	assert_rejected(ARGC(argv), argv, "invalid --id 'vm/../x'");
}

Test(jailer_args, uid_and_gid_must_be_plain_numbers)
{
	const char *bad[] = { "abc", "-1", "+1", " 1", "1x", "0x10", "4294967295",
			      "99999999999999999999", "" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *uid[] = { "j", "--id", "a", "--exec-file", "/x", "--uid", (char *)bad[i],
				"--gid", "1" };
		char *gid[] = { "j", "--id", "a", "--exec-file", "/x", "--uid", "1",
				"--gid", (char *)bad[i] };

		assert_rejected(ARGC(uid), uid, "--uid");
		args_free(&args);
		assert_rejected(ARGC(gid), gid, "--gid");
		args_free(&args);
	}
}

Test(jailer_args, largest_valid_uid_is_accepted)
{
	char *argv[] = { "j", "--id", "a", "--exec-file", "/x", "--uid", "4294967294",
			 "--gid", "65534" };

	cr_assert_eq(args_parse(&args, ARGC(argv), argv, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(args.uid, 4294967294u);
}

Test(jailer_args, unknown_flag_is_rejected)
{
	char *argv[] = { BASE, "--node", "0" };

	assert_rejected(ARGC(argv), argv, "unknown flag '--node'");
}

Test(jailer_args, abbreviated_flag_is_rejected)
{
	char *argv[] = { BASE, "--daemon" };

	assert_rejected(ARGC(argv), argv, "unknown flag '--daemon'");
}

Test(jailer_args, positional_argument_before_double_dash_is_rejected)
{
	char *argv[] = { BASE, "stray" };

	assert_rejected(ARGC(argv), argv, "unexpected argument 'stray'");
}

Test(jailer_args, single_valued_flag_given_twice_is_rejected)
{
	char *argv[] = { BASE, "--id", "vm-2" };

	assert_rejected(ARGC(argv), argv, "'--id' given more than once");
}

Test(jailer_args, flag_missing_its_value_is_rejected)
{
	char *at_end[] = { BASE, "--netns" };
	char *before_flag[] = { "j", "--id", "--exec-file", "/x", "--uid", "1", "--gid", "1" };

	assert_rejected(ARGC(at_end), at_end, "'--netns' needs a value");
	args_free(&args);
	assert_rejected(ARGC(before_flag), before_flag, "'--id' needs a value");
}

Test(jailer_args, switch_with_a_value_is_rejected)
{
	char *argv[] = { BASE, "--daemonize=yes" };

	assert_rejected(ARGC(argv), argv, "'--daemonize' takes no value");
}

Test(jailer_args, cgroup_version_is_1_or_2)
{
	char *argv[] = { BASE, "--cgroup-version", "3" };

	assert_rejected(ARGC(argv), argv, "invalid --cgroup-version '3'");
}

Test(jailer_args, cgroup_needs_file_equals_value)
{
	const char *bad[] = { "pids.max", "=5", "pids.max=", "pids=5", ".max=5", "pids.=5",
			      "../pids.max=5", "a/b.c=1" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { BASE, "--cgroup", (char *)bad[i] };

		assert_rejected(ARGC(argv), argv, "invalid --cgroup");
		args_free(&args);
	}
}

Test(jailer_args, cgroup_value_may_contain_equals)
{
	char *argv[] = { BASE, "--cgroup-version", "2", "--cgroup", "io.max=8:0 rbps=1048576" };

	cr_assert_eq(args_parse(&args, ARGC(argv), argv, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(args.cgroups[0].file, "io.max");
	cr_assert_str_eq(args.cgroups[0].value, "8:0 rbps=1048576");
}

Test(jailer_args, cgroup_file_may_have_more_than_one_dot)
{
	char *argv[] = { BASE, "--cgroup", "hugetlb.2MB.limit_in_bytes=0" };

	cr_assert_eq(args_parse(&args, ARGC(argv), argv, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(args.cgroups[0].file, "hugetlb.2MB.limit_in_bytes");
}

Test(jailer_args, resource_limit_is_fsize_or_no_file_with_a_number)
{
	char *no_eq[] = { BASE, "--resource-limit", "no-file" };
	char *unknown[] = { BASE, "--resource-limit", "nproc=5" };
	char *not_number[] = { BASE, "--resource-limit", "no-file=lots" };
	char *negative[] = { BASE, "--resource-limit", "fsize=-1" };

	assert_rejected(ARGC(no_eq), no_eq, "expected fsize=<bytes> or no-file=<count>");
	args_free(&args);
	assert_rejected(ARGC(unknown), unknown, "unknown resource 'nproc'");
	args_free(&args);
	assert_rejected(ARGC(not_number), not_number, "'lots' is not a number");
	args_free(&args);
	assert_rejected(ARGC(negative), negative, "'-1' is not a number");
}

Test(jailer_args, last_resource_limit_of_a_kind_wins)
{
	char *argv[] = { BASE, "--resource-limit", "no-file=10", "--resource-limit", "no-file=20" };

	cr_assert_eq(args_parse(&args, ARGC(argv), argv, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(args.no_file, 20);
}

Test(jailer_args, parent_cgroup_must_be_a_plain_relative_path)
{
	const char *bad[] = { "/abs", "..", "a/../b", "./a", "a/.", "a//b", "a/", "" };
	const char *good[] = { "firecracker", "a/b", "a.b/c-d", "..a" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { BASE, "--parent-cgroup", (char *)bad[i] };

		assert_rejected(ARGC(argv), argv, "invalid --parent-cgroup");
		args_free(&args);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *argv[] = { BASE, "--parent-cgroup", (char *)good[i] };

		cr_assert_eq(args_parse(&args, ARGC(argv), argv, err, sizeof(err)), 0,
			     "'%s': %s", good[i], err);
		args_free(&args);
	}
}

Test(jailer_args, exec_file_resolves_symlinks_and_names_the_jail)
{
	char dir[] = "/tmp/jailer-args-XXXXXX", file[PATH_MAX], link[PATH_MAX];
	struct exec_file exec;
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/firecracker", dir);
	snprintf(link, sizeof(link), "%s/fc-link", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0755);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(symlink(file, link), 0);

	cr_assert_eq(args_resolve_exec_file(link, &exec, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(exec.path, file);
	cr_assert_str_eq(exec.name, "firecracker");

	unlink(link);
	unlink(file);
	rmdir(dir);
}

Test(jailer_args, exec_file_must_exist)
{
	struct exec_file exec;

	cr_assert_eq(args_resolve_exec_file("/nonexistent/ignis", &exec, err, sizeof(err)),
		     -ENOENT);
	cr_assert(strstr(err, "exec file '/nonexistent/ignis'"), "%s", err);
	cr_assert(strstr(err, "No such file"), "%s", err);
}

Test(jailer_args, exec_file_must_be_a_regular_file)
{
	struct exec_file exec;

	cr_assert_eq(args_resolve_exec_file("/tmp", &exec, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "is not a regular file"), "%s", err);
}
