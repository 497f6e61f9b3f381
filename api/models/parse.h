/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON side of api/models/: one parser per API resource, shared by the
 * API thread's decoder (api/decode.c) and the config file (config_file.h).
 *
 * Each takes a jansson value and fills its typed struct (owned strings)
 * checking everything the body alone decides; on failure it returns -EINVAL
 * (or -ENOMEM), fills @err with the problem and leaves @out empty. The
 * messages are Firecracker-style field paths ("machine-config.vcpu_count:
 * ..."); the decoder wraps them in Firecracker's serde sentence.
 */
#ifndef IGNIS_API_MODELS_PARSE_H
#define IGNIS_API_MODELS_PARSE_H

#include <stdbool.h>

#include <jansson.h>

#include "api/models/command.h"
#include "vmm/config/config.h"
#include "vmm/util/error.h"

/* machine.c: with @patch, vcpu_count and mem_size_mib may be left out. */
int machine_config_parse(json_t *obj, bool patch, struct machine_config_update *out,
			 struct err_buf *err);

/* boot_source.c: boot_args defaults to Firecracker's command line. */
int boot_source_parse(json_t *obj, struct boot_source_config *out, struct err_buf *err);

/* boot_source.c too */
int serial_config_parse(json_t *obj, struct serial_config *out, struct err_buf *err);

/* drive.c: one Drive; not checked against other drives (vm_config_put_drive does). */
int drive_config_parse(json_t *obj, struct drive_config *out, struct err_buf *err);
int drive_update_parse(json_t *obj, struct drive_update *out, struct err_buf *err);

/*
 * net.c: one NetworkInterface (host_dev_name a valid interface name,
 * guest_mac "aa:bb:cc:dd:ee:ff" unicast, mtu 68..65535; rate limiters
 * refused). Messages start with `iface "<id>"`. Not checked against other
 * interfaces (vm_config_put_net does).
 */
int net_config_parse(json_t *obj, struct net_config *out, struct err_buf *err);
int net_update_parse(json_t *obj, struct net_update *out, struct err_buf *err);

/* logger.c: PUT /logger and PUT /metrics. */
int logger_command_parse(json_t *obj, struct logger_command *out, struct err_buf *err);
int metrics_command_parse(json_t *obj, struct metrics_command *out, struct err_buf *err);

/* actions.c: PUT /actions and PATCH /vm. */
int instance_action_parse(json_t *obj, enum instance_action *out, struct err_buf *err);
int vm_state_parse(json_t *obj, enum vm_state_request *out, struct err_buf *err);

/* snapshot.c: PUT /snapshot/create and PUT /snapshot/load. */
int snapshot_create_parse(json_t *obj, struct snapshot_create_command *out, struct err_buf *err);
int snapshot_load_parse(json_t *obj, struct snapshot_load_command *out, struct err_buf *err);
int snapshot_rewind_parse(json_t *obj, struct snapshot_rewind_command *out, struct err_buf *err);
int snapshot_working_set_parse(json_t *obj, struct snapshot_working_set_command *out,
			       struct err_buf *err);

#endif
