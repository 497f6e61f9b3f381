/* SPDX-License-Identifier: Apache-2.0 */
#include "api/server.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#include "api/buf.h"

#define READ_CHUNK 16384
#define MAX_TARGET 4096
/* Unsent responses past which a pipelining client's requests stop being read, and resume. */
#define OUT_HIGH_WATER (256 * 1024)
#define OUT_LOW_WATER (64 * 1024)
#define EVENTS_PER_WAIT 32

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

	struct conn *prev, *next;
};

struct api_server {
	char *socket_path;
	dev_t sock_dev; /* identity of the socket file we created, to unlink only ours */
	ino_t sock_ino;
	size_t max_payload;
	struct api_channel *channel;
	void (*on_request)(void *ctx, const struct api_request_event *ev);
	void *on_request_ctx;
	int (*thread_init)(void *ctx, struct err_buf *err);
	void *thread_init_ctx;

	int listen_fd, stop_fd, epfd;
	bool accept_paused; /* out of fds: stop accepting until a connection closes */
	pthread_t thread;
	sem_t started;
	int init_ret;
	struct err_buf init_err;

	struct conn *conns;
	unsigned int nconns;
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
		/* The client is done sending: mid-request it cannot be answered; otherwise
		 * it may still be reading the answers to what it sent (shutdown(SHUT_WR)). */
		if (c->in_message)
			c->broken = true;
		else
			c->closing = true;
		return;
	}
	feed(c, data, (size_t)n);
}

static void conn_close(struct conn *c)
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
		conn_close(c);
		return;
	}
	if (!c->closing && !c->paused)
		want |= EPOLLIN;
	if (unsent(c))
		want |= EPOLLOUT;
	if (want != c->events) {
		struct epoll_event ev = { .events = want, .data.ptr = c };

		if (epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
			conn_close(c);
			return;
		}
		c->events = want;
	}
}

static void conn_event(struct conn *c, uint32_t events)
{
	if (events & EPOLLERR) {
		conn_close(c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP)) && !c->closing && !c->paused)
		conn_read(c);
	conn_progress(c);
}

static int conn_open(struct api_server *srv, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	if (!c)
		return -ENOMEM;
	c->srv = srv;
	c->fd = fd;
	c->events = EPOLLIN;
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

static void refuse_busy(int fd)
{
	static const char body[] = "{\"fault_message\":\"Too many open connections.\"}";
	char msg[256];
	int n = snprintf(msg, sizeof(msg),
			 "HTTP/1.1 503 Service Unavailable\r\nServer: Firecracker API\r\n"
			 "Connection: close\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 sizeof(body) - 1, body);

	/* Best effort: a fresh socket's buffer takes this in one go or the client is gone. */
	ssize_t sent = send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);

	(void)sent;
	close(fd);
}

static void accept_clients(struct api_server *srv)
{
	for (;;) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN) {
				/* Out of fds or memory: the listener would stay readable and spin. */
				struct epoll_event ev = { .events = 0, .data.ptr = &srv->listen_fd };

				if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, srv->listen_fd, &ev) == 0)
					srv->accept_paused = true;
			}
			return;
		}
		if (srv->nconns >= API_MAX_CONNECTIONS)
			refuse_busy(fd);
		else if (conn_open(srv, fd) < 0)
			close(fd);
	}
}

static void *server_thread(void *arg)
{
	struct api_server *srv = arg;
	struct epoll_event evs[EVENTS_PER_WAIT];

	pthread_setname_np(pthread_self(), "api");
	if (srv->thread_init)
		srv->init_ret = srv->thread_init(srv->thread_init_ctx, &srv->init_err);
	sem_post(&srv->started);
	if (srv->init_ret)
		return NULL;
	for (;;) {
		int n = epoll_wait(srv->epfd, evs, EVENTS_PER_WAIT, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;

			if (tag == &srv->stop_fd)
				goto out;
			if (tag == &srv->listen_fd)
				accept_clients(srv);
			else
				conn_event(tag, evs[i].events);
		}
	}
out:
	while (srv->conns)
		conn_close(srv->conns);
	return NULL;
}

/* A socket file at @path: refuse if someone listens there, remove it if stale. */
static int clear_path(const char *path, const struct sockaddr_un *addr, struct err_buf *err)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(err, -errno, "API socket %s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return err_set(err, -EEXIST, "API socket %s: the path exists and is not a socket",
			       path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(err, -errno, "socket: %s", strerror(errno));
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 ? 0 : -errno;
	close(fd);
	/* EAGAIN: a listener whose backlog is full is still a live listener. */
	if (ret == 0 || ret == -EAGAIN)
		return err_set(err, -EADDRINUSE,
			       "API socket %s: socket in use (another process is listening on it)",
			       path);
	if (ret != -ECONNREFUSED)
		return err_set(err, ret, "API socket %s: cannot tell whether it is in use: %s", path,
			       strerror(-ret));
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set(err, -errno, "API socket %s: cannot remove the stale socket: %s",
			       path, strerror(errno));
	return 0;
}

