/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's SnapshotCreateParams (PUT /snapshot/create) and
 * SnapshotLoadParams (PUT /snapshot/load), with its mem_backend and
 * network_overrides.
 */
#include "api/models/parse.h"

#include <stdlib.h>
#include <string.h>

#include "api/models/fields.h"

static int dup_to(char **out, const char *s, struct err_buf *err)
{
	*out = strdup(s);
	return *out ? 0 : err_set(err, -ENOMEM, "out of memory");
}

int snapshot_create_parse(json_t *obj, struct snapshot_create_command *out, struct err_buf *err)
{
	static const char *const keys[] = { "snapshot_path", "mem_file_path", "snapshot_type",
					    "version" };
	bool bad = false;
	const char *state_path = fields_opt_string(obj, "snapshot_path", &bad);
	const char *mem_path = fields_opt_string(obj, "mem_file_path", &bad);
	const char *type = fields_opt_string(obj, "snapshot_type", &bad);

	memset(out, 0, sizeof(*out));
	if (fields_check_keys(obj, NULL, keys, ARRAY_SIZE(keys), err))
		return -EINVAL;
	if (bad || !state_path || !mem_path)
		return fail(err, "snapshot_path and mem_file_path: expected non-empty strings");
	if (type && strcmp(type, "Full") && strcmp(type, "Diff"))
		return fail(err, "snapshot_type: expected \"Full\" or \"Diff\"");
	out->diff = type && strcmp(type, "Diff") == 0;
	if (dup_to(&out->snapshot_path, state_path, err) ||
	    dup_to(&out->mem_file_path, mem_path, err))
		return -ENOMEM;
	return 0;
}

static int parse_overrides(json_t *arr, struct snapshot_load_command *out, struct err_buf *err)
{
	static const char *const keys[] = { "iface_id", "host_dev_name" };
	size_t i;
	json_t *o;

	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > VM_MAX_NETS)
		return fail(err, "network_overrides: expected an array of {iface_id, host_dev_name}");
	json_array_foreach(arr, i, o) {
		bool bad = false;
		const char *id, *dev;

		if (!json_is_object(o))
			return fail(err, "network_overrides: expected objects");
		if (fields_check_keys(o, NULL, keys, ARRAY_SIZE(keys), err))
			return -EINVAL;
		id = fields_opt_string(o, "iface_id", &bad);
		dev = fields_opt_string(o, "host_dev_name", &bad);
		if (bad || !id || !dev)
			return fail(err,
				    "network_overrides: iface_id and host_dev_name are non-empty strings");
		if (dup_to(&out->overrides[i].iface_id, id, err) ||
		    dup_to(&out->overrides[i].host_dev_name, dev, err))
			return -ENOMEM;
		out->nr_overrides = (unsigned int)i + 1;
	}
	return 0;
}

/* mem_backend: {backend_type: File or Uffd, backend_path}. */
static int parse_mem_backend(json_t *be, struct snapshot_load_command *out, struct err_buf *err)
{
	static const char *const keys[] = { "backend_type", "backend_path" };
	bool bad = false;
	const char *type, *path;

	if (!json_is_object(be))
		return fail(err, "mem_backend: expected an object");
	if (fields_check_keys(be, NULL, keys, ARRAY_SIZE(keys), err))
		return -EINVAL;
	type = fields_opt_string(be, "backend_type", &bad);
	path = fields_opt_string(be, "backend_path", &bad);
	if (bad || !type || !path)
		return fail(err, "mem_backend: backend_type and backend_path are non-empty strings");
	out->uffd = strcmp(type, "Uffd") == 0;
	if (!out->uffd && strcmp(type, "File"))
		return fail(err, "mem_backend.backend_type: expected \"File\" or \"Uffd\"");
	return dup_to(&out->mem_path, path, err);
}

/* huge_pages: "Snapshot" (or absent) keeps the snapshot's; else one of enum huge_pages. */
static int parse_load_huge_pages(json_t *obj, struct snapshot_load_command *out,
				 struct err_buf *err)
{
	bool bad = false;
	const char *huge = fields_opt_string(obj, "huge_pages", &bad);

