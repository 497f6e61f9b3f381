/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The asynchronous I/O engine: one io_uring per drive, its completions
 * signalled through an eventfd served by the VMM thread's event loop.
 * Knows nothing of virtio: callers pass an opaque cookie per operation and
 * get it back with the result.
 *
 * Completions run with the caller's @lock held (given at init), whichever
 * thread reaps them: the event loop's handler takes it, and the caller holds
 * it to queue, submit, reap and drain. So two threads never consume the
 * completion ring at once, and a completion never races what the lock
 * protects (for virtio-blk, a device reset arriving on a vCPU thread).
 */
#ifndef IGNIS_BLOCK_URING_H
#define IGNIS_BLOCK_URING_H

#include <pthread.h>
#include <stdint.h>
#include <sys/uio.h>

#include <liburing.h>

#include "vmm/util/error.h"
#include "vmm/util/event_loop.h"

typedef void (*block_uring_done_fn)(void *ctx, void *cookie, int result);

struct block_uring {
	struct io_uring ring;
	int evfd;
	struct event_handler handler;
	struct event_loop *loop;
	block_uring_done_fn done;
	void *ctx;
	pthread_mutex_t *lock;
	unsigned int inflight;
	unsigned int pending; /* prepared, not yet submitted */
};

/*
 * A ring for the drive file @fd (not owned). It is locked down before it
 * takes any work: readv, writev and fsync of that file are all it can do
 * (block_uring.c: ring_restrict), so io_uring_enter in the seccomp filters
 * is not a way around them.
 */
int block_uring_init(struct block_uring *bu, unsigned int entries, int fd,
		     struct event_loop *loop, block_uring_done_fn done, void *ctx,
		     pthread_mutex_t *lock, struct err_buf *err);
/* The drive's file is now @fd (PATCH /drives); drain first. 0 or -errno. */
int block_uring_set_file(struct block_uring *bu, int fd);
/* Call without @lock: drains (taking it) and frees. */
void block_uring_destroy(struct block_uring *bu);

/* Queue an operation; nothing reaches the kernel until block_uring_submit(). */
int block_uring_readv(struct block_uring *bu, const struct iovec *iov, int iovcnt,
		      uint64_t offset, void *cookie);
int block_uring_writev(struct block_uring *bu, const struct iovec *iov, int iovcnt,
		       uint64_t offset, void *cookie);
int block_uring_fsync(struct block_uring *bu, bool datasync, void *cookie);
int block_uring_submit(struct block_uring *bu);

/* With @lock held: runs the completions that are ready. */
void block_uring_reap(struct block_uring *bu);
/* With @lock held: blocks until nothing is in flight (device reset, pause). */
void block_uring_drain(struct block_uring *bu);

#endif
