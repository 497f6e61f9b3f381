/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net's life around the data path (the bench is virtio_net_bench.h):
 * a TAP that goes away under the guest, and snapshots of the device state.
 */
#include "tests/unit/virtio_net_bench.h"

TestSuite(virtio_net_tap_gone, .init = setup, .fini = teardown);
TestSuite(virtio_net_snapshot, .init = setup, .fini = teardown);

/* ---- the TAP going away ---- */

Test(virtio_net_tap_gone, hang_up_is_logged_once_and_not_polled_again)
{
	start(BASE_FEATURES);
	post_rx_buffers(2, 2048);
	kick(VIRTIO_NET_RXQ);
	close(peer);
	peer = -1;

	cr_assert_eq(pump(), 1);
	cr_assert(net->tap_gone);
	cr_assert_eq(log_lines_with("TAP device tap0"), 1);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pump(), 0, "the dead TAP is out of the loop: no spinning");
	cr_assert_eq(log_lines_with("TAP device tap0"), 1);
	cr_assert_not(needs_reset());
}

Test(virtio_net_tap_gone, guest_frames_are_dropped_and_returned)
{
	start(BASE_FEATURES);
	close(peer);
	peer = -1;
	pump();
	cr_assert(net->tap_gone);

	for (unsigned int i = 0; i < 3; i++)
		post_tx_at((uint16_t)(2 * i), TX_BUF_GPA + i * 0x1000, 100, 0);
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(tx_used(), 3, "the guest gets its buffers back");
	cr_assert_eq(net->stats.tx_dropped_no_tap, 3);
	cr_assert_not(needs_reset());
}

/* Without a TAP a turn is bounded too; the guest's next kick takes up the rest. */
Test(virtio_net_tap_gone, a_turn_is_bounded_and_the_next_kick_goes_on)
{
	start(BASE_FEATURES);
	close(peer);
	peer = -1;
	pump();
	cr_assert(net->tap_gone);
	net->tx_budget = 2;
	for (unsigned int i = 0; i < 5; i++)
		post_tx_at((uint16_t)(2 * i), TX_BUF_GPA + i * 0x1000, 100, 0);
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(tx_used(), 2, "one turn drops the budget, no more");
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(tx_used(), 4);
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(tx_used(), 5);
	cr_assert_eq(net->stats.tx_dropped_no_tap, 5);
}

