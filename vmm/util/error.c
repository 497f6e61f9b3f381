/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/util/error.h"

#include <stdarg.h>
#include <stdio.h>

int err_set(struct err_buf *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}
