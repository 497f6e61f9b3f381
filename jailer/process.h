/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jailer's process shape: --daemonize (a session of its own, stdio on
 * /dev/null) and --new-pid-ns (the exec'd binary as PID 1 of a new PID
 * namespace).
 */
#ifndef IGNIS_JAILER_PROCESS_H
#define IGNIS_JAILER_PROCESS_H

#include <sys/types.h>

#include "jailer/exec.h"

/* Opens /dev/null; done before the jail is entered, where it does not exist. */
int process_open_devnull(int *fd);

/*
 * Double fork + setsid, then stdin/stdout/stderr onto devnull (which is
 * closed). Only the final grandchild returns (0); the caller's process
 * exits 0 at once. Returns -errno on failure.
 */
int process_daemonize(int devnull, struct timing *t);

/*
 * Forks into a new PID namespace. In the child (*child == 0, PID 1 of the
 * namespace, in a new session) *status_fd is the write end of a
 * close-on-exec pipe: process_report_failure() tells the parent the exec
 * never happened. In the parent *child is the child's pid (as this
 * namespace sees it) and *status_fd the read end for process_wait_exec().
 */
int process_fork_pid_ns(struct timing *t, pid_t *child, int *status_fd);

/* Child side: tell the parent we failed with err (-errno) before exec. */
void process_report_failure(int status_fd, int err);

/*
 * Parent side: 0 once the child exec'd (the pipe closed on exec), or the
 * child's -errno if it failed (the child is reaped). Closes status_fd.
 */
int process_wait_exec(pid_t child, int status_fd);

#endif
