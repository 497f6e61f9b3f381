/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/devices/i8042.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vmm/util/event_loop.h"

#define PORT_DATA 0   /* 0x60 */
#define PORT_CMD  4   /* 0x64 */

#define STATUS_OBF 0x01
#define STATUS_SYS 0x04
#define STATUS_UNLOCKED 0x10 /* keyboard not inhibited by the keylock */

#define CMD_READ_CTR   0x20
#define CMD_WRITE_CTR  0x60
#define CMD_SELF_TEST  0xaa
#define CMD_KBD_TEST   0xab
#define CMD_READ_OUTP  0xd0
#define CMD_WRITE_OUTP 0xd1
#define CMD_RESET_CPU  0xfe

#define CTR_KBD_INT 0x01
#define CTR_SYS     0x04
#define KBD_ACK 0xfa

static void push(struct i8042 *dev, uint8_t byte)
{
	if (dev->count == I8042_BUF_SIZE)
		return;
	dev->buf[(dev->head + dev->count) % I8042_BUF_SIZE] = byte;
	dev->count++;
	if (dev->ctr & CTR_KBD_INT)
		event_notify(dev->irq_fd);
}

static uint8_t pop(struct i8042 *dev)
{
	uint8_t byte;

	if (!dev->count)
		return 0;
	byte = dev->buf[dev->head];
	dev->head = (dev->head + 1) % I8042_BUF_SIZE;
	dev->count--;
	/* Like the real controller: the next byte in the output buffer is a new IRQ. */
	if (dev->count && (dev->ctr & CTR_KBD_INT))
		event_notify(dev->irq_fd);
	return byte;
}

static void command(struct i8042 *dev, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_CTR:
		push(dev, dev->ctr);
		break;
	case CMD_READ_OUTP:
		push(dev, dev->outp);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
		dev->pending_cmd = cmd;
		break;
	case CMD_SELF_TEST:
		push(dev, 0x55);
		break;
	case CMD_KBD_TEST:
		push(dev, 0x00);
		break;
	case CMD_RESET_CPU:
		event_notify(dev->reset_fd);
		break;
	default:
		break; /* enable/disable port and the like: nothing to model */
	}
}

static void data_write(struct i8042 *dev, uint8_t val)
{
	switch (dev->pending_cmd) {
	case CMD_WRITE_CTR:
		dev->ctr = val;
		break;
	case CMD_WRITE_OUTP:
		dev->outp = val;
		break;
	default:
		/* A byte for the keyboard: acknowledge it, and finish a reset. */
		push(dev, KBD_ACK);
		if (val == 0xff)
			push(dev, 0xaa);
		break;
	}
	dev->pending_cmd = 0;
}

static void i8042_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct i8042 *dev = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&dev->lock);
	if (offset == PORT_DATA)
		data[0] = pop(dev);
	else if (offset == PORT_CMD)
		data[0] = STATUS_SYS | STATUS_UNLOCKED | (dev->count ? STATUS_OBF : 0);
	pthread_mutex_unlock(&dev->lock);
}

static void i8042_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct i8042 *dev = opaque;

	(void)len;
	pthread_mutex_lock(&dev->lock);
	if (offset == PORT_DATA)
		data_write(dev, data[0]);
	else if (offset == PORT_CMD)
		command(dev, data[0]);
	pthread_mutex_unlock(&dev->lock);
}

const struct bus_device_ops i8042_ops = {
	.read = i8042_read,
	.write = i8042_write,
};

int i8042_init(struct i8042 *dev, int irq_fd, int reset_fd)
{
	memset(dev, 0, sizeof(*dev));
	if (pthread_mutex_init(&dev->lock, NULL))
		return -ENOMEM;
	dev->irq_fd = irq_fd;
	dev->reset_fd = reset_fd;
	dev->ctr = CTR_KBD_INT | CTR_SYS;
	dev->outp = 0x01; /* A20 gate and the reset line released */
	return 0;
}

void i8042_send_ctrl_alt_del(struct i8042 *dev)
{
	static const uint8_t keys[] = { 0x14, 0x11, 0xe0, 0x71 }; /* LCtrl, LAlt, E0 Delete */

	pthread_mutex_lock(&dev->lock);
	for (unsigned int i = 0; i < sizeof(keys); i++) {
		if (dev->count == I8042_BUF_SIZE)
			break;
		dev->buf[(dev->head + dev->count) % I8042_BUF_SIZE] = keys[i];
		dev->count++;
	}
	pthread_mutex_unlock(&dev->lock);
	event_notify(dev->irq_fd);
}

void i8042_destroy(struct i8042 *dev)
{
	pthread_mutex_destroy(&dev->lock);
}

void i8042_save(struct i8042 *dev, struct i8042_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&dev->lock);
	st->ctr = dev->ctr;
	st->outp = dev->outp;
	st->pending_cmd = dev->pending_cmd;
	st->count = (uint8_t)dev->count;
	for (unsigned int i = 0; i < dev->count; i++)
		st->buf[i] = dev->buf[(dev->head + i) % I8042_BUF_SIZE];
	pthread_mutex_unlock(&dev->lock);
}

int i8042_restore(struct i8042 *dev, const struct i8042_state *st)
{
	if (st->count > I8042_BUF_SIZE ||
	    (st->pending_cmd && st->pending_cmd != CMD_WRITE_CTR &&
	     st->pending_cmd != CMD_WRITE_OUTP))
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	dev->ctr = st->ctr;
	dev->outp = st->outp;
	dev->pending_cmd = st->pending_cmd;
	memcpy(dev->buf, st->buf, st->count);
	dev->head = 0;
	dev->count = st->count;
	pthread_mutex_unlock(&dev->lock);
	return 0;
}
