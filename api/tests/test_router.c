/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The router, as a specification: every Firecracker path x method it knows,
 * what it refuses and with which of Firecracker's exact fault messages.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "api/router.h"

struct routed {
	int ret;
	struct api_request req;
	struct api_response err;
};

static struct routed route(const char *method, const char *target, const char *body)
{
	struct routed r = { 0 };

	r.ret = api_route(method, target, body ? body : "", body ? strlen(body) : 0, &r.req,
			  &r.err);
	return r;
}

static void release(struct routed *r)
{
	api_request_release(&r->req);
	api_response_release(&r->err);
}

/* Routed to @action with path id @id; the request carries the body iff one was sent. */
static void expect_action(const char *method, const char *target, const char *body,
			  enum api_action action, const char *id)
{
	struct routed r = route(method, target, body);

	cr_assert_eq(r.ret, 0, "%s %s: refused: %s", method, target,
		     r.err.body ? r.err.body : "(no body)");
	cr_expect_eq(r.req.action, action, "%s %s: routed to %s, expected %s", method, target,
		     api_action_name(r.req.action), api_action_name(action));
	cr_expect_str_eq(r.req.id, id ? id : "", "%s %s: id", method, target);
	cr_expect_null(r.err.body);
	release(&r);
}

/* Refused with 400 and exactly {"fault_message": @message}. */
static void expect_fault(const char *method, const char *target, const char *body,
			 const char *message)
{
	struct routed r = route(method, target, body);
	json_t *json, *expected = json_pack("{s:s}", "fault_message", message);

	cr_assert_eq(r.ret, -EINVAL, "%s %s: routed to %s, expected \"%s\"", method, target,
		     api_action_name(r.req.action), message);
	cr_expect_eq(r.err.status, 400);
	cr_expect_eq(r.req.action, API_ACTION_NONE);
	cr_expect_null(r.req.body, "a refused request keeps no body");
	json = json_loads(r.err.body, 0, NULL);
	cr_expect(json_equal(json, expected), "%s %s: got %s, expected \"%s\"", method, target,
		  r.err.body, message);
	json_decref(json);
	json_decref(expected);
	release(&r);
}

/* The body of every PUT/PATCH route: an id field that matches whichever id the path has. */
#define BODY "{\"drive_id\": \"x\", \"iface_id\": \"x\", \"id\": \"x\"}"

