/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer, for the HTTP server's and client's per-connection data. */
#ifndef IGNIS_API_BUF_H
#define IGNIS_API_BUF_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *data;
	size_t len, cap;
};

/* 0 or -ENOMEM (the buffer is then unchanged). */
static inline int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		char *data;

		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2)
				return -ENOMEM;
			cap *= 2;
		}
		data = realloc(b->data, cap);
		if (!data)
			return -ENOMEM;
		b->data = data;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static inline void buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf){ 0 };
}

/* NUL-terminates @b without counting the NUL; "" when @b is empty and memory ran out. */
static inline const char *buf_cstr(struct buf *b)
{
	if (buf_append(b, "", 1) < 0)
		return b->len ? b->data : "";
	b->len--;
	return b->data;
}

#endif
