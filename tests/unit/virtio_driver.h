/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver's side of a virtqueue, for tests and the fuzzer: split rings
 * built by hand in guest memory and the virtio-mmio registers programmed as
 * a guest driver would. No criterion here, so the fuzz harness can use it.
 */
#ifndef IGNIS_TEST_VIRTIO_DRIVER_H
#define IGNIS_TEST_VIRTIO_DRIVER_H

#include <stdint.h>
#include <string.h>

#include "vmm/devices/virtio/mmio.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/memory/memory.h"

/* Where one queue's three rings sit in guest memory. */
struct test_vq {
	uint16_t size;
	uint64_t desc, avail, used;
};

/* Register offsets a driver uses (virtio 1.2, 4.2.2). */
#define MMIO_MAGIC_VALUE     0x000
#define MMIO_VERSION         0x004
#define MMIO_DEVICE_ID       0x008
#define MMIO_VENDOR_ID       0x00c
#define MMIO_DEVICE_FEATURES 0x010
#define MMIO_DEVICE_FEAT_SEL 0x014
#define MMIO_DRIVER_FEATURES 0x020
#define MMIO_DRIVER_FEAT_SEL 0x024
#define MMIO_QUEUE_SEL       0x030
#define MMIO_QUEUE_NUM_MAX   0x034
#define MMIO_QUEUE_NUM       0x038
#define MMIO_QUEUE_READY     0x044
#define MMIO_QUEUE_NOTIFY    0x050
#define MMIO_INTERRUPT_STATUS 0x060
#define MMIO_INTERRUPT_ACK   0x064
#define MMIO_STATUS          0x070
#define MMIO_QUEUE_DESC_LOW  0x080
#define MMIO_QUEUE_DESC_HIGH 0x084
#define MMIO_QUEUE_AVAIL_LOW 0x090
#define MMIO_QUEUE_AVAIL_HIGH 0x094
#define MMIO_QUEUE_USED_LOW  0x0a0
#define MMIO_QUEUE_USED_HIGH 0x0a4
#define MMIO_CONFIG_GEN      0x0fc

static inline void mmio_write32(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	uint8_t data[4];

	memcpy(data, &v, 4);
	virtio_mmio_bus_ops.write(t, off, data, 4);
}

static inline uint32_t mmio_read32(struct virtio_mmio *t, uint64_t off)
{
	uint8_t data[4];
	uint32_t v;

	virtio_mmio_bus_ops.read(t, off, data, 4);
	memcpy(&v, data, 4);
	return v;
}

/* Little-endian stores and loads into guest memory; the caller keeps them in RAM. */
static inline void gm_put(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len)
{
	uint8_t *p = guest_mem_ptr(mem, gpa, len);

	if (p)
		memcpy(p, src, len);
}

static inline void gm_put16(const struct guest_mem *mem, uint64_t gpa, uint16_t v)
{
	gm_put(mem, gpa, &v, 2);
}

static inline uint16_t gm_get16(const struct guest_mem *mem, uint64_t gpa)
{
	uint16_t v = 0;
	const uint8_t *p = guest_mem_ptr(mem, gpa, 2);

	if (p)
		memcpy(&v, p, 2);
	return v;
}

static inline uint32_t gm_get32(const struct guest_mem *mem, uint64_t gpa)
{
	uint32_t v = 0;
	const uint8_t *p = guest_mem_ptr(mem, gpa, 4);

	if (p)
		memcpy(&v, p, 4);
	return v;
}

/* Descriptor @idx of the table at @table (the queue's own or an indirect one). */
static inline void vq_put_desc_at(const struct guest_mem *mem, uint64_t table, uint32_t idx,
				  uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	gm_put(mem, table + 16ULL * idx, d, sizeof(d));
}

static inline void vq_put_desc(const struct guest_mem *mem, const struct test_vq *vq, uint16_t idx,
			       uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	vq_put_desc_at(mem, vq->desc, idx, addr, len, flags, next);
}

static inline uint16_t vq_avail_idx(const struct guest_mem *mem, const struct test_vq *vq)
{
	return gm_get16(mem, vq->avail + 2);
}

