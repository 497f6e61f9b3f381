/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-buffer pread/pwrite on a real file: offsets, early end of file, errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "vmm/util/fd_io.h"

static char path[64];
static int fd = -1;

static void init(void)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	cr_assert_lt(snprintf(path, sizeof(path), "%s/ignis-fdio-XXXXXX", dir), (int)sizeof(path));
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
}

static void fini(void)
{
	close(fd);
	unlink(path);
}

TestSuite(fd_io, .init = init, .fini = fini);

Test(fd_io, writes_and_reads_back_at_offsets)
{
	uint8_t out[10000], in[10000];

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7);
	cr_assert_eq(fd_pwrite_all(fd, out, sizeof(out), 4096), 0);
	cr_assert_eq(lseek(fd, 0, SEEK_END), 4096 + (off_t)sizeof(out));
	cr_assert_eq(lseek(fd, 0, SEEK_CUR), 4096 + (off_t)sizeof(out), "pwrite leaves no offset");
	cr_assert_eq(fd_pread_all(fd, in, sizeof(in), 4096), 0);
	cr_assert_arr_eq(in, out, sizeof(in));
	cr_assert_eq(fd_pwrite_all(fd, out, 0, 0), 0, "nothing to write is success");
}

Test(fd_io, a_read_past_the_end_is_enodata)
{
	uint8_t buf[100];

	cr_assert_eq(fd_pwrite_all(fd, "abc", 3, 0), 0);
	cr_assert_eq(fd_pread_all(fd, buf, 4, 0), -ENODATA);
	cr_assert_eq(fd_pread_all(fd, buf, 1, 3), -ENODATA);
	cr_assert_eq(fd_pread_all(fd, buf, 3, 0), 0);
	cr_assert_eq(memcmp(buf, "abc", 3), 0);
}

Test(fd_io, errors_are_negative_errno)
{
	uint8_t buf[4] = { 0 };

	cr_assert_eq(fd_pwrite_all(-1, buf, sizeof(buf), 0), -EBADF);
	cr_assert_eq(fd_pread_all(-1, buf, sizeof(buf), 0), -EBADF);
}
