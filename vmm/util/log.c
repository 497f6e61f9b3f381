/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "vmm/util/error.h"
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/*
 * Process-wide log configuration: the only file-scope state in the VMM,
 * because every module logs and threading a logger through each call would
 * obscure the code more than it protects. The lock makes PUT /logger safe
 * while other threads log.
 */
static struct {
	pthread_mutex_t lock;
	enum log_level level;
	FILE *out;
	bool show_level;
	bool show_origin;
} log_cfg = { PTHREAD_MUTEX_INITIALIZER, LOG_INFO, NULL, false, false };

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
	pthread_mutex_lock(&log_cfg.lock);
	__atomic_store_n(&log_cfg.level, level, __ATOMIC_RELAXED);
	log_cfg.out = out;
	log_cfg.show_level = show_level;
	log_cfg.show_origin = show_origin;
	pthread_mutex_unlock(&log_cfg.lock);
}

int log_sink_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);

	return fd < 0 ? -errno : fd;
}

int log_reconfigure(const char *path, enum log_level level, bool show_level, bool show_origin,
		    struct err_buf *err)
{
	FILE *out = NULL, *old = NULL;

	if (path) {
		int fd = log_sink_open(path);

		if (fd < 0)
			return err_set(err, fd, "log_path %s: %s", path, strerror(-fd));
		out = fdopen(fd, "a");
		if (!out) {
			close(fd);
			return err_set(err, -ENOMEM, "log_path %s: out of memory", path);
		}
		/* Only its fd is written (log_printf); the stream owns and closes it. */
	}
	pthread_mutex_lock(&log_cfg.lock);
	if (out) {
		old = log_cfg.out;
		log_cfg.out = out;
	}
	__atomic_store_n(&log_cfg.level, level, __ATOMIC_RELAXED);
	log_cfg.show_level = show_level;
	log_cfg.show_origin = show_origin;
	pthread_mutex_unlock(&log_cfg.lock);
	if (old && old != stderr)
		fclose(old);
	return 0;
}

int log_fd(void)
{
	/* No lock: a signal handler calls this; the FILE outlives any reader but PUT /logger's. */
	FILE *out = __atomic_load_n(&log_cfg.out, __ATOMIC_RELAXED);

	return out ? fileno_unlocked(out) : STDERR_FILENO;
}

/*
 * write(2), not stdio: a stream allocates its buffer on the first line and
 * calls newfstatat to size it, which the vCPU threads' seccomp filter kills,
 * and a guest decides when a vCPU logs first. A line that does not fit a
 * full FIFO (O_NONBLOCK) is dropped rather than stalling the thread.
 */
static void write_line(int fd, const char *text, size_t len)
{
	while (len) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

void log_printf(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	char msg[1024], lvl[16] = "", origin[160] = "", text[1280];
	int n;
	struct timespec ts;
	va_list ap;
	FILE *out;

	if (level == LOG_OFF || level > __atomic_load_n(&log_cfg.level, __ATOMIC_RELAXED))
		return;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);

	/* One locked write per line so lines from different threads never interleave. */
	pthread_mutex_lock(&log_cfg.lock);
	if (log_cfg.show_level)
		snprintf(lvl, sizeof(lvl), "[%s]", level_names[level]);
	if (log_cfg.show_origin)
		snprintf(origin, sizeof(origin), "[%s:%d]", file, line);
	out = log_cfg.out ? log_cfg.out : stderr;
	n = snprintf(text, sizeof(text), "%lld.%06ld [ignis]%s%s %s\n", (long long)ts.tv_sec,
		     ts.tv_nsec / 1000, lvl, origin, msg);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(text)) {
		n = sizeof(text) - 1;
		text[n - 1] = '\n';
	}
	write_line(fileno_unlocked(out), text, (size_t)n);
	pthread_mutex_unlock(&log_cfg.lock);
}

bool log_ratelimit(struct log_ratelimit *rl, unsigned long *suppressed)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (rl->started && now < rl->next_ns) {
		rl->suppressed++;
		return false;
	}
	rl->started = true;
	rl->next_ns = now + LOG_RATELIMIT_SECONDS * 1000000000ull;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}
