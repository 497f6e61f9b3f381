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

#include "api/models/command.h"
#include "api/models/replies.h"
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
	case API_PUT_SNAPSHOT_REWIND:
	case API_PUT_SNAPSHOT_WORKING_SET:
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
	api_response_ok_text(resp, reply_instance_info(c->vmm->opts.id ? c->vmm->opts.id
								    : "anonymous-instance",
						       vmm_state_name(c->vmm->state), IGNIS_VERSION));
}

static void put_machine_config(struct controller *c, const struct machine_config_update *u,
			       bool patch, struct api_response *resp)
{
	struct machine_config defaults;
	struct err_buf err;

	/* Firecracker's answer to a PATCH that names no field, `{}`. */
	if (patch && !(u->has_vcpu_count || u->has_mem_size_mib || u->has_smt ||
		       u->has_track_dirty_pages || u->has_huge_pages || u->has_cpu_template)) {
		api_response_error(resp, 400, "Empty PATCH request.");
		return;
	}
	machine_config_init(&defaults);
	if (machine_config_apply(patch ? &c->vmm->config.machine : &defaults, u,
				 &c->vmm->config.machine, &err)) {
		api_response_error(resp, 400, API_FAULT_DESERIALIZE "%s.", err.msg);
		return;
	}
	c->boot_resources_configured = true;
	api_response_no_content(resp);
}

static void put_boot_source(struct controller *c, struct boot_source_config *bs,
			    struct api_response *resp)
{
	boot_source_free(&c->vmm->config.boot);
	c->vmm->config.boot = *bs;
	memset(bs, 0, sizeof(*bs)); /* the configuration owns its strings now */
	c->vmm->config.has_boot_source = true;
	c->boot_resources_configured = true;
	api_response_no_content(resp);
}

static void put_drive(struct controller *c, struct drive_config *d, struct api_response *resp)
{
	struct err_buf err;

	/* On success the configuration takes @d's strings and clears @d. */
	if (vm_config_put_drive(&c->vmm->config, d, &err)) {
		api_response_error(resp, 400, "%s", err.msg);
		return;
	}
	c->boot_resources_configured = true;
	api_response_no_content(resp);
}

static void patch_drive(struct controller *c, const char *id, const struct drive_update *u,
			struct api_response *resp)
{
	struct err_buf err;

	if (u->sets_rate_limiter) {
		api_response_error(resp, 400, "drive \"%s\": rate limiters are not supported by ignis", id);
		return;
	}
	if (!u->path_on_host) {
		api_response_no_content(resp); /* nothing to change */
		return;
	}
	if (vm_update_drive(c->vmm->vm, &c->vmm->config, id, u->path_on_host, &err)) {
		api_response_error(resp, 400, "%s", err.msg);
		return;
	}
	api_response_no_content(resp);
}

static void put_net(struct controller *c, struct net_config *n, struct api_response *resp)
{
	struct err_buf err;

	if (vm_config_put_net(&c->vmm->config, n, &err)) {
		api_response_error(resp, 400, "%s", err.msg);
		return;
	}
	c->boot_resources_configured = true;
	api_response_no_content(resp);
}

static void patch_net(struct controller *c, const char *id, const struct net_update *u,
		      struct api_response *resp)
{
	bool known = false;

	for (unsigned int i = 0; i < c->vmm->config.nr_nets; i++)
		known |= strcmp(c->vmm->config.nets[i].iface_id, id) == 0;
	if (!known) {
		api_response_error(resp, 400, "network interface \"%s\" does not exist", id);
		return;
	}
	/* Firecracker's PATCH only updates rate limiters, which ignis does not have. */
	if (u->sets_rate_limiter) {
		api_response_error(resp, 400,
				   "network interface \"%s\": rate limiters are not supported by ignis", id);
		return;
	}
	api_response_no_content(resp);
}

static void put_serial(struct controller *c, struct serial_config *sc, struct api_response *resp)
{
	free(c->vmm->config.serial.serial_out_path);
	c->vmm->config.serial = *sc;
	sc->serial_out_path = NULL;
	api_response_no_content(resp);
}

static void put_logger(const struct logger_command *l, struct api_response *resp)
{
	struct err_buf err;

	if (log_reconfigure(l->log_path, l->level, l->show_level, l->show_origin, &err)) {
		api_response_error(resp, 400, "%s", err.msg);
		return;
	}
	api_response_no_content(resp);
}

static void put_metrics(struct controller *c, const struct metrics_command *m,
			struct api_response *resp)
{
	struct err_buf err;

	if (controller_set_metrics(c, m->metrics_path, &err)) {
		api_response_error(resp, 400, "%s", err.msg);
		return;
	}
	api_response_no_content(resp);
}

