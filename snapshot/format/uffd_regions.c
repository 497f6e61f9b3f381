/* SPDX-License-Identifier: Apache-2.0 */
#include "snapshot/format/uffd_regions.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

char *uffd_regions_to_json(const struct uffd_region *r, unsigned int nr)
{
	json_t *arr = json_array();
	char *text;

	if (!arr)
		return NULL;
	for (unsigned int i = 0; i < nr; i++) {
		/* Guest RAM never reaches 2^63, so json_int_t (signed) holds every value. */
		json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I}",
				      "base_host_virt_addr", (json_int_t)r[i].base_host_virt_addr,
				      "size", (json_int_t)r[i].size,
				      "offset", (json_int_t)r[i].offset,
				      "page_size", (json_int_t)r[i].page_size,
				      "page_size_kib", (json_int_t)r[i].page_size);

		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return text;
}

static int refuse(char *why, size_t why_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int get_u64(const json_t *o, const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -EINVAL;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int check_region(const struct uffd_region *r, unsigned int i, uint64_t file_size,
			char *why, size_t why_len)
{
	if (r->page_size != UFFD_PAGE_4K && r->page_size != UFFD_PAGE_2M)
		return refuse(why, why_len, "region %u: page_size %llu, expected 4096 or 2097152", i,
			      (unsigned long long)r->page_size);
	if (r->size == 0 || r->size % r->page_size || r->base_host_virt_addr % r->page_size ||
	    r->offset % r->page_size)
		return refuse(why, why_len,
			      "region %u: base, size and offset must be non-zero multiples of its %llu-byte pages",
			      i, (unsigned long long)r->page_size);
	if (r->base_host_virt_addr + r->size < r->base_host_virt_addr)
		return refuse(why, why_len, "region %u: address range wraps around", i);
	/* Written as a subtraction so that no sum can overflow. */
	if (r->offset > file_size || r->size > file_size - r->offset)
		return refuse(why, why_len,
			      "region %u: bytes %llu..%llu of the memory file, which has %llu", i,
			      (unsigned long long)r->offset,
			      (unsigned long long)r->offset + r->size, (unsigned long long)file_size);
	return 0;
}

int uffd_regions_parse(const char *text, size_t len, uint64_t file_size,
		       struct uffd_region *out, unsigned int max, unsigned int *nr,
		       char *why, size_t why_len)
{
	json_error_t jerr;
	json_t *arr = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *o;
	size_t i;
	int ret = 0;

	*nr = 0;
	if (!arr)
		return refuse(why, why_len, "not JSON: %s", jerr.text);
	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > max) {
		ret = refuse(why, why_len, "expected an array of 1 to %u regions", max);
		goto out;
	}
	json_array_foreach(arr, i, o) {
		struct uffd_region *r = &out[i];

		if (!json_is_object(o) || get_u64(o, "base_host_virt_addr", &r->base_host_virt_addr) ||
		    get_u64(o, "size", &r->size) || get_u64(o, "offset", &r->offset) ||
		    get_u64(o, "page_size", &r->page_size)) {
			ret = refuse(why, why_len,
				     "region %zu: base_host_virt_addr, size, offset and page_size "
				     "must be non-negative integers", i);
			goto out;
		}
		ret = check_region(r, (unsigned int)i, file_size, why, why_len);
		if (ret)
			goto out;
		for (size_t j = 0; j < i; j++) {
			const struct uffd_region *q = &out[j];

			if (r->base_host_virt_addr < q->base_host_virt_addr + q->size &&
			    q->base_host_virt_addr < r->base_host_virt_addr + r->size) {
				ret = refuse(why, why_len, "regions %zu and %zu overlap", j, i);
				goto out;
			}
		}
	}
	*nr = (unsigned int)json_array_size(arr);
out:
	json_decref(arr);
	return ret;
}

const struct uffd_region *uffd_regions_find(const struct uffd_region *r, unsigned int nr,
					    uint64_t addr)
{
	for (unsigned int i = 0; i < nr; i++)
		if (addr >= r[i].base_host_virt_addr && addr - r[i].base_host_virt_addr < r[i].size)
			return &r[i];
	return NULL;
}
