/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared parts of the hostile test guest (hostile.c and its scenario files):
 * the console, register access, a virtio-blk bring-up and a request helper
 * that tolerates a device which never answers. Same rules as virtio-blk.c:
 * freestanding, no exception, no interrupt asked for (VIRTQ_AVAIL_F_NO_INTERRUPT),
 * loops keep their state in registers (a storing loop costs ~8 us on PVM).
 */
#ifndef IGNIS_TEST_HOSTILE_H
#define IGNIS_TEST_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COM1 0x3f8
#define COM1_LSR (COM1 + 5)

#define MMIO_GAP   0xc0000000UL /* boot timer, then the virtio-mmio slots */
#define BLK_BASE   0xc0001000UL /* slot 0: the drive */
#define NET_BASE   0xc0002000UL /* slot 1: eth0 when the host configured one */
#define MMIO_SLOT  0x1000UL

/* Guest RAM the scenarios may let the device overwrite: the script gives
 * the guest 64 MiB; the image and its .bss sit at 16 MiB and need < 1 MiB. */
#define SCRATCH     0x2000000UL /* 32 MiB */
#define SCRATCH_LEN 0x1000000UL /* 16 MiB */
#define RAM_END     0x4000000UL /* 64 MiB */

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
#define REG_INTERRUPT_ACK    0x064
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
#define S_FAILED      0x80

#define F_INDIRECT  28
#define F_VERSION_1 32

#define T_IN     0
#define T_OUT    1
#define T_FLUSH  4
#define T_GET_ID 8

#define DESC_F_NEXT     1
#define DESC_F_WRITE    2
#define DESC_F_INDIRECT 4
#define AVAIL_F_NO_INTERRUPT 1

#define QMAX 256 /* what ignis offers as QueueNumMax */

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vused_elem {
	uint32_t id;
	uint32_t len;
};

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* The rings, sized for the largest queue; a scenario may use fewer entries. */
struct rings {
	struct vdesc desc[QMAX] __attribute__((aligned(4096)));
	struct {
		uint16_t flags;
		uint16_t idx;
		uint16_t ring[QMAX];
		uint16_t used_event;
	} avail __attribute__((aligned(4096)));
	struct {
		uint16_t flags;
		uint16_t idx;
		struct vused_elem ring[QMAX];
		uint16_t avail_event;
	} used __attribute__((aligned(4096)));
};

/* Loop counts are divided by this ("hostile_scale=N" on the command line,
 * default 1): test-hostile.sh asks for less where exits are slow. */
extern unsigned long scale;

extern struct rings rq;
extern struct vdesc itable[1024]; /* an indirect table */
extern struct blk_hdr hdr;
extern uint8_t status_byte;
extern uint8_t buf[4096];

/* What became of a request. */
enum answer { ANSWERED, NEEDS_RESET, NO_ANSWER };

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

static inline uint32_t rd(uint64_t base, uint32_t off)
{
	return *(volatile uint32_t *)(base + off);
}

static inline void wr(uint64_t base, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(base + off) = v;
}

/* xorshift64: the storms' values, kept in a register by the caller. */
static inline uint64_t next_rand(uint64_t x)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

void putc_(char c);
void puts_(const char *s);
void putu(uint64_t v);
void puthex(uint64_t v);
/* "hostile: <scenario>: <what> -> <result>" */
void note(const char *what, const char *result);
/* The same with a count: "<pre><n><post> -> <result>". */
void note_n(const char *pre, unsigned long n, const char *post, const char *result);
/* "hostile: FAIL <what>": the script fails the scenario on such a line. */
void fail(const char *what);

/* Resets the device at @base and brings it to DRIVER_OK with queue 0 of
 * @qsize entries on rq; @features beyond VERSION_1 (low 32 bits). Returns
 * false (and says why) if the device refuses a step. */
bool dev_setup(uint64_t base, uint16_t qsize, uint32_t features);
/* The same with the rings at other addresses (rq's fields stay the driver's view). */
bool dev_setup_at(uint64_t base, uint16_t qsize, uint32_t features, uint64_t desc, uint64_t avail,
		  uint64_t used);
/* Publishes @head on queue 0 of the drive, kicks, and waits (bounded by
 * about @polls status reads) for the used index to move or NEEDS_RESET. */
enum answer submit(uint16_t head, unsigned long polls);
/* Kicks queue 0 of the drive as it stands and waits as submit() does. */
enum answer kick(unsigned long polls);
/* Descriptor @i: a plain segment. */
void set_desc(struct vdesc *t, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
	      uint16_t next);
/* A well-formed request in descriptors 0..2 reading sector @sector into buf. */
void good_read(uint64_t sector);
/* After a virtio scenario, once the host has snapshotted what it left:
 * reset, set up again, and one well-formed read must come back OK. */
void check_device_recovers(void);
/* Note a hostile request's fate; FAIL if it was answered with status OK. */
void expect_refused(const char *what, enum answer a);

/* The same for the network device (hostile_net.c): a well-formed TX frame. */
void check_net_recovers(void);

/* The scenarios: hostile_queue.c (rings), hostile_regs.c (registers, ports),
 * hostile_net.c (the network device's rings). */
void scenario_loop(void);
void scenario_long(void);
void scenario_indirect(void);
void scenario_addr(void);
void scenario_avail(void);
void scenario_reprogram(void);
void scenario_alias(void);
void scenario_sector(void);
void scenario_flood(void);
void scenario_mmio(void);
void scenario_net(void);
void scenario_uart(void);
void scenario_i8042(void);
void scenario_status(void);
void scenario_resets(void);

#endif
