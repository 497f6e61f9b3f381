/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/io/block_uring.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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

int block_uring_init(struct block_uring *bu, unsigned int entries, struct event_loop *loop,
		     block_uring_done_fn done, void *ctx, pthread_mutex_t *lock,
		     struct err_buf *err)
{
	int ret;

	memset(bu, 0, sizeof(*bu));
	bu->evfd = -1;
	bu->done = done;
	bu->ctx = ctx;
	bu->lock = lock;
	bu->loop = loop;
	bu->handler.fn = on_completion;
	ret = io_uring_queue_init(entries, &bu->ring, 0);
	if (ret < 0)
		return err_set(err, ret, "io_uring_queue_init: %s", strerror(-ret));
	bu->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (bu->evfd < 0) {
		ret = err_set(err, -errno, "eventfd: %s", strerror(errno));
		goto fail_ring;
	}
	ret = io_uring_register_eventfd(&bu->ring, bu->evfd);
	if (ret < 0) {
		err_set(err, ret, "io_uring_register_eventfd: %s", strerror(-ret));
		goto fail_fd;
	}
	if (loop) {
		ret = event_loop_add(loop, bu->evfd, EPOLLIN, &bu->handler);
		if (ret) {
			err_set(err, ret, "epoll: %s", strerror(-ret));
			goto fail_fd;
		}
	}
	return 0;
fail_fd:
	close(bu->evfd);
	bu->evfd = -1;
fail_ring:
	io_uring_queue_exit(&bu->ring);
	return ret;
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

static int queued(struct block_uring *bu, struct io_uring_sqe *sqe, void *cookie)
{
	io_uring_sqe_set_data(sqe, cookie);
	bu->pending++;
	bu->inflight++;
	return 0;
}

int block_uring_readv(struct block_uring *bu, int fd, const struct iovec *iov, int iovcnt,
		      uint64_t offset, void *cookie)
{
	struct io_uring_sqe *sqe = get_sqe(bu);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_readv(sqe, fd, iov, (unsigned int)iovcnt, offset);
	return queued(bu, sqe, cookie);
}

int block_uring_writev(struct block_uring *bu, int fd, const struct iovec *iov, int iovcnt,
		       uint64_t offset, void *cookie)
{
	struct io_uring_sqe *sqe = get_sqe(bu);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_writev(sqe, fd, iov, (unsigned int)iovcnt, offset);
	return queued(bu, sqe, cookie);
}

int block_uring_fsync(struct block_uring *bu, int fd, bool datasync, void *cookie)
{
	struct io_uring_sqe *sqe = get_sqe(bu);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_fsync(sqe, fd, datasync ? IORING_FSYNC_DATASYNC : 0);
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
