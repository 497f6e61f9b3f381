/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/devices/virtio/mmio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "vmm/util/log.h"

#define MMIO_MAGIC 0x74726976 /* "virt" */
#define MMIO_VERSION 2
#define MMIO_VENDOR 0

/* Register offsets (4.2.2). */
#define REG_MAGIC            0x000
#define REG_VERSION          0x004
#define REG_DEVICE_ID        0x008
#define REG_VENDOR_ID        0x00c
#define REG_DEVICE_FEATURES  0x010
#define REG_DEVICE_FEAT_SEL  0x014
#define REG_DRIVER_FEATURES  0x020
#define REG_DRIVER_FEAT_SEL  0x024
#define REG_QUEUE_SEL        0x030
#define REG_QUEUE_NUM_MAX    0x034
#define REG_QUEUE_NUM        0x038
#define REG_QUEUE_READY      0x044
#define REG_QUEUE_NOTIFY     0x050
#define REG_INTERRUPT_STATUS 0x060
#define REG_INTERRUPT_ACK    0x064
#define REG_STATUS           0x070
#define REG_QUEUE_DESC_LOW   0x080
#define REG_QUEUE_DESC_HIGH  0x084
#define REG_QUEUE_AVAIL_LOW  0x090
#define REG_QUEUE_AVAIL_HIGH 0x094
#define REG_QUEUE_USED_LOW   0x0a0
#define REG_QUEUE_USED_HIGH  0x0a4
#define REG_CONFIG_GEN       0x0fc

#define INT_USED_BUFFER 0x1
#define INT_CONFIG      0x2

static void raise_irq(struct virtio_mmio *t, uint32_t why)
{
	t->interrupt_status |= why;
	event_notify(t->irq_fd);
}

bool virtio_mmio_has_feature(const struct virtio_mmio *t, unsigned int bit)
{
	return (t->driver_features & VIRTIO_BIT(bit)) != 0;
}

void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned int q)
{
	if (q < t->ops->num_queues && virtq_should_signal(&t->queues[q], t->mem))
		raise_irq(t, INT_USED_BUFFER);
}

/*
 * A warning about what the driver did, at most one line per
 * LOG_RATELIMIT_SECONDS per transport with the count of those left out: a
 * guest can repeat a bad register write as fast as it can exit.
 */
__attribute__((format(printf, 2, 3))) static void mmio_warn(struct virtio_mmio *t,
							    const char *fmt, ...)
{
	unsigned long suppressed;
	char msg[256];
	va_list ap;

	if (!log_ratelimit(&t->warn_log, &suppressed))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (suppressed)
		pr_warn("virtio-%s@0x%llx: %s (%lu more warnings suppressed)", t->ops->name,
			(unsigned long long)t->base, msg, suppressed);
	else
		pr_warn("virtio-%s@0x%llx: %s", t->ops->name, (unsigned long long)t->base, msg);
}

void virtio_mmio_needs_reset(struct virtio_mmio *t)
{
	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	mmio_warn(t, "driver broke a virtqueue; device needs a reset");
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(t, INT_CONFIG);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	t->config_generation++;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(t, INT_CONFIG);
}

void virtio_mmio_settle_locked(struct virtio_mmio *t)
{
	if (!t->settle_pending)
		return;
	t->settle_pending = false;
	if (t->ops->settle)
		t->ops->settle(t->dev);
}

/*
 * With the lock held, on the vCPU thread: the VMM thread settles the device
 * next. An eventfd write is the only syscall this costs the vCPU.
 */
static void request_settle(struct virtio_mmio *t)
{
	if (!t->ops->settle)
		return;
	t->settle_pending = true;
	if (t->settle_fd < 0)
		virtio_mmio_settle_locked(t);
	else
		event_notify(t->settle_fd);
}

void virtio_mmio_settle(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	virtio_mmio_settle_locked(t);
	pthread_mutex_unlock(&t->lock);
}

static void on_settle(struct event_handler *h, uint32_t events)
{
	struct virtio_mmio *t = container_of(h, struct virtio_mmio, settle_handler);
	uint64_t v;

	(void)events;
	if (read(t->settle_fd, &v, sizeof(v)) != sizeof(v))
		return;
	virtio_mmio_settle(t);
}

static void device_reset(struct virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t->dev);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&t->queues[i]);
	t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
	t->driver_features = 0;
	t->features_overreach = false;
	t->status = 0;
	t->interrupt_status = 0;
	t->activated = false;
	request_settle(t);
}

static struct virtq *selected_queue(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->queues[t->queue_sel] : NULL;
}

static void notify_queue(struct virtio_mmio *t, unsigned int q)
{
	if (t->activated && q < t->ops->num_queues && t->ops->queue_notify &&
	    !(t->status & VIRTIO_STATUS_NEEDS_RESET))
		t->ops->queue_notify(t->dev, q);
}

