/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/devices/virtio/block.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/util/log.h"

#define BLK_HDR_SIZE 16
#define URING_ENTRIES 128
#define BLK_TURN_BYTES (64ULL << 20) /* then the VMM thread's other work: see resume_fd */

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static uint64_t blk_features(void *opaque)
{
	struct virtio_blk *blk = opaque;
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
		     VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
		     VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE);

	if (blk->file.read_only)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	return f;
}

static void blk_config_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct virtio_blk *blk = opaque;
	uint8_t cfg[64];
	uint64_t capacity = blk->file.size / BLOCK_SECTOR_SIZE;
	uint32_t seg_max = VIRTIO_BLK_SEG_MAX, blk_size = BLOCK_SECTOR_SIZE;

	/* struct virtio_blk_config: capacity@0 size_max@8 seg_max@12 geometry@16 blk_size@20 */
	memset(cfg, 0, sizeof(cfg));
	memcpy(cfg + 0, &capacity, 8);
	memcpy(cfg + 12, &seg_max, 4);
	memcpy(cfg + 20, &blk_size, 4);
	if (offset < sizeof(cfg) && len <= sizeof(cfg) - offset)
		memcpy(data, cfg + offset, len);
	else
		memset(data, 0, len);
}

/* Is [sector, sector + len bytes) inside the disk? Overflow-safe. */
static bool in_range(const struct virtio_blk *blk, uint64_t sector, uint64_t len)
{
	uint64_t sectors = blk->file.size / BLOCK_SECTOR_SIZE;

	return sector <= sectors && len / BLOCK_SECTOR_SIZE <= sectors - sector;
}

static void complete(struct virtio_blk *blk, uint16_t head, uint64_t status_gpa, uint8_t status,
		     uint32_t used_len)
{
	struct virtio_mmio *t = &blk->transport;

	if (status == VIRTIO_BLK_S_IOERR)
		blk->stats.io_errors++;
	else if (status == VIRTIO_BLK_S_UNSUPP)
		blk->stats.unsupported++;
	/* Without its status the request would read as served: stop instead. */
	if (guest_mem_write(t->mem, status_gpa, &status, 1) ||
	    virtq_push(&t->queues[0], t->mem, head, used_len))
		virtio_mmio_needs_reset(t);
}

/* Unservable requests: one line per LOG_RATELIMIT_SECONDS for all (NEEDS_RESET
 * bounds nothing: a driver resets and sends the next). */
static void warn_bad_request(struct virtio_blk *blk, uint16_t head, const char *what)
{
	unsigned long suppressed;

	if (log_ratelimit(&blk->bad_request_log, &suppressed))
		pr_warn("virtio-blk %s: %s at head %u (%lu more not logged)", blk->drive_id, what,
			head, suppressed);
}

/* GPA of the status byte: the last writable byte of the chain. */
static bool status_location(const struct virtq_chain *c, uint64_t *gpa)
{
	for (unsigned int i = c->nr; i-- > c->nr_readable;) {
		if (c->segs[i].len) {
			*gpa = c->segs[i].gpa + c->segs[i].len - 1;
			return true;
		}
	}
	return false;
}

static struct virtio_blk_req *req_alloc(struct virtio_blk *blk)
{
	for (unsigned int i = 0; i < VIRTQ_MAX_SIZE; i++)
		if (!blk->reqs[i].busy)
			return &blk->reqs[i];
	return NULL; /* cannot happen: one request per descriptor head */
}

static void req_free(struct virtio_blk_req *req)
{
	free(req->iov);
	memset(req, 0, sizeof(*req));
}

/*
 * Hands a data or flush request to io_uring. Returns true if queued (the
 * completion will answer it), false to answer it synchronously instead.
 */
