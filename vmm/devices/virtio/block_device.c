/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk as one kind of the machine's devices (vmm/devices/device.h):
 * one device per drive, its life cycle and its counters.
 */
#include "vmm/devices/virtio/block.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "vmm/arch/x86_64/layout.h"
#include "vmm/util/log.h"

static void blk_destroy(struct device *d)
{
	virtio_blk_destroy(d->dev);
	free(d->dev);
	d->dev = NULL;
}

static int blk_create(struct device *d, const struct device_env *env, const struct vm_config *cfg,
		      unsigned int index, struct err_buf *err)
{
	const struct drive_config *dc = &cfg->drives[index];
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	int ret;

	if (!blk)
		return err_set(err, -ENOMEM, "out of memory for drive devices");
	ret = virtio_blk_create(blk, dc, env->mem, env->loop, env->vm_fd, d->base, d->irq, err);
	if (ret) {
		free(blk);
		return ret;
	}
	d->dev = blk;
	d->transport = &blk->transport;
	d->id = blk->drive_id;
	ret = bus_register(env->mmio_bus, d->base, VIRTIO_MMIO_SIZE, &virtio_mmio_bus_ops,
			   &blk->transport);
	if (ret) {
		err_set(err, ret, "drive \"%s\": cannot register its MMIO window", blk->drive_id);
		blk_destroy(d);
		return ret;
	}
	pr_info("drive %s: %s, %llu sectors%s, cache %s, engine %s, virtio-mmio 0x%llx IRQ %u",
		blk->drive_id, dc->path_on_host,
		(unsigned long long)(blk->file.size / BLOCK_SECTOR_SIZE),
		blk->file.read_only ? ", read-only" : "", cache_type_name(blk->file.cache),
		io_engine_name(blk->engine), (unsigned long long)d->base, d->irq);
	return 0;
}

static void blk_quiesce(struct device *d)
{
	virtio_blk_quiesce(d->dev);
}

/* Firecracker's names for the counters it shares with us. */
static void blk_stats(struct device *d, const struct device_stats_writer *w)
{
	struct virtio_blk *b = d->dev;
	struct virtio_blk_stats s;

	pthread_mutex_lock(&b->transport.lock);
	s = b->stats;
	pthread_mutex_unlock(&b->transport.lock);
	w->u64(w->ctx, "read_count", s.reads);
	w->u64(w->ctx, "write_count", s.writes);
	w->u64(w->ctx, "flush_count", s.flushes);
	w->u64(w->ctx, "read_bytes", s.read_bytes);
	w->u64(w->ctx, "write_bytes", s.write_bytes);
	w->u64(w->ctx, "io_errors", s.io_errors);
	w->u64(w->ctx, "bad_requests", s.bad_requests);
	w->u64(w->ctx, "bad_chains", s.bad_chains);
}

const struct device_ops virtio_blk_device_ops = {
	.metrics_group = "block",
	.create = blk_create,
	.quiesce = blk_quiesce,
	.destroy = blk_destroy,
	.stats = blk_stats,
};
