/* SPDX-License-Identifier: Apache-2.0 */
#include "api/models/fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fields_check_keys(json_t *obj, const char *section, const char *const *allowed, size_t n,
		      struct err_buf *err)
{
	const char *key;
	json_t *val;

	json_object_foreach(obj, key, val) {
		size_t i;

		for (i = 0; i < n; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (i == n && !section)
			return fail(err, "unknown field `%s`", key);
		if (i == n)
			return fail(err, "%s: unknown field `%s`", section, key);
	}
	return 0;
}

int fields_get_string(json_t *obj, const char *section, const char *key, bool required,
		      char **out, struct err_buf *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return fail(err, "%s: missing field `%s`", section, key);
		return 0;
	}
	if (!json_is_string(v))
		return fail(err, "%s.%s: expected a string", section, key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(err, "%s.%s: must not contain NUL characters", section, key);
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

int fields_get_bool(json_t *obj, const char *section, const char *key, bool *out,
		    struct err_buf *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail(err, "%s.%s: expected true or false", section, key);
	*out = json_is_true(v);
	return 0;
}

int fields_get_uint(json_t *obj, const char *section, const char *key, bool required,
		    unsigned long long min, unsigned long long max, unsigned int *out,
		    struct err_buf *err)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!v) {
		if (required)
			return fail(err, "%s: missing field `%s`", section, key);
		return 0;
	}
	if (!json_is_integer(v))
		return fail(err, "%s.%s: expected an integer", section, key);
	n = json_integer_value(v);
	if (n < 0 || (unsigned long long)n < min || (unsigned long long)n > max)
		return fail(err, "%s.%s: %lld is out of range (%llu to %llu)", section, key,
			    (long long)n, min, max);
	*out = (unsigned int)n;
	return 0;
}

int fields_get_enum(json_t *obj, const char *sec, const char *key, const char *const *names,
		    unsigned int n, int *out, struct err_buf *err)
{
	json_t *v = json_object_get(obj, key);
	char expected[160] = "";

	if (!v)
		return 0;
	if (json_is_string(v)) {
		for (unsigned int i = 0; i < n; i++) {
			if (strcmp(json_string_value(v), names[i]) == 0) {
				*out = (int)i;
				return 0;
			}
		}
	}
	for (unsigned int i = 0; i < n; i++)
		snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected),
			 "%s\"%s\"", i ? ", " : "", names[i]);
	return fail(err, "%s.%s: expected one of %s", sec, key, expected);
}

const char *fields_id_problem(const char *id)
{
	if (!id[0])
		return "The ID cannot be empty.";
	for (const char *p = id; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return "API Resource IDs can only contain alphanumeric characters and underscores.";
	}
	return NULL;
}

const char *fields_opt_string(json_t *obj, const char *key, bool *bad)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return NULL;
	if (!json_is_string(v) || !json_string_value(v)[0]) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

bool fields_is_set(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return v && !json_is_null(v);
}

int fields_get_id(json_t *obj, const char *section, const char *key, const char *label,
		  size_t max, char *out, struct err_buf *err)
{
	const char *why;
	char *id;
	int ret = fields_get_string(obj, section, key, true, &id, err);

	if (ret)
		return ret;
	why = fields_id_problem(id);
	if (!why && strlen(id) > max)
		why = "longer than 64 characters";
	if (why)
		ret = fail(err, "%s \"%s\": %s", label, id, why);
	else
		strcpy(out, id);
	free(id);
	return ret;
}
