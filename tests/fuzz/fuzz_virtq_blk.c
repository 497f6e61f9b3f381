/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the split-virtqueue walker and the virtio-blk request
 * path, driven the way a hostile guest would drive them.
 *
 * Input layout (little endian):
 *   byte 0      flags: bit0 negotiate INDIRECT_DESC, bit1 EVENT_IDX,
 *               bit2 read-only drive, bit3 Writeback cache (flush = fsync),
 *               bit4 RAM as two regions (GPA-contiguous, host-separate)
 *   byte 1      log2 of the queue size (mod 9: 1..256)
 *   byte 2      kicks (1 + n % 4)
 *   byte 3      register accesses after the kicks (n % 8)
 *   bytes 4-7   avail index increment before kicks 2, 3 and 4 (the guest
 *               re-publishing what is in the ring); byte 7 unused
 *   then        n x 6 bytes of register accesses: u16 offset (bits 0-11 the
 *               offset in the 4 KiB window, bit 13 a read instead of a
 *               write, bits 14-15 the width 1/2/4/8), u32 value; a last
 *               kick follows them
 *   the rest    guest RAM from GPA 0: the descriptor table (16 x size
 *               bytes) at 0, the avail ring right after it, the used ring
 *               after that (4-byte aligned), buffers anywhere in 64 KiB.
 *
 * The device is set up through the transport registers like a driver
 * would, with a 64 KiB memfd as the disk (Sync engine). Beyond "no crash,
 * no leak, no UB", it checks what must hold after every kick of a device
 * that did not ask for a reset: every published entry was consumed and
 * every consumed chain was returned exactly once.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/invariant.h"
#include "tests/unit/virtio_driver.h"
#include "vmm/devices/virtio/block.h"
#include "vmm/util/log.h"

#define RAM_SIZE 0x10000ULL
#define HALF (RAM_SIZE / 2)
#define DISK_SIZE 0x10000
#define HDR_SIZE 8
#define REG_ACCESS_SIZE 6

#define F_INDIRECT  0x01
#define F_EVENT_IDX 0x02
#define F_READ_ONLY 0x04
#define F_WRITEBACK 0x08
#define F_TWO_REGIONS 0x10

static _Alignas(4096) uint8_t ram[RAM_SIZE];
static _Alignas(4096) uint8_t high_half[HALF];
static struct virtio_blk blk;
static char disk_path[64];

static void init_once(void)
{
	int fd;

	if (disk_path[0])
		return;
	log_configure(LOG_OFF, NULL, false, false);
	fd = memfd_create("ignis-fuzz-disk", 0);
	if (fd < 0 || ftruncate(fd, DISK_SIZE) < 0) {
		perror("fuzz_virtq_blk: memfd");
		abort();
	}
	/* The fd stays open for the process's life: the disk is reached by path. */
	snprintf(disk_path, sizeof(disk_path), "/proc/self/fd/%d", fd);
}

/* Something that must hold did not: make libFuzzer keep the input. */
static void kick(void)
{
	mmio_write32(&blk.transport, MMIO_QUEUE_NOTIFY, 0);
}

