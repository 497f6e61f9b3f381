// SPDX-License-Identifier: Apache-2.0
// ignis-fn-server: the reference function runtime of the function guest
// (scripts/guest/build-fn-rootfs.sh). A small HTTP/1.1 server, one request
// per connection, one connection at a time, as a function instance serves
// one invocation at a time:
//
//   POST /invoke  runs the function: `/bin/sh -c COMMAND` with the request
//                 body on stdin; answers 200 with its stdout (500 if it
//                 exits non-zero). COMMAND is the text of the command file
//                 (default /etc/fn/command), read once at start-up.
//   GET /health   200 "ok".
//
// Every answer carries X-Fn-Invocation: the number of /invoke requests this
// process has served, a counter that lives in guest RAM only (a restored
// snapshot continues it; a rewound one goes back). Request parsing is
// http-parser's (linked statically: the guest has no libc of its own).
//
// usage: ignis-fn-server [-p PORT] [-c COMMAND_FILE]
// Prints "FN_READY port=<n> invocation=<n>" on stdout once it listens.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
	FN_PATH_MAX = 256,
	FN_BODY_MAX = 1 << 20,   // request body limit: 413 above
	FN_OUTPUT_MAX = 1 << 20, // function output kept; the rest is drained
	FN_COMMAND_MAX = 4096,
	FN_IO_TIMEOUT_S = 10,
};

struct fn_server {
	int listen_fd;
	char command[FN_COMMAND_MAX];
	unsigned long invocations;
};

struct fn_request {
	http_parser parser;
	char path[FN_PATH_MAX];
	size_t path_len;
	bool path_too_long;
	char *body;
	size_t body_len;
	bool body_too_big;
	bool complete;
};

struct fn_output {
	char *data;
	size_t len;
	int exit_status; // shell convention: 128 + signal for a killed function
};

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct fn_request *r = p->data;

	if (len >= sizeof(r->path) - r->path_len) {
		r->path_too_long = true;
		return 0;
	}
	memcpy(r->path + r->path_len, at, len);
	r->path_len += len;
	r->path[r->path_len] = '\0';
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct fn_request *r = p->data;
	char *grown;

	if (r->body_too_big || len > FN_BODY_MAX - r->body_len) {
		r->body_too_big = true;
		return 0;
	}
	grown = realloc(r->body, r->body_len + len);
	if (!grown) {
		r->body_too_big = true;
		return 0;
	}
	r->body = grown;
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	((struct fn_request *)p->data)->complete = true;
	// Stop here: one request per connection, whatever follows is ignored.
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings fn_parser_settings = {
	.on_url = on_url,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

// Reads and parses one request; 0, or the HTTP status to answer with.
static int fn_read_request(int fd, struct fn_request *r)
{
	char buf[16384];
	ssize_t n;
	size_t done;

	http_parser_init(&r->parser, HTTP_REQUEST);
	r->parser.data = r;
	while (!r->complete) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 408; // SO_RCVTIMEO expired, or the peer reset
		done = http_parser_execute(&r->parser, &fn_parser_settings, buf, (size_t)n);
		if (r->complete)
			break;
		if (n == 0 || done != (size_t)n || HTTP_PARSER_ERRNO(&r->parser) != HPE_OK)
			return 400;
	}
	if (r->path_too_long)
		return 414;
	if (r->body_too_big)
		return 413;
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void fn_reply(int fd, int status, const char *reason, unsigned long invocation,
		     int fn_exit, const char *body, size_t len)
{
	char head[512], exit_line[32] = "";
	int n;

	if (fn_exit >= 0)
		snprintf(exit_line, sizeof(exit_line), "X-Fn-Exit: %d\r\n", fn_exit);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
		     "X-Fn-Invocation: %lu\r\n%sConnection: close\r\n\r\n",
		     status, reason, len, invocation, exit_line);
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	if (write_all(fd, head, (size_t)n) == 0 && len > 0)
		(void)write_all(fd, body, len);
}

// The function's child: stdin and stdout are the pipes, stderr the console.
static void fn_exec_child(const char *command, int in_fd, int out_fd)
{
	if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0)
		_exit(127);
	execl("/bin/sh", "sh", "-c", command, (char *)NULL);
	_exit(127);
}

// Feeds the body and collects the output at the same time (a function may
// write before it has read everything: no deadlock on a full pipe).
static int fn_pump(int to_child, int from_child, const char *body, size_t len,
		   struct fn_output *out)
{
	char buf[16384];
	size_t sent = 0;
	ssize_t n;

