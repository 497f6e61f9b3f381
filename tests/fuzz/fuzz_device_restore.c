/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the per-device restore functions a snapshot load runs
 * (serial_restore, i8042_restore, virtio_blk_restore and virtio_net_restore,
 * the last two through virtio_mmio_restore and virtq_restore), fed hostile
 * saved states, and the restored device then driven by the guest a little.
 *
 * Input layout (little endian):
 *   byte 0      the device (mod 4): 16550 UART, i8042, virtio-blk, virtio-net
 *   byte 1      number of accesses after the restore (n)
 *   byte 2      what the state gets wrong besides its fields: bit0 another
 *               drive or interface id, bit1 another capacity or MAC, bit2
 *               another MTU (virtio devices only)
 *   then        n x 6 bytes of accesses: u8 kind, u8 offset, u32 value;
 *               kind % 3: a register read, a register write, and
 *               (per device) host input to the UART, Ctrl-Alt-Del to the
 *               i8042, a queue notify (value % 3) to a virtio device
 *   then        the saved state's fields in declaration order, packed
 *               (serial_state.h, i8042_state.h, mmio_state.h with its
 *               queue_state.h pair), zero past the input
 *   the rest    guest RAM from GPA 0 (64 KiB) for the virtio devices
 *
 * Beyond "no crash, no leak, no UB", it checks: a refused state leaves the
 * device as it was; an accepted one is what the device then saves (the
 * restore kept every field, normalised only as save would); the restored
 * block device returns each chain it consumes exactly once; and whatever
 * state the device reached saves into one that restores.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/fuzz/invariant.h"
#include "tests/unit/virtio_driver.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/serial.h"
#include "vmm/devices/virtio/block.h"
#include "vmm/devices/virtio/net.h"
#include "vmm/util/log.h"

#define RAM_SIZE 0x10000ULL
#define DISK_SIZE 0x10000
#define HDR_SIZE 3
#define ACCESS_SIZE 6

#define BAD_ID 0x01
#define BAD_SIZE 0x02
#define BAD_MTU 0x04

enum kind { UART, I8042, BLK, NET, KINDS };

/* The saved state's bytes, read in order; zeros once they run out. */
struct reader {
	const uint8_t *p;
	size_t left;
};

static _Alignas(4096) uint8_t ram[RAM_SIZE];
static struct guest_mem mem;
static struct serial uart;
static struct i8042 kbd;
static struct virtio_blk blk;
static struct virtio_net net; /* 200 KiB: allocated once */
static char disk_path[64];
static const uint8_t mac[6] = { 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 };

static uint64_t get(struct reader *r, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		if (r->left) {
			v |= (uint64_t)*r->p++ << (8 * i);
			r->left--;
		}
	return v;
}

static void init_once(void)
{
	int fd;

	if (disk_path[0])
		return;
	log_configure(LOG_OFF, NULL, false, false);
	fd = memfd_create("ignis-fuzz-disk", 0);
	if (fd < 0 || ftruncate(fd, DISK_SIZE) < 0) {
		perror("fuzz_device_restore: memfd");
		abort();
	}
	/* The fd stays open for the process's life: the disk is reached by path. */
	snprintf(disk_path, sizeof(disk_path), "/proc/self/fd/%d", fd);
}

/* ---- the saved states from the input, and what save must give back for them ---- */

static void read_uart(struct reader *r, struct serial_state *st)
{
	memset(st, 0, sizeof(*st));
	st->ier = (uint8_t)get(r, 1);
	st->lcr = (uint8_t)get(r, 1);
	st->mcr = (uint8_t)get(r, 1);
	st->lsr = (uint8_t)get(r, 1);
	st->msr = (uint8_t)get(r, 1);
	st->scr = (uint8_t)get(r, 1);
	st->dll = (uint8_t)get(r, 1);
	st->dlm = (uint8_t)get(r, 1);
	st->fcr = (uint8_t)get(r, 1);
	st->thr_empty_pending = (uint8_t)get(r, 1);
	st->rx_count = (uint8_t)get(r, 1);
	for (unsigned int i = 0; i < SERIAL_RX_FIFO_SIZE; i++)
		st->rx[i] = (uint8_t)get(r, 1);
}

