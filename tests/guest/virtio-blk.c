/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A freestanding virtio-blk driver for the host-KVM tier: drives the first
 * virtio-mmio device (0xC0001000) by polling, on any /dev/kvm including PVM.
 * Built with -ffreestanding -nostdlib -mgeneral-regs-only, entered through
 * entry.S. It takes no exception and never enables interrupts; it sets
 * VIRTQ_AVAIL_F_NO_INTERRUPT so the device raises none either (an interrupt
 * source firing stalls a tiny guest on PVM), and checks at the end that the
 * device's InterruptStatus stayed 0. Loops keep their state in registers
 * (each memory-storing loop iteration costs ~8 us on PVM).
 *
 * Steps (console lines on COM1, one per step; the first failure ends the run
 * with "virtio-blk: FAIL <what>"):
 *   transport: magic, version 2, device ID 2; a driver that refuses
 *     VERSION_1 must not get FEATURES_OK; then VERSION_1 + FLUSH (+ RO when
 *     the device offers it), queue 0 with 8 entries, DRIVER_OK.
 *   capacity from the config space          -> "virtio-blk: capacity=<sectors>"
 *   IN sector 0: the host's marker          "IGNIS-HOSTDATA-SECTOR0"
 *   writable device: OUT a 4 KiB pattern at sector 8, FLUSH, IN it into a
 *     second buffer, compare (used length 4097 on the IN);
 *   read-only device (VIRTIO_BLK_F_RO): the OUT must answer IOERR and the
 *     IN must not return the pattern;
 *   GET_ID                                  -> "virtio-blk: id=<serial>"
 *   IN at sector = capacity and one straddling the end: IOERR each;
 *     an unknown request type: UNSUPP;
 *   InterruptStatus 0, no NEEDS_RESET; device reset; then
 *   "virtio-blk: OK" (or "virtio-blk: OK read-only") and an i8042 reset.
 *
 * The pattern byte i (0..4095) is (uint8_t)(i * 3 + (i >> 8) * 5 + 0x5a);
 * test-virtio-blk.sh regenerates it to check the backing file.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COM1 0x3f8
#define COM1_LSR (COM1 + 5)

#define MMIO_BASE 0xc0001000UL

/* virtio-mmio registers (virtio 1.2, 4.2.2). */
#define REG_MAGIC            0x000
#define REG_VERSION          0x004
#define REG_DEVICE_ID        0x008
#define REG_DEVICE_FEATURES  0x010
#define REG_DEVICE_FEAT_SEL  0x014
#define REG_DRIVER_FEATURES  0x020
#define REG_DRIVER_FEAT_SEL  0x024
#define REG_QUEUE_SEL        0x030
#define REG_QUEUE_NUM_MAX    0x034
#define REG_QUEUE_NUM        0x038
#define REG_QUEUE_READY      0x044
#define REG_QUEUE_NOTIFY     0x050
#define REG_INTERRUPT_STATUS 0x060
#define REG_STATUS           0x070
#define REG_QUEUE_DESC_LOW   0x080
#define REG_QUEUE_DESC_HIGH  0x084
#define REG_QUEUE_AVAIL_LOW  0x090
#define REG_QUEUE_AVAIL_HIGH 0x094
#define REG_QUEUE_USED_LOW   0x0a0
#define REG_QUEUE_USED_HIGH  0x0a4
#define REG_CONFIG           0x100

#define S_ACKNOWLEDGE 0x01
#define S_DRIVER      0x02
#define S_DRIVER_OK   0x04
#define S_FEATURES_OK 0x08
#define S_NEEDS_RESET 0x40

#define F_BLK_RO    5  /* device feature bits */
#define F_BLK_FLUSH 9
#define F_VERSION_1 32

#define T_IN     0
#define T_OUT    1
#define T_FLUSH  4
#define T_GET_ID 8

#define BLK_S_OK     0
#define BLK_S_IOERR  1
#define BLK_S_UNSUPP 2

#define DESC_F_NEXT  1
#define DESC_F_WRITE 2
#define AVAIL_F_NO_INTERRUPT 1

#define QSIZE 8
#define SECTOR_OFFSET 8 /* the pattern goes to byte 4096 of the disk */
#define SPINS 4000000000UL /* poll budget for one request (register loop) */

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vavail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[QSIZE];
	uint16_t used_event;
};

struct vused_elem {
	uint32_t id;
	uint32_t len;
};

