/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hostile guest's virtqueue scenarios: rings no honest driver writes.
 * Each case starts from a freshly reset drive (the previous one may have
 * broken it), publishes one hostile chain and notes what the device did; a
 * hostile request answered with status OK is a FAIL. Each leaves the drive
 * as its last case did, for the host's snapshot; hostile.c then checks
 * that a reset drive serves a well-formed read again.
 */
#include "hostile.h"

#define POLLS 50000UL /* status reads (~17 us each on PVM) before "no answer" */
#define HUGE_POLLS 2000000UL
#define MIB (1024UL * 1024)
#define SPIN_BUDGET 2000000000UL /* register-only poll turns: seconds */

static uint32_t features_now;

static void fresh(uint16_t size, uint32_t features)
{
	features_now = features;
	dev_setup(BLK_BASE, size, features);
}

static void try_chain(const char *what, uint16_t head)
{
	expect_refused(what, submit(head, POLLS));
}

/* Indirect descriptor @i in the ring table naming @n entries of itable. */
static void indirect(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags)
{
	set_desc(rq.desc, i, addr, len, DESC_F_INDIRECT | flags, 0);
}

void scenario_loop(void)
{
	hdr = (struct blk_hdr){ T_IN, 0, 0 };
	fresh(8, 0);
	set_desc(rq.desc, 0, (uint64_t)&hdr, sizeof(hdr), DESC_F_NEXT, 0);
	try_chain("descriptor 0 whose next is itself", 0);

	fresh(8, 0);
	set_desc(rq.desc, 0, (uint64_t)&hdr, sizeof(hdr), DESC_F_NEXT, 1);
	set_desc(rq.desc, 1, (uint64_t)buf, 512, DESC_F_WRITE | DESC_F_NEXT, 0);
	try_chain("two descriptors pointing at each other", 0);

	fresh(8, 0);
	good_read(0);
	rq.desc[2].flags |= DESC_F_NEXT;
	rq.desc[2].next = 1;
	try_chain("a loop after the status descriptor (2 -> 1)", 0);

	fresh(8, 1U << F_INDIRECT);
	set_desc(itable, 0, (uint64_t)&hdr, sizeof(hdr), DESC_F_NEXT, 1);
	set_desc(itable, 1, (uint64_t)&status_byte, 1, DESC_F_WRITE | DESC_F_NEXT, 0);
	indirect(0, (uint64_t)itable, 2 * sizeof(struct vdesc), 0);
	try_chain("a loop inside an indirect table", 0);
}

void scenario_long(void)
{
	hdr = (struct blk_hdr){ T_IN, 0, 0 };
	fresh(QMAX, 0);
	for (unsigned int i = 0; i < QMAX; i++)
		set_desc(rq.desc, i, (uint64_t)&hdr, sizeof(hdr), DESC_F_NEXT, (uint16_t)((i + 1) % QMAX));
	try_chain("all 256 descriptors in a ring, the last pointing back to the first", 0);

	/* As long as the queue and well-formed: must be served. */
	fresh(QMAX, 0);
	set_desc(rq.desc, 0, (uint64_t)&hdr, sizeof(hdr), DESC_F_NEXT, 1);
	for (unsigned int i = 1; i < QMAX - 1; i++)
		set_desc(rq.desc, i, SCRATCH + i * 512, 512, DESC_F_WRITE | DESC_F_NEXT,
			 (uint16_t)(i + 1));
	set_desc(rq.desc, QMAX - 1, (uint64_t)&status_byte, 1, DESC_F_WRITE, 0);
	if (submit(0, POLLS) == ANSWERED && *(volatile uint8_t *)&status_byte == 0)
		note("a well-formed chain exactly as long as the queue (256)", "OK");
	else
		fail("a well-formed chain exactly as long as the queue was not served");

	fresh(8, 0);
	set_desc(rq.desc, 0, (uint64_t)&hdr, sizeof(hdr), DESC_F_NEXT, 9);
	try_chain("next index 9 in a queue of 8", 0);

	fresh(8, 0);
	set_desc(rq.desc, 0, (uint64_t)&hdr, sizeof(hdr), DESC_F_NEXT, 0xffff);
	try_chain("next index 0xffff", 0);

	fresh(8, 0);
	good_read(0);
	try_chain("head index 8 in a queue of 8", 8);

	/* Indirect tables that chain past their end or exceed any chain's bound. */
	fresh(8, 1U << F_INDIRECT);
	for (unsigned int i = 0; i < 1024; i++)
		set_desc(itable, i, SCRATCH + i * 512, 512, DESC_F_WRITE | DESC_F_NEXT,
			 (uint16_t)(i + 1));
	set_desc(itable, 0, (uint64_t)&hdr, sizeof(hdr), DESC_F_NEXT, 1);
	indirect(0, (uint64_t)itable, 1024 * sizeof(struct vdesc), 0);
	try_chain("an indirect table of 1024 whose last entry points past it", 0);
	indirect(0, SCRATCH, 2048 * sizeof(struct vdesc), 0);
	try_chain("an indirect table of 2048 entries", 0);
}

