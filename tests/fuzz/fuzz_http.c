/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the API server's HTTP framing (api/conn.c over
 * http-parser) and the router behind it, fed arbitrary bytes as a client
 * connection would send them, in one read or many.
 *
 * The connection is the server's own (api_conn_open, api_conn_event on a
 * hand-made struct api_server, no API thread), on one end of a Unix stream
 * socket pair; the harness is the client on the other end and the epoll
 * loop that calls the connection. A stand-in VMM thread serves the channel
 * and answers each routed request by its action: 204, 200 with a JSON
 * body, a 400, or a 204 flagged deprecated, so every kind of response the
 * connection writes is written. Everything else (framing, limits,
 * Expect: 100-continue, pipelining and its back-pressure, routing, the
 * typed-command decoder) runs as in ignis.
 *
 * Input layout:
 *   byte 0      flags: bit0 decode typed commands (as ignis does), bit1 a
 *               100-byte payload limit (else Firecracker's 51200), bit2 the
 *               client reads nothing until it has sent everything (the
 *               pipelining back-pressure), bit3 a small server send buffer,
 *               bits 4-5 send the bytes 1, 2, 4 or 8 times over
 *   byte 1      how the bytes are cut into reads: 0 all at once, else
 *               pieces of 1..n bytes (a fixed pseudo-random sequence)
 *   the rest    what the client sends
 * Then the client half-closes at once, answers possibly still queued in
 * the server and a request possibly cut short, and reads until the server
 * closes.
 *
 * Beyond "no crash, no leak, no UB", it checks what the client gets: a
 * sequence of responses in exactly the server's format (status line with
 * its reason, Server and Connection headers, Content-Length, and a JSON
 * object body with a fault_message for errors), nothing after a
 * "Connection: close" one, each final response reported once to
 * on_request with the same status and every one reported received in full
 * (a half-close drops only the request it cut short), and that the server
 * closes the connection once the client is done and has read everything
 * (no hang).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "api/channel.h"
#include "api/response.h"
#include "api/server.h"
#include "api/server_internal.h"
#include "tests/fuzz/invariant.h"

#define F_TYPED 0x01
#define F_SMALL_LIMIT 0x02
#define F_LAZY_READER 0x04
#define F_SMALL_SNDBUF 0x08
#define MAX_EVENTS 8192
/* Events after the client's half-close before "the server never closed" */
#define CLOSE_BOUND 100000

/* What the client received, and the statuses on_request reported. */
struct client {
	int fd;
	uint8_t *in;
	size_t in_len, in_cap;
	int statuses[MAX_EVENTS];
	unsigned int nr_events;
};

static struct api_server srv;
static struct client cl;

static void on_request(void *ctx, const struct api_request_event *ev)
{
	struct client *c = ctx;

	invariant(ev->method && ev->target, "an event without method or target");
	if (c->nr_events < MAX_EVENTS)
		c->statuses[c->nr_events] = ev->status;
	c->nr_events++;
}

/* The VMM thread's answer: one of each kind, by action. */
static void vmm_answer(void *ctx, const struct api_request *req, struct api_response *resp)
{
	(void)ctx;
	switch (req->action % 4) {
	case 0:
		api_response_no_content(resp);
		break;
	case 1:
		api_response_ok_json(resp, json_pack("{s:s,s:i}", "state", "Running", "n", req->action));
		break;
	case 2:
		api_response_error(resp, 400, "The VMM refused %s.", api_action_name(req->action));
		break;
	default:
		api_response_no_content(resp);
		resp->deprecation = true;
		break;
	}
}

static void *vmm_thread(void *arg)
{
	struct api_channel *ch = arg;
	struct pollfd pfd = { .fd = api_channel_fd(ch), .events = POLLIN };

	for (;;)
		if (poll(&pfd, 1, -1) > 0)
			api_channel_serve(ch, vmm_answer, NULL);
	return NULL;
}

static void init_once(void)
{
	static struct api_channel *ch;
	pthread_t vmm;

	if (ch)
		return;
	json_object_seed(0);
	if (api_channel_create(&ch) || pthread_create(&vmm, NULL, vmm_thread, ch))
		abort();
	srv.channel = ch;
	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	srv.listen_fd = -1;
	srv.stop_fd = -1;
	srv.on_request = on_request;
	srv.on_request_ctx = &cl;
	if (srv.epfd < 0)
		abort();
}

/* Reads what the server sent so far. */
static void drain(struct client *c)
{
	for (;;) {
		ssize_t n;

		if (c->in_cap - c->in_len < 65536) {
			c->in_cap = c->in_cap * 2 + 65536;
			c->in = realloc(c->in, c->in_cap);
			if (!c->in)
				abort();
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (n <= 0)
			return;
		c->in_len += (size_t)n;
	}
}

/* One turn of the API thread's loop for the connection, if it is still open. */
static void pump(uint32_t events)
{
	if (srv.nconns)
		api_conn_event(srv.conns, events);
}

/* Sends @len bytes; false if the server stopped taking them (closed, or paused for good). */
static bool client_send(struct client *c, const uint8_t *p, size_t len, bool lazy)
{
	unsigned int stuck = 0;

	while (len && srv.nconns) {
		ssize_t n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN || ++stuck > 16)
				return false;
			pump(EPOLLIN | EPOLLOUT);
			if (!lazy)
				drain(c);
			continue;
		}
		p += n;
		len -= (size_t)n;
		pump(EPOLLIN);
		if (!lazy)
			drain(c);
	}
	return srv.nconns != 0;
}

/* The next piece's length: 1..@split, from a fixed sequence (same input, same reads). */
static size_t piece(uint32_t *state, uint8_t split, size_t left)
{
	size_t n;

	if (!split)
		return left;
	*state = *state * 1103515245u + 12345u;
	n = 1 + (*state >> 16) % split;
	return n < left ? n : left;
}