static void set_features_ok(struct virtio_mmio *t)
{
	uint64_t offered = t->ops->features(t->dev);

	/* Only a subset of the offer, and only the modern interface (4.2.3.1). */
	if (t->features_overreach || (t->driver_features & ~offered)) {
		mmio_warn(t, "driver accepted features outside the offer 0x%llx",
			  (unsigned long long)offered);
		return; /* FEATURES_OK stays clear: the driver sees the refusal */
	}
	if (!virtio_mmio_has_feature(t, VIRTIO_F_VERSION_1)) {
		mmio_warn(t, "driver did not accept VERSION_1; legacy drivers are not supported");
		return;
	}
	t->status |= VIRTIO_STATUS_FEATURES_OK;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		t->queues[i].event_idx = virtio_mmio_has_feature(t, VIRTIO_F_EVENT_IDX);
		t->queues[i].indirect = virtio_mmio_has_feature(t, VIRTIO_F_INDIRECT_DESC);
	}
}

static void activate(struct virtio_mmio *t)
{
	for (unsigned int i = 0; i < t->ops->num_queues; i++) {
		if (t->queues[i].ready && !virtq_valid(&t->queues[i], t->mem)) {
			virtio_mmio_needs_reset(t);
			return;
		}
	}
	if (t->ops->activate && t->ops->activate(t->dev)) {
		virtio_mmio_needs_reset(t);
		return;
	}
	t->activated = true;
	request_settle(t);
}

static void write_status(struct virtio_mmio *t, uint32_t val)
{
	uint32_t added;

	if (val == 0) {
		device_reset(t);
		return;
	}
	/* Undefined bits are not kept: the status (and a snapshot of it) stays valid. */
	val &= VIRTIO_STATUS_DRIVER_BITS;
	/* A driver only adds bits until it resets (3.1.1); NEEDS_RESET is ours. */
	if (t->status & ~VIRTIO_STATUS_NEEDS_RESET & ~val)
		return;
	added = val & ~t->status & ~VIRTIO_STATUS_NEEDS_RESET;
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		t->status |= added & ~(VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
		set_features_ok(t);
		if (!(t->status & VIRTIO_STATUS_FEATURES_OK))
			return;
		added &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	/* DRIVER_OK needs FEATURES_OK first (3.1.1). */
	if (!(t->status & VIRTIO_STATUS_FEATURES_OK))
		added &= ~VIRTIO_STATUS_DRIVER_OK;
	t->status |= added;
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !t->activated)
		activate(t);
}

static bool features_writable(const struct virtio_mmio *t)
{
	return !(t->status & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK));
}