void scenario_indirect(void)
{
	static const struct {
		const char *what;
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
	} bad[] = {
		{ "indirect table of length 0", 0, 0, 0 },
		{ "indirect table of length 15", 0, 15, 0 },
		{ "indirect table of length 0xffffffff", 0, 0xffffffff, 0 },
		{ "indirect table at 0xfffffffffffff000", 0xfffffffffffff000UL, 32, 0 },
		{ "indirect table straddling the end of RAM", RAM_END - 16, 48, 0 },
		{ "indirect table in the MMIO gap (the drive's registers)", BLK_BASE, 64, 0 },
		{ "indirect descriptor with NEXT", 0, 48, DESC_F_NEXT },
	};

	hdr = (struct blk_hdr){ T_IN, 0, 0 };
	set_desc(itable, 0, (uint64_t)&hdr, sizeof(hdr), DESC_F_NEXT, 1);
	set_desc(itable, 1, (uint64_t)buf, 512, DESC_F_WRITE | DESC_F_NEXT, 2);
	set_desc(itable, 2, (uint64_t)&status_byte, 1, DESC_F_WRITE, 0);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fresh(8, 1U << F_INDIRECT);
		indirect(0, bad[i].addr ? bad[i].addr : (uint64_t)itable, bad[i].len, bad[i].flags);
		try_chain(bad[i].what, 0);
	}

	/* The device must ignore WRITE on an indirect descriptor (2.7.5.3.2): served. */
	fresh(8, 1U << F_INDIRECT);
	indirect(0, (uint64_t)itable, 3 * sizeof(struct vdesc), DESC_F_WRITE);
	if (submit(0, POLLS) == ANSWERED && *(volatile uint8_t *)&status_byte == 0)
		note("indirect descriptor with WRITE (to be ignored)", "OK");
	else
		fail("an indirect descriptor with WRITE (which the device must ignore) was refused");

	fresh(8, 0);
	indirect(0, (uint64_t)itable, 3 * sizeof(struct vdesc), 0);
	try_chain("an indirect table the driver did not negotiate", 0);

	/* Nested: the table's middle entry is itself indirect. */
	fresh(8, 1U << F_INDIRECT);
	set_desc(itable, 1, (uint64_t)&itable[8], 3 * sizeof(struct vdesc),
		 DESC_F_INDIRECT | DESC_F_NEXT, 2);
	set_desc(itable, 8, (uint64_t)buf, 512, DESC_F_WRITE, 0);
	indirect(0, (uint64_t)itable, 3 * sizeof(struct vdesc), 0);
	try_chain("an indirect descriptor inside an indirect table", 0);

	fresh(8, 1U << F_INDIRECT);
	set_desc(itable, 1, (uint64_t)buf, 512, DESC_F_WRITE | DESC_F_NEXT, 7);
	indirect(0, (uint64_t)itable, 3 * sizeof(struct vdesc), 0);
	try_chain("next index 7 in an indirect table of 3", 0);

	/* The table is the ring's own descriptor table, which points back at itself. */
	fresh(8, 1U << F_INDIRECT);
	indirect(0, (uint64_t)rq.desc, 8 * sizeof(struct vdesc), 0);
	try_chain("an indirect table that is the ring's own descriptor table", 0);
}

