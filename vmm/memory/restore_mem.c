/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/memory/restore_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "snapshot/format/uffd_regions.h"
#include "vmm/util/fd_io.h"
#include "vmm/util/log.h"

/* How long a handler may take to receive the message before the load fails. */
#define HANDLER_TAKE_SEC 5

/* The 2M case: hugetlbfs RAM, then the whole file read in (eager, not lazy). */
static int read_file_into(struct guest_mem *mem, const struct machine_config *mc,
			  const struct guest_range *ranges, unsigned int nr, int fd,
			  struct err_buf *err)
{
	int ret = guest_mem_alloc(mem, ranges, nr, mc->huge_pages);

	if (ret)
		return guest_mem_alloc_error(ret, mc, err);
	/* The regions lie back to back in one mapping, as in the file. */
	ret = fd_pread_all(fd, mem->mapping, mem->total_size, 0);
	if (ret) {
		err_set(err, ret, "cannot read the memory file into huge pages: %s",
			ret == -ENODATA ? "unexpected end of file" : strerror(-ret));
		guest_mem_free(mem);
	}
	return ret;
}

/* /dev/userfaultfd first (needs only that node's permission), then the syscall. */
static int uffd_create(bool hugetlb, struct err_buf *err)
{
	struct uffdio_api api = { .api = UFFD_API };
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	int uffd = -1, saved;

	if (dev >= 0) {
		uffd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
	}
	if (uffd < 0)
		uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		return err_set(err, -errno,
			       "cannot create a userfaultfd: %s (ignis needs read-write access to "
			       "/dev/userfaultfd, or CAP_SYS_PTRACE, or vm.unprivileged_userfaultfd=1)",
			       strerror(errno));
	/*
	 * No UFFD_FEATURE_EVENT_REMOVE: ignis never drops guest pages (no
	 * balloon), and the feature would make such a drop wait on the handler.
	 */
	if (ioctl(uffd, UFFDIO_API, &api) < 0) {
		saved = errno;
		close(uffd);
		return err_set(err, -saved, "UFFDIO_API: %s", strerror(saved));
	}
	if (hugetlb && !(api.features & UFFD_FEATURE_MISSING_HUGETLBFS)) {
		close(uffd);
		return err_set(err, -ENOTSUP, "this kernel's userfaultfd cannot serve huge pages");
	}
	return uffd;
}

static int uffd_register_all(int uffd, const struct guest_mem *mem, struct err_buf *err)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		struct uffdio_register reg = {
			.range = { .start = (uintptr_t)mem->regions[i].host,
				   .len = mem->regions[i].size },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
			return err_set(err, -errno, "UFFDIO_REGISTER of guest RAM region %u: %s", i,
				       strerror(errno));
		if (!(reg.ioctls & (1ULL << _UFFDIO_COPY)))
			return err_set(err, -ENOTSUP,
				       "UFFDIO_COPY is not available on guest RAM region %u", i);
	}
	return 0;
}

static int handler_connect(const char *path, struct err_buf *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock, saved;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(err, -ENAMETOOLONG,
			       "the page-fault handler's socket path is longer than %zu bytes",
			       sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/*
	 * Non-blocking: a handler that listens but never accepts fills its
	 * backlog, and a blocking connect() would then hold the VMM thread (and
	 * the API) forever. On a Unix socket a full backlog is EAGAIN at once:
	 * retry for HANDLER_TAKE_SEC, as long as the hand-over may take.
	 */
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0)
		return err_set(err, -errno, "socket: %s", strerror(errno));
	for (int tries = 0; connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0; tries++) {
		saved = errno;
		if ((saved == EAGAIN || saved == EINTR) && tries < HANDLER_TAKE_SEC * 100) {
			poll(NULL, 0, 10);
			continue;
		}
		close(sock);
		if (saved == EAGAIN)
			return err_set(err, -ETIMEDOUT,
				       "the page-fault handler at %s did not accept the connection "
				       "within %d s",
				       path, HANDLER_TAKE_SEC);
		return err_set(err, -saved,
			       "cannot connect to the page-fault handler at %s: %s%s", path,
			       strerror(saved),
			       saved == ECONNREFUSED ? " (is a handler listening there?)" : "");
	}
	/* The handshake's sendmsg and the hang-up watch expect a blocking socket. */
	if (fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) & ~O_NONBLOCK) < 0) {
		saved = errno;
		close(sock);
		return err_set(err, -saved, "fcntl: %s", strerror(saved));
	}
	return sock;
}

static int send_regions(int sock, int uffd, const struct guest_mem *mem, uint64_t page_size,
			struct err_buf *err)
{
	struct uffd_region r[GUEST_MEM_MAX_REGIONS];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	uint64_t offset = 0;
	char *text;
	ssize_t n;

	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		r[i] = (struct uffd_region){ .base_host_virt_addr = (uintptr_t)mem->regions[i].host,
					     .size = mem->regions[i].size,
					     .offset = offset,
					     .page_size = page_size };
		offset += mem->regions[i].size;
	}
	text = uffd_regions_to_json(r, mem->nr_regions);
	if (!text)
		return err_set(err, -ENOMEM, "out of memory");
	iov = (struct iovec){ .iov_base = text, .iov_len = strlen(text) };
	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &uffd, sizeof(int));
	/* MSG_NOSIGNAL: a handler that already hung up is an error, not SIGPIPE. */
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	free(text);
	if (n < 0)
		return err_set(err, -errno, "cannot send the userfaultfd to the page-fault handler: %s",
			       strerror(errno));
	if ((size_t)n != iov.iov_len)
		return err_set(err, -EIO, "short write to the page-fault handler");
	return 0;
}

