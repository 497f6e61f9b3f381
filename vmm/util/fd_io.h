/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whole-buffer positional file I/O: the retry loops for EINTR and short
 * transfers, written once for the snapshot writers and readers.
 */
#ifndef IGNIS_FD_IO_H
#define IGNIS_FD_IO_H

#include <stdint.h>

/* Writes all @len bytes of @buf at @off. 0, -errno, or -EIO if nothing could be written. */
int fd_pwrite_all(int fd, const void *buf, uint64_t len, uint64_t off);

/* Reads exactly @len bytes at @off into @buf. 0, -errno, or -ENODATA at an early end of file. */
int fd_pread_all(int fd, void *buf, uint64_t len, uint64_t off);

#endif
