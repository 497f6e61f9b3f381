/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/snapshot_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "vmm/memory/dirty.h"
#include "vmm/util/fd_io.h"

/* The first page at or after @from whose bit equals @set, or @nr if none. */
static uint64_t next_page(const uint64_t *bits, uint64_t from, uint64_t nr, bool set)
{
	while (from < nr) {
		uint64_t w = bits[from / DIRTY_WORD_BITS];

		if (!set)
			w = ~w;
		w &= ~0ULL << (from % DIRTY_WORD_BITS);
		if (w) {
			uint64_t p = from - from % DIRTY_WORD_BITS + (uint64_t)__builtin_ctzll(w);

			return p < nr ? p : nr;
		}
		from = from - from % DIRTY_WORD_BITS + DIRTY_WORD_BITS;
	}
	return nr;
}

int snapshot_mem_write_pages(int fd, uint64_t file_off, const uint8_t *src, uint64_t size,
			     const uint64_t *bits)
{
	uint64_t nr = (size + DIRTY_PAGE_SIZE - 1) / DIRTY_PAGE_SIZE;
	uint64_t p = next_page(bits, 0, nr, true);

	while (p < nr) {
		uint64_t q = next_page(bits, p, nr, false);
		uint64_t start = p * DIRTY_PAGE_SIZE;
		uint64_t end = q * DIRTY_PAGE_SIZE < size ? q * DIRTY_PAGE_SIZE : size;
		int ret = fd_pwrite_all(fd, src + start, end - start, file_off + start);

		if (ret)
			return ret;
		p = next_page(bits, q, nr, true);
	}
	return 0;
}

static bool page_is_zero(const uint8_t *p, uint64_t len)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	uint64_t acc = 0;

	/* OR a whole page before testing: no branch per word, and pages are aligned. */
	for (uint64_t i = 0; i < len / sizeof(*w); i++)
		acc |= w[i];
	for (uint64_t i = len - len % sizeof(*w); i < len; i++)
		acc |= p[i];
	return acc == 0;
}

void snapshot_mem_nonzero_pages(const uint8_t *src, uint64_t size, uint64_t *bits)
{
	uint64_t nr = (size + DIRTY_PAGE_SIZE - 1) / DIRTY_PAGE_SIZE;

	memset(bits, 0, DIRTY_WORDS(nr) * sizeof(*bits));
	for (uint64_t p = 0; p < nr; p++) {
		uint64_t off = p * DIRTY_PAGE_SIZE;
		uint64_t len = size - off < DIRTY_PAGE_SIZE ? size - off : DIRTY_PAGE_SIZE;

		if (!page_is_zero(src + off, len))
			bits[p / DIRTY_WORD_BITS] |= 1ULL << (p % DIRTY_WORD_BITS);
	}
}

/*
 * A Full file: every page that holds a non-zero byte, at its offset; pages
 * of zeroes stay holes (they read back as zeroes). A guest that has touched
 * little of its RAM then costs little disk and little writing.
 */
static int write_full_region(int fd, uint64_t file_off, const uint8_t *src, uint64_t size)
{
	uint64_t nr = (size + DIRTY_PAGE_SIZE - 1) / DIRTY_PAGE_SIZE;
	uint64_t *bits = malloc(DIRTY_WORDS(nr) * sizeof(*bits));
	int ret;

	if (!bits)
		return -ENOMEM;
	snapshot_mem_nonzero_pages(src, size, bits);
	ret = snapshot_mem_write_pages(fd, file_off, src, size, bits);
	free(bits);
	return ret;
}

/* The dirty pages of one memory slot, taken from KVM and the VMM's bitmap. */
struct slot_dirty {
	uint64_t *bits;
	uint64_t first_page; /* in the memory file */
	uint64_t nr_pages;
};

/* Puts back what collect_dirty() took: the next snapshot then covers it. */
static void restore_dirty(struct vm *vm, struct slot_dirty *sd, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (sd[i].bits)
			dirty_bitmap_merge(vm->mem.dirty, sd[i].first_page, sd[i].nr_pages,
					   sd[i].bits);
		free(sd[i].bits);
		sd[i].bits = NULL;
	}
}

/*
 * KVM_GET_DIRTY_LOG (which also clears and write-protects, starting the next
 * interval) ORed with the VMM's bitmap (also cleared), per slot. Slot i is
 * region i (vm_setup_memory).
 */
