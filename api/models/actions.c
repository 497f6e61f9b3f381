/* SPDX-License-Identifier: Apache-2.0 */
/* Firecracker's InstanceActionInfo (PUT /actions) and Vm (PATCH /vm). */
#include "api/models/parse.h"

#include <string.h>

#include "api/models/fields.h"

int instance_action_parse(json_t *obj, enum instance_action *out, struct err_buf *err)
{
	static const char *const keys[] = { "action_type" };
	static const struct {
		const char *name;
		enum instance_action action;
	} actions[] = {
		{ "InstanceStart", INSTANCE_START },
		{ "SendCtrlAltDel", INSTANCE_SEND_CTRL_ALT_DEL },
		{ "FlushMetrics", INSTANCE_FLUSH_METRICS },
	};
	json_t *type = json_object_get(obj, "action_type");

	if (fields_check_keys(obj, NULL, keys, ARRAY_SIZE(keys), err))
		return -EINVAL;
	if (!type || !json_is_string(type))
		return fail(err, "missing field `action_type`");
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
		if (strcmp(json_string_value(type), actions[i].name) == 0) {
			*out = actions[i].action;
			return 0;
		}
	}
	return fail(err,
		    "unknown variant of action_type: expected InstanceStart, SendCtrlAltDel or FlushMetrics");
}

int vm_state_parse(json_t *obj, enum vm_state_request *out, struct err_buf *err)
{
	static const char *const keys[] = { "state" };
	json_t *state = json_object_get(obj, "state");
	const char *s = json_is_string(state) ? json_string_value(state) : "";

	if (fields_check_keys(obj, NULL, keys, ARRAY_SIZE(keys), err))
		return -EINVAL;
	if (strcmp(s, "Paused") == 0)
		*out = VM_STATE_PAUSED;
	else if (strcmp(s, "Resumed") == 0)
		*out = VM_STATE_RESUMED;
	else
		return fail(err, "state: expected \"Paused\" or \"Resumed\"");
	return 0;
}
