/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The router: (HTTP method, request target, body) -> struct api_request, or
 * a 400 with Firecracker's exact fault_message.
 *
 * It runs on the API thread and checks only what Firecracker's router checks
 * before a request reaches the VMM (src/firecracker/src/api_server/
 * parsed_request.rs): the method and path, body presence, the resource id in
 * the path, that the body is a JSON object, and that a body's drive_id /
 * iface_id / id matches the path. The schema of each body (required and
 * unknown fields, types, ranges) is the VMM-side controller's job.
 *
 * Path rules, as Firecracker's (micro_http + parsed_request.rs):
 *  - an absolute-form target ("http://localhost/x") is reduced to its path;
 *  - leading slashes are dropped and one trailing slash is ignored
 *    ("/machine-config/" is "/machine-config");
 *  - segments after the ones a route uses are ignored ("/drives/a/b" is
 *    drive "a");
 *  - nothing is percent-decoded and a query string is not split off, so
 *    "/machine-config?x=1" is an unknown path;
 *  - the "Invalid request method and/or path" message names the method and
 *    the first path segment ("PUT vm.") as Firecracker's does.
 * Methods other than GET, PUT, PATCH (and DELETE on the hot-unplug paths)
 * get that same message rather than an HTTP-level error.
 */
#ifndef IGNIS_API_ROUTER_H
#define IGNIS_API_ROUTER_H

#include <stddef.h>

#include <jansson.h>

#include "api/response.h"

/* One value per Firecracker endpoint (method + path template). */
enum api_action {
	API_ACTION_NONE = 0, /* not routed: never handed to the VMM */

	/* Issue 5: what ignis serves. */
	API_GET_INSTANCE_INFO,       /* GET /                       */
	API_GET_VERSION,             /* GET /version                */
	API_GET_VM_CONFIG,           /* GET /vm/config              */
	API_GET_MACHINE_CONFIG,      /* GET /machine-config         */
	API_PUT_MACHINE_CONFIG,      /* PUT /machine-config         */
	API_PATCH_MACHINE_CONFIG,    /* PATCH /machine-config       */
	API_PUT_BOOT_SOURCE,         /* PUT /boot-source            */
	API_PUT_DRIVE,               /* PUT /drives/{id}            */
	API_PATCH_DRIVE,             /* PATCH /drives/{id}          */
	API_PUT_NETWORK_INTERFACE,   /* PUT /network-interfaces/{id}   */
	API_PATCH_NETWORK_INTERFACE, /* PATCH /network-interfaces/{id} */
	API_PUT_ACTIONS,             /* PUT /actions                */
	API_PATCH_VM,                /* PATCH /vm                   */
	API_PUT_LOGGER,              /* PUT /logger                 */
	API_PUT_METRICS,             /* PUT /metrics                */
	API_PUT_SERIAL,              /* PUT /serial                 */
	API_PUT_SNAPSHOT_CREATE,     /* PUT /snapshot/create        */
	API_PUT_SNAPSHOT_LOAD,       /* PUT /snapshot/load          */
	API_PUT_SNAPSHOT_REWIND,     /* PUT /snapshot/rewind (ignis) */
	API_PUT_SNAPSHOT_WORKING_SET, /* PUT /snapshot/working-set (ignis) */

	/* The rest of Firecracker's API: routed so the controller can say "not supported". */
	API_PUT_CPU_CONFIG,             /* PUT /cpu-config              */
	API_DELETE_DRIVE,               /* DELETE /drives/{id}          */
	API_DELETE_NETWORK_INTERFACE,   /* DELETE /network-interfaces/{id} */
	API_PUT_PMEM,                   /* PUT /pmem/{id}               */
	API_PATCH_PMEM,                 /* PATCH /pmem/{id}             */
	API_DELETE_PMEM,                /* DELETE /pmem/{id}            */
	API_PUT_VSOCK,                  /* PUT /vsock                   */
	API_PUT_ENTROPY,                /* PUT /entropy                 */
	API_GET_BALLOON,                /* GET /balloon                 */
	API_PUT_BALLOON,                /* PUT /balloon                 */
	API_PATCH_BALLOON,              /* PATCH /balloon               */
	API_GET_BALLOON_STATS,          /* GET /balloon/statistics      */
	API_PATCH_BALLOON_STATS,        /* PATCH /balloon/statistics    */
	API_PATCH_BALLOON_HINTING_START, /* PATCH /balloon/hinting/start (body optional) */
	API_GET_BALLOON_HINTING_STATUS, /* GET /balloon/hinting/status  */
	API_PATCH_BALLOON_HINTING_STOP, /* PATCH /balloon/hinting/stop (body optional) */
	API_GET_MEMORY_HOTPLUG,         /* GET /hotplug/memory          */
	API_PUT_MEMORY_HOTPLUG,         /* PUT /hotplug/memory          */
	API_PATCH_MEMORY_HOTPLUG,       /* PATCH /hotplug/memory        */
	API_GET_MMDS,                   /* GET /mmds                    */
	API_PUT_MMDS,                   /* PUT /mmds                    */
	API_PATCH_MMDS,                 /* PATCH /mmds                  */
	API_PUT_MMDS_CONFIG,            /* PUT /mmds/config             */

	API_ACTION_COUNT
};

/* Longest resource id accepted in a path (Firecracker has no limit; ids are names). */
#define API_ID_MAX 128

struct api_command; /* api/models/command.h */

struct api_request {
	enum api_action action;
	char id[API_ID_MAX + 1]; /* the {id} of /drives, /network-interfaces, /pmem; else "" */
	json_t *body;            /* the body, always a JSON object; NULL if the request had none */
	/*
	 * The body as a typed command once api_request_decode() (decode.h) ran
	 * on the API thread; the body is then NULL. ignis's VMM thread reads
	 * only this; a test VMM (api/tests/fake_vmm.c) may read the body.
	 */
	struct api_command *cmd;
};

/*
 * Routes one request. @method is the HTTP method as sent ("PUT"), @target the
 * request target (NUL-terminated), @body/@body_len the payload (body_len 0 =
 * no body, as Firecracker treats Content-Length: 0).
 *
 * Returns 0 and fills @req (release it with api_request_release), or -EINVAL
 * with @req empty and @err set to the 400 response to send (release it too).
 * Neither @method, @target nor @body is kept.
 */
int api_route(const char *method, const char *target, const char *body, size_t body_len,
	      struct api_request *req, struct api_response *err);

void api_request_release(struct api_request *req);

/* "PUT /drives/{id}" for logs and messages; "?" for API_ACTION_NONE or out of range. */
const char *api_action_name(enum api_action action);

#endif
