/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's config file (--config-file): the JSON of GET /vm/config
 * into a struct vm_config, with the same parsers and rules as the API.
 */
#ifndef IGNIS_API_MODELS_CONFIG_FILE_H
#define IGNIS_API_MODELS_CONFIG_FILE_H

#include "vmm/config/config.h"
#include "vmm/util/error.h"

/*
 * Parses a config file body. On failure returns -EINVAL (or -ENOMEM), fills
 * @err and leaves @cfg untouched.
 */
int vm_config_parse(struct vm_config *cfg, const char *json, struct err_buf *err);
int vm_config_parse_file(struct vm_config *cfg, const char *path, struct err_buf *err);

#endif
