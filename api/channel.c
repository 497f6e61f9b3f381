/* SPDX-License-Identifier: Apache-2.0 */
#include "api/channel.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Lives on the submitter's stack for as long as it waits. */
struct pending {
	const struct api_request *req;
	struct api_response *resp;
	bool done;
	struct pending *next;
};

struct api_channel {
	int efd;
	pthread_mutex_t lock;
	pthread_cond_t answered; /* broadcast whenever a pending request is done */
	struct pending *head, *tail;
	bool shut_down;
};

#define SHUTDOWN_MESSAGE "The microVM is shutting down; the request was not processed."

int api_channel_create(struct api_channel **out)
{
	struct api_channel *ch = calloc(1, sizeof(*ch));
	int ret;

	if (!ch)
		return -ENOMEM;
	ch->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ch->efd < 0) {
		ret = -errno;
		goto err_free;
	}
	ret = -pthread_mutex_init(&ch->lock, NULL);
	if (ret)
		goto err_close;
	ret = -pthread_cond_init(&ch->answered, NULL);
	if (ret)
		goto err_mutex;
	*out = ch;
	return 0;

err_mutex:
	pthread_mutex_destroy(&ch->lock);
err_close:
	close(ch->efd);
err_free:
	free(ch);
	return ret;
}

void api_channel_destroy(struct api_channel *ch)
{
	if (!ch)
		return;
	pthread_cond_destroy(&ch->answered);
	pthread_mutex_destroy(&ch->lock);
	close(ch->efd);
	free(ch);
}

int api_channel_fd(const struct api_channel *ch)
{
	return ch->efd;
}

static void kick(struct api_channel *ch)
{
	uint64_t one = 1;
	ssize_t n = write(ch->efd, &one, sizeof(one));

	(void)n; /* can only fail with EAGAIN: the counter is non-zero, the VMM will look */
}

int api_channel_submit(struct api_channel *ch, const struct api_request *req,
		       struct api_response *resp)
{
	struct pending p = { .req = req, .resp = resp };

	*resp = (struct api_response){ 0 };
	pthread_mutex_lock(&ch->lock);
	if (ch->shut_down) {
		pthread_mutex_unlock(&ch->lock);
		api_response_error(resp, 400, SHUTDOWN_MESSAGE);
		return -ESHUTDOWN;
	}
	if (ch->tail)
		ch->tail->next = &p;
	else
		ch->head = &p;
	ch->tail = &p;
	pthread_mutex_unlock(&ch->lock);

	kick(ch);

	pthread_mutex_lock(&ch->lock);
	while (!p.done)
		pthread_cond_wait(&ch->answered, &ch->lock);
	pthread_mutex_unlock(&ch->lock);
	/* Shutdown answered it without the handler: tell the caller which happened. */
	return p.req ? 0 : -ESHUTDOWN;
}

static struct pending *pop(struct api_channel *ch)
{
	struct pending *p;

	pthread_mutex_lock(&ch->lock);
	p = ch->head;
	if (p) {
		ch->head = p->next;
		if (!ch->head)
			ch->tail = NULL;
	}
	pthread_mutex_unlock(&ch->lock);
	return p;
}

static void finish(struct api_channel *ch, struct pending *p)
{
	pthread_mutex_lock(&ch->lock);
	p->done = true;
	pthread_cond_broadcast(&ch->answered);
	pthread_mutex_unlock(&ch->lock);
}

int api_channel_serve(struct api_channel *ch, api_handler_fn handler, void *ctx)
{
	struct pending *p;
	uint64_t count;
	int served = 0;
	/* Clear the kick first: a submit racing with this loop re-arms it. */
	ssize_t n = read(ch->efd, &count, sizeof(count));

	(void)n; /* EAGAIN: a spurious call, nothing queued */
	while ((p = pop(ch))) {
		handler(ctx, p->req, p->resp);
		if (p->resp->status == 0)
			api_response_error(p->resp, 500,
					   "Internal error: %s was not answered by the VMM.",
					   api_action_name(p->req->action));
		finish(ch, p);
		served++;
	}
	return served;
}

void api_channel_shutdown(struct api_channel *ch)
{
	struct pending *p;

	pthread_mutex_lock(&ch->lock);
	ch->shut_down = true;
	while ((p = ch->head)) {
		ch->head = p->next;
		api_response_error(p->resp, 400, SHUTDOWN_MESSAGE);
		p->req = NULL; /* marks "not served" for api_channel_submit's return value */
		p->done = true;
	}
	ch->tail = NULL;
	pthread_cond_broadcast(&ch->answered);
	pthread_mutex_unlock(&ch->lock);
}
