/* SPDX-License-Identifier: GPL-2.0-only */
/* sbuf.h - a growable text buffer and JSON string escaping. */
#ifndef HYBOND_SBUF_H
#define HYBOND_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom; /* an allocation failed: the text is truncated */
};

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbuf_put(struct sbuf *b, const char *s, size_t n);
/* s as a JSON string literal, quotes included; NULL as null. */
void sbuf_json_str(struct sbuf *b, const char *s);
void sbuf_free(struct sbuf *b);

#endif
