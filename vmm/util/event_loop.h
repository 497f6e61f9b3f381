/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM thread's epoll loop. A handler is embedded in the object that owns
 * the fd and recovered with container_of, so no registration allocates.
 */
#ifndef IGNIS_EVENT_LOOP_H
#define IGNIS_EVENT_LOOP_H

#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

struct event_handler {
	void (*fn)(struct event_handler *h, uint32_t events);
};

struct event_loop {
	int epfd;
};

/*
 * Adds one to an eventfd (an irqfd, a wake-up): any thread. A -1 fd is
 * ignored (devices built without KVM in tests); eventfd_write() only fails
 * on counter overflow, which a wake-up cannot reach.
 */
void event_notify(int fd);

int event_loop_init(struct event_loop *loop);
void event_loop_destroy(struct event_loop *loop);
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, struct event_handler *h);
int event_loop_mod(struct event_loop *loop, int fd, uint32_t events, struct event_handler *h);
int event_loop_del(struct event_loop *loop, int fd);
/* Waits up to @timeout_ms (-1: forever) and dispatches what is ready. */
int event_loop_run_once(struct event_loop *loop, int timeout_ms);

#endif
