/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ignis-uffd-handler SOCKET MEMFILE [--working-set FILE]: an example
 * page-fault handler for PUT /snapshot/load with mem_backend
 * {"backend_type": "Uffd"}.
 *
 * It listens on SOCKET, accepts one connection (ignis, during the load),
 * receives the guest RAM regions as JSON and the userfaultfd as SCM_RIGHTS
 * (snapshot/uffd_regions.h), checks the regions against MEMFILE, and then
 * copies each page from MEMFILE into the guest when the guest (or ignis)
 * first touches it. It exits when ignis closes the connection, that is when
 * the microVM is gone. Everything it receives is checked: the handler trusts
 * neither the message nor the fault addresses beyond the regions it accepted.
 *
 * It serves pages lazily and one at a time. With --working-set (a file
 * PUT /snapshot/working-set wrote, snapshot/working_set.h) it first copies
 * those pages in, in batches, serving the faults that arrive between
 * batches, so the vCPUs run while it prefetches. A real handler might also
 * share one memory file between many VMs, or fill everything up front.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "snapshot/format/uffd_regions.h"
#include "snapshot/format/working_set.h"

/* Pages per prefetch copy: faults wait at most one batch (256 KiB) for their turn. */
#define PREFETCH_BATCH_PAGES 64

struct handler {
	const uint8_t *file; /* the memory file, mapped read-only */
	uint64_t file_size;
	struct uffd_region regions[UFFD_REGIONS_MAX];
	unsigned int nr_regions;
	/* Per region, one bit per page that a UFFD_EVENT_REMOVE dropped: zero on the next fault. */
	uint8_t *removed[UFFD_REGIONS_MAX];
	const uint8_t *zeroes; /* one 2 MiB page of zeroes (hugetlbfs has no UFFDIO_ZEROPAGE) */
	int uffd;
	int sock;
	uint64_t nr_faults;
	struct working_set ws; /* pages to prefetch; empty without --working-set */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("ignis-uffd-handler: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int map_memfile(struct handler *h, const char *path)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) < 0) {
		say("%s: %s", path, strerror(errno));
		return -1;
	}
	if (sb.st_size <= 0) {
		say("%s: empty memory file", path);
		close(fd);
		return -1;
	}
	h->file_size = (uint64_t)sb.st_size;
	h->file = mmap(NULL, h->file_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (h->file == MAP_FAILED) {
		say("mmap %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Listens on @path, takes one connection and stops listening (the path is removed). */
static int accept_one(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lsock, sock;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		say("%s: socket path too long", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsock < 0 || bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lsock, 1) < 0) {
		say("listen on %s: %s", path, strerror(errno));
		return -1;
	}
	say("listening on %s", path);
	sock = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	if (sock < 0)
		say("accept: %s", strerror(errno));
	close(lsock);
	unlink(path);
	return sock;
}

/* One recvmsg: the JSON and exactly one fd; anything else is refused. */
static int receive_handshake(struct handler *h)
{
	static char text[UFFD_REGIONS_MSG_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = text, .iov_len = sizeof(text) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	char why[256];
	ssize_t n = recvmsg(h->sock, &msg, MSG_CMSG_CLOEXEC);
	int nr_fds = 0;

	h->uffd = -1;
	for (struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (nr_fds++ == 0)
				h->uffd = fd;
			else
				close(fd); /* unexpected: do not leak it */
		}
	}
	if (n <= 0) {
		say("no handshake from ignis: %s", n < 0 ? strerror(errno) : "connection closed");
		return -1;
	}
	if (nr_fds != 1 || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
		say("handshake must carry exactly one file descriptor (got %d)", nr_fds);
		return -1;
	}
	/* serve_events() reads until EAGAIN: it must not block on a peer's blocking fd. */
	if (fcntl(h->uffd, F_SETFL, fcntl(h->uffd, F_GETFL) | O_NONBLOCK) < 0) {
		say("not a usable file descriptor: %s", strerror(errno));
		return -1;
	}
	if (uffd_regions_parse(text, (size_t)n, h->file_size, h->regions, UFFD_REGIONS_MAX,
			       &h->nr_regions, why, sizeof(why))) {
		say("refusing the regions: %s", why);
		return -1;
	}
	for (unsigned int i = 0; i < h->nr_regions; i++)
		say("region %u: %#llx + %llu bytes <- file offset %llu, %llu-byte pages", i,
		    (unsigned long long)h->regions[i].base_host_virt_addr,
		    (unsigned long long)h->regions[i].size,
		    (unsigned long long)h->regions[i].offset,
		    (unsigned long long)h->regions[i].page_size);
	return 0;
}

/*
 * Copies @len bytes (whole pages of @page bytes) from @src to @dst in the
 * guest. Pages already there are skipped: a fault, a prefetch or ignis
 * itself filled them.
 */
static int place_pages(struct handler *h, uint64_t dst, const uint8_t *src, uint64_t len,
		       uint64_t page)
{
	while (len) {
		struct uffdio_copy copy = { .dst = dst, .src = (uintptr_t)src, .len = len };
		uint64_t done;

		if (ioctl(h->uffd, UFFDIO_COPY, &copy) == 0)
			return 0;
		/* ENOENT, ESRCH: the mapping or the process is going away; its hang-up follows. */
		if (errno == ENOENT || errno == ESRCH)
			return 0;
		if (errno != EAGAIN && errno != EEXIST) {
			say("UFFDIO_COPY at %#llx: %s", (unsigned long long)dst, strerror(errno));
			return -1;
		}
		/* Both may have copied a prefix; EEXIST stopped at a page that is there. */
		done = copy.copy > 0 ? (uint64_t)copy.copy : 0;
		if (errno == EEXIST)
			done += page;
		/* EAGAIN: the mm changed under us; retry the rest. */
		done = done < len ? done : len;
		dst += done;
		src += done;
		len -= done;
	}
	return 0;
}

static bool test_bit(const uint8_t *map, uint64_t i)
{
	return map && (map[i / 8] >> (i % 8)) & 1;
}

static int serve_fault(struct handler *h, uint64_t addr)
{
	const struct uffd_region *r = uffd_regions_find(h->regions, h->nr_regions, addr);
	uint64_t page, index;

	if (!r) {
		/* Registered but not described: ignis and the handler disagree. Nothing safe to do. */
		say("fault at %#llx outside every region", (unsigned long long)addr);
		return -1;
	}
	page = addr & ~(r->page_size - 1);
	index = (page - r->base_host_virt_addr) / r->page_size;
	h->nr_faults++;
	if (test_bit(h->removed[r - h->regions], index))
		return place_pages(h, page, h->zeroes, r->page_size, r->page_size);
	/* uffd_regions_parse() checked offset + size against the file. */
	return place_pages(h, page, h->file + r->offset + (page - r->base_host_virt_addr),
			   r->page_size, r->page_size);
}

/* MADV_DONTNEED / MADV_REMOVE (a balloon): those pages read as zero from now on. */
static void note_removed(struct handler *h, uint64_t start, uint64_t end)
{
	for (unsigned int i = 0; i < h->nr_regions; i++) {
		const struct uffd_region *r = &h->regions[i];
		uint64_t lo = start > r->base_host_virt_addr ? start : r->base_host_virt_addr;
		uint64_t hi = end < r->base_host_virt_addr + r->size ? end
								   : r->base_host_virt_addr + r->size;

		if (lo >= hi)
			continue;
		if (!h->removed[i]) {
			h->removed[i] = calloc(r->size / r->page_size / 8 + 1, 1);
			if (!h->removed[i]) {
				say("out of memory");
				exit(1);
			}
		}
		/* Only whole pages are ever removed from a page-size-aligned mapping. */
		for (uint64_t p = (lo - r->base_host_virt_addr) / r->page_size;
		     p < (hi - r->base_host_virt_addr + r->page_size - 1) / r->page_size; p++)
			h->removed[i][p / 8] |= (uint8_t)(1U << (p % 8));
		say("removed %#llx..%#llx", (unsigned long long)lo, (unsigned long long)hi);
	}
}

/* Reads every pending event; -1 on a fatal error. */
static int serve_events(struct handler *h)
{
	struct uffd_msg msg;

	for (;;) {
		ssize_t n = read(h->uffd, &msg, sizeof(msg));

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n != sizeof(msg)) {
			say("reading the userfaultfd: %s", n < 0 ? strerror(errno) : "short read");
			return -1;
		}
		switch (msg.event) {
		case UFFD_EVENT_PAGEFAULT:
			if (serve_fault(h, msg.arg.pagefault.address))
				return -1;
			break;
		case UFFD_EVENT_REMOVE:
			note_removed(h, msg.arg.remove.start, msg.arg.remove.end);
			break;
		default:
			say("ignoring userfaultfd event %u", msg.event);
			break;
		}
	}
}

/*
 * Copies the part of file pages [@first, @first + @count) that region @r
 * maps, in batches, reading pending events between batches. Pages a
 * REMOVE dropped stay dropped (they fault in as zeroes).
 */
static int prefetch_run(struct handler *h, const struct uffd_region *r, uint64_t first,
			uint64_t count, uint64_t *copied)
{
	const uint8_t *removed = h->removed[r - h->regions];
	uint64_t lo = first * WORKING_SET_PAGE, hi = lo + count * WORKING_SET_PAGE;

	lo = lo > r->offset ? lo : r->offset;
	hi = hi < r->offset + r->size ? hi : r->offset + r->size;
	while (lo < hi) {
		uint64_t len = hi - lo < PREFETCH_BATCH_PAGES * WORKING_SET_PAGE
				       ? hi - lo
				       : PREFETCH_BATCH_PAGES * WORKING_SET_PAGE;
		uint64_t index = (lo - r->offset) / WORKING_SET_PAGE;

		if (test_bit(removed, index)) {
			len = WORKING_SET_PAGE;
		} else {
			/* The batch ends before the next removed page. */
			for (uint64_t p = 1; removed && p < len / WORKING_SET_PAGE; p++)
				if (test_bit(removed, index + p))
					len = p * WORKING_SET_PAGE;
			if (place_pages(h, r->base_host_virt_addr + (lo - r->offset), h->file + lo,
					len, WORKING_SET_PAGE))
				return -1;
			*copied += len / WORKING_SET_PAGE;
		}
		lo += len;
		if (serve_events(h))
			return -1;
	}
	return 0;
}

/* Every run of the working set into every 4 KiB-page region that maps it. */
static int prefetch(struct handler *h)
{
	struct timespec t0, t1, c0, c1;
	uint64_t copied = 0, faults = h->nr_faults;

	if (!h->ws.nr_runs)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	/*
	 * The sources first, in one call per run: otherwise every 4 KiB copy
	 * also takes a page fault on this process's own mapping of the file.
	 */
	for (uint32_t k = 0; k < h->ws.nr_runs; k++)
		if (madvise((void *)(h->file + h->ws.runs[k].first * WORKING_SET_PAGE),
			    h->ws.runs[k].count * WORKING_SET_PAGE, MADV_POPULATE_READ))
			break; /* before Linux 5.14: the copies fault them in */
	for (unsigned int i = 0; i < h->nr_regions; i++) {
		const struct uffd_region *r = &h->regions[i];

		if (r->page_size != WORKING_SET_PAGE) {
			say("region %u has %llu-byte pages: not prefetched", i,
			    (unsigned long long)r->page_size);
			continue;
		}
		for (uint32_t k = 0; k < h->ws.nr_runs; k++)
			if (prefetch_run(h, r, h->ws.runs[k].first, h->ws.runs[k].count, &copied))
				return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	/* Wall time includes the vCPUs running meanwhile (on a small host, on the same CPUs). */
	say("prefetched %llu of %llu working-set pages in %.3f ms (%.3f ms of CPU; %llu faults served meanwhile)",
	    (unsigned long long)copied, (unsigned long long)working_set_pages(&h->ws),
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	    (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6,
	    (unsigned long long)(h->nr_faults - faults));
	return 0;
}

static int serve(struct handler *h)
{
	struct pollfd p[2] = { { .fd = h->uffd, .events = POLLIN },
			       { .fd = h->sock, .events = POLLIN } };

	if (prefetch(h))
		return -1;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			say("poll: %s", strerror(errno));
			return -1;
		}
		if ((p[0].revents & POLLIN) && serve_events(h))
			return -1;
		if (p[0].revents & (POLLERR | POLLHUP))
			break;
		/* ignis sends nothing more: readable means it closed the connection. */
		if (p[1].revents)
			break;
	}
	say("ignis closed the connection after %llu faults; exiting",
	    (unsigned long long)h->nr_faults);
	return 0;
}

/* --working-set FILE: read and check it against the memory file before listening. */
static int load_working_set(struct handler *h, const char *path)
{
	struct err_buf err;

	if (working_set_read(path, &h->ws, &err)) {
		say("%s", err.msg);
		return -1;
	}
	if (h->ws.mem_pages * WORKING_SET_PAGE != h->file_size) {
		say("%s is for %llu pages of memory, the memory file has %llu", path,
		    (unsigned long long)h->ws.mem_pages,
		    (unsigned long long)(h->file_size / WORKING_SET_PAGE));
		return -1;
	}
	say("%s: %llu pages in %u runs to prefetch", path,
	    (unsigned long long)working_set_pages(&h->ws), h->ws.nr_runs);
	return 0;
}

int main(int argc, char **argv)
{
	struct handler h = { .uffd = -1 };
	int ret;

	if (argc != 3 && !(argc == 5 && !strcmp(argv[3], "--working-set"))) {
		fprintf(stderr, "usage: %s SOCKET MEMFILE [--working-set FILE]\n", argv[0]);
		return 2;
	}
	if (map_memfile(&h, argv[2]) || (argc == 5 && load_working_set(&h, argv[4])))
		return 1;
	h.zeroes = mmap(NULL, UFFD_PAGE_2M, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h.zeroes == MAP_FAILED) {
		say("mmap: %s", strerror(errno));
		return 1;
	}
	h.sock = accept_one(argv[1]);
	if (h.sock < 0 || receive_handshake(&h))
		return 1;
	ret = serve(&h);
	for (unsigned int i = 0; i < h.nr_regions; i++)
		free(h.removed[i]);
	working_set_free(&h.ws);
	close(h.uffd);
	close(h.sock);
	return ret ? 1 : 0;
}
