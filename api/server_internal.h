/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the API server (server.h): the state its two files share, and
 * nothing for anyone else. server.c owns it: the listening socket, the API
 * thread and its epoll loop, start and stop. conn.c serves the client
 * connections: per-connection buffers, HTTP parsing, routing and the
 * response writer, backpressure, and the list of open connections.
 * Outside the server only the HTTP fuzz target (tests/fuzz/fuzz_http.c)
 * and the connection's unit test (api/tests/test_conn.c) include it, to
 * drive one connection without the API thread.
 *
 * Forward declarations only, no server.h: server.c includes this, conn.c
 * includes server.h (for struct api_request_event), and a server.h here
 * would make the two a cycle.
 */
#ifndef IGNIS_API_SERVER_INTERNAL_H
#define IGNIS_API_SERVER_INTERNAL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmm/util/error.h"

struct api_channel;
struct api_request_event;
struct conn; /* one client connection, conn.c's own */

struct api_server {
	char *socket_path;
	dev_t sock_dev; /* identity of the socket file we created, to unlink only ours */
	ino_t sock_ino;
	size_t max_payload;
	bool typed_commands;
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
	uint64_t idle_timeout_us, request_timeout_us;
};

/*
 * Takes the accepted non-blocking socket @fd as a new connection of @srv:
 * watched on srv->epfd (EPOLLIN, tagged with the connection) and counted in
 * srv->conns/nconns. Returns 0 or -errno; @fd is then still the caller's.
 */
int api_conn_open(struct api_server *srv, int fd);

/*
 * One epoll event of @c: reads, answers every complete request, sends what
 * it can and updates its epoll interest. May close and free @c.
 */
void api_conn_event(struct conn *c, uint32_t events);

/*
 * Closes every connection idle (no request under way) for longer than
 * srv->idle_timeout_us, and every one whose request began more than
 * srv->request_timeout_us ago.
 */
void api_conn_expire(struct api_server *srv);

/*
 * Closes @c's socket and frees it. If accepting was paused for lack of fds,
 * watches the listener again: this close freed one.
 */
void api_conn_close(struct conn *c);

#endif
