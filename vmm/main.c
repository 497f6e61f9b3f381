/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ignis: wiring only; the command line is cli.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "api/channel.h"
#include "api/models/config_file.h"
#include "api/server.h"
#include "vmm/config/config.h"
#include "vmm/controller.h"
#include "vmm/controller_snapshot.h"
#include "vmm/kvm/vcpu.h"
#include "vmm/security/seccomp.h"
#include "vmm/util/clock.h"
#include "vmm/util/log.h"
#include "vmm/vmm.h"

#include "vmm/cli.h"

static int setup_logging(const struct cli *cli)
{
	enum log_level level = LOG_INFO;
	FILE *out = NULL;

	if (cli->level && log_level_parse(cli->level, &level)) {
		fprintf(stderr, "ignis: invalid --level `%s`\n", cli->level);
		return -EINVAL;
	}
	if (cli->log_path) {
		/* A FIFO without a reader opens at once, never blocks a line (log.h). */
		int fd = log_sink_open(cli->log_path);

		if (fd >= 0 && !(out = fdopen(fd, "a"))) {
			close(fd);
			fd = -ENOMEM;
		}
		if (fd < 0) {
			fprintf(stderr, "ignis: cannot open log %s: %s\n", cli->log_path,
				strerror(-fd));
			return fd;
		}
		setvbuf(out, NULL, _IOLBF, 0);
	}
	log_configure(level, out, cli->show_level, cli->show_log_origin);
	return 0;
}

/* Blocks the stop signals in every thread and returns a signalfd for them. */
static int setup_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	/* vCPU threads unblock the kick signal themselves; keep it blocked here. */
	sigemptyset(&set);
	sigaddset(&set, vcpu_kick_signal());
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (vcpu_signals_init())
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Raw terminal so keys reach the guest as typed; restored on every exit path. */
static bool tty_make_raw(struct termios *saved)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, saved) != 0)
		return false;
	raw = *saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_iflag &= ~(tcflag_t)(ICRNL);
	return tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

/*
 * Compiles the per-thread seccomp filters (seccomp.h) into @filters: the
 * --seccomp-filter policy or the built-in one. *@enabled false: none
 * (--no-seccomp). Sanitizer builds are filtered too: their filters add what
 * the sanitizer runtimes call (docs/seccomp.md). 0 or -errno.
 */
static int setup_seccomp(const struct cli *cli, struct seccomp_filters *filters, bool *enabled)
{
	struct err_buf err = { "" };
	int ret;

	*enabled = false;
	memset(filters, 0, sizeof(*filters));
	if (cli->no_seccomp)
		return 0;
	ret = cli->seccomp_filter ? seccomp_filters_from_file(filters, cli->seccomp_filter, &err)
				  : seccomp_filters_default(filters, vcpu_kick_signal(), &err);
	if (ret) {
		pr_err("bad seccomp filter: %s", err.msg);
		return ret;
	}
	ret = seccomp_sigsys_init();
	if (ret) {
		pr_err("cannot install the SIGSYS handler: %s", strerror(-ret));
		seccomp_filters_free(filters);
		return ret;
	}
	*enabled = true;
	return 0;
}

static void print_seccomp_stats(const struct seccomp_filters *filters)
{
	for (int t = 0; t < SECCOMP_THREAD_COUNT; t++)
		printf("%s: %u syscalls, %u rules, %u BPF instructions\n", seccomp_thread_name(t),
		       filters->thread[t].nr_syscalls, filters->thread[t].nr_rules,
		       filters->thread[t].len);
}

/* Firecracker's install point for the VMM thread: right after the microVM is built. */
static int filter_vmm_thread(const struct seccomp_filters *filters)
{
	int ret = seccomp_install(filters, SECCOMP_THREAD_VMM);

	if (ret)
		pr_err("cannot install the VMM thread's seccomp filter: %s", strerror(-ret));
	return ret;
}

/* The API server's thread_init: the API thread filters itself before serving. */
static int filter_api_thread(void *ctx, struct err_buf *err)
{
	int ret = seccomp_install(ctx, SECCOMP_THREAD_API);

	return ret ? err_set(err, ret, "seccomp filter: %s", strerror(-ret)) : 0;
}

/* The API channel's eventfd, served on the VMM thread by the controller. */
struct api_glue {
	struct event_handler handler;
	struct api_channel *channel;
	struct controller *controller;
	const struct seccomp_filters *seccomp; /* NULL: seccomp off */
	bool vmm_filtered;
};