static const struct {
	const char *method, *target, *body;
	enum api_action action;
	const char *id;
} routes[] = {
	{ "GET", "/", NULL, API_GET_INSTANCE_INFO, NULL },
	{ "GET", "/version", NULL, API_GET_VERSION, NULL },
	{ "GET", "/vm/config", NULL, API_GET_VM_CONFIG, NULL },
	{ "GET", "/machine-config", NULL, API_GET_MACHINE_CONFIG, NULL },
	{ "PUT", "/machine-config", BODY, API_PUT_MACHINE_CONFIG, NULL },
	{ "PATCH", "/machine-config", BODY, API_PATCH_MACHINE_CONFIG, NULL },
	{ "PUT", "/boot-source", BODY, API_PUT_BOOT_SOURCE, NULL },
	{ "PUT", "/drives/x", BODY, API_PUT_DRIVE, "x" },
	{ "PATCH", "/drives/x", BODY, API_PATCH_DRIVE, "x" },
	{ "PUT", "/network-interfaces/x", BODY, API_PUT_NETWORK_INTERFACE, "x" },
	{ "PATCH", "/network-interfaces/x", BODY, API_PATCH_NETWORK_INTERFACE, "x" },
	{ "PUT", "/actions", BODY, API_PUT_ACTIONS, NULL },
	{ "PATCH", "/vm", BODY, API_PATCH_VM, NULL },
	{ "PUT", "/logger", BODY, API_PUT_LOGGER, NULL },
	{ "PUT", "/metrics", BODY, API_PUT_METRICS, NULL },
	{ "PUT", "/serial", BODY, API_PUT_SERIAL, NULL },
	{ "PUT", "/snapshot/create", BODY, API_PUT_SNAPSHOT_CREATE, NULL },
	{ "PUT", "/snapshot/load", BODY, API_PUT_SNAPSHOT_LOAD, NULL },
	{ "PUT", "/snapshot/rewind", BODY, API_PUT_SNAPSHOT_REWIND, NULL },
	{ "PUT", "/snapshot/working-set", BODY, API_PUT_SNAPSHOT_WORKING_SET, NULL },
	{ "PUT", "/cpu-config", BODY, API_PUT_CPU_CONFIG, NULL },
	{ "DELETE", "/drives/x", NULL, API_DELETE_DRIVE, "x" },
	{ "DELETE", "/network-interfaces/x", NULL, API_DELETE_NETWORK_INTERFACE, "x" },
	{ "PUT", "/pmem/x", BODY, API_PUT_PMEM, "x" },
	{ "PATCH", "/pmem/x", BODY, API_PATCH_PMEM, "x" },
	{ "DELETE", "/pmem/x", NULL, API_DELETE_PMEM, "x" },
	{ "PUT", "/vsock", BODY, API_PUT_VSOCK, NULL },
	{ "PUT", "/entropy", BODY, API_PUT_ENTROPY, NULL },
	{ "GET", "/balloon", NULL, API_GET_BALLOON, NULL },
	{ "PUT", "/balloon", BODY, API_PUT_BALLOON, NULL },
	{ "PATCH", "/balloon", BODY, API_PATCH_BALLOON, NULL },
	{ "GET", "/balloon/statistics", NULL, API_GET_BALLOON_STATS, NULL },
	{ "PATCH", "/balloon/statistics", BODY, API_PATCH_BALLOON_STATS, NULL },
	{ "PATCH", "/balloon/hinting/start", BODY, API_PATCH_BALLOON_HINTING_START, NULL },
	{ "GET", "/balloon/hinting/status", NULL, API_GET_BALLOON_HINTING_STATUS, NULL },
	{ "PATCH", "/balloon/hinting/stop", BODY, API_PATCH_BALLOON_HINTING_STOP, NULL },
	{ "GET", "/hotplug/memory", NULL, API_GET_MEMORY_HOTPLUG, NULL },
	{ "PUT", "/hotplug/memory", BODY, API_PUT_MEMORY_HOTPLUG, NULL },
	{ "PATCH", "/hotplug/memory", BODY, API_PATCH_MEMORY_HOTPLUG, NULL },
	{ "GET", "/mmds", NULL, API_GET_MMDS, NULL },
	{ "PUT", "/mmds", BODY, API_PUT_MMDS, NULL },
	{ "PATCH", "/mmds", BODY, API_PATCH_MMDS, NULL },
	{ "PUT", "/mmds/config", BODY, API_PUT_MMDS_CONFIG, NULL },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

Test(router, routes_every_firecracker_endpoint)
{
	for (size_t i = 0; i < NROUTES; i++)
		expect_action(routes[i].method, routes[i].target, routes[i].body, routes[i].action,
			      routes[i].id);
}

Test(router, every_action_has_a_route_and_a_name)
{
	for (int a = API_ACTION_NONE + 1; a < API_ACTION_COUNT; a++) {
		bool found = false;

		for (size_t i = 0; i < NROUTES; i++)
			found |= routes[i].action == (enum api_action)a;
		cr_expect(found, "action %d (%s) has no route in the table", a,
			  api_action_name((enum api_action)a));
		cr_expect_str_neq(api_action_name((enum api_action)a), "?");
	}
	cr_expect_str_eq(api_action_name(API_ACTION_NONE), "?");
	cr_expect_str_eq(api_action_name(API_ACTION_COUNT), "?");
}

/* Firecracker ignores segments after a route's own, so "/vm/config" is under PATCH "/vm". */
static bool served(const char *method, const char *target)
{
	for (size_t j = 0; j < NROUTES; j++) {
		size_t len = strlen(routes[j].target);

		if (strcmp(routes[j].method, method) == 0 &&
		    strncmp(target, routes[j].target, len) == 0 &&
		    (target[len] == '\0' || target[len] == '/'))
			return true;
	}
	return false;
}

/* Each route's path with every method it does not take: an unknown method/path. */
Test(router, other_methods_on_known_paths_are_invalid)
{
	static const char *const methods[] = { "GET", "PUT", "PATCH", "DELETE", "POST", "HEAD" };

	for (size_t i = 0; i < NROUTES; i++) {
		for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			const char *method = methods[m];
			struct routed r;

			if (served(method, routes[i].target))
				continue;
			r = route(method, routes[i].target, strcmp(method, "GET") ? BODY : NULL);
			cr_expect_eq(r.ret, -EINVAL, "%s %s was routed to %s", method,
				     routes[i].target, api_action_name(r.req.action));
			cr_expect_eq(r.err.status, 400);
			release(&r);
		}
	}
}