	out->huge_pages = -1;
	if (!bad && (!huge || strcmp(huge, "Snapshot") == 0))
		return 0;
	for (int hp = 0; huge && hp < HUGE_PAGES_COUNT; hp++)
		if (strcmp(huge, huge_pages_name((enum huge_pages)hp)) == 0)
			out->huge_pages = hp;
	if (out->huge_pages < 0)
		return fail(err, "huge_pages: expected \"Snapshot\", \"None\", \"Transparent\" or \"2M\"");
	return 0;
}

int snapshot_load_parse(json_t *obj, struct snapshot_load_command *out, struct err_buf *err)
{
	static const char *const keys[] = { "snapshot_path", "mem_backend", "mem_file_path",
					    "enable_diff_snapshots", "track_dirty_pages",
					    "resume_vm", "network_overrides", "huge_pages",
					    "working_set_path" };
	json_t *be = json_object_get(obj, "mem_backend");
	json_t *resume = json_object_get(obj, "resume_vm");
	json_t *track = json_object_get(obj, "track_dirty_pages");
	json_t *diff = json_object_get(obj, "enable_diff_snapshots");
	bool bad = false;
	const char *state_path = fields_opt_string(obj, "snapshot_path", &bad);
	const char *mem_path = fields_opt_string(obj, "mem_file_path", &bad);
	const char *ws_path = fields_opt_string(obj, "working_set_path", &bad);
	int ret;

	memset(out, 0, sizeof(*out));
	if (fields_check_keys(obj, NULL, keys, ARRAY_SIZE(keys), err))
		return -EINVAL;
	if (bad || !state_path)
		return fail(err, "snapshot_path (and working_set_path): expected non-empty strings");
	if ((resume && !json_is_boolean(resume)) || (track && !json_is_boolean(track)) ||
	    (diff && !json_is_boolean(diff)))
		return fail(err, "resume_vm, track_dirty_pages and enable_diff_snapshots are booleans");
	ret = parse_load_huge_pages(obj, out, err);
	if (ret)
		return ret;
	if (be && mem_path)
		return fail(err, "give mem_backend or the deprecated mem_file_path, not both");
	if (be)
		ret = parse_mem_backend(be, out, err);
	else if (mem_path)
		ret = dup_to(&out->mem_path, mem_path, err);
	else
		ret = fail(err, "missing field `mem_backend`");
	if (!ret)
		ret = parse_overrides(json_object_get(obj, "network_overrides"), out, err);
	if (!ret)
		ret = dup_to(&out->snapshot_path, state_path, err);
	if (!ret && ws_path)
		ret = dup_to(&out->working_set_path, ws_path, err);
	out->track_dirty_pages = json_is_true(track) || json_is_true(diff);
	out->resume_vm = json_is_true(resume);
	out->deprecated = mem_path || diff; /* as Firecracker flags them */
	return ret;
}

int snapshot_rewind_parse(json_t *obj, struct snapshot_rewind_command *out, struct err_buf *err)
{
	static const char *const keys[] = { "resume_vm" };

	json_t *resume = json_object_get(obj, "resume_vm");

	memset(out, 0, sizeof(*out));
	if (fields_check_keys(obj, NULL, keys, ARRAY_SIZE(keys), err))
		return -EINVAL;
	if (resume && !json_is_boolean(resume))
		return fail(err, "resume_vm: expected true or false");
	out->resume_vm = json_is_true(resume);
	return 0;
}

int snapshot_working_set_parse(json_t *obj, struct snapshot_working_set_command *out,
			       struct err_buf *err)
{
	static const char *const keys[] = { "path" };
	bool bad = false;
	const char *path = fields_opt_string(obj, "path", &bad);

	memset(out, 0, sizeof(*out));
	if (fields_check_keys(obj, NULL, keys, ARRAY_SIZE(keys), err))
		return -EINVAL;
	if (bad || !path)
		return fail(err, "path: expected a non-empty string");
	return dup_to(&out->path, path, err);
}
