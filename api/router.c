/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The match below follows Firecracker's ParsedRequest::try_from arm by arm,
 * because the order of its arms decides which error a client sees (a PUT
 * without a body to an unknown path is "Empty PUT request.", not an unknown
 * path). Keep the two in step when Firecracker adds endpoints.
 */
#include "api/router.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/models/command.h"

static const char *const action_names[API_ACTION_COUNT] = {
	[API_GET_INSTANCE_INFO] = "GET /",
	[API_GET_VERSION] = "GET /version",
	[API_GET_VM_CONFIG] = "GET /vm/config",
	[API_GET_MACHINE_CONFIG] = "GET /machine-config",
	[API_PUT_MACHINE_CONFIG] = "PUT /machine-config",
	[API_PATCH_MACHINE_CONFIG] = "PATCH /machine-config",
	[API_PUT_BOOT_SOURCE] = "PUT /boot-source",
	[API_PUT_DRIVE] = "PUT /drives/{id}",
	[API_PATCH_DRIVE] = "PATCH /drives/{id}",
	[API_PUT_NETWORK_INTERFACE] = "PUT /network-interfaces/{id}",
	[API_PATCH_NETWORK_INTERFACE] = "PATCH /network-interfaces/{id}",
	[API_PUT_ACTIONS] = "PUT /actions",
	[API_PATCH_VM] = "PATCH /vm",
	[API_PUT_LOGGER] = "PUT /logger",
	[API_PUT_METRICS] = "PUT /metrics",
	[API_PUT_SERIAL] = "PUT /serial",
	[API_PUT_SNAPSHOT_CREATE] = "PUT /snapshot/create",
	[API_PUT_SNAPSHOT_LOAD] = "PUT /snapshot/load",
	[API_PUT_SNAPSHOT_REWIND] = "PUT /snapshot/rewind",
	[API_PUT_SNAPSHOT_WORKING_SET] = "PUT /snapshot/working-set",
	[API_PUT_CPU_CONFIG] = "PUT /cpu-config",
	[API_DELETE_DRIVE] = "DELETE /drives/{id}",
	[API_DELETE_NETWORK_INTERFACE] = "DELETE /network-interfaces/{id}",
	[API_PUT_PMEM] = "PUT /pmem/{id}",
	[API_PATCH_PMEM] = "PATCH /pmem/{id}",
	[API_DELETE_PMEM] = "DELETE /pmem/{id}",
	[API_PUT_VSOCK] = "PUT /vsock",
	[API_PUT_ENTROPY] = "PUT /entropy",
	[API_GET_BALLOON] = "GET /balloon",
	[API_PUT_BALLOON] = "PUT /balloon",
	[API_PATCH_BALLOON] = "PATCH /balloon",
	[API_GET_BALLOON_STATS] = "GET /balloon/statistics",
	[API_PATCH_BALLOON_STATS] = "PATCH /balloon/statistics",
	[API_PATCH_BALLOON_HINTING_START] = "PATCH /balloon/hinting/start",
	[API_GET_BALLOON_HINTING_STATUS] = "GET /balloon/hinting/status",
	[API_PATCH_BALLOON_HINTING_STOP] = "PATCH /balloon/hinting/stop",
	[API_GET_MEMORY_HOTPLUG] = "GET /hotplug/memory",
	[API_PUT_MEMORY_HOTPLUG] = "PUT /hotplug/memory",
	[API_PATCH_MEMORY_HOTPLUG] = "PATCH /hotplug/memory",
	[API_GET_MMDS] = "GET /mmds",
	[API_PUT_MMDS] = "PUT /mmds",
	[API_PATCH_MMDS] = "PATCH /mmds",
	[API_PUT_MMDS_CONFIG] = "PUT /mmds/config",
};

const char *api_action_name(enum api_action action)
{
	if ((unsigned int)action >= API_ACTION_COUNT || !action_names[action])
		return "?";
	return action_names[action];
}

/* A piece of the request target; not NUL-terminated. */
struct slice {
	const char *p;
	size_t len;
};

/* Rust's `trim_start_matches('/').split_terminator('/')`, as Firecracker splits paths. */
struct path_tokens {
	const char *s;
	size_t len, pos;
};

