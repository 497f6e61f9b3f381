/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "vmm/devices/device.h"
#include "vmm/devices/serial.h"
#include "vmm/machine/devices.h"
#include "vmm/machine/vm.h"
#include "vmm/util/log.h"
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
	/* A FIFO nobody reads must not stall the VMM: the line is lost and counted. */
	int fd = log_sink_open(path);

	if (fd < 0)
		return err_set(err, fd, "metrics_path %s: %s", path, strerror(-fd));
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

static void json_put_u64(void *ctx, const char *name, uint64_t value)
{
	json_object_set_new(ctx, name, json_integer((json_int_t)value));
}

/* One object per device of @ops's kind, by id, with the counters the device reports. */
static json_t *devices_json(struct vm *vm, const struct device_ops *ops)
{
	json_t *all = json_object();

	for (unsigned int i = 0; vm && i < vm->devices.nr; i++) {
		struct device *d = &vm->devices.items[i];
		json_t *one;

		if (d->ops != ops)
			continue;
		one = json_object();
		d->ops->stats(d, &(struct device_stats_writer){ .u64 = json_put_u64, .ctx = one });
		json_object_set_new(all, d->id, one);
	}
	return all;
}

/* Before a machine exists the uart object is there, with zeros (serial_stats). */
static json_t *uart_json(struct vm *vm)
{
	json_t *uart = json_object();

	serial_stats(vm ? &vm->serial : NULL,
		     &(struct device_stats_writer){ .u64 = json_put_u64, .ctx = uart });
	return uart;
}

int metrics_flush(struct metrics *m, struct vmm *vmm)
{
	struct vm *vm = vmm->vm;
	const struct device_ops *ops;
	struct timespec now;
	json_t *root;
	char *line;
	ssize_t n;
	size_t len;

	if (m->fd < 0)
		return -ENOENT;
	clock_gettime(CLOCK_REALTIME, &now);
	root = json_pack("{s:I, s:{s:I, s:I}, s:o, s:o}", "utc_timestamp_ms",
			 (json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, "api_server",
			 "process_startup_time_us", (json_int_t)m->startup_us,
			 "process_startup_time_cpu_us", (json_int_t)m->startup_cpu_us, "api_requests",
			 api_json(m), "vcpu", vcpu_json(vm));
	if (!root)
		return -ENOMEM;
	/* jansson keeps insertion order: block, net (one group per kind), uart, lost_metrics. */
	for (unsigned int k = 0; (ops = vm_device_ops(k)); k++)
		json_object_set_new(root, ops->metrics_group, devices_json(vm, ops));
	json_object_set_new(root, "uart", uart_json(vm));
	json_object_set_new(root, "lost_metrics", json_integer((json_int_t)m->lost_metrics));
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
