/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal blocking HTTP/1.1 client over a Unix socket: one request at a
 * time on one keep-alive connection, responses parsed with http-parser.
 * For ignis-ctl and the API benchmark; the VMM never uses it.
 */
#ifndef IGNIS_API_CLIENT_H
#define IGNIS_API_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <http_parser.h>

#include "api/buf.h"

struct api_client {
	int fd;
	http_parser parser;
	struct buf body;     /* the response being read */
	struct buf leftover; /* bytes after that response (none from a well-behaved server) */
	int status;
	bool done; /* the final response has been read */
	bool head; /* the request was HEAD: its response has no body */
};

struct api_client_response {
	int status;
	char *body;      /* malloc'd and NUL-terminated, or NULL when there was none */
	size_t body_len;
};

/*
 * Connects to @socket_path. @timeout_ms bounds every later send and receive
 * (0: wait forever). Returns 0 or -errno.
 */
int api_client_connect(struct api_client *cl, const char *socket_path, int timeout_ms);

/*
 * Sends one request (@body NULL or "" for none; sent as application/json)
 * and reads its response. Returns 0, or -errno: -ECONNRESET when the server
 * closed the connection first, -EPROTO for a response http-parser rejects,
 * -EAGAIN when the timeout ran out.
 */
int api_client_request(struct api_client *cl, const char *method, const char *path,
		       const char *body, struct api_client_response *resp);

void api_client_response_release(struct api_client_response *resp);
void api_client_close(struct api_client *cl);

#endif
