/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: virtio-net's RX and TX paths (vmm/devices/virtio/net*.c)
 * between a hostile guest and a hostile TAP. The TAP is one end of a
 * seqpacket socket pair (what the unit tests use: one frame per message,
 * EAGAIN when full), so no real TAP is needed; the harness plays both the
 * guest's driver and the host side of the TAP.
 *
 * Input layout (little endian):
 *   byte 0      flags: bit0 negotiate MRG_RXBUF, bit1 EVENT_IDX, bit2 the
 *               guest checksum/TSO offloads, bit3 unused, bit4 a small TAP
 *               send buffer (TX frames refused or pushed back sooner)
 *   byte 1      log2 of the RX queue size (mod 9: 1..256)
 *   byte 2      log2 of the TX queue size (mod 9)
 *   byte 3      number of steps (n)
 *   then        n x 6 bytes of steps: u8 kind, u8 arg, u32 value (below)
 *   the rest    guest RAM from GPA 0 (128 KiB, zero past the input): the
 *               RX descriptor table at 0, its avail ring right after it,
 *               its used ring after that (4-byte aligned), then the TX
 *               queue's three the same way from the next 16-byte boundary;
 *               buffers anywhere. The frames the TAP sends are cut from
 *               these bytes too, from 0x800 on, so their vnet headers are
 *               the fuzzer's.
 *
 * Steps (kind % 9):
 *   0  the TAP sends a frame of value % 65600 bytes (short, oversized and
 *      garbage vnet headers included; past 65562 the device truncates)
 *   1  the guest kicks RX          2  the guest kicks TX
 *   3  a TAP event: arg bit0 EPOLLIN, bit1 EPOLLOUT, bit2 EPOLLERR,
 *      bit3 EPOLLHUP (an error or hang-up makes the TAP "gone")
 *   4  the host drains the TAP     5  the guest writes u32 value at GPA arg * 64
 *   6  avail index += value on queue arg & 1 (the guest re-publishing)
 *   7  a register write at offset arg * 4 of value
 *   8  a register read at offset arg * 4
 *
 * virtio-net does not offer INDIRECT_DESC, so a guest's indirect
 * descriptors are bad chains, and nothing else can turn the indirect walk
 * on (virtio_mmio_restore refuses queue flags the features do not give).
 * The walker itself is fuzzed under virtio-blk, which offers it
 * (fuzz_virtq_blk).
 *
 * Beyond "no crash, no leak, no UB", it checks after every step of a device
 * that is running and not waiting for a reset (and whose registers the
 * input has not touched): every RX chain taken is returned, part of the
 * frame being delivered, or held for the next frame; every TX chain taken
 * is returned or held for the TAP; each returned TX chain is counted once
 * (sent or dropped for one reason); and whatever reaches the TAP is one
 * frame with a vnet header and no longer than VIRTIO_NET_MAX_FRAME.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/fuzz/invariant.h"
#include "tests/unit/virtio_driver.h"
#include "vmm/devices/virtio/net.h"
#include "vmm/util/log.h"

#define RAM_SIZE 0x20000ULL
#define FRAME_SRC 0x800U
#define FRAME_MAX 65600U
#define HDR_SIZE 4
#define STEP_SIZE 6

#define F_MRG 0x01
#define F_EVENT_IDX 0x02
#define F_OFFLOADS 0x04
#define F_SMALL_SNDBUF 0x10

enum step {
	STEP_TAP_SEND,
	STEP_KICK_RX,
	STEP_KICK_TX,
	STEP_TAP_EVENT,
	STEP_TAP_DRAIN,
	STEP_RAM_WRITE,
	STEP_AVAIL_BUMP,
	STEP_REG_WRITE,
	STEP_REG_READ,
	STEP_KINDS
};

static _Alignas(4096) uint8_t ram[RAM_SIZE];
static struct virtio_net net; /* 200 KiB: the frame buffer and the chains */
static uint8_t frame[FRAME_MAX];

struct bench {
	struct guest_mem mem;
	struct test_vq rxq, txq;
	int peer;                    /* the host's end of the "TAP" */
	const uint8_t *image;
	size_t image_len;
	bool tampered;               /* registers written: the driver's view may be gone */
};

