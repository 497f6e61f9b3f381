/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The working-set file (snapshot/format/working_set.c): runs built page by
 * page, the payload round trip, the whole file through the state-file
 * container, and every way a hostile payload is refused with its reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "snapshot/format/codec.h"
#include "snapshot/format/working_set.h"

/* A payload of @n runs (first, count pairs in @r) for @pages pages of memory. */
static size_t payload(uint8_t *buf, uint64_t pages, const uint64_t *r, uint32_t n)
{
	snap_put_le32(buf, WORKING_SET_TAG);
	snap_put_le32(buf + 4, WORKING_SET_VERSION);
	snap_put_le32(buf + 8, WORKING_SET_PAGE);
	snap_put_le32(buf + 12, n);
	snap_put_le64(buf + 16, pages);
	for (uint32_t i = 0; i < 2 * n; i++)
		snap_put_le64(buf + WORKING_SET_HEADER + 8 * i, r[i]);
	return WORKING_SET_HEADER + 16 * (size_t)n;
}

static void expect_refused(const uint8_t *buf, size_t len, const char *why)
{
	struct working_set ws;
	struct err_buf err = { "" };

	cr_assert_eq(working_set_decode(buf, len, &ws, &err), -EINVAL, "accepted: want '%s'", why);
	cr_assert(strstr(err.msg, why), "want '%s' in: %s", why, err.msg);
	working_set_free(&ws);
}

Test(working_set, adjacent_pages_become_one_run)
{
	struct working_set ws = { .mem_pages = 100 };
	const uint64_t pages[] = { 0, 1, 2, 7, 8, 50, 99 };

	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		cr_assert_eq(working_set_add(&ws, pages[i]), 0);
	cr_assert_eq(ws.nr_runs, 4);
	cr_assert_eq(ws.runs[0].first, 0);
	cr_assert_eq(ws.runs[0].count, 3);
	cr_assert_eq(ws.runs[1].first, 7);
	cr_assert_eq(ws.runs[1].count, 2);
	cr_assert_eq(ws.runs[3].first, 99);
	cr_assert_eq(working_set_pages(&ws), 7);
	working_set_free(&ws);
}

Test(working_set, many_runs_grow_and_round_trip)
{
	struct working_set ws = { .mem_pages = 1 << 20 }, back;
	struct err_buf err = { "" };
	uint8_t *buf;
	size_t len;

	for (uint64_t p = 0; p < (1 << 20); p += 3)
		cr_assert_eq(working_set_add(&ws, p), 0);
	cr_assert_eq(ws.nr_runs, 349526);
	cr_assert_eq(working_set_encode(&ws, &buf, &len), 0);
	cr_assert_eq(len, WORKING_SET_HEADER + 16 * (size_t)ws.nr_runs);
	cr_assert_eq(working_set_decode(buf, len, &back, &err), 0, "%s", err.msg);
	cr_assert_eq(back.nr_runs, ws.nr_runs);
	cr_assert_eq(back.mem_pages, ws.mem_pages);
	cr_assert_eq(memcmp(back.runs, ws.runs, ws.nr_runs * sizeof(ws.runs[0])), 0);
	free(buf);
	working_set_free(&ws);
	working_set_free(&back);
}

Test(working_set, an_empty_set_is_valid)
{
	struct working_set ws;
	struct err_buf err = { "" };
	uint8_t buf[64];
	size_t len = payload(buf, 10, NULL, 0);

	cr_assert_eq(working_set_decode(buf, len, &ws, &err), 0, "%s", err.msg);
	cr_assert_eq(ws.nr_runs, 0);
	cr_assert_eq(ws.mem_pages, 10);
	working_set_free(&ws);
}

Test(working_set, hostile_payloads_are_refused_with_the_reason)
{
	uint8_t buf[256] = { 0 };
	const uint64_t ok[] = { 0, 2, 5, 1 };
	const uint64_t overlap[] = { 0, 3, 2, 1 };
	const uint64_t backwards[] = { 5, 1, 0, 1 };
	const uint64_t empty[] = { 1, 0 };
	const uint64_t past[] = { 8, 3 };
	const uint64_t wrap[] = { 1, UINT64_MAX };
	size_t len;

	expect_refused(buf, 3, "not an ignis working-set file");
	len = payload(buf, 10, ok, 2);
	buf[0] ^= 1;
	expect_refused(buf, len, "not an ignis working-set file");
	len = payload(buf, 10, ok, 2);
	snap_put_le32(buf + 4, 2);
	expect_refused(buf, len, "working-set version 2");
	len = payload(buf, 10, ok, 2);
	snap_put_le32(buf + 8, 2097152);
	expect_refused(buf, len, "page size 2097152");
	len = payload(buf, 10, ok, 2);
	expect_refused(buf, len - 1, "says 2 runs but holds 31 bytes");
	snap_put_le32(buf + 12, 3);
	expect_refused(buf, len, "says 3 runs but holds 32 bytes");
	expect_refused(buf, payload(buf, 0, NULL, 0), "memory size of 0 pages");
	expect_refused(buf, payload(buf, (1ULL << 40) + 1, NULL, 0), "over 2^40");
	expect_refused(buf, payload(buf, 10, overlap, 2), "out of order or overlapping (run 1)");
	expect_refused(buf, payload(buf, 10, backwards, 2), "out of order or overlapping");
	expect_refused(buf, payload(buf, 10, empty, 1), "an empty run (run 0)");
	expect_refused(buf, payload(buf, 10, past, 1), "past the end of the memory");
	expect_refused(buf, payload(buf, 10, wrap, 1), "past the end of the memory");
}

