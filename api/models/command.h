/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed commands: what the API thread hands the VMM thread instead of JSON.
 *
 * The API thread parses and checks a request's body into one of these (see
 * api/decode.h); the VMM thread reads the member for the request's action
 * and never sees jansson. Everything the body alone decides (types, ranges,
 * required and unknown fields, names of enum values) is checked before the
 * command exists. What depends on the VMM's state (the phase, the current
 * configuration, whether a drive exists, a file can be opened) is the VMM
 * thread's, so a refused body does not answer on its own: the command is
 * marked invalid with its 400 message and the VMM thread sends that message
 * after its own checks that come first (the pre-/post-boot rule), as the
 * controller always has.
 */
#ifndef IGNIS_API_MODELS_COMMAND_H
#define IGNIS_API_MODELS_COMMAND_H

#include <stdbool.h>

#include "vmm/config/config.h"
#include "vmm/util/log.h"

/* PATCH /drives/{id}. */
struct drive_update {
	char *path_on_host;     /* NULL: nothing to change */
	bool sets_rate_limiter; /* a rate_limiter other than null (ignis has none) */
};

/* PATCH /network-interfaces/{id}: Firecracker only updates rate limiters there. */
struct net_update {
	bool sets_rate_limiter; /* rx_ or tx_rate_limiter other than null */
};

/* PUT /logger. */
struct logger_command {
	char *log_path; /* NULL: keep the current destination */
	enum log_level level;
	bool show_level;
	bool show_origin;
};

/* PUT /metrics. */
struct metrics_command {
	char *metrics_path;
};

/* PUT /actions. */
enum instance_action {
	INSTANCE_START,
	INSTANCE_SEND_CTRL_ALT_DEL,
	INSTANCE_FLUSH_METRICS,
};

/* PATCH /vm. */
enum vm_state_request {
	VM_STATE_PAUSED,
	VM_STATE_RESUMED,
};

/* PUT /snapshot/create. */
struct snapshot_create_command {
	char *snapshot_path;
	char *mem_file_path;
	bool diff; /* snapshot_type "Diff" (absent: "Full") */
};

/* PUT /snapshot/load. */
struct snapshot_load_command {
	char *snapshot_path;
	char *mem_path;  /* mem_backend.backend_path or the deprecated mem_file_path */
	bool uffd;       /* mem_backend.backend_type "Uffd": @mem_path is a handler's socket */
	int huge_pages;  /* an enum huge_pages, or -1: the snapshot's ("Snapshot", absent) */
	bool track_dirty_pages; /* track_dirty_pages or the deprecated enable_diff_snapshots */
	bool resume_vm;
	bool deprecated; /* mem_file_path or enable_diff_snapshots: `Deprecation: true` */
	char *working_set_path; /* ignis extension: pages to populate before the vCPUs run */
	unsigned int nr_overrides;
	struct {
		char *iface_id;
		char *host_dev_name;
	} overrides[VM_MAX_NETS]; /* network_overrides */
};

/* PUT /snapshot/rewind (ignis extension). */
struct snapshot_rewind_command {
	bool resume_vm;
};

/* PUT /snapshot/working-set (ignis extension). */
struct snapshot_working_set_command {
	char *path;
};

/* Which member of struct api_command's union is in use. */
enum api_command_kind {
	CMD_NONE = 0, /* no body, or a body the action ignores */
	CMD_MACHINE,
	CMD_BOOT_SOURCE,
	CMD_DRIVE,
	CMD_DRIVE_UPDATE,
	CMD_NET,
	CMD_NET_UPDATE,
	CMD_SERIAL,
	CMD_LOGGER,
	CMD_METRICS,
	CMD_ACTION,
	CMD_VM_STATE,
	CMD_SNAPSHOT_CREATE,
	CMD_SNAPSHOT_LOAD,
	CMD_SNAPSHOT_REWIND,
	CMD_SNAPSHOT_WORKING_SET,
};

#define API_COMMAND_FAULT_MAX 1024 /* the prefix and a whole err_buf message */

/* Firecracker's (serde's) words for a body it cannot deserialise; then the reason and ".". */
#define API_FAULT_DESERIALIZE "An error occurred when deserializing the json body of a request: "

struct api_command {
	enum api_command_kind kind;
	bool invalid;                      /* the body is refused: answer 400 with @fault */
	char fault[API_COMMAND_FAULT_MAX]; /* Firecracker's whole fault_message */
	union {
		struct machine_config_update machine;
		struct boot_source_config boot;
		struct drive_config drive;
		struct drive_update drive_update;
		struct net_config net;
		struct net_update net_update;
		struct serial_config serial;
		struct logger_command logger;
		struct metrics_command metrics;
		enum instance_action action;
		enum vm_state_request vm_state;
		struct snapshot_create_command create;
		struct snapshot_load_command load;
		struct snapshot_rewind_command rewind;
		struct snapshot_working_set_command working_set;
	} u;
};

/*
 * Frees what the command owns and resets it to CMD_NONE. Safe on a zeroed
 * command. A handler that keeps a string of the command (a drive moved into
 * the configuration) sets it to NULL in the command first.
 */
void api_command_free(struct api_command *cmd);

#endif
