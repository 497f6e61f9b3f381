/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hostile guest's register scenarios: storms of random writes to the
 * virtio-mmio windows, the 16550 UART and the i8042, device-status abuse
 * and reset storms. Values come from xorshift64 kept in a register, so the
 * loops store nothing but the device accesses themselves.
 */
#include "hostile.h"

#define STORM (100000UL / scale)
#define MMIO_MAGIC 0x74726976

/*
 * A register's random value, bent only where the guest itself would be hurt:
 * ring addresses land in the scratch area (the device may write used
 * elements there), never over this program.
 */
static uint32_t mmio_value(uint32_t off, uint64_t x)
{
	uint32_t v = (uint32_t)(x >> 32);

	switch (off) {
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_AVAIL_LOW:
	case REG_QUEUE_USED_LOW:
		return x & 0x100 ? (uint32_t)(SCRATCH + (v & (SCRATCH_LEN - 1))) : v;
	case REG_QUEUE_DESC_HIGH:
	case REG_QUEUE_AVAIL_HIGH:
	case REG_QUEUE_USED_HIGH:
		return x & 0x200 ? 0 : v;
	case REG_QUEUE_NUM:
	case REG_QUEUE_SEL:
	case REG_QUEUE_NOTIFY:
		return x & 0x400 ? v & 0x1ff : v;
	default:
		return v;
	}
}

/* @n random accesses to the window at @base: writes of every width, reads. */
static void mmio_storm(uint64_t base, unsigned long n, uint64_t x)
{
	for (unsigned long i = 0; i < n; i++) {
		uint32_t off;

		x = next_rand(x);
		off = (uint32_t)(x >> 8) & 0x1ff;
		switch (x & 7) {
		case 0:
			*(volatile uint8_t *)(base + off) = (uint8_t)(x >> 40);
			break;
		case 1:
			*(volatile uint16_t *)(base + (off & ~1U)) = (uint16_t)(x >> 40);
			break;
		case 2:
			*(volatile uint64_t *)(base + (off & ~7U)) = x;
			break;
		case 3:
			(void)*(volatile uint32_t *)(base + (off & ~3U));
			break;
		default:
			off &= ~3U;
			wr(base, off, mmio_value(off, x));
			break;
		}
	}
}

static bool is_virtio(uint64_t base, uint32_t id)
{
	return rd(base, REG_MAGIC) == MMIO_MAGIC && rd(base, REG_DEVICE_ID) == id;
}

void scenario_mmio(void)
{
	dev_setup(BLK_BASE, 8, 1U << F_INDIRECT);
	mmio_storm(BLK_BASE, STORM, 0x9e3779b97f4a7c15UL);
	note_n("", STORM, " random accesses to the drive's window", "survived");
	if (is_virtio(NET_BASE, 1)) {
		mmio_storm(NET_BASE, STORM, 0x2545f4914f6cdd1dUL);
		wr(NET_BASE, REG_STATUS, 0);
		note_n("", STORM, " random accesses to the network device's window",
		       rd(NET_BASE, REG_STATUS) == 0 ? "survived, resets" : "survived, no reset");
	} else {
		note("network device", "none configured");
	}
	/*
	 * The gap's first 64 KiB but for the two windows above (unbent ring
	 * addresses there could aim the device at this program): the boot
	 * timer and the empty slots.
	 */
	for (unsigned long i = 0, x = 0x8badf00dUL; i < STORM / 4; i++) {
		uint64_t a;

		x = next_rand(x);
		a = MMIO_GAP + ((x >> 8) & 0xfffc);
		if (a >= BLK_BASE && a < NET_BASE + MMIO_SLOT)
			a += 2 * MMIO_SLOT;
		wr(a, 0, (uint32_t)(x >> 32));
	}
	note_n("", STORM / 4, " random writes to the boot timer and the empty slots", "survived");
}

void scenario_uart(void)
{
	uint64_t x = 0xdeadbeefcafef00dUL;

	for (unsigned long i = 0; i < STORM; i++) {
		x = next_rand(x);
		if (x & 0x10000)
			outb((uint16_t)(COM1 + (x & 7)), (uint8_t)(x >> 24));
		else
			(void)inb((uint16_t)(COM1 + (x & 7)));
	}
	/*
	 * A console again (8N1, no loopback, FIFOs cleared), but the rest left
	 * odd for the snapshot: a random divisor and scratch byte, every
	 * interrupt enabled, the modem lines as the storm left them.
	 */
	outb(COM1 + 3, 0x83);
	outb(COM1 + 0, (uint8_t)x);
	outb(COM1 + 1, (uint8_t)(x >> 8));
	outb(COM1 + 3, 0x03);
	outb(COM1 + 1, 0x0f);
	outb(COM1 + 4, (uint8_t)(inb(COM1 + 4) & ~0x10));
	outb(COM1 + 2, 0x07);
	outb(COM1 + 7, (uint8_t)(x >> 16));
	putc_('\n'); /* after whatever the storm transmitted */
	note_n("", STORM, " random accesses to COM1's eight ports", "survived");
}