static inline void vq_set_avail_idx(const struct guest_mem *mem, const struct test_vq *vq,
				    uint16_t idx)
{
	gm_put16(mem, vq->avail + 2, idx);
}

/* Makes the chain at @head available: ring[idx % size] = head, then idx + 1. */
static inline void vq_publish(const struct guest_mem *mem, const struct test_vq *vq, uint16_t head)
{
	uint16_t idx = vq_avail_idx(mem, vq);

	gm_put16(mem, vq->avail + 4 + 2ULL * (idx % vq->size), head);
	vq_set_avail_idx(mem, vq, (uint16_t)(idx + 1));
}

static inline void vq_set_avail_flags(const struct guest_mem *mem, const struct test_vq *vq,
				      uint16_t flags)
{
	gm_put16(mem, vq->avail, flags);
}

/* EVENT_IDX: the driver's used_event, after the avail ring. */
static inline void vq_set_used_event(const struct guest_mem *mem, const struct test_vq *vq,
				     uint16_t event)
{
	gm_put16(mem, vq->avail + 4 + 2ULL * vq->size, event);
}

/* EVENT_IDX: the device's avail_event, after the used ring. */
static inline uint16_t vq_avail_event(const struct guest_mem *mem, const struct test_vq *vq)
{
	return gm_get16(mem, vq->used + 4 + 8ULL * vq->size);
}

static inline uint16_t vq_used_idx(const struct guest_mem *mem, const struct test_vq *vq)
{
	return gm_get16(mem, vq->used + 2);
}

static inline uint32_t vq_used_id(const struct guest_mem *mem, const struct test_vq *vq,
				  uint16_t slot)
{
	return gm_get32(mem, vq->used + 4 + 8ULL * (slot % vq->size));
}

static inline uint32_t vq_used_len(const struct guest_mem *mem, const struct test_vq *vq,
				   uint16_t slot)
{
	return gm_get32(mem, vq->used + 4 + 8ULL * (slot % vq->size) + 4);
}

/* Programs queue @q's size and ring addresses and sets QueueReady. */
static inline void driver_setup_queue(struct virtio_mmio *t, unsigned int q,
				      const struct test_vq *vq)
{
	mmio_write32(t, MMIO_QUEUE_SEL, q);
	mmio_write32(t, MMIO_QUEUE_NUM, vq->size);
	mmio_write32(t, MMIO_QUEUE_DESC_LOW, (uint32_t)vq->desc);
	mmio_write32(t, MMIO_QUEUE_DESC_HIGH, (uint32_t)(vq->desc >> 32));
	mmio_write32(t, MMIO_QUEUE_AVAIL_LOW, (uint32_t)vq->avail);
	mmio_write32(t, MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(vq->avail >> 32));
	mmio_write32(t, MMIO_QUEUE_USED_LOW, (uint32_t)vq->used);
	mmio_write32(t, MMIO_QUEUE_USED_HIGH, (uint32_t)(vq->used >> 32));
	mmio_write32(t, MMIO_QUEUE_READY, 1);
}

/* ACKNOWLEDGE, DRIVER, both feature halves, FEATURES_OK (3.1.1). */
static inline void driver_negotiate(struct virtio_mmio *t, uint64_t features)
{
	mmio_write32(t, MMIO_STATUS, 0);
	mmio_write32(t, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	mmio_write32(t, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio_write32(t, MMIO_DRIVER_FEAT_SEL, 0);
	mmio_write32(t, MMIO_DRIVER_FEATURES, (uint32_t)features);
	mmio_write32(t, MMIO_DRIVER_FEAT_SEL, 1);
	mmio_write32(t, MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	mmio_write32(t, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					     VIRTIO_STATUS_FEATURES_OK);
}

/* The whole initialisation of a one-queue device; returns the final Status. */
static inline uint32_t driver_init(struct virtio_mmio *t, uint64_t features,
				   const struct test_vq *vq)
{
	driver_negotiate(t, features);
	driver_setup_queue(t, 0, vq);
	mmio_write32(t, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return mmio_read32(t, MMIO_STATUS);
}

#endif
