/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The snapshot state file container: a fixed header, an opaque payload (the
 * sections of codec.h / state.h) and a CRC64 over both.
 *
 *   offset  size  field (little endian)
 *   0       8     magic          SNAPSHOT_MAGIC: "IGNS", arch 0x8664, 0x0000
 *   8       2     version major  readers reject any other major
 *   10      2     version minor  additions a reader of the same major may ignore
 *   12      4     flags          0; anything else is refused
 *   16      8     payload length bytes that follow the header
 *   24      n     payload
 *   24+n    8     CRC-64/XZ of bytes [0, 24+n)
 *
 * The whole file is at most SNAPSHOT_MAX_FILE bytes, so a hostile file can
 * never make us allocate more, and the length field must match the file
 * size exactly. The parser is pure (a buffer in, a view of the payload out)
 * so it can be fuzzed.
 */
#ifndef IGNIS_SNAPSHOT_FORMAT_H
#define IGNIS_SNAPSHOT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/util/error.h"

/* "IGNS" (0x49 0x47 0x4e 0x53), the architecture (0x8664 = x86_64), 0. */
#define SNAPSHOT_MAGIC 0x49474e5386640000ULL
#define SNAPSHOT_MAGIC_ID_MASK 0xffffffff00000000ULL /* the "IGNS" part */
#define SNAPSHOT_MAGIC_ARCH(m) ((unsigned int)(((m) >> 16) & 0xffff))

#define SNAPSHOT_VERSION_MAJOR 2
#define SNAPSHOT_VERSION_MINOR 0

#define SNAPSHOT_HEADER_SIZE 24
#define SNAPSHOT_CRC_SIZE 8
#define SNAPSHOT_MAX_FILE (16u << 20)
#define SNAPSHOT_MAX_PAYLOAD (SNAPSHOT_MAX_FILE - SNAPSHOT_HEADER_SIZE - SNAPSHOT_CRC_SIZE)

struct snapshot_version {
	uint16_t major;
	uint16_t minor;
};

/* CRC-64/XZ (ECMA-182 polynomial, reflected, init and xorout all ones). */
uint64_t snapshot_crc64(uint64_t crc, const void *buf, size_t len);

/*
 * Checks a whole state file held in @buf and points @payload into it.
 * Errors (with a message saying which): -EINVAL truncated, bad magic,
 * length not matching the file; -EFBIG over SNAPSHOT_MAX_FILE; -ENOEXEC
 * another architecture; -ENOTSUP another major version or unknown flags;
 * -EBADMSG CRC mismatch.
 */
int snapshot_file_parse(const uint8_t *buf, size_t len, const uint8_t **payload,
			size_t *payload_len, struct snapshot_version *version, struct err_buf *err);

/*
 * The whole state file for @payload (header, payload, CRC) in a malloc'd
 * buffer the caller frees. 0, -EFBIG (over the limit) or -ENOMEM.
 */
int snapshot_file_encode(const void *payload, size_t payload_len, uint8_t **file,
			 size_t *file_len);

/*
 * Writes @payload as a state file at @path: to "<path>.tmp-XXXXXX" in the
 * same directory, fsync, rename over @path, fsync of the directory. On any
 * failure the temporary file is removed and @path is left as it was.
 */
int snapshot_file_write(const char *path, const void *payload, size_t payload_len,
			struct err_buf *err);

/*
 * Reads and checks the state file at @path; the payload is copied into a
 * malloc'd buffer the caller frees. Refuses anything but a regular file
 * and files over SNAPSHOT_MAX_FILE before reading them.
 */
int snapshot_file_read(const char *path, uint8_t **payload, size_t *payload_len,
		       struct snapshot_version *version, struct err_buf *err);

#endif