Test(router, unknown_path_names_method_and_first_segment)
{
	expect_fault("GET", "/foo", NULL, "Invalid request method and/or path: GET foo.");
	expect_fault("GET", "/foo/bar", NULL, "Invalid request method and/or path: GET foo.");
	expect_fault("PUT", "/vm", "{}", "Invalid request method and/or path: PUT vm.");
	expect_fault("GET", "/vm", NULL, "Invalid request method and/or path: GET vm.");
	expect_fault("GET", "/vm/other", NULL, "Invalid request method and/or path: GET vm.");
	expect_fault("GET", "/actions", NULL, "Invalid request method and/or path: GET actions.");
	expect_fault("PUT", "/hotplug", "{}", "Invalid request method and/or path: PUT hotplug.");
	expect_fault("PATCH", "/boot-source", "{}",
		     "Invalid request method and/or path: PATCH boot-source.");
}

Test(router, methods_firecracker_lacks_are_invalid_not_http_errors)
{
	expect_fault("POST", "/actions", "{}", "Invalid request method and/or path: POST actions.");
	expect_fault("DELETE", "/machine-config", NULL,
		     "Invalid request method and/or path: DELETE machine-config.");
	expect_fault("OPTIONS", "/", NULL, "Invalid request method and/or path: OPTIONS .");
}

Test(router, get_with_a_body_is_refused)
{
	expect_fault("GET", "/", "{}", "GET request cannot have a body.");
	expect_fault("GET", "/machine-config", "{}", "GET request cannot have a body.");
	expect_fault("GET", "/nowhere", "x", "GET request cannot have a body.");
}

Test(router, put_and_patch_without_a_body_are_empty_requests)
{
	expect_fault("PUT", "/boot-source", NULL, "Empty PUT request.");
	expect_fault("PUT", "/drives/rootfs", NULL, "Empty PUT request.");
	expect_fault("PUT", "/nowhere", NULL, "Empty PUT request.");
	expect_fault("PATCH", "/vm", NULL, "Empty PATCH request.");
	expect_fault("PATCH", "/machine-config", NULL, "Empty PATCH request.");
	expect_fault("PATCH", "/balloon", NULL, "Empty PATCH request.");
	expect_fault("PATCH", "/balloon/statistics", NULL, "Empty PATCH request.");
	expect_fault("PATCH", "/nowhere", NULL, "Empty PATCH request.");
}

Test(router, balloon_hinting_takes_no_body)
{
	expect_action("PATCH", "/balloon/hinting/stop", NULL, API_PATCH_BALLOON_HINTING_STOP, NULL);
	expect_action("PATCH", "/balloon/hinting/start", NULL, API_PATCH_BALLOON_HINTING_START,
		      NULL);
}

Test(router, device_paths_need_an_id)
{
	expect_fault("PUT", "/drives", BODY, "The ID cannot be empty.");
	expect_fault("PUT", "/drives/", BODY, "The ID cannot be empty.");
	expect_fault("PUT", "/drives//x", BODY, "The ID cannot be empty.");
	expect_fault("PATCH", "/network-interfaces", BODY, "The ID cannot be empty.");
	expect_fault("PUT", "/pmem", BODY, "The ID cannot be empty.");
	expect_fault("DELETE", "/drives", NULL, "The ID cannot be empty.");
}