static bool skip(const uint8_t **p, const uint8_t *end, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(end - *p) < n || memcmp(*p, s, n))
		return false;
	*p += n;
	return true;
}

static void check_body(const uint8_t *body, size_t len, int status)
{
	json_t *j = json_loadb((const char *)body, len, 0, NULL);

	invariant(j && json_is_object(j), "a response body is not a JSON object");
	if (status >= 400)
		invariant(json_is_string(json_object_get(j, "fault_message")),
			  "an error without a fault_message");
	json_decref(j);
}

struct response {
	int status;
	bool close;    /* Connection: close */
	bool bodiless; /* a Content-Length but no body: the answer to a HEAD */
};

/* The headers after the status line, in the order and form conn.c writes them. */
static void check_headers(const uint8_t **p, const uint8_t *end, struct response *r)
{
	unsigned long cl_len = 0;

	invariant(skip(p, end, "Server: Firecracker API\r\n"), "no Server header");
	if (skip(p, end, "Connection: close\r\n"))
		r->close = true;
	else
		invariant(skip(p, end, "Connection: keep-alive\r\n"), "no Connection header");
	(void)skip(p, end, "Deprecation: true\r\n");
	if (!skip(p, end, "Content-Type: application/json\r\nContent-Length: ")) {
		invariant(skip(p, end, "Content-Length: 0\r\n\r\n") ||
				  (r->status == 204 && skip(p, end, "\r\n")),
			  "headers end badly");
		return;
	}
	while (*p < end && **p >= '0' && **p <= '9' && cl_len < 1000000)
		cl_len = cl_len * 10 + (unsigned long)(*(*p)++ - '0');
	invariant(cl_len > 0 && skip(p, end, "\r\n\r\n"), "a bad Content-Length");
	/* Bodies are JSON objects: anything else here is the next response, or the end. */
	if (*p == end || **p != '{') {
		r->bodiless = true;
		return;
	}
	invariant((size_t)(end - *p) >= cl_len, "a body shorter than its Content-Length");
	check_body(*p, cl_len, r->status);
	*p += cl_len;
}

/* One response at *@p, which moves past it. */
static struct response check_response(const uint8_t **p, const uint8_t *end)
{
	struct response r = { 0 };
	char reason[64];

	invariant(skip(p, end, "HTTP/1.1 ") && end - *p >= 4, "not a status line");
	for (int i = 0; i < 3; i++) {
		invariant((*p)[i] >= '0' && (*p)[i] <= '9', "a status that is not 3 digits");
		r.status = r.status * 10 + ((*p)[i] - '0');
	}
	*p += 3;
	snprintf(reason, sizeof(reason), " %s\r\n", api_status_reason(r.status));
	invariant(reason[1] != '\r' && skip(p, end, reason), "a status without its reason");
	if (r.status == 100)
		invariant(skip(p, end, "\r\n"), "100 Continue with headers");
	else
		check_headers(p, end, &r);
	return r;
}

static size_t count_head(const uint8_t *p, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i + 4 <= len; i++)
		n += memcmp(p + i, "HEAD", 4) == 0;
	return n;
}

static void check_answers(const struct client *c, size_t heads)
{
	const uint8_t *p = c->in, *end = c->in + c->in_len;
	unsigned int finals = 0, bodiless = 0;

	while (p < end) {
		struct response r = check_response(&p, end);

		if (r.status == 100)
			continue;
		if (finals < c->nr_events && finals < MAX_EVENTS)
			invariant(c->statuses[finals] == r.status, "on_request reported another status");
		finals++;
		bodiless += r.bodiless;
		invariant(!r.close || p == end, "a response after Connection: close");
	}
	invariant(finals <= c->nr_events, "a response on_request never saw");
	/* The connection was never broken (the client reads to the end): nothing is dropped. */
	invariant(finals >= c->nr_events, "a response queued never reached the client in full");
	invariant(bodiless <= heads, "a body left out of a response to no HEAD");
}

static int connect_pair(uint8_t flags)
{
	int sv[2], small = 4096;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (flags & F_SMALL_SNDBUF)
		(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	if (api_conn_open(&srv, sv[0])) {
		close(sv[0]);
		close(sv[1]);
		return -ENOMEM;
	}
	cl.fd = sv[1];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *text = data + 2;
	size_t len = size - 2;
	unsigned int repeat, turns = 0;
	uint32_t state = 1;
	bool lazy, open = true;

	if (size < 2)
		return 0;
	init_once();
	srv.typed_commands = data[0] & F_TYPED;
	srv.max_payload = data[0] & F_SMALL_LIMIT ? 100 : API_DEFAULT_MAX_PAYLOAD;
	lazy = data[0] & F_LAZY_READER;
	repeat = 1u << ((data[0] >> 4) & 3);
	cl.in_len = 0;
	cl.nr_events = 0;
	if (connect_pair(data[0]))
		return 0;

	for (unsigned int r = 0; r < repeat && open; r++) {
		for (size_t off = 0, n; off < len && open; off += n) {
			n = piece(&state, data[1], len - off);
			open = client_send(&cl, text + off, n, lazy);
		}
	}
	/* At once, answers still in flight: every complete request must be answered anyway. */
	shutdown(cl.fd, SHUT_WR);
	while (srv.nconns) {
		invariant(++turns < CLOSE_BOUND, "the server never closed a finished connection");
		drain(&cl);
		pump(EPOLLIN | EPOLLOUT);
	}
	drain(&cl);
	close(cl.fd);
	check_answers(&cl, count_head(text, len));
	return 0;
}
