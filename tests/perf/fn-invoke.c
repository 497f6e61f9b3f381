// SPDX-License-Identifier: Apache-2.0
// fn-invoke: the platform's side of a function invocation, for
// tests/perf/warm-start.sh and tests/e2e/function.sh. Runs in the test host
// (L1), built static. Optionally starts a command (the VMM, a snapshot load
// request, a QMP write), then POSTs /invoke to the function guest's
// ignis-fn-server until the first 200 and reports the ms from just before
// the command started (or from its own start) to that answer. Connection
// refusals, unreachable hosts and silent peers are retried every -i ms:
// that is the guest not being up yet.
//
// usage: fn-invoke [-a ADDR] [-p PORT] [-d BODY] [-t LIMIT_S] [-n COUNT]
//                  [-i RETRY_MS] [-o CMD_OUTPUT] [-- CMD ARGS...]
// Output lines:
//   FN_SPAWN pid=<pid>                              if a command was given
//   FN_FIRST ms=<ms> attempts=<n> invocation=<k> status=200 result=<line>
//   FN_WARM <i> ms=<ms> invocation=<k> status=<s>   COUNT-1 more, each timed
//   FN_FAIL <why>
// Exit status: 0 if every invocation answered 200, 1 otherwise, 2 on usage.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { RESULT_MAX = 4096, ANSWER_TIMEOUT_MS = 30000 };

struct answer {
	http_parser parser;
	bool in_invocation_header;
	bool header_matched;
	unsigned long invocation;
	char result[RESULT_MAX];
	size_t result_len;
	bool complete;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct answer *a = p->data;

	a->in_invocation_header = len == 15 && strncasecmp(at, "X-Fn-Invocation", 15) == 0;
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct answer *a = p->data;
	size_t i;

	if (!a->in_invocation_header)
		return 0;
	a->invocation = 0;
	for (i = 0; i < len && at[i] >= '0' && at[i] <= '9'; i++)
		a->invocation = a->invocation * 10 + (unsigned long)(at[i] - '0');
	a->header_matched = true;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct answer *a = p->data;
	size_t room = sizeof(a->result) - 1 - a->result_len;

	if (len > room)
		len = room;
	memcpy(a->result + a->result_len, at, len);
	a->result_len += len;
	a->result[a->result_len] = '\0';
	return 0;
}

static int on_complete(http_parser *p)
{
	((struct answer *)p->data)->complete = true;
	return 0;
}

static const http_parser_settings answer_settings = {
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_body = on_body,
	.on_message_complete = on_complete,
};

// A non-blocking connect bounded by timeout_ms; fd or -1.
static int try_connect(const struct sockaddr_in *to, int timeout_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0, one = 1;
	socklen_t elen = sizeof(err);
	struct pollfd pfd;

	if (fd < 0)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, timeout_ms) != 1)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int send_all(int fd, const char *p, size_t len, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (now_ms() > deadline || poll(&pfd, 1, 100) < 0)
			return -1;
	}
	return 0;
}

// One POST /invoke on a connected socket; the HTTP status or -1.
static int invoke_once(int fd, const char *body, struct answer *a)
{
	char req[512], buf[8192];
	double deadline = now_ms() + ANSWER_TIMEOUT_MS;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t blen = strlen(body);
	int n = snprintf(req, sizeof(req),
			 "POST /invoke HTTP/1.1\r\nHost: fn\r\nContent-Type: text/plain\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 blen);
	ssize_t r;

	memset(a, 0, sizeof(*a));
	http_parser_init(&a->parser, HTTP_RESPONSE);
	a->parser.data = a;
	if (n < 0 || (size_t)n >= sizeof(req) || send_all(fd, req, (size_t)n, deadline) < 0 ||
	    send_all(fd, body, blen, deadline) < 0)
		return -1;
	while (!a->complete) {
		if (now_ms() > deadline || poll(&pfd, 1, 100) < 0)
			return -1;
		r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0)
			return -1;
		if (http_parser_execute(&a->parser, &answer_settings, buf, (size_t)r) != (size_t)r)
			return -1;
		if (r == 0)
			break;
	}
	return a->complete ? (int)a->parser.status_code : -1;
}

