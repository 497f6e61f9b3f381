/* SPDX-License-Identifier: Apache-2.0 */
/* Firecracker's Logger (PUT /logger) and Metrics (PUT /metrics). */
#include "api/models/parse.h"

#include <stdlib.h>
#include <string.h>

#include "api/models/fields.h"

int logger_command_parse(json_t *obj, struct logger_command *out, struct err_buf *err)
{
	static const char *const keys[] = { "log_path", "level", "show_level", "show_log_origin",
					    "module" };
	json_t *path = json_object_get(obj, "log_path");
	json_t *level = json_object_get(obj, "level");
	json_t *show_level = json_object_get(obj, "show_level");
	json_t *show_origin = json_object_get(obj, "show_log_origin");

	memset(out, 0, sizeof(*out));
	out->level = LOG_INFO;
	if (fields_check_keys(obj, NULL, keys, ARRAY_SIZE(keys), err))
		return -EINVAL;
	if ((path && !json_is_string(path)) || (level && !json_is_string(level)) ||
	    (show_level && !json_is_boolean(show_level)) ||
	    (show_origin && !json_is_boolean(show_origin)))
		return fail(err,
			    "logger: log_path and level are strings, show_level and show_log_origin booleans");
	if (level && log_level_parse(json_string_value(level), &out->level))
		return fail(err, "logger.level: expected one of Error, Warning, Info, Debug, Trace, Off");
	out->show_level = json_is_true(show_level);
	out->show_origin = json_is_true(show_origin);
	if (path) {
		out->log_path = strdup(json_string_value(path));
		if (!out->log_path)
			return err_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

int metrics_command_parse(json_t *obj, struct metrics_command *out, struct err_buf *err)
{
	static const char *const keys[] = { "metrics_path", "emit_id", "properties" };
	json_t *path = json_object_get(obj, "metrics_path");

	memset(out, 0, sizeof(*out));
	if (fields_check_keys(obj, NULL, keys, ARRAY_SIZE(keys), err))
		return -EINVAL;
	if (!path || !json_is_string(path))
		return fail(err, "metrics: missing field `metrics_path`");
	out->metrics_path = strdup(json_string_value(path));
	return out->metrics_path ? 0 : err_set(err, -ENOMEM, "out of memory");
}
