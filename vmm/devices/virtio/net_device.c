/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net as one kind of the machine's devices (vmm/devices/device.h):
 * one device per network interface, its life cycle and its counters.
 */
#include "vmm/devices/virtio/net.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "vmm/arch/x86_64/layout.h"
#include "vmm/util/log.h"

static void net_destroy(struct device *d)
{
	virtio_net_destroy(d->dev);
	free(d->dev);
	d->dev = NULL;
}

static int net_create(struct device *d, const struct device_env *env, const struct vm_config *cfg,
		      unsigned int index, struct err_buf *err)
{
	const struct net_config *nc = &cfg->nets[index];
	struct virtio_net *net = calloc(1, sizeof(*net));
	char mac[18] = "random";
	int ret;

	if (!net)
		return err_set(err, -ENOMEM, "out of memory for network devices");
	ret = virtio_net_create(net, nc, env->mem, env->loop, env->vm_fd, d->base, d->irq, err);
	if (ret) {
		free(net);
		return ret;
	}
	d->dev = net;
	d->transport = &net->transport;
	d->id = net->iface_id;
	ret = bus_register(env->mmio_bus, d->base, VIRTIO_MMIO_SIZE, &virtio_mmio_bus_ops,
			   &net->transport);
	if (ret) {
		err_set(err, ret, "network interface %s: cannot register its MMIO window",
			nc->iface_id);
		net_destroy(d);
		return ret;
	}
	if (nc->has_guest_mac)
		net_mac_format(nc->guest_mac, mac);
	pr_info("network interface %s: TAP %s, MAC %s, MTU %u, virtio-mmio 0x%llx IRQ %u",
		nc->iface_id, nc->host_dev_name, mac, nc->mtu ? nc->mtu : 1500,
		(unsigned long long)d->base, d->irq);
	return 0;
}

/* Firecracker's names for the counters it shares with us. */
static void net_stats(struct device *d, const struct device_stats_writer *w)
{
	struct virtio_net *n = d->dev;
	struct virtio_net_stats s;

	pthread_mutex_lock(&n->transport.lock);
	s = n->stats;
	pthread_mutex_unlock(&n->transport.lock);
	w->u64(w->ctx, "rx_packets_count", s.rx_frames);
	w->u64(w->ctx, "rx_bytes_count", s.rx_bytes);
	w->u64(w->ctx, "tx_packets_count", s.tx_frames);
	w->u64(w->ctx, "tx_bytes_count", s.tx_bytes);
	w->u64(w->ctx, "tx_malformed_frames", s.tx_dropped_malformed);
	w->u64(w->ctx, "rx_bad_chains", s.rx_bad_chains);
}

/* Only the transport settles on pause: TAP frames are not host I/O a snapshot waits for. */
const struct device_ops virtio_net_device_ops = {
	.metrics_group = "net",
	.create = net_create,
	.destroy = net_destroy,
	.stats = net_stats,
};
