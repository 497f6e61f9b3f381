/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every fuzz target checks beyond the sanitizers: a property that must
 * hold for any input. A broken one aborts, so libFuzzer keeps the input as
 * a crash-* artefact, with "<target>: invariant broken: <what>" on stderr.
 */
#ifndef IGNIS_FUZZ_INVARIANT_H
#define IGNIS_FUZZ_INVARIANT_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static inline void invariant(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "%s: invariant broken: %s\n", program_invocation_short_name, what);
		abort();
	}
}

#endif
