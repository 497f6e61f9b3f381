/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to vmm/security/: one thread kind's filter being built with
 * libseccomp, shared by the built-in allowlists (policy.c) and the JSON
 * policy parser (policy_json.c).
 *
 * A builder holds the first failure: after one, further rules are ignored
 * and seccomp_builder_finish() returns it, so a list of rules needs no
 * check after each. The struct is over 2 KiB, so callers malloc it; they
 * release the context with seccomp_builder_release() whatever happened,
 * and may then initialise the same builder again for the next thread kind.
 */
#ifndef IGNIS_SECCOMP_BUILDER_H
#define IGNIS_SECCOMP_BUILDER_H

#include <stdint.h>

#include <seccomp.h>

#include "vmm/security/seccomp.h"
#include "vmm/util/array.h"

/* Far above any allowlist here; a custom policy past it is refused. */
#define SECCOMP_MAX_SYSCALLS 512

struct seccomp_builder {
	scmp_filter_ctx ctx;
	uint32_t action; /* what a rule does (filter_action) */
	int syscalls[SECCOMP_MAX_SYSCALLS];
	unsigned int nr_syscalls, nr_rules;
	int err;           /* first failure, -errno */
	char failed[96];   /* the rule that failed */
	int kick_signal;   /* the one signal the VMM thread may send (tgkill) */
};

/*
 * Zeroes @b and starts a filter: calls matching no rule get @default_action,
 * rules get @filter_action. Returns 0 or -ENOMEM.
 */
int seccomp_builder_init(struct seccomp_builder *b, uint32_t default_action,
			 uint32_t filter_action);

/*
 * Adds a rule for syscall @nr with @nargs argument conditions. On failure
 * records it (b->err, b->failed names the syscall); a no-op once failed.
 */
void seccomp_builder_add_rule(struct seccomp_builder *b, int nr, unsigned int nargs,
			      const struct scmp_arg_cmp *args);

/* The BPF of @b into @out (malloc'd insns). Returns 0, b->err, or -errno. */
int seccomp_builder_finish(struct seccomp_builder *b, struct seccomp_filter *out);

void seccomp_builder_release(struct seccomp_builder *b);

#endif