static bool submit_async(struct virtio_blk *blk, const struct blk_hdr *hdr, uint64_t status_gpa,
			 const struct iovec *iov, int iovcnt, uint64_t len, uint32_t used_len)
{
	struct virtio_blk_req *req = req_alloc(blk);
	int ret;

	if (!req)
		return false;
	req->iov = NULL;
	if (iovcnt) {
		req->iov = malloc(sizeof(*iov) * (size_t)iovcnt);
		if (!req->iov)
			return false;
		memcpy(req->iov, iov, sizeof(*iov) * (size_t)iovcnt);
	}
	req->busy = true;
	req->generation = blk->generation;
	req->head = blk->chain.head;
	req->type = (uint8_t)hdr->type;
	req->status_gpa = status_gpa;
	req->used_len = used_len;
	req->expect = len;
	req->offset = hdr->sector * BLOCK_SECTOR_SIZE;
	req->iovcnt = iovcnt;

	if (hdr->type == VIRTIO_BLK_T_IN)
		ret = block_uring_readv(&blk->uring, req->iov, iovcnt, req->offset, req);
	else if (hdr->type == VIRTIO_BLK_T_OUT)
		ret = block_uring_writev(&blk->uring, req->iov, iovcnt, req->offset, req);
	else
		ret = block_uring_fsync(&blk->uring, blk->file.cache != CACHE_WRITEBACK, req);
	if (ret) {
		req_free(req);
		return false;
	}
	return true;
}