void scenario_addr(void)
{
	static const struct {
		const char *what;
		unsigned int desc; /* 0 header, 1 data, 2 status */
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{ "data buffer at 16 TiB (outside RAM)", 1, 0x100000000000UL, 512 },
		{ "data buffer in the MMIO gap (the drive's own registers)", 1, BLK_BASE, 512 },
		{ "data buffer on the boot timer", 1, MMIO_GAP, 512 },
		{ "data buffer straddling the end of RAM", 1, RAM_END - 256, 512 },
		{ "data buffer whose end wraps past 2^64", 1, 0xfffffffffffffe00UL, 1024 },
		{ "data buffer of length 0xfffffe00", 1, SCRATCH, 0xfffffe00 },
		{ "header outside RAM", 0, 0xdead00000000UL, 16 },
		{ "header of 8 bytes", 0, 0, 8 },
		{ "status byte just past the end of RAM", 2, RAM_END, 1 },
		{ "status byte at 2^64-1", 2, 0xffffffffffffffffUL, 1 },
		{ "status descriptor of length 0", 2, 0, 0 },
		{ "status descriptor of length 0xffffffff", 2, 0, 0xffffffff },
	};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fresh(8, 0);
		good_read(0);
		if (bad[i].addr)
			rq.desc[bad[i].desc].addr = bad[i].addr;
		rq.desc[bad[i].desc].len = bad[i].len;
		try_chain(bad[i].what, 0);
	}
}

void scenario_avail(void)
{
	fresh(8, 0);
	good_read(0);
	rq.avail.idx = 1000;
	expect_refused("avail index 1000 ahead of the device in a queue of 8", kick(POLLS));

	fresh(8, 0);
	good_read(0);
	rq.avail.idx = 0xffff;
	expect_refused("avail index moved backwards (65535 ahead)", kick(POLLS));

	fresh(8, 0);
	good_read(0);
	rq.avail.idx = 9;
	expect_refused("avail index one more than the queue holds", kick(POLLS));

	fresh(8, 0);
	good_read(0);
	for (unsigned int i = 0; i < 8; i++)
		rq.avail.ring[i] = (uint16_t)(i & 1 ? 0xffff : 0);
	rq.avail.idx = 8;
	note("the whole ring published at once, every second head 0xffff",
	     kick(POLLS) == NEEDS_RESET ? "needs reset" : "answered or no answer");

	/* The same head published 8 times: honest drivers never do that. */
	fresh(8, 0);
	good_read(0);
	for (unsigned int i = 0; i < 8; i++)
		rq.avail.ring[i] = 0;
	rq.avail.idx = 8;
	note("head 0 published 8 times at once",
	     kick(POLLS) == ANSWERED ? "answered" : "needs reset or no answer");

	/* Index 65535 -> 0 with entries in flight: past the wrap, twice round. */
	fresh(8, 0);
	good_read(0);
	rq.avail.idx = 0xfff8;
	note("avail index 65528 ahead at once (wraps)",
	     kick(POLLS) == NEEDS_RESET ? "needs reset" : "answered or no answer");
}

