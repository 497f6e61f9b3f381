/* SPDX-License-Identifier: Apache-2.0 */
#include "api/response.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void set(struct api_response *resp, int status, char *body)
{
	free(resp->body);
	resp->status = status;
	resp->body = body;
}

void api_response_ok_json(struct api_response *resp, json_t *json)
{
	char *text = json ? json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	json_decref(json);
	if (!text) {
		api_response_error(resp, 500, "Internal error: the response could not be serialised.");
		return;
	}
	set(resp, 200, text);
}

void api_response_ok_text(struct api_response *resp, char *text)
{
	if (!text) {
		api_response_error(resp, 500, "Internal error: the response could not be serialised.");
		return;
	}
	set(resp, 200, text);
}

void api_response_no_content(struct api_response *resp)
{
	set(resp, 204, NULL);
}

/* jansson refuses strings that are not UTF-8; a message quoting client bytes may not be. */
static json_t *string_or_ascii(char *msg)
{
	json_t *s = json_string(msg);

	if (s)
		return s;
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	return json_string(msg);
}

void api_response_verror(struct api_response *resp, int status, const char *fmt, va_list ap)
{
	char *msg = NULL;
	json_t *obj = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (msg)
		obj = json_pack("{s:o}", "fault_message", string_or_ascii(msg));
	free(msg);
	/* Out of memory: the status alone still tells the client it failed. */
	set(resp, status, obj ? json_dumps(obj, JSON_COMPACT) : NULL);
	json_decref(obj);
}

void api_response_error(struct api_response *resp, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	api_response_verror(resp, status, fmt, ap);
	va_end(ap);
}

void api_response_release(struct api_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->status = 0;
	resp->deprecation = false;
}

const char *api_status_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "";
	}
}
