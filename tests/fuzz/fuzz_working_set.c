/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the working-set payload decoder
 * (snapshot/format/working_set.c), fed what a hostile or corrupt file could
 * hold after the state-file container (whose own parser fuzz_snapshot_state
 * covers). Beyond "no crash, no leak, no UB": a payload that decodes
 * re-encodes to the same bytes, and every refusal has a message.
 * Seeds: tests/fuzz/corpus-ws/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/format/working_set.h"
#include "tests/fuzz/invariant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct working_set ws;
	struct err_buf err = { "" };
	uint8_t *again = NULL;
	size_t len = 0;

	if (working_set_decode(data, size, &ws, &err) == 0) {
		invariant(working_set_encode(&ws, &again, &len) == 0, "a decoded set encodes");
		invariant(len == size && memcmp(again, data, size) == 0,
			  "decode then encode gives the same bytes");
		free(again);
	} else {
		invariant(err.msg[0] != '\0', "a refusal says why");
	}
	working_set_free(&ws);
	return 0;
}
