/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/io/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TUN_PATH "/dev/net/tun"

static int open_error(const char *name, int e, struct err_buf *err)
{
	switch (e) {
	case EBUSY:
		return err_set(err, -EBUSY, "TAP device %s is in use by another process", name);
	case EINVAL:
		return err_set(err, -EINVAL,
			       "%s is not a TAP device, or is a multi-queue TAP "
			       "(ignis needs a single-queue TAP: ip tuntap add %s mode tap)",
			       name, name);
	case EPERM:
	case EACCES:
		return err_set(err, -e,
			       "not permitted to attach to TAP device %s (it belongs to another "
			       "user or group, or CAP_NET_ADMIN is missing)",
			       name);
	default:
		return err_set(err, -e, "cannot attach to TAP device %s: %s", name, strerror(e));
	}
}

int tap_open(struct tap *tap, const char *name, struct err_buf *err)
{
	struct ifreq ifr;
	unsigned int index;
	int hdr_len = TAP_VNET_HDR_LEN;
	int e;

	memset(tap, 0, sizeof(*tap));
	tap->fd = -1;
	if (!name[0] || strlen(name) >= IFNAMSIZ)
		return err_set(err, -EINVAL, "TAP device name \"%s\" is not a valid interface name",
			       name);
	snprintf(tap->name, sizeof(tap->name), "%s", name);

	/* TUNSETIFF would create a missing TAP: refuse before it can. */
	index = if_nametoindex(name);
	if (!index)
		return err_set(err, -ENODEV,
			       "TAP device %s does not exist (create it first: ip tuntap add %s mode tap)",
			       name, name);

	tap->fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (tap->fd < 0) {
		e = errno;
		if (e == ENOENT || e == ENODEV || e == ENXIO)
			return err_set(err, -e, "cannot open %s: %s (is the tun module loaded?)",
				       TUN_PATH, strerror(e));
		return err_set(err, -e, "cannot open %s: %s", TUN_PATH, strerror(e));
	}

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, tap->name, sizeof(ifr.ifr_name));
	if (ioctl(tap->fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		tap_close(tap);
		return open_error(name, e, err);
	}
	/*
	 * Deleted between the check and TUNSETIFF: then we just created a new
	 * TAP of that name, which goes away again when we close it.
	 */
	if (if_nametoindex(name) != index) {
		tap_close(tap);
		return err_set(err, -ENODEV, "TAP device %s does not exist (it was just deleted)",
			       name);
	}
	if (ioctl(tap->fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
		e = errno;
		tap_close(tap);
		return err_set(err, -e, "TAP device %s: TUNSETVNETHDRSZ %d: %s", name, hdr_len,
			       strerror(e));
	}
	if (ioctl(tap->fd, TUNSETOFFLOAD, 0UL) < 0) {
		e = errno;
		tap_close(tap);
		return err_set(err, -e, "TAP device %s: TUNSETOFFLOAD: %s", name, strerror(e));
	}
	return 0;
}

void tap_adopt_fd(struct tap *tap, int fd, const char *name)
{
	memset(tap, 0, sizeof(*tap));
	tap->fd = fd;
	tap->adopted = true;
	snprintf(tap->name, sizeof(tap->name), "%s", name);
}

void tap_close(struct tap *tap)
{
	if (tap->fd >= 0)
		close(tap->fd);
	tap->fd = -1;
}

int tap_set_offload(struct tap *tap, unsigned int flags)
{
	if (tap->fd < 0)
		return -EBADF;
	if (!tap->adopted && ioctl(tap->fd, TUNSETOFFLOAD, (unsigned long)flags) < 0)
		return -errno;
	tap->offload = flags;
	return 0;
}

/* One frame in or out: readv() or writev(), retried on EINTR. */
static ssize_t transfer(struct tap *tap, bool out, const struct iovec *iov, int iovcnt)
{
	ssize_t n;

	if (tap->fd < 0)
		return -EBADFD;
	do
		n = out ? writev(tap->fd, iov, iovcnt) : readv(tap->fd, iov, iovcnt);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

ssize_t tap_writev(struct tap *tap, const struct iovec *iov, int iovcnt)
{
	return transfer(tap, true, iov, iovcnt);
}

ssize_t tap_read(struct tap *tap, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return transfer(tap, false, &iov, 1);
}
