/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API server: HTTP/1.1 on a Unix stream socket, in its own thread
 * (named "api"), parsed with http-parser.
 *
 * For each complete request the API thread routes it (router.h) and, if the
 * router accepts it, hands it to the VMM thread through the channel
 * (channel.h) and waits for the answer; router errors are answered without
 * bothering the VMM. Requests on one connection are answered in order
 * (pipelining); a connection stays open after a response unless the client
 * asked otherwise (Connection: close, HTTP/1.0 without keep-alive).
 *
 * One epoll loop serves every connection with non-blocking sockets and
 * per-connection buffers, so a client that sends half a request or stops
 * reading its responses holds nothing but its own buffers. A client that
 * pipelines without reading is throttled: past a few hundred KiB of unread
 * responses the server stops reading its requests until it catches up.
 *
 * HTTP-level failures close the connection after the response:
 *  - Content-Length (or a chunked body) over the payload limit -> 413,
 *    {"fault_message": "Request payload with size N is larger than the
 *    limit of M allowed by server."} (Firecracker says 400 with an
 *    {"error": ...} body here; ignis keeps the fault_message convention);
 *  - anything http-parser rejects, or a request target over 4 KiB -> 400,
 *    {"fault_message": "Malformed HTTP request: <reason>."}.
 * `Expect: 100-continue` is answered with `100 Continue` (curl sends it
 * for bodies over 1 KiB). Response headers are Firecracker's:
 * `Server: Firecracker API`, `Connection: keep-alive` (or `close`),
 * `Content-Type: application/json` and `Content-Length` when there is a
 * body, `Deprecation: true` when the VMM flagged it.
 *
 * Syscalls of the API thread once thread_init has run, for its seccomp
 * filter: epoll_wait, epoll_ctl, accept4, recvfrom, sendto, write (the
 * channel's eventfd), close, futex, clock_gettime (vDSO), brk/mmap/munmap/
 * mremap/mprotect/madvise (malloc's per-thread arena), exit (thread end);
 * checked with strace on api-test-server. jansson seeds its hash
 * function on the first JSON object of the process by opening /dev/urandom:
 * call json_object_seed(0) before any thread installs a filter, or the API
 * thread's first request may be what triggers it.
 */
#ifndef IGNIS_API_SERVER_H
#define IGNIS_API_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/channel.h"
#include "api/router.h"
#include "vmm/util/error.h"

/* Firecracker's HTTP_MAX_PAYLOAD_SIZE, the default of --http-api-max-payload-size. */
#define API_DEFAULT_MAX_PAYLOAD 51200

/* Connections served at once; one more is told 503 and closed. */
#define API_MAX_CONNECTIONS 256
/*
 * A connection with no request under way is closed after this long (an
 * HTTP keep-alive timeout; clients reconnect), and a request must arrive
 * whole within API_REQUEST_TIMEOUT_MS of its first byte, so neither idle
 * nor trickling clients can hold the API_MAX_CONNECTIONS slots for good.
 */
#define API_IDLE_TIMEOUT_MS 120000
#define API_REQUEST_TIMEOUT_MS 30000

/* What the server did with one request: for logging and the API metrics. */
struct api_request_event {
	const char *method;     /* "PUT" */
	const char *target;     /* the request target as received, "/drives/rootfs" */
	enum api_action action; /* API_ACTION_NONE: answered by the router, never reached the VMM */
	int status;             /* the HTTP status sent */
	uint64_t duration_us;   /* from the request being complete to its response queued */
};

struct api_server_config {
	const char *socket_path;     /* required */
	size_t max_payload_size;     /* body limit in bytes; 0: API_DEFAULT_MAX_PAYLOAD */
	struct api_channel *channel; /* required; where routed requests go */
	/*
	 * Decode each body into a typed command on the API thread before it is
	 * sent (decode.h), as ignis's VMM thread wants. Off, the handler gets
	 * the JSON body (api/tests/fake_vmm.c).
	 */
	bool typed_commands;
	/* 0: API_IDLE_TIMEOUT_MS / API_REQUEST_TIMEOUT_MS (tests shorten them). */
	unsigned int idle_timeout_ms, request_timeout_ms;

	/*
	 * Optional, run on the API thread before it serves anything (install the
	 * thread's seccomp filter here). Non-zero (a -errno) makes
	 * api_server_start() fail with the message left in @err.
	 */
	int (*thread_init)(void *ctx, struct err_buf *err);
	void *thread_init_ctx;

	/* Optional, called on the API thread after each response is queued. */
	void (*on_request)(void *ctx, const struct api_request_event *ev);
	void *on_request_ctx;
};

struct api_server;

/*
 * Binds the socket and starts the API thread. If @socket_path exists: a
 * listening socket there is "in use" (-EADDRINUSE, nothing touched); a stale
 * socket nobody listens on is replaced; anything that is not a socket is
 * left alone (-EEXIST). Returns 0 or -errno with @err saying what failed.
 */
int api_server_start(struct api_server **out, const struct api_server_config *cfg,
		     struct err_buf *err);

/*
 * Shuts the channel down (so a request waiting on the VMM thread returns at
 * once: calling this from the VMM thread cannot deadlock), stops and joins
 * the API thread, closes every connection and unlinks the socket file if it
 * is still the one this server created. Frees @srv. NULL is a no-op.
 */
void api_server_stop(struct api_server *srv);

#endif