static void read_i8042(struct reader *r, struct i8042_state *st)
{
	memset(st, 0, sizeof(*st));
	st->ctr = (uint8_t)get(r, 1);
	st->outp = (uint8_t)get(r, 1);
	st->pending_cmd = (uint8_t)get(r, 1);
	st->count = (uint8_t)get(r, 1);
	for (unsigned int i = 0; i < I8042_BUF_SIZE; i++)
		st->buf[i] = (uint8_t)get(r, 1);
}

static void read_queue(struct reader *r, struct virtq_state *q)
{
	q->size = (uint16_t)get(r, 2);
	q->ready = (uint8_t)get(r, 1);
	q->event_idx = (uint8_t)get(r, 1);
	q->indirect = (uint8_t)get(r, 1);
	q->desc_gpa = get(r, 8);
	q->avail_gpa = get(r, 8);
	q->used_gpa = get(r, 8);
	q->last_avail_idx = (uint16_t)get(r, 2);
	q->used_idx = (uint16_t)get(r, 2);
	q->signalled_used = (uint16_t)get(r, 2);
	q->signalled_used_valid = (uint8_t)get(r, 1);
}

static void read_transport(struct reader *r, struct virtio_mmio_state *st)
{
	st->device_features_sel = (uint32_t)get(r, 4);
	st->driver_features_sel = (uint32_t)get(r, 4);
	st->queue_sel = (uint32_t)get(r, 4);
	st->driver_features = get(r, 8);
	st->status = (uint32_t)get(r, 4);
	st->interrupt_status = (uint32_t)get(r, 4);
	st->config_generation = (uint32_t)get(r, 4);
	st->activated = (uint8_t)get(r, 1);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		read_queue(r, &st->queues[i]);
}

/* The transport keeps its flags as bools: save writes them back as 0 or 1. */
static void normalise_transport(struct virtio_mmio_state *st)
{
	st->activated = !!st->activated;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		st->queues[i].ready = !!st->queues[i].ready;
		st->queues[i].event_idx = !!st->queues[i].event_idx;
		st->queues[i].indirect = !!st->queues[i].indirect;
		st->queues[i].signalled_used_valid = !!st->queues[i].signalled_used_valid;
	}
}

/* ---- one device each: restore, then what the guest does with it ---- */

static void restore_uart(struct reader *r, const uint8_t *acc, unsigned int n)
{
	struct serial_state st, before, after;

	read_uart(r, &st);
	serial_save(&uart, &before);
	if (serial_restore(&uart, &st)) {
		serial_save(&uart, &after);
		invariant(!memcmp(&before, &after, sizeof(after)), "a refused state changed the UART");
	} else {
		memset(st.rx + st.rx_count, 0, sizeof(st.rx) - st.rx_count);
		serial_save(&uart, &after);
		invariant(!memcmp(&st, &after, sizeof(after)), "the UART saves another state");
	}
	for (unsigned int i = 0; i < n; i++, acc += ACCESS_SIZE) {
		uint8_t data[4];

		memcpy(data, acc + 2, 4);
		if (acc[0] % 3 == 0)
			serial_ops.read(&uart, acc[1] % 9, data, 1);
		else if (acc[0] % 3 == 1)
			serial_ops.write(&uart, acc[1] % 9, data, 1);
		else
			(void)serial_input(&uart, data, acc[1] % 5);
		invariant(uart.rx_count <= SERIAL_RX_FIFO_SIZE && uart.rx_head < SERIAL_RX_FIFO_SIZE,
			  "the UART's FIFO overran");
	}
	serial_save(&uart, &after);
	invariant(serial_restore(&uart, &after) == 0, "a state the UART reached was refused");
}

