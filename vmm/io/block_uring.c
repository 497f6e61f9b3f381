/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/io/block_uring.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

static void on_completion(struct event_handler *h, uint32_t events)
{
	struct block_uring *bu = container_of(h, struct block_uring, handler);
	uint64_t v;

	(void)events;
	if (read(bu->evfd, &v, sizeof(v)) < 0) {
		/* spurious wake-up: reaping below finds nothing */
	}
	pthread_mutex_lock(bu->lock);
	block_uring_reap(bu);
	pthread_mutex_unlock(bu->lock);
}

/*
 * What the ring may do once enabled: readv, writev and fsync, only on fixed
 * file 0 (the drive), and no registration but replacing that file. The
 * filters allow io_uring_enter on the VMM and vCPU threads; without these
 * restrictions a hijacked thread could submit what the filters forbid as
 * syscalls (IORING_OP_OPENAT, IORING_OP_SOCKET, ...). Firecracker does the
 * same for its block ring.
 */
/*
 * io_uring_register(2) itself: Debian 12's liburing 2.3 declares
 * io_uring_register_restrictions() and io_uring_enable_rings() but its
 * shared library does not export them. 0 or -errno.
 */
static int ring_register(struct io_uring *ring, unsigned int op, const void *arg,
			 unsigned int nr)
{
	return syscall(__NR_io_uring_register, ring->ring_fd, op, arg, nr) < 0 ? -errno : 0;
}

static int ring_restrict(struct io_uring *ring)
{
	struct io_uring_restriction res[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FSYNC },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = IOSQE_FIXED_FILE },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE },
		{ .opcode = IORING_RESTRICTION_REGISTER_OP,
		  .register_op = IORING_REGISTER_FILES_UPDATE },
	};

	return ring_register(ring, IORING_REGISTER_RESTRICTIONS, res, sizeof(res) / sizeof(res[0]));
}

/* The ring, created disabled, with @fd as fixed file 0, the eventfd, then locked down. */
static int ring_build(struct block_uring *bu, unsigned int entries, int fd, struct err_buf *err)
{
	int ret = io_uring_queue_init(entries, &bu->ring, IORING_SETUP_R_DISABLED);

	if (ret < 0)
		return err_set(err, ret, "io_uring_queue_init: %s", strerror(-ret));
	ret = io_uring_register_files(&bu->ring, &fd, 1);
	if (ret < 0) {
		err_set(err, ret, "io_uring_register_files: %s", strerror(-ret));
		goto fail;
	}
	ret = io_uring_register_eventfd(&bu->ring, bu->evfd);
	if (ret < 0) {
		err_set(err, ret, "io_uring_register_eventfd: %s", strerror(-ret));
		goto fail;
	}
	ret = ring_restrict(&bu->ring);
	if (ret < 0) {
		err_set(err, ret, "restricting the ring: %s", strerror(-ret));
		goto fail;
	}
	ret = ring_register(&bu->ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	if (ret < 0) {
		err_set(err, ret, "enabling the ring: %s", strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	io_uring_queue_exit(&bu->ring);
	return ret;
}

int block_uring_init(struct block_uring *bu, unsigned int entries, int fd,
		     struct event_loop *loop, block_uring_done_fn done, void *ctx,
		     pthread_mutex_t *lock, struct err_buf *err)
{
	int ret;

	memset(bu, 0, sizeof(*bu));
	bu->done = done;
	bu->ctx = ctx;
	bu->lock = lock;
	bu->loop = loop;
	bu->handler.fn = on_completion;
	bu->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (bu->evfd < 0)
		return err_set(err, -errno, "eventfd: %s", strerror(errno));
	ret = ring_build(bu, entries, fd, err);
	if (ret)
		goto fail_fd;
	if (loop) {
		ret = event_loop_add(loop, bu->evfd, EPOLLIN, &bu->handler);
		if (ret) {
			err_set(err, ret, "epoll: %s", strerror(-ret));
			goto fail_ring;
		}
	}
	return 0;
fail_ring:
	io_uring_queue_exit(&bu->ring);
fail_fd:
	close(bu->evfd);
	bu->evfd = -1;
	return ret;
}

int block_uring_set_file(struct block_uring *bu, int fd)
{
	int ret = io_uring_register_files_update(&bu->ring, 0, &fd, 1);

	return ret < 0 ? ret : 0;
}

void block_uring_destroy(struct block_uring *bu)
{
	if (bu->evfd < 0)
		return;
	pthread_mutex_lock(bu->lock);
	block_uring_drain(bu);
	pthread_mutex_unlock(bu->lock);
	if (bu->loop)
		event_loop_del(bu->loop, bu->evfd);
	io_uring_queue_exit(&bu->ring);
	close(bu->evfd);
	bu->evfd = -1;
}

static struct io_uring_sqe *get_sqe(struct block_uring *bu)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&bu->ring);

	if (!sqe) {
		/* Ring full of unsubmitted entries: push them out and retry once. */
		block_uring_submit(bu);
		sqe = io_uring_get_sqe(&bu->ring);
	}
	return sqe;
}

/* Every operation is on fixed file 0: the ring refuses anything else. */
static int queued(struct block_uring *bu, struct io_uring_sqe *sqe, void *cookie)
{
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, cookie);
	bu->pending++;
	bu->inflight++;
	return 0;
}

int block_uring_readv(struct block_uring *bu, const struct iovec *iov, int iovcnt,
		      uint64_t offset, void *cookie)
{
	struct io_uring_sqe *sqe = get_sqe(bu);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_readv(sqe, 0, iov, (unsigned int)iovcnt, offset);
	return queued(bu, sqe, cookie);
}

int block_uring_writev(struct block_uring *bu, const struct iovec *iov, int iovcnt,
		       uint64_t offset, void *cookie)
{
	struct io_uring_sqe *sqe = get_sqe(bu);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_writev(sqe, 0, iov, (unsigned int)iovcnt, offset);
	return queued(bu, sqe, cookie);
}

int block_uring_fsync(struct block_uring *bu, bool datasync, void *cookie)
{
	struct io_uring_sqe *sqe = get_sqe(bu);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_fsync(sqe, 0, datasync ? IORING_FSYNC_DATASYNC : 0);
	return queued(bu, sqe, cookie);
}

int block_uring_submit(struct block_uring *bu)
{
	int ret;

	if (!bu->pending)
		return 0;
	do
		ret = io_uring_submit(&bu->ring);
	while (ret == -EINTR);
	if (ret >= 0)
		bu->pending = 0;
	return ret < 0 ? ret : 0;
}

void block_uring_reap(struct block_uring *bu)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&bu->ring, &cqe) == 0) {
		void *cookie = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&bu->ring, cqe);
		bu->inflight--;
		bu->done(bu->ctx, cookie, res);
	}
}

void block_uring_drain(struct block_uring *bu)
{
	block_uring_submit(bu);
	while (bu->inflight) {
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe(&bu->ring, &cqe) < 0)
			break;
		block_uring_reap(bu);
	}
}
