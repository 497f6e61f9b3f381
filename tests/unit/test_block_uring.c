/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Async engine's ring (vmm/io/block_uring.c): it does readv, writev and
 * fsync of its drive, swaps the drive on PATCH, and refuses everything else
 * a hijacked thread could submit through io_uring_enter (which the seccomp
 * filters allow): other opcodes such as OPENAT, operations on fds that are
 * not the drive's fixed file, and further registrations (issue 14 #1).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "vmm/io/block_uring.h"

static char dir[] = "/var/tmp/ignis-bu-XXXXXX";
static char path_a[64], path_b[64];
static int fd_a = -1, fd_b = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct block_uring bu;
static int last_result;
static unsigned int completions;

static void done(void *ctx, void *cookie, int result)
{
	(void)ctx;
	(void)cookie;
	last_result = result;
	completions++;
}

/* Two 8 KiB files, "A..." and "B...", and a ring on the first. */
static void setup(void)
{
	char fill[8192];
	struct err_buf err = { "" };

	strcpy(dir, "/var/tmp/ignis-bu-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path_a, sizeof(path_a), "%s/a", dir);
	snprintf(path_b, sizeof(path_b), "%s/b", dir);
	fd_a = open(path_a, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	fd_b = open(path_b, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	cr_assert(fd_a >= 0 && fd_b >= 0);
	memset(fill, 'A', sizeof(fill));
	cr_assert_eq(pwrite(fd_a, fill, sizeof(fill), 0), (ssize_t)sizeof(fill));
	memset(fill, 'B', sizeof(fill));
	cr_assert_eq(pwrite(fd_b, fill, sizeof(fill), 0), (ssize_t)sizeof(fill));
	completions = 0;
	cr_assert_eq(block_uring_init(&bu, 8, fd_a, NULL, done, NULL, &lock, &err), 0, "%s",
		     err.msg);
}

static void teardown(void)
{
	char p[80];

	block_uring_destroy(&bu);
	close(fd_a);
	close(fd_b);
	unlink(path_a);
	unlink(path_b);
	snprintf(p, sizeof(p), "%s/made-by-the-ring", dir);
	unlink(p);
	rmdir(dir);
}

/* Submits @sqe's operation as a hijacked thread would; its completion result. */
static int raw_result(void)
{
	struct io_uring_cqe *cqe;
	int res;

	cr_assert_geq(io_uring_submit(&bu.ring), 0);
	cr_assert_eq(io_uring_wait_cqe(&bu.ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(&bu.ring, cqe);
	return res;
}

/* One engine operation, drained; its result. */
static int engine_readv(char *buf, size_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	unsigned int before = completions;

	pthread_mutex_lock(&lock);
	cr_assert_eq(block_uring_readv(&bu, &iov, 1, off, NULL), 0);
	block_uring_drain(&bu);
	pthread_mutex_unlock(&lock);
	cr_assert_eq(completions, before + 1);
	return last_result;
}

TestSuite(block_uring, .init = setup, .fini = teardown);

Test(block_uring, reads_writes_and_fsyncs_its_drive)
{
	struct iovec iov;
	char buf[512];

	memset(buf, 'w', sizeof(buf));
	iov = (struct iovec){ .iov_base = buf, .iov_len = sizeof(buf) };
	pthread_mutex_lock(&lock);
	cr_assert_eq(block_uring_writev(&bu, &iov, 1, 4096, NULL), 0);
	block_uring_drain(&bu);
	cr_assert_eq(last_result, (int)sizeof(buf));
	cr_assert_eq(block_uring_fsync(&bu, true, NULL), 0);
	block_uring_drain(&bu);
	cr_assert_eq(last_result, 0, "fsync: %d", last_result);
	pthread_mutex_unlock(&lock);
	cr_assert_eq(engine_readv(buf, sizeof(buf), 0), (int)sizeof(buf));
	cr_assert_eq(buf[0], 'A');
	cr_assert_eq(pread(fd_a, buf, 1, 4096), 1);
	cr_assert_eq(buf[0], 'w');
}

Test(block_uring, set_file_swaps_the_drive)
{
	char buf[16];

	cr_assert_eq(block_uring_set_file(&bu, fd_b), 0);
	cr_assert_eq(engine_readv(buf, sizeof(buf), 0), (int)sizeof(buf));
	cr_assert_eq(buf[0], 'B', "read '%c' after the swap", buf[0]);
}

Test(block_uring, an_openat_through_the_ring_is_refused)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&bu.ring);
	char p[80];

	snprintf(p, sizeof(p), "%s/made-by-the-ring", dir);
	io_uring_prep_openat(sqe, AT_FDCWD, p, O_CREAT | O_RDWR, 0600);
	cr_assert_eq(raw_result(), -EACCES);
	cr_assert_neq(access(p, F_OK), 0, "the ring created %s", p);
}

Test(block_uring, a_readv_of_another_fd_is_refused)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&bu.ring);
	char buf[16] = "";
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };

	/* A plain fd, not the fixed file: the ring requires IOSQE_FIXED_FILE. */
	io_uring_prep_readv(sqe, fd_b, &iov, 1, 0);
	cr_assert_eq(raw_result(), -EACCES);
	cr_assert_eq(buf[0], '\0');
}

Test(block_uring, another_opcode_on_the_drive_is_refused)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&bu.ring);
	char buf[16];

	/* IORING_OP_READ is not in the list (readv, writev, fsync are). */
	io_uring_prep_read(sqe, 0, buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	cr_assert_eq(raw_result(), -EACCES);
}

Test(block_uring, registrations_other_than_the_file_update_are_refused)
{
	char buf[4096];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };

	cr_assert_eq(io_uring_register_buffers(&bu.ring, &iov, 1), -EACCES);
	cr_assert_eq(io_uring_register_files_update(&bu.ring, 0, &fd_b, 1), 1);
}
