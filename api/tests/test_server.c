/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's lifecycle in-process: the socket file rules, the API thread,
 * a request's way through router and channel, and stopping without
 * deadlocking on a request the VMM never answers. The HTTP details (limits,
 * malformed input, pipelining, many clients) are in test_api_http.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "api/client.h"
#include "api/server.h"

static char dir[64];
static char sock[128];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ignis-api-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
}

static void remove_dir(void)
{
	unlink(sock);
	rmdir(dir);
}

TestSuite(server, .init = make_dir, .fini = remove_dir);

/* A stand-in VMM thread: serves the channel until its stop eventfd fires. */
struct vmm_thread {
	pthread_t thread;
	struct api_channel *ch;
	int stop_fd;
	int served;
};

static void handler(void *ctx, const struct api_request *req, struct api_response *resp)
{
	struct vmm_thread *vmm = ctx;

	vmm->served++;
	if (req->action == API_GET_INSTANCE_INFO)
		api_response_ok_json(resp, json_pack("{s:s}", "state", "Not started"));
	else
		api_response_no_content(resp);
}

static void *vmm_loop(void *arg)
{
	struct vmm_thread *vmm = arg;
	struct pollfd fds[2] = {
		{ .fd = api_channel_fd(vmm->ch), .events = POLLIN },
		{ .fd = vmm->stop_fd, .events = POLLIN },
	};

	while (poll(fds, 2, -1) >= 0 && !(fds[1].revents & POLLIN))
		if (fds[0].revents & POLLIN)
			api_channel_serve(vmm->ch, handler, vmm);
	return NULL;
}

static void vmm_start(struct vmm_thread *vmm, struct api_channel *ch)
{
	memset(vmm, 0, sizeof(*vmm));
	vmm->ch = ch;
	vmm->stop_fd = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(vmm->stop_fd, 0);
	cr_assert_eq(pthread_create(&vmm->thread, NULL, vmm_loop, vmm), 0);
}

