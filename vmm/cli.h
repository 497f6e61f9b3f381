/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ignis's command line: Firecracker's flags (and a few of ignis's own),
 * their checks, and the exit codes main() returns.
 */
#ifndef IGNIS_VMM_CLI_H
#define IGNIS_VMM_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* Firecracker's exit codes (FcExitCode). */
enum {
	EXIT_OK = 0,
	EXIT_GENERIC = 1,
	EXIT_BAD_CONFIGURATION = 152,
	EXIT_ARG_PARSING = 153,
};

struct cli {
	const char *config_file;
	const char *prewarm; /* --prewarm STATE: ignis extension */
	const char *api_sock;
	const char *metrics_path;
	size_t max_payload;
	const char *id;
	const char *log_path;
	const char *level;
	bool no_api;
	bool boot_timer;
	bool show_level;
	bool show_log_origin;
	bool no_seccomp;
	const char *seccomp_filter;
	bool print_seccomp_stats;
};

/*
 * Parses argv into @cli. --version, --help, --snapshot-version and
 * --describe-snapshot act at once and exit. Returns 0, or -EINVAL after
 * printing what is wrong (exit EXIT_ARG_PARSING).
 */
int cli_parse(int argc, char **argv, struct cli *cli);

#endif
