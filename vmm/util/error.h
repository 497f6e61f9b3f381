/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A message buffer that travels with a 0/-errno return, so the code that
 * detects a problem can say what it was in words a user can act on, and the
 * code that reports it (CLI, later the API's fault_message) stays generic.
 */
#ifndef IGNIS_ERROR_H
#define IGNIS_ERROR_H

struct err_buf {
	char msg[512];
};

/* Formats into @err (if non-NULL) and returns @code (a negative errno). */
int err_set(struct err_buf *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
