/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api-test-server: the real API server, router and channel in front of a
 * fake VMM, for the integration tests and the latency benchmark.
 *
 *   api-test-server SOCKET [--max-payload BYTES] [--verbose]
 *
 * The main thread plays the VMM thread: an epoll loop on the channel's
 * eventfd (and a signalfd: SIGTERM/SIGINT stop the server cleanly). The fake
 * controller keeps just enough state to be checked from outside:
 *  - GET /          InstanceInfo {"app_name", "id": "api-test", "state", "vmm_version"}
 *  - GET /version   {"firecracker_version": "0.1.0"}
 *  - GET /vm/config every configured section, plus "x-requests": the log of
 *                   every request it served as {"action", "id", "body"}
 *  - GET /machine-config  the stored section, or Firecracker's defaults
 *  - PUT of a section stores its body (devices by id); PATCH /machine-config merges
 *  - PUT /actions   InstanceStart (-> Running), SendCtrlAltDel, FlushMetrics
 *  - PATCH /vm      Paused / Resumed
 *  - snapshot create/load: 204
 * Pre/post-boot rules as Firecracker words them, for the configuration
 * sections and actions. A body with a "fail" string is answered 400 with
 * that string as the fault_message (to test error printing and escaping).
 * Every other action: 400 "fake VMM: <METHOD path> is not supported".
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <jansson.h>

#include "api/channel.h"
#include "api/server.h"

#define NOT_BEFORE "The requested operation is not supported before starting the microVM."
#define NOT_AFTER "The requested operation is not supported after starting the microVM."

struct fake_vmm {
	const char *state;
	json_t *config;   /* section name -> body; device sections are arrays */
	json_t *requests; /* log of what the handler saw */
};

static void store_device(json_t *config, const char *section, const char *id_key,
			 const json_t *body)
{
	json_t *list = json_object_get(config, section);
	size_t i;
	json_t *dev;

	if (!list) {
		list = json_array();
		json_object_set_new(config, section, list);
	}
	json_array_foreach(list, i, dev) {
		if (json_equal(json_object_get(dev, id_key), json_object_get(body, id_key))) {
			json_array_set(list, i, (json_t *)body);
			return;
		}
	}
	json_array_append(list, (json_t *)body);
}

static const char *section_of(enum api_action action)
{
	switch (action) {
	case API_PUT_BOOT_SOURCE: return "boot-source";
	case API_PUT_MACHINE_CONFIG: return "machine-config";
	case API_PUT_LOGGER: return "logger";
	case API_PUT_METRICS: return "metrics";
	case API_PUT_SERIAL: return "serial";
	default: return NULL;
	}
}

static void handle_action(struct fake_vmm *vmm, const json_t *body, struct api_response *resp)
{
	const char *type = json_string_value(json_object_get(body, "action_type"));
	bool started = strcmp(vmm->state, "Not started") != 0;

	if (!type) {
		api_response_error(resp, 400, "fake VMM: no action_type");
	} else if (strcmp(type, "InstanceStart") == 0) {
		if (started) {
			api_response_error(resp, 400, NOT_AFTER);
			return;
		}
		vmm->state = "Running";
		api_response_no_content(resp);
	} else if (strcmp(type, "SendCtrlAltDel") == 0 || strcmp(type, "FlushMetrics") == 0) {
		if (!started)
			api_response_error(resp, 400, NOT_BEFORE);
		else
			api_response_no_content(resp);
	} else {
		api_response_error(resp, 400, "fake VMM: unknown action_type %s", type);
	}
}

