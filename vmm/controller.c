/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/controller.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <jansson.h>

#include "vmm/controller_json.h"
#include "vmm/controller_snapshot.h"
#include "vmm/kvm/snapshot_timing.h"
#include "vmm/metrics.h"
#include "vmm/util/clock.h"
#include "vmm/util/log.h"

#ifndef IGNIS_VERSION
#define IGNIS_VERSION "0.0.0"
#endif
/* The Firecracker API version ignis speaks (reference §1, swagger 1.17.0-dev). */
#define FIRECRACKER_API_VERSION "1.17.0"

/* Firecracker writes metrics every 60 s (WRITE_METRICS_PERIOD_MS). */
#define METRICS_PERIOD_S 60

static void on_metrics_timer(struct event_handler *h, uint32_t events)
{
	struct controller *c = container_of(h, struct controller, metrics_timer);
	uint64_t expirations;

	(void)events;
	if (read(c->metrics_timer_fd, &expirations, sizeof(expirations)) == sizeof(expirations))
		metrics_flush(&c->metrics, c->vmm);
}

void controller_init(struct controller *c, struct vmm *vmm, uint64_t startup_us,
		     uint64_t startup_cpu_us)
{
	memset(c, 0, sizeof(*c));
	c->vmm = vmm;
	c->metrics_timer_fd = -1;
	c->metrics_timer.fn = on_metrics_timer;
	metrics_init(&c->metrics, startup_us, startup_cpu_us);
}

void controller_destroy(struct controller *c)
{
	if (c->metrics_timer_fd >= 0) {
		event_loop_del(&c->vmm->loop, c->metrics_timer_fd);
		close(c->metrics_timer_fd);
	}
	c->metrics_timer_fd = -1;
	metrics_close(&c->metrics);
}

int controller_set_metrics(struct controller *c, const char *path, struct err_buf *err)
{
	struct itimerspec period = { { METRICS_PERIOD_S, 0 }, { METRICS_PERIOD_S, 0 } };
	int ret;

	if (c->metrics_configured)
		return err_set(err, -EEXIST, "Reinitialization of metrics not allowed.");
	ret = metrics_open(&c->metrics, path, err);
	if (ret)
		return ret;
	c->metrics_configured = true;
	c->metrics_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->metrics_timer_fd >= 0 &&
	    (timerfd_settime(c->metrics_timer_fd, 0, &period, NULL) < 0 ||
	     event_loop_add(&c->vmm->loop, c->metrics_timer_fd, EPOLLIN, &c->metrics_timer))) {
		close(c->metrics_timer_fd);
		c->metrics_timer_fd = -1;
	}
	if (c->metrics_timer_fd < 0)
		pr_warn("metrics: no periodic flush (timerfd failed); FlushMetrics still works");
	return 0;
}

enum controller_phase controller_action_phase(enum api_action action)
{
	switch (action) {
	case API_PUT_MACHINE_CONFIG:
	case API_PATCH_MACHINE_CONFIG:
	case API_PUT_BOOT_SOURCE:
	case API_PUT_LOGGER:
	case API_PUT_METRICS:
	case API_PUT_SERIAL:
	case API_PUT_SNAPSHOT_LOAD:
	case API_PUT_CPU_CONFIG:
	case API_PUT_VSOCK:
	case API_PUT_ENTROPY:
	case API_PUT_BALLOON:
	case API_PUT_MMDS_CONFIG:
	case API_PUT_MEMORY_HOTPLUG:
		return PHASE_PRE;
	case API_PATCH_DRIVE:
	case API_PATCH_NETWORK_INTERFACE:
	case API_PATCH_VM:
	case API_PUT_SNAPSHOT_CREATE:
	case API_PATCH_BALLOON:
	case API_GET_BALLOON_STATS:
	case API_PATCH_BALLOON_STATS:
	case API_PATCH_BALLOON_HINTING_START:
	case API_GET_BALLOON_HINTING_STATUS:
	case API_PATCH_BALLOON_HINTING_STOP:
	case API_GET_MEMORY_HOTPLUG:
	case API_PATCH_MEMORY_HOTPLUG:
	case API_DELETE_DRIVE:
	case API_DELETE_NETWORK_INTERFACE:
	case API_DELETE_PMEM:
	case API_PATCH_PMEM:
		return PHASE_POST;
	case API_PUT_DRIVE:
	case API_PUT_NETWORK_INTERFACE:
	case API_PUT_PMEM:
		/* Both in Firecracker (post-boot = PCI hotplug), which ignis refuses. */
		return PHASE_PRE;
	default:
		return PHASE_BOTH;
	}
}

static void get_instance_info(struct controller *c, struct api_response *resp)
{
	api_response_ok_json(resp, json_pack("{s:s, s:s, s:s, s:s}", "app_name", "ignis", "id",
					     c->vmm->opts.id ? c->vmm->opts.id : "anonymous-instance",
					     "state", vmm_state_name(c->vmm->state), "vmm_version",
					     IGNIS_VERSION));
}