static int collect_dirty(struct vm *vm, struct slot_dirty *sd, struct err_buf *err)
{
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		const struct guest_region *r = &vm->mem.regions[i];
		struct kvm_dirty_log log = { .slot = i };

		sd[i].nr_pages = (r->size + DIRTY_PAGE_SIZE - 1) / DIRTY_PAGE_SIZE;
		sd[i].first_page = guest_mem_region_offset(&vm->mem, i) / DIRTY_PAGE_SIZE;
		sd[i].bits = calloc(DIRTY_WORDS(sd[i].nr_pages), sizeof(uint64_t));
		if (!sd[i].bits) {
			restore_dirty(vm, sd, i);
			return err_set(err, -ENOMEM, "out of memory for the dirty page log");
		}
		log.dirty_bitmap = sd[i].bits;
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
			int ret = -errno;

			restore_dirty(vm, sd, i + 1);
			return err_set(err, ret, "KVM_GET_DIRTY_LOG (slot %u): %s", i,
				       strerror(-ret));
		}
		dirty_bitmap_take(vm->mem.dirty, sd[i].first_page, sd[i].nr_pages, sd[i].bits);
	}
	return 0;
}

static int write_contents(struct vm *vm, int fd, bool diff, const struct slot_dirty *sd)
{
	int ret = 0;

	/* The full size first; clean (Diff) or zero (Full) pages stay holes. */
	if (ftruncate(fd, (off_t)vm->mem.total_size))
		return -errno;
	if (!diff) {
		for (unsigned int i = 0; !ret && i < vm->mem.nr_regions; i++)
			ret = write_full_region(fd, guest_mem_region_offset(&vm->mem, i),
						vm->mem.regions[i].host, vm->mem.regions[i].size);
		return ret;
	}
	for (unsigned int i = 0; !ret && i < vm->mem.nr_regions; i++)
		ret = snapshot_mem_write_pages(fd, sd[i].first_page * DIRTY_PAGE_SIZE,
					       vm->mem.regions[i].host, vm->mem.regions[i].size,
					       sd[i].bits);
	return ret;
}

