/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/util/event_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EVENTS_PER_WAIT 16

void event_notify(int fd)
{
	if (fd >= 0)
		(void)eventfd_write(fd, 1);
}

int event_loop_init(struct event_loop *loop)
{
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	return loop->epfd < 0 ? -errno : 0;
}

void event_loop_destroy(struct event_loop *loop)
{
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->epfd = -1;
}

static int ctl(struct event_loop *loop, int op, int fd, uint32_t events, struct event_handler *h)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(loop->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, struct event_handler *h)
{
	return ctl(loop, EPOLL_CTL_ADD, fd, events, h);
}

int event_loop_mod(struct event_loop *loop, int fd, uint32_t events, struct event_handler *h)
{
	return ctl(loop, EPOLL_CTL_MOD, fd, events, h);
}

int event_loop_del(struct event_loop *loop, int fd)
{
	return ctl(loop, EPOLL_CTL_DEL, fd, 0, NULL);
}

int event_loop_run_once(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[EVENTS_PER_WAIT];
	int n = epoll_wait(loop->epfd, evs, EVENTS_PER_WAIT, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct event_handler *h = evs[i].data.ptr;

		h->fn(h, evs[i].events);
	}
	return n;
}