static void first_line(char *s)
{
	char *p;

	for (p = s; *p; p++) {
		if (*p == '\n' || *p == '\r') {
			*p = '\0';
			return;
		}
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	}
}

static pid_t spawn(char **argv, const char *out_path)
{
	pid_t pid = fork();
	int fd;

	if (pid != 0)
		return pid;
	if (out_path) {
		fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(127);
	}
	execvp(argv[0], argv);
	_exit(127);
}

struct options {
	struct sockaddr_in to;
	const char *body;
	const char *cmd_out;
	double limit_ms;
	long count;
	long retry_ms;
	int connect_ms;
	bool wait_cmd;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	int opt;

	*o = (struct options){ .body = "hello", .limit_ms = 120e3, .count = 1, .retry_ms = 2,
			     .connect_ms = 50 };
	o->to.sin_family = AF_INET;
	o->to.sin_port = htons(8080);
	inet_pton(AF_INET, "172.16.0.2", &o->to.sin_addr);
	while ((opt = getopt(argc, argv, "+a:p:d:t:n:i:c:wo:")) != -1) {
		switch (opt) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &o->to.sin_addr) != 1)
				return -1;
			break;
		case 'p': o->to.sin_port = htons((uint16_t)atoi(optarg)); break;
		case 'd': o->body = optarg; break;
		case 't': o->limit_ms = atof(optarg) * 1e3; break;
		case 'n': o->count = atol(optarg); break;
		case 'i': o->retry_ms = atol(optarg); break;
		case 'c': o->connect_ms = atoi(optarg); break;
		case 'w': o->wait_cmd = true; break;
		case 'o': o->cmd_out = optarg; break;
		default: return -1;
		}
	}
	return o->count >= 1 && o->limit_ms > 0 && o->retry_ms >= 0 && o->connect_ms > 0 ? optind : -1;
}

// Starts the command; with -w, also waits for it to succeed. 0 or -1.
static int start_command(const struct options *o, char **argv)
{
	pid_t pid = spawn(argv, o->cmd_out);
	int status;

	if (pid < 0) {
		printf("FN_FAIL cannot start %s\n", argv[0]);
		return -1;
	}
	printf("FN_SPAWN pid=%d\n", (int)pid);
	fflush(stdout);
	if (!o->wait_cmd)
		return 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("FN_FAIL %s ended with status 0x%x\n", argv[0], (unsigned)status);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct answer a;
	double t0, t;
	long attempts = 0, i;
	int first, fd, status = -1;

	first = parse_options(argc, argv, &o);
	if (first < 0) {
		fprintf(stderr, "usage: fn-invoke [-a ADDR] [-p PORT] [-d BODY] [-t LIMIT_S] "
				"[-n COUNT] [-i RETRY_MS] [-c CONNECT_MS] [-w] [-o CMD_OUTPUT] "
				"[-- CMD ARGS...]\n");
		return 2;
	}
	t0 = now_ms();
	if (first < argc && start_command(&o, argv + first) < 0)
		return 1;
	for (;;) {
		attempts++;
		fd = try_connect(&o.to, o.wait_cmd && attempts == 1 ? ANSWER_TIMEOUT_MS : o.connect_ms);
		if (fd >= 0) {
			status = invoke_once(fd, o.body, &a);
			close(fd);
			if (status == 200)
				break;
		}
		if (now_ms() - t0 > o.limit_ms) {
			printf("FN_FAIL no 200 within %.0f ms (%ld attempts, last status %d)\n",
			       o.limit_ms, attempts, status);
			return 1;
		}
		if (o.retry_ms)
			usleep((useconds_t)o.retry_ms * 1000);
	}
	first_line(a.result);
	printf("FN_FIRST ms=%.3f attempts=%ld invocation=%lu status=200 result=%s\n", now_ms() - t0,
	       attempts, a.invocation, a.result);
	for (i = 1; i < o.count; i++) {
		t = now_ms();
		fd = try_connect(&o.to, o.connect_ms);
		status = fd < 0 ? -1 : invoke_once(fd, o.body, &a);
		if (fd >= 0)
			close(fd);
		printf("FN_WARM %ld ms=%.3f invocation=%lu status=%d\n", i, now_ms() - t, a.invocation,
		       status);
		if (status != 200)
			return 1;
	}
	return 0;
}
