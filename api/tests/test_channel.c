/* SPDX-License-Identifier: Apache-2.0 */
/* The API thread -> VMM thread handoff: submit on one thread, serve on another. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "api/channel.h"

struct submitter {
	pthread_t thread;
	struct api_channel *ch;
	struct api_request req;
	struct api_response resp;
	int ret;
	int rounds; /* >1: submit this many requests in a row, checking each answer */
	int wrong;  /* answers that were not for this submitter's request */
};

static void *submit_thread(void *arg)
{
	struct submitter *s = arg;
	int rounds = s->rounds ? s->rounds : 1;

	for (int i = 0; i < rounds; i++) {
		s->ret = api_channel_submit(s->ch, &s->req, &s->resp);
		if (rounds > 1) {
			json_t *json = json_loads(s->resp.body ? s->resp.body : "", 0, NULL);
			const char *id = json_string_value(json_object_get(json, "id"));

			s->wrong += !id || strcmp(id, s->req.id) != 0;
			json_decref(json);
			api_response_release(&s->resp);
		}
	}
	return NULL;
}

static void start_submitter(struct submitter *s, struct api_channel *ch, enum api_action action,
			    const char *id)
{
	memset(s, 0, sizeof(*s));
	s->ch = ch;
	s->req.action = action;
	snprintf(s->req.id, sizeof(s->req.id), "%s", id);
	cr_assert_eq(pthread_create(&s->thread, NULL, submit_thread, s), 0);
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

/* Serves until @n requests were handled (the VMM thread's epoll loop, in small). */
static void serve_n(struct api_channel *ch, int n, api_handler_fn handler, void *ctx)
{
	int served = 0;

	while (served < n) {
		cr_assert(readable(api_channel_fd(ch), 5000), "no kick after %d of %d", served, n);
		served += api_channel_serve(ch, handler, ctx);
	}
	cr_assert_eq(served, n);
}

struct seen {
	enum api_action action[16];
	char id[16][API_ID_MAX + 1];
	int n;
};

/* Records what it saw and echoes the id back. */
static void echo_handler(void *ctx, const struct api_request *req, struct api_response *resp)
{
	struct seen *seen = ctx;

	if (seen && seen->n < 16) {
		seen->action[seen->n] = req->action;
		memcpy(seen->id[seen->n], req->id, sizeof(req->id));
		seen->n++;
	}
	api_response_ok_json(resp, json_pack("{s:s, s:s}", "id", req->id, "action",
					     api_action_name(req->action)));
}

Test(channel, a_request_submitted_on_one_thread_is_served_on_another)
{
	struct api_channel *ch;
	struct submitter s;
	struct seen seen = { 0 };

	cr_assert_eq(api_channel_create(&ch), 0);
	start_submitter(&s, ch, API_PUT_DRIVE, "rootfs");
	serve_n(ch, 1, echo_handler, &seen);
	pthread_join(s.thread, NULL);

	cr_expect_eq(s.ret, 0);
	cr_expect_eq(seen.action[0], API_PUT_DRIVE);
	cr_expect_str_eq(seen.id[0], "rootfs");
	cr_expect_eq(s.resp.status, 200);
	cr_expect_str_eq(s.resp.body, "{\"id\":\"rootfs\",\"action\":\"PUT /drives/{id}\"}");
	api_response_release(&s.resp);
	api_channel_destroy(ch);
}

static void body_handler(void *ctx, const struct api_request *req, struct api_response *resp)
{
	(void)ctx;
	api_response_ok_json(resp, json_incref(req->body));
}

Test(channel, the_handler_sees_the_request_body)
{
	struct api_channel *ch;
	struct submitter s;

	cr_assert_eq(api_channel_create(&ch), 0);
	memset(&s, 0, sizeof(s));
	s.ch = ch;
	s.req.action = API_PUT_BOOT_SOURCE;
	s.req.body = json_pack("{s:s}", "kernel_image_path", "/vmlinux");
	cr_assert_eq(pthread_create(&s.thread, NULL, submit_thread, &s), 0);
	serve_n(ch, 1, body_handler, NULL);
	pthread_join(s.thread, NULL);
	cr_expect_str_eq(s.resp.body, "{\"kernel_image_path\":\"/vmlinux\"}");
	api_response_release(&s.resp);
	json_decref(s.req.body);
	api_channel_destroy(ch);
}

Test(channel, serving_with_nothing_queued_does_nothing)
{
	struct api_channel *ch;

	cr_assert_eq(api_channel_create(&ch), 0);
	cr_expect_not(readable(api_channel_fd(ch), 0), "kicked with nothing queued");
	cr_expect_eq(api_channel_serve(ch, echo_handler, NULL), 0);
	api_channel_destroy(ch);
}

Test(channel, serving_clears_the_kick)
{
	struct api_channel *ch;
	struct submitter s;

	cr_assert_eq(api_channel_create(&ch), 0);
	start_submitter(&s, ch, API_GET_VERSION, "");
	serve_n(ch, 1, echo_handler, NULL);
	pthread_join(s.thread, NULL);
	cr_expect_not(readable(api_channel_fd(ch), 0), "still kicked after serving");
	api_response_release(&s.resp);
	api_channel_destroy(ch);
}

static void silent_handler(void *ctx, const struct api_request *req, struct api_response *resp)
{
	(void)ctx;
	(void)req;
	(void)resp;
}

Test(channel, a_handler_that_does_not_answer_yields_a_500)
{
	struct api_channel *ch;
	struct submitter s;

	cr_assert_eq(api_channel_create(&ch), 0);
	start_submitter(&s, ch, API_PATCH_VM, "");
	serve_n(ch, 1, silent_handler, NULL);
	pthread_join(s.thread, NULL);
	cr_expect_eq(s.ret, 0);
	cr_expect_eq(s.resp.status, 500);
	cr_expect_not_null(strstr(s.resp.body, "PATCH /vm was not answered"), "%s", s.resp.body);
	api_response_release(&s.resp);
	api_channel_destroy(ch);
}

/*
 * Waits until @n submissions are queued and unserved: each kicks the eventfd
 * once, so its counter says how many (read it, then put it back).
 */
static void wait_queued(struct api_channel *ch, uint64_t n)
{
	int fd = api_channel_fd(ch);

	for (int tries = 0; tries < 5000; tries++) {
		uint64_t count = 0;
		ssize_t r = read(fd, &count, sizeof(count));

		if (r == sizeof(count)) {
			r = write(fd, &count, sizeof(count));
			cr_assert_eq(r, (ssize_t)sizeof(count));
		}
		if (count >= n)
			return;
		usleep(1000);
	}
	cr_assert_fail("%llu submissions never got queued", (unsigned long long)n);
}

Test(channel, queued_requests_are_served_in_submission_order)
{
	struct api_channel *ch;
	struct submitter s[3];
	struct seen seen = { 0 };
	static const char *const ids[] = { "first", "second", "third" };

	cr_assert_eq(api_channel_create(&ch), 0);
	for (int i = 0; i < 3; i++) {
		start_submitter(&s[i], ch, API_PUT_DRIVE, ids[i]);
		wait_queued(ch, (uint64_t)i + 1);
	}
	serve_n(ch, 3, echo_handler, &seen);
	for (int i = 0; i < 3; i++) {
		pthread_join(s[i].thread, NULL);
		cr_expect_str_eq(seen.id[i], ids[i]);
		api_response_release(&s[i].resp);
	}
	api_channel_destroy(ch);
}

Test(channel, many_submitters_each_get_their_own_answer)
{
	enum { SUBMITTERS = 4, ROUNDS = 200 };
	struct api_channel *ch;
	struct submitter s[SUBMITTERS];

	cr_assert_eq(api_channel_create(&ch), 0);
	for (int i = 0; i < SUBMITTERS; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].ch = ch;
		s[i].rounds = ROUNDS;
		s[i].req.action = API_GET_INSTANCE_INFO;
		snprintf(s[i].req.id, sizeof(s[i].req.id), "s%d", i);
		cr_assert_eq(pthread_create(&s[i].thread, NULL, submit_thread, &s[i]), 0);
	}
	serve_n(ch, SUBMITTERS * ROUNDS, echo_handler, NULL);
	for (int i = 0; i < SUBMITTERS; i++) {
		pthread_join(s[i].thread, NULL);
		cr_expect_eq(s[i].wrong, 0, "submitter %d got %d answers meant for others", i,
			     s[i].wrong);
	}
	api_channel_destroy(ch);
}