static void vmm_stop(struct vmm_thread *vmm)
{
	uint64_t one = 1;

	cr_assert_eq(write(vmm->stop_fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	pthread_join(vmm->thread, NULL);
	close(vmm->stop_fd);
}

static struct api_server *start(struct api_channel *ch)
{
	struct api_server_config cfg = { .socket_path = sock, .channel = ch };
	struct err_buf err = { "" };
	struct api_server *srv = NULL;
	int ret = api_server_start(&srv, &cfg, &err);

	cr_assert_eq(ret, 0, "api_server_start: %d %s", ret, err.msg);
	return srv;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

Test(server, serves_a_request_through_router_and_channel)
{
	struct api_channel *ch;
	struct api_server *srv;
	struct vmm_thread vmm;
	struct api_client cl;
	struct api_client_response resp;

	cr_assert_eq(api_channel_create(&ch), 0);
	srv = start(ch);
	vmm_start(&vmm, ch);
	cr_assert_eq(api_client_connect(&cl, sock, 5000), 0);

	cr_assert_eq(api_client_request(&cl, "GET", "/", NULL, &resp), 0);
	cr_expect_eq(resp.status, 200);
	cr_expect_str_eq(resp.body, "{\"state\":\"Not started\"}");
	api_client_response_release(&resp);

	cr_assert_eq(api_client_request(&cl, "PUT", "/nowhere", NULL, &resp), 0);
	cr_expect_eq(resp.status, 400, "router errors answered on the same connection");
	cr_expect_str_eq(resp.body, "{\"fault_message\":\"Empty PUT request.\"}");
	api_client_response_release(&resp);

	cr_assert_eq(api_client_request(&cl, "PATCH", "/vm", "{\"state\": \"Paused\"}", &resp), 0);
	cr_expect_eq(resp.status, 204);
	cr_expect_null(resp.body);
	api_client_response_release(&resp);

	cr_expect_eq(vmm.served, 2, "the router error never reached the VMM");
	api_client_close(&cl);
	vmm_stop(&vmm);
	api_server_stop(srv);
	api_channel_destroy(ch);
}

Test(server, stop_unlinks_the_socket)
{
	struct api_channel *ch;
	struct api_server *srv;

	cr_assert_eq(api_channel_create(&ch), 0);
	srv = start(ch);
	cr_expect(exists(sock));
	api_server_stop(srv);
	cr_expect_not(exists(sock), "socket file left behind");
	api_channel_destroy(ch);
}

Test(server, a_live_socket_is_in_use)
{
	struct api_channel *ch, *ch2;
	struct api_server *srv, *srv2 = NULL;
	struct api_server_config cfg = { .socket_path = sock };
	struct err_buf err = { "" };

	cr_assert_eq(api_channel_create(&ch), 0);
	cr_assert_eq(api_channel_create(&ch2), 0);
	srv = start(ch);
	cfg.channel = ch2;
	cr_expect_eq(api_server_start(&srv2, &cfg, &err), -EADDRINUSE);
	cr_expect_not_null(strstr(err.msg, "socket in use"), "%s", err.msg);
	cr_expect_not_null(strstr(err.msg, sock), "%s", err.msg);
	cr_expect(exists(sock), "the live socket was removed");
	api_server_stop(srv);
	api_channel_destroy(ch);
	api_channel_destroy(ch2);
}

Test(server, a_stale_socket_is_replaced)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct api_channel *ch;
	struct api_server *srv;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memcpy(addr.sun_path, sock, strlen(sock) + 1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd); /* the file stays, nobody listens: what a crashed VMM leaves */
	cr_assert(exists(sock));

	cr_assert_eq(api_channel_create(&ch), 0);
	srv = start(ch);
	api_server_stop(srv);
	api_channel_destroy(ch);
}

Test(server, a_path_that_is_not_a_socket_is_left_alone)
{
	struct api_server_config cfg = { .socket_path = sock };
	struct api_channel *ch;
	struct api_server *srv = NULL;
	struct err_buf err = { "" };
	int fd = open(sock, O_CREAT | O_WRONLY, 0600);

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(api_channel_create(&ch), 0);
	cfg.channel = ch;
	cr_expect_eq(api_server_start(&srv, &cfg, &err), -EEXIST);
	cr_expect_not_null(strstr(err.msg, "not a socket"), "%s", err.msg);
	cr_expect(exists(sock), "a regular file was removed");
	api_channel_destroy(ch);
}

Test(server, a_socket_path_too_long_is_refused)
{
	struct api_server_config cfg = { 0 };
	struct api_channel *ch;
	struct api_server *srv = NULL;
	struct err_buf err = { "" };
	char path[200];

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	cr_assert_eq(api_channel_create(&ch), 0);
	cfg.socket_path = path;
	cfg.channel = ch;
	cr_expect_eq(api_server_start(&srv, &cfg, &err), -ENAMETOOLONG);
	cr_expect_not_null(strstr(err.msg, "too long"), "%s", err.msg);
	api_channel_destroy(ch);
}

static int refuse_init(void *ctx, struct err_buf *err)
{
	char name[16] = "";

	pthread_getname_np(pthread_self(), name, sizeof(name));
	*(int *)ctx = strcmp(name, "api") == 0;
	return err_set(err, -EPERM, "seccomp says no");
}

Test(server, thread_init_runs_on_the_api_thread_and_can_refuse)
{
	struct api_server_config cfg = { .socket_path = sock };
	struct api_channel *ch;
	struct api_server *srv = NULL;
	struct err_buf err = { "" };
	int named_api = 0;

	cr_assert_eq(api_channel_create(&ch), 0);
	cfg.channel = ch;
	cfg.thread_init = refuse_init;
	cfg.thread_init_ctx = &named_api;
	cr_expect_eq(api_server_start(&srv, &cfg, &err), -EPERM);
	cr_expect_str_eq(err.msg, "seccomp says no");
	cr_expect(named_api, "thread_init did not run on a thread named \"api\"");
	cr_expect_not(exists(sock), "socket left behind by a failed start");
	api_channel_destroy(ch);
}

struct blocked_client {
	pthread_t thread;
	int ret;
	struct api_client_response resp;
};

static void *request_thread(void *arg)
{
	struct blocked_client *b = arg;
	struct api_client cl;

	b->ret = api_client_connect(&cl, sock, 10000);
	if (!b->ret)
		b->ret = api_client_request(&cl, "PUT", "/actions",
					    "{\"action_type\": \"InstanceStart\"}", &b->resp);
	api_client_close(&cl);
	return NULL;
}

Test(server, stop_does_not_wait_for_a_vmm_that_never_answers)
{
	struct api_channel *ch;
	struct api_server *srv;
	struct blocked_client b = { 0 };

	cr_assert_eq(api_channel_create(&ch), 0);
	srv = start(ch);
	cr_assert_eq(pthread_create(&b.thread, NULL, request_thread, &b), 0);
	/* Nobody serves the channel: the request is stuck until it is queued... */
	struct pollfd p = { .fd = api_channel_fd(ch), .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 5000), 1, "the request never reached the channel");
	/* ...and stopping (as the VMM thread would) answers it instead of deadlocking. */
	api_server_stop(srv);
	pthread_join(b.thread, NULL);
	cr_expect_eq(b.ret, 0, "client error %d", b.ret);
	cr_expect_eq(b.resp.status, 400);
	cr_expect_not_null(b.resp.body && strstr(b.resp.body, "shutting down"), "%s",
			   b.resp.body ? b.resp.body : "(none)");
	api_client_response_release(&b.resp);
	api_channel_destroy(ch);
}

struct observed {
	int count;
	char last[64];
	enum api_action action;
	int status;
};

static void observe(void *ctx, const struct api_request_event *ev)
{
	struct observed *o = ctx;

	o->count++;
	snprintf(o->last, sizeof(o->last), "%s %s", ev->method, ev->target);
	o->action = ev->action;
	o->status = ev->status;
}

Test(server, every_response_is_reported_to_the_observer)
{
	struct api_server_config cfg = { .socket_path = sock };
	struct observed o = { 0 };
	struct api_channel *ch;
	struct api_server *srv = NULL;
	struct err_buf err = { "" };
	struct vmm_thread vmm;
	struct api_client cl;
	struct api_client_response resp;

	cr_assert_eq(api_channel_create(&ch), 0);
	cfg.channel = ch;
	cfg.on_request = observe;
	cfg.on_request_ctx = &o;
	cr_assert_eq(api_server_start(&srv, &cfg, &err), 0, "%s", err.msg);
	vmm_start(&vmm, ch);
	cr_assert_eq(api_client_connect(&cl, sock, 5000), 0);

	cr_assert_eq(api_client_request(&cl, "PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\"}",
					&resp), 0);
	api_client_response_release(&resp);
	cr_expect_str_eq(o.last, "PUT /drives/rootfs");
	cr_expect_eq(o.action, API_PUT_DRIVE);
	cr_expect_eq(o.status, 204);

	cr_assert_eq(api_client_request(&cl, "GET", "/nowhere", NULL, &resp), 0);
	api_client_response_release(&resp);
	cr_expect_eq(o.action, API_ACTION_NONE, "a router error never reached the VMM");
	cr_expect_eq(o.status, 400);
	cr_expect_eq(o.count, 2);

	api_client_close(&cl);
	vmm_stop(&vmm);
	api_server_stop(srv);
	api_channel_destroy(ch);
}
