/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TAP backend against the real /dev/net/tun, each test in a network
 * namespace of its own (criterion runs every test in its own process), so
 * nothing is visible outside it and nothing is left behind. Without
 * CAP_NET_ADMIN or /dev/net/tun the tests are skipped and say why.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <criterion/criterion.h>

#include "tests/unit/helpers.h"
#include "vmm/io/tap.h"

#define NAME "ignistap0"

static struct tap tap, tap2;
static struct err_buf err;

static void init_fds(void)
{
	memset(&err, 0, sizeof(err));
	tap.fd = tap2.fd = -1;
}

/* A private network namespace, or skip the test. */
static void setup(void)
{
	init_fds();
	if (access("/dev/net/tun", R_OK | W_OK))
		cr_skip_test("/dev/net/tun is not usable here: %s", strerror(errno));
	if (unshare(CLONE_NEWNET))
		cr_skip_test("cannot create a network namespace (needs CAP_NET_ADMIN): %s",
			     strerror(errno));
}

static void teardown(void)
{
	tap_close(&tap);
	tap_close(&tap2);
}

TestSuite(tap, .init = setup, .fini = teardown);
TestSuite(tap_adopted, .init = init_fds, .fini = teardown);

/* What `ip tuntap add NAME mode tap [multi_queue]` does. */
static void create_persistent_tap(const char *name, short extra_flags)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	cr_assert_geq(fd, 0, "open /dev/net/tun: %s", strerror(errno));
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | extra_flags);
	strcpy(ifr.ifr_name, name);
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "TUNSETIFF: %s", strerror(errno));
	cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0, "TUNSETPERSIST: %s", strerror(errno));
	close(fd);
	cr_assert_neq(if_nametoindex(name), 0);
}

Test(tap, missing_tap_is_refused_and_not_created)
{
	cr_assert_fails_with(tap_open(&tap, NAME, &err), -ENODEV, err,
			     "TAP device " NAME " does not exist");
	cr_assert_eq(tap.fd, -1);
	cr_assert_eq(if_nametoindex(NAME), 0, "tap_open must not create the TAP");
}

Test(tap, existing_tap_opens_non_blocking)
{
	uint8_t buf[64];

	create_persistent_tap(NAME, 0);
	cr_assert_eq(tap_open(&tap, NAME, &err), 0, "%s", err.msg);
	cr_assert_geq(tap.fd, 0);
	cr_assert(fcntl(tap.fd, F_GETFL) & O_NONBLOCK);
	cr_assert_eq(tap_read(&tap, buf, sizeof(buf)), -EAGAIN);
}

Test(tap, tap_in_use_is_busy)
{
	create_persistent_tap(NAME, 0);
	cr_assert_eq(tap_open(&tap, NAME, &err), 0, "%s", err.msg);
	cr_assert_fails_with(tap_open(&tap2, NAME, &err), -EBUSY, err,
			     "TAP device " NAME " is in use by another process");
}

Test(tap, multi_queue_tap_is_refused)
{
	create_persistent_tap(NAME, IFF_MULTI_QUEUE);
	cr_assert_fails_with(tap_open(&tap, NAME, &err), -EINVAL, err, "multi-queue");
}

Test(tap, interface_that_is_not_a_tap_is_refused)
{
	cr_assert_fails_with(tap_open(&tap, "lo", &err), -EINVAL, err, "lo is not a TAP device");
}

Test(tap, every_offload_the_device_asks_for_is_accepted)
{
	create_persistent_tap(NAME, 0);
	cr_assert_eq(tap_open(&tap, NAME, &err), 0, "%s", err.msg);
	cr_assert_eq(tap_set_offload(&tap, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_UFO), 0);
	cr_assert_eq(tap.offload, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_UFO);
	cr_assert_eq(tap_set_offload(&tap, 0), 0);
}

/* `ip link del NAME`: RTM_DELLINK over rtnetlink. */
static void delete_link(const char *name)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_DELLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)if_nametoindex(name) },
	};
	char ack[256];
	struct nlmsgerr *e = NLMSG_DATA((struct nlmsghdr *)ack);
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	cr_assert_geq(fd, 0);
	cr_assert_neq(req.ifi.ifi_index, 0);
	cr_assert_eq(send(fd, &req, sizeof(req), 0), (ssize_t)sizeof(req));
	cr_assert_gt(recv(fd, ack, sizeof(ack), 0), 0);
	cr_assert_eq(e->error, 0, "RTM_DELLINK: %s", strerror(-e->error));
	close(fd);
}

/* What virtio-net relies on to tell a deleted TAP without another syscall. */
Test(tap, deleted_tap_polls_epollerr_and_reads_and_writes_ebadfd)
{
	uint8_t frame[TAP_VNET_HDR_LEN + 60] = { 0 };
	struct iovec iov = { frame, sizeof(frame) };
	struct pollfd pfd;

	create_persistent_tap(NAME, 0);
	cr_assert_eq(tap_open(&tap, NAME, &err), 0, "%s", err.msg);
	pfd = (struct pollfd){ .fd = tap.fd, .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, 0), 0, "a live, idle TAP polls nothing");
	delete_link(NAME);
	cr_assert_eq(poll(&pfd, 1, 0), 1);
	cr_assert(pfd.revents & POLLERR);
	cr_assert_eq(tap_writev(&tap, &iov, 1), -EBADFD);
	cr_assert_eq(tap_read(&tap, frame, sizeof(frame)), -EBADFD);
}

Test(tap_adopted, records_offloads_without_ioctls)
{
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	tap_adopt_fd(&tap, sv[0], "fake0");
	cr_assert_eq(tap_set_offload(&tap, TUN_F_CSUM), 0);
	cr_assert_eq(tap.offload, TUN_F_CSUM);
	close(sv[1]);
}
