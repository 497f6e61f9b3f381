/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ignis-snapshot-editor's rebase: a diff's data extents, and only those, are
 * copied onto the base at their offsets. Real sparse files in $TMPDIR.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "snapshot/format/rebase.h"
#include "tests/unit/helpers.h"

#define PG 4096
#define NR 64

static char dir[64], base[96], diff[96];

static void init(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(dir, sizeof(dir), "%s/ignis-rebase-XXXXXX", tmp);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(base, sizeof(base), "%s/base", dir);
	snprintf(diff, sizeof(diff), "%s/diff", dir);
}

static void fini(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(rebase, .init = init, .fini = fini);

/* A base of @nr pages, page p filled with 0xb0 + p % 16. */
static void make_base(uint64_t nr)
{
	int fd = open(base, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	uint8_t page[PG];

	cr_assert_geq(fd, 0);
	for (uint64_t p = 0; p < nr; p++) {
		memset(page, 0xb0 + (int)(p % 16), PG);
		cr_assert_eq(write(fd, page, PG), PG);
	}
	close(fd);
}

/* A sparse diff of @nr pages; page p of @pages filled with @fill[p]. */
static void make_diff(uint64_t nr, const uint64_t *pages, const int *fill, unsigned int n)
{
	int fd = open(diff, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	uint8_t page[PG];

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)(nr * PG)), 0);
	for (unsigned int i = 0; i < n; i++) {
		memset(page, fill[i], PG);
		cr_assert_eq(pwrite(fd, page, PG, (off_t)(pages[i] * PG)), PG);
	}
	close(fd);
}

static int page_byte(const char *path, uint64_t p, uint64_t at)
{
	int fd = open(path, O_RDONLY);
	uint8_t b;

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &b, 1, (off_t)(p * PG + at)), 1);
	close(fd);
	return b;
}

Test(rebase, copies_the_diff_pages_including_a_page_of_zeroes_and_nothing_else)
{
	static const uint64_t pages[] = { 0, 7, 8, 40, 63 };
	static const int fill[] = { 0x11, 0x22, 0x00, 0x44, 0x55 };
	struct rebase_stats st;
	struct err_buf err;
	struct stat sb;

	make_base(NR);
	make_diff(NR, pages, fill, 5);
	stat(diff, &sb);
	cr_assert_lt((uint64_t)sb.st_blocks * 512, NR * PG / 2, "the diff must be sparse here");
	cr_assert_eq(snapshot_rebase(base, diff, &st, &err), 0, "%s", err.msg);
	for (uint64_t p = 0; p < NR; p++) {
		int want = 0xb0 + (int)(p % 16);

		for (unsigned int i = 0; i < 5; i++)
			if (pages[i] == p)
				want = fill[i];
		cr_assert_eq(page_byte(base, p, 0), want, "page %llu first byte",
			     (unsigned long long)p);
		cr_assert_eq(page_byte(base, p, PG - 1), want, "page %llu last byte",
			     (unsigned long long)p);
	}
	cr_assert_eq(page_byte(base, 8, 100), 0, "the dirty page of zeroes was copied");
	cr_assert_eq(st.extents, 4, "7 and 8 are one extent");
	cr_assert_eq(st.bytes, 5 * PG);
	stat(base, &sb);
	cr_assert_eq(sb.st_size, NR * PG, "the base keeps its size");
}

Test(rebase, an_all_hole_diff_changes_nothing)
{
	struct rebase_stats st;
	struct err_buf err;

	make_base(NR);
	make_diff(NR, NULL, NULL, 0);
	cr_assert_eq(snapshot_rebase(base, diff, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(st.extents, 0);
	cr_assert_eq(page_byte(base, 5, 0), 0xb5);
}

Test(rebase, a_size_mismatch_is_refused_and_the_base_untouched)
{
	static const uint64_t pages[] = { 1 };
	static const int fill[] = { 0x77 };
	struct rebase_stats st;
	struct err_buf err;

	make_base(NR);
	make_diff(NR + 1, pages, fill, 1);
	cr_assert_fails_with(snapshot_rebase(base, diff, &st, &err), -EINVAL, err,
			     "not a diff of this base");
	cr_assert_eq(page_byte(base, 1, 0), 0xb1);
}

Test(rebase, the_same_file_is_refused)
{
	struct rebase_stats st;
	struct err_buf err;
	char link[128];

	make_base(NR);
	snprintf(link, sizeof(link), "%s/alias", dir);
	cr_assert_eq(symlink(base, link), 0);
	cr_assert_fails_with(snapshot_rebase(base, link, &st, &err), -EINVAL, err,
			     "are the same file");
}

Test(rebase, non_regular_files_are_refused)
{
	struct rebase_stats st;
	struct err_buf err;

	make_base(NR);
	cr_assert_fails_with(snapshot_rebase(base, dir, &st, &err), -EINVAL, err,
			     "is not a regular file");
	cr_assert_fails_with(snapshot_rebase(base, "/dev/null", &st, &err), -EINVAL, err,
			     "diff /dev/null is not a regular file");
	cr_assert_eq(mkfifo(diff, 0600), 0);
	cr_assert_fails_with(snapshot_rebase(base, diff, &st, &err), -EINVAL, err,
			     "is not a regular file"); /* and does not wait for a writer */
	unlink(diff);
	make_diff(NR, NULL, NULL, 0);
	cr_assert_fails_with(snapshot_rebase("/dev/null", diff, &st, &err), -EINVAL, err,
			     "base memory file /dev/null is not a regular file");
	cr_assert_fails_with(snapshot_rebase(dir, diff, &st, &err), -EISDIR, err,
			     "cannot open base memory file");
}

Test(rebase, missing_files_are_named)
{
	struct rebase_stats st;
	struct err_buf err;

	make_base(NR);
	cr_assert_fails_with(snapshot_rebase(base, diff, &st, &err), -ENOENT, err, diff);
	make_diff(NR, NULL, NULL, 0);
	unlink(base);
	cr_assert_fails_with(snapshot_rebase(base, diff, &st, &err), -ENOENT, err, base);
}
