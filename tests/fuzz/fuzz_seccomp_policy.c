/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: a --seccomp-filter policy file (vmm/security/
 * policy_json.c: JSON in Firecracker's format, compiled with libseccomp),
 * an operator's input that may be wrong in any way. Beyond "no crash, no
 * leak, no UB": every refusal says why. Seeds: tests/fuzz/corpus-seccomp/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/invariant.h"
#include "vmm/security/seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seccomp_filters f;
	struct err_buf err = { "" };
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (seccomp_filters_from_json(&f, text, &err) == 0) {
		seccomp_filters_free(&f);
	} else {
		invariant(err.msg[0] != '\0', "a refusal says why");
	}
	free(text);
	return 0;
}
