/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net's data path: the TAP in the VMM thread's event loop, frames
 * from the TAP into the guest's RX chains and from its TX chains to the TAP.
 * The device model around it (features, config space, activation, life
 * cycle, snapshots) is net.c.
 */
#include "vmm/devices/virtio/net.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "vmm/util/log.h"

/* Frames read from the TAP per wake-up: a full TAP cannot starve the loop. */
#define RX_BUDGET 64

/* ---- the TAP's place in the event loop ---- */

/*
 * Polls the TAP for what the device can use now: frames while the guest has
 * buffers, room while a TX frame waits. EPOLLERR/EPOLLHUP come regardless.
 */
void virtio_net_update_interest(struct virtio_net *net)
{
	uint32_t want = 0;

	if (!net->tap_registered)
		return;
	if (net->active && !net->rx_waiting)
		want |= EPOLLIN;
	if (net->active && (net->tx_chain_held || net->tx_yielded))
		want |= EPOLLOUT;
	if (want == net->tap_events)
		return;
	if (event_loop_mod(net->loop, net->tap.fd, want, &net->tap_handler) == 0)
		net->tap_events = want;
}

/*
 * The TAP failed under the guest: say so once, then drop its traffic. A
 * deleted TAP is the usual cause: its fd then polls EPOLLERR and reads and
 * writes EBADFD (@code), which is how we tell, without a syscall the VMM
 * thread's seccomp filter would refuse.
 */
static void tap_failed(struct virtio_net *net, const char *what, int code)
{
	if (net->tap_gone)
		return;
	net->tap_gone = true;
	if (code == -EBADFD && !net->tap.adopted)
		pr_err("network interface %s: TAP device %s was deleted; its traffic is dropped "
		       "from now on, the guest keeps running",
		       net->iface_id, net->tap.name);
	else
		pr_err("network interface %s: TAP device %s failed (%s: %s); its traffic is "
		       "dropped from now on, the guest keeps running",
		       net->iface_id, net->tap.name, what, strerror(-code));
	if (net->tap_registered)
		event_loop_del(net->loop, net->tap.fd);
	net->tap_registered = false;
	net->tap_events = 0;
	tap_close(&net->tap);
}

/* ---- RX: TAP → guest ---- */

enum rx_result {
	RX_DELIVERED,
	RX_DROPPED,     /* the frame is gone; go on with the next */
	RX_NO_BUFFERS,  /* the frame waits for guest buffers */
	RX_BROKEN,      /* the queue needs a reset */
};

static void rx_clear_frame(struct virtio_net *net)
{
	net->rx_frame_len = net->rx_frame_off = 0;
	net->rx_nr_used = 0;
}

static void warn_bad_chain(struct virtio_net *net, const char *queue, uint16_t head)
{
	unsigned long suppressed;

	if (log_ratelimit(&net->bad_chain_log, &suppressed))
		pr_warn("virtio-net %s: malformed %s descriptor chain at head %u, dropped "
			"(%lu more not logged)", net->iface_id, queue, head, suppressed);
}

/*
 * Hands back the chains a half-delivered frame had taken, unused, plus
 * @extra (a malformed chain) if non-NULL. The frame starts over in the
 * next chains. False if the ring is broken.
 */
static bool rx_return_unused(struct virtio_net *net, const struct virtq_chain *extra)
{
	struct virtio_mmio *t = &net->transport;
	unsigned int n = net->rx_nr_used;

	for (unsigned int i = 0; i < n; i++)
		net->rx_used[i].len = 0;
	if (extra)
		net->rx_used[n++] = (struct virtq_used){ .head = extra->head, .len = 0 };
	net->rx_nr_used = 0;
	net->rx_frame_off = 0;
	if (n && virtq_push_batch(&t->queues[VIRTIO_NET_RXQ], t->mem, net->rx_used, n)) {
		virtio_mmio_needs_reset(t);
		return false;
	}
	return true;
}

/* A usable RX chain: device-writable only (5.1.6.3.1) and room for the header. */
static bool rx_chain_usable(const struct virtq_chain *c)
{
	return c->nr_readable == 0 && c->writable_len >= VIRTIO_NET_HDR_LEN;
}

static bool rx_finish_frame(struct virtio_net *net)
{
	struct virtio_mmio *t = &net->transport;
	uint16_t nb = (uint16_t)net->rx_nr_used; /* little-endian, as the host */
	const uint8_t *src = (const uint8_t *)&nb;

	for (int i = 0, done = 0; i < net->rx_num_buffers_cnt; i++) {
		memcpy(net->rx_num_buffers[i].iov_base, src + done, net->rx_num_buffers[i].iov_len);
		done += (int)net->rx_num_buffers[i].iov_len;
	}
	if (virtq_push_batch(&t->queues[VIRTIO_NET_RXQ], t->mem, net->rx_used, net->rx_nr_used)) {
		virtio_mmio_needs_reset(t);
		return false;
	}
	net->stats.rx_frames++;
	net->stats.rx_bytes += net->rx_frame_len - VIRTIO_NET_HDR_LEN;
	rx_clear_frame(net);
	return true;
}

