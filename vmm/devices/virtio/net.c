/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net's device model: features, config space, activation and reset,
 * life cycle and snapshots. The data path (the TAP's polling, RX, TX) is
 * net_rxtx.c.
 */
#include "vmm/devices/virtio/net.h"

#include <errno.h>
#include <string.h>

#include "vmm/util/log.h"

/* struct virtio_net_config: mac@0 status@6 max_virtqueue_pairs@8 mtu@10 */
#define CONFIG_SIZE 12

static uint64_t net_features(void *opaque)
{
	struct virtio_net *net = opaque;
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
		     VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO) |
		     VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);

	if (net->has_mac)
		f |= VIRTIO_BIT(VIRTIO_NET_F_MAC);
	if (net->mtu)
		f |= VIRTIO_BIT(VIRTIO_NET_F_MTU);
	return f;
}

unsigned int virtio_net_tap_offloads(uint64_t features)
{
	unsigned int flags = TUN_F_CSUM;

	if (!(features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	if (features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))
		flags |= TUN_F_TSO4;
	if (features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6))
		flags |= TUN_F_TSO6;
	if (features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO))
		flags |= TUN_F_UFO;
	return flags;
}

static void net_config_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct virtio_net *net = opaque;
	uint8_t cfg[CONFIG_SIZE] = { 0 };

	memcpy(cfg, net->mac, sizeof(net->mac));
	memcpy(cfg + 10, &net->mtu, 2);
	if (offset < sizeof(cfg) && len <= sizeof(cfg) - offset)
		memcpy(data, cfg + offset, len);
	else
		memset(data, 0, len);
}

/* ---- device callbacks (transport lock held) ---- */

/* Offloads as negotiated, then the TAP polled: shared by activation and restore. */
static int net_start(struct virtio_net *net)
{
	unsigned int offload = virtio_net_tap_offloads(net->transport.driver_features);
	int ret;

	virtio_net_reset_runtime(net);
	if (!net->tap_gone) {
		ret = tap_set_offload(&net->tap, offload);
		if (ret) {
			pr_err("network interface %s: TAP device %s: TUNSETOFFLOAD 0x%x: %s",
			       net->iface_id, net->tap.name, offload, strerror(-ret));
			return ret;
		}
	}
	net->active = true;
	virtio_net_update_interest(net);
	return 0;
}

/* vCPU thread: the TAP's offloads and polling follow in net_settle. */
static int net_activate(void *opaque)
{
	struct virtio_net *net = opaque;

	virtio_net_reset_runtime(net);
	net->active = true;
	net->start_pending = true;
	return 0;
}

/* vCPU thread: the driver's rings are gone: forget every chain taken from them. */
static void net_reset(void *opaque)
{
	struct virtio_net *net = opaque;

	net->active = false;
	net->start_pending = false;
	virtio_net_reset_runtime(net);
}

/* VMM thread: what the last activation or reset needs of the host. */
static void net_settle(void *opaque)
{
	struct virtio_net *net = opaque;

	if (net->start_pending) {
		net->start_pending = false;
		if (net_start(net)) {
			net->active = false;
			virtio_mmio_needs_reset(&net->transport);
		}
	}
	virtio_net_update_interest(net);
}

const struct virtio_device_ops virtio_net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.features = net_features,
	.config_read = net_config_read,
	.config_write = NULL, /* mac is read-only once VERSION_1 is negotiated */
	.activate = net_activate,
	.reset = net_reset,
	.settle = net_settle,
	.queue_notify = virtio_net_queue_notify,
};

/* ---- life cycle ---- */

static int net_setup(struct virtio_net *net, const struct net_config *cfg,
		     const struct guest_mem *mem, struct event_loop *loop, int vm_fd,
		     uint64_t base, unsigned int irq, struct err_buf *err)
{
	struct err_buf why;
	int ret;

	net->loop = loop;
	net->tap_handler.fn = virtio_net_tap_event;
	if (loop) {
		/* No interest until DRIVER_OK; errors and hang-ups are reported anyway. */
		ret = event_loop_add(loop, net->tap.fd, 0, &net->tap_handler);
		if (ret) {
			err_set(err, ret, "network interface %s: epoll: %s", cfg->iface_id,
				strerror(-ret));
			goto fail_tap;
		}
		net->tap_registered = true;
	}
	ret = virtio_mmio_init(&net->transport, &virtio_net_ops, net, mem, loop, vm_fd, base, irq,
			       &why);
	if (ret) {
		err_set(err, ret, "network interface %s: %s", cfg->iface_id, why.msg);
		goto fail_loop;
	}
	return 0;
fail_loop:
	virtio_mmio_destroy(&net->transport);
	if (net->tap_registered)
		event_loop_del(loop, net->tap.fd);
	net->tap_registered = false;
fail_tap:
	tap_close(&net->tap);
	return ret;
}

static void net_init_fields(struct virtio_net *net, const struct net_config *cfg)
{
	memset(net, 0, sizeof(*net));
	net->tap.fd = -1;
	net->tx_budget = VIRTIO_NET_TX_BUDGET;
	snprintf(net->iface_id, sizeof(net->iface_id), "%s", cfg->iface_id);
	net->has_mac = cfg->has_guest_mac;
	memcpy(net->mac, cfg->guest_mac, sizeof(net->mac));
	net->mtu = (uint16_t)cfg->mtu;
}

