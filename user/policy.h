/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * policy.h - the policy compiler: a policy file -> sorted hybond_rule entries
 * (include/hybond_policy.h). Parsing and compiling are pure functions, tested
 * without privileges; writing the maps is steer.c's job.
 */
#ifndef HYBOND_POLICY_COMPILER_H
#define HYBOND_POLICY_COMPILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hybond_abi.h"
#include "hybond_policy.h"

#define POLICY_MAX_BYTES (1 << 20) /* a policy file larger than this is refused */
#define POLICY_MAX_LINE 1024

struct policy {
	uint32_t default_action;             /* enum hybond_action */
	int nrules;
	struct hybond_rule rules[HYBOND_MAX_RULES]; /* most specific first */
	int line[HYBOND_MAX_RULES];          /* source line of each rule, 0 = unknown */
};

struct policy_error {
	char file[256]; /* the name given to the parser */
	int line;       /* 1-based; 0 when the error is about the whole file */
	int col;        /* 1-based; 0 when not about one place */
	char cause[256];
	char hint[256]; /* how to fix it; may be empty */
};

/* Parse and compile a policy text of len bytes; name is used in messages.
 * Returns 0, or -EINVAL/-E2BIG/-EFBIG with *err filled in. *out is written
 * only on success. */
int policy_parse(const char *name, const char *text, size_t len,
		 struct policy *out, struct policy_error *err);

/* Read a policy file (size limit checked) and parse it; also -errno for a
 * file that cannot be read, with *err filled in. */
int policy_load_fd(int fd, const char *name, struct policy *out,
		   struct policy_error *err);
int policy_load_file(const char *path, struct policy *out,
		     struct policy_error *err);

/* "FILE:LINE:COL: cause; hint" (LINE/COL left out when 0). */
void policy_error_str(const struct policy_error *e, char *buf, size_t len);

/* Render a policy: the normalized file syntax (evaluation order, one rule a
 * line, with the source line as a comment) or JSON. Returns the length
 * written, like snprintf. */
int policy_format(const struct policy *p, bool json, char *buf, size_t len);
struct sbuf;
/* policy_format() appended to a text buffer; -ENOMEM, and b untouched,
 * when the rendering could not be allocated. */
int policy_put(struct sbuf *b, const struct policy *p, bool json);

/* The user-space twin of the steering program's decision. */
uint32_t policy_decide(const struct policy *p, int family, const void *saddr,
		       const void *daddr, uint16_t dport);

#endif
