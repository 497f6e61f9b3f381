/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Merging a diff memory file onto its base (ignis-snapshot-editor's
 * `edit-memory rebase`): every data extent of the diff, found with
 * SEEK_DATA/SEEK_HOLE, is copied into the base at the same offset; the
 * diff's holes leave the base's bytes as they are.
 *
 * Assumes the diff sits on a filesystem that reports holes (ext4, xfs, btrfs,
 * tmpfs do). One that does not calls the whole file data, and copying that
 * would overwrite every page of the base with the diff's zeroes: a diff that
 * has fewer blocks allocated than its size but no hole SEEK_HOLE can find is
 * refused. A diff copied by a tool that fills holes (cp --sparse=never, most
 * network transfers) cannot be told from a diff where every page was dirty,
 * and would corrupt the base: keep diffs sparse.
 *
 * The base is changed in place (as Firecracker's tool does): merge onto a
 * copy if the original must survive a failure half way.
 */
#ifndef IGNIS_SNAPSHOT_REBASE_H
#define IGNIS_SNAPSHOT_REBASE_H

#include <stdint.h>

#include "vmm/util/error.h"

struct rebase_stats {
	uint64_t extents;
	uint64_t bytes;
};

/* Returns 0 or -errno with @err naming the file and the cause. */
int snapshot_rebase(const char *base_path, const char *diff_path, struct rebase_stats *stats,
		    struct err_buf *err);

#endif