static void set_half(uint64_t *field, bool high, uint32_t val)
{
	if (high)
		*field = (*field & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		*field = (*field & ~0xffffffffULL) | val;
}

static void reg_write(struct virtio_mmio *t, uint64_t off, uint32_t val)
{
	struct virtq *q = selected_queue(t);
	/* Queue layout may only change while the queue is off (4.2.2). */
	bool q_writable = q && !q->ready && !(t->status & VIRTIO_STATUS_DRIVER_OK);

	switch (off) {
	case REG_DEVICE_FEAT_SEL:
		t->device_features_sel = val;
		break;
	case REG_DRIVER_FEATURES:
		if (!features_writable(t) || t->driver_features_sel > 1)
			break;
		set_half(&t->driver_features, t->driver_features_sel == 1, val);
		if (t->driver_features & ~t->ops->features(t->dev)) {
			t->driver_features &= t->ops->features(t->dev);
			t->features_overreach = true;
		}
		break;
	case REG_DRIVER_FEAT_SEL:
		t->driver_features_sel = val;
		break;
	case REG_QUEUE_SEL:
		t->queue_sel = val;
		break;
	case REG_QUEUE_NUM:
		if (!q_writable)
			break;
		/* A split ring's size is a power of two up to QueueNumMax (2.7, 4.2.2.2). */
		if (val && val <= VIRTQ_MAX_SIZE && !(val & (val - 1))) {
			q->size = (uint16_t)val;
		} else {
			/* The size stays valid (also in a snapshot); the driver must reset. */
			mmio_warn(t, "queue %u: QueueNum %u is not a power of two in 1..%u",
				  t->queue_sel, val, VIRTQ_MAX_SIZE);
			virtio_mmio_needs_reset(t);
		}
		break;
	case REG_QUEUE_READY:
		if (!q || (t->status & VIRTIO_STATUS_DRIVER_OK && val))
			break;
		if (val == 0) {
			q->ready = false;
		} else if (t->status & VIRTIO_STATUS_NEEDS_RESET) {
			mmio_warn(t, "queue %u: not enabled, the device needs a reset", t->queue_sel);
		} else if (virtq_valid(q, t->mem)) {
			q->ready = true;
		} else {
			mmio_warn(t, "queue %u layout is invalid; not enabling it", t->queue_sel);
		}
		break;
	case REG_QUEUE_NOTIFY:
		/* Reaches here only when no ioeventfd matched (tests, odd values). */
		notify_queue(t, val);
		break;
	case REG_INTERRUPT_ACK:
		t->interrupt_status &= ~val;
		break;
	case REG_STATUS:
		write_status(t, val);
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		if (q_writable)
			set_half(&q->desc_gpa, off == REG_QUEUE_DESC_HIGH, val);
		break;
	case REG_QUEUE_AVAIL_LOW:
	case REG_QUEUE_AVAIL_HIGH:
		if (q_writable)
			set_half(&q->avail_gpa, off == REG_QUEUE_AVAIL_HIGH, val);
		break;
	case REG_QUEUE_USED_LOW:
	case REG_QUEUE_USED_HIGH:
		if (q_writable)
			set_half(&q->used_gpa, off == REG_QUEUE_USED_HIGH, val);
		break;
	default:
		break; /* read-only or reserved: ignored */
	}
}

static uint32_t reg_read(struct virtio_mmio *t, uint64_t off)
{
	struct virtq *q = selected_queue(t);
	uint64_t features;

	switch (off) {
	case REG_MAGIC:
		return MMIO_MAGIC;
	case REG_VERSION:
		return MMIO_VERSION;
	case REG_DEVICE_ID:
		return t->ops->device_id;
	case REG_VENDOR_ID:
		return MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		features = t->ops->features(t->dev);
		if (t->device_features_sel == 0)
			return (uint32_t)features;
		if (t->device_features_sel == 1)
			return (uint32_t)(features >> 32);
		return 0;
	case REG_QUEUE_NUM_MAX:
		return q ? VIRTQ_MAX_SIZE : 0;
	case REG_QUEUE_READY:
		return q ? q->ready : 0;
	case REG_INTERRUPT_STATUS:
		return t->interrupt_status;
	case REG_STATUS:
		return t->status;
	case REG_CONFIG_GEN:
		return t->config_generation;
	default:
		return 0;
	}
}

static void log_bad_access(struct virtio_mmio *t, const char *what, uint64_t off, uint32_t len)
{
	if (t->bad_access_logged)
		return;
	t->bad_access_logged = true;
	pr_warn("virtio-%s@0x%llx: ignoring %u-byte %s at offset 0x%llx (logged once)",
		t->ops->name, (unsigned long long)t->base, len, what, (unsigned long long)off);
}

static void mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;
	uint32_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (t->ops->config_read)
			t->ops->config_read(t->dev, off - VIRTIO_MMIO_CONFIG, data, len);
	} else if (len != 4 || (off & 3)) {
		log_bad_access(t, "register read", off, len);
	} else {
		v = reg_read(t, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&t->lock);
}

static void mmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;
	uint32_t v;

	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (t->ops->config_write)
			t->ops->config_write(t->dev, off - VIRTIO_MMIO_CONFIG, data, len);
	} else if (len != 4 || (off & 3)) {
		log_bad_access(t, "register write", off, len);
	} else {
		memcpy(&v, data, 4);
		reg_write(t, off, v);
	}
	pthread_mutex_unlock(&t->lock);
}

const struct bus_device_ops virtio_mmio_bus_ops = {
	.read = mmio_read,
	.write = mmio_write,
};

void virtio_mmio_kick(struct virtio_mmio *t, unsigned int q)
{
	pthread_mutex_lock(&t->lock);
	/* The eventfds race: a queue kick right after DRIVER_OK may come first. */
	virtio_mmio_settle_locked(t);
	notify_queue(t, q);
	pthread_mutex_unlock(&t->lock);
}

static void on_notify(struct event_handler *h, uint32_t events)
{
	struct virtio_mmio_notify *n = container_of(h, struct virtio_mmio_notify, handler);
	uint64_t v;

	(void)events;
	if (read(n->fd, &v, sizeof(v)) == sizeof(v))
		virtio_mmio_kick(n->transport, n->queue);
}

/*
 * A new eventfd in *@fd, served by @h on the VMM thread's loop. On failure
 * *@fd may be left open: virtio_mmio_destroy() closes it.
 */
static int watch_eventfd(struct virtio_mmio *t, int *fd, struct event_handler *h,
			 struct err_buf *err)
{
	int ret;

	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*fd < 0)
		return err_set(err, -errno, "virtio-%s: eventfd: %s", t->ops->name, strerror(errno));
	ret = event_loop_add(t->loop, *fd, EPOLLIN, h);
	if (ret)
		return err_set(err, ret, "virtio-%s: epoll: %s", t->ops->name, strerror(-ret));
	return 0;
}

