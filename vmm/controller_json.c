/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/controller_json.h"

#include <string.h>

#define DESERIALIZE_ERR "An error occurred when deserializing the json body of a request: "

void controller_bad_body(struct api_response *resp, const char *msg)
{
	api_response_error(resp, 400, DESERIALIZE_ERR "%s.", msg);
}

bool controller_only_keys(const json_t *body, const char *const *keys, size_t n,
			  struct api_response *resp)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)body, key, val) {
		size_t i;

		for (i = 0; i < n && strcmp(key, keys[i]); i++)
			;
		if (i == n) {
			api_response_error(resp, 400, DESERIALIZE_ERR "unknown field `%s`.", key);
			return false;
		}
	}
	return true;
}

const char *controller_opt_string(const json_t *body, const char *key, bool *bad)
{
	const json_t *v = json_object_get(body, key);

	if (!v)
		return NULL;
	if (!json_is_string(v) || !json_string_value(v)[0]) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}
