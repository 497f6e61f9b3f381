/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/*
 * Write-once process configuration (see log.h): the only file-scope state in
 * the VMM, because every module logs and threading a logger through each call
 * would obscure the code more than it protects.
 */
static struct {
	enum log_level level;
	FILE *out;
	bool show_level;
	bool show_origin;
} log_cfg = { LOG_INFO, NULL, false, false };

static const char *const level_names[] = {
	[LOG_OFF] = "Off",     [LOG_ERROR] = "Error", [LOG_WARN] = "Warning",
	[LOG_INFO] = "Info",   [LOG_DEBUG] = "Debug", [LOG_TRACE] = "Trace",
};

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	/* Firecracker also accepts "Warn". */
	if (strcasecmp(name, "warn") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

void log_configure(enum log_level level, FILE *out, bool show_level, bool show_origin)
{
	log_cfg.level = level;
	log_cfg.out = out;
	log_cfg.show_level = show_level;
	log_cfg.show_origin = show_origin;
}

void log_printf(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	FILE *out = log_cfg.out ? log_cfg.out : stderr;
	struct timespec ts;
	char msg[1024];
	va_list ap;

	if (level > log_cfg.level || level == LOG_OFF)
		return;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	char lvl[16] = "", origin[160] = "";

	if (log_cfg.show_level)
		snprintf(lvl, sizeof(lvl), "[%s]", level_names[level]);
	if (log_cfg.show_origin)
		snprintf(origin, sizeof(origin), "[%s:%d]", file, line);
	clock_gettime(CLOCK_REALTIME, &ts);
	/* One fprintf per line so lines from different threads do not interleave. */
	fprintf(out, "%lld.%06ld [ignis]%s%s %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000,
		lvl, origin, msg);
	fflush(out);
}