static void init_once(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	log_configure(LOG_OFF, NULL, false, false);
}

/* The frame the TAP sends: the input's bytes from FRAME_SRC, repeated. */
static void tap_send(const struct bench *b, uint32_t value)
{
	size_t len = value % FRAME_MAX;
	size_t src = FRAME_SRC < b->image_len ? FRAME_SRC : 0;
	size_t period = b->image_len - src;

	memset(frame, 0, len);
	for (size_t off = 0; period && off < len; off += period)
		memcpy(frame + off, b->image + src, len - off < period ? len - off : period);
	/* A full socket loses the frame, as a TAP's queue would. */
	(void)send(b->peer, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void tap_drain(const struct bench *b)
{
	ssize_t n;

	/* 0 is the end: the device closed a TAP it saw fail (it never sends empty frames). */
	while ((n = recv(b->peer, frame, sizeof(frame), MSG_DONTWAIT | MSG_TRUNC)) > 0)
		invariant(n >= VIRTIO_NET_HDR_LEN && n <= VIRTIO_NET_MAX_FRAME,
			  "a frame without a vnet header or too long reached the TAP");
}

static void tap_event(uint8_t arg)
{
	uint32_t events = 0;

	if (arg & 1)
		events |= EPOLLIN;
	if (arg & 2)
		events |= EPOLLOUT;
	if (arg & 4)
		events |= EPOLLERR;
	if (arg & 8)
		events |= EPOLLHUP;
	virtio_net_tap_event(&net.tap_handler, events);
}

static void reg_access(struct bench *b, bool write, uint8_t arg, uint32_t value)
{
	uint8_t data[4];

	memcpy(data, &value, 4);
	if (write) {
		virtio_mmio_bus_ops.write(&net.transport, arg * 4u, data, 4);
		b->tampered = true;
	} else {
		virtio_mmio_bus_ops.read(&net.transport, arg * 4u, data, 4);
	}
}

/* What must hold between steps of a running device (see the top). */
static void check(const struct bench *b)
{
	const struct virtio_mmio *t = &net.transport;
	const struct virtq *rx = &t->queues[VIRTIO_NET_RXQ], *tx = &t->queues[VIRTIO_NET_TXQ];
	const struct virtio_net_stats *s = &net.stats;
	uint64_t tx_counted;

	if (b->tampered || !net.active || (t->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	invariant((uint16_t)(rx->used_idx + net.rx_nr_used + net.rx_chain_held) ==
			  rx->last_avail_idx,
		  "an RX chain was lost or returned twice");
	invariant(net.rx_nr_used <= rx->size, "a frame holds more chains than the ring");
	invariant(net.rx_frame_off <= net.rx_frame_len, "RX offset past the frame");
	invariant((uint16_t)(tx->used_idx + net.tx_chain_held) == tx->last_avail_idx,
		  "a TX chain was lost or returned twice");
	tx_counted = s->tx_frames + s->tx_dropped_short + s->tx_dropped_too_big +
		     s->tx_dropped_malformed + s->tx_dropped_refused + s->tx_dropped_no_tap;
	invariant((uint16_t)tx_counted == tx->used_idx, "a returned TX chain was not counted once");
}

static void run_step(struct bench *b, const uint8_t *w)
{
	uint8_t arg = w[1];
	uint32_t value;

	memcpy(&value, w + 2, 4);
	switch (w[0] % STEP_KINDS) {
	case STEP_TAP_SEND:
		tap_send(b, value);
		break;
	case STEP_KICK_RX:
		mmio_write32(&net.transport, MMIO_QUEUE_NOTIFY, VIRTIO_NET_RXQ);
		break;
	case STEP_KICK_TX:
		mmio_write32(&net.transport, MMIO_QUEUE_NOTIFY, VIRTIO_NET_TXQ);
		break;
	case STEP_TAP_EVENT:
		tap_event(arg);
		break;
	case STEP_TAP_DRAIN:
		tap_drain(b);
		break;
	case STEP_RAM_WRITE:
		gm_put(&b->mem, arg * 64u, &value, 4);
		break;
	case STEP_AVAIL_BUMP: {
		const struct test_vq *vq = arg & 1 ? &b->txq : &b->rxq;

		vq_set_avail_idx(&b->mem, vq, (uint16_t)(vq_avail_idx(&b->mem, vq) + value));
		break;
	}
	case STEP_REG_WRITE:
		reg_access(b, true, arg, value);
		break;
	case STEP_REG_READ:
		reg_access(b, false, arg, value);
		break;
	}
	check(b);
}

/* A queue's three rings packed from @at: the table, the avail ring, the used ring. */
static void place_rings(struct test_vq *vq, uint16_t size, uint64_t at)
{
	vq->size = size;
	vq->desc = at;
	vq->avail = at + 16ULL * size;
	vq->used = (vq->avail + 6 + 2ULL * size + 3) & ~3ULL;
}

static uint64_t negotiated(uint8_t flags)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
		     VIRTIO_BIT(VIRTIO_NET_F_MTU) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO);

	if (flags & F_MRG)
		f |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (flags & F_EVENT_IDX)
		f |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (flags & F_OFFLOADS)
		f |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO);
	return f;
}

/* The device on a fresh socket pair, set up as a driver would; false if it cannot be. */
static bool bench_start(struct bench *b, uint8_t flags)
{
	static const uint8_t mac[6] = { 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 };
	struct net_config cfg = { .has_guest_mac = true, .mtu = 1500 };
	struct err_buf err;
	int sv[2], sndbuf = 4096;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return false;
	if (flags & F_SMALL_SNDBUF)
		(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	b->peer = sv[1];
	strcpy(cfg.iface_id, "eth0");
	strcpy(cfg.host_dev_name, "tap0");
	memcpy(cfg.guest_mac, mac, sizeof(mac));
	/* No loop, no KVM: settle runs at once and kicks come as register writes. */
	if (virtio_net_create_fd(&net, &cfg, sv[0], &b->mem, NULL, -1, 0xc0002000, 6, &err)) {
		fprintf(stderr, "fuzz_virtio_net: %s\n", err.msg);
		abort();
	}
	driver_negotiate(&net.transport, negotiated(flags));
	driver_setup_queue(&net.transport, VIRTIO_NET_RXQ, &b->rxq);
	driver_setup_queue(&net.transport, VIRTIO_NET_TXQ, &b->txq);
	mmio_write32(&net.transport, MMIO_STATUS,
		     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			     VIRTIO_STATUS_DRIVER_OK);
	invariant(net.active, "a valid set-up was refused");
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bench b = { 0 };
	struct virtio_net_state st;
	struct err_buf err;
	const uint8_t *steps;
	unsigned int nr_steps;

	if (size < HDR_SIZE)
		return 0;
	init_once();
	nr_steps = data[3];
	if (size < HDR_SIZE + (size_t)nr_steps * STEP_SIZE)
		return 0;
	steps = data + HDR_SIZE;
	b.image = steps + (size_t)nr_steps * STEP_SIZE;
	b.image_len = size - HDR_SIZE - (size_t)nr_steps * STEP_SIZE;
	if (b.image_len > RAM_SIZE)
		b.image_len = RAM_SIZE;
	place_rings(&b.rxq, (uint16_t)(1u << (data[1] % 9)), 0);
	place_rings(&b.txq, (uint16_t)(1u << (data[2] % 9)),
		    (b.rxq.used + 6 + 8ULL * b.rxq.size + 15) & ~15ULL);
	memset(ram, 0, sizeof(ram));
	memcpy(ram, b.image, b.image_len);
	if (guest_mem_init_view(&b.mem, 0, ram, RAM_SIZE))
		abort();
	if (!bench_start(&b, data[0]))
		return 0;

	for (unsigned int i = 0; i < nr_steps; i++)
		run_step(&b, steps + (size_t)i * STEP_SIZE);
	tap_drain(&b);

	/* A saved state restores onto the device it came from. */
	virtio_net_save(&net, &st);
	invariant(virtio_net_restore(&net, &st, &err) == 0, "a saved state was refused");

	virtio_net_destroy(&net);
	close(b.peer);
	return 0;
}
