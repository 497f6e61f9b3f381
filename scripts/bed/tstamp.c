// tstamp: run a command and timestamp every line it prints.
//
// Why: the bed's L1 has only busybox, whose `date` has no sub-second
// format and whose /proc/uptime has 10 ms steps; boot-compare needs the time
// from process start to a console line and to process exit, and the e2e
// tests need a per-run time limit and stdout/stderr kept apart but in order.
// Built with `gcc -static` (scripts/bed/lib.sh) so it runs in L1 without
// libraries.
//
// usage: tstamp [-t SECONDS] -- CMD [ARGS...]
// Output, one line per line the command writes (stdout "o", stderr "e"):
//   T+<ms> o| <line>
// and at the end:
//   TSTAMP_EXIT status=<n> ms=<ms>      (n = exit code, or 128+signal)
//   TSTAMP_TIMEOUT ms=<ms>              (before TSTAMP_EXIT, if -t expired)
// <ms> is milliseconds since just before fork(), CLOCK_MONOTONIC, 3 decimals;
// a line's time is when its newline arrived. tstamp exits with <n>.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096

struct stream {
	int fd;
	char tag;
	char buf[LINE_MAX_BYTES];
	size_t len;
};

static struct timespec start;

static double elapsed_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start.tv_sec) * 1e3 +
	       (now.tv_nsec - start.tv_nsec) / 1e6;
}

static void emit_line(struct stream *s)
{
	printf("T+%.3f %c| %.*s\n", elapsed_ms(), s->tag, (int)s->len, s->buf);
	fflush(stdout);
	s->len = 0;
}

// Returns 0 at EOF, 1 while the stream is open.
static int drain(struct stream *s)
{
	char chunk[1024];
	ssize_t n = read(s->fd, chunk, sizeof(chunk));

	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0) {
		if (s->len)
			emit_line(s);
		return 0;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (chunk[i] == '\n') {
			emit_line(s);
			continue;
		}
		if (chunk[i] == '\r')
			continue;
		s->buf[s->len++] = chunk[i];
		// An endless line must not stall the output.
		if (s->len == sizeof(s->buf))
			emit_line(s);
	}
	return 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: tstamp [-t SECONDS] -- CMD [ARGS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double limit_ms = 0;
	int opt;

	while ((opt = getopt(argc, argv, "+t:")) != -1) {
		if (opt != 't')
			usage();
		limit_ms = atof(optarg) * 1e3;
	}
	if (optind >= argc)
		usage();

	int out[2], err[2];
	if (pipe(out) || pipe(err)) {
		perror("tstamp: pipe");
		return 2;
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	pid_t pid = fork();
	if (pid < 0) {
		perror("tstamp: fork");
		return 2;
	}
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		execvp(argv[optind], &argv[optind]);
		fprintf(stderr, "tstamp: exec %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);

	struct stream streams[2] = { { .fd = out[0], .tag = 'o' },
				     { .fd = err[0], .tag = 'e' } };
	int open_streams = 2;
	int timed_out = 0;

	while (open_streams > 0) {
		struct pollfd pfd[2];
		int nfds = 0;
		int wait_ms = -1;

		for (int i = 0; i < 2; i++) {
			if (streams[i].fd >= 0)
				pfd[nfds++] = (struct pollfd){ .fd = streams[i].fd, .events = POLLIN };
		}
		if (limit_ms > 0 && !timed_out) {
			double left = limit_ms - elapsed_ms();
			wait_ms = left > 0 ? (int)left + 1 : 0;
		}
		int r = poll(pfd, nfds, wait_ms);
		if (r < 0 && errno != EINTR) {
			perror("tstamp: poll");
			break;
		}
		if (limit_ms > 0 && !timed_out && elapsed_ms() >= limit_ms) {
			printf("TSTAMP_TIMEOUT ms=%.3f\n", elapsed_ms());
			fflush(stdout);
			kill(pid, SIGKILL);
			timed_out = 1;
		}
		for (int j = 0; j < nfds; j++) {
			if (!(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			for (int i = 0; i < 2; i++) {
				if (streams[i].fd == pfd[j].fd && !drain(&streams[i])) {
					close(streams[i].fd);
					streams[i].fd = -1;
					open_streams--;
				}
			}
		}
	}

	int wstatus;
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	int status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	printf("TSTAMP_EXIT status=%d ms=%.3f\n", status, elapsed_ms());
	return status;
}
