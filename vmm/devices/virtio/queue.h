/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueues (virtio 1.2, 2.7), walked with hard bounds.
 *
 * Everything in the rings is guest-written and hostile: the avail index may
 * jump by more than the queue size, head and next indices may be out of
 * range or loop, addresses may point outside RAM or across regions, indirect
 * tables may be un-negotiated, nested or oversized, and readable descriptors
 * may follow writable ones. virtq_pop() checks each of these and reports a
 * bad chain as an error for that one request (or, when the ring itself is
 * corrupt, for the whole queue); nothing here aborts or asserts on guest data.
 *
 * Descriptors are copied out of guest memory before they are checked, so a
 * guest changing them concurrently cannot invalidate a check after the fact.
 */
#ifndef IGNIS_VIRTQ_H
#define IGNIS_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/devices/virtio/queue_state.h"
#include "vmm/memory/memory.h"

#define VIRTQ_MAX_SIZE 256         /* the size every ignis queue offers */
#define VIRTQ_MAX_CHAIN 1024       /* descriptors in one chain, indirect included */

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct virtq {
	/* Set by the driver through the transport. */
	uint16_t size;
	bool ready;
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;

	/* Negotiated features that change how the rings are used. */
	bool event_idx;
	bool indirect;

	/* Device-side progress. */
	uint16_t last_avail_idx;
	uint16_t used_idx;
	uint16_t signalled_used; /* used_idx at the last interrupt decision */
	bool signalled_used_valid;
};

struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

struct virtq_chain {
	uint16_t head;
	unsigned int nr;          /* segments */
	unsigned int nr_readable; /* readable segments come first */
	uint64_t readable_len;
	uint64_t writable_len;
	/*
	 * The chain's final descriptor (the one without NEXT), found even in a
	 * VIRTQ_BAD_CHAIN whose walk reached it: where a device that answers
	 * in the last writable byte (virtio-blk's status) can still say the
	 * request failed. In a bad chain it may lie outside RAM: reach it only
	 * through the bounded guest_mem_* accessors.
	 */
	bool has_last;
	struct virtq_seg last;
	struct virtq_seg segs[VIRTQ_MAX_CHAIN];
};

enum virtq_pop_result {
	VIRTQ_EMPTY = 0,
	VIRTQ_CHAIN = 1,       /* @chain is valid */
	/*
	 * @chain->head is valid but the chain is not: the device must tell the
	 * driver the request failed (never complete it as if served), e.g. with
	 * an error status at @chain->last, or set NEEDS_RESET.
	 */
	VIRTQ_BAD_CHAIN = 2,
	VIRTQ_BROKEN = 3,      /* the ring itself is corrupt: the device needs a reset */
};

/* Back to the power-on state: not ready, maximum size, nothing negotiated (device reset). */
void virtq_reset(struct virtq *q);

/* Checks alignment and that the three rings lie in guest RAM. */
bool virtq_valid(const struct virtq *q, const struct guest_mem *mem);

enum virtq_pop_result virtq_pop(struct virtq *q, const struct guest_mem *mem,
				struct virtq_chain *chain);

/* Returns a chain to the driver with @len bytes written. 0 or -EFAULT. */
int virtq_push(struct virtq *q, const struct guest_mem *mem, uint16_t head, uint32_t len);

struct virtq_used {
	uint16_t head;
	uint32_t len;
};

/*
 * Returns @n (at most the queue size) chains with one used-index update, so
 * the driver sees all of them or none: one virtio-net frame spread over
 * several buffers (MRG_RXBUF) must not be seen half-delivered. 0 or -EFAULT.
 */
int virtq_push_batch(struct virtq *q, const struct guest_mem *mem, const struct virtq_used *used,
		     unsigned int n);

/* After pushes: should the driver be interrupted (EVENT_IDX or flags)? */
bool virtq_should_signal(struct virtq *q, const struct guest_mem *mem);

/*
 * Before going idle: asks the driver to notify at the next buffer (EVENT_IDX
 * avail_event). Returns true if buffers arrived meanwhile and the caller
 * must pop again, closing the race with the driver.
 */
bool virtq_enable_notify(struct virtq *q, const struct guest_mem *mem);

/*
 * Copy helpers over a chain's readable or writable bytes, starting @offset
 * bytes into that half. Return bytes copied (short at the end of the chain)
 * or -EFAULT.
 */
long virtq_chain_read(const struct virtq_chain *chain, const struct guest_mem *mem,
		      uint64_t offset, void *dst, uint64_t len);
long virtq_chain_write(const struct virtq_chain *chain, const struct guest_mem *mem,
		       uint64_t offset, const void *src, uint64_t len);

/*
 * Host iovecs for @len bytes of the chain's readable (or writable) half from
 * @offset. Returns the iovec count, or -E2BIG / -EFAULT / -EINVAL if the
 * half is too short or @max entries do not suffice.
 */
struct iovec;
int virtq_chain_iov(const struct virtq_chain *chain, const struct guest_mem *mem, bool writable,
		    uint64_t offset, uint64_t len, struct iovec *iov, int max);

/* Snapshots: the saved form is struct virtq_state (queue_state.h). */
void virtq_save(const struct virtq *q, struct virtq_state *st);
/* Rejects states a guest could not have produced (size, alignment, RAM). */
int virtq_restore(struct virtq *q, const struct virtq_state *st, const struct guest_mem *mem);

#endif
