/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API server's client connections (server_internal.h): each one's
 * buffers, its http-parser callbacks, routing a complete request to the VMM
 * thread, the response writer, and the backpressure of pipelining.
 */
#include "api/server_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#include "api/buf.h"
#include "api/decode.h"
#include "api/server.h"

#define READ_CHUNK 16384
#define MAX_TARGET 4096
/* Unsent responses past which a pipelining client's requests stop being read, and resume. */
#define OUT_HIGH_WATER (256 * 1024)
#define OUT_LOW_WATER (64 * 1024)

struct conn {
	struct api_server *srv;
	int fd;
	uint32_t events; /* the epoll interest currently registered */
	http_parser parser;

	/* The request being read. */
	struct buf url, body;
	char hdr_field[8];  /* enough for "Expect"; longer names never match */
	char hdr_value[16]; /* enough for "100-continue" */
	size_t hdr_field_len, hdr_value_len;
	bool hdr_in_value;
	bool expect_continue;
	bool in_message; /* between the first byte of a request and its end */

	struct buf out; /* responses not yet sent, from out_off on */
	size_t out_off;
	struct buf stash; /* bytes read while the parser was paused, to parse later */
	bool paused;      /* backpressure: the client is not reading its responses */
	bool closing;     /* no more requests: send what is queued, then close */
	bool broken;      /* the peer is gone or memory ran out: close now */
	uint64_t active_us;        /* the last event on the socket */
	uint64_t message_start_us; /* the first byte of the request being read */

	struct conn *prev, *next;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static size_t unsent(const struct conn *c)
{
	return c->out.len - c->out_off;
}

static void queue(struct conn *c, const void *p, size_t n)
{
	if (buf_append(&c->out, p, n) < 0)
		c->broken = true;
}

static void queue_response(struct conn *c, const struct api_response *r, bool keep_alive,
			   bool head)
{
	size_t body_len = r->body ? strlen(r->body) : 0;
	char hdr[256];
	int n;

	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %d %s\r\nServer: Firecracker API\r\nConnection: %s\r\n%s", r->status,
		     api_status_reason(r->status), keep_alive ? "keep-alive" : "close",
		     r->deprecation ? "Deprecation: true\r\n" : "");
	if (r->body)
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n,
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			      body_len);
	else if (r->status == 204) /* RFC 9110: a 204 carries no Content-Length */
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "\r\n");
	else
		n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "Content-Length: 0\r\n\r\n");
	queue(c, hdr, (size_t)n);
	if (!head && body_len)
		queue(c, r->body, body_len);
}

static void notify(struct conn *c, const char *method, enum api_action action, int status,
		   uint64_t start_us)
{
	struct api_server *srv = c->srv;
	struct api_request_event ev = {
		.method = method,
		.target = buf_cstr(&c->url),
		.action = action,
		.status = status,
		.duration_us = now_us() - start_us,
	};

	if (srv->on_request)
		srv->on_request(srv->on_request_ctx, &ev);
}

/* An HTTP-level failure: answer it, then close the connection. */
__attribute__((format(printf, 3, 4)))
static void reject(struct conn *c, int status, const char *fmt, ...)
{
	struct api_response resp = { 0 };
	uint64_t start = now_us();
	va_list ap;

	va_start(ap, fmt);
	api_response_verror(&resp, status, fmt, ap);
	va_end(ap);
	queue_response(c, &resp, false, false);
	notify(c, c->url.len ? http_method_str(c->parser.method) : "", API_ACTION_NONE, status,
	       start);
	api_response_release(&resp);
	c->closing = true;
}

/* Route, hand to the VMM thread, queue the answer: one complete request. */
static void dispatch(struct conn *c, bool keep_alive)
{
	const char *method = http_method_str(c->parser.method);
	const char *target = buf_cstr(&c->url);
	const char *body = buf_cstr(&c->body);
	enum api_action action = API_ACTION_NONE;
	struct api_response resp = { 0 };
	struct api_request req;
	uint64_t start = now_us();

	if (api_route(method, target, body, c->body.len, &req, &resp) == 0) {
		action = req.action;
		if (c->srv->typed_commands && api_request_decode(&req))
			api_response_error(&resp, 500, "Internal error: out of memory.");
		else
			api_channel_submit(c->srv->channel, &req, &resp);
		api_request_release(&req);
	}
	queue_response(c, &resp, keep_alive, c->parser.method == HTTP_HEAD);
	notify(c, method, action, resp.status, start);
	api_response_release(&resp);
}

/* http-parser callbacks: parser->data is the connection. Non-zero stops the parse. */

static int on_message_begin(http_parser *p)
{
	struct conn *c = p->data;

	c->in_message = true;
	c->message_start_us = now_us();
	c->url.len = 0;
	c->body.len = 0;
	c->hdr_field_len = 0;
	c->hdr_value_len = 0;
	c->hdr_in_value = false;
	c->expect_continue = false;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	if (c->url.len + len > MAX_TARGET) {
		reject(c, 400, "Malformed HTTP request: the request target is longer than %d bytes.",
		       MAX_TARGET);
		return -1;
	}
	if (buf_append(&c->url, at, len) < 0) {
		c->broken = true;
		return -1;
	}
	return 0;
}

/* Keeps the first @cap bytes of a header name or value; *len counts them all. */
static void collect(char *dst, size_t cap, size_t *len, const char *at, size_t n)
{
	if (*len < cap)
		memcpy(dst + *len, at, n < cap - *len ? n : cap - *len);
	*len += n;
}

