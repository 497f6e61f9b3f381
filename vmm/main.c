/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ignis: command line (Firecracker-compatible flags) and wiring only.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "devices/boot_timer.h"
#include "log.h"
#include "vcpu.h"
#include "vmm.h"

#ifndef IGNIS_VERSION
#define IGNIS_VERSION "0.0.0"
#endif

/* Firecracker's exit codes (FcExitCode). */
enum {
	EXIT_OK = 0,
	EXIT_GENERIC = 1,
	EXIT_BAD_CONFIGURATION = 152,
	EXIT_ARG_PARSING = 153,
};

struct cli {
	const char *config_file;
	const char *api_sock;
	const char *id;
	const char *log_path;
	const char *level;
	bool no_api;
	bool boot_timer;
	bool show_level;
	bool show_log_origin;
};

enum {
	OPT_API_SOCK = 256,
	OPT_ID,
	OPT_CONFIG_FILE,
	OPT_NO_API,
	OPT_BOOT_TIMER,
	OPT_LEVEL,
	OPT_LOG_PATH,
	OPT_SHOW_LEVEL,
	OPT_SHOW_LOG_ORIGIN,
	OPT_VERSION,
	OPT_HELP,
	OPT_IGNORED_VALUE, /* accepted for Firecracker compatibility; not used yet */
	OPT_IGNORED_FLAG,
};

static const struct option options[] = {
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "id", required_argument, NULL, OPT_ID },
	{ "config-file", required_argument, NULL, OPT_CONFIG_FILE },
	{ "no-api", no_argument, NULL, OPT_NO_API },
	{ "boot-timer", no_argument, NULL, OPT_BOOT_TIMER },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "log-path", required_argument, NULL, OPT_LOG_PATH },
	{ "show-level", no_argument, NULL, OPT_SHOW_LEVEL },
	{ "show-log-origin", no_argument, NULL, OPT_SHOW_LOG_ORIGIN },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "start-time-us", required_argument, NULL, OPT_IGNORED_VALUE },
	{ "start-time-cpu-us", required_argument, NULL, OPT_IGNORED_VALUE },
	{ "parent-cpu-time-us", required_argument, NULL, OPT_IGNORED_VALUE },
	{ "http-api-max-payload-size", required_argument, NULL, OPT_IGNORED_VALUE },
	{ "metrics-path", required_argument, NULL, OPT_IGNORED_VALUE },
	{ "module", required_argument, NULL, OPT_IGNORED_VALUE },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ignis [OPTIONS]\n"
		"  --no-api                  run without the API server (needs --config-file)\n"
		"  --config-file FILE        Firecracker-schema JSON: boot-source, machine-config\n"
		"  --boot-timer              log the guest boot time when init writes 123 to 0xC0000000\n"
		"  --id ID                   microVM id (default anonymous-instance)\n"
		"  --api-sock PATH           API socket (the API server is not available yet)\n"
		"  --level LEVEL             Error, Warning, Info (default), Debug, Trace or Off\n"
		"  --log-path PATH           log to a file or FIFO instead of stderr\n"
		"  --show-level              prefix log lines with their level\n"
		"  --show-log-origin         prefix log lines with file:line\n"
		"  --version                 print the version and exit\n"
		"The guest's serial console is this process's stdin/stdout.\n"
		"Exit codes: 0 guest stopped, 1 error, 152 bad configuration, 153 bad arguments.\n");
}

static int parse_args(int argc, char **argv, struct cli *cli)
{
	int opt;

	memset(cli, 0, sizeof(*cli));
	cli->id = "anonymous-instance";
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_API_SOCK: cli->api_sock = optarg; break;
		case OPT_ID: cli->id = optarg; break;
		case OPT_CONFIG_FILE: cli->config_file = optarg; break;
		case OPT_NO_API: cli->no_api = true; break;
		case OPT_BOOT_TIMER: cli->boot_timer = true; break;
		case OPT_LEVEL: cli->level = optarg; break;
		case OPT_LOG_PATH: cli->log_path = optarg; break;
		case OPT_SHOW_LEVEL: cli->show_level = true; break;
		case OPT_SHOW_LOG_ORIGIN: cli->show_log_origin = true; break;
		case OPT_VERSION:
			printf("ignis v%s\n", IGNIS_VERSION);
			exit(EXIT_OK);
		case OPT_HELP:
			usage(stdout);
			exit(EXIT_OK);
		case OPT_IGNORED_VALUE:
		case OPT_IGNORED_FLAG:
			break;
		default:
			fprintf(stderr, "ignis: unknown or incomplete argument `%s`\n",
				argv[optind - 1]);
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ignis: unexpected argument `%s`\n", argv[optind]);
		return -EINVAL;
	}
	if (cli->no_api && !cli->config_file) {
		fprintf(stderr, "ignis: --no-api requires --config-file\n");
		return -EINVAL;
	}
	return 0;
}

static int setup_logging(const struct cli *cli)
{
	enum log_level level = LOG_INFO;
	FILE *out = NULL;

	if (cli->level && log_level_parse(cli->level, &level)) {
		fprintf(stderr, "ignis: invalid --level `%s`\n", cli->level);
		return -EINVAL;
	}
	if (cli->log_path) {
		out = fopen(cli->log_path, "ae");
		if (!out) {
			fprintf(stderr, "ignis: cannot open log %s: %s\n", cli->log_path,
				strerror(errno));
			return -errno;
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

int main(int argc, char **argv)
{
	uint64_t start_wall = clock_us(CLOCK_MONOTONIC);
	uint64_t start_cpu = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	struct err_buf err = { "" };
	struct termios saved_tty;
	bool tty_raw = false;
	struct vmm_opts opts;
	struct vmm *vmm;
	struct cli cli;
	int sfd, code;

	if (parse_args(argc, argv, &cli))
		return EXIT_ARG_PARSING;
	if (setup_logging(&cli))
		return EXIT_ARG_PARSING;
	if (!cli.no_api) {
		pr_err("the API server is not available in this build of ignis yet; "
		       "run with --no-api --config-file FILE");
		return EXIT_GENERIC;
	}

	sfd = setup_signals();
	if (sfd < 0) {
		pr_err("cannot set up signal handling: %s", strerror(-sfd));
		return EXIT_GENERIC;
	}
	vmm = malloc(sizeof(*vmm));
	if (!vmm) {
		pr_err("out of memory");
		close(sfd);
		return EXIT_GENERIC;
	}
	opts = (struct vmm_opts){
		.id = cli.id,
		.boot_timer = cli.boot_timer,
		.console_in_fd = STDIN_FILENO,
		.console_out_fd = STDOUT_FILENO,
		.signal_fd = sfd,
		.start_wall_us = start_wall,
		.start_cpu_us = start_cpu,
	};
	if (vmm_init(vmm, &opts, &err)) {
		pr_err("cannot set up the VMM: %s", err.msg);
		free(vmm);
		close(sfd);
		return EXIT_GENERIC;
	}

	if (vm_config_parse_file(&vmm->config, cli.config_file, &err)) {
		pr_err("bad configuration: %s", err.msg);
		code = EXIT_BAD_CONFIGURATION;
		goto out;
	}
	if (vmm_start(vmm, &err)) {
		pr_err("cannot build the microVM: %s", err.msg);
		code = EXIT_BAD_CONFIGURATION;
		goto out;
	}

	tty_raw = tty_make_raw(&saved_tty);
	code = vmm_run(vmm);
	if (tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	pr_info("microVM %s stopped, exit code %d", cli.id, code);
out:
	vmm_destroy(vmm);
	free(vmm);
	close(sfd);
	return code;
}
