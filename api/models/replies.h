/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bodies of the API's GET answers, as JSON text: what the VMM thread
 * answers with (api_response_ok_text) without building JSON itself. Each
 * returns a malloc'd string, or NULL when out of memory.
 */
#ifndef IGNIS_API_MODELS_REPLIES_H
#define IGNIS_API_MODELS_REPLIES_H

#include "vmm/config/config.h"

/* GET /: Firecracker's InstanceInfo. */
char *reply_instance_info(const char *id, const char *state, const char *vmm_version);

/* GET /version: Firecracker's FirecrackerVersion, plus ignis's own. */
char *reply_version(const char *firecracker_version, const char *ignis_version);

/* GET /machine-config: Firecracker's MachineConfiguration. */
char *reply_machine_config(const struct machine_config *mc);

/* GET /vm/config: Firecracker's FullVmConfiguration, itself a valid config file. */
char *reply_vm_config(const struct vm_config *cfg);

#endif