static void on_api_request(struct event_handler *h, uint32_t events)
{
	struct api_glue *g = container_of(h, struct api_glue, handler);

	(void)events;
	api_channel_serve(g->channel, controller_handle, g->controller);
	/* InstanceStart succeeded (and was answered): the VMM thread filters itself. */
	if (g->controller->vmm->vm && !g->vmm_filtered) {
		g->vmm_filtered = true;
		if (filter_vmm_thread(g->seccomp))
			vmm_request_exit(g->controller->vmm, EXIT_GENERIC);
	}
}

/* Starts the API server; everything it needs outlives it. 0 or -errno. */
static int start_api(const struct cli *cli, struct vmm *vmm, struct api_glue *glue,
		     struct api_server **server, struct err_buf *err)
{
	struct api_server_config cfg = {
		.socket_path = cli->api_sock,
		.max_payload_size = cli->max_payload,
		.typed_commands = true,
		.on_request = metrics_record_api,
		.on_request_ctx = &glue->controller->metrics,
		.thread_init = glue->seccomp ? filter_api_thread : NULL,
		.thread_init_ctx = (void *)glue->seccomp,
	};
	int ret;

	ret = api_channel_create(&glue->channel);
	if (ret)
		return err_set(err, ret, "API channel: %s", strerror(-ret));
	cfg.channel = glue->channel;
	glue->handler.fn = on_api_request;
	ret = event_loop_add(&vmm->loop, api_channel_fd(glue->channel), EPOLLIN, &glue->handler);
	if (ret)
		return err_set(err, ret, "epoll: %s", strerror(-ret));
	return api_server_start(server, &cfg, err);
}

static void stop_api(struct vmm *vmm, struct api_glue *glue, struct api_server *server)
{
	if (glue->channel)
		api_channel_shutdown(glue->channel);
	if (server)
		api_server_stop(server);
	if (glue->channel) {
		event_loop_del(&vmm->loop, api_channel_fd(glue->channel));
		api_channel_destroy(glue->channel);
		glue->channel = NULL;
	}
}

/* The VMM, watching @sfd for the stop signals, its console on stdin/stdout. 0 or -errno. */
static int setup_vmm(const struct cli *cli, int sfd, uint64_t start_wall, uint64_t start_cpu,
		     const struct seccomp_filters *seccomp, struct vmm **out)
{
	struct err_buf err = { "" };
	struct vmm_opts opts = {
		.id = cli->id,
		.boot_timer = cli->boot_timer,
		.console_in_fd = STDIN_FILENO,
		.console_out_fd = STDOUT_FILENO,
		.signal_fd = sfd,
		.start_wall_us = start_wall,
		.start_cpu_us = start_cpu,
		.seccomp = seccomp,
	};
	struct vmm *vmm = malloc(sizeof(*vmm));
	int ret;

	if (!vmm) {
		pr_err("out of memory");
		return -ENOMEM;
	}
	ret = vmm_init(vmm, &opts, &err);
	if (ret) {
		pr_err("cannot set up the VMM: %s", err.msg);
		free(vmm);
		return ret;
	}
	*out = vmm;
	return 0;
}

/*
 * The controller (into @glue, from the first step on, so that main() frees
 * it on any failure), --metrics-path, and the API server unless --no-api.
 * 0 or -errno.
 */
static int setup_controller(const struct cli *cli, struct vmm *vmm, uint64_t start_wall,
			    uint64_t start_cpu, struct api_glue *glue, struct api_server **server)
{
	struct err_buf err = { "" };
	struct controller *controller = malloc(sizeof(*controller));
	int ret;

	if (!controller)
		return -ENOMEM;
	controller_init(controller, vmm, clock_us(CLOCK_MONOTONIC) - start_wall,
			clock_us(CLOCK_PROCESS_CPUTIME_ID) - start_cpu);
	glue->controller = controller;
	if (cli->metrics_path) {
		ret = controller_set_metrics(controller, cli->metrics_path, &err);
		if (ret) {
			pr_err("%s", err.msg);
			return ret;
		}
	}
	if (cli->no_api)
		return 0;
	ret = start_api(cli, vmm, glue, server, &err);
	if (ret) {
		pr_err("cannot start the API server on %s: %s", cli->api_sock, err.msg);
		return ret;
	}
	pr_info("API server listening on %s (startup %llu us, %llu CPU us)", cli->api_sock,
		(unsigned long long)(clock_us(CLOCK_MONOTONIC) - start_wall),
		(unsigned long long)(clock_us(CLOCK_PROCESS_CPUTIME_ID) - start_cpu));
	return 0;
}