Test(router, ids_are_alphanumeric_and_underscores)
{
	static const char msg[] =
		"API Resource IDs can only contain alphanumeric characters and underscores.";

	expect_action("PUT", "/drives/Root_fs_01", "{\"drive_id\": \"Root_fs_01\"}", API_PUT_DRIVE,
		      "Root_fs_01");
	expect_fault("PUT", "/drives/root-fs", "{}", msg);
	expect_fault("PUT", "/drives/root.fs", "{}", msg);
	expect_fault("PUT", "/drives/root%20fs", "{}", msg);
	expect_fault("PUT", "/network-interfaces/eth0!", "{}", msg);
	expect_fault("PATCH", "/drives/r\xc3\xa9", "{}", msg);
	expect_fault("DELETE", "/pmem/a-b", NULL, msg);
}

Test(router, id_is_checked_before_the_body)
{
	expect_fault("PUT", "/drives/a-b", "not json",
		     "API Resource IDs can only contain alphanumeric characters and underscores.");
}

Test(router, ids_longer_than_the_limit_are_refused)
{
	char target[API_ID_MAX + 16], body[API_ID_MAX + 32], id[API_ID_MAX + 2];

	memset(id, 'a', API_ID_MAX);
	id[API_ID_MAX] = '\0';
	snprintf(target, sizeof(target), "/drives/%s", id);
	snprintf(body, sizeof(body), "{\"drive_id\": \"%s\"}", id);
	expect_action("PUT", target, body, API_PUT_DRIVE, id);

	strcat(id, "a");
	snprintf(target, sizeof(target), "/drives/%s", id);
	expect_fault("PUT", target, "{}", "API Resource IDs can be at most 128 characters long.");
}

Test(router, id_in_the_body_must_match_the_path)
{
	static const char msg[] = "The id from the path does not match the id from the body!";

	expect_fault("PUT", "/drives/rootfs", "{\"drive_id\": \"other\"}", msg);
	expect_fault("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs2\"}", msg);
	expect_fault("PUT", "/drives/rootfs", "{\"drive_id\": \"root\"}", msg);
	expect_fault("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth1\"}", msg);
	expect_fault("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"ETH0\"}", msg);
	expect_fault("PUT", "/pmem/p0", "{\"id\": \"p1\"}", msg);
}

Test(router, missing_or_mistyped_body_id_is_left_to_the_controller)
{
	expect_action("PUT", "/drives/rootfs", "{\"path_on_host\": \"/x\"}", API_PUT_DRIVE, "rootfs");
	expect_action("PUT", "/drives/rootfs", "{\"drive_id\": 7}", API_PUT_DRIVE, "rootfs");
	/* Another device's id key is just an unknown field to the controller. */
	expect_action("PUT", "/drives/rootfs", "{\"iface_id\": \"x\"}", API_PUT_DRIVE, "rootfs");
}

Test(router, the_parsed_body_is_handed_over)
{
	struct routed r = route("PUT", "/drives/rootfs",
				"{\"drive_id\": \"rootfs\", \"is_root_device\": true}");

	cr_assert_eq(r.ret, 0);
	cr_assert(json_is_object(r.req.body));
	cr_expect(json_is_true(json_object_get(r.req.body, "is_root_device")));
	release(&r);

	r = route("GET", "/", NULL);
	cr_assert_eq(r.ret, 0);
	cr_expect_null(r.req.body, "no body: NULL");
	release(&r);
}

static void expect_deserialize_error(const char *body, const char *detail)
{
	struct routed r = route("PUT", "/boot-source", body);
	json_t *json = json_loads(r.err.body ? r.err.body : "", 0, NULL);
	const char *msg = json_string_value(json_object_get(json, "fault_message"));
	static const char prefix[] =
		"An error occurred when deserializing the json body of a request: ";

	cr_assert_eq(r.ret, -EINVAL, "body %s was accepted", body);
	cr_assert_not_null(msg, "no fault_message in %s", r.err.body);
	cr_expect_eq(strncmp(msg, prefix, strlen(prefix)), 0, "message: %s", msg);
	cr_expect(strstr(msg, detail), "\"%s\" does not mention \"%s\"", msg, detail);
	cr_expect_eq(msg[strlen(msg) - 1], '.', "message ends with a period: %s", msg);
	json_decref(json);
	release(&r);
}

