/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/devices/serial.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vmm/util/event_loop.h"

/* Register offsets (DLAB = 0 unless noted). */
#define UART_RBR_THR 0
#define UART_IER_DLM 1
#define UART_IIR_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI  0x01
#define IER_THRI 0x02
#define IER_MASK 0x0f

#define IIR_NO_INT 0x01
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_FIFO   0xc0 /* "FIFOs enabled": what makes Linux see a 16550A */

#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR   0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI  0x40
#define MSR_DCD 0x80

/* What LSR and MSR hold for good: a transmitter always empty, a modem always there. */
#define SERIAL_LSR (LSR_THRE | LSR_TEMT)
#define SERIAL_MSR (MSR_DCD | MSR_DSR | MSR_CTS)

/* 115200 baud divisor, the power-on default Linux expects to read back. */
#define DEFAULT_DIVISOR 12

static uint8_t pending_iir(const struct serial *s)
{
	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_empty_pending)
		return IIR_THRI;
	return IIR_NO_INT;
}

static void rx_push(struct serial *s, uint8_t byte)
{
	if (s->rx_count == SERIAL_RX_FIFO_SIZE) {
		s->rx_dropped++;
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO_SIZE] = byte;
	s->rx_count++;
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t byte;

	if (!s->rx_count)
		return 0;
	/* The VMM stops reading input while the FIFO is full; wake it. */
	if (s->rx_count == SERIAL_RX_FIFO_SIZE)
		event_notify(s->rx_space_fd);
	byte = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO_SIZE;
	s->rx_count--;
	return byte;
}

/* Modem status as the guest sees it; in loopback it mirrors the MCR outputs. */
static uint8_t modem_status(const struct serial *s)
{
	uint8_t msr = 0;

	if (!(s->mcr & MCR_LOOP))
		return s->msr;
	if (s->mcr & 0x01)
		msr |= MSR_DSR;
	if (s->mcr & 0x02)
		msr |= MSR_CTS;
	if (s->mcr & 0x04)
		msr |= MSR_RI;
	if (s->mcr & 0x08)
		msr |= MSR_DCD;
	return msr;
}

static void transmit(struct serial *s, uint8_t byte)
{
	if (s->mcr & MCR_LOOP) {
		rx_push(s, byte);
	} else if (s->out_fd >= 0) {
		ssize_t n;

		do
			n = write(s->out_fd, &byte, 1);
		while (n < 0 && errno == EINTR);
		/*
		 * The fd is non-blocking (console_out.h): a full or closed console
		 * loses output, counted; the guest never stalls on it.
		 */
		if (n != 1)
			s->tx_missed++;
	}
	s->tx_bytes++;
	s->thr_empty_pending = 1;
}

static uint8_t reg_read(struct serial *s, unsigned int reg)
{
	uint8_t iir;

	switch (reg) {
	case UART_RBR_THR:
		return (s->lcr & LCR_DLAB) ? s->dll : rx_pop(s);
	case UART_IER_DLM:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR_FCR:
		iir = pending_iir(s);
		/* Reading IIR acknowledges a THRE interrupt (16550 datasheet). */
		if (iir == IIR_THRI)
			s->thr_empty_pending = 0;
		return iir | IIR_FIFO;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return (uint8_t)(s->lsr | (s->rx_count ? LSR_DR : 0));
	case UART_MSR:
		return modem_status(s);
	case UART_SCR:
		return s->scr;
	}
	return 0xff;
}

static void reg_write(struct serial *s, unsigned int reg, uint8_t val)
{
	uint8_t before = pending_iir(s);

	switch (reg) {
	case UART_RBR_THR:
		if (s->lcr & LCR_DLAB)
			s->dll = val;
		else
			transmit(s, val);
		break;
	case UART_IER_DLM:
		if (s->lcr & LCR_DLAB) {
			s->dlm = val;
			break;
		}
		/* Enabling THRI with the transmitter empty re-asserts THRE at once. */
		if (val & IER_THRI)
			s->thr_empty_pending = 1;
		s->ier = val & IER_MASK;
		break;
	case UART_IIR_FCR:
		s->fcr = val;
		if (val & 0x02) { /* clear receive FIFO */
			if (s->rx_count == SERIAL_RX_FIFO_SIZE)
				event_notify(s->rx_space_fd); /* as rx_pop() does */
			s->rx_head = 0;
			s->rx_count = 0;
		}
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		s->mcr = val & MCR_MASK;
		break;
	case UART_LSR:
	case UART_MSR:
		break; /* read-only */
	case UART_SCR:
		s->scr = val;
		break;
	}

	/* Each newly asserted condition is an edge; a THR write re-arms THRE. */
	if (pending_iir(s) != IIR_NO_INT &&
	    (before == IIR_NO_INT || (reg == UART_RBR_THR && !(s->lcr & LCR_DLAB)) ||
	     (reg == UART_IER_DLM && !(s->lcr & LCR_DLAB))))
		event_notify(s->irq_fd);
}

