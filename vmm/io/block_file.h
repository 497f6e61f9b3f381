/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A drive's backing file, opened as its cache mode asks: the synchronous
 * I/O engine. Knows nothing of virtio: offsets, iovecs and flushes only.
 */
#ifndef IGNIS_BLOCK_FILE_H
#define IGNIS_BLOCK_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "vmm/config/config.h"
#include "vmm/util/error.h"

#define BLOCK_SECTOR_SIZE 512
#define BLOCK_ID_BYTES 20 /* VIRTIO_BLK_ID_BYTES */

struct block_file {
	int fd;
	bool read_only;
	enum cache_type cache;
	uint64_t size;  /* bytes, a multiple of the sector size */
	char id[BLOCK_ID_BYTES]; /* GET_ID: not NUL-terminated when full */
};

/* Open flags for a cache mode (exposed so tests can check the mapping). */
int block_file_open_flags(enum cache_type cache, bool read_only);

int block_file_open(struct block_file *bf, const char *path, bool read_only,
		    enum cache_type cache, struct err_buf *err);
void block_file_close(struct block_file *bf);

/*
 * Whole-request I/O at @offset; handles short transfers and EINTR, and
 * bounces through an aligned buffer when O_DIRECT refuses the guest's
 * buffers. Returns 0 or -errno (-EIO on a short file).
 */
int block_file_readv(struct block_file *bf, const struct iovec *iov, int iovcnt, uint64_t offset);
int block_file_writev(struct block_file *bf, const struct iovec *iov, int iovcnt, uint64_t offset);
/* A guest flush: nothing for Unsafe, fdatasync/fsync for the others. */
int block_file_flush(struct block_file *bf);

#endif
