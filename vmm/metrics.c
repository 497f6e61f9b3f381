/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "vmm/vmm.h"

void metrics_init(struct metrics *m, uint64_t startup_us, uint64_t startup_cpu_us)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->startup_us = startup_us;
	m->startup_cpu_us = startup_cpu_us;
}

int metrics_open(struct metrics *m, const char *path, struct err_buf *err)
{
	/* O_NONBLOCK: a FIFO nobody reads must not stall the VMM; the line is lost and counted. */
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0600);

	if (fd < 0)
		return err_set(err, -errno, "metrics_path %s: %s", path, strerror(errno));
	m->fd = fd;
	return 0;
}

void metrics_close(struct metrics *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

void metrics_record_api(void *ctx, const struct api_request_event *ev)
{
	struct metrics *m = ctx;
	unsigned long long max;

	if (ev->action > API_ACTION_NONE && ev->action < API_ACTION_COUNT)
		atomic_fetch_add(&m->api_count[ev->action], 1);
	else
		atomic_fetch_add(&m->api_router_errors, 1);
	if (ev->status >= 400)
		atomic_fetch_add(&m->api_failures, 1);
	atomic_fetch_add(&m->api_latency_total_us, ev->duration_us);
	max = atomic_load(&m->api_latency_max_us);
	while (ev->duration_us > max &&
	       !atomic_compare_exchange_weak(&m->api_latency_max_us, &max, ev->duration_us))
		;
}

static json_t *api_json(struct metrics *m)
{
	json_t *by_action = json_object();
	unsigned long long total = 0;

	for (int a = API_ACTION_NONE + 1; a < API_ACTION_COUNT; a++) {
		unsigned long long n = atomic_load(&m->api_count[a]);

		total += n;
		if (n)
			json_object_set_new(by_action, api_action_name((enum api_action)a),
					    json_integer((json_int_t)n));
	}
	return json_pack("{s:I, s:I, s:I, s:o, s:{s:I, s:I}}", "requests", (json_int_t)total,
			 "router_errors", (json_int_t)atomic_load(&m->api_router_errors),
			 "failures", (json_int_t)atomic_load(&m->api_failures), "by_action",
			 by_action, "latency_us", "total",
			 (json_int_t)atomic_load(&m->api_latency_total_us), "max",
			 (json_int_t)atomic_load(&m->api_latency_max_us));
}

static json_t *vcpu_json(const struct vm *vm)
{
	struct vcpu_stats sum = { 0 };

	for (unsigned int i = 0; vm && i < vm->nr_vcpus; i++) {
		const struct vcpu_stats *s = &vm->vcpus[i].stats;

		sum.exit_io_in += __atomic_load_n(&s->exit_io_in, __ATOMIC_RELAXED);
		sum.exit_io_out += __atomic_load_n(&s->exit_io_out, __ATOMIC_RELAXED);
		sum.exit_mmio_read += __atomic_load_n(&s->exit_mmio_read, __ATOMIC_RELAXED);
		sum.exit_mmio_write += __atomic_load_n(&s->exit_mmio_write, __ATOMIC_RELAXED);
		sum.failures += __atomic_load_n(&s->failures, __ATOMIC_RELAXED);
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "exit_io_in", (json_int_t)sum.exit_io_in,
			 "exit_io_out", (json_int_t)sum.exit_io_out, "exit_mmio_read",
			 (json_int_t)sum.exit_mmio_read, "exit_mmio_write",
			 (json_int_t)sum.exit_mmio_write, "failures", (json_int_t)sum.failures);
}

static json_t *block_json(const struct vm *vm)
{
	json_t *all = json_object();

	for (unsigned int i = 0; vm && i < vm->nr_blks; i++) {
		struct virtio_blk *b = vm->blks[i];
		struct virtio_blk_stats s;

		pthread_mutex_lock(&b->transport.lock);
		s = b->stats;
		pthread_mutex_unlock(&b->transport.lock);
		json_object_set_new(all, b->drive_id,
				    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
					      "read_count", (json_int_t)s.reads, "write_count",
					      (json_int_t)s.writes, "flush_count", (json_int_t)s.flushes,
					      "read_bytes", (json_int_t)s.read_bytes, "write_bytes",
					      (json_int_t)s.write_bytes, "io_errors",
					      (json_int_t)s.io_errors, "bad_requests",
					      (json_int_t)s.bad_requests, "bad_chains",
					      (json_int_t)s.bad_chains));
	}
	return all;
}

static json_t *net_json(const struct vm *vm)
{
	json_t *all = json_object();

	for (unsigned int i = 0; vm && i < vm->nr_nets; i++) {
		struct virtio_net *n = vm->nets[i];
		struct virtio_net_stats s;

		pthread_mutex_lock(&n->transport.lock);
		s = n->stats;
		pthread_mutex_unlock(&n->transport.lock);
		json_object_set_new(all, n->iface_id,
				    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
					      "rx_packets_count", (json_int_t)s.rx_frames,
					      "rx_bytes_count", (json_int_t)s.rx_bytes,
					      "tx_packets_count", (json_int_t)s.tx_frames,
					      "tx_bytes_count", (json_int_t)s.tx_bytes,
					      "tx_malformed_frames", (json_int_t)s.tx_dropped_malformed,
					      "rx_bad_chains", (json_int_t)s.rx_bad_chains));
	}
	return all;
}

int metrics_flush(struct metrics *m, struct vmm *vmm)
{
	struct vm *vm = vmm->vm;
	uint64_t uart_tx = 0, uart_dropped = 0;
	struct timespec now;
	json_t *root;
	char *line;
	ssize_t n;
	size_t len;

	if (m->fd < 0)
		return -ENOENT;
	if (vm) {
		pthread_mutex_lock(&vm->serial.lock);
		uart_tx = vm->serial.tx_bytes;
		uart_dropped = vm->serial.rx_dropped;
		pthread_mutex_unlock(&vm->serial.lock);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	root = json_pack("{s:I, s:{s:I, s:I}, s:o, s:o, s:o, s:o, s:{s:I, s:I}, s:I}",
			 "utc_timestamp_ms",
			 (json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, "api_server",
			 "process_startup_time_us", (json_int_t)m->startup_us,
			 "process_startup_time_cpu_us", (json_int_t)m->startup_cpu_us, "api_requests",
			 api_json(m), "vcpu", vcpu_json(vm), "block", block_json(vm), "net", net_json(vm), "uart",
			 "write_bytes", (json_int_t)uart_tx, "rx_dropped", (json_int_t)uart_dropped,
			 "lost_metrics", (json_int_t)m->lost_metrics);
	if (!root)
		return -ENOMEM;
	line = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!line)
		return -ENOMEM;
	len = strlen(line);
	line[len++] = '\n'; /* replaces the NUL: written by length */
	n = write(m->fd, line, len);
	free(line);
	if (n != (ssize_t)len) {
		m->lost_metrics++;
		return -EIO;
	}
	return 0;
}
