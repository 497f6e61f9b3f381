/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net without KVM or a TAP (the bench is virtio_net_bench.h):
 * features and config space, the offload mapping, TX and RX with their
 * back-pressure. Frames the guest gets wrong are dropped and counted;
 * neither a full TAP nor a guest without RX buffers makes the device poll
 * in a loop.
 */
#include "tests/unit/virtio_net_bench.h"

TestSuite(virtio_net, .init = setup, .fini = teardown);
TestSuite(virtio_net_tx, .init = setup, .fini = teardown);
TestSuite(virtio_net_rx, .init = setup, .fini = teardown);
TestSuite(virtio_net_offloads);

/* ---- features and config space ---- */

static uint64_t device_features(void)
{
	uint64_t f;

	mmio_write32(&net->transport, MMIO_DEVICE_FEAT_SEL, 0);
	f = mmio_read32(&net->transport, MMIO_DEVICE_FEATURES);
	mmio_write32(&net->transport, MMIO_DEVICE_FEAT_SEL, 1);
	return f | (uint64_t)mmio_read32(&net->transport, MMIO_DEVICE_FEATURES) << 32;
}

Test(virtio_net, is_a_network_device_with_two_queues_of_256)
{
	create();
	cr_assert_eq(mmio_read32(&net->transport, MMIO_DEVICE_ID), VIRTIO_ID_NET);
	for (unsigned int q = 0; q < 2; q++) {
		mmio_write32(&net->transport, MMIO_QUEUE_SEL, q);
		cr_assert_eq(mmio_read32(&net->transport, MMIO_QUEUE_NUM_MAX), 256);
	}
	mmio_write32(&net->transport, MMIO_QUEUE_SEL, 2);
	cr_assert_eq(mmio_read32(&net->transport, MMIO_QUEUE_NUM_MAX), 0);
}

Test(virtio_net, offers_firecrackers_features)
{
	uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
			VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
			VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
			VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO) |
			VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
			VIRTIO_BIT(VIRTIO_NET_F_MTU);

	create();
	cr_assert_eq(device_features(), want, "offered 0x%llx",
		     (unsigned long long)device_features());
}

Test(virtio_net, mac_and_mtu_features_only_when_configured)
{
	ncfg.has_guest_mac = false;
	ncfg.mtu = 0;
	create();
	cr_assert_eq(device_features() & VIRTIO_BIT(VIRTIO_NET_F_MAC), 0);
	cr_assert_eq(device_features() & VIRTIO_BIT(VIRTIO_NET_F_MTU), 0);
}

Test(virtio_net, config_space_holds_the_mac_and_the_mtu)
{
	uint8_t cfg[12];
	uint16_t mtu;

	create();
	for (unsigned int i = 0; i < sizeof(cfg); i++)
		virtio_mmio_bus_ops.read(&net->transport, 0x100 + i, &cfg[i], 1);
	cr_assert_arr_eq(cfg, ncfg.guest_mac, 6);
	memcpy(&mtu, cfg + 10, 2);
	cr_assert_eq(mtu, 1400);
}

/* ---- offloads ---- */

Test(virtio_net_offloads, none_without_guest_csum)
{
	cr_assert_eq(virtio_net_tap_offloads(0), 0);
	cr_assert_eq(virtio_net_tap_offloads(BASE_FEATURES), 0);
	/* The kernel refuses TSO without checksum offload; so does the mapping. */
	cr_assert_eq(virtio_net_tap_offloads(VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
					     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
					     VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO)),
		     0);
}

Test(virtio_net_offloads, guest_csum_alone_is_csum)
{
	cr_assert_eq(virtio_net_tap_offloads(VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)), TUN_F_CSUM);
}

Test(virtio_net_offloads, each_guest_offload_maps_to_its_tun_flag)
{
	uint64_t csum = VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);

	cr_assert_eq(virtio_net_tap_offloads(csum | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4)),
		     TUN_F_CSUM | TUN_F_TSO4);
	cr_assert_eq(virtio_net_tap_offloads(csum | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6)),
		     TUN_F_CSUM | TUN_F_TSO6);
	cr_assert_eq(virtio_net_tap_offloads(csum | VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO)),
		     TUN_F_CSUM | TUN_F_UFO);
}

