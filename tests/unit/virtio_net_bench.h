/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bench the virtio-net unit tests share: guest memory in a malloc'd
 * buffer, the device on one end of a seqpacket socket pair that stands in
 * for the TAP (one frame per message, EAGAIN when full, a hang-up when the
 * far end closes), a real event loop, and the driver's side played through
 * the transport registers. Included by one test file each.
 */
#ifndef IGNIS_TEST_VIRTIO_NET_BENCH_H
#define IGNIS_TEST_VIRTIO_NET_BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/unit/helpers.h"
#include "tests/unit/virtio_driver.h"
#include "vmm/devices/virtio/net.h"
#include "vmm/util/event_loop.h"
#include "vmm/util/log.h"

#define RAM_SIZE (2ULL << 20)
#define QSIZE 16
#define RX_BUF_GPA 0x10000ULL  /* 16 buffers of 8 KiB */
#define RX_BUF_SIZE 0x2000U
#define TX_BUF_GPA 0x40000ULL  /* frames to send, up to 128 KiB */
#define BIG_GPA 0x100000ULL    /* one 64 KiB+ buffer */
#define HDR VIRTIO_NET_HDR_LEN

#define BASE_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX))
#define MRG (BASE_FEATURES | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))

static uint8_t *ram;
static struct guest_mem mem;
static struct virtio_net *net;
static bool net_created;
static struct event_loop loop;
static int peer = -1; /* the "host side" of the TAP */
static int dev_fd = -1;
static struct net_config ncfg;
static struct err_buf err;
static FILE *log_file;
static const struct test_vq rxq = { QSIZE, 0x1000, 0x2000, 0x3000 };
static const struct test_vq txq = { QSIZE, 0x4000, 0x5000, 0x6000 };