/* Runs a request with the Sync engine. Returns the virtio status. */
static uint8_t run_sync(struct virtio_blk *blk, const struct blk_hdr *hdr, const struct iovec *iov,
			int iovcnt)
{
	uint64_t offset = hdr->sector * BLOCK_SECTOR_SIZE;
	int ret;

	if (hdr->type == VIRTIO_BLK_T_IN)
		ret = block_file_readv(&blk->file, iov, iovcnt, offset);
	else if (hdr->type == VIRTIO_BLK_T_OUT)
		ret = block_file_writev(&blk->file, iov, iovcnt, offset);
	else
		ret = block_file_flush(&blk->file);
	if (ret)
		pr_debug("virtio-blk %s: %s at sector %llu: %s", blk->drive_id,
			 hdr->type == VIRTIO_BLK_T_IN ? "read" : hdr->type == VIRTIO_BLK_T_OUT ? "write" : "flush",
			 (unsigned long long)hdr->sector, strerror(-ret));
	return ret ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/*
 * Checks a read or write in blk->chain against the chain and the disk, and
 * maps its data (a read's device-writable bytes before the status byte, a
 * write's driver-readable bytes after the header) into @iov, setting *@len.
 * Returns the iovec count, or a negative value: the request gets IOERR.
 */
static int map_data(struct virtio_blk *blk, const struct blk_hdr *hdr, struct iovec *iov,
		    uint64_t *len)
{
	struct virtio_mmio *t = &blk->transport;
	const struct virtq_chain *c = &blk->chain;

	if (hdr->type == VIRTIO_BLK_T_IN) {
		*len = c->writable_len - 1;
		if (*len % BLOCK_SECTOR_SIZE || !in_range(blk, hdr->sector, *len))
			return -EINVAL;
		return virtq_chain_iov(c, t->mem, true, 0, *len, iov, VIRTQ_MAX_CHAIN);
	}
	*len = c->readable_len - BLK_HDR_SIZE;
	if (blk->file.read_only || *len % BLOCK_SECTOR_SIZE || !in_range(blk, hdr->sector, *len))
		return -EINVAL;
	return virtq_chain_iov(c, t->mem, false, BLK_HDR_SIZE, *len, iov, VIRTQ_MAX_CHAIN);
}

/* GET_ID: the drive's id, cut to what the driver's buffer (less the status byte) holds. */
static void serve_get_id(struct virtio_blk *blk, uint64_t status_gpa)
{
	struct virtio_mmio *t = &blk->transport;
	const struct virtq_chain *c = &blk->chain;
	uint64_t n = c->writable_len - 1;
	uint8_t status;

	if (n > BLOCK_ID_BYTES)
		n = BLOCK_ID_BYTES;
	blk->stats.get_ids++;
	status = virtq_chain_write(c, t->mem, 0, blk->file.id, n) == (long)n
			 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	complete(blk, c->head, status_gpa, status, (uint32_t)n + 1);
}

/* Parses and runs (or queues) the request in blk->chain. */
static void handle_request(struct virtio_blk *blk)
{
	struct virtio_mmio *t = &blk->transport;
	const struct virtq_chain *c = &blk->chain;
	struct iovec iov[VIRTQ_MAX_CHAIN];
	uint64_t status_gpa, len = 0;
	uint32_t used_len = 1;
	struct blk_hdr hdr;
	int iovcnt = 0;
	uint8_t status;

	if (!status_location(c, &status_gpa)) {
		/*
		 * Nowhere to put a status: handing the chain back would read as
		 * success to the driver (its status byte keeps what it held).
		 */
		blk->stats.bad_requests++;
		warn_bad_request(blk, c->head, "request without a status byte, device needs a reset");
		virtio_mmio_needs_reset(t);
		return;
	}
	if (virtq_chain_read(c, t->mem, 0, &hdr, sizeof(hdr)) != (long)sizeof(hdr)) {
		blk->stats.bad_requests++;
		complete(blk, c->head, status_gpa, VIRTIO_BLK_S_IOERR, 1);
		return;
	}

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		iovcnt = map_data(blk, &hdr, iov, &len);
		if (iovcnt < 0) {
			blk->stats.bad_requests++;
			complete(blk, c->head, status_gpa, VIRTIO_BLK_S_IOERR, 1);
			return;
		}
		if (hdr.type == VIRTIO_BLK_T_IN) {
			blk->stats.reads++;
			blk->stats.read_bytes += len;
			used_len = (uint32_t)len + 1;
		} else {
			blk->stats.writes++;
			blk->stats.write_bytes += len;
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		blk->stats.flushes++;
		if (blk->file.cache == CACHE_UNSAFE) {
			complete(blk, c->head, status_gpa, VIRTIO_BLK_S_OK, 1);
			return;
		}
		break;
	case VIRTIO_BLK_T_GET_ID:
		serve_get_id(blk, status_gpa);
		return;
	default:
		complete(blk, c->head, status_gpa, VIRTIO_BLK_S_UNSUPP, 1);
		return;
	}

	if (blk->engine == IO_ENGINE_ASYNC && blk->uring_ready &&
	    submit_async(blk, &hdr, status_gpa, iov, iovcnt, len, used_len))
		return;
	status = run_sync(blk, &hdr, iov, iovcnt);
	complete(blk, c->head, status_gpa, status, status == VIRTIO_BLK_S_OK ? used_len : 1);
}

/*
 * A chain the device cannot serve must never look served: its status byte
 * (the last byte of the final, device-writable descriptor) gets IOERR. Where
 * there is no such byte, or the chain cannot be followed to it, only a reset
 * of the device can tell the driver: NEEDS_RESET, and the queue stops.
 * Returns false when the queue stopped.
 */
static bool fail_bad_chain(struct virtio_blk *blk)
{
	struct virtio_mmio *t = &blk->transport;
	const struct virtq_chain *c = &blk->chain;
	const uint8_t status = VIRTIO_BLK_S_IOERR;
	bool answered = c->has_last && c->last.write && c->last.len &&
			!guest_mem_write(t->mem, c->last.gpa + c->last.len - 1, &status, 1);

	blk->stats.bad_chains++;
	warn_bad_request(blk, c->head,
			 answered ? "malformed descriptor chain, answered with an I/O error"
				  : "malformed descriptor chain without a status byte, device needs a reset");
	if (!answered || virtq_push(&t->queues[0], t->mem, c->head, 1)) {
		virtio_mmio_needs_reset(t);
		return false;
	}
	blk->stats.io_errors++;
	return true;
}

static void blk_queue_notify(void *opaque, unsigned int q)
{
	struct virtio_blk *blk = opaque;
	struct virtio_mmio *t = &blk->transport;
	struct virtq *vq = &t->queues[q];
	unsigned int chains = 0;
	uint64_t bytes = 0;

	for (;;) {
		enum virtq_pop_result r;

		if (blk->resume_fd >= 0 && (chains >= vq->size || bytes >= BLK_TURN_BYTES)) {
			event_notify(blk->resume_fd); /* the rest on the loop's next turn */
			break;
		}
		r = virtq_pop(vq, t->mem, &blk->chain);
		chains++;

		if (r == VIRTQ_EMPTY) {
			if (!virtq_enable_notify(vq, t->mem))
				break;
			continue;
		}
		if (r == VIRTQ_BROKEN) {
			virtio_mmio_needs_reset(t);
			return;
		}
		if (r == VIRTQ_BAD_CHAIN) {
			if (!fail_bad_chain(blk))
				return;
			continue;
		}
		bytes += blk->chain.readable_len + blk->chain.writable_len;
		handle_request(blk);
	}
	if (blk->uring_ready && block_uring_submit(&blk->uring))
		pr_warn("virtio-blk %s: io_uring submit failed", blk->drive_id);
	virtio_mmio_signal_used(t, q);
}

/*
 * The rest of a read or write io_uring did only in part: it stops at
 * MAX_RW_COUNT (2 GiB less a page) per request, and a chain may ask for
 * up to 4 GiB. The Sync path does the rest from where it stopped; a real
 * end of file still ends in IOERR there. Returns the virtio status.
 */
static uint8_t finish_short(struct virtio_blk *blk, struct virtio_blk_req *req, uint64_t done)
{
	struct iovec *iov = req->iov;
	uint64_t skip = done;
	int cnt = req->iovcnt, ret;

	while (cnt > 0 && skip >= iov->iov_len) {
		skip -= iov->iov_len;
		iov++;
		cnt--;
	}
	if (cnt > 0) {
		iov->iov_base = (uint8_t *)iov->iov_base + skip;
		iov->iov_len -= skip;
	}
	if (req->type == VIRTIO_BLK_T_IN)
		ret = block_file_readv(&blk->file, iov, cnt, req->offset + done);
	else
		ret = block_file_writev(&blk->file, iov, cnt, req->offset + done);
	return ret ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* Async completion, with the transport lock held (block_uring takes it). */
static void blk_async_done(void *ctx, void *cookie, int res)
{
	struct virtio_blk *blk = ctx;
	struct virtio_blk_req *req = cookie;
	struct virtio_mmio *t = &blk->transport;
	uint8_t status = VIRTIO_BLK_S_OK;
	struct blk_hdr hdr = { .type = req->type, .sector = req->offset / BLOCK_SECTOR_SIZE };

	if (req->generation != blk->generation) {
		/* The driver reset the device since: those rings are gone, only free. */
		req_free(req);
		return;
	}
	if (res == -EINVAL && blk->file.cache == CACHE_NONE && req->type != VIRTIO_BLK_T_FLUSH) {
		/* O_DIRECT refused the guest's buffers: the Sync path bounces them. */
		status = run_sync(blk, &hdr, req->iov, req->iovcnt);
	} else if (res < 0) {
		status = VIRTIO_BLK_S_IOERR;
	} else if (req->type != VIRTIO_BLK_T_FLUSH && (uint64_t)res < req->expect) {
		status = finish_short(blk, req, (uint64_t)res);
	}
	complete(blk, req->head, req->status_gpa, status,
		 status == VIRTIO_BLK_S_OK ? req->used_len : 1);
	virtio_mmio_signal_used(t, 0);
	req_free(req);
}

/*
 * vCPU thread, so nothing that waits: requests still in flight belong to
 * the rings the driver just dropped, and their completions are only freed
 * (the generation tells them). Their data may still land in the buffers
 * the driver gave; Linux resets a virtio-blk device only with no request
 * outstanding (probe, removal), and a driver that does otherwise only
 * overwrites its own memory, never the host's: guest RAM stays mapped
 * until the io_uring is destroyed, which waits for every request.
 */
static void blk_reset(void *opaque)
{
	struct virtio_blk *blk = opaque;

	blk->generation++;
}

/* VMM thread: the turn blk_queue_notify() yielded, taken up as the driver's kick would be. */
static void on_resume(struct event_handler *h, uint32_t events)
{
	struct virtio_blk *blk = container_of(h, struct virtio_blk, resume_handler);
	uint64_t v;

	(void)events;
	if (read(blk->resume_fd, &v, sizeof(v)) == sizeof(v))
		virtio_mmio_kick(&blk->transport, 0);
}

/* On failure resume_fd may stay open: resume_destroy() closes it. */
static int resume_init(struct virtio_blk *blk, struct event_loop *loop, struct err_buf *err)
{
	int ret;

	blk->resume_handler.fn = on_resume;
	if (!loop)
		return 0;
	blk->resume_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (blk->resume_fd < 0)
		return err_set(err, -errno, "drive \"%s\": eventfd: %s", blk->drive_id,
			       strerror(errno));
	ret = event_loop_add(loop, blk->resume_fd, EPOLLIN, &blk->resume_handler);
	return ret ? err_set(err, ret, "drive \"%s\": epoll: %s", blk->drive_id, strerror(-ret)) : 0;
}

static void resume_destroy(struct virtio_blk *blk)
{
	if (blk->resume_fd < 0)
		return;
	event_loop_del(blk->transport.loop, blk->resume_fd); /* harmless if never added */
	close(blk->resume_fd);
	blk->resume_fd = -1;
}

const struct virtio_device_ops virtio_blk_ops = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.features = blk_features,
	.config_read = blk_config_read,
	.config_write = NULL,
	.activate = NULL,
	.reset = blk_reset,
	.queue_notify = blk_queue_notify,
};

int virtio_blk_create(struct virtio_blk *blk, const struct drive_config *drive,
		      const struct guest_mem *mem, struct event_loop *loop, int vm_fd,
		      uint64_t base, unsigned int irq, struct err_buf *err)
{
	struct err_buf why;
	int ret;

	memset(blk, 0, sizeof(*blk));
	blk->file.fd = -1;
	blk->resume_fd = -1;
	snprintf(blk->drive_id, sizeof(blk->drive_id), "%s", drive->drive_id);
	blk->engine = drive->io_engine;
	ret = block_file_open(&blk->file, drive->path_on_host, drive->is_read_only,
			      drive->cache_type, &why);
	if (ret)
		return err_set(err, ret, "drive \"%s\": %s", drive->drive_id, why.msg);
	if (blk->engine == IO_ENGINE_ASYNC) {
		ret = block_uring_init(&blk->uring, URING_ENTRIES, blk->file.fd, loop,
				       blk_async_done, blk, &blk->transport.lock, &why);
		if (ret) {
			err_set(err, ret, "drive \"%s\": Async engine: %s", drive->drive_id, why.msg);
			goto fail_file;
		}
		blk->uring_ready = true;
	}
	ret = virtio_mmio_init(&blk->transport, &virtio_blk_ops, blk, mem, loop, vm_fd, base, irq,
			       &why);
	if (ret) {
		err_set(err, ret, "drive \"%s\": %s", drive->drive_id, why.msg);
		goto fail_uring;
	}
	ret = resume_init(blk, loop, err);
	if (ret)
		goto fail_uring;
	return 0;
fail_uring:
	resume_destroy(blk);
	/* The ring's completions take the transport lock: tear the ring down first. */
	if (blk->uring_ready)
		block_uring_destroy(&blk->uring);
	blk->uring_ready = false;
	virtio_mmio_destroy(&blk->transport);
fail_file:
	block_file_close(&blk->file);
	return ret;
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
	if (blk->uring_ready)
		block_uring_destroy(&blk->uring);
	blk->uring_ready = false;
	for (unsigned int i = 0; i < VIRTQ_MAX_SIZE; i++)
		if (blk->reqs[i].busy)
			req_free(&blk->reqs[i]);
	resume_destroy(blk);
	virtio_mmio_destroy(&blk->transport);
	block_file_close(&blk->file);
}

void virtio_blk_save(struct virtio_blk *blk, struct virtio_blk_state *st)
{
	memset(st, 0, sizeof(*st));
	virtio_mmio_save(&blk->transport, &st->transport);
	snprintf(st->drive_id, sizeof(st->drive_id), "%s", blk->drive_id);
	st->capacity_sectors = blk->file.size / BLOCK_SECTOR_SIZE;
}

int virtio_blk_restore(struct virtio_blk *blk, const struct virtio_blk_state *st,
		       struct err_buf *err)
{
	struct err_buf why;
	int ret;

	if (strncmp(st->drive_id, blk->drive_id, sizeof(st->drive_id)) != 0)
		return err_set(err, -EINVAL, "drive \"%s\": snapshot is of drive \"%.64s\"",
			       blk->drive_id, st->drive_id);
	if (st->capacity_sectors != blk->file.size / BLOCK_SECTOR_SIZE)
		return err_set(err, -EINVAL,
			       "drive \"%s\": backing file has %llu sectors, the snapshot %llu",
			       blk->drive_id,
			       (unsigned long long)(blk->file.size / BLOCK_SECTOR_SIZE),
			       (unsigned long long)st->capacity_sectors);
	ret = virtio_mmio_restore(&blk->transport, &st->transport, &why);
	if (ret)
		return err_set(err, ret, "drive \"%s\": invalid virtio state: %s", blk->drive_id,
			       why.msg);
	/* A turn the snapshot cut short (or a kick still in its eventfd) goes on after the load. */
	if (blk->resume_fd >= 0 && blk->transport.activated)
		event_notify(blk->resume_fd);
	return 0;
}

void virtio_blk_quiesce(struct virtio_blk *blk)
{
	/* Completions run under the transport lock: call without it. */
	if (!blk->uring_ready)
		return;
	pthread_mutex_lock(&blk->transport.lock);
	block_uring_drain(&blk->uring);
	pthread_mutex_unlock(&blk->transport.lock);
}

int virtio_blk_swap_file(struct virtio_blk *blk, const char *path, struct err_buf *err)
{
	struct virtio_mmio *t = &blk->transport;
	struct block_file next, old;
	struct err_buf why;
	int ret;

	ret = block_file_open(&next, path, blk->file.read_only, blk->file.cache, &why);
	if (ret)
		return err_set(err, ret, "drive \"%s\": %s", blk->drive_id, why.msg);
	/* Requests in flight belong to the old file: let them finish there. */
	virtio_blk_quiesce(blk);
	pthread_mutex_lock(&t->lock);
	/* The ring holds the file itself (fixed file 0), not the fd number. */
	ret = blk->uring_ready ? block_uring_set_file(&blk->uring, next.fd) : 0;
	if (ret) {
		pthread_mutex_unlock(&t->lock);
		block_file_close(&next);
		return err_set(err, ret, "drive \"%s\": Async engine: replacing the file: %s",
			       blk->drive_id, strerror(-ret));
	}
	old = blk->file;
	blk->file = next;
	virtio_mmio_config_changed(t); /* the guest re-reads capacity */
	pthread_mutex_unlock(&t->lock);
	block_file_close(&old);
	return 0;
}