Test(working_set, the_encoder_refuses_what_the_decoder_would)
{
	struct working_set_run runs[] = { { 5, 1 }, { 0, 1 } };
	struct working_set ws = { .mem_pages = 10, .nr_runs = 2, .runs = runs };
	uint8_t *buf = NULL;
	size_t len;

	cr_assert_eq(working_set_encode(&ws, &buf, &len), -EINVAL);
	cr_assert_null(buf);
}

Test(working_set, file_round_trip_and_refusals)
{
	char dir[] = "/tmp/ignis-ws-XXXXXX", path[64], fifo[64];
	struct working_set ws = { .mem_pages = 32768 }, back;
	struct err_buf err = { "" };

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fn.ws", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	for (uint64_t p = 100; p < 200; p++)
		cr_assert_eq(working_set_add(&ws, p), 0);
	cr_assert_eq(working_set_write(path, &ws, &err), 0, "%s", err.msg);
	cr_assert_eq(working_set_read(path, &back, &err), 0, "%s", err.msg);
	cr_assert_eq(back.nr_runs, 1);
	cr_assert_eq(back.runs[0].first, 100);
	cr_assert_eq(back.runs[0].count, 100);
	working_set_free(&back);
	/* A FIFO is refused at once, not waited on. */
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_neq(working_set_read(fifo, &back, &err), 0);
	cr_assert(strstr(err.msg, "not a regular file"), "%s", err.msg);
	working_set_free(&back);
	working_set_free(&ws);
	unlink(path);
	unlink(fifo);
	rmdir(dir);
}

/* Runs "ignis-snapshot-editor info-working-set show --path @path" into @out; its exit code. */
static int editor_show(const char *path, char *out, size_t len)
{
	char cmd[512];
	size_t got;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' info-working-set show --path '%s' 2>&1", IGNIS_EDITOR,
		 path);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	got = fread(out, 1, len - 1, p);
	out[got] = '\0';
	st = pclose(p);
	cr_assert(WIFEXITED(st), "the editor did not exit: %d", st);
	return WEXITSTATUS(st);
}

Test(working_set, the_editor_shows_a_file_and_refuses_a_damaged_one)
{
	char dir[] = "/tmp/ignis-ws-XXXXXX", path[64], out[4096];
	struct working_set ws = { .mem_pages = 32768 };
	struct err_buf err = { "" };
	uint8_t byte;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fn.ws", dir);
	for (uint64_t p = 10; p < 13; p++)
		cr_assert_eq(working_set_add(&ws, p), 0);
	cr_assert_eq(working_set_add(&ws, 100), 0);
	cr_assert_eq(working_set_write(path, &ws, &err), 0, "%s", err.msg);
	cr_assert_eq(editor_show(path, out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "4 of 32768 pages (0.01%) in 2 runs of 4096-byte pages\n"), "%s", out);
	cr_assert(strstr(out, "\n10 3 0xa000\n100 1 0x64000\n"), "%s", out);
	/* One byte of the payload flipped: the checksum refuses it, exit 1. */
	f = fopen(path, "r+b");
	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, -1, SEEK_END), 0);
	cr_assert_eq(fread(&byte, 1, 1, f), 1);
	byte ^= 0xff;
	cr_assert_eq(fseek(f, -1, SEEK_END), 0);
	cr_assert_eq(fwrite(&byte, 1, 1, f), 1);
	fclose(f);
	cr_assert_eq(editor_show(path, out, sizeof(out)), 1, "%s", out);
	cr_assert(!strncmp(out, "ignis-snapshot-editor: ", 23), "%s", out);
	cr_assert(!strstr(out, "pages ("), "a damaged file was shown: %s", out);
	working_set_free(&ws);
	unlink(path);
	rmdir(dir);
}