static bool next_token(struct path_tokens *t, struct slice *out)
{
	const char *slash;
	size_t rest;

	if (t->pos > t->len)
		return false;
	rest = t->len - t->pos;
	slash = memchr(t->s + t->pos, '/', rest);
	if (slash) {
		*out = (struct slice){ t->s + t->pos, (size_t)(slash - (t->s + t->pos)) };
		t->pos += out->len + 1;
		return true;
	}
	t->pos = t->len + 1;
	if (rest == 0)
		return false; /* the empty piece after a trailing '/' is not a token */
	*out = (struct slice){ t->s + t->len - rest, rest };
	return true;
}

static bool is(const struct slice *s, const char *word)
{
	return s->p && s->len == strlen(word) && memcmp(s->p, word, s->len) == 0;
}

/* micro_http's Uri::get_abs_path: the path of an absolute-form target, or "". */
static const char *abs_path(const char *target)
{
	static const char scheme[] = "http://";

	if (strncmp(target, scheme, sizeof(scheme) - 1) == 0) {
		const char *path = strchr(target + sizeof(scheme) - 1, '/');

		return path ? path : "";
	}
	return target[0] == '/' ? target : "";
}

/* Everything one routing decision needs, so the helpers below take one argument. */
struct route_ctx {
	const char *method;
	const char *body;
	size_t body_len;
	struct path_tokens tokens;
	struct slice first;
	struct api_request *req;
	struct api_response *err;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct route_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	api_response_verror(c->err, 400, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int invalid_path(struct route_ctx *c)
{
	return fail(c, "Invalid request method and/or path: %s %.*s.", c->method,
		    (int)c->first.len, c->first.p);
}

static int simple_error(struct route_ctx *c, const char *msg)
{
	return fail(c, "%s", msg);
}

/* Firecracker's checked_id(), plus a length bound because ignis keeps ids in a fixed array. */
static int take_id(struct route_ctx *c)
{
	struct slice id;

	if (!next_token(&c->tokens, &id) || id.len == 0)
		return simple_error(c, "The ID cannot be empty.");
	for (size_t i = 0; i < id.len; i++) {
		unsigned char ch = (unsigned char)id.p[i];

		/* ASCII only: Rust's is_alphanumeric() also takes other scripts' letters. */
		if (!(ch == '_' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z')))
			return simple_error(c, "API Resource IDs can only contain alphanumeric "
					       "characters and underscores.");
	}
	if (id.len > API_ID_MAX)
		return fail(c, "API Resource IDs can be at most %d characters long.", API_ID_MAX);
	memcpy(c->req->id, id.p, id.len);
	c->req->id[id.len] = '\0';
	return 0;
}

static const char *type_name(json_type type)
{
	switch (type) {
	case JSON_OBJECT: return "map";
	case JSON_ARRAY: return "sequence";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "floating point";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

/* Parses the body into req->body; Firecracker's SerdeJson error wording on failure. */
static int parse_body(struct route_ctx *c)
{
	json_error_t jerr;
	json_t *v;

	if (c->body_len == 0)
		return 0;
	v = json_loadb(c->body, c->body_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return fail(c, API_FAULT_DESERIALIZE "%s at line %d column %d.", jerr.text, jerr.line,
			    jerr.column);
	if (!json_is_object(v)) {
		json_type type = json_typeof(v);

		json_decref(v);
		return fail(c, API_FAULT_DESERIALIZE "invalid type: %s, expected a JSON object.",
			    type_name(type));
	}
	c->req->body = v;
	return 0;
}

static int route_to(struct route_ctx *c, enum api_action action)
{
	c->req->action = action;
	return 0;
}

static int route_with_body(struct route_ctx *c, enum api_action action)
{
	int ret = parse_body(c);

	return ret ? ret : route_to(c, action);
}

/* PUT/PATCH on /drives/{id}, /network-interfaces/{id}, /pmem/{id}: id, body, then the match. */
static int route_with_id(struct route_ctx *c, enum api_action action, const char *id_key)
{
	json_t *body_id;
	int ret;

	ret = take_id(c);
	if (!ret)
		ret = parse_body(c);
	if (ret)
		return ret;
	body_id = c->req->body ? json_object_get(c->req->body, id_key) : NULL;
	/* A missing or non-string id is a schema error: the controller names the field. */
	if (json_is_string(body_id) && (json_string_length(body_id) != strlen(c->req->id) ||
					strcmp(json_string_value(body_id), c->req->id) != 0))
		return simple_error(c, "The id from the path does not match the id from the body!");
	return route_to(c, action);
}

/* Hot-unplug: Firecracker's router takes DELETE with no body on the device paths. */
static int route_delete(struct route_ctx *c, enum api_action action)
{
	int ret = take_id(c);

	return ret ? ret : route_to(c, action);
}

static int route_get(struct route_ctx *c)
{
	struct slice next = { 0 };

	if (c->body_len)
		return simple_error(c, "GET request cannot have a body.");
	if (c->first.len == 0)
		return route_to(c, API_GET_INSTANCE_INFO);
	if (is(&c->first, "version"))
		return route_to(c, API_GET_VERSION);
	if (is(&c->first, "machine-config"))
		return route_to(c, API_GET_MACHINE_CONFIG);
	if (is(&c->first, "mmds"))
		return route_to(c, API_GET_MMDS);
	next_token(&c->tokens, &next);
	if (is(&c->first, "vm") && is(&next, "config"))
		return route_to(c, API_GET_VM_CONFIG);
	if (is(&c->first, "hotplug") && is(&next, "memory"))
		return route_to(c, API_GET_MEMORY_HOTPLUG);
	if (is(&c->first, "balloon")) {
		struct slice sub = { 0 };

		if (!next.p)
			return route_to(c, API_GET_BALLOON);
		if (is(&next, "statistics"))
			return route_to(c, API_GET_BALLOON_STATS);
		if (!is(&next, "hinting"))
			return fail(c, "Unrecognized GET request path `%.*s`.", (int)next.len, next.p);
		if (!next_token(&c->tokens, &sub))
			return simple_error(c, "Unrecognized GET request path `/hinting/`.");
		if (is(&sub, "status"))
			return route_to(c, API_GET_BALLOON_HINTING_STATUS);
		return fail(c, "Unrecognized GET request path `/hinting/%.*s`.", (int)sub.len, sub.p);
	}
	return invalid_path(c);
}

static int route_put(struct route_ctx *c)
{
	static const struct {
		const char *path;
		enum api_action action;
	} plain[] = {
		{ "actions", API_PUT_ACTIONS },   { "balloon", API_PUT_BALLOON },
		{ "boot-source", API_PUT_BOOT_SOURCE }, { "cpu-config", API_PUT_CPU_CONFIG },
		{ "logger", API_PUT_LOGGER },     { "serial", API_PUT_SERIAL },
		{ "machine-config", API_PUT_MACHINE_CONFIG }, { "metrics", API_PUT_METRICS },
		{ "vsock", API_PUT_VSOCK },       { "entropy", API_PUT_ENTROPY },
	};
	struct slice next = { 0 };

	if (!c->body_len)
		return simple_error(c, "Empty PUT request.");
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (is(&c->first, plain[i].path))
			return route_with_body(c, plain[i].action);
	if (is(&c->first, "drives"))
		return route_with_id(c, API_PUT_DRIVE, "drive_id");
	if (is(&c->first, "network-interfaces"))
		return route_with_id(c, API_PUT_NETWORK_INTERFACE, "iface_id");
	if (is(&c->first, "pmem"))
		return route_with_id(c, API_PUT_PMEM, "id");
	next_token(&c->tokens, &next);
	if (is(&c->first, "mmds")) {
		if (!next.p)
			return route_with_body(c, API_PUT_MMDS);
		if (is(&next, "config"))
			return route_with_body(c, API_PUT_MMDS_CONFIG);
		return fail(c, "Unrecognized PUT request path `%.*s`.", (int)next.len, next.p);
	}
	if (is(&c->first, "snapshot")) {
		if (!next.p)
			return simple_error(c, "Missing snapshot operation type.");
		if (is(&next, "create"))
			return route_with_body(c, API_PUT_SNAPSHOT_CREATE);
		if (is(&next, "load"))
			return route_with_body(c, API_PUT_SNAPSHOT_LOAD);
		if (is(&next, "rewind"))
			return route_with_body(c, API_PUT_SNAPSHOT_REWIND);
		if (is(&next, "working-set"))
			return route_with_body(c, API_PUT_SNAPSHOT_WORKING_SET);
		return fail(c, "Invalid request method and/or path: PUT /snapshot/%.*s.",
			    (int)next.len, next.p);
	}
	if (is(&c->first, "hotplug") && is(&next, "memory"))
		return route_with_body(c, API_PUT_MEMORY_HOTPLUG);
	return invalid_path(c);
}

static int route_patch_balloon(struct route_ctx *c)
{
	struct slice next = { 0 }, sub = { 0 };

	next_token(&c->tokens, &next);
	if (is(&next, "hinting")) {
		if (!next_token(&c->tokens, &sub))
			return simple_error(c, "Unrecognized PATCH request path `/hinting/`.");
		if (is(&sub, "start"))
			return route_with_body(c, API_PATCH_BALLOON_HINTING_START);
		if (is(&sub, "stop"))
			return route_to(c, API_PATCH_BALLOON_HINTING_STOP); /* body ignored, as FC */
		return fail(c, "Unrecognized PATCH request path `/hinting/%.*s`.", (int)sub.len,
			    sub.p);
	}
	if (!c->body_len)
		return simple_error(c, "Empty PATCH request.");
	if (is(&next, "statistics"))
		return route_with_body(c, API_PATCH_BALLOON_STATS);
	return route_with_body(c, API_PATCH_BALLOON);
}

static int route_patch(struct route_ctx *c)
{
	struct slice next = { 0 };

	if (is(&c->first, "balloon"))
		return route_patch_balloon(c);
	if (!c->body_len)
		return simple_error(c, "Empty PATCH request.");
	if (is(&c->first, "drives"))
		return route_with_id(c, API_PATCH_DRIVE, "drive_id");
	if (is(&c->first, "network-interfaces"))
		return route_with_id(c, API_PATCH_NETWORK_INTERFACE, "iface_id");
	if (is(&c->first, "pmem"))
		return route_with_id(c, API_PATCH_PMEM, "id");
	if (is(&c->first, "machine-config"))
		return route_with_body(c, API_PATCH_MACHINE_CONFIG);
	if (is(&c->first, "mmds"))
		return route_with_body(c, API_PATCH_MMDS);
	if (is(&c->first, "vm"))
		return route_with_body(c, API_PATCH_VM);
	next_token(&c->tokens, &next);
	if (is(&c->first, "hotplug") && is(&next, "memory"))
		return route_with_body(c, API_PATCH_MEMORY_HOTPLUG);
	return invalid_path(c);
}

static int route_delete_method(struct route_ctx *c)
{
	if (is(&c->first, "drives"))
		return route_delete(c, API_DELETE_DRIVE);
	if (is(&c->first, "network-interfaces"))
		return route_delete(c, API_DELETE_NETWORK_INTERFACE);
	if (is(&c->first, "pmem"))
		return route_delete(c, API_DELETE_PMEM);
	return invalid_path(c);
}

int api_route(const char *method, const char *target, const char *body, size_t body_len,
	      struct api_request *req, struct api_response *err)
{
	const char *path = abs_path(target);
	struct route_ctx c = {
		.method = method,
		.body = body,
		.body_len = body_len,
		.req = req,
		.err = err,
	};
	int ret;

	memset(req, 0, sizeof(*req));
	while (*path == '/')
		path++;
	c.tokens = (struct path_tokens){ .s = path, .len = strlen(path) };
	if (!next_token(&c.tokens, &c.first))
		c.first = (struct slice){ "", 0 };

	if (strcmp(method, "GET") == 0)
		ret = route_get(&c);
	else if (strcmp(method, "PUT") == 0)
		ret = route_put(&c);
	else if (strcmp(method, "PATCH") == 0)
		ret = route_patch(&c);
	else if (strcmp(method, "DELETE") == 0)
		ret = route_delete_method(&c);
	else
		ret = invalid_path(&c);
	if (ret)
		api_request_release(req);
	return ret;
}

void api_request_release(struct api_request *req)
{
	json_decref(req->body);
	if (req->cmd) {
		api_command_free(req->cmd);
		free(req->cmd);
	}
	memset(req, 0, sizeof(*req));
}