/*
 * Copies the pending frame into guest chains: one chain, or with MRG_RXBUF
 * as many as it takes, num_buffers telling the guest how many. Nothing is
 * returned to the guest until the whole frame is in.
 */
static enum rx_result rx_deliver(struct virtio_net *net)
{
	struct virtio_mmio *t = &net->transport;
	struct virtq *vq = &t->queues[VIRTIO_NET_RXQ];
	struct virtq_chain *c = &net->rx_chain;
	bool mrg = virtio_mmio_has_feature(t, VIRTIO_NET_F_MRG_RXBUF);

	while (net->rx_frame_off < net->rx_frame_len) {
		uint32_t left = net->rx_frame_len - net->rx_frame_off;
		uint32_t n;

		if (!net->rx_chain_held) {
			enum virtq_pop_result r = virtq_pop(vq, t->mem, c);

			if (r == VIRTQ_EMPTY)
				return RX_NO_BUFFERS;
			if (r == VIRTQ_BROKEN) {
				virtio_mmio_needs_reset(t);
				return RX_BROKEN;
			}
			if (r == VIRTQ_BAD_CHAIN || !rx_chain_usable(c)) {
				/* Used length 0: the driver drops it as a short frame. */
				net->stats.rx_bad_chains++;
				warn_bad_chain(net, "RX", c->head);
				if (!rx_return_unused(net, c))
					return RX_BROKEN;
				continue;
			}
			net->rx_chain_held = true;
		}
		if (!mrg && c->writable_len < net->rx_frame_len) {
			/* The chain stays for the next, smaller frame. */
			net->stats.rx_dropped_too_big++;
			return RX_DROPPED;
		}
		if (net->rx_nr_used == 0) {
			net->rx_num_buffers_cnt = virtq_chain_iov(c, t->mem, true,
								  VIRTIO_NET_HDR_NUM_BUFFERS, 2,
								  net->rx_num_buffers, 2);
			if (net->rx_num_buffers_cnt < 0) {
				virtio_mmio_needs_reset(t);
				return RX_BROKEN;
			}
		}
		n = c->writable_len < left ? (uint32_t)c->writable_len : left;
		if (virtq_chain_write(c, t->mem, 0, net->rx_frame + net->rx_frame_off, n) != (long)n) {
			virtio_mmio_needs_reset(t);
			return RX_BROKEN;
		}
		net->rx_used[net->rx_nr_used++] = (struct virtq_used){ .head = c->head, .len = n };
		net->rx_frame_off += n;
		net->rx_chain_held = false;
		if (net->rx_frame_off < net->rx_frame_len && net->rx_nr_used == vq->size) {
			/* Every buffer the ring can hold and still no room: the guest's are too small. */
			net->stats.rx_dropped_too_big++;
			return rx_return_unused(net, NULL) ? RX_DROPPED : RX_BROKEN;
		}
	}
	return rx_finish_frame(net) ? RX_DELIVERED : RX_BROKEN;
}

/* Moves frames from the TAP to the guest until either side runs dry (or the budget). */
static void rx_process(struct virtio_net *net)
{
	struct virtio_mmio *t = &net->transport;
	struct virtq *vq = &t->queues[VIRTIO_NET_RXQ];
	uint16_t used_before = vq->used_idx;

	for (int budget = RX_BUDGET; net->active && budget > 0;) {
		enum rx_result r;

		if (!net->rx_frame_len) {
			ssize_t n;

			if (net->tap_gone)
				break;
			n = tap_read(&net->tap, net->rx_frame, sizeof(net->rx_frame));
			if (n == -EAGAIN)
				break;
			if (n < 0) {
				tap_failed(net, "read", (int)n);
				break;
			}
			budget--;
			if (n < VIRTIO_NET_HDR_LEN) {
				net->stats.rx_dropped_short++;
				continue;
			}
			net->rx_frame_len = (uint32_t)n;
			net->rx_frame_off = 0;
		}
		r = rx_deliver(net);
		if (r == RX_NO_BUFFERS) {
			/* Closes the race with a guest posting buffers just now. */
			if (virtq_enable_notify(vq, t->mem))
				continue;
			net->rx_waiting = true;
			net->stats.rx_no_buffers++;
			break;
		}
		if (r == RX_BROKEN)
			break;
		if (r == RX_DROPPED)
			rx_clear_frame(net);
	}
	virtio_net_update_interest(net);
	if (vq->used_idx != used_before)
		virtio_mmio_signal_used(t, VIRTIO_NET_RXQ);
}

/* ---- TX: guest → TAP ---- */