static void header_done(struct conn *c)
{
	static const char name[] = "expect", value[] = "100-continue";

	if (c->hdr_field_len == sizeof(name) - 1 &&
	    strncasecmp(c->hdr_field, name, sizeof(name) - 1) == 0 &&
	    c->hdr_value_len == sizeof(value) - 1 &&
	    strncasecmp(c->hdr_value, value, sizeof(value) - 1) == 0)
		c->expect_continue = true;
	c->hdr_field_len = 0;
	c->hdr_value_len = 0;
	c->hdr_in_value = false;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	if (c->hdr_in_value)
		header_done(c);
	collect(c->hdr_field, sizeof(c->hdr_field), &c->hdr_field_len, at, len);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	c->hdr_in_value = true;
	collect(c->hdr_value, sizeof(c->hdr_value), &c->hdr_value_len, at, len);
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct conn *c = p->data;

	if (c->hdr_in_value)
		header_done(c);
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->srv->max_payload) {
		reject(c, 413,
		       "Request payload with size %llu is larger than the limit of %zu allowed by "
		       "server.",
		       (unsigned long long)p->content_length, c->srv->max_payload);
		return -1;
	}
	if (c->expect_continue) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		queue(c, cont, sizeof(cont) - 1);
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	/* Only a chunked body can get here over the limit: Content-Length was checked. */
	if (len > c->srv->max_payload - c->body.len) {
		reject(c, 413, "Request payload is larger than the limit of %zu allowed by server.",
		       c->srv->max_payload);
		return -1;
	}
	if (buf_append(&c->body, at, len) < 0) {
		c->broken = true;
		return -1;
	}
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct conn *c = p->data;
	bool keep_alive = http_should_keep_alive(p);

	c->in_message = false;
	dispatch(c, keep_alive);
	if (!keep_alive)
		c->closing = true;
	else if (unsent(c) > OUT_HIGH_WATER)
		c->paused = true;
	/* Stop here; feed() keeps the rest of the bytes for later (or drops them if closing). */
	if (c->closing || c->paused || c->broken)
		http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void feed(struct conn *c, const char *data, size_t len)
{
	size_t used = http_parser_execute(&c->parser, &parser_settings, data, len);
	enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);

	if (c->closing || c->broken)
		return;
	if (c->parser.upgrade) {
		/* Upgrade/CONNECT: the request was answered; nothing else is spoken here. */
		c->closing = true;
		return;
	}
	if (e == HPE_PAUSED) {
		if (buf_append(&c->stash, data + used, len - used) < 0)
			c->broken = true;
		return;
	}
	if (e != HPE_OK)
		reject(c, 400, "Malformed HTTP request: %s.", http_errno_description(e));
}

static void resume(struct conn *c)
{
	struct buf pending = c->stash;

	c->stash = (struct buf){ 0 };
	c->paused = false;
	http_parser_pause(&c->parser, 0);
	feed(c, pending.data, pending.len);
	buf_free(&pending);
}

static void flush(struct conn *c)
{
	while (unsent(c)) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, unsent(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				c->broken = true; /* EPIPE, ECONNRESET: the client left */
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out.len = 0;
	c->out_off = 0;
}

static void conn_read(struct conn *c)
{
	char data[READ_CHUNK];
	ssize_t n = recv(c->fd, data, sizeof(data), MSG_DONTWAIT);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			c->broken = true;
		return;
	}
	if (n == 0) {
		/*
		 * The client is done sending (shutdown(SHUT_WR)) but may still be
		 * reading the answers to what it sent: send them all, then close. A
		 * request cut short by the EOF can never be completed: drop it
		 * unanswered (as Firecracker does), and with it the request timeout,
		 * so only the idle timeout bounds the wait for the client to read.
		 */
		c->in_message = false;
		c->closing = true;
		return;
	}
	feed(c, data, (size_t)n);
}

void api_conn_close(struct conn *c)
{
	struct api_server *srv = c->srv;

	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	buf_free(&c->url);
	buf_free(&c->body);
	buf_free(&c->out);
	buf_free(&c->stash);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	srv->nconns--;
	if (srv->accept_paused) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &srv->listen_fd };

		if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->listen_fd, &ev) == 0)
			srv->accept_paused = false;
	}
}

/* After any I/O: send, un-throttle, close when done, and watch for what comes next. */
static void conn_progress(struct conn *c)
{
	uint32_t want = 0;

	flush(c);
	while (!c->broken && !c->closing && c->paused && unsent(c) <= OUT_LOW_WATER) {
		resume(c);
		flush(c);
	}
	if (c->broken || (c->closing && !unsent(c))) {
		api_conn_close(c);
		return;
	}
	if (!c->closing && !c->paused)
		want |= EPOLLIN;
	if (unsent(c))
		want |= EPOLLOUT;
	if (want != c->events) {
		struct epoll_event ev = { .events = want, .data.ptr = c };

		if (epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
			api_conn_close(c);
			return;
		}
		c->events = want;
	}
}

void api_conn_expire(struct api_server *srv)
{
	uint64_t now = now_us();
	struct conn *next;

	for (struct conn *c = srv->conns; c; c = next) {
		next = c->next;
		if (c->in_message ? now - c->message_start_us > srv->request_timeout_us
				  : now - c->active_us > srv->idle_timeout_us)
			api_conn_close(c);
	}
}

void api_conn_event(struct conn *c, uint32_t events)
{
	if (events & EPOLLERR) {
		api_conn_close(c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP)) && !c->closing && !c->paused)
		conn_read(c);
	/* After the request's answer (which may have taken long): idle from now. */
	c->active_us = now_us();
	conn_progress(c);
}

int api_conn_open(struct api_server *srv, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	if (!c)
		return -ENOMEM;
	c->srv = srv;
	c->fd = fd;
	c->events = EPOLLIN;
	c->active_us = now_us();
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		return -errno;
	}
	c->next = srv->conns;
	if (c->next)
		c->next->prev = c;
	srv->conns = c;
	srv->nconns++;
	return 0;
}
