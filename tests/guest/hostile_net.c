/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hostile guest's network scenario (slot 1, when the host configured
 * eth0): TX chains no driver should send, RX buffers no driver should
 * post, and a frame left half-delivered for the snapshot: with MRG_RXBUF,
 * three 12-byte RX buffers take the first 36 bytes of a frame the host
 * sends (test-hostile.sh pings tap0's broadcast), and the rest waits for
 * buffers that never come. After the host's byte, hostile.c resets the
 * device and sends one well-formed frame.
 */
#include "hostile.h"

#define F_MRG_RXBUF 15
#define RXQ 0
#define TXQ 1
#define NET_HDR 12
#define POLLS 50000UL

static struct rings rx, tx;
static uint8_t frame[NET_HDR + 60] __attribute__((aligned(64)));
static uint8_t small[4][NET_HDR] __attribute__((aligned(64)));
static uint16_t tx_idx, rx_idx;

static void queue_setup(uint32_t q, struct rings *r)
{
	wr(NET_BASE, REG_QUEUE_SEL, q);
	wr(NET_BASE, REG_QUEUE_NUM, 8);
	wr(NET_BASE, REG_QUEUE_DESC_LOW, (uint32_t)(uint64_t)r->desc);
	wr(NET_BASE, REG_QUEUE_DESC_HIGH, 0);
	wr(NET_BASE, REG_QUEUE_AVAIL_LOW, (uint32_t)(uint64_t)&r->avail);
	wr(NET_BASE, REG_QUEUE_AVAIL_HIGH, 0);
	wr(NET_BASE, REG_QUEUE_USED_LOW, (uint32_t)(uint64_t)&r->used);
	wr(NET_BASE, REG_QUEUE_USED_HIGH, 0);
	r->avail.flags = AVAIL_F_NO_INTERRUPT;
	r->avail.idx = 0;
	r->used.idx = 0;
	barrier();
	wr(NET_BASE, REG_QUEUE_READY, 1);
}

static bool net_setup(void)
{
	wr(NET_BASE, REG_STATUS, 0);
	wr(NET_BASE, REG_STATUS, S_ACKNOWLEDGE | S_DRIVER);
	wr(NET_BASE, REG_DRIVER_FEAT_SEL, 1);
	wr(NET_BASE, REG_DRIVER_FEATURES, 1U << (F_VERSION_1 - 32));
	wr(NET_BASE, REG_DRIVER_FEAT_SEL, 0);
	wr(NET_BASE, REG_DRIVER_FEATURES, 1U << F_MRG_RXBUF);
	wr(NET_BASE, REG_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
	queue_setup(RXQ, &rx);
	queue_setup(TXQ, &tx);
	tx_idx = rx_idx = 0;
	wr(NET_BASE, REG_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return rd(NET_BASE, REG_STATUS) == (S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

static void publish(struct rings *r, uint16_t *idx, uint16_t head)
{
	r->avail.ring[*idx % 8] = head;
	barrier();
	++*idx;
	*(volatile uint16_t *)&r->avail.idx = *idx;
	barrier();
}

/* Waits for @r's used index to reach @want; false on NEEDS_RESET or timeout. */
static bool wait_used(struct rings *r, uint16_t want, unsigned long polls)
{
	while (*(volatile uint16_t *)&r->used.idx != want) {
		if ((rd(NET_BASE, REG_STATUS) & S_NEEDS_RESET) || !--polls)
			return false;
	}
	return true;
}

static void tx_case(const char *what, uint64_t addr, uint32_t len, uint16_t flags)
{
	set_desc(tx.desc, 0, addr, len, flags, 0);
	publish(&tx, &tx_idx, 0);
	wr(NET_BASE, REG_QUEUE_NOTIFY, TXQ);
	note(what, wait_used(&tx, tx_idx, POLLS) ? "dropped or sent, handed back"
						 : "needs reset or no answer");
	if (rd(NET_BASE, REG_STATUS) & S_NEEDS_RESET)
		net_setup();
}

static void tx_cases(void)
{
	tx_case("TX descriptor whose next is itself", (uint64_t)frame, sizeof(frame), DESC_F_NEXT);
	tx_case("TX frame at 16 TiB", 0x100000000000UL, sizeof(frame), 0);
	tx_case("TX frame straddling the end of RAM", RAM_END - 30, sizeof(frame), 0);
	tx_case("TX frame in a device-writable buffer", (uint64_t)frame, sizeof(frame), DESC_F_WRITE);
	tx_case("TX frame of 4 bytes (shorter than the header)", (uint64_t)frame, 4, 0);
	tx_case("TX frame of 16 MiB", SCRATCH, SCRATCH_LEN, 0);
	/* The whole direct table, 8 x 16 MiB of one buffer: a 128 MiB frame. */
	for (unsigned int i = 0; i < 8; i++)
		set_desc(tx.desc, i, SCRATCH, SCRATCH_LEN, i < 7 ? DESC_F_NEXT : 0, (uint16_t)(i + 1));
	publish(&tx, &tx_idx, 0);
	wr(NET_BASE, REG_QUEUE_NOTIFY, TXQ);
	note("TX frame of 8 x 16 MiB aliased descriptors",
	     wait_used(&tx, tx_idx, POLLS) ? "handed back" : "needs reset or no answer");
	for (unsigned int i = 0; i < sizeof(frame); i++)
		frame[i] = 0;
	for (unsigned int i = NET_HDR; i < NET_HDR + 6; i++)
		frame[i] = 0xff; /* a broadcast frame of zeros */
	tx_case("a well-formed 60-byte TX frame", (uint64_t)frame, sizeof(frame), 0);
}

void scenario_net(void)
{
	if (rd(NET_BASE, REG_MAGIC) != 0x74726976 || rd(NET_BASE, REG_DEVICE_ID) != 1) {
		fail("no virtio-net device in slot 1");
		return;
	}
	if (!net_setup()) {
		fail("virtio-net refused a plain bring-up");
		return;
	}
	tx_cases();

	/* RX buffers the device cannot use: readable, too short, outside RAM, a loop. */
	set_desc(rx.desc, 0, (uint64_t)small[0], NET_HDR, 0, 0);
	set_desc(rx.desc, 1, (uint64_t)small[1], 4, DESC_F_WRITE, 0);
	set_desc(rx.desc, 2, 0x100000000000UL, 2048, DESC_F_WRITE, 0);
	set_desc(rx.desc, 3, (uint64_t)small[3], NET_HDR, DESC_F_WRITE | DESC_F_NEXT, 3);
	/* Then three legal, tiny ones: a frame fills them and waits for more. */
	for (unsigned int i = 4; i < 7; i++)
		set_desc(rx.desc, i, SCRATCH + i * 64, NET_HDR, DESC_F_WRITE, 0);
	for (uint16_t i = 0; i < 7; i++)
		publish(&rx, &rx_idx, i);
	wr(NET_BASE, REG_QUEUE_NOTIFY, RXQ);
	/* The bad four come back (length 0) once the host's first frame arrives. */
	note("4 unusable RX buffers, then 3 of 12 bytes, a frame arriving",
	     wait_used(&rx, 4, 400000) ? "the unusable ones handed back, the frame waits"
				       : "no frame came (or needs reset)");
}

void check_net_recovers(void)
{
	if (rd(NET_BASE, REG_MAGIC) != 0x74726976 || !net_setup()) {
		fail("virtio-net does not come up again after a reset");
		return;
	}
	for (unsigned int i = NET_HDR; i < NET_HDR + 6; i++)
		frame[i] = 0xff;
	set_desc(tx.desc, 0, (uint64_t)frame, sizeof(frame), 0, 0);
	publish(&tx, &tx_idx, 0);
	wr(NET_BASE, REG_QUEUE_NOTIFY, TXQ);
	if (wait_used(&tx, 1, POLLS))
		note("a well-formed TX frame after a reset", "handed back");
	else
		fail("virtio-net did not hand back a well-formed TX frame after a reset");
}
