/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A TAP device as a pipe of frames: an existing TAP, opened by name through
 * /dev/net/tun with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, non-blocking. Each
 * read or write is one Ethernet frame behind a TAP_VNET_HDR_LEN-byte header
 * (struct virtio_net_hdr_v1 layout, which the kernel fills and checks).
 * Knows nothing of virtio: callers map their features to TUN_F_* offloads.
 *
 * ignis never creates a TAP: TUNSETIFF on a missing name would create one
 * (we run as root), so the name is checked first and a missing TAP refused.
 */
#ifndef IGNIS_TAP_H
#define IGNIS_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <linux/if_tun.h> /* TUN_F_* offload flags */

#include "vmm/util/error.h"

#define TAP_VNET_HDR_LEN 12

struct tap {
	int fd;                 /* -1: closed */
	char name[IFNAMSIZ];
	bool adopted;           /* a caller's fd (tests): no tun ioctls */
	unsigned int offload;   /* TUN_F_* last applied */
};

/*
 * Attaches to the existing TAP @name. Errors say which of these it was:
 * missing, in use by another process (EBUSY), not a TAP or a multi-queue
 * one, not permitted, no /dev/net/tun. Offloads start off. Once the TAP is
 * deleted, the fd polls EPOLLERR and reads and writes fail with EBADFD.
 */
int tap_open(struct tap *tap, const char *name, struct err_buf *err);

/*
 * Wraps an fd that behaves like a TAP without being one: a datagram or
 * seqpacket socket, for tests. Offload requests are only recorded.
 */
void tap_adopt_fd(struct tap *tap, int fd, const char *name);

void tap_close(struct tap *tap);

/* TUNSETOFFLOAD: what the kernel may hand us (TUN_F_* flags). 0 or -errno. */
int tap_set_offload(struct tap *tap, unsigned int flags);

/*
 * One frame, header first. Return bytes written, or -EAGAIN when the TAP
 * cannot take it now (wait for EPOLLOUT), -EBADFD when the TAP is gone, or
 * another -errno for a frame the kernel refused.
 */
ssize_t tap_writev(struct tap *tap, const struct iovec *iov, int iovcnt);

/* One frame, header first; bytes read, -EAGAIN when none is queued, or -errno. */
ssize_t tap_read(struct tap *tap, void *buf, size_t len);

#endif
