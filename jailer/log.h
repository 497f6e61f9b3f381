/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Diagnostics of ignis-jailer. Every failure is one line on stderr,
 *   ignis-jailer: <step>: <what>: <strerror>
 * so an operator sees which step of the order of work failed and on what.
 */
#ifndef IGNIS_JAILER_LOG_H
#define IGNIS_JAILER_LOG_H

/*
 * err is an errno value, positive or negative (functions here return -errno);
 * 0 leaves the ": <strerror>" suffix off.
 */
void pr_err(const char *step, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pr_warn(const char *step, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