/* Rings on top of each other, and a table across the end of RAM. */
static void overlapping_rings(void)
{
	const uint64_t desc = (uint64_t)rq.desc, avail = (uint64_t)&rq.avail;

	dev_setup_at(BLK_BASE, 8, 0, desc, avail, avail);
	good_read(0);
	note("the used ring on the avail ring",
	     submit(0, POLLS / 5) == NEEDS_RESET ? "needs reset" : "survived");
	dev_setup_at(BLK_BASE, 8, 0, desc, avail, desc);
	good_read(0);
	note("the used ring on the descriptor table",
	     submit(0, POLLS / 5) == NEEDS_RESET ? "needs reset" : "survived");
	dev_setup_at(BLK_BASE, 8, 0, desc, desc, desc);
	good_read(0);
	note("all three rings at one address",
	     submit(0, POLLS / 5) == NEEDS_RESET ? "needs reset" : "survived");

	wr(BLK_BASE, REG_STATUS, 0);
	wr(BLK_BASE, REG_QUEUE_SEL, 0);
	wr(BLK_BASE, REG_QUEUE_DESC_LOW, (uint32_t)(RAM_END - 64));
	wr(BLK_BASE, REG_QUEUE_READY, 1);
	note("a descriptor table across the end of RAM",
	     rd(BLK_BASE, REG_QUEUE_READY) ? "enabled" : "not enabled");
	if (rd(BLK_BASE, REG_QUEUE_READY))
		fail("a queue whose descriptor table leaves RAM was enabled");
}