Test(router, invalid_json_is_a_deserialization_error_with_position)
{
	expect_deserialize_error("{", "at line 1 column 1");
	expect_deserialize_error("{\"kernel_image_path\": }", "at line 1 column 23");
	expect_deserialize_error("not json", "line 1");
	expect_deserialize_error("{\"a\": 1,\n \"b\": tru}", "at line 2");
	expect_deserialize_error(" ", "line 1");
	expect_deserialize_error("{\"a\": 1} trailing", "end of file expected");
}

Test(router, a_body_that_is_not_an_object_is_a_deserialization_error)
{
	expect_deserialize_error("[]", "invalid type: sequence, expected a JSON object");
	expect_deserialize_error("5", "invalid type: integer, expected a JSON object");
	expect_deserialize_error("\"x\"", "invalid type: string, expected a JSON object");
	expect_deserialize_error("null", "invalid type: null, expected a JSON object");
}

Test(router, duplicate_fields_are_refused)
{
	expect_deserialize_error("{\"a\": 1, \"a\": 2}", "duplicate object key");
}

/* A C string would silently end there: "/a\u0000/b" must not become "/a". */
Test(router, nul_characters_in_strings_are_refused)
{
	expect_deserialize_error("{\"path_on_host\": \"/a\\u0000/b\"}", "\\u0000 is not allowed");
}

Test(router, a_trailing_slash_is_ignored)
{
	expect_action("GET", "/machine-config/", NULL, API_GET_MACHINE_CONFIG, NULL);
	expect_action("GET", "/vm/config/", NULL, API_GET_VM_CONFIG, NULL);
	expect_action("PUT", "/drives/x/", BODY, API_PUT_DRIVE, "x");
	expect_action("GET", "//version", NULL, API_GET_VERSION, NULL);
}

Test(router, segments_after_the_route_are_ignored_as_firecracker_does)
{
	expect_action("PUT", "/drives/x/extra", BODY, API_PUT_DRIVE, "x");
	expect_action("GET", "/version/extra", NULL, API_GET_VERSION, NULL);
}

Test(router, query_strings_are_part_of_the_path)
{
	expect_fault("GET", "/machine-config?full=1", NULL,
		     "Invalid request method and/or path: GET machine-config?full=1.");
	expect_fault("GET", "/?x", NULL, "Invalid request method and/or path: GET ?x.");
}

Test(router, absolute_form_targets_use_their_path)
{
	expect_action("GET", "http://localhost/version", NULL, API_GET_VERSION, NULL);
	expect_action("PUT", "http://localhost:80/drives/x", BODY, API_PUT_DRIVE, "x");
	expect_action("GET", "http://localhost", NULL, API_GET_INSTANCE_INFO, NULL);
}

Test(router, firecrackers_sub_path_messages)
{
	expect_fault("PUT", "/snapshot", "{}", "Missing snapshot operation type.");
	expect_fault("PUT", "/snapshot/restore", "{}",
		     "Invalid request method and/or path: PUT /snapshot/restore.");
	expect_fault("PUT", "/mmds/other", "{}", "Unrecognized PUT request path `other`.");
	expect_fault("GET", "/balloon/other", NULL, "Unrecognized GET request path `other`.");
	expect_fault("GET", "/balloon/hinting", NULL, "Unrecognized GET request path `/hinting/`.");
	expect_fault("GET", "/balloon/hinting/x", NULL,
		     "Unrecognized GET request path `/hinting/x`.");
	expect_fault("PATCH", "/balloon/hinting", "{}",
		     "Unrecognized PATCH request path `/hinting/`.");
	expect_fault("PATCH", "/balloon/hinting/x", "{}",
		     "Unrecognized PATCH request path `/hinting/x`.");
}

Test(router, messages_quoting_the_path_stay_valid_json)
{
	struct routed r = route("GET", "/\"quoted\"\xff", NULL);
	json_t *json = json_loads(r.err.body, 0, NULL);

	cr_assert_eq(r.ret, -EINVAL);
	cr_assert_not_null(json, "not JSON: %s", r.err.body);
	cr_expect_str_eq(json_string_value(json_object_get(json, "fault_message")),
			 "Invalid request method and/or path: GET \"quoted\"?.");
	json_decref(json);
	release(&r);
}