Test(virtio_net_offloads, host_side_features_do_not_change_what_the_tap_sends)
{
	uint64_t host = VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
			VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO) |
			VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);

	cr_assert_eq(virtio_net_tap_offloads(host), 0);
}

Test(virtio_net, activation_applies_what_the_guest_negotiated)
{
	start(BASE_FEATURES | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
	      VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6));
	cr_assert_eq(net->tap.offload, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);

	/* Reset, and a driver that wants no offloads gets none. */
	mmio_write32(&net->transport, MMIO_STATUS, 0);
	driver_negotiate(&net->transport, BASE_FEATURES);
	driver_setup_queue(&net->transport, VIRTIO_NET_RXQ, &rxq);
	driver_setup_queue(&net->transport, VIRTIO_NET_TXQ, &txq);
	mmio_write32(&net->transport, MMIO_STATUS, 0xf);
	settle();
	cr_assert_eq(net->tap.offload, 0);
}

/* ---- TX ---- */

Test(virtio_net_tx, frame_reaches_the_tap_header_first)
{
	uint8_t got[2048];

	start(BASE_FEATURES);
	post_tx_at(0, TX_BUF_GPA, 1000, 0x21);
	ram[TX_BUF_GPA] = 1; /* NEEDS_CSUM: the header goes to the TAP as the guest wrote it */
	kick(VIRTIO_NET_TXQ);

	cr_assert_eq(tap_recv(got, sizeof(got)), HDR + 1000);
	cr_assert_eq(got[0], 1);
	assert_payload(got + HDR, 1000, 0x21);
	cr_assert_eq(tx_used(), 1);
	cr_assert_eq(vq_used_id(&mem, &txq, 0), 0);
	cr_assert_eq(vq_used_len(&mem, &txq, 0), 0, "TX buffers are only read");
	cr_assert_eq(net->stats.tx_frames, 1);
	cr_assert_eq(net->stats.tx_bytes, 1000);
	cr_assert(mmio_read32(&net->transport, MMIO_INTERRUPT_STATUS) & 1, "used-buffer interrupt");
}

Test(virtio_net_tx, frames_keep_their_order)
{
	uint8_t got[256];

	start(BASE_FEATURES);
	for (unsigned int i = 0; i < 4; i++)
		post_tx_at((uint16_t)(2 * i), TX_BUF_GPA + i * 0x1000, 100, (uint8_t)i);
	kick(VIRTIO_NET_TXQ);
	for (unsigned int i = 0; i < 4; i++) {
		cr_assert_eq(tap_recv(got, sizeof(got)), HDR + 100);
		assert_payload(got + HDR, 100, (uint8_t)i);
	}
	cr_assert_eq(tx_used(), 4);
}

/* A good frame after a bad one still goes out: the device is not stuck. */
static void assert_tx_still_works(uint16_t head)
{
	uint8_t got[256];
	uint16_t used = tx_used();

	post_tx_at(head, TX_BUF_GPA + 0x8000, 64, 0x5a);
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(tap_recv(got, sizeof(got)), HDR + 64);
	assert_payload(got + HDR, 64, 0x5a);
	cr_assert_eq(tx_used(), used + 1);
	cr_assert_not(needs_reset());
}

/*
 * Kicks TX with one bad chain published at head 0: nothing reaches the TAP,
 * @counter counts it, the chain comes back, and the device goes on.
 */
static void assert_tx_dropped(const uint64_t *counter)
{
	uint8_t got[64];

	kick(VIRTIO_NET_TXQ);
	cr_assert_lt(tap_recv(got, sizeof(got)), 0, "nothing reached the TAP");
	cr_assert_eq(*counter, 1);
	cr_assert_eq(tx_used(), 1, "the chain is returned");
	assert_tx_still_works(2);
}