int virtio_net_create(struct virtio_net *net, const struct net_config *cfg,
		      const struct guest_mem *mem, struct event_loop *loop, int vm_fd,
		      uint64_t base, unsigned int irq, struct err_buf *err)
{
	struct err_buf why;
	int ret;

	net_init_fields(net, cfg);
	ret = tap_open(&net->tap, cfg->host_dev_name, &why);
	if (ret)
		return err_set(err, ret, "network interface %s: %s", cfg->iface_id, why.msg);
	return net_setup(net, cfg, mem, loop, vm_fd, base, irq, err);
}

int virtio_net_create_fd(struct virtio_net *net, const struct net_config *cfg, int tap_fd,
			 const struct guest_mem *mem, struct event_loop *loop, int vm_fd,
			 uint64_t base, unsigned int irq, struct err_buf *err)
{
	net_init_fields(net, cfg);
	tap_adopt_fd(&net->tap, tap_fd, cfg->host_dev_name);
	return net_setup(net, cfg, mem, loop, vm_fd, base, irq, err);
}

void virtio_net_destroy(struct virtio_net *net)
{
	const struct virtio_net_stats *s = &net->stats;

#define U(x) ((unsigned long long)(x))
	pr_info("network interface %s: rx %llu frames %llu bytes, tx %llu frames %llu bytes",
		net->iface_id, U(s->rx_frames), U(s->rx_bytes), U(s->tx_frames), U(s->tx_bytes));
	pr_info("network interface %s: rx dropped %llu too big, %llu short, %llu bad buffers, "
		"waited %llu times for buffers; tx dropped %llu short, %llu too big, %llu "
		"malformed, %llu refused, %llu without TAP, waited %llu times for the TAP",
		net->iface_id, U(s->rx_dropped_too_big), U(s->rx_dropped_short),
		U(s->rx_bad_chains), U(s->rx_no_buffers), U(s->tx_dropped_short),
		U(s->tx_dropped_too_big), U(s->tx_dropped_malformed), U(s->tx_dropped_refused),
		U(s->tx_dropped_no_tap), U(s->tx_tap_full));
#undef U
	virtio_mmio_destroy(&net->transport);
	if (net->tap_registered)
		event_loop_del(net->loop, net->tap.fd);
	net->tap_registered = false;
	tap_close(&net->tap);
}

/* ---- snapshots ---- */

void virtio_net_save(struct virtio_net *net, struct virtio_net_state *st)
{
	struct virtio_mmio *t = &net->transport;

	memset(st, 0, sizeof(*st));
	virtio_mmio_save(t, &st->transport);
	pthread_mutex_lock(&t->lock);
	st->transport.queues[VIRTIO_NET_RXQ].last_avail_idx -=
		(uint16_t)(net->rx_nr_used + net->rx_chain_held);
	st->transport.queues[VIRTIO_NET_TXQ].last_avail_idx -= (uint16_t)net->tx_chain_held;
	pthread_mutex_unlock(&t->lock);
	snprintf(st->iface_id, sizeof(st->iface_id), "%s", net->iface_id);
	st->has_mac = net->has_mac;
	memcpy(st->mac, net->mac, sizeof(st->mac));
	st->mtu = net->mtu;
}

int virtio_net_restore(struct virtio_net *net, const struct virtio_net_state *st,
		       struct err_buf *err)
{
	struct virtio_mmio *t = &net->transport;
	char want[18] = "none", got[18] = "none";
	struct err_buf why;
	int ret;

	if (strncmp(st->iface_id, net->iface_id, sizeof(st->iface_id)) != 0)
		return err_set(err, -EINVAL, "network interface %s: snapshot is of interface %.64s",
			       net->iface_id, st->iface_id);
	if (!!st->has_mac != net->has_mac ||
	    (net->has_mac && memcmp(st->mac, net->mac, sizeof(net->mac)))) {
		if (st->has_mac)
			net_mac_format(st->mac, want);
		if (net->has_mac)
			net_mac_format(net->mac, got);
		return err_set(err, -EINVAL,
			       "network interface %s: guest_mac is %s, the snapshot's guest saw %s",
			       net->iface_id, got, want);
	}
	if (st->mtu != net->mtu)
		return err_set(err, -EINVAL, "network interface %s: mtu is %u, the snapshot's %u",
			       net->iface_id, net->mtu, st->mtu);
	ret = virtio_mmio_restore(t, &st->transport, &why);
	if (ret)
		return err_set(err, ret, "network interface %s: invalid virtio state: %s",
			       net->iface_id, why.msg);

	pthread_mutex_lock(&t->lock);
	net->active = false;
	net->start_pending = false;
	virtio_net_reset_runtime(net);
	if (t->activated) {
		ret = net_start(net);
		/* TX chains the source had not sent yet: taken up on the first pass. */
		net->tx_yielded = !ret;
	}
	virtio_net_update_interest(net);
	pthread_mutex_unlock(&t->lock);
	if (ret)
		return err_set(err, ret, "network interface %s: cannot set the TAP's offloads: %s",
			       net->iface_id, strerror(-ret));
	return 0;
}
