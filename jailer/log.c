/* SPDX-License-Identifier: Apache-2.0 */
#include "jailer/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 4, 0))) static void vreport(const char *kind, const char *step,
							     int err, const char *fmt, va_list ap)
{
	/*
	 * One buffer and one fputs: with --new-pid-ns two processes may report
	 * at once, and a line must not interleave with the other's.
	 */
	char line[1024];
	int n = snprintf(line, sizeof(line), "ignis-jailer: %s%s: ", kind, step);

	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (err) {
		size_t used = strlen(line);

		snprintf(line + used, sizeof(line) - used, ": %s",
			 strerror(err < 0 ? -err : err));
	}
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
}

void pr_err(const char *step, int err, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vreport("", step, err, fmt, ap);
	va_end(ap);
	errno = saved;
}

void pr_warn(const char *step, int err, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vreport("warning: ", step, err, fmt, ap);
	va_end(ap);
	errno = saved;
}