static void get_version(struct api_response *resp)
{
	api_response_ok_json(resp, json_pack("{s:s, s:s}", "firecracker_version",
					     FIRECRACKER_API_VERSION, "ignis_version", IGNIS_VERSION));
}

static void put_machine_config(struct controller *c, const json_t *body, bool patch,
			       struct api_response *resp)
{
	struct machine_config mc;
	struct err_buf err;

	if (machine_config_parse(body, patch ? &c->vmm->config.machine : NULL, patch, &mc, &err)) {
		controller_bad_body(resp, err.msg);
		return;
	}
	c->vmm->config.machine = mc;
	c->boot_resources_configured = true;
	api_response_no_content(resp);
}

static void put_boot_source(struct controller *c, const json_t *body, struct api_response *resp)
{
	struct boot_source_config bs;
	struct err_buf err;

	if (boot_source_parse(body, &bs, &err)) {
		controller_bad_body(resp, err.msg);
		return;
	}
	boot_source_free(&c->vmm->config.boot);
	c->vmm->config.boot = bs;
	c->vmm->config.has_boot_source = true;
	c->boot_resources_configured = true;
	api_response_no_content(resp);
}

static void put_drive(struct controller *c, const json_t *body, struct api_response *resp)
{
	struct drive_config d;
	struct err_buf err;

	if (drive_config_parse(body, &d, &err)) {
		controller_bad_body(resp, err.msg);
		return;
	}
	if (vm_config_put_drive(&c->vmm->config, &d, &err)) {
		drive_config_free(&d);
		api_response_error(resp, 400, "%s", err.msg);
		return;
	}
	c->boot_resources_configured = true;
	api_response_no_content(resp);
}

static void patch_drive(struct controller *c, const char *id, const json_t *body,
			struct api_response *resp)
{
	static const char *const keys[] = { "drive_id", "path_on_host", "rate_limiter" };
	const json_t *path = json_object_get(body, "path_on_host");
	const json_t *rl = json_object_get(body, "rate_limiter");
	struct err_buf err;

	if (!controller_only_keys(body, keys, 3, resp))
		return;
	if (rl && !json_is_null(rl)) {
		api_response_error(resp, 400, "drive \"%s\": rate limiters are not supported by ignis", id);
		return;
	}
	if (!path) {
		api_response_no_content(resp); /* nothing to change */
		return;
	}
	if (!json_is_string(path) || !json_string_value(path)[0]) {
		controller_bad_body(resp, "path_on_host: expected a non-empty string");
		return;
	}
	if (vm_update_drive(c->vmm->vm, &c->vmm->config, id, json_string_value(path), &err)) {
		api_response_error(resp, 400, "%s", err.msg);
		return;
	}
	api_response_no_content(resp);
}

static void put_net(struct controller *c, const json_t *body, struct api_response *resp)
{
	struct net_config n;
	struct err_buf err;

	if (net_config_parse(body, &n, &err)) {
		controller_bad_body(resp, err.msg);
		return;
	}
	if (vm_config_put_net(&c->vmm->config, &n, &err)) {
		net_config_free(&n);
		api_response_error(resp, 400, "%s", err.msg);
		return;
	}
	c->boot_resources_configured = true;
	api_response_no_content(resp);
}

static void patch_net(struct controller *c, const char *id, const json_t *body,
		      struct api_response *resp)
{
	static const char *const keys[] = { "iface_id", "rx_rate_limiter", "tx_rate_limiter" };
	const json_t *rx = json_object_get(body, "rx_rate_limiter");
	const json_t *tx = json_object_get(body, "tx_rate_limiter");
	bool known = false;

	if (!controller_only_keys(body, keys, 3, resp))
		return;
	for (unsigned int i = 0; i < c->vmm->config.nr_nets; i++)
		known |= strcmp(c->vmm->config.nets[i].iface_id, id) == 0;
	if (!known) {
		api_response_error(resp, 400, "network interface \"%s\" does not exist", id);
		return;
	}
	/* Firecracker's PATCH only updates rate limiters, which ignis does not have. */
	if ((rx && !json_is_null(rx)) || (tx && !json_is_null(tx))) {
		api_response_error(resp, 400,
				   "network interface \"%s\": rate limiters are not supported by ignis", id);
		return;
	}
	api_response_no_content(resp);
}

static void put_serial(struct controller *c, const json_t *body, struct api_response *resp)
{
	struct serial_config sc;
	struct err_buf err;

	if (serial_config_parse(body, &sc, &err)) {
		controller_bad_body(resp, err.msg);
		return;
	}
	free(c->vmm->config.serial.serial_out_path);
	c->vmm->config.serial = sc;
	api_response_no_content(resp);
}

