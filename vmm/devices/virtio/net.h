/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net (virtio 1.2, 5.1) over the virtio-mmio transport, backed by a
 * TAP device: one RX and one TX queue, the 12-byte virtio_net_hdr_v1 passed
 * to and from the TAP as is, checksum and TSO/UFO offloads handed to the TAP
 * (TUNSETOFFLOAD) as the guest negotiated them, MRG_RXBUF.
 *
 * Runs on the VMM thread's event loop. Neither side can make it spin: with
 * no guest RX buffers the TAP is not polled until the guest posts some; a
 * TAP that pushes back (EAGAIN) keeps the TX chain until EPOLLOUT. A frame
 * the guest gets wrong is dropped and counted, never fatal; a TAP deleted
 * under a running guest is logged once and the interface goes quiet.
 */
#ifndef IGNIS_VIRTIO_NET_H
#define IGNIS_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/config/config.h"
#include "vmm/devices/device.h"
#include "vmm/devices/virtio/mmio.h"
#include "vmm/devices/virtio/net_state.h"
#include "vmm/io/tap.h"
#include "vmm/util/log.h"

#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU        3
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_UFO  10
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_HOST_TSO6  12
#define VIRTIO_NET_F_HOST_UFO   14
#define VIRTIO_NET_F_MRG_RXBUF  15

#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1
#define VIRTIO_NET_TX_BUDGET 64

/* struct virtio_net_hdr_v1; num_buffers is its last field. */
#define VIRTIO_NET_HDR_LEN TAP_VNET_HDR_LEN
#define VIRTIO_NET_HDR_NUM_BUFFERS 10
/* Header + the largest GSO frame (64 KiB + Ethernet header), as Firecracker. */
#define VIRTIO_NET_MAX_FRAME 65562

struct virtio_net_stats {
	uint64_t rx_frames, rx_bytes;   /* delivered to the guest, headers excluded */
	uint64_t tx_frames, tx_bytes;   /* written to the TAP, headers excluded */
	/* TX frames dropped (their chains are returned), by reason. */
	uint64_t tx_dropped_short;      /* shorter than the vnet header */
	uint64_t tx_dropped_too_big;    /* longer than VIRTIO_NET_MAX_FRAME */
	uint64_t tx_dropped_malformed;  /* bad chain, or device-writable descriptors */
	uint64_t tx_dropped_refused;    /* the TAP refused it (bad header, link down) */
	uint64_t tx_dropped_no_tap;     /* the TAP is gone */
	/* RX frames dropped, and guest buffers returned unused. */
	uint64_t rx_dropped_too_big;    /* does not fit the guest's buffers */
	uint64_t rx_dropped_short;      /* the TAP gave less than a vnet header */
	uint64_t rx_bad_chains;         /* malformed or too small buffers, returned empty */
	/* Back-pressure: times one side waited for the other. */
	uint64_t rx_no_buffers;         /* TAP polling paused until the guest posts buffers */
	uint64_t tx_tap_full;           /* TX chain kept until the TAP drains (EAGAIN) */
};

struct virtio_net {
	struct virtio_mmio transport;
	char iface_id[NET_IFACE_ID_MAX + 1];
	bool has_mac;
	uint8_t mac[6];
	uint16_t mtu; /* 0: no VIRTIO_NET_F_MTU */

	struct tap tap;
	bool tap_gone;               /* failed under the guest: traffic is dropped */
	struct event_loop *loop;
	struct event_handler tap_handler;
	bool tap_registered;
	uint32_t tap_events;         /* epoll interest now set */
	bool active;                 /* DRIVER_OK and not reset since */
	bool start_pending;          /* activated: offloads and polling wait for settle */
	bool tx_error_logged;