	if (len == 0) {
		close(to_child);
		to_child = -1;
	}
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = from_child, .events = POLLIN },
			{ .fd = to_child, .events = POLLOUT },
		};
		if (poll(pfd, to_child >= 0 ? 2 : 1, FN_IO_TIMEOUT_S * 1000) <= 0) {
			if (errno == EINTR)
				continue;
			break; // a function that hangs gets what it wrote so far
		}
		if (to_child >= 0 && (pfd[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			n = write(to_child, body + sent, len - sent);
			if (n > 0)
				sent += (size_t)n;
			if (n < 0 || sent == len) {
				close(to_child); // EOF for the function (or it stopped reading)
				to_child = -1;
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(from_child, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (out->len < FN_OUTPUT_MAX) {
				size_t keep = (size_t)n;
				if (keep > FN_OUTPUT_MAX - out->len)
					keep = FN_OUTPUT_MAX - out->len;
				memcpy(out->data + out->len, buf, keep);
				out->len += keep;
			}
		}
	}
	if (to_child >= 0)
		close(to_child);
	return 0;
}

static int fn_run(const char *command, const char *body, size_t len, struct fn_output *out)
{
	int in[2], outp[2], status = 0;
	pid_t pid;

	out->len = 0;
	out->exit_status = 127;
	out->data = malloc(FN_OUTPUT_MAX);
	if (!out->data)
		return -ENOMEM;
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(outp, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	pid = fork();
	if (pid == 0)
		fn_exec_child(command, in[0], outp[1]);
	close(in[0]);
	close(outp[1]);
	if (pid < 0) {
		close(in[1]);
		close(outp[0]);
		return -EAGAIN;
	}
	fn_pump(in[1], outp[0], body, len, out);
	close(outp[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	out->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

static const char *fn_reason(int status)
{
	switch (status) {
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	default: return "Bad Request";
	}
}

static void fn_serve_one(struct fn_server *s, int fd)
{
	struct fn_request r = { 0 };
	struct fn_output out = { 0 };
	int status = fn_read_request(fd, &r);
	bool post = r.parser.method == HTTP_POST;

	if (status) {
		fn_reply(fd, status, fn_reason(status), s->invocations, -1, "bad request\n", 12);
	} else if (strcmp(r.path, "/health") == 0 && r.parser.method == HTTP_GET) {
		fn_reply(fd, 200, "OK", s->invocations, -1, "ok\n", 3);
	} else if (strcmp(r.path, "/invoke") == 0 && post) {
		s->invocations++;
		if (fn_run(s->command, r.body, r.body_len, &out) < 0)
			fn_reply(fd, 503, "Service Unavailable", s->invocations, -1, "no fork\n", 8);
		else
			fn_reply(fd, out.exit_status ? 500 : 200, out.exit_status ? "Function Failed" : "OK",
				 s->invocations, out.exit_status, out.data, out.len);
	} else if (strcmp(r.path, "/invoke") == 0 || strcmp(r.path, "/health") == 0) {
		fn_reply(fd, 405, "Method Not Allowed", s->invocations, -1, "method not allowed\n", 19);
	} else {
		fn_reply(fd, 404, "Not Found", s->invocations, -1, "not found\n", 10);
	}
	free(out.data);
	free(r.body);
}

static int fn_listen(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int fn_load_command(struct fn_server *s, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, s->command, sizeof(s->command) - 1);
	close(fd);
	if (n <= 0 || (size_t)n == sizeof(s->command) - 1)
		return -1; // empty, unreadable, or too long to be sure it is whole
	s->command[n] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	struct fn_server s = { .listen_fd = -1 };
	const char *command_file = "/etc/fn/command";
	struct timeval tv = { .tv_sec = FN_IO_TIMEOUT_S };
	int port = 8080, opt, fd, one = 1;

	while ((opt = getopt(argc, argv, "p:c:")) != -1) {
		if (opt == 'p')
			port = atoi(optarg);
		else if (opt == 'c')
			command_file = optarg;
		else
			return 2;
	}
	if (port <= 0 || port > 65535) {
		fprintf(stderr, "fn-server: bad port\n");
		return 2;
	}
	if (fn_load_command(&s, command_file) < 0) {
		fprintf(stderr, "fn-server: cannot read the command from %s\n", command_file);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	s.listen_fd = fn_listen(port);
	if (s.listen_fd < 0) {
		perror("fn-server: listen");
		return 1;
	}
	printf("FN_READY port=%d invocation=%lu\n", port, s.invocations);
	fflush(stdout);
	for (;;) {
		fd = accept4(s.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fn_serve_one(&s, fd);
		close(fd);
	}
}