Test(virtio_net_tx, chain_shorter_than_the_header_is_dropped_and_counted)
{
	start(BASE_FEATURES);
	vq_put_desc(&mem, &txq, 0, TX_BUF_GPA, HDR - 1, 0, 0);
	vq_publish(&mem, &txq, 0);
	assert_tx_dropped(&net->stats.tx_dropped_short);
}

Test(virtio_net_tx, oversized_frame_is_dropped_and_counted)
{
	start(BASE_FEATURES);
	/* 65563 bytes: one more than a header and the largest GSO frame. */
	vq_put_desc(&mem, &txq, 0, TX_BUF_GPA, HDR, VIRTQ_DESC_F_NEXT, 1);
	vq_put_desc(&mem, &txq, 1, TX_BUF_GPA + HDR, VIRTIO_NET_MAX_FRAME + 1 - HDR, 0, 0);
	vq_publish(&mem, &txq, 0);
	assert_tx_dropped(&net->stats.tx_dropped_too_big);
}

Test(virtio_net_tx, largest_frame_is_sent)
{
	static uint8_t got[VIRTIO_NET_MAX_FRAME + 16];
	int size = 1 << 20;

	cr_assert_eq(setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)), 0);
	cr_assert_eq(setsockopt(dev_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
	start(BASE_FEATURES);
	post_tx_at(0, TX_BUF_GPA, VIRTIO_NET_MAX_FRAME - HDR, 9);
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(tap_recv(got, sizeof(got)), VIRTIO_NET_MAX_FRAME);
	cr_assert_eq(net->stats.tx_dropped_too_big, 0);
}

Test(virtio_net_tx, chain_with_a_device_writable_descriptor_is_dropped)
{
	start(BASE_FEATURES);
	vq_put_desc(&mem, &txq, 0, TX_BUF_GPA, HDR + 60, VIRTQ_DESC_F_NEXT, 1);
	vq_put_desc(&mem, &txq, 1, TX_BUF_GPA + 0x1000, 64, VIRTQ_DESC_F_WRITE, 0);
	vq_publish(&mem, &txq, 0);
	assert_tx_dropped(&net->stats.tx_dropped_malformed);
}

Test(virtio_net_tx, readable_after_writable_is_a_bad_chain_dropped_not_fatal)
{
	start(BASE_FEATURES);
	vq_put_desc(&mem, &txq, 0, TX_BUF_GPA + 0x1000, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	vq_put_desc(&mem, &txq, 1, TX_BUF_GPA, HDR + 60, 0, 0);
	vq_publish(&mem, &txq, 0);
	assert_tx_dropped(&net->stats.tx_dropped_malformed);
}

Test(virtio_net_tx, descriptor_outside_ram_is_dropped_not_fatal)
{
	start(BASE_FEATURES);
	vq_put_desc(&mem, &txq, 0, RAM_SIZE - 8, 64, 0, 0);
	vq_publish(&mem, &txq, 0);
	assert_tx_dropped(&net->stats.tx_dropped_malformed);
}

Test(virtio_net_tx, a_frame_the_tap_refuses_is_counted_and_logged_once)
{
	uint8_t got[64];

	/* A datagram larger than the socket's send buffer is refused (EMSGSIZE). */
	int size = 4096;

	cr_assert_eq(setsockopt(dev_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
	start(BASE_FEATURES);
	post_tx_at(0, TX_BUF_GPA, 60000, 1);
	post_tx_at(2, TX_BUF_GPA + 0x10000, 60000, 1);
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(net->stats.tx_dropped_refused, 2);
	cr_assert_eq(tx_used(), 2);
	cr_assert_lt(tap_recv(got, sizeof(got)), 0);
	cr_assert_eq(log_lines_with("refused a frame"), 1);
	assert_tx_still_works(4);
}

/* ---- TX back-pressure ---- */

Test(virtio_net_tx, full_tap_keeps_the_chain_and_waits_for_epollout)
{
	uint8_t got[8192];
	int size = 4096, sent = 0;

	cr_assert_eq(setsockopt(dev_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
	start(BASE_FEATURES);
	for (unsigned int i = 0; i < 8; i++)
		post_tx_at((uint16_t)(2 * i), TX_BUF_GPA + i * 0x2000, 3000, (uint8_t)i);
	kick(VIRTIO_NET_TXQ);

	cr_assert_lt(tx_used(), 8, "the small send buffer must push back");
	cr_assert_eq(net->stats.tx_tap_full, 1);
	cr_assert(net->tx_chain_held);
	cr_assert(tap_interest() & EPOLLOUT, "waits for the TAP to drain");
	/* A guest kick meanwhile changes nothing: no retry loop on a full TAP. */
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(net->stats.tx_tap_full, 1);

	while (sent < 8) {
		ssize_t n = tap_recv(got, sizeof(got));

		if (n < 0) {
			cr_assert_gt(pump(), 0, "EPOLLOUT resumes TX (%d of 8 frames out)", sent);
			continue;
		}
		cr_assert_eq(n, HDR + 3000);
		assert_payload(got + HDR, 3000, (uint8_t)sent);
		sent++;
	}
	pump();
	cr_assert_eq(tx_used(), 8);
	cr_assert_not(net->tx_chain_held);
	cr_assert_eq(tap_interest() & EPOLLOUT, 0, "no EPOLLOUT interest once drained");
	cr_assert_eq(net->stats.tx_frames, 8);
}

/*
 * A guest that refills its TX ring as fast as the VMM drains it must not
 * hold the VMM thread: a turn ends after tx_budget frames and the rest goes
 * out on the TAP's EPOLLOUT, a pass of the event loop later.
 */
Test(virtio_net_tx, a_turn_ends_after_its_budget_and_epollout_takes_it_up)
{
	uint8_t got[256];

	start(BASE_FEATURES);
	net->tx_budget = 3;
	for (unsigned int i = 0; i < 8; i++)
		post_tx_at((uint16_t)(2 * i), TX_BUF_GPA + i * 0x1000, 100, (uint8_t)i);
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(tx_used(), 3, "one turn sends the budget, no more");
	cr_assert(tap_interest() & EPOLLOUT, "the rest waits for the loop's next pass");
	cr_assert_gt(pump(), 0);
	cr_assert_eq(tx_used(), 6);
	cr_assert_gt(pump(), 0);
	cr_assert_eq(tx_used(), 8);
	pump();
	cr_assert_eq(tap_interest() & EPOLLOUT, 0, "no EPOLLOUT interest once the ring is empty");
	for (unsigned int i = 0; i < 8; i++) {
		cr_assert_eq(tap_recv(got, sizeof(got)), HDR + 100);
		assert_payload(got + HDR, 100, (uint8_t)i);
	}
	cr_assert_eq(net->stats.tx_frames, 8);
}

/* ---- RX ---- */

Test(virtio_net_rx, frame_lands_in_one_buffer_with_num_buffers_1)
{
	start(BASE_FEATURES);
	post_rx_buffers(1, 2048);
	kick(VIRTIO_NET_RXQ);
	tap_send(1000, 0x42);
	pump();

	cr_assert_eq(rx_used(), 1);
	cr_assert_eq(vq_used_id(&mem, &rxq, 0), 0);
	cr_assert_eq(vq_used_len(&mem, &rxq, 0), HDR + 1000);
	cr_assert_eq(ram[RX_BUF_GPA], 1, "the TAP's header flags reach the guest");
	cr_assert_eq(num_buffers_at(RX_BUF_GPA), 1);
	assert_payload(ram + RX_BUF_GPA + HDR, 1000, 0x42);
	cr_assert_eq(net->stats.rx_frames, 1);
	cr_assert_eq(net->stats.rx_bytes, 1000);
	cr_assert(mmio_read32(&net->transport, MMIO_INTERRUPT_STATUS) & 1);
}

Test(virtio_net_rx, frame_spans_merged_buffers)
{
	start(MRG);
	post_rx_buffers(3, 1500);
	kick(VIRTIO_NET_RXQ);
	tap_send(3000, 0x13); /* 3012 bytes: 1500 + 1500 + 12 */
	pump();

	cr_assert_eq(rx_used(), 3);
	cr_assert_eq(num_buffers_at(RX_BUF_GPA), 3);
	cr_assert_eq(vq_used_len(&mem, &rxq, 0), 1500);
	cr_assert_eq(vq_used_len(&mem, &rxq, 1), 1500);
	cr_assert_eq(vq_used_len(&mem, &rxq, 2), 12);
	for (unsigned int i = 0; i < 3; i++)
		cr_assert_eq(vq_used_id(&mem, &rxq, (uint16_t)i), i);
	assert_payload(ram + RX_BUF_GPA + HDR, 1500 - HDR, 0x13);
	assert_payload(ram + RX_BUF_GPA + RX_BUF_SIZE, 1500, (uint8_t)(0x13 + (1500 - HDR) * 7));
	assert_payload(ram + RX_BUF_GPA + 2 * RX_BUF_SIZE, 12,
		       (uint8_t)(0x13 + (3000 - HDR) * 7));
}

Test(virtio_net_rx, largest_frame_fits_one_big_buffer)
{
	int size = 1 << 20;

	cr_assert_eq(setsockopt(peer, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
	start(BASE_FEATURES);
	post_rx(0, BIG_GPA, VIRTIO_NET_MAX_FRAME);
	kick(VIRTIO_NET_RXQ);
	tap_send(VIRTIO_NET_MAX_FRAME - HDR, 3);
	pump();
	cr_assert_eq(rx_used(), 1);
	cr_assert_eq(vq_used_len(&mem, &rxq, 0), VIRTIO_NET_MAX_FRAME);
	assert_payload(ram + BIG_GPA + HDR, VIRTIO_NET_MAX_FRAME - HDR, 3);
}

Test(virtio_net_rx, merged_frame_is_published_only_when_complete)
{
	start(MRG);
	post_rx_buffers(1, 1500);
	kick(VIRTIO_NET_RXQ);
	tap_send(3000, 0x13);
	pump();
	cr_assert_eq(rx_used(), 0, "half a frame is never visible");
	cr_assert(net->rx_waiting);

	post_rx((uint16_t)1, RX_BUF_GPA + RX_BUF_SIZE, 1500);
	post_rx((uint16_t)2, RX_BUF_GPA + 2 * RX_BUF_SIZE, 1500);
	kick(VIRTIO_NET_RXQ);
	cr_assert_eq(rx_used(), 3, "all three buffers at once");
	cr_assert_eq(num_buffers_at(RX_BUF_GPA), 3);
}

Test(virtio_net_rx, frame_too_big_for_the_buffer_is_dropped_and_the_buffer_kept)
{
	start(BASE_FEATURES);
	post_rx_buffers(1, 1000);
	kick(VIRTIO_NET_RXQ);
	tap_send(1500, 1);
	tap_send(500, 2);
	pump();

	cr_assert_eq(net->stats.rx_dropped_too_big, 1);
	cr_assert_eq(rx_used(), 1, "the next frame used the buffer");
	cr_assert_eq(vq_used_len(&mem, &rxq, 0), HDR + 500);
	assert_payload(ram + RX_BUF_GPA + HDR, 500, 2);
}

Test(virtio_net_rx, buffer_with_a_readable_descriptor_is_returned_unused)
{
	start(BASE_FEATURES);
	vq_put_desc(&mem, &rxq, 0, RX_BUF_GPA, 2048, 0, 0); /* device-readable: wrong */
	vq_publish(&mem, &rxq, 0);
	post_rx(1, RX_BUF_GPA + RX_BUF_SIZE, 2048);
	kick(VIRTIO_NET_RXQ);
	tap_send(100, 5);
	pump();

	cr_assert_eq(net->stats.rx_bad_chains, 1);
	cr_assert_eq(rx_used(), 2);
	cr_assert_eq(vq_used_id(&mem, &rxq, 0), 0);
	cr_assert_eq(vq_used_len(&mem, &rxq, 0), 0);
	cr_assert_eq(vq_used_id(&mem, &rxq, 1), 1);
	cr_assert_eq(vq_used_len(&mem, &rxq, 1), HDR + 100);
	cr_assert_not(needs_reset());
}

Test(virtio_net_rx, buffer_smaller_than_the_header_is_returned_unused)
{
	start(MRG);
	post_rx(0, RX_BUF_GPA, HDR - 1);
	post_rx(1, RX_BUF_GPA + RX_BUF_SIZE, 2048);
	kick(VIRTIO_NET_RXQ);
	tap_send(100, 5);
	pump();

	cr_assert_eq(net->stats.rx_bad_chains, 1);
	cr_assert_eq(rx_used(), 2);
	cr_assert_eq(vq_used_len(&mem, &rxq, 0), 0);
	cr_assert_eq(vq_used_len(&mem, &rxq, 1), HDR + 100);
}

Test(virtio_net_rx, frame_shorter_than_a_header_from_the_tap_is_dropped)
{
	uint8_t tiny[4] = { 0 };

	start(BASE_FEATURES);
	post_rx_buffers(1, 2048);
	kick(VIRTIO_NET_RXQ);
	cr_assert_eq(send(peer, tiny, sizeof(tiny), 0), (ssize_t)sizeof(tiny));
	pump();
	cr_assert_eq(net->stats.rx_dropped_short, 1);
	cr_assert_eq(rx_used(), 0);
}

/* ---- RX back-pressure ---- */

Test(virtio_net_rx, no_guest_buffers_stops_polling_the_tap)
{
	start(BASE_FEATURES);
	tap_send(100, 1);
	tap_send(100, 2);
	pump(); /* reads one frame, finds no buffer */

	cr_assert(net->rx_waiting);
	cr_assert_eq(net->stats.rx_no_buffers, 1);
	cr_assert_eq(tap_interest() & EPOLLIN, 0);
	/* The TAP still has a frame queued, yet nothing is dispatched: no busy loop. */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pump(), 0);
	cr_assert_eq(net->stats.rx_no_buffers, 1);

	/* Buffers and a notification bring both frames in, in order. */
	post_rx_buffers(2, 2048);
	kick(VIRTIO_NET_RXQ);
	cr_assert_eq(rx_used(), 2);
	assert_payload(ram + RX_BUF_GPA + HDR, 100, 1);
	assert_payload(ram + RX_BUF_GPA + RX_BUF_SIZE + HDR, 100, 2);
	cr_assert_not(net->rx_waiting);
	cr_assert(tap_interest() & EPOLLIN, "polled again");
}

Test(virtio_net_rx, tap_is_not_polled_before_driver_ok)
{
	create();
	tap_send(100, 1);
	cr_assert_eq(pump(), 0);
	cr_assert_eq(tap_interest(), 0);
}

Test(virtio_net_rx, event_idx_asks_for_a_notification_before_waiting)
{
	start(BASE_FEATURES);
	post_rx_buffers(1, 2048);
	kick(VIRTIO_NET_RXQ);
	tap_send(100, 1);
	tap_send(100, 2);
	pump();
	cr_assert_eq(rx_used(), 1);
	cr_assert(net->rx_waiting);
	/* avail_event = next index the device wants: the guest will kick at buffer 2. */
	cr_assert_eq(vq_avail_event(&mem, &rxq), 1);
}

Test(virtio_net_rx, reset_forgets_a_half_delivered_frame)
{
	start(MRG);
	post_rx_buffers(1, 1500);
	kick(VIRTIO_NET_RXQ);
	tap_send(3000, 1);
	pump();
	cr_assert_eq(net->rx_nr_used, 1);

	mmio_write32(&net->transport, MMIO_STATUS, 0);
	cr_assert_eq(net->rx_nr_used, 0);
	cr_assert_eq(net->rx_frame_len, 0);
	settle();
	cr_assert_eq(tap_interest(), 0, "a reset device does not poll the TAP");
}