Test(virtio_net_tap_gone, frames_waiting_for_room_are_dropped_when_the_tap_goes)
{
	int size = 4096;

	cr_assert_eq(setsockopt(dev_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
	start(BASE_FEATURES);
	for (unsigned int i = 0; i < 6; i++)
		post_tx_at((uint16_t)(2 * i), TX_BUF_GPA + i * 0x2000, 3000, 0);
	kick(VIRTIO_NET_TXQ);
	cr_assert(net->tx_chain_held);
	close(peer);
	peer = -1;
	pump();
	cr_assert(net->tap_gone);
	cr_assert_not(net->tx_chain_held);
	cr_assert_eq(tx_used(), 6, "every chain came back");
}

/* ---- snapshots ---- */

static struct virtio_net *restore_into_new_device(const struct virtio_net_state *st)
{
	struct virtio_net *copy = calloc(1, sizeof(*copy));
	int sv[2];

	cr_assert_not_null(copy);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	cr_assert_eq(virtio_net_create_fd(copy, &ncfg, sv[0], &mem, &loop, -1, 0xc0002000, 6, &err),
		     0, "%s", err.msg);
	cr_assert_eq(virtio_net_restore(copy, st, &err), 0, "%s", err.msg);
	close(peer);
	peer = sv[1];
	return copy;
}

Test(virtio_net_snapshot, round_trip_carries_on_where_it_stopped)
{
	struct virtio_net_state st;
	struct virtio_net *copy;
	uint64_t features = MRG | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
			    VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);

	start(features);
	post_rx_buffers(4, 2048);
	kick(VIRTIO_NET_RXQ);
	tap_send(100, 1);
	pump();
	cr_assert_eq(rx_used(), 1);

	virtio_net_save(net, &st);
	cr_assert_str_eq(st.iface_id, "eth0");
	cr_assert_eq(st.transport.driver_features, features);
	cr_assert_eq(st.transport.queues[VIRTIO_NET_RXQ].last_avail_idx, 1);
	cr_assert_eq(st.mtu, 1400);

	copy = restore_into_new_device(&st);
	cr_assert(copy->active);
	cr_assert_eq(copy->tap.offload, TUN_F_CSUM | TUN_F_TSO4);
	cr_assert(copy->tap_events & EPOLLIN);

	/* The restored device fills the next buffer the guest posted before. */
	tap_send(200, 2);
	pump();
	cr_assert_eq(rx_used(), 2);
	cr_assert_eq(vq_used_id(&mem, &rxq, 1), 1);
	assert_payload(ram + RX_BUF_GPA + RX_BUF_SIZE + HDR, 200, 2);

	virtio_net_destroy(copy);
	free(copy);
}

Test(virtio_net_snapshot, chains_held_by_the_device_are_saved_as_not_taken)
{
	struct virtio_net_state st;
	int size = 4096;

	cr_assert_eq(setsockopt(dev_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
	start(MRG);
	/* RX: a frame half-way through two buffers. */
	post_rx_buffers(1, 1500);
	kick(VIRTIO_NET_RXQ);
	tap_send(3000, 1);
	pump();
	cr_assert_eq(net->rx_nr_used, 1);
	/* TX: a frame the full TAP refused for now. */
	for (unsigned int i = 0; i < 6; i++)
		post_tx_at((uint16_t)(2 * i), TX_BUF_GPA + i * 0x2000, 3000, 0);
	kick(VIRTIO_NET_TXQ);
	cr_assert(net->tx_chain_held);

	virtio_net_save(net, &st);
	cr_assert_eq(st.transport.queues[VIRTIO_NET_RXQ].last_avail_idx, 0);
	cr_assert_eq(st.transport.queues[VIRTIO_NET_TXQ].last_avail_idx, tx_used(),
		     "the held TX chain is popped again after restore");
}

/* TX frames the source had not sent yet go out after a load, without a new kick. */
Test(virtio_net_snapshot, a_load_takes_up_the_tx_frames_the_source_left)
{
	struct virtio_net_state st;
	struct virtio_net *copy;
	uint8_t got[256];

	start(BASE_FEATURES);
	net->tx_budget = 2;
	for (unsigned int i = 0; i < 5; i++)
		post_tx_at((uint16_t)(2 * i), TX_BUF_GPA + i * 0x1000, 100, (uint8_t)i);
	kick(VIRTIO_NET_TXQ);
	cr_assert_eq(tx_used(), 2);
	for (unsigned int i = 0; i < 2; i++)
		cr_assert_eq(tap_recv(got, sizeof(got)), HDR + 100);

	virtio_net_save(net, &st);
	copy = restore_into_new_device(&st);
	cr_assert(copy->tap_events & EPOLLOUT, "the restored device looks at its TX ring at once");
	for (int i = 0; i < 4 && tx_used() < 5; i++)
		pump();
	cr_assert_eq(tx_used(), 5, "the three frames left are sent");
	for (unsigned int i = 2; i < 5; i++) {
		cr_assert_eq(tap_recv(got, sizeof(got)), HDR + 100);
		assert_payload(got + HDR, 100, (uint8_t)i);
	}
	virtio_net_destroy(copy);
	free(copy);
}

Test(virtio_net_snapshot, state_of_another_interface_is_refused)
{
	struct virtio_net_state st;

	start(BASE_FEATURES);
	virtio_net_save(net, &st);
	strcpy(st.iface_id, "eth1");
	cr_assert_fails_with(virtio_net_restore(net, &st, &err), -EINVAL, err,
			     "snapshot is of interface eth1");
}

Test(virtio_net_snapshot, state_with_another_mac_is_refused)
{
	struct virtio_net_state st;

	start(BASE_FEATURES);
	virtio_net_save(net, &st);
	st.mac[5] = 0x99;
	cr_assert_fails_with(virtio_net_restore(net, &st, &err), -EINVAL, err,
			     "the snapshot's guest saw 06:00:ac:10:00:99");
}

Test(virtio_net_snapshot, features_outside_the_offer_are_refused)
{
	struct virtio_net_state st;

	start(BASE_FEATURES);
	virtio_net_save(net, &st);
	st.transport.driver_features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	cr_assert_fails_with(virtio_net_restore(net, &st, &err), -EINVAL, err,
			     "invalid virtio state");
}

/* virtio-net never offers INDIRECT_DESC: a state file cannot turn the indirect walk on. */
Test(virtio_net_snapshot, queues_walking_indirect_tables_are_refused)
{
	struct virtio_net_state st;

	start(BASE_FEATURES);
	virtio_net_save(net, &st);
	st.transport.queues[VIRTIO_NET_TXQ].indirect = 1;
	cr_assert_fails_with(virtio_net_restore(net, &st, &err), -EINVAL, err,
			     "queue 1: INDIRECT_DESC on, but the driver features lack it");
	cr_assert_not(net->transport.queues[VIRTIO_NET_TXQ].indirect);
}
