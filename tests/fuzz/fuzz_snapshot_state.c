/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the snapshot state-file parser, fed what a hostile or
 * corrupt file could hold.
 *
 * Input layout:
 *   byte 0      mode: even: the rest is a payload, wrapped here in a valid
 *               header and CRC64 so the fuzzer reaches the section decoder
 *               (a CRC it cannot forge would stop it at the container);
 *               odd: the rest is a whole state file, header and CRC included
 *   the rest    the payload or the file
 *
 * Beyond "no crash, no leak, no UB, no read out of bounds", it checks that
 * the decoder only accepts what the encoder writes: any payload that
 * decodes re-encodes to the same bytes, and every refusal comes with a
 * message.
 *
 * With -DSNAPSHOT_SEEDS it is instead a small program that writes seed
 * inputs (valid states, tests/unit/snapshot_sample.h) into the directory
 * given as its argument; run.sh does that before fuzzing, so the seeds
 * always match the current encoding.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/format/codec.h"
#include "snapshot/format/format.h"
#include "snapshot/state.h"
#include "tests/fuzz/invariant.h"
#include "tests/unit/snapshot_sample.h"

#ifndef SNAPSHOT_SEEDS

/* Something that must hold did not: make libFuzzer keep the input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct snapshot_state *st; /* 1.3 MiB: allocated once, zeroed by each decode */
	struct err_buf err = { "" };
	uint8_t *file, *again;
	size_t file_len, again_len;
	bool wrapped;
	int ret;

	if (size < 1 || size > SNAPSHOT_MAX_FILE)
		return 0;
	if (!st && !(st = snapshot_state_alloc()))
		abort();
	wrapped = !(data[0] & 1);
	if (wrapped) {
		/* Exactly the file's size, so ASan sees any read past it. */
		if (snapshot_file_encode(data + 1, size - 1, &file, &file_len))
			return 0; /* over the size limit */
	} else {
		/* A copy of exactly the input, so ASan sees any read past it. */
		file_len = size - 1;
		file = malloc(file_len ? file_len : 1);
		if (!file)
			abort();
		memcpy(file, data + 1, file_len);
	}

	ret = snapshot_state_parse(st, file, file_len, &err);
	invariant(ret <= 0, "positive return");
	invariant(ret == 0 || err.msg[0], "refused without a message");
	if (ret == 0) {
		const uint8_t *payload = file + SNAPSHOT_HEADER_SIZE;
		size_t payload_len = file_len - SNAPSHOT_HEADER_SIZE - SNAPSHOT_CRC_SIZE;

		ret = snapshot_state_encode(st, &again, &again_len, &err);
		invariant(ret == 0, "a decoded state does not encode");
		invariant(again_len == payload_len && !memcmp(again, payload, payload_len),
			  "decode accepted a payload encode would not write");
		free(again);
	}
	free(file);
	return 0;
}

#else /* SNAPSHOT_SEEDS */

static void write_seed(const char *dir, const char *name, uint8_t mode, const uint8_t *buf,
		       size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&mode, 1, 1, f) != 1 || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void seed(const char *dir, const char *name, struct snapshot_state *st)
{
	struct err_buf err = { "" };
	uint8_t *payload, *file;
	size_t len, file_len;
	char raw[256];

	if (snapshot_state_encode(st, &payload, &len, &err)) {
		fprintf(stderr, "%s: %s\n", name, err.msg);
		exit(1);
	}
	write_seed(dir, name, 0, payload, len);
	/* The same as a whole file, for the container checks. */
	if (snapshot_file_encode(payload, len, &file, &file_len))
		exit(1);
	snprintf(raw, sizeof(raw), "%s-file", name);
	write_seed(dir, raw, 1, file, file_len);
	free(file);
	free(payload);
	snapshot_state_free(st);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	seed(argv[1], "small", make_state(42, 1, 64, 2, 3, 1, 1));
	seed(argv[1], "idle", make_state(9, 1, 1, 0, 0, 0, 0));
	seed(argv[1], "two-vcpus-4g", make_state(7, 2, 4096, 8, 8, 2, 2));
	return 0;
}

#endif