static void restore_i8042(struct reader *r, const uint8_t *acc, unsigned int n)
{
	struct i8042_state st, before, after;

	read_i8042(r, &st);
	i8042_save(&kbd, &before);
	if (i8042_restore(&kbd, &st)) {
		i8042_save(&kbd, &after);
		invariant(!memcmp(&before, &after, sizeof(after)), "a refused state changed the i8042");
	} else {
		memset(st.buf + st.count, 0, sizeof(st.buf) - st.count);
		i8042_save(&kbd, &after);
		invariant(!memcmp(&st, &after, sizeof(after)), "the i8042 saves another state");
	}
	for (unsigned int i = 0; i < n; i++, acc += ACCESS_SIZE) {
		uint8_t data[4];
		uint64_t port = acc[1] & 1 ? 4 : 0;

		memcpy(data, acc + 2, 4);
		if (acc[0] % 3 == 0)
			i8042_ops.read(&kbd, port, data, 1);
		else if (acc[0] % 3 == 1)
			i8042_ops.write(&kbd, port, data, 1);
		else
			i8042_send_ctrl_alt_del(&kbd);
		invariant(kbd.count <= I8042_BUF_SIZE && kbd.head < I8042_BUF_SIZE,
			  "the i8042's buffer overran");
	}
	i8042_save(&kbd, &after);
	invariant(i8042_restore(&kbd, &after) == 0, "a state the i8042 reached was refused");
}

/* Register accesses and queue notifies on a restored virtio device. */
static void drive_virtio(struct virtio_mmio *t, bool check_blk, const uint8_t *acc,
			 unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, acc += ACCESS_SIZE) {
		const struct virtq *q = &t->queues[0];
		uint16_t avail_before = q->last_avail_idx, used_before = q->used_idx;
		uint8_t data[4];
		uint32_t value;

		memcpy(data, acc + 2, 4);
		memcpy(&value, data, 4);
		if (acc[0] % 3 == 0) {
			virtio_mmio_bus_ops.read(t, acc[1] * 4u, data, 4);
			continue;
		}
		if (acc[0] % 3 == 1) {
			virtio_mmio_bus_ops.write(t, acc[1] * 4u, data, 4);
			continue;
		}
		mmio_write32(t, MMIO_QUEUE_NOTIFY, value % 3);
		/* The Sync engine answers every request before the notify returns. */
		if (check_blk && value % 3 == 0 && !(t->status & VIRTIO_STATUS_NEEDS_RESET))
			invariant((uint16_t)(q->used_idx - used_before) ==
					  (uint16_t)(q->last_avail_idx - avail_before),
				  "a restored block device lost or repeated a chain");
	}
}

static void restore_blk(struct reader *r, uint8_t bad, const uint8_t *acc, unsigned int n)
{
	struct virtio_blk_state st = { 0 }, before, after;
	struct drive_config drive = { .path_on_host = disk_path, .io_engine = IO_ENGINE_SYNC };
	struct err_buf err;

	strcpy(drive.drive_id, "fuzz");
	drive.cache_type = CACHE_UNSAFE;
	if (virtio_blk_create(&blk, &drive, &mem, NULL, -1, 0xc0001000, 5, &err)) {
		fprintf(stderr, "fuzz_device_restore: %s\n", err.msg);
		abort();
	}
	read_transport(r, &st.transport);
	strcpy(st.drive_id, bad & BAD_ID ? "fuzz2" : "fuzz");
	st.capacity_sectors = DISK_SIZE / 512 + !!(bad & BAD_SIZE);
	virtio_blk_save(&blk, &before);
	if (virtio_blk_restore(&blk, &st, &err)) {
		invariant(err.msg[0] != '\0', "a state refused without a message");
		virtio_blk_save(&blk, &after);
		invariant(!memcmp(&before, &after, sizeof(after)), "a refused state changed the device");
	} else {
		normalise_transport(&st.transport);
		virtio_blk_save(&blk, &after);
		invariant(!memcmp(&st, &after, sizeof(after)), "the block device saves another state");
	}
	drive_virtio(&blk.transport, true, acc, n);
	virtio_blk_save(&blk, &after);
	invariant(virtio_blk_restore(&blk, &after, &err) == 0, "a state the device reached was refused");
	virtio_blk_destroy(&blk);
}