/*
 * Firecracker's handshake has no answer, so a handler that accepts and
 * closes (or never reads) would leave the guest hanging at its first fault.
 * On a Unix socket SIOCOUTQ counts the bytes the peer has not read yet:
 * zero means the handler holds the uffd now, unless the zero comes from the
 * peer closing with the message unread, which the kernel flags first with
 * ECONNRESET in SO_ERROR.
 */
static int wait_taken(int sock, struct err_buf *err)
{
	static const char closed[] =
		"the page-fault handler closed the connection without receiving the userfaultfd";
	struct timespec now, end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += HANDLER_TAKE_SEC;
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLRDHUP };
		/* Sampled before the queue: a peer gone by then can never read it. */
		bool hung = poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR));
		int unread = 0, soerr = 0;
		socklen_t len = sizeof(soerr);

		if (ioctl(sock, SIOCOUTQ, &unread) < 0)
			return err_set(err, -errno, "SIOCOUTQ: %s", strerror(errno));
		if (unread == 0) {
			if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr)
				return err_set(err, -ECONNRESET, "%s", closed);
			return 0;
		}
		if (hung)
			return err_set(err, -ECONNRESET, "%s", closed);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			return err_set(err, -ETIMEDOUT,
				       "the page-fault handler did not receive the userfaultfd "
				       "within %d s", HANDLER_TAKE_SEC);
		poll(&p, 1, 1); /* a millisecond, or less if it hangs up */
	}
}

/*
 * The handler never writes, so the socket only becomes ready when it goes
 * away. Pages it has not served yet can then never arrive, and the guest
 * hangs at its next touch of one (as with Firecracker); say so once. A
 * warning, not an error: a handler that filled all of RAM may exit.
 */
static void on_handler_hangup(struct event_handler *h, uint32_t events)
{
	struct restore_mem_uffd *keep = container_of(h, struct restore_mem_uffd, hangup);

	(void)events;
	pr_warn("the page-fault handler closed its connection: a guest page it has not served "
		"yet can never arrive, and the guest hangs if it touches one");
	event_loop_del(keep->loop, keep->sock);
	keep->loop = NULL;
}

static int setup_uffd(struct guest_mem *mem, const struct machine_config *mc,
		      const struct guest_range *ranges, unsigned int nr, const char *path,
		      struct event_loop *loop, struct restore_mem_uffd *keep, struct err_buf *err)
{
	bool hugetlb = mc->huge_pages == HUGE_PAGES_2M;
	int ret = guest_mem_alloc(mem, ranges, nr, mc->huge_pages);

	if (ret)
		return guest_mem_alloc_error(ret, mc, err);
	ret = keep->uffd = uffd_create(hugetlb, err);
	if (ret >= 0)
		ret = uffd_register_all(keep->uffd, mem, err);
	if (ret >= 0)
		ret = keep->sock = handler_connect(path, err);
	if (ret >= 0)
		ret = send_regions(keep->sock, keep->uffd, mem, hugetlb ? UFFD_PAGE_2M : UFFD_PAGE_4K,
				   err);
	if (ret >= 0)
		ret = wait_taken(keep->sock, err);
	if (ret >= 0 && loop) {
		keep->hangup.fn = on_handler_hangup;
		ret = event_loop_add(loop, keep->sock, EPOLLIN | EPOLLRDHUP, &keep->hangup);
		if (ret < 0)
			err_set(err, ret, "epoll_ctl: %s", strerror(-ret));
		else
			keep->loop = loop;
	}
	if (ret < 0) {
		guest_mem_free(mem);
		restore_mem_uffd_close(keep);
		return ret;
	}
	pr_info("guest memory served by the page-fault handler at %s (%s pages)", path,
		hugetlb ? "2 MiB" : "4 KiB");
	return 0;
}

int restore_mem_setup(struct guest_mem *mem, const struct machine_config *mc,
		      const struct guest_range *ranges, unsigned int nr,
		      const struct restore_mem_source *src, struct event_loop *loop,
		      struct restore_mem_uffd *keep, struct err_buf *err)
{
	int ret;

	keep->uffd = keep->sock = -1;
	keep->loop = NULL;
	if (src->uffd_path)
		return setup_uffd(mem, mc, ranges, nr, src->uffd_path, loop, keep, err);
	if (src->reserve) {
		ret = guest_mem_alloc(mem, ranges, nr, HUGE_PAGES_NONE);
		return ret ? guest_mem_alloc_error(ret, mc, err) : 0;
	}
	if (mc->huge_pages == HUGE_PAGES_2M)
		return read_file_into(mem, mc, ranges, nr, src->file_fd, err);
	ret = guest_mem_map_file(mem, ranges, nr, src->file_fd);
	if (ret)
		return err_set(err, ret, "cannot map the snapshot memory file: %s", strerror(-ret));
	return 0;
}

void restore_mem_uffd_unblock(const struct restore_mem_uffd *keep, const struct guest_mem *mem)
{
	if (keep->uffd < 0)
		return;
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		struct uffdio_range range = { .start = (uintptr_t)mem->regions[i].host,
					      .len = mem->regions[i].size };

		if (ioctl(keep->uffd, UFFDIO_UNREGISTER, &range) < 0)
			pr_warn("UFFDIO_UNREGISTER of guest RAM region %u: %s", i, strerror(errno));
	}
}

void restore_mem_uffd_close(struct restore_mem_uffd *keep)
{
	if (keep->loop)
		event_loop_del(keep->loop, keep->sock);
	keep->loop = NULL;
	if (keep->uffd >= 0)
		close(keep->uffd);
	if (keep->sock >= 0)
		close(keep->sock);
	keep->uffd = keep->sock = -1;
}
