/* SPDX-License-Identifier: Apache-2.0 */
#include "api/client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* parser->data is the client; a complete final response pauses the parser. */

static int on_message_begin(http_parser *p)
{
	struct api_client *cl = p->data;

	cl->body.len = 0;
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct api_client *cl = p->data;

	return cl->head ? 1 : 0; /* 1: a response to HEAD has no body, whatever it announces */
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct api_client *cl = p->data;

	return buf_append(&cl->body, at, len) < 0 ? -1 : 0;
}

static int on_message_complete(http_parser *p)
{
	struct api_client *cl = p->data;

	if (p->status_code < 200)
		return 0; /* an interim 1xx: the real response follows */
	cl->status = p->status_code;
	cl->done = true;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

int api_client_connect(struct api_client *cl, const char *socket_path, int timeout_ms)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };

	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
	cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cl->fd < 0)
		return -errno;
	if (connect(cl->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    (timeout_ms > 0 && (setsockopt(cl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
				setsockopt(cl->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0))) {
		int ret = -errno;

		close(cl->fd);
		cl->fd = -1;
		return ret;
	}
	http_parser_init(&cl->parser, HTTP_RESPONSE);
	cl->parser.data = cl;
	return 0;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EPIPE ? -ECONNRESET : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Parses @len bytes; bytes past the end of the response are kept for the next one. */
static int feed(struct api_client *cl, const char *data, size_t len)
{
	size_t used = http_parser_execute(&cl->parser, &settings, data, len);
	enum http_errno e = HTTP_PARSER_ERRNO(&cl->parser);

	if (e == HPE_PAUSED) {
		http_parser_pause(&cl->parser, 0);
		return buf_append(&cl->leftover, data + used, len - used);
	}
	return e == HPE_OK ? 0 : -EPROTO;
}

static int read_response(struct api_client *cl)
{
	struct buf early = cl->leftover;
	char data[16384];
	int ret = 0;

	cl->done = false;
	cl->leftover = (struct buf){ 0 };
	if (early.len)
		ret = feed(cl, early.data, early.len);
	buf_free(&early);
	while (!ret && !cl->done) {
		ssize_t n = recv(cl->fd, data, sizeof(data), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		if (n == 0) {
			/* End of stream: completes a response delimited by it, if any. */
			ret = feed(cl, data, 0);
			return !ret && cl->done ? 0 : -ECONNRESET;
		}
		ret = feed(cl, data, (size_t)n);
	}
	return ret;
}

int api_client_request(struct api_client *cl, const char *method, const char *path,
		       const char *body, struct api_client_response *resp)
{
	size_t body_len = body ? strlen(body) : 0;
	char *head = NULL;
	int ret;

	memset(resp, 0, sizeof(*resp));
	if (body_len)
		ret = asprintf(&head,
			       "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
			       "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			       method, path, body_len);
	else
		ret = asprintf(&head,
			       "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n",
			       method, path);
	if (ret < 0)
		return -ENOMEM;
	ret = send_all(cl->fd, head, strlen(head));
	free(head);
	if (!ret)
		ret = send_all(cl->fd, body, body_len);
	if (ret)
		return ret;

	cl->head = strcmp(method, "HEAD") == 0;
	ret = read_response(cl);
	if (ret)
		return ret;
	resp->status = cl->status;
	if (cl->body.len) {
		if (buf_append(&cl->body, "", 1) < 0)
			return -ENOMEM;
		cl->body.len--;
		resp->body = cl->body.data;
		resp->body_len = cl->body.len;
		cl->body = (struct buf){ 0 };
	}
	return 0;
}

void api_client_response_release(struct api_client_response *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

void api_client_close(struct api_client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	buf_free(&cl->body);
	buf_free(&cl->leftover);
}