static void setup(void)
{
	int sv[2];

	log_file = tmpfile();
	cr_assert_not_null(log_file);
	log_configure(LOG_INFO, log_file, false, false);
	ram = aligned_alloc(4096, RAM_SIZE);
	cr_assert_not_null(ram);
	memset(ram, 0, RAM_SIZE);
	cr_assert_eq(guest_mem_init_view(&mem, 0, ram, RAM_SIZE), 0);
	cr_assert_eq(event_loop_init(&loop), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	dev_fd = sv[0];
	peer = sv[1];

	memset(&ncfg, 0, sizeof(ncfg));
	strcpy(ncfg.iface_id, "eth0");
	strcpy(ncfg.host_dev_name, "tap0");
	ncfg.has_guest_mac = true;
	memcpy(ncfg.guest_mac, (uint8_t[]){ 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 }, 6);
	ncfg.mtu = 1400;
	memset(&err, 0, sizeof(err));
	net = calloc(1, sizeof(*net));
	cr_assert_not_null(net);
	net_created = false;
}

static void teardown(void)
{
	if (net_created)
		virtio_net_destroy(net);
	else if (dev_fd >= 0)
		close(dev_fd);
	free(net);
	if (peer >= 0)
		close(peer);
	event_loop_destroy(&loop);
	free(ram);
	log_configure(LOG_OFF, NULL, false, false);
	fclose(log_file);
}

static inline void create(void)
{
	int ret = virtio_net_create_fd(net, &ncfg, dev_fd, &mem, &loop, -1, 0xc0001000, 5, &err);

	cr_assert_eq(ret, 0, "%s", err.msg);
	net_created = true;
}

/*
 * What the VMM thread does after a vCPU's status write: the device's settle
 * (TAP offloads and polling) arrives on the loop as one eventfd event.
 */
static inline void settle(void)
{
	cr_assert_geq(event_loop_run_once(&loop, 0), 1, "no settle event on the loop");
}

/* The driver's initialisation with both queues (3.1.1). */
static inline void start(uint64_t features)
{
	create();
	driver_negotiate(&net->transport, features);
	driver_setup_queue(&net->transport, VIRTIO_NET_RXQ, &rxq);
	driver_setup_queue(&net->transport, VIRTIO_NET_TXQ, &txq);
	mmio_write32(&net->transport, MMIO_STATUS,
		     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			     VIRTIO_STATUS_DRIVER_OK);
	cr_assert_eq(mmio_read32(&net->transport, MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK,
		     VIRTIO_STATUS_DRIVER_OK);
	settle();
}

static inline void kick(unsigned int q)
{
	mmio_write32(&net->transport, MMIO_QUEUE_NOTIFY, q);
}

/* Runs whatever the event loop has ready; returns how many events it dispatched. */
static inline int pump(void)
{
	int n = event_loop_run_once(&loop, 0);

	cr_assert_geq(n, 0);
	return n;
}

static inline void fill(uint64_t gpa, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		ram[gpa + i] = (uint8_t)(seed + i * 7);
}

/* ---- the TAP's side ---- */

/* A frame as the TAP hands it over: a header (num_buffers left as junk) and payload. */
static inline size_t make_frame(uint8_t *buf, size_t payload, uint8_t seed)
{
	memset(buf, 0, HDR);
	buf[0] = 1; /* VIRTIO_NET_HDR_F_NEEDS_CSUM, passed through untouched */
	buf[10] = 0x77;
	buf[11] = 0x77;
	for (size_t i = 0; i < payload; i++)
		buf[HDR + i] = (uint8_t)(seed + i * 7);
	return HDR + payload;
}

static inline void tap_send(size_t payload, uint8_t seed)
{
	static uint8_t buf[VIRTIO_NET_MAX_FRAME];
	size_t len = make_frame(buf, payload, seed);

	cr_assert_eq(send(peer, buf, len, 0), (ssize_t)len, "send: %s", strerror(errno));
}

/* One frame the device wrote to the TAP, or -1 if none. */
static inline ssize_t tap_recv(uint8_t *buf, size_t len)
{
	return recv(peer, buf, len, MSG_DONTWAIT);
}

/* ---- the guest's side ---- */

/* One device-writable buffer per chain at descriptor @head. */
static inline void post_rx(uint16_t head, uint64_t gpa, uint32_t len)
{
	vq_put_desc(&mem, &rxq, head, gpa, len, VIRTQ_DESC_F_WRITE, 0);
	vq_publish(&mem, &rxq, head);
}

static inline void post_rx_buffers(unsigned int n, uint32_t len)
{
	for (unsigned int i = 0; i < n; i++)
		post_rx((uint16_t)i, RX_BUF_GPA + i * RX_BUF_SIZE, len);
}

/* A TX frame at @head: the header, then the payload in a second descriptor. */
static inline void post_tx_at(uint16_t head, uint64_t gpa, uint32_t payload, uint8_t seed)
{
	memset(ram + gpa, 0, HDR);
	fill(gpa + HDR, payload, seed);
	vq_put_desc(&mem, &txq, head, gpa, HDR, VIRTQ_DESC_F_NEXT, (uint16_t)(head + 1));
	vq_put_desc(&mem, &txq, (uint16_t)(head + 1), gpa + HDR, payload, 0, 0);
	vq_publish(&mem, &txq, head);
}

static inline uint16_t rx_used(void)
{
	return vq_used_idx(&mem, &rxq);
}

static inline uint16_t tx_used(void)
{
	return vq_used_idx(&mem, &txq);
}

static inline uint16_t num_buffers_at(uint64_t gpa)
{
	return gm_get16(&mem, gpa + VIRTIO_NET_HDR_NUM_BUFFERS);
}

static inline void assert_payload(const uint8_t *got, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		if (got[i] != (uint8_t)(seed + i * 7))
			cr_assert_fail("payload byte %zu is 0x%02x, expected 0x%02x", i, got[i],
				       (uint8_t)(seed + i * 7));
}

static inline bool needs_reset(void)
{
	return mmio_read32(&net->transport, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET;
}

static inline unsigned int log_lines_with(const char *needle)
{
	char line[1024];
	unsigned int n = 0;

	fflush(log_file);
	rewind(log_file);
	while (fgets(line, sizeof(line), log_file))
		n += strstr(line, needle) != NULL;
	return n;
}

static inline uint32_t tap_interest(void)
{
	return net->tap_events;
}

#endif