/* Writes the chain in net->tx_chain to the TAP. False: the TAP is full, keep it. */
static bool tx_send(struct virtio_net *net)
{
	struct virtio_mmio *t = &net->transport;
	const struct virtq_chain *c = &net->tx_chain;
	int iovcnt;
	ssize_t n;

	if (c->nr_readable != c->nr) {
		net->stats.tx_dropped_malformed++;
		return true;
	}
	if (c->readable_len < VIRTIO_NET_HDR_LEN) {
		net->stats.tx_dropped_short++;
		return true;
	}
	if (c->readable_len > VIRTIO_NET_MAX_FRAME) {
		net->stats.tx_dropped_too_big++;
		return true;
	}
	if (net->tap_gone) {
		net->stats.tx_dropped_no_tap++;
		return true;
	}
	iovcnt = virtq_chain_iov(c, t->mem, false, 0, c->readable_len, net->tx_iov, VIRTQ_MAX_CHAIN);
	if (iovcnt < 0) {
		net->stats.tx_dropped_malformed++;
		return true;
	}
	n = tap_writev(&net->tap, net->tx_iov, iovcnt);
	if (n == -EAGAIN) {
		net->stats.tx_tap_full++;
		return false;
	}
	if (n == -EBADFD) {
		tap_failed(net, "write", (int)n);
		net->stats.tx_dropped_no_tap++;
	} else if (n < 0) {
		net->stats.tx_dropped_refused++;
		if (!net->tx_error_logged)
			pr_warn("network interface %s: TAP device %s refused a frame: %s (logged once)",
				net->iface_id, net->tap.name, strerror((int)-n));
		net->tx_error_logged = true;
	} else {
		net->stats.tx_frames++;
		net->stats.tx_bytes += c->readable_len - VIRTIO_NET_HDR_LEN;
	}
	return true;
}

static void tx_process(struct virtio_net *net)
{
	struct virtio_mmio *t = &net->transport;
	struct virtq *vq = &t->queues[VIRTIO_NET_TXQ];
	uint16_t used_before = vq->used_idx;
	unsigned int sent = 0;

	net->tx_yielded = false;
	while (net->active) {
		if (!net->tx_chain_held && sent++ >= net->tx_budget) {
			/*
			 * The rest on the TAP's EPOLLOUT (writable, so very soon); with
			 * the TAP gone, on the guest's next kick (its frames are dropped
			 * anyway). Unbounded, rings a driver lays over each other (used
			 * entries rewriting the avail index) would hold the VMM thread.
			 */
			if (net->tap_registered)
				net->tx_yielded = true;
			else
				virtq_enable_notify(vq, t->mem);
			break;
		}
		if (!net->tx_chain_held) {
			enum virtq_pop_result r = virtq_pop(vq, t->mem, &net->tx_chain);

			if (r == VIRTQ_EMPTY) {
				if (virtq_enable_notify(vq, t->mem))
					continue;
				break;
			}
			if (r == VIRTQ_BROKEN) {
				virtio_mmio_needs_reset(t);
				break;
			}
			net->tx_chain_held = true;
			if (r == VIRTQ_BAD_CHAIN) {
				/* Dropped as a lost frame would be; counted and logged. */
				net->stats.tx_dropped_malformed++;
				warn_bad_chain(net, "TX", net->tx_chain.head);
			}
			else if (!tx_send(net))
				break; /* EAGAIN: EPOLLOUT brings us back */
		} else if (!tx_send(net)) {
			break;
		}
		net->tx_chain_held = false;
		if (virtq_push(vq, t->mem, net->tx_chain.head, 0)) {
			virtio_mmio_needs_reset(t);
			break;
		}
	}
	virtio_net_update_interest(net);
	if (vq->used_idx != used_before)
		virtio_mmio_signal_used(t, VIRTIO_NET_TXQ);
}

/* ---- what starts the data path: the guest's notify, the TAP's events ---- */

void virtio_net_queue_notify(void *opaque, unsigned int q)
{
	struct virtio_net *net = opaque;

	if (q == VIRTIO_NET_RXQ) {
		net->rx_waiting = false;
		rx_process(net);
	} else if (!net->tx_chain_held) {
		/* With a frame waiting for the TAP, EPOLLOUT resumes TX, not the guest. */
		tx_process(net);
	}
}

void virtio_net_tap_event(struct event_handler *h, uint32_t events)
{
	struct virtio_net *net = container_of(h, struct virtio_net, tap_handler);
	struct virtio_mmio *t = &net->transport;

	pthread_mutex_lock(&t->lock);
	/* A reset or activation the VMM thread has not seen yet comes first. */
	virtio_mmio_settle_locked(t);
	if (events & (EPOLLERR | EPOLLHUP)) {
		tap_failed(net, "poll", events & EPOLLERR ? -EBADFD : -EPIPE);
		/* Frames the guest queued meanwhile are dropped, not left hanging. */
		tx_process(net);
	} else {
		if (events & EPOLLOUT)
			tx_process(net);
		if (events & EPOLLIN)
			rx_process(net);
	}
	pthread_mutex_unlock(&t->lock);
}

void virtio_net_reset_runtime(struct virtio_net *net)
{
	rx_clear_frame(net);
	net->rx_chain_held = false;
	net->rx_waiting = false;
	net->tx_chain_held = false;
	net->tx_yielded = false;
}