static void restore_net(struct reader *r, uint8_t bad, const uint8_t *acc, unsigned int n)
{
	struct net_config cfg = { .has_guest_mac = true, .mtu = 1500 };
	struct virtio_net_state st = { 0 }, before, after;
	struct err_buf err;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return;
	strcpy(cfg.iface_id, "eth0");
	strcpy(cfg.host_dev_name, "tap0");
	memcpy(cfg.guest_mac, mac, sizeof(mac));
	if (virtio_net_create_fd(&net, &cfg, sv[0], &mem, NULL, -1, 0xc0002000, 6, &err)) {
		fprintf(stderr, "fuzz_device_restore: %s\n", err.msg);
		abort();
	}
	read_transport(r, &st.transport);
	strcpy(st.iface_id, bad & BAD_ID ? "eth1" : "eth0");
	st.has_mac = 1;
	memcpy(st.mac, mac, sizeof(mac));
	st.mac[5] ^= !!(bad & BAD_SIZE);
	st.mtu = bad & BAD_MTU ? 9000 : 1500;
	virtio_net_save(&net, &before);
	if (virtio_net_restore(&net, &st, &err)) {
		invariant(err.msg[0] != '\0', "a state refused without a message");
		virtio_net_save(&net, &after);
		invariant(!memcmp(&before, &after, sizeof(after)), "a refused state changed the device");
	} else {
		normalise_transport(&st.transport);
		virtio_net_save(&net, &after);
		invariant(!memcmp(&st, &after, sizeof(after)), "the network device saves another state");
	}
	drive_virtio(&net.transport, false, acc, n);
	virtio_net_save(&net, &after);
	invariant(virtio_net_restore(&net, &after, &err) == 0, "a state the device reached was refused");
	virtio_net_destroy(&net);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t state_len[KINDS] = { 11 + SERIAL_RX_FIFO_SIZE, 4 + I8042_BUF_SIZE,
						 33 + 2 * 36, 33 + 2 * 36 };
	struct reader r;
	const uint8_t *acc;
	unsigned int n;
	enum kind kind;
	size_t image;

	if (size < HDR_SIZE)
		return 0;
	init_once();
	kind = (enum kind)(data[0] % KINDS);
	n = data[1];
	if (size < HDR_SIZE + (size_t)n * ACCESS_SIZE)
		return 0;
	acc = data + HDR_SIZE;
	r = (struct reader){ acc + (size_t)n * ACCESS_SIZE, size - HDR_SIZE - (size_t)n * ACCESS_SIZE };
	image = r.left > state_len[kind] ? state_len[kind] : r.left;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, r.p + image, r.left - image < RAM_SIZE ? r.left - image : RAM_SIZE);
	r.left = image;
	if (guest_mem_init_view(&mem, 0, ram, RAM_SIZE))
		abort();

	switch (kind) {
	case UART:
		if (serial_init(&uart, -1, -1))
			abort();
		restore_uart(&r, acc, n);
		serial_destroy(&uart);
		break;
	case I8042:
		if (i8042_init(&kbd, -1, -1))
			abort();
		restore_i8042(&r, acc, n);
		i8042_destroy(&kbd);
		break;
	case BLK:
		restore_blk(&r, data[2], acc, n);
		break;
	case NET:
		restore_net(&r, data[2], acc, n);
		break;
	case KINDS:
		break;
	}
	return 0;
}