void scenario_i8042(void)
{
	uint64_t x = 0x0123456789abcdefUL;

	for (unsigned long i = 0; i < STORM; i++) {
		uint16_t port;
		uint8_t v;

		x = next_rand(x);
		port = (uint16_t)(0x60 + (x >> 4) % 5);
		v = (uint8_t)(x >> 24);
		/* Pulse-output commands (0xf0..0xff, 0xfe the reset) would end the run. */
		if (port == 0x64 && v >= 0xf0)
			v &= 0x7f;
		if (x & 0x8)
			outb(port, v);
		else
			(void)inb(port);
	}
	/* What it queued, its command byte and any half-done command stay: the snapshot takes them. */
	note_n("", STORM, " random accesses to ports 0x60-0x64", "survived");
}

static void status_write(const char *what, uint32_t v, uint32_t allowed)
{
	uint32_t got;

	wr(BLK_BASE, REG_STATUS, v);
	got = rd(BLK_BASE, REG_STATUS);
	if (got & ~allowed) {
		fail(what);
		puts_("hostile:   status reads ");
		puthex(got);
		putc_('\n');
	} else {
		note(what, "kept out");
	}
}

void scenario_status(void)
{
	const uint32_t defined = S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK |
				 S_NEEDS_RESET | S_FAILED;

	wr(BLK_BASE, REG_STATUS, 0);
	status_write("undefined status bits 0xffffff30", 0xffffff30, defined);
	status_write("status 0xffffffff", 0xffffffff, defined);
	wr(BLK_BASE, REG_STATUS, 0);
	status_write("NEEDS_RESET written by the driver", S_ACKNOWLEDGE | S_NEEDS_RESET,
		     S_ACKNOWLEDGE);
	wr(BLK_BASE, REG_STATUS, 0);
	status_write("DRIVER_OK before FEATURES_OK", S_ACKNOWLEDGE | S_DRIVER | S_DRIVER_OK,
		     S_ACKNOWLEDGE | S_DRIVER);
	good_read(0);
	rq.avail.ring[0] = 0;
	rq.avail.idx = 1;
	rq.used.idx = 0;
	note("a kick with DRIVER_OK refused", kick(20000) == ANSWERED ? "answered" : "not answered");

	/* FAILED on a running device, then a request. */
	dev_setup(BLK_BASE, 8, 0);
	wr(BLK_BASE, REG_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK | S_FAILED);
	good_read(0);
	note("a read after FAILED", submit(0, 20000) == ANSWERED ? "answered" : "not answered");
	/* Bits taken away without a reset. */
	wr(BLK_BASE, REG_STATUS, S_ACKNOWLEDGE);
	note("status bits removed without a reset",
	     rd(BLK_BASE, REG_STATUS) == S_ACKNOWLEDGE ? "taken" : "ignored");

	/* Reset in the middle: a kick and at once a reset, many times. */
	for (unsigned int i = 0; i < 500 / scale; i++) {
		dev_setup(BLK_BASE, 8, 0);
		good_read(i);
		rq.avail.ring[0] = 0;
		rq.avail.idx = 1;
		wr(BLK_BASE, REG_QUEUE_NOTIFY, 0);
		wr(BLK_BASE, REG_STATUS, i & 1 ? 0 : S_ACKNOWLEDGE);
		wr(BLK_BASE, REG_STATUS, 0);
	}
	note_n("", 500 / scale, " requests each reset away right after its kick", "survived");
}

void scenario_resets(void)
{
	for (unsigned int i = 0; i < 2000 / scale; i++) {
		dev_setup(BLK_BASE, (uint16_t)(1U << (i % 9)), i & 1 ? 1U << F_INDIRECT : 0);
		if (i % 4 == 0) {
			good_read(i);
			(void)submit(0, 2000);
		}
	}
	note_n("", 2000 / scale, " full bring-ups with a reset each", "survived");
	for (unsigned int i = 0; i < 5000 / scale; i++) {
		wr(BLK_BASE, REG_STATUS, 0);
		wr(BLK_BASE, REG_STATUS, S_ACKNOWLEDGE);
	}
	note_n("", 5000 / scale, " resets from ACKNOWLEDGE", "survived");
	/* Each life ends with a request that has nowhere to put its status. */
	hdr = (struct blk_hdr){ T_IN, 0, 0 };
	for (unsigned int i = 0; i < 3000 / scale; i++) {
		dev_setup(BLK_BASE, 8, 0);
		set_desc(rq.desc, 0, (uint64_t)&hdr, sizeof(hdr), 0, 0);
		(void)submit(0, 2000);
	}
	note_n("", 3000 / scale, " bring-ups, each ending in a request without a status byte",
	       "survived");
}