/* --config-file: configures and starts the microVM. 0 or -errno. */
/* The config file's logger and metrics sections, as PUT /logger and PUT /metrics. */
static int apply_extras(const struct config_file_extras *ex, struct controller *controller,
			struct err_buf *err)
{
	const struct logger_command *l = &ex->logger;
	int ret = 0;

	if (ex->has_logger)
		ret = log_reconfigure(l->log_path, l->level, l->show_level, l->show_origin, err);
	if (!ret && ex->has_metrics)
		ret = controller_set_metrics(controller, ex->metrics.metrics_path, err);
	return ret;
}

static int start_from_config(const struct cli *cli, struct vmm *vmm, struct controller *controller)
{
	struct config_file_extras extras = { 0 };
	struct err_buf err = { "" };
	int ret;

	ret = vm_config_parse_file_ext(&vmm->config, &extras, cli->config_file, &err);
	if (!ret)
		ret = apply_extras(&extras, controller, &err);
	config_file_extras_free(&extras);
	if (ret) {
		pr_err("bad configuration: %s", err.msg);
		return ret;
	}
	controller->boot_resources_configured = true;
	ret = controller_check_config(&vmm->config, &err);
	if (!ret)
		ret = vmm_start(vmm, &err);
	if (ret) {
		pr_err("cannot build the microVM: %s", err.msg);
		return ret;
	}
	metrics_flush(&controller->metrics, vmm);
	return 0;
}

/* Runs the microVM until it stops, with the terminal raw meanwhile. Its exit code. */
static int run_vmm(const struct cli *cli, struct vmm *vmm, struct controller *controller)
{
	struct termios saved_tty;
	bool tty_raw;
	int code;

	tty_raw = tty_make_raw(&saved_tty);
	code = vmm_run(vmm);
	if (tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	pr_info("microVM %s stopped, exit code %d", cli->id, code);
	metrics_flush(&controller->metrics, vmm);
	return code;
}

int main(int argc, char **argv)
{
	uint64_t start_wall = clock_us(CLOCK_MONOTONIC);
	uint64_t start_cpu = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	struct api_glue glue = { 0 };
	struct api_server *server = NULL;
	struct err_buf prewarm_err = { "" };
	struct seccomp_filters filters;
	bool seccomp_on;
	struct vmm *vmm;
	struct cli cli;
	int sfd, code;

	/* jansson seeds its hashes from /dev/urandom on first use: do it before any filter. */
	json_object_seed(0);
	if (cli_parse(argc, argv, &cli))
		return EXIT_ARG_PARSING;
	if (setup_logging(&cli))
		return EXIT_ARG_PARSING;
	if (setup_seccomp(&cli, &filters, &seccomp_on))
		return EXIT_BAD_CONFIGURATION;
	if (cli.print_seccomp_stats) {
		if (seccomp_on)
			print_seccomp_stats(&filters);
		else
			printf("seccomp is off\n");
		seccomp_filters_free(&filters);
		return EXIT_OK;
	}
	glue.seccomp = seccomp_on ? &filters : NULL;
	sfd = setup_signals();
	if (sfd < 0) {
		pr_err("cannot set up signal handling: %s", strerror(-sfd));
		return EXIT_GENERIC;
	}
	if (setup_vmm(&cli, sfd, start_wall, start_cpu, glue.seccomp, &vmm)) {
		close(sfd);
		seccomp_filters_free(&filters);
		return EXIT_GENERIC;
	}
	/* Before the API listens: its socket appearing means the process is ready to load. */
	if (cli.prewarm && controller_snapshot_prewarm(vmm, cli.prewarm, &prewarm_err)) {
		pr_err("--prewarm %s: %s", cli.prewarm, prewarm_err.msg);
		code = EXIT_BAD_CONFIGURATION;
		goto out;
	}
	if (setup_controller(&cli, vmm, start_wall, start_cpu, &glue, &server)) {
		code = EXIT_GENERIC;
		goto out;
	}
	/* A config file configures and starts the microVM, with or without the API. */
	if (cli.config_file) {
		if (start_from_config(&cli, vmm, glue.controller)) {
			code = EXIT_BAD_CONFIGURATION;
			goto out;
		}
		glue.vmm_filtered = true;
		if (filter_vmm_thread(glue.seccomp)) {
			code = EXIT_GENERIC;
			goto out;
		}
	}
	code = run_vmm(&cli, vmm, glue.controller);
out:
	stop_api(vmm, &glue, server);
	if (glue.controller) {
		controller_destroy(glue.controller);
		free(glue.controller);
	}
	vmm_destroy(vmm);
	free(vmm);
	close(sfd);
	seccomp_filters_free(&filters);
	return code;
}
