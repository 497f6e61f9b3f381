/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request-body checks shared by the controller's handlers (controller.c,
 * controller_snapshot.c; internal to ignis_controller). Each failure answers
 * @resp itself with 400 and Firecracker's serde wording, "An error occurred
 * when deserializing the json body of a request: ...", so a handler only
 * has to return.
 */
#ifndef IGNIS_CONTROLLER_JSON_H
#define IGNIS_CONTROLLER_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "api/response.h"

/* 400: the body could not be deserialised, because of @msg. */
void controller_bad_body(struct api_response *resp, const char *msg);

/*
 * Rejects fields other than the @n @keys (Firecracker's deny_unknown_fields):
 * false, with @resp answered, when @body has one.
 */
bool controller_only_keys(const json_t *body, const char *const *keys, size_t n,
			  struct api_response *resp);

/*
 * @body's string @key, or NULL when it is absent. A value that is not a
 * non-empty string also gives NULL and sets *@bad, so that callers can check
 * several fields and answer once.
 */
const char *controller_opt_string(const json_t *body, const char *key, bool *bad);

#endif
