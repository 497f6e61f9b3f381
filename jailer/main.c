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

/* What the steps after the arguments leave behind, for a failure to undo. */
struct run {
	struct jail jail;
	int devnull;	/* --daemonize: opened while the host's /dev/null is in view */
	int status_fd;	/* --new-pid-ns: this side of the pipe to the other process */
	pid_t child;	/* --new-pid-ns: 0 in the child; -1 when there was no fork */
};

/* 1. Nothing the caller left open or exported may reach the jail. */
static int sanitize(void)
{
	int ret = env_close_inherited_fds();

	if (ret) {
		pr_err("sanitize", ret, "close inherited file descriptors");
		return ret;
	}
	ret = env_clear();
	if (ret)
		pr_err("sanitize", ret, "clear the environment");
	return ret;
}

/*
 * 2. Arguments, and the exec file they name; --help and --version need no
 * exec file, so it is not looked at then. Reports what is wrong.
 */
static int read_command_line(struct jailer_args *args, struct exec_file *exec, int argc,
			     char *argv[])
{
	char err[512];
	int ret;

	ret = args_parse(args, argc, argv, err, sizeof(err));
	if (ret) {
		pr_err("arguments", 0, "%s (see --help)", err);
		return ret;
	}
	if (args->help || args->version)
		return 0;
	ret = args_resolve_exec_file(args->exec_file, exec, err, sizeof(err));
	if (ret)
		pr_err("arguments", 0, "%s", err);
	return ret;
}

/* 4-6. Network namespace, resource limits, cgroups: all need the host view. */
static int apply_host_limits(const struct jailer_args *args, const struct exec_file *exec)
{
	struct cgroup_request cg;
	int ret;

	if (args->netns) {
		ret = netns_join(args->netns);
		if (ret)
			return ret;
	}
	ret = rlimits_apply(args->no_file, args->has_fsize, args->fsize);
	if (ret)
		return ret;
	cg = (struct cgroup_request){
		.version = args->cgroup_version,
		.parent = args->parent_cgroup ? args->parent_cgroup : exec->name,
		.parent_given = args->parent_cgroup != NULL,
		.id = args->id,
		.settings = args->cgroups,
		.n_settings = args->n_cgroups,
		.pid = getpid(),
		.proc_mounts = "/proc/mounts",
	};
	return cgroup_apply(&cg);
}

/* 3-10. The jail on disk, the host-side limits, then into the jail and fill it. */
static int build_jail(struct run *r, const struct jailer_args *args,
		      const struct exec_file *exec)
{
	int uffd_minor, ret;

	/* 3. The chroot dir and the copy of the exec file in it. */
	ret = jail_init(&r->jail, args->chroot_base, exec->name, args->id, args->uid, args->gid);
	if (ret)
		return ret;
	ret = jail_create(&r->jail, exec->path);
	if (ret)
		return ret;

	ret = apply_host_limits(args, exec);
	if (ret)
		return ret;

	/* 7. What the jail will not have: /dev/null and /proc. */
	if (args->daemonize) {
		ret = process_open_devnull(&r->devnull);
		if (ret)
			return ret;
	}
	uffd_minor = jail_misc_minor("/proc/misc", "userfaultfd");
	if (uffd_minor < 0 && uffd_minor != -ENOENT)
		pr_warn("dev-nodes", uffd_minor, "read /proc/misc: no /dev/userfaultfd in the jail");

	/* 8-10. Into the jail, and fill it. */
	ret = chroot_enter(&r->jail);
	if (ret)
		return ret;
	return jail_populate(&r->jail, uffd_minor);
}

/*
 * 11-12. Process shape. Returns in the process that goes on to exec (0) or
 * on failure (-errno); every other process exits in here.
 */
static int shape_process(struct run *r, const struct jailer_args *args, struct timing *timing)
{
	int ret;

	if (args->daemonize) {
		ret = process_daemonize(r->devnull, timing);
		if (ret)
			return ret;
		r->devnull = -1;
	}
	if (args->new_pid_ns) {
		ret = process_fork_pid_ns(timing, &r->child, &r->status_fd);
		if (ret)
			return ret;
		if (r->child > 0)
			pid_ns_parent(&r->jail, r->child, r->status_fd);
		return 0;
	}
	return jail_write_pid_file(&r->jail, getpid());
}

/*
 * A step after the arguments failed with @ret: undo what this run made and
 * return the exit code, or, in a PID-namespace child, tell the parent.
 */
static int fail_run(struct run *r, struct jailer_args *args, int ret)
{
	if (r->child == 0) {
		/* PID-namespace child: the parent (still privileged) cleans up. */
		process_report_failure(r->status_fd, ret);
		_exit(EXIT_JAIL);
	}
	jail_undo(&r->jail);
	if (r->devnull >= 0)
		close(r->devnull);
	args_free(args);
	return EXIT_JAIL;
}

int main(int argc, char *argv[])
{
	struct timing timing;
	struct jailer_args args;
	struct exec_file exec;
	struct run r = { .devnull = -1, .status_fd = -1, .child = -1 };
	int ret;

	timing_start(&timing);

	if (sanitize())
		return EXIT_JAIL;

	if (read_command_line(&args, &exec, argc, argv)) {
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

	ret = build_jail(&r, &args, &exec);
	if (ret)
		return fail_run(&r, &args, ret);
	ret = shape_process(&r, &args, &timing);
	if (ret)
		return fail_run(&r, &args, ret);

	/* 13. Drop everything, then become the exec file. */
	ret = privileges_drop(args.uid, args.gid);
	if (!ret)
		ret = exec_jailed(exec.name, args.id, &timing, args.extra_args, args.n_extra_args);
	return fail_run(&r, &args, ret);
}
