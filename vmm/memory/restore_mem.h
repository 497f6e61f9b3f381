/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM of a restored microVM, per PUT /snapshot/load's mem_backend:
 *
 * - File, normal or transparent huge pages: the memory file mapped
 *   MAP_PRIVATE (lazy, copy-on-write; THP cannot back a private file
 *   mapping's page cache, so Transparent changes nothing here).
 * - File, 2M: hugetlbfs RAM (a file cannot be mapped onto hugetlb pages),
 *   the memory file read into it eagerly.
 * - Reserve (a pre-warmed process): anonymous RAM without contents, for the
 *   load to map the memory file over, at the same address.
 * - Uffd: anonymous (or hugetlbfs) RAM registered with a userfaultfd that
 *   is handed to an external page-fault handler over a Unix socket, in
 *   Firecracker's format (snapshot/uffd_regions.h). The handler then fills
 *   every page on its first touch.
 */
#ifndef IGNIS_RESTORE_MEM_H
#define IGNIS_RESTORE_MEM_H

#include "vmm/config/config.h"
#include "vmm/memory/memory.h"
#include "vmm/util/error.h"
#include "vmm/util/event_loop.h"

struct restore_mem_source {
	int file_fd;           /* File: the memory file (its size already checked) */
	const char *uffd_path; /* Uffd: the handler's socket; NULL for File */
	/*
	 * Pre-warm (--prewarm): neither; anonymous RAM of the right size that
	 * a later load replaces with the memory file (guest_mem_map_file_over).
	 */
	bool reserve;
};

/* What a Uffd-backed VM keeps open for its whole life; -1 when unused. */
struct restore_mem_uffd {
	int uffd;
	int sock; /* the handler sees the VM go away when this closes */
	/* Watches sock on @loop so that a handler that dies is reported; NULL: not. */
	struct event_loop *loop;
	struct event_handler hangup;
};

/*
 * Sets @mem up for @ranges as @src says; on success @keep holds the uffd and
 * socket (Uffd), the socket watched on @loop, for the caller to close after
 * unmapping @mem. On failure
 * nothing is left: @mem unmapped, the fds closed, and a handler that was
 * reached sees its connection close.
 */
int restore_mem_setup(struct guest_mem *mem, const struct machine_config *mc,
		      const struct guest_range *ranges, unsigned int nr,
		      const struct restore_mem_source *src, struct event_loop *loop,
		      struct restore_mem_uffd *keep, struct err_buf *err);
/*
 * The VM is stopping for good: unregisters @mem from the uffd so that faults
 * still waiting for the handler complete (as zero-filled pages) and the
 * vCPUs blocked in them can see the stop. Without it a handler that stopped
 * serving would keep ignis from exiting on anything but SIGKILL (seen under
 * PVM: a vCPU stays in handle_userfault, from KVM's instruction emulator,
 * with the kick pending).
 */
void restore_mem_uffd_unblock(const struct restore_mem_uffd *keep, const struct guest_mem *mem);
void restore_mem_uffd_close(struct restore_mem_uffd *keep);

#endif
