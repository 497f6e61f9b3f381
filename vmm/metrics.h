/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics as Firecracker writes them: one JSON object per line on each
 * flush (InstanceStart, FlushMetrics, every 60 s), to a file or FIFO.
 * API counters are bumped on the API thread (atomics); everything else is
 * read from the VMM's and devices' own counters at flush time.
 */
#ifndef IGNIS_METRICS_H
#define IGNIS_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "api/router.h"
#include "api/server.h"
#include "vmm/util/error.h"

struct vmm;

struct metrics {
	int fd; /* -1: not configured */
	uint64_t startup_us, startup_cpu_us;
	atomic_ullong api_count[API_ACTION_COUNT];
	atomic_ullong api_router_errors; /* answered by the router, never reached the VMM */
	atomic_ullong api_failures;      /* 4xx/5xx */
	atomic_ullong api_latency_total_us, api_latency_max_us;
	uint64_t lost_metrics;
};

void metrics_init(struct metrics *m, uint64_t startup_us, uint64_t startup_cpu_us);
int metrics_open(struct metrics *m, const char *path, struct err_buf *err);
void metrics_close(struct metrics *m);
/* api_server_config.on_request: the API thread reports each answered request. */
void metrics_record_api(void *ctx, const struct api_request_event *ev);
/* Writes one JSON line; 0, or -ENOENT when not configured, -EIO on a lost write. */
int metrics_flush(struct metrics *m, struct vmm *vmm);

#endif