/* Kicks queue 0 and checks the Sync engine's promises. */
static void kick_and_check(const struct guest_mem *mem, const struct test_vq *vq)
{
	const struct virtq *q = &blk.transport.queues[0];
	uint16_t used_before = q->used_idx;

	kick();
	if (blk.transport.status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	invariant(q->last_avail_idx == vq_avail_idx(mem, vq), "published entries left unconsumed");
	invariant(q->used_idx == q->last_avail_idx, "a consumed chain was not returned once");
	/* The driver owns the used index until the device first publishes one. */
	if (q->used_idx != used_before)
		invariant(vq_used_idx(mem, vq) == q->used_idx, "used index in memory differs");
}

static void register_access(const uint8_t *w)
{
	static const uint32_t widths[] = { 1, 2, 4, 8 };
	uint8_t val[8] = { 0 };
	uint16_t off;

	memcpy(&off, w, 2);
	memcpy(val, w + 2, 4);
	if (off & 0x2000)
		virtio_mmio_bus_ops.read(&blk.transport, off & 0xfff, val, widths[off >> 14]);
	else
		virtio_mmio_bus_ops.write(&blk.transport, off & 0xfff, val, widths[off >> 14]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drive_config drive;
	struct guest_mem mem;
	struct test_vq vq;
	struct err_buf err;
	struct virtio_blk_state st;
	uint8_t flags, kicks, nr_regs;
	const uint8_t *regs, *image;
	size_t image_len;
	uint64_t features;
	uint32_t status;

	if (size < HDR_SIZE)
		return 0;
	init_once();
	flags = data[0];
	vq.size = (uint16_t)(1u << (data[1] % 9));
	kicks = (uint8_t)(1 + data[2] % 4);
	nr_regs = data[3] % 8;
	if (size < HDR_SIZE + (size_t)nr_regs * REG_ACCESS_SIZE)
		return 0;
	regs = data + HDR_SIZE;
	image = regs + nr_regs * REG_ACCESS_SIZE;
	image_len = size - HDR_SIZE - (size_t)nr_regs * REG_ACCESS_SIZE;
	if (image_len > RAM_SIZE)
		image_len = RAM_SIZE;

	vq.desc = 0;
	vq.avail = 16ULL * vq.size;
	vq.used = (vq.avail + 6 + 2ULL * vq.size + 3) & ~3ULL;

	memset(ram, 0, sizeof(ram));
	memcpy(ram, image, image_len);
	if (flags & F_TWO_REGIONS) {
		memcpy(high_half, ram + HALF, HALF);
		memset(ram + HALF, 0xa5, HALF); /* never reached through the guest view */
		memset(&mem, 0, sizeof(mem));
		mem.regions[0] = (struct guest_region){ .gpa = 0, .size = HALF, .host = ram };
		mem.regions[1] = (struct guest_region){ .gpa = HALF, .size = HALF, .host = high_half };
		mem.nr_regions = 2;
		mem.total_size = RAM_SIZE;
	} else if (guest_mem_init_view(&mem, 0, ram, RAM_SIZE)) {
		abort();
	}

	memset(&drive, 0, sizeof(drive));
	strcpy(drive.drive_id, "fuzz");
	drive.path_on_host = disk_path;
	drive.is_read_only = (flags & F_READ_ONLY) != 0;
	drive.cache_type = (flags & F_WRITEBACK) ? CACHE_WRITEBACK : CACHE_UNSAFE;
	drive.io_engine = IO_ENGINE_SYNC;
	if (virtio_blk_create(&blk, &drive, &mem, NULL, -1, 0xc0001000, 5, &err)) {
		fprintf(stderr, "fuzz_virtq_blk: %s\n", err.msg);
		abort();
	}

	features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
		   VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE);
	if (flags & F_INDIRECT)
		features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (flags & F_EVENT_IDX)
		features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (flags & F_READ_ONLY)
		features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	status = driver_init(&blk.transport, features, &vq);
	invariant(status & VIRTIO_STATUS_DRIVER_OK, "a valid set-up was refused");

	for (unsigned int k = 0; k < kicks; k++) {
		if (k)
			vq_set_avail_idx(&mem, &vq, (uint16_t)(vq_avail_idx(&mem, &vq) + data[3 + k]));
		kick_and_check(&mem, &vq);
	}

	/* Whatever else a driver may poke at, then one more kick. */
	for (unsigned int i = 0; i < nr_regs; i++)
		register_access(regs + i * REG_ACCESS_SIZE);
	if (nr_regs)
		kick();

	/* A saved state restores onto the device it came from, or is refused cleanly. */
	virtio_blk_save(&blk, &st);
	(void)virtio_blk_restore(&blk, &st, &err);

	virtio_blk_destroy(&blk);
	return 0;
}
