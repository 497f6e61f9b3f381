/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ignis-snapshot-editor: offline edits of snapshot files, with Firecracker's
 * snapshot-editor syntax:
 *
 *   ignis-snapshot-editor edit-memory rebase --memory-path BASE --diff-path DIFF
 *   ignis-snapshot-editor info-working-set show --path FILE
 *
 * The first merges a diff memory file onto its base (rebase.h); the second
 * (an ignis extension: Firecracker has no working-set file) checks a
 * working-set file and prints its pages and runs (working_set.h). Exit
 * codes: 0 done, 1 the file or the merge failed (message on stderr), 2 bad
 * usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/format/rebase.h"
#include "snapshot/format/working_set.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const char usage[] =
	"Usage: ignis-snapshot-editor edit-memory rebase --memory-path BASE --diff-path DIFF\n"
	"       ignis-snapshot-editor info-working-set show --path FILE\n"
	"\n"
	"  edit-memory rebase: copies every page a diff snapshot's memory file holds\n"
	"  (its data extents; holes are pages the diff does not have) into the base\n"
	"  memory file, in place. BASE then is the memory file of the diff's snapshot.\n"
	"  The diff must be on a filesystem that keeps holes (ext4, xfs, btrfs, tmpfs).\n"
	"\n"
	"  info-working-set show: checks a working-set file (PUT /snapshot/working-set)\n"
	"  and prints its pages, then one line per run: first page, pages, offset in\n"
	"  the memory file.\n"
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

/*
 * The path after each flag of @flags (NULL-terminated) into @paths: every
 * flag once, each required. 0, or bad_usage's exit code.
 */
static int parse_paths(int argc, char **argv, const char *const *flags, const char **paths,
		       const char *missing)
{
	size_t n = 0;

	while (flags[n])
		paths[n++] = NULL;
	for (int i = 0; i < argc; i++) {
		size_t f = 0;

		while (flags[f] && strcmp(argv[i], flags[f]))
			f++;
		if (!flags[f])
			return bad_usage("unexpected argument", argv[i]);
		if (i + 1 == argc || !argv[i + 1][0])
			return bad_usage("a path must follow", argv[i]);
		if (paths[f])
			return bad_usage("given twice:", argv[i]);
		paths[f] = argv[++i];
	}
	for (size_t f = 0; f < n; f++)
		if (!paths[f])
			return bad_usage(missing, NULL);
	return 0;
}

static int rebase(int argc, char **argv)
{
	static const char *const flags[] = { "--memory-path", "--diff-path", NULL };
	const char *paths[2];
	struct rebase_stats stats;
	struct err_buf err;
	int ret;

	ret = parse_paths(argc, argv, flags, paths, "rebase needs --memory-path and --diff-path");
	if (ret)
		return ret;
	if (snapshot_rebase(paths[0], paths[1], &stats, &err)) {
		fprintf(stderr, "ignis-snapshot-editor: %s\n", err.msg);
		return EXIT_FAILED;
	}
	printf("merged %llu bytes in %llu extents of %s into %s\n",
	       (unsigned long long)stats.bytes, (unsigned long long)stats.extents, paths[1],
	       paths[0]);
	return 0;
}

static int working_set_show(int argc, char **argv)
{
	static const char *const flags[] = { "--path", NULL };
	const char *path;
	struct working_set ws = { 0 };
	struct err_buf err;
	uint64_t pages;
	int ret;

	ret = parse_paths(argc, argv, flags, &path, "show needs --path");
	if (ret)
		return ret;
	if (working_set_read(path, &ws, &err)) {
		fprintf(stderr, "ignis-snapshot-editor: %s\n", err.msg);
		working_set_free(&ws);
		return EXIT_FAILED;
	}
	pages = working_set_pages(&ws);
	printf("%llu of %llu pages (%.2f%%) in %u runs of %u-byte pages\n",
	       (unsigned long long)pages, (unsigned long long)ws.mem_pages,
	       ws.mem_pages ? 100.0 * (double)pages / (double)ws.mem_pages : 0.0, ws.nr_runs,
	       WORKING_SET_PAGE);
	printf("first_page pages offset\n");
	for (uint32_t i = 0; i < ws.nr_runs; i++)
		printf("%llu %llu 0x%llx\n", (unsigned long long)ws.runs[i].first,
		       (unsigned long long)ws.runs[i].count,
		       (unsigned long long)(ws.runs[i].first * WORKING_SET_PAGE));
	working_set_free(&ws);
	return 0;
}

static const struct command {
	const char *group, *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "edit-memory", "rebase", rebase },
	{ "info-working-set", "show", working_set_show },
};

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
	for (size_t i = 0; argc >= 3 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].group) && !strcmp(argv[2], commands[i].name))
			return commands[i].run(argc - 3, argv + 3);
	return bad_usage("expected a command:", "edit-memory rebase' or 'info-working-set show");
}