int controller_check_config(const struct vm_config *cfg, struct err_buf *err)
{
	char msg[sizeof(err->msg)] = "";
	struct err_buf why;
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
	/* machine_config_apply() checked it already; a config built elsewhere is checked again. */
	if (machine_config_check(&cfg->machine, &why))
		PROBLEM("%s", why.msg);
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

static void put_actions(struct controller *c, enum instance_action action,
			struct api_response *resp)
{
	bool started = c->vmm->vm != NULL;

	if (action == INSTANCE_START) {
		if (started)
			api_response_error(resp, 400, CONTROLLER_ERR_POST_BOOT);
		else
			instance_start(c, resp);
		return;
	}
	if (!started) {
		api_response_error(resp, 400, CONTROLLER_ERR_PRE_BOOT);
		return;
	}
	if (action == INSTANCE_SEND_CTRL_ALT_DEL) {
		i8042_send_ctrl_alt_del(&c->vmm->vm->i8042);
	} else if (metrics_flush(&c->metrics, c->vmm)) {
		api_response_error(resp, 400, "Failed to flush metrics: %s",
				   c->metrics_configured ? "write error" : "metrics are not configured");
		return;
	}
	api_response_no_content(resp);
}

static void patch_vm(struct controller *c, enum vm_state_request state, struct api_response *resp)
{
	if (state == VM_STATE_PAUSED)
		vmm_pause(c->vmm);
	else
		vmm_resume(c->vmm);
	api_response_no_content(resp);
}

/* The GETs: answered from the VMM's state, serialised by api/models/replies.h. */
static bool serve_get(struct controller *c, enum api_action action, struct api_response *resp)
{
	switch (action) {
	case API_GET_INSTANCE_INFO:
		get_instance_info(c, resp);
		return true;
	case API_GET_VERSION:
		api_response_ok_text(resp, reply_version(FIRECRACKER_API_VERSION, IGNIS_VERSION));
		return true;
	case API_GET_VM_CONFIG:
		api_response_ok_text(resp, reply_vm_config(&c->vmm->config));
		return true;
	case API_GET_MACHINE_CONFIG:
		api_response_ok_text(resp, reply_machine_config(&c->vmm->config.machine));
		return true;
	default:
		return false;
	}
}

/*
 * The commands with a body: req->cmd, decoded on the API thread. The rules
 * that come before a body's own problems (the phase, a load after
 * configuring) have been checked; a refused body is answered here.
 */
static void serve_command(struct controller *c, const struct api_request *req,
			  struct api_response *resp)
{
	struct api_command *cmd = req->cmd;

	if (cmd->invalid) {
		api_response_error(resp, 400, "%s", cmd->fault);
		return;
	}
	switch (cmd->kind) {
	case CMD_MACHINE:
		put_machine_config(c, &cmd->u.machine, req->action == API_PATCH_MACHINE_CONFIG, resp);
		break;
	case CMD_BOOT_SOURCE:
		put_boot_source(c, &cmd->u.boot, resp);
		break;
	case CMD_DRIVE:
		put_drive(c, &cmd->u.drive, resp);
		break;
	case CMD_DRIVE_UPDATE:
		patch_drive(c, req->id, &cmd->u.drive_update, resp);
		break;
	case CMD_NET:
		put_net(c, &cmd->u.net, resp);
		break;
	case CMD_NET_UPDATE:
		patch_net(c, req->id, &cmd->u.net_update, resp);
		break;
	case CMD_SERIAL:
		put_serial(c, &cmd->u.serial, resp);
		break;
	case CMD_LOGGER:
		put_logger(&cmd->u.logger, resp);
		break;
	case CMD_METRICS:
		put_metrics(c, &cmd->u.metrics, resp);
		break;
	case CMD_ACTION:
		put_actions(c, cmd->u.action, resp);
		break;
	case CMD_VM_STATE:
		patch_vm(c, cmd->u.vm_state, resp);
		break;
	case CMD_SNAPSHOT_CREATE:
		controller_snapshot_create(c->vmm, &cmd->u.create, resp);
		break;
	case CMD_SNAPSHOT_LOAD:
		controller_snapshot_load(c->vmm, &c->metrics, &cmd->u.load, resp);
		resp->deprecation = cmd->u.load.deprecated;
		break;
	case CMD_SNAPSHOT_REWIND:
		controller_snapshot_rewind(c->vmm, &cmd->u.rewind, resp);
		break;
	case CMD_SNAPSHOT_WORKING_SET:
		controller_snapshot_working_set(c->vmm, &cmd->u.working_set, resp);
		break;
	case CMD_NONE:
		api_response_error(resp, 400, "%s is not supported by ignis.",
				   api_action_name(req->action));
		break;
	}
}

void controller_handle(void *ctx, const struct api_request *req, struct api_response *resp)
{
	struct controller *c = ctx;
	enum controller_phase phase = controller_action_phase(req->action);
	bool started = c->vmm->vm != NULL;

	if (started && !(phase & PHASE_POST)) {
		api_response_error(resp, 400, CONTROLLER_ERR_POST_BOOT);
		return;
	}
	if (!started && !(phase & PHASE_PRE)) {
		api_response_error(resp, 400, CONTROLLER_ERR_PRE_BOOT);
		return;
	}
	if (req->action == API_PUT_SNAPSHOT_LOAD) {
		/* Where "load request to first vCPU exit" starts (snapshot_timing.h). */
		c->vmm->load_request_ns = snapshot_timing_now_ns();
		if (c->boot_resources_configured) {
			api_response_error(resp, 400, CONTROLLER_ERR_LOAD_AFTER_CONFIG);
			return;
		}
	}
	if (serve_get(c, req->action, resp))
		return;
	if (!req->cmd) {
		/* Only a VMM wired without typed_commands gets here: a bug, not a client error. */
		api_response_error(resp, 500, "Internal error: %s arrived undecoded.",
				   api_action_name(req->action));
		return;
	}
	serve_command(c, req, resp);
}
