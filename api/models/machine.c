/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's MachineConfiguration (PUT and PATCH /machine-config, the
 * config file's "machine-config"): each field's type and range. The rules
 * between fields are vmm/config's machine_config_check(), applied to the
 * merged result.
 */
#include "api/models/parse.h"

#include <string.h>

#include "api/models/fields.h"

int machine_config_parse(json_t *obj, bool patch, struct machine_config_update *out,
			 struct err_buf *err)
{
	static const char *const keys[] = { "vcpu_count",        "mem_size_mib", "smt",
					    "track_dirty_pages", "huge_pages",   "cpu_template" };
	const char *names[HUGE_PAGES_COUNT];
	const char *sec = "machine-config";
	struct machine_config_update u;
	int hp = HUGE_PAGES_NONE;
	json_t *tmpl;
	int ret;

	memset(&u, 0, sizeof(u));
	for (int i = 0; i < HUGE_PAGES_COUNT; i++)
		names[i] = huge_pages_name((enum huge_pages)i);
	if (!json_is_object(obj))
		return fail(err, "%s: expected an object", sec);
	ret = fields_check_keys(obj, sec, keys, ARRAY_SIZE(keys), err);
	if (!ret)
		ret = fields_get_uint(obj, sec, "vcpu_count", !patch, 1, VM_MAX_VCPUS,
				      &u.v.vcpu_count, err);
	if (!ret)
		ret = fields_get_uint(obj, sec, "mem_size_mib", !patch, 1, VM_MAX_MEM_MIB,
				      &u.v.mem_size_mib, err);
	if (!ret)
		ret = fields_get_bool(obj, sec, "smt", &u.v.smt, err);
	if (!ret)
		ret = fields_get_bool(obj, sec, "track_dirty_pages", &u.v.track_dirty_pages, err);
	if (!ret)
		ret = fields_get_enum(obj, sec, "huge_pages", names, HUGE_PAGES_COUNT, &hp, err);
	if (ret)
		return ret;
	tmpl = json_object_get(obj, "cpu_template");
	if (tmpl && !(json_is_string(tmpl) && strcmp(json_string_value(tmpl), "None") == 0))
		return fail(err, "%s.cpu_template: only \"None\" is supported", sec);

	u.v.huge_pages = (enum huge_pages)hp;
	u.has_vcpu_count = json_object_get(obj, "vcpu_count") != NULL;
	u.has_mem_size_mib = json_object_get(obj, "mem_size_mib") != NULL;
	u.has_smt = json_object_get(obj, "smt") != NULL;
	u.has_track_dirty_pages = json_object_get(obj, "track_dirty_pages") != NULL;
	u.has_huge_pages = json_object_get(obj, "huge_pages") != NULL;
	u.has_cpu_template = tmpl != NULL;
	*out = u;
	return 0;
}