void scenario_reprogram(void)
{
	static const uint32_t regs[] = { REG_QUEUE_DESC_LOW, REG_QUEUE_DESC_HIGH, REG_QUEUE_AVAIL_LOW,
					 REG_QUEUE_AVAIL_HIGH, REG_QUEUE_USED_LOW, REG_QUEUE_USED_HIGH };
	enum answer a;

	fresh(8, 0);
	good_read(0);
	a = submit(0, POLLS);
	note("a well-formed read before reprogramming", a == ANSWERED ? "answered" : "not answered");
	/* Move the rings out of RAM, resize, re-enable: all while DRIVER_OK. */
	for (unsigned int i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		wr(BLK_BASE, regs[i], 0xdead0000);
	wr(BLK_BASE, REG_QUEUE_NUM, 3);
	wr(BLK_BASE, REG_QUEUE_NUM, 1024);
	wr(BLK_BASE, REG_QUEUE_NUM, 0);
	wr(BLK_BASE, REG_QUEUE_READY, 1);
	good_read(0);
	note("a read after rewriting the queue's registers while DRIVER_OK",
	     submit(0, POLLS) == ANSWERED ? "answered (the registers were ignored)" : "not answered");

	fresh(8, 0);
	good_read(0);
	wr(BLK_BASE, REG_QUEUE_READY, 0);
	for (unsigned int i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		wr(BLK_BASE, regs[i], 0xdead0000);
	wr(BLK_BASE, REG_QUEUE_NUM, 5);
	wr(BLK_BASE, REG_QUEUE_READY, 1);
	note("QueueReady 0, new layout, QueueReady 1 after DRIVER_OK, then a kick",
	     submit(0, POLLS) == ANSWERED ? "answered" : "not answered");

	/* A kick, and the queue switched off before the device gets to it. */
	fresh(8, 0);
	good_read(0);
	rq.avail.ring[0] = 0;
	rq.avail.idx = 1;
	wr(BLK_BASE, REG_QUEUE_NOTIFY, 0);
	wr(BLK_BASE, REG_QUEUE_READY, 0);
	wr(BLK_BASE, REG_QUEUE_DESC_LOW, SCRATCH);
	wr(BLK_BASE, REG_QUEUE_NOTIFY, 0);
	note("QueueReady 0 right after a kick", "survived");

	/* Queues that do not exist, notified and configured. */
	fresh(8, 0);
	for (uint32_t sel = 1; sel; sel = sel < 16 ? sel + 1 : sel * 3 + 1) {
		wr(BLK_BASE, REG_QUEUE_SEL, sel);
		wr(BLK_BASE, REG_QUEUE_NUM, 8);
		wr(BLK_BASE, REG_QUEUE_DESC_LOW, SCRATCH);
		wr(BLK_BASE, REG_QUEUE_READY, 1);
		wr(BLK_BASE, REG_QUEUE_NOTIFY, sel);
		if (sel > 0x10000000)
			break;
	}
	wr(BLK_BASE, REG_QUEUE_NOTIFY, 0xffffffff);
	note("QueueSel, QueueReady and QueueNotify of queues that do not exist", "survived");
	overlapping_rings();
}

void scenario_alias(void)
{
	/* seg_max (254) segments of 16 MiB, all the scratch area: 4064 MiB. */
	const unsigned int n = 254;
	uint64_t capacity;
	enum answer a;

	fresh(8, 1U << F_INDIRECT);
	capacity = rd(BLK_BASE, REG_CONFIG) | (uint64_t)rd(BLK_BASE, REG_CONFIG + 4) << 32;
	hdr = (struct blk_hdr){ T_IN, 0, 0 };
	set_desc(itable, 0, (uint64_t)&hdr, sizeof(hdr), DESC_F_NEXT, 1);
	for (unsigned int i = 1; i <= n; i++)
		set_desc(itable, i, SCRATCH, SCRATCH_LEN, DESC_F_WRITE | DESC_F_NEXT,
			 (uint16_t)(i + 1));
	set_desc(itable, n + 1, (uint64_t)&status_byte, 1, DESC_F_WRITE, 0);
	indirect(0, (uint64_t)itable, (n + 2) * sizeof(struct vdesc), 0);
	/* Legal (no size_max is offered, seg_max is kept): must be served. */
	if (submit(0, HUGE_POLLS) == ANSWERED && status_byte == 0)
		note("a 4064 MiB read into 254 descriptors that all name one 16 MiB buffer", "OK");
	else
		fail("a legal 4064 MiB read into one aliased 16 MiB buffer was not served");

	/* OUT from the same aliases, at a sector where it cannot fit. */
	fresh(8, 1U << F_INDIRECT);
	hdr = (struct blk_hdr){ T_OUT, 0, capacity - 8 };
	for (unsigned int i = 1; i <= n; i++)
		itable[i].flags = DESC_F_NEXT;
	try_chain("a 4064 MiB write from one aliased buffer, past the end of the disk", 0);

	/* GET_ID with 4 GiB of aliased writable space: only 20 bytes are due. */
	fresh(8, 1U << F_INDIRECT);
	hdr = (struct blk_hdr){ T_GET_ID, 0, 0 };
	for (unsigned int i = 1; i <= n; i++)
		itable[i].flags = DESC_F_WRITE | DESC_F_NEXT;
	note("GET_ID into 4064 MiB of aliased buffers",
	     submit(0, HUGE_POLLS) == ANSWERED && status_byte == 0 ? "OK" : "not OK");

	/* Over 4 GiB in one chain: 513 x 8 MiB. */
	fresh(8, 1U << F_INDIRECT);
	hdr = (struct blk_hdr){ T_IN, 0, 0 };
	for (unsigned int i = 1; i <= 513; i++)
		set_desc(itable, i, SCRATCH, 8 * MIB, DESC_F_WRITE | DESC_F_NEXT, (uint16_t)(i + 1));
	set_desc(itable, 514, (uint64_t)&status_byte, 1, DESC_F_WRITE, 0);
	indirect(0, (uint64_t)itable, 515 * sizeof(struct vdesc), 0);
	try_chain("a 4104 MiB read (more than 2^32 bytes in one chain)", 0);

	/* The data lands on the rings the device is working from. */
	fresh(8, 0);
	good_read(0);
	rq.desc[1] = (struct vdesc){ (uint64_t)&rq, sizeof(rq), DESC_F_WRITE | DESC_F_NEXT, 2 };
	rq.desc[1].len = (uint32_t)(sizeof(rq) & ~511UL);
	a = submit(0, POLLS);
	note("a read whose buffer is the ring itself",
	     a == ANSWERED ? "answered" : a == NEEDS_RESET ? "needs reset (the data broke the ring)"
						       : "no answer");
}

void scenario_sector(void)
{
	static const struct {
		const char *what;
		uint32_t type;
		uint64_t sector; /* ~0 - n: capacity - n */
	} bad[] = {
		{ "IN at sector 2^64-1", T_IN, 0xffffffffffffffffUL },
		{ "IN at sector 2^64-8", T_IN, 0xfffffffffffffff8UL },
		{ "IN at sector 2^55 (byte offset wraps to 0)", T_IN, 1UL << 55 },
		{ "IN at sector 2^55+1", T_IN, (1UL << 55) + 1 },
		{ "IN at sector 2^63", T_IN, 1UL << 63 },
		{ "OUT at sector 2^64-1", T_OUT, 0xffffffffffffffffUL },
		{ "OUT at sector 2^55 (byte offset wraps to 0)", T_OUT, 1UL << 55 },
	};
	uint64_t capacity;

	fresh(8, 0);
	capacity = rd(BLK_BASE, REG_CONFIG) | (uint64_t)rd(BLK_BASE, REG_CONFIG + 4) << 32;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fresh(8, 0);
		good_read(bad[i].sector);
		hdr.type = bad[i].type;
		if (bad[i].type == T_OUT)
			rq.desc[1].flags = DESC_F_NEXT;
		try_chain(bad[i].what, 0);
	}
	fresh(8, 0);
	good_read(capacity - 1);
	rq.desc[1].len = 1024;
	try_chain("IN of 2 sectors at the last sector", 0);

	fresh(8, 0);
	good_read(capacity - 1);
	if (submit(0, POLLS) != ANSWERED || status_byte != 0)
		fail("IN of the last sector was not served");
	else
		note("IN of the last sector", "OK");

	fresh(8, 0);
	good_read(0xffffffffffffffffUL);
	hdr.type = T_FLUSH;
	rq.desc[0].next = 2;
	note("FLUSH naming sector 2^64-1 (the sector is unused)",
	     submit(0, POLLS) == ANSWERED && status_byte == 0 ? "OK" : "not OK");
}

/*
 * Keeps the drive busy: eight 16 MiB reads in flight at all times, each
 * answered one published again at once, @n in all. The device never finds
 * its ring empty; the VMM must still serve its API (test-hostile.sh pauses
 * and snapshots midway and times it).
 */
void scenario_flood(void)
{
	const unsigned long n = 1500 / scale;
	unsigned long done = 0;
	uint16_t seen = 0;

	fresh(32, 0);
	hdr = (struct blk_hdr){ T_IN, 0, 0 };
	for (unsigned int k = 0; k < 8; k++) {
		set_desc(rq.desc, 3 * k, (uint64_t)&hdr, sizeof(hdr), DESC_F_NEXT, (uint16_t)(3 * k + 1));
		set_desc(rq.desc, 3 * k + 1, SCRATCH, SCRATCH_LEN, DESC_F_WRITE | DESC_F_NEXT,
			 (uint16_t)(3 * k + 2));
		set_desc(rq.desc, 3 * k + 2, (uint64_t)&status_byte, 1, DESC_F_WRITE, 0);
		rq.avail.ring[k] = (uint16_t)(3 * k);
	}
	barrier();
	*(volatile uint16_t *)&rq.avail.idx = 8;
	wr(BLK_BASE, REG_QUEUE_NOTIFY, 0);
	/*
	 * Memory polls only: reading a register would wait for the transport
	 * lock the device holds while it serves, and so pace the flood.
	 */
	for (unsigned long spins = SPIN_BUDGET; done < n;) {
		uint16_t now = *(volatile uint16_t *)&rq.used.idx, idx;

		if (now == seen) {
			if (!--spins)
				break;
			continue;
		}
		spins = SPIN_BUDGET;
		/* Each answered chain goes straight back on the ring. */
		idx = *(volatile uint16_t *)&rq.avail.idx;
		for (; seen != now; seen++, done++) {
			uint32_t head = ((volatile struct vused_elem *)rq.used.ring)[seen % 32].id;

			rq.avail.ring[idx % 32] = (uint16_t)head;
			idx++;
		}
		barrier();
		*(volatile uint16_t *)&rq.avail.idx = idx;
		wr(BLK_BASE, REG_QUEUE_NOTIFY, 0);
	}
	note_n("", done, " reads of 16 MiB, eight always in flight",
	       done >= n ? "all answered" : "stopped answering");
}
