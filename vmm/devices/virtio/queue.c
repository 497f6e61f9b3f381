/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/devices/virtio/queue.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/uio.h>

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

#define DESC_SIZE sizeof(struct vring_desc)
/* flags + idx + ring[size] + used_event */
#define AVAIL_SIZE(n) (4 + 2 * (uint64_t)(n) + 2)
/* flags + idx + ring[size] + avail_event */
#define USED_SIZE(n) (4 + sizeof(struct vring_used_elem) * (uint64_t)(n) + 2)

/*
 * Ring fields are read and written with single aligned 16/32-bit accesses
 * through volatile pointers, because the guest updates them concurrently.
 */
static uint16_t load16(const struct guest_mem *mem, uint64_t gpa, bool *ok)
{
	volatile uint16_t *p = guest_mem_ptr(mem, gpa, 2);

	if (!p) {
		*ok = false;
		return 0;
	}
	return *p;
}

static bool store16(const struct guest_mem *mem, uint64_t gpa, uint16_t v)
{
	volatile uint16_t *p = guest_mem_ptr_write(mem, gpa, 2);

	if (!p)
		return false;
	*p = v;
	return true;
}

void virtq_reset(struct virtq *q)
{
	q->ready = false;
	q->desc_gpa = q->avail_gpa = q->used_gpa = 0;
	q->size = VIRTQ_MAX_SIZE;
	q->event_idx = q->indirect = false;
	q->last_avail_idx = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_used_valid = false;
}

bool virtq_valid(const struct virtq *q, const struct guest_mem *mem)
{
	/* Sizes are powers of two up to the maximum (2.7: Queue Size). */
	if (q->size == 0 || q->size > VIRTQ_MAX_SIZE || (q->size & (q->size - 1)))
		return false;
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return false;
	return guest_mem_ptr(mem, q->desc_gpa, DESC_SIZE * q->size) &&
	       guest_mem_ptr(mem, q->avail_gpa, AVAIL_SIZE(q->size)) &&
	       guest_mem_ptr(mem, q->used_gpa, USED_SIZE(q->size));
}

static bool read_desc(const struct guest_mem *mem, uint64_t table, uint32_t idx,
		      struct vring_desc *d)
{
	return guest_mem_read(mem, table + (uint64_t)idx * DESC_SIZE, d, sizeof(*d)) == 0;
}

/*
 * Walks the chain at @head into @chain. Returns 0, -EINVAL for a chain that
 * could be followed to its end but breaks a rule (a buffer outside RAM,
 * readable after writable, too long in total: chain->last says where it
 * ended), or -ELOOP for one that cannot be followed (an index out of range,
 * a loop, a descriptor or an indirect table that cannot be read).
 */
static int walk_chain(const struct virtq *q, const struct guest_mem *mem, uint16_t head,
		      struct virtq_chain *chain)
{
	uint64_t table = q->desc_gpa;
	uint32_t table_size = q->size;
	uint32_t idx = head;
	bool in_indirect = false, bad = false;
	unsigned int steps = 0;

	chain->head = head;
	chain->nr = chain->nr_readable = 0;
	chain->readable_len = chain->writable_len = 0;
	chain->has_last = false;

	for (;;) {
		struct vring_desc d;

		/* Every step consumes a descriptor; a loop runs out of them. */
		if (++steps > VIRTQ_MAX_CHAIN || idx >= table_size)
			return -ELOOP;
		if (!read_desc(mem, table, idx, &d))
			return -ELOOP;

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/*
			 * Only when negotiated, never nested, never with NEXT
			 * (2.7.5.3.1); the table may sit at any address: the
			 * 16-byte alignment rule (2.7) is for the ring's own
			 * descriptor table, and a guest whose kmalloc() aligns to
			 * 8 bytes (SLOB) places indirect tables so.
			 */
			if (!q->indirect || in_indirect || (d.flags & VIRTQ_DESC_F_NEXT))
				return -ELOOP;
			if (d.len == 0 || d.len % DESC_SIZE || d.len / DESC_SIZE > VIRTQ_MAX_CHAIN)
				return -ELOOP;
			if (!guest_mem_ptr(mem, d.addr, d.len))
				return -ELOOP;
			table = d.addr;
			table_size = d.len / DESC_SIZE;
			idx = 0;
			in_indirect = true;
			continue;
		}