int snapshot_mem_write(struct vm *vm, const char *path, bool diff, struct err_buf *err)
{
	struct slot_dirty sd[GUEST_MEM_MAX_REGIONS] = { 0 };
	bool tracking = vm->mem.dirty != NULL;
	char tmp[PATH_MAX];
	int fd, ret;

	if (diff && !tracking)
		return err_set(err, -EINVAL, "a diff snapshot needs dirty page tracking");
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp))
		return err_set(err, -ENAMETOOLONG, "memory file path is too long: %s", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return err_set(err, -errno, "cannot create a temporary file next to %s: %s", path,
			       strerror(errno));
	/* The vCPUs are parked: nothing the guest does falls between log and copy. */
	ret = tracking ? collect_dirty(vm, sd, err) : 0;
	if (ret) {
		close(fd);
		unlink(tmp);
		return ret;
	}
	ret = write_contents(vm, fd, diff, sd);
	if (ret)
		err_set(err, ret, "cannot write memory file %s: %s", tmp, strerror(-ret));
	else if (fsync(fd))
		ret = err_set(err, -errno, "cannot sync memory file %s: %s", tmp, strerror(errno));
	close(fd);
	if (!ret && rename(tmp, path))
		ret = err_set(err, -errno, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
	if (ret) {
		unlink(tmp);
		restore_dirty(vm, sd, vm->mem.nr_regions);
		return ret;
	}
	for (unsigned int i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		free(sd[i].bits);
	return 0;
}

/* MADV_DONTNEED of every run of set bits of @bits over region @r. */
static int drop_runs(const struct guest_region *r, const uint64_t *bits, uint64_t nr_pages,
		     uint64_t *dropped)
{
	uint64_t p = 0, start;

	while (p < nr_pages) {
		if (!(bits[p / 64] & (1ULL << (p % 64)))) {
			p++;
			continue;
		}
		for (start = p; p < nr_pages && (bits[p / 64] & (1ULL << (p % 64))); p++)
			;
		if (madvise(r->host + start * DIRTY_PAGE_SIZE, (p - start) * DIRTY_PAGE_SIZE,
			    MADV_DONTNEED))
			return -errno;
		*dropped += p - start;
	}
	return 0;
}

int snapshot_mem_revert(struct vm *vm, bool whole, uint64_t *dropped, struct err_buf *err)
{
	struct slot_dirty sd[GUEST_MEM_MAX_REGIONS] = { 0 };
	int ret = 0;

	*dropped = 0;
	/* Taken either way: the next rewind counts from here. */
	if (vm->mem.dirty) {
		ret = collect_dirty(vm, sd, err);
		if (ret)
			return ret;
	}
	if (!vm->mem.dirty || whole) {
		if (madvise(vm->mem.mapping, vm->mem.total_size, MADV_DONTNEED))
			ret = -errno;
		else
			*dropped = vm->mem.total_size / DIRTY_PAGE_SIZE;
	} else {
		for (unsigned int i = 0; !ret && i < vm->mem.nr_regions; i++)
			ret = drop_runs(&vm->mem.regions[i], sd[i].bits, sd[i].nr_pages, dropped);
	}
	for (unsigned int i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		free(sd[i].bits);
	return ret ? err_set(err, ret, "MADV_DONTNEED of guest RAM: %s", strerror(-ret)) : 0;
}

#define PAGEMAP_PRESENT (1ULL << 63)
#define PAGEMAP_CHUNK 4096 /* entries per read: 32 KiB */

/* One chunk of pagemap entries at byte offset @at; 0 or -1. lseek + read:
 * the VMM thread's filter has no pread64. */
static int pagemap_read(int fd, off_t at, uint64_t *entries, size_t bytes)
{
	size_t got = 0;
	ssize_t n;

	if (lseek(fd, at, SEEK_SET) != at)
		return -1;
	while (got < bytes) {
		n = read(fd, (uint8_t *)entries + got, bytes - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

int snapshot_mem_working_set(const struct vm *vm, struct working_set *ws, struct err_buf *err)
{
	uint64_t pages = vm->mem.total_size / DIRTY_PAGE_SIZE, done = 0;
	uintptr_t base = (uintptr_t)vm->mem.mapping;
	uint64_t *entries;
	int fd, ret = 0;

	memset(ws, 0, sizeof(*ws));
	ws->mem_pages = pages;
	if (!vm->mem.mapping || base % DIRTY_PAGE_SIZE)
		return err_set(err, -EINVAL, "guest RAM is not one mapping");
	entries = malloc(PAGEMAP_CHUNK * sizeof(*entries));
	if (!entries)
		return err_set(err, -ENOMEM, "out of memory");
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(entries);
		return err_set(err, -errno, "cannot open /proc/self/pagemap: %s", strerror(errno));
	}
	while (!ret && done < pages) {
		uint64_t n = pages - done < PAGEMAP_CHUNK ? pages - done : PAGEMAP_CHUNK;
		off_t at = (off_t)((base / DIRTY_PAGE_SIZE + done) * sizeof(uint64_t));

		if (pagemap_read(fd, at, entries, n * sizeof(uint64_t))) {
			ret = err_set(err, -EIO, "cannot read /proc/self/pagemap");
			break;
		}
		for (uint64_t i = 0; !ret && i < n; i++)
			if ((entries[i] & PAGEMAP_PRESENT) && working_set_add(ws, done + i))
				ret = err_set(err, -ENOMEM, "out of memory");
		done += n;
	}
	close(fd);
	free(entries);
	return ret;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

int snapshot_mem_prefetch(const struct vm *vm, const struct working_set *ws, struct err_buf *err)
{
	uint8_t *base = vm->mem.mapping;

	if (ws->mem_pages != vm->mem.total_size / DIRTY_PAGE_SIZE)
		return err_set(err, -EINVAL,
			       "the working set describes %llu pages of memory, the snapshot has %llu",
			       (unsigned long long)ws->mem_pages,
			       (unsigned long long)(vm->mem.total_size / DIRTY_PAGE_SIZE));
	/* Readahead of every run first (asynchronous), so a cold page cache fills in big reads. */
	for (uint32_t i = 0; i < ws->nr_runs; i++)
		(void)madvise(base + ws->runs[i].first * DIRTY_PAGE_SIZE,
			      ws->runs[i].count * DIRTY_PAGE_SIZE, MADV_WILLNEED);
	for (uint32_t i = 0; i < ws->nr_runs; i++) {
		const struct working_set_run *r = &ws->runs[i];

		if (madvise(base + r->first * DIRTY_PAGE_SIZE, r->count * DIRTY_PAGE_SIZE,
			    MADV_POPULATE_READ))
			return err_set(err, -errno, "MADV_POPULATE_READ of %llu pages at page %llu: %s",
				       (unsigned long long)r->count, (unsigned long long)r->first,
				       strerror(errno));
	}
	return 0;
}
