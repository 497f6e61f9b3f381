/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ignis-jailer: Firecracker's jailer flags and order of work, wiring only.
 * Each step lives in its own file and reports its own failure; this file
 * says in which order they run and what a failure costs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jailer/args.h"
#include "jailer/cgroup.h"
#include "jailer/chroot.h"
#include "jailer/env.h"
#include "jailer/exec.h"
#include "jailer/jail.h"
#include "jailer/log.h"
#include "jailer/netns.h"
#include "jailer/privileges.h"
#include "jailer/process.h"
#include "jailer/rlimits.h"

#ifndef IGNIS_VERSION
#define IGNIS_VERSION "0.0.0"
#endif

/*
 * Firecracker's jailer exits 1 on every error; we keep 1 for failures while
 * building the jail and use the VMM's ArgParsing code (153) for a command
 * line that was wrong before anything was touched.
 */
enum {
	EXIT_OK = 0,
	EXIT_JAIL = 1,
	EXIT_ARGS = 153,
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ignis-jailer --id ID --exec-file PATH --uid UID --gid GID [OPTIONS]\n"
		"                    [-- ARGS FOR THE EXEC FILE]\n"
		"  --id ID                    instance id: 1-64 of A-Z a-z 0-9 -\n"
		"  --exec-file PATH           binary to copy into the jail and exec\n"
		"  --uid UID, --gid GID       ids the binary runs as\n"
		"  --chroot-base-dir DIR      jail at DIR/<exec-name>/<id>/root (default %s)\n"
		"  --netns PATH               join this network namespace\n"
		"  --cgroup-version 1|2       cgroup hierarchy to use (default 1)\n"
		"  --cgroup FILE=VALUE        write VALUE to the jail's cgroup FILE (repeatable)\n"
		"  --parent-cgroup PATH       cgroup parent, relative (default <exec-name>)\n"
		"  --resource-limit fsize=N|no-file=N  (repeatable; default no-file=%d)\n"
		"  --daemonize                detach: new session, stdio on /dev/null\n"
		"  --new-pid-ns               exec as PID 1 of a new PID namespace\n"
		"  --version, --help\n"
		"Exit codes: 0 exec'd (or detached), 1 jail error, 153 bad arguments.\n",
		JAILER_DEFAULT_CHROOT_BASE, JAILER_DEFAULT_NO_FILE);
}

/*
 * --new-pid-ns, parent side: publish the child's pid, outlive its exec,
 * then leave with _exit(). Nothing is left to flush or free, and at-exit
 * hooks must not run: after unshare(CLONE_NEWPID) any process they fork
 * (LeakSanitizer's tracer, for one) lands in the child's namespace and
 * cannot see this one.
 */
static __attribute__((noreturn)) void pid_ns_parent(struct jail *jail, pid_t child,
						     int status_fd)
{
	int ret = jail_write_pid_file(jail, child);

	if (ret) {
		kill(child, SIGKILL);
		close(status_fd);
		waitpid(child, NULL, 0);
	} else {
		ret = process_wait_exec(child, status_fd);
	}
	if (ret)
		jail_undo(jail);
	fflush(NULL);
	_exit(ret ? EXIT_JAIL : EXIT_OK);
}

int main(int argc, char *argv[])
{
	struct timing timing;
	struct jailer_args args;
	struct exec_file exec;
	struct jail jail = { 0 };
	struct cgroup_request cg;
	char err[512];
	int devnull = -1, status_fd = -1, uffd_minor, ret;
	pid_t child = -1;

	timing_start(&timing);

	/* 1. Nothing the caller left open or exported may reach the jail. */
	ret = env_close_inherited_fds();
	if (ret) {
		pr_err("sanitize", ret, "close inherited file descriptors");
		return EXIT_JAIL;
	}
	ret = env_clear();
	if (ret) {
		pr_err("sanitize", ret, "clear the environment");
		return EXIT_JAIL;
	}

	/* 2. Arguments, and the exec file they name. */
	ret = args_parse(&args, argc, argv, err, sizeof(err));
	if (ret) {
		pr_err("arguments", 0, "%s (see --help)", err);
		args_free(&args);
		return EXIT_ARGS;
	}
	if (args.help || args.version) {
		if (args.help)
			usage(stdout);
		else
			printf("ignis-jailer v%s\n", IGNIS_VERSION);
		args_free(&args);
		return EXIT_OK;
	}
	ret = args_resolve_exec_file(args.exec_file, &exec, err, sizeof(err));
	if (ret) {
		pr_err("arguments", 0, "%s", err);
		args_free(&args);
		return EXIT_ARGS;
	}

	/* 3. The chroot dir and the copy of the exec file in it. */
	ret = jail_init(&jail, args.chroot_base, exec.name, args.id, args.uid, args.gid);
	if (ret)
		goto fail;
	ret = jail_create(&jail, exec.path);
	if (ret)
		goto fail;

	/* 4-6. Network namespace, resource limits, cgroups: all need the host view. */
	if (args.netns) {
		ret = netns_join(args.netns);
		if (ret)
			goto fail;
	}
	ret = rlimits_apply(args.no_file, args.has_fsize, args.fsize);
	if (ret)
		goto fail;
	cg = (struct cgroup_request){
		.version = args.cgroup_version,
		.parent = args.parent_cgroup ? args.parent_cgroup : exec.name,
		.parent_given = args.parent_cgroup != NULL,
		.id = args.id,
		.settings = args.cgroups,
		.n_settings = args.n_cgroups,
		.pid = getpid(),
		.proc_mounts = "/proc/mounts",
	};
	ret = cgroup_apply(&cg);
	if (ret)
		goto fail;

	/* 7. What the jail will not have: /dev/null and /proc. */
	if (args.daemonize) {
		ret = process_open_devnull(&devnull);
		if (ret)
			goto fail;
	}
	uffd_minor = jail_misc_minor("/proc/misc", "userfaultfd");
	if (uffd_minor < 0 && uffd_minor != -ENOENT)
		pr_warn("dev-nodes", uffd_minor, "read /proc/misc: no /dev/userfaultfd in the jail");

	/* 8-10. Into the jail, and fill it. */
	ret = chroot_enter(&jail);
	if (ret)
		goto fail;
	ret = jail_populate(&jail, uffd_minor);
	if (ret)
		goto fail;

	/* 11-12. Process shape. */
	if (args.daemonize) {
		ret = process_daemonize(devnull, &timing);
		if (ret)
			goto fail;
		devnull = -1;
	}
	if (args.new_pid_ns) {
		ret = process_fork_pid_ns(&timing, &child, &status_fd);
		if (ret)
			goto fail;
		if (child > 0)
			pid_ns_parent(&jail, child, status_fd);
	} else {
		ret = jail_write_pid_file(&jail, getpid());
		if (ret)
			goto fail;
	}

	/* 13. Drop everything, then become the exec file. */
	ret = privileges_drop(args.uid, args.gid);
	if (ret)
		goto fail;
	ret = exec_jailed(exec.name, args.id, &timing, args.extra_args, args.n_extra_args);

fail:
	if (child == 0) {
		/* PID-namespace child: the parent (still privileged) cleans up. */
		process_report_failure(status_fd, ret);
		_exit(EXIT_JAIL);
	}
	jail_undo(&jail);
	if (devnull >= 0)
		close(devnull);
	args_free(&args);
	return EXIT_JAIL;
}