Test(channel, shutdown_answers_a_waiting_submitter)
{
	struct api_channel *ch;
	struct submitter s;

	cr_assert_eq(api_channel_create(&ch), 0);
	start_submitter(&s, ch, API_PUT_ACTIONS, "");
	cr_assert(readable(api_channel_fd(ch), 5000), "never queued");
	api_channel_shutdown(ch);
	pthread_join(s.thread, NULL);
	cr_expect_eq(s.ret, -ESHUTDOWN);
	cr_expect_eq(s.resp.status, 400);
	cr_expect_not_null(strstr(s.resp.body, "shutting down"), "%s", s.resp.body);
	cr_expect_eq(api_channel_serve(ch, echo_handler, NULL), 0, "served after shutdown");
	api_response_release(&s.resp);
	api_channel_destroy(ch);
}

Test(channel, submitting_after_shutdown_fails_at_once)
{
	struct api_channel *ch;
	struct api_request req = { .action = API_GET_VERSION };
	struct api_response resp = { 0 };

	cr_assert_eq(api_channel_create(&ch), 0);
	api_channel_shutdown(ch);
	cr_expect_eq(api_channel_submit(ch, &req, &resp), -ESHUTDOWN);
	cr_expect_eq(resp.status, 400);
	api_response_release(&resp);
	api_channel_destroy(ch);
}