static void handle(void *ctx, const struct api_request *req, struct api_response *resp)
{
	struct fake_vmm *vmm = ctx;
	bool started = strcmp(vmm->state, "Not started") != 0;
	const char *fail = json_string_value(json_object_get(req->body, "fail"));
	const char *section = section_of(req->action);
	json_t *mc;

	json_array_append_new(vmm->requests,
			      json_pack("{s:s, s:s, s:O?}", "action", api_action_name(req->action),
					"id", req->id, "body", req->body));
	if (fail) {
		api_response_error(resp, 400, "%s", fail);
		return;
	}
	if (section || req->action == API_PUT_DRIVE || req->action == API_PUT_NETWORK_INTERFACE ||
	    req->action == API_PATCH_MACHINE_CONFIG) {
		if (started) {
			api_response_error(resp, 400, NOT_AFTER);
			return;
		}
	}
	switch (req->action) {
	case API_GET_INSTANCE_INFO:
		api_response_ok_json(resp, json_pack("{s:s, s:s, s:s, s:s}", "app_name", "Firecracker",
						     "id", "api-test", "state", vmm->state,
						     "vmm_version", "0.1.0"));
		return;
	case API_GET_VERSION:
		api_response_ok_json(resp, json_pack("{s:s}", "firecracker_version", "0.1.0"));
		return;
	case API_GET_VM_CONFIG: {
		json_t *full = json_deep_copy(vmm->config);

		json_object_set(full, "x-requests", vmm->requests);
		api_response_ok_json(resp, full);
		return;
	}
	case API_GET_MACHINE_CONFIG:
		mc = json_object_get(vmm->config, "machine-config");
		api_response_ok_json(resp, mc ? json_incref(mc) :
					   json_pack("{s:i, s:i, s:b, s:b, s:s}", "vcpu_count", 1,
						     "mem_size_mib", 128, "smt", 0,
						     "track_dirty_pages", 0, "huge_pages", "None"));
		return;
	case API_PATCH_MACHINE_CONFIG:
		mc = json_object_get(vmm->config, "machine-config");
		if (mc)
			json_object_update(mc, req->body);
		else
			json_object_set(vmm->config, "machine-config", req->body);
		api_response_no_content(resp);
		return;
	case API_PUT_DRIVE:
		store_device(vmm->config, "drives", "drive_id", req->body);
		api_response_no_content(resp);
		return;
	case API_PUT_NETWORK_INTERFACE:
		store_device(vmm->config, "network-interfaces", "iface_id", req->body);
		api_response_no_content(resp);
		return;
	case API_PATCH_DRIVE:
	case API_PATCH_NETWORK_INTERFACE:
		if (started)
			api_response_no_content(resp);
		else
			api_response_error(resp, 400, NOT_BEFORE);
		return;
	case API_PUT_ACTIONS:
		handle_action(vmm, req->body, resp);
		return;
	case API_PATCH_VM: {
		const char *state = json_string_value(json_object_get(req->body, "state"));

		if (!started) {
			api_response_error(resp, 400, NOT_BEFORE);
			return;
		}
		if (!state || (strcmp(state, "Paused") != 0 && strcmp(state, "Resumed") != 0)) {
			api_response_error(resp, 400, "fake VMM: bad state");
			return;
		}
		vmm->state = strcmp(state, "Paused") == 0 ? "Paused" : "Running";
		api_response_no_content(resp);
		return;
	}
	case API_PUT_SNAPSHOT_CREATE:
	case API_PUT_SNAPSHOT_LOAD:
		api_response_no_content(resp);
		return;
	default:
		if (section) {
			json_object_set(vmm->config, section, req->body);
			api_response_no_content(resp);
			return;
		}
		api_response_error(resp, 400, "fake VMM: %s is not supported",
				   api_action_name(req->action));
	}
}

static void log_request(void *ctx, const struct api_request_event *ev)
{
	(void)ctx;
	fprintf(stderr, "api-test-server: %s %s -> %d (%s, %llu us)\n", ev->method, ev->target,
		ev->status, api_action_name(ev->action), (unsigned long long)ev->duration_us);
}

static int serve(struct api_channel *ch, struct fake_vmm *vmm)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t stop;
	int epfd, sfd, ret = 0;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sfd = signalfd(-1, &stop, SFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || epfd < 0)
		return -errno;
	ev.data.fd = sfd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = api_channel_fd(ch);
	epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	for (;;) {
		struct epoll_event got;
		int n = epoll_wait(epfd, &got, 1, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (got.data.fd == sfd)
			break;
		api_channel_serve(ch, handle, vmm);
	}
	close(epfd);
	close(sfd);
	return ret;
}

int main(int argc, char **argv)
{
	struct fake_vmm vmm = { .state = "Not started" };
	struct api_server_config cfg = { 0 };
	struct api_channel *ch;
	struct api_server *srv;
	struct err_buf err = { "" };
	sigset_t stop;
	int ret;

	if (argc < 2) {
		fprintf(stderr, "usage: api-test-server SOCKET [--max-payload BYTES] [--verbose]\n");
		return 2;
	}
	cfg.socket_path = argv[1];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--max-payload") == 0 && i + 1 < argc)
			cfg.max_payload_size = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--idle-timeout-ms") == 0 && i + 1 < argc)
			cfg.idle_timeout_ms = (unsigned int)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--request-timeout-ms") == 0 && i + 1 < argc)
			cfg.request_timeout_ms = (unsigned int)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--verbose") == 0)
			cfg.on_request = log_request;
	}
	/* Blocked before any thread starts, so only the signalfd sees them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);

	ret = api_channel_create(&ch);
	if (ret) {
		fprintf(stderr, "api-test-server: channel: %s\n", strerror(-ret));
		return 1;
	}
	cfg.channel = ch;
	ret = api_server_start(&srv, &cfg, &err);
	if (ret) {
		fprintf(stderr, "api-test-server: %s\n", err.msg);
		api_channel_destroy(ch);
		return 1;
	}
	vmm.config = json_object();
	vmm.requests = json_array();
	ret = serve(ch, &vmm);
	api_server_stop(srv);
	api_channel_destroy(ch);
	json_decref(vmm.config);
	json_decref(vmm.requests);
	return ret ? 1 : 0;
}
