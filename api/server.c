/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API server's listening socket, its thread and epoll loop, start and
 * stop. What a connection does with its bytes is conn.c's
 * (server_internal.h).
 */
#include "api/server.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/server_internal.h"

#define EVENTS_PER_WAIT 32

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
		else if (api_conn_open(srv, fd) < 0)
			close(fd);
	}
}

/* A quarter of the shorter timeout, between 10 ms and 1 s: timeouts are that late at most. */
static int expire_tick_ms(const struct api_server *srv)
{
	uint64_t t = srv->idle_timeout_us < srv->request_timeout_us ? srv->idle_timeout_us
								     : srv->request_timeout_us;

	t /= 4000;
	return t < 10 ? 10 : t > 1000 ? 1000 : (int)t;
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
		/* With connections open, wake up often enough to time them out. */
		int tick = srv->nconns ? expire_tick_ms(srv) : -1;
		int n = epoll_wait(srv->epfd, evs, EVENTS_PER_WAIT, tick);

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
				api_conn_event(tag, evs[i].events);
		}
		if (srv->nconns)
			api_conn_expire(srv);
	}
out:
	while (srv->conns)
		api_conn_close(srv->conns);
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
	srv->typed_commands = cfg->typed_commands;
	srv->idle_timeout_us =
		1000ULL * (cfg->idle_timeout_ms ? cfg->idle_timeout_ms : API_IDLE_TIMEOUT_MS);
	srv->request_timeout_us =
		1000ULL * (cfg->request_timeout_ms ? cfg->request_timeout_ms : API_REQUEST_TIMEOUT_MS);
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
