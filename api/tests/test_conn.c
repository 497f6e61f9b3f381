/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One client connection (api/conn.c) in-process, without the API thread:
 * the test is both the client, on one end of a socket pair, and the epoll
 * loop calling api_conn_event() for the server's end, as
 * tests/fuzz/fuzz_http.c does. The server's send buffer is made small, so
 * answers queue up in the connection rather than in the kernel: what it
 * does with them when the client half-closes is what these tests pin down.
 * Requests go to a path the router refuses itself, so no VMM thread is
 * needed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "api/server.h"
#include "api/server_internal.h"

#define TURNS 100000

static const char get[] = "GET /nope HTTP/1.1\r\n\r\n";
static const char partial_put[] = "PUT /actions HTTP/1.1\r\nContent-Length: 30\r\n\r\n{";

static struct api_server srv;
static int client = -1;

static void open_conn(void)
{
	int sv[2], small = 4096;

	memset(&srv, 0, sizeof(srv));
	srv.max_payload = API_DEFAULT_MAX_PAYLOAD;
	srv.listen_fd = srv.stop_fd = -1;
	srv.idle_timeout_us = srv.request_timeout_us = UINT64_MAX;
	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	cr_assert_geq(srv.epfd, 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	cr_assert_eq(api_conn_open(&srv, sv[0]), 0);
	client = sv[1];
}

static void close_conn(void)
{
	while (srv.conns)
		api_conn_close(srv.conns);
	close(client);
	close(srv.epfd);
}

TestSuite(conn, .init = open_conn, .fini = close_conn);

static void client_send(const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(client, p, len, MSG_NOSIGNAL);

		cr_assert_gt(n, 0, "send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* Runs the connection until the server closes it; returns all the client read (malloc'd). */
static char *serve_until_closed(size_t *len)
{
	size_t cap = 1 << 20;
	char *in = malloc(cap);
	ssize_t n = 1;

	cr_assert_not_null(in);
	*len = 0;
	for (unsigned int turns = 0; n != 0; turns++) {
		cr_assert_lt(turns, TURNS, "the server never closed the connection");
		if (srv.nconns)
			api_conn_event(srv.conns, EPOLLIN | EPOLLOUT);
		n = recv(client, in + *len, cap - *len, MSG_DONTWAIT);
		cr_assert(n >= 0 || errno == EAGAIN, "recv: %s", strerror(errno));
		if (n > 0)
			*len += (size_t)n;
		cr_assert_lt(*len, cap);
	}
	return in;
}

/* The length of the one response at the start of @p: its headers and Content-Length body. */
static size_t response_len(const char *p, size_t len)
{
	const char *end = memmem(p, len, "\r\n\r\n", 4);
	const char *cl = memmem(p, len, "Content-Length: ", 16);

	cr_assert(end && cl && cl < end, "not a response: %.*s", (int)len, p);
	return (size_t)(end + 4 - p) + strtoul(cl + 16, NULL, 10);
}

Test(conn, a_half_close_mid_request_answers_every_complete_request_in_full)
{
	enum { REQUESTS = 200 };
	size_t len, one;
	char *in;

	for (unsigned int i = 0; i < REQUESTS; i++)
		client_send(get, sizeof(get) - 1);
	client_send(partial_put, sizeof(partial_put) - 1);
	cr_assert_eq(shutdown(client, SHUT_WR), 0);

	in = serve_until_closed(&len);
	cr_assert_gt(len, 0);
	one = response_len(in, len);
	cr_assert_eq(len, REQUESTS * one, "%zu bytes answered, %u x %zu expected", len, REQUESTS,
		     one);
	for (unsigned int i = 1; i < REQUESTS; i++)
		cr_assert_eq(memcmp(in + i * one, in, one), 0, "answer %u differs", i);
	cr_assert(strstr(in, "HTTP/1.1 400 ") == in, "%.*s", (int)one, in);
	free(in);
}

Test(conn, a_half_close_mid_request_with_nothing_queued_closes_without_an_answer)
{
	size_t len;
	char *in;

	client_send(partial_put, sizeof(partial_put) - 1);
	api_conn_event(srv.conns, EPOLLIN);
	cr_assert_eq(shutdown(client, SHUT_WR), 0);

	in = serve_until_closed(&len);
	cr_assert_eq(len, 0, "the partial request was answered: %.*s", (int)len, in);
	free(in);
}
