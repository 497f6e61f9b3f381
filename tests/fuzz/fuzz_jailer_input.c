/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the jailer's two parsers of outside text. The first
 * byte picks one: even, its command line (jailer/args.c: the rest split at
 * NUL bytes into argv); odd, /proc/mounts-format text for its cgroup
 * mounts (jailer/cgroup_mounts.c). Beyond "no crash, no leak, no UB": a
 * refused command line says why, and accepted mounts stay within bounds.
 * Seeds: tests/fuzz/corpus-jailer/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jailer/args.h"
#include "jailer/cgroup_mounts.h"
#include "tests/fuzz/invariant.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void command_line(char *text, size_t len)
{
	char *argv[MAX_ARGS + 2] = { "ignis-jailer" };
	struct jailer_args args;
	char err[512] = "";
	int argc = 1;

	for (size_t i = 0; i < len && argc <= MAX_ARGS; argc++) {
		argv[argc] = text + i;
		i += strlen(text + i) + 1;
	}
	argv[argc] = NULL;
	memset(&args, 0, sizeof(args));
	if (args_parse(&args, argc, argv, err, sizeof(err)))
		invariant(err[0] != '\0', "a refused command line says why");
	args_free(&args);
}

static void mounts(const char *text, size_t len)
{
	struct cgroup_mounts *m = calloc(1, sizeof(*m));
	FILE *f = len ? fmemopen((void *)text, len, "r") : NULL;

	if (m && f && cgroup_mounts_parse(m, f) == 0) {
		invariant(m->n_v1 <= CGROUP_V1_MAX, "at most CGROUP_V1_MAX v1 mounts");
		invariant(!m->has_v2 || memchr(m->v2, '\0', sizeof(m->v2)), "v2 path terminated");
	}
	if (f)
		fclose(f);
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] % 2 == 0)
		command_line(text, size - 1);
	else
		mounts(text, size - 1);
	free(text);
	return 0;
}
