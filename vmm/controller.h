/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API's semantics, on the VMM thread: turns each routed request into a
 * change of the configuration (before start) or of the running microVM
 * (after), under Firecracker's pre-/post-boot rules and with its error
 * strings. The HTTP side (api/) never sees KVM or devices; this never sees
 * HTTP.
 */
#ifndef IGNIS_CONTROLLER_H
#define IGNIS_CONTROLLER_H

#include <stdbool.h>

#include "api/response.h"
#include "api/router.h"
#include "vmm/metrics.h"
#include "vmm/vmm.h"

#define CONTROLLER_ERR_PRE_BOOT \
	"The requested operation is not supported before starting the microVM."
#define CONTROLLER_ERR_POST_BOOT \
	"The requested operation is not supported after starting the microVM."
#define CONTROLLER_ERR_LOAD_AFTER_CONFIG \
	"Loading a microVM snapshot not allowed after configuring boot-specific resources."

enum controller_phase {
	PHASE_PRE = 1,  /* only before InstanceStart */
	PHASE_POST = 2, /* only after */
	PHASE_BOTH = 3,
};

struct controller {
	struct vmm *vmm;
	/* Something other than logger/metrics/serial was configured (snapshot/load rule). */
	bool boot_resources_configured;
	bool metrics_configured;
	struct metrics metrics;
	int metrics_timer_fd;
	struct event_handler metrics_timer;
};

void controller_init(struct controller *c, struct vmm *vmm, uint64_t startup_us,
		     uint64_t startup_cpu_us);
void controller_destroy(struct controller *c);
/* --metrics-path: like PUT /metrics. Returns 0 or -errno with @err. */
int controller_set_metrics(struct controller *c, const char *path, struct err_buf *err);

/* api_handler_fn: serve one request on the VMM thread. */
void controller_handle(void *ctx, const struct api_request *req, struct api_response *resp);

/* When an action is allowed (exposed for the state-rules unit test). */
enum controller_phase controller_action_phase(enum api_action action);

/*
 * Checks a configuration is complete and its files are usable, collecting
 * every problem into @err ("; "-separated) rather than stopping at the first.
 */
int controller_check_config(const struct vm_config *cfg, struct err_buf *err);

#endif