	/* RX: one frame read from the TAP, possibly spread over several chains. */
	bool rx_waiting;             /* no guest buffers: TAP unpolled until an RX notify */
	uint32_t rx_frame_len;       /* 0: no frame pending */
	uint32_t rx_frame_off;       /* bytes of it already in rx_used chains */
	unsigned int rx_nr_used;
	struct virtq_used rx_used[VIRTQ_MAX_SIZE];
	struct iovec rx_num_buffers[2]; /* where num_buffers goes in the first chain */
	int rx_num_buffers_cnt;
	bool rx_chain_held;          /* rx_chain popped, not yet used */
	struct virtq_chain rx_chain;
	uint8_t rx_frame[VIRTIO_NET_MAX_FRAME];

	/* TX */
	bool tx_chain_held;          /* refused with EAGAIN: resent on EPOLLOUT */
	/*
	 * Frames sent per turn (VIRTIO_NET_TX_BUDGET; tests lower it): a guest
	 * refilling its TX ring as fast as the VMM drains it cannot hold the
	 * VMM thread (its API, pause, stop). The rest goes out on the loop's
	 * next pass, on the TAP's EPOLLOUT (a TAP is writable, so at once).
	 */
	unsigned int tx_budget;
	bool tx_yielded;             /* a turn's budget spent: the rest on EPOLLOUT */
	struct virtq_chain tx_chain;
	struct iovec tx_iov[VIRTQ_MAX_CHAIN];

	struct virtio_net_stats stats;
	struct log_ratelimit bad_chain_log; /* a guest can send malformed chains at will */
};

extern const struct virtio_device_ops virtio_net_ops;
/* The life-cycle ops the machine's device collection uses (net_device.c). */
extern const struct device_ops virtio_net_device_ops;

/*
 * Attaches to @cfg's TAP and sets up the device at @base/@irq; the TAP fd is
 * served on @loop. @vm_fd < 0 (tests): no KVM bindings.
 */
int virtio_net_create(struct virtio_net *net, const struct net_config *cfg,
		      const struct guest_mem *mem, struct event_loop *loop, int vm_fd,
		      uint64_t base, unsigned int irq, struct err_buf *err);
/* The same on @tap_fd (a socket standing in for a TAP in tests); the device owns it. */
int virtio_net_create_fd(struct virtio_net *net, const struct net_config *cfg, int tap_fd,
			 const struct guest_mem *mem, struct event_loop *loop, int vm_fd,
			 uint64_t base, unsigned int irq, struct err_buf *err);
void virtio_net_destroy(struct virtio_net *net);

/*
 * TUN_F_* offloads for the TAP from the guest's virtio-net features: what
 * the guest can receive. TSO/UFO only with GUEST_CSUM (virtio 5.1.3.1; the
 * kernel refuses them alone).
 */
unsigned int virtio_net_tap_offloads(uint64_t features);

/*
 * Snapshots (the saved form is struct virtio_net_state, net_state.h).
 * Chains the device holds but has not returned (a frame half-delivered, a
 * TX frame waiting for the TAP) are saved as not yet popped, so the restored
 * device takes them again; the frame itself is lost, as on a wire.
 */
void virtio_net_save(struct virtio_net *net, struct virtio_net_state *st);
/* Refuses a state for another interface or another MAC/MTU. */
int virtio_net_restore(struct virtio_net *net, const struct virtio_net_state *st,
		       struct err_buf *err);

/*
 * Between the device's two files, not for other callers: net.c has the
 * device model (features, config space, activation, life cycle, snapshots),
 * net_rxtx.c the data path that moves frames between the TAP and the
 * guest's queues. The transport lock is held, except around
 * virtio_net_tap_event, the TAP's event-loop handler, which takes it.
 * They live here, not in a header of net_rxtx.c's own, because both files
 * need struct virtio_net: two headers would make the modules a cycle.
 */
/* The ops' queue_notify: the guest posted RX buffers or TX frames. */
void virtio_net_queue_notify(void *opaque, unsigned int q);
void virtio_net_tap_event(struct event_handler *h, uint32_t events);
/* Sets the TAP's epoll interest to what the device can use now. */
void virtio_net_update_interest(struct virtio_net *net);
/* Forgets the frame and the chains in flight: the rings they came from are gone. */
void virtio_net_reset_runtime(struct virtio_net *net);

#endif