static void serial_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct serial *s = dev;

	memset(data, 0, len);
	if (offset >= SERIAL_PORT_SIZE)
		return;
	pthread_mutex_lock(&s->lock);
	data[0] = reg_read(s, (unsigned int)offset);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct serial *s = dev;

	(void)len; /* wider accesses write their low byte, as on the ISA bus */
	if (offset >= SERIAL_PORT_SIZE)
		return;
	pthread_mutex_lock(&s->lock);
	reg_write(s, (unsigned int)offset, data[0]);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_device_ops serial_ops = {
	.read = serial_read,
	.write = serial_write,
};

int serial_init(struct serial *s, int out_fd, int irq_fd)
{
	memset(s, 0, sizeof(*s));
	if (pthread_mutex_init(&s->lock, NULL))
		return -ENOMEM;
	s->out_fd = out_fd;
	s->irq_fd = irq_fd;
	s->rx_space_fd = -1;
	s->dll = DEFAULT_DIVISOR;
	s->lcr = 0x03; /* 8N1 */
	s->mcr = 0x08; /* OUT2: interrupts routed to the PIC */
	s->lsr = SERIAL_LSR;
	s->msr = SERIAL_MSR;
	s->thr_empty_pending = 0;
	return 0;
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

size_t serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;
	bool raise;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_count < SERIAL_RX_FIFO_SIZE)
		rx_push(s, buf[n++]);
	raise = n && (s->ier & IER_RDI);
	pthread_mutex_unlock(&s->lock);
	if (raise)
		event_notify(s->irq_fd);
	return n;
}

size_t serial_rx_space(struct serial *s)
{
	size_t space;

	pthread_mutex_lock(&s->lock);
	space = SERIAL_RX_FIFO_SIZE - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return space;
}

void serial_stats(struct serial *s, const struct device_stats_writer *w)
{
	uint64_t tx = 0, dropped = 0, missed = 0;

	if (s) {
		pthread_mutex_lock(&s->lock);
		tx = s->tx_bytes;
		dropped = s->rx_dropped;
		missed = s->tx_missed;
		pthread_mutex_unlock(&s->lock);
	}
	w->u64(w->ctx, "write_bytes", tx);
	w->u64(w->ctx, "rx_dropped", dropped);
	/* Firecracker's name: bytes the console did not take. */
	w->u64(w->ctx, "missed_write_count", missed);
}

void serial_save(struct serial *s, struct serial_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->lock);
	st->ier = s->ier;
	st->lcr = s->lcr;
	st->mcr = s->mcr;
	st->lsr = s->lsr;
	st->msr = s->msr;
	st->scr = s->scr;
	st->dll = s->dll;
	st->dlm = s->dlm;
	st->fcr = s->fcr;
	st->thr_empty_pending = s->thr_empty_pending;
	st->rx_count = (uint8_t)s->rx_count;
	for (unsigned int i = 0; i < s->rx_count; i++)
		st->rx[i] = s->rx[(s->rx_head + i) % SERIAL_RX_FIFO_SIZE];
	pthread_mutex_unlock(&s->lock);
}

int serial_restore(struct serial *s, const struct serial_state *st)
{
	if ((st->ier & ~IER_MASK) || (st->mcr & ~MCR_MASK) || st->thr_empty_pending > 1 ||
	    st->rx_count > SERIAL_RX_FIFO_SIZE)
		return -EINVAL;
	/*
	 * The UART never changes its stored LSR and MSR after serial_init: data
	 * ready is derived from the FIFO and loopback's MSR from MCR when read.
	 * So the only values it can save are the power-on ones, and anything
	 * else (data ready with an empty FIFO, a modem line down) is refused
	 * rather than recomputed: a state that differs here was not saved by
	 * this UART, and restore keeps every field it accepts.
	 */
	if (st->lsr != SERIAL_LSR || st->msr != SERIAL_MSR)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->ier = st->ier;
	s->lcr = st->lcr;
	s->mcr = st->mcr;
	s->lsr = st->lsr;
	s->msr = st->msr;
	s->scr = st->scr;
	s->dll = st->dll;
	s->dlm = st->dlm;
	s->fcr = st->fcr;
	s->thr_empty_pending = st->thr_empty_pending;
	memcpy(s->rx, st->rx, st->rx_count);
	s->rx_head = 0;
	s->rx_count = st->rx_count;
	pthread_mutex_unlock(&s->lock);
	return 0;
}
