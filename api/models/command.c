/* SPDX-License-Identifier: Apache-2.0 */
#include "api/models/command.h"

#include <stdlib.h>
#include <string.h>

static void free_load(struct snapshot_load_command *l)
{
	free(l->snapshot_path);
	free(l->mem_path);
	free(l->working_set_path);
	for (unsigned int i = 0; i < VM_MAX_NETS; i++) {
		free(l->overrides[i].iface_id);
		free(l->overrides[i].host_dev_name);
	}
}

void api_command_free(struct api_command *cmd)
{
	switch (cmd->kind) {
	case CMD_BOOT_SOURCE:
		boot_source_free(&cmd->u.boot);
		break;
	case CMD_DRIVE:
		drive_config_free(&cmd->u.drive);
		break;
	case CMD_DRIVE_UPDATE:
		free(cmd->u.drive_update.path_on_host);
		break;
	case CMD_NET:
		net_config_free(&cmd->u.net);
		break;
	case CMD_SERIAL:
		free(cmd->u.serial.serial_out_path);
		break;
	case CMD_LOGGER:
		free(cmd->u.logger.log_path);
		break;
	case CMD_METRICS:
		free(cmd->u.metrics.metrics_path);
		break;
	case CMD_SNAPSHOT_CREATE:
		free(cmd->u.create.snapshot_path);
		free(cmd->u.create.mem_file_path);
		break;
	case CMD_SNAPSHOT_LOAD:
		free_load(&cmd->u.load);
		break;
	case CMD_SNAPSHOT_WORKING_SET:
		free(cmd->u.working_set.path);
		break;
	default:
		break;
	}
	memset(cmd, 0, sizeof(*cmd));
}
