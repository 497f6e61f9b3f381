/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ignis-snapshot-editor: offline edits of snapshot files, with Firecracker's
 * snapshot-editor syntax. One command so far:
 *
 *   ignis-snapshot-editor edit-memory rebase --memory-path BASE --diff-path DIFF
 *
 * merges a diff memory file onto its base (rebase.h). Exit codes: 0 done,
 * 1 the merge failed (message on stderr), 2 bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "snapshot/format/rebase.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const char usage[] =
	"Usage: ignis-snapshot-editor edit-memory rebase --memory-path BASE --diff-path DIFF\n"
	"\n"
	"  Copies every page a diff snapshot's memory file holds (its data extents;\n"
	"  holes are pages the diff does not have) into the base memory file, in place.\n"
	"  BASE then is the memory file of the diff's snapshot. The diff must be on a\n"
	"  filesystem that keeps holes (ext4, xfs, btrfs, tmpfs).\n"
	"\n"
	"  --version   print the version\n"
	"  --help      print this\n";

/* "ignis-snapshot-editor: @what[ '@arg']", then the usage; exit code 2. */
static int bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "ignis-snapshot-editor: %s%s%s%s\n\n%s", what, arg ? " '" : "",
		arg ? arg : "", arg ? "'" : "", usage);
	return EXIT_USAGE;
}

static int rebase(int argc, char **argv)
{
	const char *base = NULL, *diff = NULL;
	struct rebase_stats stats;
	struct err_buf err;

	for (int i = 0; i < argc; i++) {
		const char **slot = !strcmp(argv[i], "--memory-path") ? &base
				    : !strcmp(argv[i], "--diff-path") ? &diff
								      : NULL;

		if (!slot)
			return bad_usage("unexpected argument", argv[i]);
		if (i + 1 == argc || !argv[i + 1][0])
			return bad_usage("a path must follow", argv[i]);
		if (*slot)
			return bad_usage("given twice:", argv[i]);
		*slot = argv[++i];
	}
	if (!base || !diff)
		return bad_usage("rebase needs --memory-path and --diff-path", NULL);
	if (snapshot_rebase(base, diff, &stats, &err)) {
		fprintf(stderr, "ignis-snapshot-editor: %s\n", err.msg);
		return EXIT_FAILED;
	}
	printf("merged %llu bytes in %llu extents of %s into %s\n",
	       (unsigned long long)stats.bytes, (unsigned long long)stats.extents, diff, base);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("ignis-snapshot-editor v%s\n", IGNIS_VERSION);
		return 0;
	}
	if (argc < 3 || strcmp(argv[1], "edit-memory") || strcmp(argv[2], "rebase"))
		return bad_usage("expected the command", "edit-memory rebase");
	return rebase(argc - 3, argv + 3);
}