static void put_logger(struct controller *c, const json_t *body, struct api_response *resp)
{
	static const char *const keys[] = { "log_path", "level", "show_level", "show_log_origin",
					    "module" };
	const json_t *path = json_object_get(body, "log_path");
	const json_t *level = json_object_get(body, "level");
	const json_t *show_level = json_object_get(body, "show_level");
	const json_t *show_origin = json_object_get(body, "show_log_origin");
	enum log_level lvl = LOG_INFO;
	struct err_buf err;

	(void)c;
	if (!controller_only_keys(body, keys, 5, resp))
		return;
	if ((path && !json_is_string(path)) || (level && !json_is_string(level)) ||
	    (show_level && !json_is_boolean(show_level)) ||
	    (show_origin && !json_is_boolean(show_origin))) {
		controller_bad_body(resp,
				    "logger: log_path and level are strings, show_level and show_log_origin booleans");
		return;
	}
	if (level && log_level_parse(json_string_value(level), &lvl)) {
		controller_bad_body(resp,
				    "logger.level: expected one of Error, Warning, Info, Debug, Trace, Off");
		return;
	}
	if (log_reconfigure(path ? json_string_value(path) : NULL, lvl, json_is_true(show_level),
			    json_is_true(show_origin), &err)) {
		api_response_error(resp, 400, "%s", err.msg);
		return;
	}
	api_response_no_content(resp);
}

static void put_metrics(struct controller *c, const json_t *body, struct api_response *resp)
{
	static const char *const keys[] = { "metrics_path", "emit_id", "properties" };
	const json_t *path = json_object_get(body, "metrics_path");
	struct err_buf err;

	if (!controller_only_keys(body, keys, 3, resp))
		return;
	if (!path || !json_is_string(path)) {
		controller_bad_body(resp, "metrics: missing field `metrics_path`");
		return;
	}
	if (controller_set_metrics(c, json_string_value(path), &err)) {
		api_response_error(resp, 400, "%s", err.msg);
		return;
	}
	api_response_no_content(resp);
}

int controller_check_config(const struct vm_config *cfg, struct err_buf *err)
{
	char msg[sizeof(err->msg)] = "";
	size_t used = 0;

#define PROBLEM(...)                                                                         \
	do {                                                                                 \
		if (used < sizeof(msg))                                                      \
			used += (size_t)snprintf(msg + used, sizeof(msg) - used, "%s",      \
						 used ? "; " : "");                          \
		if (used < sizeof(msg))                                                      \
			used += (size_t)snprintf(msg + used, sizeof(msg) - used, __VA_ARGS__); \
	} while (0)

	if (!cfg->has_boot_source) {
		PROBLEM("Cannot start microvm without kernel configuration.");
	} else {
		if (access(cfg->boot.kernel_image_path, R_OK))
			PROBLEM("kernel image %s: %s", cfg->boot.kernel_image_path, strerror(errno));
		if (cfg->boot.initrd_path && access(cfg->boot.initrd_path, R_OK))
			PROBLEM("initrd %s: %s", cfg->boot.initrd_path, strerror(errno));
	}
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		const struct drive_config *d = &cfg->drives[i];

		if (access(d->path_on_host, d->is_read_only ? R_OK : R_OK | W_OK))
			PROBLEM("drive \"%s\": %s: %s", d->drive_id, d->path_on_host, strerror(errno));
	}
	if (cfg->machine.huge_pages != HUGE_PAGES_NONE && cfg->machine.mem_size_mib % 2)
		PROBLEM("machine-config.mem_size_mib must be even with huge pages");
#undef PROBLEM
	if (!used)
		return 0;
	return err_set(err, -EINVAL, "%s", msg);
}

static void instance_start(struct controller *c, struct api_response *resp)
{
	struct err_buf err;

	/* Through the API, the boot timer counts from InstanceStart (as Firecracker's). */
	c->vmm->opts.start_wall_us = clock_us(CLOCK_MONOTONIC);
	c->vmm->opts.start_cpu_us = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	if (controller_check_config(&c->vmm->config, &err) || vmm_start(c->vmm, &err)) {
		api_response_error(resp, 400, "Failed to start microVM: %s", err.msg);
		return;
	}
	metrics_flush(&c->metrics, c->vmm);
	api_response_no_content(resp);
}

