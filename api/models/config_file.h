/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's config file (--config-file): the JSON of GET /vm/config
 * into a struct vm_config, with the same parsers and rules as the API.
 */
#ifndef IGNIS_API_MODELS_CONFIG_FILE_H
#define IGNIS_API_MODELS_CONFIG_FILE_H

#include <stdbool.h>

#include "api/models/command.h"
#include "vmm/config/config.h"
#include "vmm/util/error.h"

/*
 * The config file's sections that configure the process, not the microVM:
 * "logger" and "metrics", as PUT /logger and PUT /metrics (Kata and
 * flintlock always write both). main() applies them before the microVM.
 */
struct config_file_extras {
	bool has_logger, has_metrics;
	struct logger_command logger;
	struct metrics_command metrics;
};

void config_file_extras_free(struct config_file_extras *ex);

/*
 * Parses a config file body. On failure returns -EINVAL (or -ENOMEM), fills
 * @err and leaves @cfg untouched.
 */
int vm_config_parse(struct vm_config *cfg, const char *json, struct err_buf *err);
int vm_config_parse_file(struct vm_config *cfg, const char *path, struct err_buf *err);

/* The same, with the logger and metrics sections in @ex (NULL: checked, dropped). */
int vm_config_parse_ext(struct vm_config *cfg, struct config_file_extras *ex, const char *json,
			struct err_buf *err);
int vm_config_parse_file_ext(struct vm_config *cfg, struct config_file_extras *ex,
			     const char *path, struct err_buf *err);

#endif
