/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hostile guest's virtio-blk plumbing: bring the drive up (again: most
 * scenarios break it on purpose and reset it), publish a chain, and wait
 * for the answer with a bound, since a device that refuses a ring may never
 * answer.
 */
#include "hostile.h"

struct rings rq;
struct vdesc itable[1024] __attribute__((aligned(4096)));
struct blk_hdr hdr __attribute__((aligned(64)));
uint8_t status_byte __attribute__((aligned(64)));
uint8_t buf[4096] __attribute__((aligned(4096)));

static uint16_t qsize = 8, avail_idx;

static bool refuse(const char *what, uint32_t status)
{
	puts_("hostile: FAIL setup: ");
	puts_(what);
	puts_(", status ");
	puthex(status);
	putc_('\n');
	return false;
}

bool dev_setup(uint64_t base, uint16_t size, uint32_t features)
{
	return dev_setup_at(base, size, features, (uint64_t)rq.desc, (uint64_t)&rq.avail,
			    (uint64_t)&rq.used);
}

bool dev_setup_at(uint64_t base, uint16_t size, uint32_t features, uint64_t desc, uint64_t avail,
		  uint64_t used)
{
	uint32_t v;

	wr(base, REG_STATUS, 0);
	if ((v = rd(base, REG_STATUS)) != 0)
		return refuse("status not 0 after a reset", v);
	wr(base, REG_STATUS, S_ACKNOWLEDGE);
	wr(base, REG_STATUS, S_ACKNOWLEDGE | S_DRIVER);
	wr(base, REG_DRIVER_FEAT_SEL, 1);
	wr(base, REG_DRIVER_FEATURES, 1U << (F_VERSION_1 - 32));
	wr(base, REG_DRIVER_FEAT_SEL, 0);
	wr(base, REG_DRIVER_FEATURES, features);
	wr(base, REG_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
	if (!((v = rd(base, REG_STATUS)) & S_FEATURES_OK))
		return refuse("no FEATURES_OK", v);

	wr(base, REG_QUEUE_SEL, 0);
	wr(base, REG_QUEUE_NUM, size);
	wr(base, REG_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(base, REG_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(base, REG_QUEUE_AVAIL_LOW, (uint32_t)avail);
	wr(base, REG_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	wr(base, REG_QUEUE_USED_LOW, (uint32_t)used);
	wr(base, REG_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
	/* The device's indices start at 0 after a reset: so do ours. */
	rq.avail.flags = AVAIL_F_NO_INTERRUPT;
	rq.avail.idx = 0;
	rq.used.idx = 0;
	qsize = size;
	avail_idx = 0;
	barrier();
	wr(base, REG_QUEUE_READY, 1);
	if (rd(base, REG_QUEUE_READY) != 1)
		return refuse("queue 0 not ready", rd(base, REG_STATUS));
	wr(base, REG_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	v = rd(base, REG_STATUS);
	if (v != (S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK))
		return refuse("DRIVER_OK not taken", v);
	return true;
}

enum answer submit(uint16_t head, unsigned long polls)
{
	status_byte = 0xff;
	rq.avail.ring[avail_idx % qsize] = head;
	barrier();
	avail_idx++;
	*(volatile uint16_t *)&rq.avail.idx = avail_idx;
	return kick(polls);
}

enum answer kick(unsigned long polls)
{
	uint16_t before = *(volatile uint16_t *)&rq.used.idx;

	barrier();
	wr(BLK_BASE, REG_QUEUE_NOTIFY, 0);
	for (;;) {
		if (*(volatile uint16_t *)&rq.used.idx != before)
			return ANSWERED;
		if (rd(BLK_BASE, REG_STATUS) & S_NEEDS_RESET)
			return NEEDS_RESET;
		if (!--polls)
			return NO_ANSWER;
	}
}

void set_desc(struct vdesc *t, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
	      uint16_t next)
{
	t[i] = (struct vdesc){ addr, len, flags, next };
}

void good_read(uint64_t sector)
{
	hdr = (struct blk_hdr){ T_IN, 0, sector };
	set_desc(rq.desc, 0, (uint64_t)&hdr, sizeof(hdr), DESC_F_NEXT, 1);
	set_desc(rq.desc, 1, (uint64_t)buf, 512, DESC_F_WRITE | DESC_F_NEXT, 2);
	set_desc(rq.desc, 2, (uint64_t)&status_byte, 1, DESC_F_WRITE, 0);
}

void check_device_recovers(void)
{
	enum answer a;

	if (!dev_setup(BLK_BASE, 8, 0))
		return;
	good_read(0);
	a = submit(0, 200000);
	if (a != ANSWERED || *(volatile uint8_t *)&status_byte != 0)
		fail("a well-formed read after a reset did not come back OK");
	else
		note("well-formed read after a reset", "OK");
}

void expect_refused(const char *what, enum answer a)
{
	uint8_t st = *(volatile uint8_t *)&status_byte;

	if (a == NEEDS_RESET) {
		note(what, "needs reset");
	} else if (a == NO_ANSWER) {
		note(what, "no answer");
	} else if (st == 0) {
		fail(what);
		puts_("hostile:   (a hostile request was answered with status OK)\n");
	} else {
		note(what, st == 1 ? "IOERR" : st == 2 ? "UNSUPP" : "answered, status byte untouched");
	}
}
