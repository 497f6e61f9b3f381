/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One logging family for the whole VMM, in the spirit of kvmtool's pr_*.
 *
 * The log configuration (level, destination) is set once by main() before any
 * thread starts and is read-only afterwards, so the loggers need no locking
 * beyond what stdio already does per call.
 */
#ifndef IGNIS_LOG_H
#define IGNIS_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum log_level {
	LOG_OFF = 0,
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
	LOG_TRACE,
};

/* Parses Firecracker's level names, case-insensitively. Returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *out);

/*
 * Opens @path for log or metrics lines as Firecracker does: read-write,
 * non-blocking, appending, created if missing (0600). Read-write so a FIFO
 * nobody reads yet opens at once (write-only would fail with ENXIO, or
 * block without O_NONBLOCK); non-blocking so a stalled reader costs lines,
 * never a stall. Returns the fd or -errno.
 */
int log_sink_open(const char *path);

/* Configure before any thread starts. @out NULL means stderr. */
void log_configure(enum log_level level, FILE *out, bool show_level, bool show_origin);

/*
 * Firecracker's PUT /logger: a new destination (file or FIFO, created if
 * missing; NULL keeps the current one) and settings. Safe while other
 * threads log. Returns 0 or -errno with @err.
 */
struct err_buf;
int log_reconfigure(const char *path, enum log_level level, bool show_level, bool show_origin,
		    struct err_buf *err);

/*
 * The log's file descriptor (stderr unless configured otherwise), for the
 * one reporter that cannot use stdio: a signal handler (seccomp's SIGSYS).
 */
int log_fd(void);

void log_printf(enum log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * For messages a guest can provoke at will: at most one per
 * LOG_RATELIMIT_SECONDS per limiter. log_ratelimit() says whether to log
 * now and, if so, how many were held back since the last one. One limiter per
 * message and device, used under that device's lock.
 */
#define LOG_RATELIMIT_SECONDS 5
struct log_ratelimit {
	bool started;
	uint64_t next_ns;
	unsigned long suppressed;
};
bool log_ratelimit(struct log_ratelimit *rl, unsigned long *suppressed);

#define pr_err(...)   log_printf(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define pr_warn(...)  log_printf(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define pr_info(...)  log_printf(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define pr_debug(...) log_printf(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
