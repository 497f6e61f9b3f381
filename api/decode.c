/* SPDX-License-Identifier: Apache-2.0 */
#include "api/decode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "api/models/command.h"
#include "api/models/parse.h"

/* The body's parser for @action, run on @cmd; CMD_NONE for an action without one. */
static int parse_body(enum api_action action, json_t *body, struct api_command *cmd,
		      struct err_buf *err)
{
	switch (action) {
	case API_PUT_MACHINE_CONFIG:
	case API_PATCH_MACHINE_CONFIG:
		cmd->kind = CMD_MACHINE;
		return machine_config_parse(body, action == API_PATCH_MACHINE_CONFIG,
					    &cmd->u.machine, err);
	case API_PUT_BOOT_SOURCE:
		cmd->kind = CMD_BOOT_SOURCE;
		return boot_source_parse(body, &cmd->u.boot, err);
	case API_PUT_DRIVE:
		cmd->kind = CMD_DRIVE;
		return drive_config_parse(body, &cmd->u.drive, err);
	case API_PATCH_DRIVE:
		cmd->kind = CMD_DRIVE_UPDATE;
		return drive_update_parse(body, &cmd->u.drive_update, err);
	case API_PUT_NETWORK_INTERFACE:
		cmd->kind = CMD_NET;
		return net_config_parse(body, &cmd->u.net, err);
	case API_PATCH_NETWORK_INTERFACE:
		cmd->kind = CMD_NET_UPDATE;
		return net_update_parse(body, &cmd->u.net_update, err);
	case API_PUT_SERIAL:
		cmd->kind = CMD_SERIAL;
		return serial_config_parse(body, &cmd->u.serial, err);
	case API_PUT_LOGGER:
		cmd->kind = CMD_LOGGER;
		return logger_command_parse(body, &cmd->u.logger, err);
	case API_PUT_METRICS:
		cmd->kind = CMD_METRICS;
		return metrics_command_parse(body, &cmd->u.metrics, err);
	case API_PUT_ACTIONS:
		cmd->kind = CMD_ACTION;
		return instance_action_parse(body, &cmd->u.action, err);
	case API_PATCH_VM:
		cmd->kind = CMD_VM_STATE;
		return vm_state_parse(body, &cmd->u.vm_state, err);
	case API_PUT_SNAPSHOT_CREATE:
		cmd->kind = CMD_SNAPSHOT_CREATE;
		return snapshot_create_parse(body, &cmd->u.create, err);
	case API_PUT_SNAPSHOT_LOAD:
		cmd->kind = CMD_SNAPSHOT_LOAD;
		return snapshot_load_parse(body, &cmd->u.load, err);
	case API_PUT_SNAPSHOT_REWIND:
		cmd->kind = CMD_SNAPSHOT_REWIND;
		return snapshot_rewind_parse(body, &cmd->u.rewind, err);
	case API_PUT_SNAPSHOT_WORKING_SET:
		cmd->kind = CMD_SNAPSHOT_WORKING_SET;
		return snapshot_working_set_parse(body, &cmd->u.working_set, err);
	default:
		cmd->kind = CMD_NONE;
		return 0;
	}
}

int api_request_decode(struct api_request *req)
{
	struct api_command *cmd = calloc(1, sizeof(*cmd));
	struct err_buf err = { .msg = "" };

	if (!cmd)
		return -ENOMEM;
	/* The router hands over a JSON object for every action with a body parser. */
	if (req->body && parse_body(req->action, req->body, cmd, &err)) {
		enum api_command_kind kind = cmd->kind;

		api_command_free(cmd);
		cmd->kind = kind;
		cmd->invalid = true;
		snprintf(cmd->fault, sizeof(cmd->fault), API_FAULT_DESERIALIZE "%s.", err.msg);
	}
	/* The one command whose every field is optional: no body means the defaults. */
	if (!req->body && req->action == API_PUT_SNAPSHOT_REWIND)
		cmd->kind = CMD_SNAPSHOT_REWIND;
	json_decref(req->body);
	req->body = NULL;
	req->cmd = cmd;
	return 0;
}
