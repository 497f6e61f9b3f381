/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API thread -> VMM thread handoff (ARCHITECTURE.md "Threads and data
 * flow"): a queue plus an eventfd, as Firecracker's mpsc channel + eventfd.
 *
 *   API thread                        VMM thread (epoll loop)
 *   api_channel_submit(req, &resp)    epoll says api_channel_fd() is readable
 *     queues req, kicks the eventfd   api_channel_serve(ch, handler, ctx)
 *     waits ...                         handler(ctx, req, resp) per queued request
 *     <- resp filled                    marks each done, wakes its submitter
 *
 * Every call is synchronous for the submitter and never blocks the VMM
 * thread: serving takes the queue lock only to pop and to mark done, never
 * while the handler runs, and the submitter sleeps on a condition variable.
 *
 * Lifetime: create before the API server starts; the VMM thread adds
 * api_channel_fd() to its epoll set (EPOLLIN). api_channel_shutdown() is
 * final: queued and later submissions are answered with an error without
 * reaching the handler. Destroy only after every submitter has returned
 * (i.e. after api_server_stop()).
 */
#ifndef IGNIS_API_CHANNEL_H
#define IGNIS_API_CHANNEL_H

#include "api/response.h"
#include "api/router.h"

struct api_channel;

/*
 * Runs on the VMM thread, once per request, in submission order. It must
 * fill @resp with one of the api_response_* helpers (a handler that leaves
 * it untouched produces a 500). @req, its body included, is only valid for
 * the duration of the call: copy what you keep. The handler may block (a
 * snapshot takes as long as it takes) but the API thread is waiting for it.
 */
typedef void (*api_handler_fn)(void *ctx, const struct api_request *req,
			       struct api_response *resp);

/* 0 or -errno (eventfd/pthread set-up failure). */
int api_channel_create(struct api_channel **out);
void api_channel_destroy(struct api_channel *ch);

/* The eventfd the VMM thread polls for EPOLLIN. Owned by the channel. */
int api_channel_fd(const struct api_channel *ch);

/*
 * API thread (any thread but the VMM's): hands @req to the VMM thread and
 * blocks until it has answered into @resp. @resp is overwritten, not freed:
 * pass a fresh one and api_response_release() it afterwards.
 * Returns 0, or -ESHUTDOWN when the channel is shut down, in which case
 * @resp holds a 400 saying so and the handler never saw the request.
 */
int api_channel_submit(struct api_channel *ch, const struct api_request *req,
		       struct api_response *resp);

/*
 * VMM thread: clears the eventfd and runs @handler for every queued request.
 * Returns how many it served. Calling it when nothing is queued is harmless.
 */
int api_channel_serve(struct api_channel *ch, api_handler_fn handler, void *ctx);

/* Any thread: answers everything queued (and every later submit) with an error. */
void api_channel_shutdown(struct api_channel *ch);

#endif