static int bind_notify(struct virtio_mmio *t, unsigned int q, struct err_buf *err)
{
	struct virtio_mmio_notify *n = &t->notify[q];
	struct kvm_ioeventfd io = {
		.datamatch = q,
		.addr = t->base + REG_QUEUE_NOTIFY,
		.len = 4,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	int ret = watch_eventfd(t, &n->fd, &n->handler, err);

	if (ret)
		return ret;
	io.fd = n->fd;
	if (ioctl(t->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return err_set(err, -errno, "virtio-%s: KVM_IOEVENTFD: %s", t->ops->name,
			       strerror(errno));
	return 0;
}

/* Where the vCPU thread hands activation and reset work to @t->loop's thread. */
static int bind_settle(struct virtio_mmio *t, struct err_buf *err)
{
	if (!t->ops->settle || !t->loop)
		return 0; /* settle runs at once, on the writer's thread */
	return watch_eventfd(t, &t->settle_fd, &t->settle_handler, err);
}

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_device_ops *ops, void *dev,
		     const struct guest_mem *mem, struct event_loop *loop, int vm_fd,
		     uint64_t base, unsigned int irq, struct err_buf *err)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->dev = dev;
	t->mem = mem;
	t->loop = loop;
	t->vm_fd = vm_fd;
	t->base = base;
	t->irq = irq;
	t->irq_fd = -1;
	t->settle_fd = -1;
	t->settle_handler.fn = on_settle;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		virtq_reset(&t->queues[i]);
		t->notify[i] = (struct virtio_mmio_notify){
			.handler.fn = on_notify, .transport = t, .queue = i, .fd = -1,
		};
	}
	if (ops->num_queues > VIRTIO_MAX_QUEUES)
		return err_set(err, -EINVAL, "virtio-%s: too many queues", ops->name);
	if (pthread_mutex_init(&t->lock, NULL))
		return err_set(err, -ENOMEM, "virtio-%s: mutex", ops->name);
	ret = bind_settle(t, err);
	if (ret || vm_fd < 0)
		return ret;

	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0)
		return err_set(err, -errno, "virtio-%s: eventfd: %s", ops->name, strerror(errno));
	struct kvm_irqfd irqfd = { .fd = (uint32_t)t->irq_fd, .gsi = irq };
	if (ioctl(vm_fd, KVM_IRQFD, &irqfd) < 0)
		return err_set(err, -errno, "virtio-%s: KVM_IRQFD for GSI %u: %s", ops->name, irq,
			       strerror(errno));
	for (unsigned int q = 0; q < ops->num_queues; q++) {
		ret = bind_notify(t, q, err);
		if (ret)
			return ret;
	}
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (t->notify[i].fd >= 0) {
			if (t->loop)
				event_loop_del(t->loop, t->notify[i].fd);
			close(t->notify[i].fd);
			t->notify[i].fd = -1;
		}
	}
	if (t->settle_fd >= 0) {
		event_loop_del(t->loop, t->settle_fd);
		close(t->settle_fd);
		t->settle_fd = -1;
	}
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	t->irq_fd = -1;
	pthread_mutex_destroy(&t->lock);
}

void virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&t->lock);
	st->device_features_sel = t->device_features_sel;
	st->driver_features_sel = t->driver_features_sel;
	st->queue_sel = t->queue_sel;
	st->driver_features = t->driver_features;
	st->status = t->status;
	st->interrupt_status = t->interrupt_status;
	st->config_generation = t->config_generation;
	st->activated = t->activated;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_save(&t->queues[i], &st->queues[i]);
	pthread_mutex_unlock(&t->lock);
}

int virtio_mmio_restore(struct virtio_mmio *t, const struct virtio_mmio_state *st,
			struct err_buf *err)
{
	struct virtq queues[VIRTIO_MAX_QUEUES];
	int ret = virtio_mmio_state_check(st, t->ops->features(t->dev), err);

	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES && !ret; i++)
		if (virtq_restore(&queues[i], &st->queues[i], t->mem))
			ret = err_set(err, -EINVAL, "queue %u: size %u is not a power of two in 1..%u, "
				      "or the queue is ready with rings outside guest RAM",
				      i, st->queues[i].size, VIRTQ_MAX_SIZE);
	if (ret)
		return ret;

	pthread_mutex_lock(&t->lock);
	t->device_features_sel = st->device_features_sel;
	t->driver_features_sel = st->driver_features_sel;
	t->queue_sel = st->queue_sel;
	t->driver_features = st->driver_features;
	t->status = st->status;
	t->interrupt_status = st->interrupt_status;
	t->config_generation = st->config_generation;
	t->activated = st->activated;
	memcpy(t->queues, queues, sizeof(queues));
	pthread_mutex_unlock(&t->lock);
	return 0;
}