struct vused {
	uint16_t flags;
	uint16_t idx;
	struct vused_elem ring[QSIZE];
	uint16_t avail_event;
};

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct vdesc desc[QSIZE] __attribute__((aligned(4096)));
static struct vavail avail __attribute__((aligned(4096)));
static struct vused used __attribute__((aligned(4096)));
static struct blk_hdr hdr __attribute__((aligned(64)));
static uint8_t status_byte __attribute__((aligned(64)));
static uint8_t wbuf[4096] __attribute__((aligned(4096)));
static uint8_t rbuf[4096] __attribute__((aligned(4096)));
static uint8_t buf0[4096] __attribute__((aligned(4096)));
static uint8_t idbuf[64] __attribute__((aligned(64)));
static uint64_t high_pd[512] __attribute__((aligned(4096)));

static uint16_t avail_idx, used_seen;

#define barrier() __asm__ volatile("" ::: "memory")

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t rd(uint32_t off)
{
	return *(volatile uint32_t *)(MMIO_BASE + off);
}

static inline void wr(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(MMIO_BASE + off) = v;
}

static void putc_(char c)
{
	while (!(inb(COM1_LSR) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}

static void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

static void putu(uint64_t v)
{
	char tmp[21];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putc_(tmp[--n]);
}

static void puthex(uint64_t v)
{
	puts_("0x");
	for (int sh = 60; sh >= 0; sh -= 4) {
		unsigned int d = (v >> sh) & 0xf;

		if (d || sh == 0 || v >> sh)
			putc_((char)(d < 10 ? '0' + d : 'a' + d - 10));
	}
}

static void reset_machine(void)
{
	outb(0x64, 0xfe);
	for (;;)
		__asm__ volatile("hlt");
}

/* "virtio-blk: FAIL <what>[ <val>]", then reset: the first failure ends the run. */
static void fail(const char *what, bool show, uint64_t val)
{
	puts_("virtio-blk: FAIL ");
	puts_(what);
	if (show) {
		putc_(' ');
		puthex(val);
	}
	putc_('\n');
	wr(REG_STATUS, 0);
	reset_machine();
}

#define CHECK(cond, what) do { if (!(cond)) fail(what, false, 0); } while (0)
#define CHECKV(cond, what, v) do { if (!(cond)) fail(what, true, (uint64_t)(v)); } while (0)

/* Map 3-4 GiB (the MMIO gap) with one 2 MiB page, uncached, like hello.S. */
static void map_mmio(void)
{
	uint64_t cr3;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	uint64_t *pml4 = (uint64_t *)(cr3 & ~0xfffUL);
	uint64_t *pdpt = (uint64_t *)(pml4[0] & 0x000ffffffffff000UL);

	high_pd[0] = 0xc0000000UL | 0x9b; /* present, writable, PWT, PCD, 2 MiB */
	pdpt[3] = (uint64_t)high_pd | 0x3;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

/*
 * One request: header, optional data buffer (device-writable when dev_writes),
 * status byte. Returns the status the device wrote; *used_len gets the used
 * element's length. Fails the run if the device never answers.
 */
static uint8_t request(uint32_t type, uint64_t sector, void *data, uint32_t len, bool dev_writes,
		       uint32_t *used_len)
{
	unsigned int n = 0;
	uint16_t want = (uint16_t)(used_seen + 1);

	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	status_byte = 0xff;

	desc[n] = (struct vdesc){ (uint64_t)&hdr, sizeof(hdr), DESC_F_NEXT, (uint16_t)(n + 1) };
	n++;
	if (len) {
		desc[n] = (struct vdesc){ (uint64_t)data, len,
					  (uint16_t)(DESC_F_NEXT | (dev_writes ? DESC_F_WRITE : 0)),
					  (uint16_t)(n + 1) };
		n++;
	}
	desc[n] = (struct vdesc){ (uint64_t)&status_byte, 1, DESC_F_WRITE, 0 };

	avail.ring[avail_idx % QSIZE] = 0; /* the chain starts at descriptor 0 */
	barrier();
	avail_idx++;
	*(volatile uint16_t *)&avail.idx = avail_idx;
	barrier();
	wr(REG_QUEUE_NOTIFY, 0);

	/* Poll the used index: a load-only loop, counter in a register. */
	unsigned long spins = SPINS;
	while (*(volatile uint16_t *)&used.idx != want) {
		__asm__ volatile("pause");
		if (--spins == 0)
			fail("no answer from the device (used.idx stuck) for request type", true, type);
	}
	barrier();
	used_seen = want;
	struct vused_elem e = ((volatile struct vused *)&used)->ring[(uint16_t)(want - 1) % QSIZE];
	CHECKV(e.id == 0, "used element names the wrong descriptor head", e.id);
	if (used_len)
		*used_len = e.len;
	return *(volatile uint8_t *)&status_byte;
}

static inline uint8_t pattern(unsigned int i)
{
	return (uint8_t)(i * 3 + (i >> 8) * 5 + 0x5a);
}

static const char host_marker[] = "IGNIS-HOSTDATA-SECTOR0";

void guest_main(void)
{
	uint32_t v, used_len = 0;
	uint8_t st;
	bool ro;

	puts_("virtio-blk: test guest up\n");
	map_mmio();

	/* --- transport ------------------------------------------------------- */
	CHECKV(rd(REG_MAGIC) == 0x74726976, "bad magic", rd(REG_MAGIC));
	CHECKV(rd(REG_VERSION) == 2, "not a virtio-mmio v2 transport, version", rd(REG_VERSION));
	CHECKV(rd(REG_DEVICE_ID) == 2, "not a block device, device ID", rd(REG_DEVICE_ID));

	wr(REG_STATUS, 0);
	CHECKV(rd(REG_STATUS) == 0, "status not 0 after reset", rd(REG_STATUS));
	wr(REG_STATUS, S_ACKNOWLEDGE);
	wr(REG_STATUS, S_ACKNOWLEDGE | S_DRIVER);

	wr(REG_DEVICE_FEAT_SEL, 0);
	uint64_t feat = rd(REG_DEVICE_FEATURES);
	wr(REG_DEVICE_FEAT_SEL, 1);
	feat |= (uint64_t)rd(REG_DEVICE_FEATURES) << 32;
	puts_("virtio-blk: device features ");
	puthex(feat);
	putc_('\n');
	CHECKV(feat & (1UL << F_VERSION_1), "device does not offer VERSION_1, features", feat);
	CHECKV(feat & (1UL << F_BLK_FLUSH), "device does not offer FLUSH, features", feat);
	ro = (feat & (1UL << F_BLK_RO)) != 0;

	/* A legacy-only driver (no VERSION_1) must be refused (4.2.3.1). */
	wr(REG_DRIVER_FEAT_SEL, 1);
	wr(REG_DRIVER_FEATURES, 0);
	wr(REG_DRIVER_FEAT_SEL, 0);
	wr(REG_DRIVER_FEATURES, 1U << F_BLK_FLUSH);
	wr(REG_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
	CHECKV(!(rd(REG_STATUS) & S_FEATURES_OK),
	       "device accepted a driver without VERSION_1 (FEATURES_OK set), status", rd(REG_STATUS));
	wr(REG_STATUS, 0);
	CHECKV(rd(REG_STATUS) == 0, "status not 0 after the second reset", rd(REG_STATUS));
	wr(REG_STATUS, S_ACKNOWLEDGE);
	wr(REG_STATUS, S_ACKNOWLEDGE | S_DRIVER);

	/* What this driver handles: VERSION_1, FLUSH, and RO when offered. */
	wr(REG_DRIVER_FEAT_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1U << (F_VERSION_1 - 32));
	wr(REG_DRIVER_FEAT_SEL, 0);
	wr(REG_DRIVER_FEATURES, (1U << F_BLK_FLUSH) | (ro ? 1U << F_BLK_RO : 0));
	wr(REG_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
	v = rd(REG_STATUS);
	CHECKV(v & S_FEATURES_OK, "device refused VERSION_1+FLUSH (no FEATURES_OK), status", v);

	wr(REG_QUEUE_SEL, 0);
	CHECKV(rd(REG_QUEUE_READY) == 0, "queue 0 ready before setup", rd(REG_QUEUE_READY));
	v = rd(REG_QUEUE_NUM_MAX);
	CHECKV(v >= QSIZE, "queue 0 too small, QueueNumMax", v);
	wr(REG_QUEUE_NUM, QSIZE);
	wr(REG_QUEUE_DESC_LOW, (uint32_t)(uint64_t)desc);
	wr(REG_QUEUE_DESC_HIGH, (uint32_t)((uint64_t)desc >> 32));
	wr(REG_QUEUE_AVAIL_LOW, (uint32_t)(uint64_t)&avail);
	wr(REG_QUEUE_AVAIL_HIGH, (uint32_t)((uint64_t)&avail >> 32));
	wr(REG_QUEUE_USED_LOW, (uint32_t)(uint64_t)&used);
	wr(REG_QUEUE_USED_HIGH, (uint32_t)((uint64_t)&used >> 32));
	/* Before the device can use anything: we poll, never interrupt us. */
	avail.flags = AVAIL_F_NO_INTERRUPT;
	barrier();
	wr(REG_QUEUE_READY, 1);
	CHECKV(rd(REG_QUEUE_READY) == 1, "queue 0 not ready after QueueReady=1", rd(REG_QUEUE_READY));
	wr(REG_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	v = rd(REG_STATUS);
	CHECKV(v == (S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK),
	       "device status after DRIVER_OK", v);

	uint64_t capacity = rd(REG_CONFIG) | (uint64_t)rd(REG_CONFIG + 4) << 32;
	puts_("virtio-blk: capacity=");
	putu(capacity);
	puts_(ro ? " read-only\n" : "\n");
	CHECKV(capacity >= 16, "capacity too small for the test (sectors)", capacity);

	/* --- I/O ---------------------------------------------------------------- */
	st = request(T_IN, 0, buf0, sizeof(buf0), true, &used_len);
	CHECKV(st == BLK_S_OK, "IN sector 0: status", st);
	CHECKV(used_len == sizeof(buf0) + 1, "IN sector 0: used length", used_len);
	for (unsigned int i = 0; i < sizeof(host_marker) - 1; i++)
		CHECKV(buf0[i] == (uint8_t)host_marker[i],
		       "IN sector 0: host marker IGNIS-HOSTDATA-SECTOR0 not found, byte", i);

	for (unsigned int i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = pattern(i);

	st = request(T_OUT, SECTOR_OFFSET, wbuf, sizeof(wbuf), false, &used_len);
	if (ro) {
		CHECKV(st == BLK_S_IOERR, "OUT on a read-only device: expected IOERR, status", st);
		puts_("virtio-blk: write refused with IOERR (read-only)\n");
	} else {
		CHECKV(st == BLK_S_OK, "OUT sector 8: status", st);
	}

	st = request(T_FLUSH, 0, NULL, 0, false, &used_len);
	CHECKV(st == BLK_S_OK, "FLUSH: status", st);

	st = request(T_IN, SECTOR_OFFSET, rbuf, sizeof(rbuf), true, &used_len);
	CHECKV(st == BLK_S_OK, "IN sector 8: status", st);
	CHECKV(used_len == sizeof(rbuf) + 1, "IN sector 8: used length", used_len);
	unsigned int diff = sizeof(rbuf);
	for (unsigned int i = 0; i < sizeof(rbuf); i++) {
		if (rbuf[i] != wbuf[i]) {
			diff = i;
			break;
		}
	}
	if (ro)
		CHECK(diff != sizeof(rbuf), "read-only device: the refused pattern is on the disk anyway");
	else
		CHECKV(diff == sizeof(rbuf), "read back differs from what was written, first at byte", diff);

	st = request(T_GET_ID, 0, idbuf, 20, true, &used_len);
	CHECKV(st == BLK_S_OK, "GET_ID: status", st);
	CHECKV(idbuf[0] != 0, "GET_ID: empty serial, used length", used_len);
	puts_("virtio-blk: id=");
	for (unsigned int i = 0; i < 20 && idbuf[i]; i++)
		putc_(idbuf[i] >= 0x20 && idbuf[i] < 0x7f ? (char)idbuf[i] : '?');
	putc_('\n');

	st = request(T_IN, capacity, rbuf, 512, true, &used_len);
	CHECKV(st == BLK_S_IOERR, "IN at sector=capacity: expected IOERR, status", st);
	st = request(T_IN, capacity - 1, rbuf, 1024, true, &used_len);
	CHECKV(st == BLK_S_IOERR, "IN straddling the end of the disk: expected IOERR, status", st);
	st = request(T_IN, 0xffffffffffffffffUL, rbuf, 512, true, &used_len);
	CHECKV(st == BLK_S_IOERR, "IN at sector 2^64-1: expected IOERR, status", st);
	st = request(0x7f, 0, NULL, 0, false, &used_len);
	CHECKV(st == BLK_S_UNSUPP, "unknown request type 0x7f: expected UNSUPP, status", st);

	v = rd(REG_INTERRUPT_STATUS);
	CHECKV(v == 0, "device raised an interrupt despite VIRTQ_AVAIL_F_NO_INTERRUPT, InterruptStatus",
	       v);
	v = rd(REG_STATUS);
	CHECKV(!(v & S_NEEDS_RESET), "device set NEEDS_RESET, status", v);

	wr(REG_STATUS, 0);
	CHECKV(rd(REG_STATUS) == 0, "status not 0 after the final reset", rd(REG_STATUS));
	puts_(ro ? "virtio-blk: OK read-only\n" : "virtio-blk: OK\n");
	reset_machine();
}