static void put_actions(struct controller *c, const json_t *body, struct api_response *resp)
{
	static const char *const keys[] = { "action_type" };
	const json_t *type = json_object_get(body, "action_type");
	const char *t;
	bool started = c->vmm->vm != NULL;

	if (!controller_only_keys(body, keys, 1, resp))
		return;
	if (!type || !json_is_string(type)) {
		controller_bad_body(resp, "missing field `action_type`");
		return;
	}
	t = json_string_value(type);
	if (strcmp(t, "InstanceStart") == 0) {
		if (started)
			api_response_error(resp, 400, CONTROLLER_ERR_POST_BOOT);
		else
			instance_start(c, resp);
	} else if (strcmp(t, "SendCtrlAltDel") == 0) {
		if (!started) {
			api_response_error(resp, 400, CONTROLLER_ERR_PRE_BOOT);
			return;
		}
		i8042_send_ctrl_alt_del(&c->vmm->vm->i8042);
		api_response_no_content(resp);
	} else if (strcmp(t, "FlushMetrics") == 0) {
		if (!started) {
			api_response_error(resp, 400, CONTROLLER_ERR_PRE_BOOT);
			return;
		}
		if (metrics_flush(&c->metrics, c->vmm)) {
			api_response_error(resp, 400, "Failed to flush metrics: %s",
					   c->metrics_configured ? "write error" : "metrics are not configured");
			return;
		}
		api_response_no_content(resp);
	} else {
		controller_bad_body(resp,
				    "unknown variant of action_type: expected InstanceStart, SendCtrlAltDel or FlushMetrics");
	}
}

static void patch_vm(struct controller *c, const json_t *body, struct api_response *resp)
{
	static const char *const keys[] = { "state" };
	const json_t *state = json_object_get(body, "state");

	if (!controller_only_keys(body, keys, 1, resp))
		return;
	if (state && json_is_string(state) && strcmp(json_string_value(state), "Paused") == 0) {
		vmm_pause(c->vmm);
	} else if (state && json_is_string(state) &&
		   strcmp(json_string_value(state), "Resumed") == 0) {
		vmm_resume(c->vmm);
	} else {
		controller_bad_body(resp, "state: expected \"Paused\" or \"Resumed\"");
		return;
	}
	api_response_no_content(resp);
}

static void put_snapshot_load(struct controller *c, const json_t *body, struct api_response *resp)
{
	/* Where "load request to first vCPU exit" starts (snapshot_timing.h). */
	c->vmm->load_request_ns = snapshot_timing_now_ns();
	if (c->boot_resources_configured)
		api_response_error(resp, 400, CONTROLLER_ERR_LOAD_AFTER_CONFIG);
	else
		controller_snapshot_load(c->vmm, &c->metrics, body, resp);
}

void controller_handle(void *ctx, const struct api_request *req, struct api_response *resp)
{
	struct controller *c = ctx;
	enum controller_phase phase = controller_action_phase(req->action);
	bool started = c->vmm->vm != NULL;
	const json_t *body = req->body;

	if (started && !(phase & PHASE_POST)) {
		api_response_error(resp, 400, CONTROLLER_ERR_POST_BOOT);
		return;
	}
	if (!started && !(phase & PHASE_PRE)) {
		api_response_error(resp, 400, CONTROLLER_ERR_PRE_BOOT);
		return;
	}

	switch (req->action) {
	case API_GET_INSTANCE_INFO:
		get_instance_info(c, resp);
		break;
	case API_GET_VERSION:
		get_version(resp);
		break;
	case API_GET_VM_CONFIG:
		api_response_ok_json(resp, vm_config_to_json(&c->vmm->config));
		break;
	case API_GET_MACHINE_CONFIG:
		api_response_ok_json(resp, machine_config_to_json(&c->vmm->config.machine));
		break;
	case API_PUT_MACHINE_CONFIG:
	case API_PATCH_MACHINE_CONFIG:
		put_machine_config(c, body, req->action == API_PATCH_MACHINE_CONFIG, resp);
		break;
	case API_PUT_BOOT_SOURCE:
		put_boot_source(c, body, resp);
		break;
	case API_PUT_DRIVE:
		put_drive(c, body, resp);
		break;
	case API_PATCH_DRIVE:
		patch_drive(c, req->id, body, resp);
		break;
	case API_PUT_NETWORK_INTERFACE:
		put_net(c, body, resp);
		break;
	case API_PATCH_NETWORK_INTERFACE:
		patch_net(c, req->id, body, resp);
		break;
	case API_PUT_SERIAL:
		put_serial(c, body, resp);
		break;
	case API_PUT_LOGGER:
		put_logger(c, body, resp);
		break;
	case API_PUT_METRICS:
		put_metrics(c, body, resp);
		break;
	case API_PUT_ACTIONS:
		put_actions(c, body, resp);
		break;
	case API_PATCH_VM:
		patch_vm(c, body, resp);
		break;
	case API_PUT_SNAPSHOT_CREATE:
		controller_snapshot_create(c->vmm, body, resp);
		break;
	case API_PUT_SNAPSHOT_LOAD:
		put_snapshot_load(c, body, resp);
		break;
	default:
		api_response_error(resp, 400, "%s is not supported by ignis.",
				   api_action_name(req->action));
		break;
	}
}
