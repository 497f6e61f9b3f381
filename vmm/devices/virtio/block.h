/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk (virtio 1.2, 5.2) over the virtio-mmio transport: IN, OUT,
 * FLUSH and GET_ID on a file, with the Sync engine (blocking I/O on the VMM
 * thread) or the Async engine (io_uring, completions on the event loop).
 * A request the guest gets wrong (out of range, unaligned, too short, on a
 * read-only drive) is answered with IOERR or UNSUPP; it never stops the VMM.
 */
#ifndef IGNIS_VIRTIO_BLOCK_H
#define IGNIS_VIRTIO_BLOCK_H

#include <stdint.h>
#include <sys/uio.h>

#include "vmm/config/config.h"
#include "vmm/devices/device.h"
#include "vmm/devices/virtio/block_state.h"
#include "vmm/devices/virtio/mmio.h"
#include "vmm/io/block_file.h"
#include "vmm/io/block_uring.h"
#include "vmm/util/log.h"

#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SEG_MAX (VIRTQ_MAX_SIZE - 2) /* header and status take two */

struct virtio_blk_stats {
	uint64_t reads, writes, flushes, get_ids;
	uint64_t read_bytes, write_bytes;
	uint64_t io_errors, unsupported, bad_requests, bad_chains;
};

/* One in-flight Async request. */
struct virtio_blk_req {
	bool busy;
	uint32_t generation;  /* the device's generation when it was submitted */
	uint16_t head;
	uint8_t type;
	uint64_t status_gpa;  /* where the status byte goes */
	uint32_t used_len;
	uint64_t expect;      /* bytes the operation must transfer */
	uint64_t offset;
	struct iovec *iov;
	int iovcnt;
};

struct virtio_blk {
	struct virtio_mmio transport;
	char drive_id[DRIVE_ID_MAX + 1];
	struct block_file file;
	enum io_engine engine;
	struct block_uring uring;
	bool uring_ready;
	uint32_t generation; /* bumped by every reset: tells stale completions */
	struct virtio_blk_req reqs[VIRTQ_MAX_SIZE];
	struct virtq_chain chain; /* scratch for the chain being parsed */
	struct virtio_blk_stats stats;
	struct log_ratelimit bad_request_log; /* bad chains and requests: a guest repeats them at will */
	/*
	 * A queue turn ends after a ring's worth of chains or BLK_TURN_BYTES
	 * and is taken up again from this eventfd on the loop, so that a guest
	 * keeping its ring full cannot hold the VMM thread (its API, signals,
	 * other devices). -1 without a loop (tests): one turn serves all.
	 */
	int resume_fd;
	struct event_handler resume_handler;
};

/*
 * Opens @drive's backing file and sets up the device at @base/@irq.
 * @vm_fd < 0 (tests): no KVM bindings; use the transport registers directly.
 */
int virtio_blk_create(struct virtio_blk *blk, const struct drive_config *drive,
		      const struct guest_mem *mem, struct event_loop *loop, int vm_fd,
		      uint64_t base, unsigned int irq, struct err_buf *err);
void virtio_blk_destroy(struct virtio_blk *blk);
/*
 * PATCH /drives/{id} with path_on_host: switches to another backing file
 * (same read-only and cache mode) and tells the guest its capacity may have
 * changed. On failure the old file stays. VMM thread.
 */
int virtio_blk_swap_file(struct virtio_blk *blk, const char *path, struct err_buf *err);
/* Waits for in-flight Async I/O to complete (pause, snapshot). VMM thread. */
void virtio_blk_quiesce(struct virtio_blk *blk);

extern const struct virtio_device_ops virtio_blk_ops;
/* The life-cycle ops the machine's device collection uses (block_device.c). */
extern const struct device_ops virtio_blk_device_ops;

/* Snapshots: the saved form is struct virtio_blk_state (block_state.h). */
void virtio_blk_save(struct virtio_blk *blk, struct virtio_blk_state *st);
/* Refuses a state for another drive or a disk whose size changed. */
int virtio_blk_restore(struct virtio_blk *blk, const struct virtio_blk_state *st,
		       struct err_buf *err);

#endif
