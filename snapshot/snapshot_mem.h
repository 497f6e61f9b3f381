/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The snapshot memory file: guest RAM in GPA order, regions back to back.
 *
 * Full: every page that holds a non-zero byte; pages of zeroes are holes
 * (they read back as zeroes, so the file is still every byte of RAM to a
 * reader, and a mostly idle guest costs little disk). Diff: a sparse file of
 * the same size holding only the
 * pages dirtied since the previous snapshot (or since the memory file was
 * loaded, or since boot): KVM's dirty log of each memory slot ORed with the
 * VMM's own bitmap (memory.h), each run of adjacent dirty pages written with
 * one pwrite at its offset; the rest stays a hole. With tracking on, every
 * snapshot, Full or Diff, starts a new dirty interval.
 */
#ifndef IGNIS_SNAPSHOT_MEM_H
#define IGNIS_SNAPSHOT_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "snapshot/format/working_set.h"
#include "vmm/machine/vm.h"
#include "vmm/util/error.h"

/*
 * Writes @vm's memory file at @path: a temporary name next to it, fsync,
 * rename. @diff needs dirty tracking (-EINVAL otherwise). If anything fails,
 * @path is untouched and the pages taken from the dirty logs are marked dirty
 * again, so the next snapshot still covers them.
 */
int snapshot_mem_write(struct vm *vm, const char *path, bool diff, struct err_buf *err);

/*
 * PUT /snapshot/rewind: drops the private pages of @vm's RAM (a File
 * mapping, or Uffd RAM: both refill from the memory file on the next
 * touch) so they read the snapshot's contents again. With dirty tracking
 * and !@whole only the pages written since the last dirty interval began
 * (KVM's log and the VMM's bitmap, both cleared: the next interval starts);
 * otherwise every page. *@dropped: pages dropped. The vCPUs must be parked.
 */
int snapshot_mem_revert(struct vm *vm, bool whole, uint64_t *dropped, struct err_buf *err);

/*
 * PUT /snapshot/working-set: the pages of @vm's RAM present in this
 * process's page tables (/proc/self/pagemap): what the guest and the
 * devices touched since the memory was mapped at load (or dropped by a
 * rewind). @ws is filled (the caller frees it). 0 or -errno with @err.
 */
int snapshot_mem_working_set(const struct vm *vm, struct working_set *ws, struct err_buf *err);

/*
 * Before the vCPUs run: populates the pages of @ws in @vm's RAM
 * (MADV_POPULATE_READ per run), so the guest does not fault them in one at
 * a time. @ws must describe memory of @vm's size. 0 or -errno with @err.
 */
int snapshot_mem_prefetch(const struct vm *vm, const struct working_set *ws, struct err_buf *err);

/*
 * Writes the pages of @src (@size bytes) whose bits are set in @bits (bit i:
 * page i) at @file_off + their offset in @fd, one pwrite per run of adjacent
 * pages. Returns 0 or -errno.
 */
/* Sets bit i of @bits (cleared first) when page i of @src holds a non-zero byte. */
void snapshot_mem_nonzero_pages(const uint8_t *src, uint64_t size, uint64_t *bits);

int snapshot_mem_write_pages(int fd, uint64_t file_off, const uint8_t *src, uint64_t size,
			     const uint64_t *bits);

#endif