		if (!(d.flags & VIRTQ_DESC_F_NEXT)) {
			chain->has_last = true;
			chain->last = (struct virtq_seg){
				.gpa = d.addr,
				.len = d.len,
				.write = (d.flags & VIRTQ_DESC_F_WRITE) != 0,
			};
		}
		/* A broken rule ends the segments, not the walk: find the chain's end. */
		if (d.len && !guest_mem_ptr(mem, d.addr, d.len))
			bad = true;
		/* Device-readable buffers must all precede writable ones (2.7.4.2). */
		if (!(d.flags & VIRTQ_DESC_F_WRITE) && chain->nr != chain->nr_readable)
			bad = true;
		if (chain->readable_len + chain->writable_len + d.len > UINT32_MAX)
			bad = true;
		if (!bad) {
			if (d.flags & VIRTQ_DESC_F_WRITE) {
				chain->writable_len += d.len;
			} else {
				chain->nr_readable++;
				chain->readable_len += d.len;
			}
			chain->segs[chain->nr++] = (struct virtq_seg){
				.gpa = d.addr,
				.len = d.len,
				.write = (d.flags & VIRTQ_DESC_F_WRITE) != 0,
			};
		}

		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return bad ? -EINVAL : 0;
		idx = d.next;
	}
}

enum virtq_pop_result virtq_pop(struct virtq *q, const struct guest_mem *mem,
				struct virtq_chain *chain)
{
	bool ok = true;
	uint16_t avail_idx, head;

	if (!q->ready)
		return VIRTQ_EMPTY;
	avail_idx = load16(mem, q->avail_gpa + 2, &ok);
	if (!ok)
		return VIRTQ_BROKEN;
	if (avail_idx == q->last_avail_idx)
		return VIRTQ_EMPTY;
	/* More new entries than the ring holds: the driver's index is corrupt. */
	if ((uint16_t)(avail_idx - q->last_avail_idx) > q->size)
		return VIRTQ_BROKEN;
	/* Read ring entries only after seeing the index that publishes them. */
	atomic_thread_fence(memory_order_acquire);

	head = load16(mem, q->avail_gpa + 4 + 2 * (uint64_t)(q->last_avail_idx % q->size), &ok);
	if (!ok || head >= q->size)
		return VIRTQ_BROKEN;
	q->last_avail_idx++;

	return walk_chain(q, mem, head, chain) ? VIRTQ_BAD_CHAIN : VIRTQ_CHAIN;
}

int virtq_push_batch(struct virtq *q, const struct guest_mem *mem, const struct virtq_used *used,
		     unsigned int n)
{
	if (n > q->size)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)(q->used_idx + i);
		uint64_t slot = q->used_gpa + 4 + sizeof(struct vring_used_elem) *
							    (uint64_t)(idx % q->size);
		struct vring_used_elem elem = { .id = used[i].head, .len = used[i].len };

		if (guest_mem_write(mem, slot, &elem, sizeof(elem)))
			return -EFAULT;
	}
	q->used_idx = (uint16_t)(q->used_idx + n);
	/* The elements must be visible before the index that publishes them. */
	atomic_thread_fence(memory_order_release);
	return store16(mem, q->used_gpa + 2, q->used_idx) ? 0 : -EFAULT;
}

int virtq_push(struct virtq *q, const struct guest_mem *mem, uint16_t head, uint32_t len)
{
	struct virtq_used used = { .head = head, .len = len };

	return virtq_push_batch(q, mem, &used, 1);
}

