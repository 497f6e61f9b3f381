/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/server.h"
#include "snapshot/describe.h"
#include "snapshot/format/format.h"
#include "vmm/util/error.h"

#ifndef IGNIS_VERSION
#define IGNIS_VERSION "0.0.0"
#endif

#define DEFAULT_API_SOCK "/run/firecracker.socket" /* Firecracker's: jailed orchestrators wait for it */


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
	OPT_METRICS_PATH,
	OPT_MAX_PAYLOAD,
	OPT_HELP,
	OPT_NO_SECCOMP,
	OPT_SECCOMP_FILTER,
	OPT_PRINT_SECCOMP_STATS,
	OPT_SNAPSHOT_VERSION,
	OPT_DESCRIBE_SNAPSHOT,
	OPT_PREWARM,
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
	{ "http-api-max-payload-size", required_argument, NULL, OPT_MAX_PAYLOAD },
	{ "metrics-path", required_argument, NULL, OPT_METRICS_PATH },
	{ "module", required_argument, NULL, OPT_IGNORED_VALUE },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "seccomp-filter", required_argument, NULL, OPT_SECCOMP_FILTER },
	{ "print-seccomp-stats", no_argument, NULL, OPT_PRINT_SECCOMP_STATS },
	{ "snapshot-version", no_argument, NULL, OPT_SNAPSHOT_VERSION },
	{ "describe-snapshot", required_argument, NULL, OPT_DESCRIBE_SNAPSHOT },
	{ "prewarm", required_argument, NULL, OPT_PREWARM },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ignis [OPTIONS]\n"
		"  --no-api                  run without the API server (needs --config-file)\n"
		"  --config-file FILE        Firecracker-schema JSON; configures and starts the microVM\n"
		"  --prewarm STATE           pre-build this snapshot's microVM for a faster File load\n"
		"  --boot-timer              log the guest boot time when init writes 123 to 0xC0000000\n"
		"  --id ID                   microVM id (default anonymous-instance)\n"
		"  --api-sock PATH           API socket (default " DEFAULT_API_SOCK ")\n"
		"  --http-api-max-payload-size BYTES  largest API request body (default 51200)\n"
		"  --metrics-path PATH       write metrics (JSON lines) to a file or FIFO\n"
		"  --level LEVEL             Error, Warning, Info (default), Debug, Trace or Off\n"
		"  --log-path PATH           log to a file or FIFO instead of stderr\n"
		"  --show-level              prefix log lines with their level\n"
		"  --show-log-origin         prefix log lines with file:line\n"
		"  --version                 print the version and exit\n"
		"  --snapshot-version        print the snapshot format version this ignis writes\n"
		"  --describe-snapshot FILE  print a snapshot state file's version and contents\n"
		"  --no-seccomp              run without the per-thread seccomp filters\n"
		"  --seccomp-filter FILE     custom seccomp policy (JSON, see docs/seccomp.md)\n"
		"  --print-seccomp-stats     print each thread's allowlist size and exit\n"
		"The guest's serial console is this process's stdin/stdout.\n"
		"Exit codes: 0 guest stopped, 1 error, 148 bad syscall (seccomp), 152 bad configuration,\n"
		"153 bad arguments.\n");
}

/* --describe-snapshot: like --version, it acts at once and exits. */
static int describe_snapshot(const char *path)
{
	struct err_buf err = { "" };

	if (snapshot_describe(stdout, path, &err)) {
		fprintf(stderr, "ignis: %s\n", err.msg);
		return EXIT_GENERIC;
	}
	return EXIT_OK;
}

/* Firecracker's rule for --id: 1 to 64 of A-Z, a-z, 0-9 and '-'. */
static bool id_valid(const char *id)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-";
	size_t n = strlen(id);

	return n >= 1 && n <= 64 && strspn(id, ok) == n;
}

int cli_parse(int argc, char **argv, struct cli *cli)
{
	int opt;

	memset(cli, 0, sizeof(*cli));
	cli->id = "anonymous-instance";
	cli->api_sock = DEFAULT_API_SOCK;
	cli->max_payload = API_DEFAULT_MAX_PAYLOAD;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_API_SOCK: cli->api_sock = optarg; break;
		case OPT_ID: cli->id = optarg; break;
		case OPT_CONFIG_FILE: cli->config_file = optarg; break;
		case OPT_PREWARM: cli->prewarm = optarg; break;
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
		case OPT_SNAPSHOT_VERSION:
			printf("%u.%u\n", SNAPSHOT_VERSION_MAJOR, SNAPSHOT_VERSION_MINOR);
			exit(EXIT_OK);
		case OPT_DESCRIBE_SNAPSHOT:
			exit(describe_snapshot(optarg));
		case OPT_METRICS_PATH: cli->metrics_path = optarg; break;
		case OPT_NO_SECCOMP: cli->no_seccomp = true; break;
		case OPT_SECCOMP_FILTER: cli->seccomp_filter = optarg; break;
		case OPT_PRINT_SECCOMP_STATS: cli->print_seccomp_stats = true; break;
		case OPT_MAX_PAYLOAD: {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);

			if (*optarg == '\0' || *end != '\0' || v == 0 || v > (1ULL << 30)) {
				fprintf(stderr, "ignis: invalid --http-api-max-payload-size `%s`\n", optarg);
				return -EINVAL;
			}
			cli->max_payload = (size_t)v;
			break;
		}
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
	if (!id_valid(cli->id)) {
		fprintf(stderr, "ignis: invalid --id `%s`: use 1 to 64 characters from A-Z, a-z, "
			"0-9 and '-'\n", cli->id);
		return -EINVAL;
	}
	if (cli->no_seccomp && cli->seccomp_filter) {
		fprintf(stderr, "ignis: --no-seccomp and --seccomp-filter are mutually exclusive\n");
		return -EINVAL;
	}
	if (cli->no_api && !cli->config_file) {
		fprintf(stderr, "ignis: --no-api requires --config-file\n");
		return -EINVAL;
	}
	if (cli->prewarm && (cli->config_file || cli->no_api)) {
		fprintf(stderr, "ignis: --prewarm (for a later load) takes no --config-file, --no-api\n");
		return -EINVAL;
	}
	return 0;
}