static int open_listener(struct api_server *srv, struct err_buf *err)
{
	const char *path = srv->socket_path;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int ret;

	if (strlen(path) >= sizeof(addr.sun_path))
		return err_set(err, -ENAMETOOLONG, "API socket path %s is too long (max %zu bytes)",
			       path, sizeof(addr.sun_path) - 1);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	ret = clear_path(path, &addr, err);
	if (ret)
		return ret;
	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->listen_fd < 0)
		return err_set(err, -errno, "socket: %s", strerror(errno));
	if (bind(srv->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return err_set(err, -errno, "API socket %s: bind: %s", path, strerror(errno));
	if (stat(path, &st) == 0) {
		srv->sock_dev = st.st_dev;
		srv->sock_ino = st.st_ino;
	}
	if (listen(srv->listen_fd, SOMAXCONN) < 0)
		return err_set(err, -errno, "API socket %s: listen: %s", path, strerror(errno));
	return 0;
}

/* The listener and the stop eventfd are told apart from connections by their tag. */
static int epoll_watch(struct api_server *srv, int *fd_tag, struct err_buf *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = fd_tag };
	int fd = *fd_tag;

	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return err_set(err, -errno, "epoll_ctl: %s", strerror(errno));
	return 0;
}

static void unlink_ours(struct api_server *srv)
{
	struct stat st;

	if (srv->sock_ino && stat(srv->socket_path, &st) == 0 && st.st_dev == srv->sock_dev &&
	    st.st_ino == srv->sock_ino)
		unlink(srv->socket_path);
}

static void release(struct api_server *srv)
{
	if (srv->listen_fd >= 0) {
		unlink_ours(srv);
		close(srv->listen_fd);
	}
	if (srv->stop_fd >= 0)
		close(srv->stop_fd);
	if (srv->epfd >= 0)
		close(srv->epfd);
	free(srv->socket_path);
	free(srv);
}

/* The API thread takes no process-directed signals: those are the VMM thread's. */
static int spawn(struct api_server *srv, struct err_buf *err)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&srv->thread, NULL, server_thread, srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return err_set(err, -ret, "cannot start the API thread: %s", strerror(ret));
	while (sem_wait(&srv->started) < 0 && errno == EINTR)
		;
	if (srv->init_ret) {
		pthread_join(srv->thread, NULL);
		if (err)
			*err = srv->init_err;
		return srv->init_ret;
	}
	return 0;
}

int api_server_start(struct api_server **out, const struct api_server_config *cfg,
		     struct err_buf *err)
{
	struct api_server *srv;
	int ret;

	if (!cfg->socket_path || !cfg->channel)
		return err_set(err, -EINVAL, "API server: no socket path or channel");
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return err_set(err, -ENOMEM, "out of memory");
	srv->listen_fd = srv->stop_fd = srv->epfd = -1;
	srv->socket_path = strdup(cfg->socket_path);
	srv->max_payload = cfg->max_payload_size ? cfg->max_payload_size : API_DEFAULT_MAX_PAYLOAD;
	srv->channel = cfg->channel;
	srv->on_request = cfg->on_request;
	srv->on_request_ctx = cfg->on_request_ctx;
	srv->thread_init = cfg->thread_init;
	srv->thread_init_ctx = cfg->thread_init_ctx;
	if (!srv->socket_path) {
		ret = err_set(err, -ENOMEM, "out of memory");
		goto err_release;
	}
	ret = open_listener(srv, err);
	if (ret)
		goto err_release;
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	srv->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->epfd < 0 || srv->stop_fd < 0) {
		ret = err_set(err, -errno, "epoll/eventfd: %s", strerror(errno));
		goto err_release;
	}
	ret = epoll_watch(srv, &srv->listen_fd, err);
	if (!ret)
		ret = epoll_watch(srv, &srv->stop_fd, err);
	if (ret)
		goto err_release;
	if (sem_init(&srv->started, 0, 0) < 0) {
		ret = err_set(err, -errno, "sem_init: %s", strerror(errno));
		goto err_release;
	}
	ret = spawn(srv, err);
	if (ret)
		goto err_sem;
	*out = srv;
	return 0;

err_sem:
	sem_destroy(&srv->started);
err_release:
	release(srv);
	return ret;
}

void api_server_stop(struct api_server *srv)
{
	uint64_t one = 1;
	ssize_t n;

	if (!srv)
		return;
	api_channel_shutdown(srv->channel);
	n = write(srv->stop_fd, &one, sizeof(one));
	(void)n; /* cannot fail: the counter of a fresh eventfd does not overflow */
	pthread_join(srv->thread, NULL);
	sem_destroy(&srv->started);
	release(srv);
}