bool virtq_should_signal(struct virtq *q, const struct guest_mem *mem)
{
	uint16_t old = q->signalled_used, now = q->used_idx, event;
	bool valid = q->signalled_used_valid, ok = true;

	/* Our used index store must be visible before we read the driver's event. */
	atomic_thread_fence(memory_order_seq_cst);
	q->signalled_used = now;
	q->signalled_used_valid = true;

	if (!q->event_idx) {
		uint16_t flags = load16(mem, q->avail_gpa, &ok);

		return !ok || !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	if (!valid)
		return true;
	event = load16(mem, q->avail_gpa + 4 + 2 * (uint64_t)q->size, &ok);
	if (!ok)
		return true;
	/* vring_need_event(): did used_idx pass used_event since the last signal? */
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

bool virtq_enable_notify(struct virtq *q, const struct guest_mem *mem)
{
	bool ok = true;
	uint16_t avail_idx;

	if (!q->ready)
		return false;
	if (q->event_idx &&
	    !store16(mem, q->used_gpa + 4 + sizeof(struct vring_used_elem) * (uint64_t)q->size,
		     q->last_avail_idx))
		return false;
	atomic_thread_fence(memory_order_seq_cst);
	avail_idx = load16(mem, q->avail_gpa + 2, &ok);
	return ok && avail_idx != q->last_avail_idx;
}

static long chain_copy(const struct virtq_chain *chain, const struct guest_mem *mem,
		       bool writable, uint64_t offset, void *buf, uint64_t len, bool to_guest)
{
	unsigned int first = writable ? chain->nr_readable : 0;
	unsigned int end = writable ? chain->nr : chain->nr_readable;
	uint8_t *p = buf;
	uint64_t done = 0;

	for (unsigned int i = first; i < end && done < len; i++) {
		const struct virtq_seg *s = &chain->segs[i];
		uint64_t n;
		uint8_t *g;

		if (offset >= s->len) {
			offset -= s->len;
			continue;
		}
		n = s->len - offset;
		if (n > len - done)
			n = len - done;
		g = to_guest ? guest_mem_ptr_write(mem, s->gpa + offset, n)
			     : guest_mem_ptr(mem, s->gpa + offset, n);
		if (!g)
			return -EFAULT;
		if (to_guest)
			memcpy(g, p + done, n);
		else
			memcpy(p + done, g, n);
		done += n;
		offset = 0;
	}
	return (long)done;
}

long virtq_chain_read(const struct virtq_chain *chain, const struct guest_mem *mem,
		      uint64_t offset, void *dst, uint64_t len)
{
	return chain_copy(chain, mem, false, offset, dst, len, false);
}

long virtq_chain_write(const struct virtq_chain *chain, const struct guest_mem *mem,
		       uint64_t offset, const void *src, uint64_t len)
{
	return chain_copy(chain, mem, true, offset, (void *)src, len, true);
}

int virtq_chain_iov(const struct virtq_chain *chain, const struct guest_mem *mem, bool writable,
		    uint64_t offset, uint64_t len, struct iovec *iov, int max)
{
	unsigned int first = writable ? chain->nr_readable : 0;
	unsigned int end = writable ? chain->nr : chain->nr_readable;
	uint64_t left = len;
	int n = 0;

	for (unsigned int i = first; i < end && left; i++) {
		const struct virtq_seg *s = &chain->segs[i];
		uint64_t take;
		void *p;

		if (offset >= s->len) {
			offset -= s->len;
			continue;
		}
		take = s->len - offset;
		if (take > left)
			take = left;
		if (n == max)
			return -E2BIG;
		/* A writable iovec is for a read into the guest: dirty once it lands. */
		p = writable ? guest_mem_ptr_write(mem, s->gpa + offset, take)
			     : guest_mem_ptr(mem, s->gpa + offset, take);
		if (!p)
			return -EFAULT;
		iov[n++] = (struct iovec){ .iov_base = p, .iov_len = take };
		left -= take;
		offset = 0;
	}
	return left ? -EINVAL : n;
}

void virtq_save(const struct virtq *q, struct virtq_state *st)
{
	memset(st, 0, sizeof(*st));
	st->size = q->size;
	st->ready = q->ready;
	st->event_idx = q->event_idx;
	st->indirect = q->indirect;
	st->desc_gpa = q->desc_gpa;
	st->avail_gpa = q->avail_gpa;
	st->used_gpa = q->used_gpa;
	st->last_avail_idx = q->last_avail_idx;
	st->used_idx = q->used_idx;
	st->signalled_used = q->signalled_used;
	st->signalled_used_valid = q->signalled_used_valid;
}

int virtq_restore(struct virtq *q, const struct virtq_state *st, const struct guest_mem *mem)
{
	struct virtq tmp = {
		.size = st->size,
		.ready = st->ready != 0,
		.desc_gpa = st->desc_gpa,
		.avail_gpa = st->avail_gpa,
		.used_gpa = st->used_gpa,
		.event_idx = st->event_idx != 0,
		.indirect = st->indirect != 0,
		.last_avail_idx = st->last_avail_idx,
		.used_idx = st->used_idx,
		.signalled_used = st->signalled_used,
		.signalled_used_valid = st->signalled_used_valid != 0,
	};

	if (st->size == 0 || st->size > VIRTQ_MAX_SIZE || (st->size & (st->size - 1)))
		return -EINVAL;
	if (tmp.ready && !virtq_valid(&tmp, mem))
		return -EINVAL;
	*q = tmp;
	return 0;
}
