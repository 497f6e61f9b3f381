/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the API answers: an HTTP status and an optional JSON body.
 *
 * The VMM thread fills one in its request handler (see channel.h) with the
 * helpers below; the API thread turns it into an HTTP response and frees it.
 * Conventions, as Firecracker's: 204 and no body for a successful PUT/PATCH,
 * 200 and a JSON body for a GET, 400 and {"fault_message": "..."} for every
 * error (413 only where Firecracker uses it).
 */
#ifndef IGNIS_API_RESPONSE_H
#define IGNIS_API_RESPONSE_H

#include <stdarg.h>
#include <stdbool.h>

#include <jansson.h>

struct api_response {
	int status;       /* HTTP status code; 0 until someone answers */
	char *body;       /* malloc'd JSON text, or NULL for no body */
	bool deprecation; /* adds Firecracker's `Deprecation: true` header */
};

/* 200 with @json serialised compactly. Steals the reference to @json (may be NULL: 500). */
void api_response_ok_json(struct api_response *resp, json_t *json);

/* 200 with @text, a malloc'd JSON text the response now owns (NULL: 500). */
void api_response_ok_text(struct api_response *resp, char *text);

/* 204 No Content. */
void api_response_no_content(struct api_response *resp);

/*
 * @status (400 for nearly everything) with {"fault_message": "<formatted>"};
 * the message is JSON-escaped by jansson, so quotes and newlines are safe.
 */
void api_response_error(struct api_response *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void api_response_verror(struct api_response *resp, int status, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Frees the body and resets @resp to "not answered". Safe on a zeroed response. */
void api_response_release(struct api_response *resp);

/* "Bad Request" for 400 etc.; "" for a code this API never uses. */
const char *api_status_reason(int status);

#endif
