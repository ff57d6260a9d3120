// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy.c - the policy compiler: text -> rules sorted most specific first.
 *
 * The grammar is small enough for a hand parser that is obviously right
 * (policy/README.md has it in full):
 *
 *   line    := [stmt] ['#' comment]
 *   stmt    := 'default' action | action match {match}
 *   action  := 'bond' | 'bypass'
 *   match   := 'dst' prefix | 'src' prefix | 'port' N | 'port' N-M
 *
 * Specificity, compared in order: longer dst prefix, narrower port range,
 * longer src prefix, family-specific before family-any. Two rules that can
 * match the same packet with equal specificity but different actions are
 * refused (there would be no most specific one), as are duplicates.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

struct parser {
	const char *name;
	struct policy_error *err;
	int line;
};

static int fail(struct parser *ps, int col, const char *hint, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));

static int fail(struct parser *ps, int col, const char *hint, const char *fmt,
		...)
{
	struct policy_error *e = ps->err;
	va_list ap;

	snprintf(e->file, sizeof(e->file), "%s", ps->name);
	e->line = ps->line;
	e->col = col;
	va_start(ap, fmt);
	vsnprintf(e->cause, sizeof(e->cause), fmt, ap);
	va_end(ap);
	snprintf(e->hint, sizeof(e->hint), "%s", hint ? hint : "");
	return -EINVAL;
}

/* A token: its text (not NUL-terminated) and its 1-based column. */
struct tok {
	const char *p;
	int len, col;
};

static bool tok_is(const struct tok *t, const char *s)
{
	return (int)strlen(s) == t->len && !memcmp(t->p, s, t->len);
}

/* Split one line (comment removed) into at most max tokens. */
static int tokenize(const char *line, int len, struct tok *t, int max)
{
	int n = 0;

	for (int i = 0; i < len;) {
		if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
			i++;
			continue;
		}
		if (n == max)
			return -1;
		t[n].p = line + i;
		t[n].col = i + 1;
		while (i < len && line[i] != ' ' && line[i] != '\t' &&
		       line[i] != '\r')
			i++;
		t[n].len = (int)(line + i - t[n].p);
		n++;
	}
	return n;
}

static int parse_port(struct parser *ps, const struct tok *t, uint16_t *lo,
		      uint16_t *hi)
{
	char buf[32], *dash, *end;
	unsigned long a, b;
	const char *hint = "expected N or N-M (1-65535)";

	if (t->len >= (int)sizeof(buf))
		return fail(ps, t->col, hint, "port '%.*s' is too long",
			    t->len > 40 ? 40 : t->len, t->p);
	memcpy(buf, t->p, t->len);
	buf[t->len] = '\0';
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (!isdigit((unsigned char)buf[0]))
		return fail(ps, t->col, hint, "unknown port '%s'", t->len ? buf : "");
	errno = 0;
	a = strtoul(buf, &end, 10);
	if (*end || errno)
		return fail(ps, t->col, hint, "unknown port '%.*s'", t->len,
			    t->p);
	b = a;
	if (dash) {
		if (!isdigit((unsigned char)dash[1]))
			return fail(ps, t->col, hint,
				    "unknown port range '%.*s'", t->len, t->p);
		b = strtoul(dash + 1, &end, 10);
		if (*end || errno)
			return fail(ps, t->col, hint,
				    "unknown port range '%.*s'", t->len, t->p);
	}
	if (a == 0 || b == 0)
		return fail(ps, t->col, "ports run from 1 to 65535",
			    "port 0 in '%.*s'", t->len, t->p);
	if (a > 65535 || b > 65535)
		return fail(ps, t->col, "ports run from 1 to 65535",
			    "port above 65535 in '%.*s'", t->len, t->p);
	if (a > b) {
		char h[64];

		snprintf(h, sizeof(h), "write it low-high: %lu-%lu", b, a);
		return fail(ps, t->col, h, "reversed port range '%.*s'",
			    t->len, t->p);
	}
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static void mask_prefix(__be32 *w, int words, int len)
{
	for (int i = 0; i < words; i++) {
		int bits = len > 32 ? 32 : len < 0 ? 0 : len;
		uint32_t m = bits == 32 ? 0xffffffffu :
			     bits == 0  ? 0 :
					  ~(0xffffffffu >> bits);

		w[i] &= htonl(m);
		len -= 32;
	}
}

/* PREFIX into (family, words, len); host bits set is an error. */
static int parse_prefix(struct parser *ps, const struct tok *t, uint8_t *fam,
			__be32 w[4], uint8_t *plen)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end, shown[64];
	const char *hint = "expected an address, optionally /LEN: "
			   "192.0.2.0/24 or 2001:db8::/32";
	__be32 masked[4];
	unsigned long len;
	int max;

	if (t->len >= (int)sizeof(buf))
		return fail(ps, t->col, hint, "bad prefix '%.*s'",
			    t->len > 60 ? 60 : t->len, t->p);
	memcpy(buf, t->p, t->len);
	buf[t->len] = '\0';
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(w, 0, 16);
	if (inet_pton(AF_INET, buf, w) == 1) {
		*fam = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, w) == 1) {
		*fam = 6;
		max = 128;
	} else {
		return fail(ps, t->col, hint, "bad address '%s'", buf);
	}
	len = max;
	if (slash) {
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end || errno)
			return fail(ps, t->col + (int)(slash + 1 - buf), hint,
				    "bad prefix length '%s'", slash + 1);
		if ((int)len > max) {
			char h[64];

			snprintf(h, sizeof(h), "an IPv%d prefix length is 0-%d",
				 *fam, max);
			return fail(ps, t->col + (int)(slash + 1 - buf), h,
				    "prefix length %lu out of range", len);
		}
	}
	memcpy(masked, w, 16);
	mask_prefix(masked, *fam == 4 ? 1 : 4, (int)len);
	if (memcmp(masked, w, 16)) {
		char h[128];

		inet_ntop(*fam == 4 ? AF_INET : AF_INET6, masked, shown,
			  sizeof(shown));
		snprintf(h, sizeof(h), "did you mean %s/%lu?", shown, len);
		return fail(ps, t->col, h, "host bits set in '%.*s'", t->len,
			    t->p);
	}
	*plen = (uint8_t)len;
	return 0;
}

static int parse_rule(struct parser *ps, const struct tok *t, int n,
		      struct hybond_rule *r)
{
	static const char *const match_hint =
		"a rule is: bond|bypass [dst PREFIX] [src PREFIX] [port N[-M]]";
	bool seen_dst = false, seen_src = false, seen_port = false;
	uint8_t fsrc = 0, fdst = 0;
	int src_col = 0;

	memset(r, 0, sizeof(*r));
	r->action = tok_is(&t[0], "bypass") ? HYBOND_ACT_BYPASS : HYBOND_ACT_BOND;
	r->port_lo = 0;
	r->port_hi = 65535;
	if (n == 1)
		return fail(ps, t[0].col + t[0].len, match_hint,
			    "'%.*s' needs at least one of dst, src, port "
			    "(or use 'default %.*s')",
			    t[0].len, t[0].p, t[0].len, t[0].p);
	for (int i = 1; i < n; i += 2) {
		const struct tok *k = &t[i], *v = i + 1 < n ? &t[i + 1] : NULL;
		bool *seen;
		int err;

		if (tok_is(k, "dst"))
			seen = &seen_dst;
		else if (tok_is(k, "src"))
			seen = &seen_src;
		else if (tok_is(k, "port"))
			seen = &seen_port;
		else
			return fail(ps, k->col, match_hint,
				    "unexpected '%.*s'", k->len, k->p);
		if (*seen)
			return fail(ps, k->col, "give each of dst, src, port at "
						"most once per rule",
				    "'%.*s' repeated", k->len, k->p);
		*seen = true;
		if (!v)
			return fail(ps, k->col + k->len, match_hint,
				    "'%.*s' needs a value", k->len, k->p);
		if (tok_is(k, "port"))
			err = parse_port(ps, v, &r->port_lo, &r->port_hi);
		else if (tok_is(k, "dst"))
			err = parse_prefix(ps, v, &fdst, r->dst, &r->dst_len);
		else {
			err = parse_prefix(ps, v, &fsrc, r->src, &r->src_len);
			src_col = v->col;
		}
		if (err)
			return err;
	}
	if (fsrc && fdst && fsrc != fdst)
		return fail(ps, src_col,
			    "split it into one rule per address family",
			    "src is IPv%d but dst is IPv%d", fsrc, fdst);
	r->family = fdst ? fdst : fsrc;
	return 0;
}

/* Negative if a is more specific than b. */
static int specificity_cmp(const struct hybond_rule *a,
			   const struct hybond_rule *b)
{
	uint32_t wa = (uint32_t)a->port_hi - a->port_lo;
	uint32_t wb = (uint32_t)b->port_hi - b->port_lo;

	if (a->dst_len != b->dst_len)
		return a->dst_len > b->dst_len ? -1 : 1;
	if (wa != wb)
		return wa < wb ? -1 : 1;
	if (a->src_len != b->src_len)
		return a->src_len > b->src_len ? -1 : 1;
	if (!a->family != !b->family)
		return a->family ? -1 : 1;
	return 0;
}

/* Is one of the prefixes inside the other (or either absent)? */
static bool prefixes_meet(const __be32 *a, int alen, const __be32 *b, int blen,
			  int words)
{
	__be32 x[4], y[4];
	int len = alen < blen ? alen : blen;

	if (!alen || !blen)
		return true;
	memcpy(x, a, 16);
	memcpy(y, b, 16);
	mask_prefix(x, words, len);
	mask_prefix(y, words, len);
	return !memcmp(x, y, 16);
}

static bool rules_meet(const struct hybond_rule *a, const struct hybond_rule *b)
{
	int words = (a->family ? a->family : b->family) == 4 ? 1 : 4;

	if (a->family && b->family && a->family != b->family)
		return false;
	if (a->port_hi < b->port_lo || b->port_hi < a->port_lo)
		return false;
	return prefixes_meet(a->dst, a->dst_len, b->dst, b->dst_len, words) &&
	       prefixes_meet(a->src, a->src_len, b->src, b->src_len, words);
}

static bool rules_equal(const struct hybond_rule *a,
			const struct hybond_rule *b)
{
	return a->family == b->family && a->src_len == b->src_len &&
	       a->dst_len == b->dst_len && a->port_lo == b->port_lo &&
	       a->port_hi == b->port_hi && !memcmp(a->src, b->src, 16) &&
	       !memcmp(a->dst, b->dst, 16);
}

static bool valid_utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 :
				  (c & 0xf0) == 0xe0 ? 2 :
				  (c & 0xf8) == 0xf0 ? 3 : -1;

		if (c == 0 || n < 0 || (n == 1 && c < 0xc2) || i + n >= len)
			return false;
		for (int k = 1; k <= n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += n + 1;
	}
	return true;
}

int policy_parse(const char *name, const char *text, size_t len,
		 struct policy *out, struct policy_error *err)
{
	struct parser ps = { .name = name, .err = err };
	struct policy *p;
	int default_line = 0, stmts = 0, ret = 0;
	size_t pos = 0;

	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", name);
	if (len > POLICY_MAX_BYTES) {
		snprintf(err->cause, sizeof(err->cause),
			 "file is larger than %d bytes", POLICY_MAX_BYTES);
		snprintf(err->hint, sizeof(err->hint),
			 "a policy holds at most %d rules; split or trim it",
			 HYBOND_MAX_RULES);
		return -EFBIG;
	}
	if (!valid_utf8((const unsigned char *)text, len)) {
		snprintf(err->cause, sizeof(err->cause),
			 "not a text file (NUL byte or invalid UTF-8)");
		snprintf(err->hint, sizeof(err->hint),
			 "a policy is plain text; see policy/README.md");
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->default_action = HYBOND_ACT_BOND;

	while (pos < len) {
		const char *line = text + pos, *nl, *hash;
		size_t llen;
		struct tok t[16];
		int n;

		nl = memchr(line, '\n', len - pos);
		llen = nl ? (size_t)(nl - line) : len - pos;
		pos += llen + (nl ? 1 : 0);
		ps.line++;
		if (llen > POLICY_MAX_LINE) {
			ret = fail(&ps, POLICY_MAX_LINE + 1,
				   "split it; a rule fits on one short line",
				   "line longer than %d bytes", POLICY_MAX_LINE);
			goto out;
		}
		hash = memchr(line, '#', llen);
		if (hash)
			llen = hash - line;
		n = tokenize(line, (int)llen, t, 16);
		if (n < 0) {
			ret = fail(&ps, t[15].col, "a rule has at most three "
						   "matches",
				   "too many words");
			goto out;
		}
		if (n == 0)
			continue;
		stmts++;
		if (tok_is(&t[0], "default")) {
			if (n < 2) {
				ret = fail(&ps, t[0].col + t[0].len,
					   "write 'default bond' or 'default "
					   "bypass'",
					   "'default' needs an action");
				goto out;
			}
			if (!tok_is(&t[1], "bond") && !tok_is(&t[1], "bypass")) {
				ret = fail(&ps, t[1].col,
					   "the actions are bond and bypass",
					   "unknown action '%.*s'", t[1].len,
					   t[1].p);
				goto out;
			}
			if (n > 2) {
				ret = fail(&ps, t[2].col,
					   "'default' takes only an action",
					   "unexpected '%.*s'", t[2].len,
					   t[2].p);
				goto out;
			}
			if (default_line) {
				char h[64];

				snprintf(h, sizeof(h),
					 "keep one; the first is on line %d",
					 default_line);
				ret = fail(&ps, t[0].col, h,
					   "a second 'default'");
				goto out;
			}
			default_line = ps.line;
			p->default_action = tok_is(&t[1], "bypass") ?
						    HYBOND_ACT_BYPASS :
						    HYBOND_ACT_BOND;
			continue;
		}
		if (!tok_is(&t[0], "bond") && !tok_is(&t[0], "bypass")) {
			ret = fail(&ps, t[0].col,
				   "a line starts with bond, bypass or default",
				   "unknown action '%.*s'", t[0].len, t[0].p);
			goto out;
		}
		if (p->nrules == HYBOND_MAX_RULES) {
			snprintf(err->hint, sizeof(err->hint),
				 "merge rules with wider prefixes or ranges");
			fail(&ps, t[0].col, err->hint,
			     "more than %d rules", HYBOND_MAX_RULES);
			ret = -E2BIG;
			goto out;
		}
		ret = parse_rule(&ps, t, n, &p->rules[p->nrules]);
		if (ret)
			goto out;
		/* Refuse ambiguity now, naming both lines. */
		for (int i = 0; i < p->nrules; i++) {
			const struct hybond_rule *a = &p->rules[i];
			const struct hybond_rule *b = &p->rules[p->nrules];
			char h[128];

			if (rules_equal(a, b) && a->action == b->action) {
				snprintf(h, sizeof(h), "remove one of them");
				ret = fail(&ps, t[0].col, h,
					   "duplicate of line %d", p->line[i]);
				goto out;
			}
			if (a->action != b->action && !specificity_cmp(a, b) &&
			    rules_meet(a, b)) {
				snprintf(h, sizeof(h),
					 "make one more specific than the "
					 "other, or remove one");
				ret = fail(&ps, t[0].col, h,
					   "overlaps line %d with the same "
					   "specificity but another action",
					   p->line[i]);
				goto out;
			}
		}
		p->line[p->nrules++] = ps.line;
	}
	if (!stmts) {
		ps.line = 0;
		ret = fail(&ps, 0, "write at least 'default bond'",
			   "empty policy");
		goto out;
	}
	if (!default_line) {
		ps.line = 0;
		ret = fail(&ps, 0, "add 'default bond' or 'default bypass'",
			   "no 'default' line");
		goto out;
	}
	/* Most specific first; equal ones keep their file order. */
	for (int i = 1; i < p->nrules; i++) {
		struct hybond_rule r = p->rules[i];
		int l = p->line[i], j = i;

		while (j > 0 && specificity_cmp(&r, &p->rules[j - 1]) < 0) {
			p->rules[j] = p->rules[j - 1];
			p->line[j] = p->line[j - 1];
			j--;
		}
		p->rules[j] = r;
		p->line[j] = l;
	}
	*out = *p;
out:
	free(p);
	return ret;
}

int policy_load_fd(int fd, const char *name, struct policy *out,
		   struct policy_error *err)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	int ret;

	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", name);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap > POLICY_MAX_BYTES) {
				snprintf(err->cause, sizeof(err->cause),
					 "file is larger than %d bytes",
					 POLICY_MAX_BYTES);
				snprintf(err->hint, sizeof(err->hint),
					 "a policy holds at most %d rules; "
					 "split or trim it",
					 HYBOND_MAX_RULES);
				free(buf);
				return -EFBIG;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			ret = -errno;
			snprintf(err->cause, sizeof(err->cause),
				 "cannot read %s: %s", name, strerror(errno));
			free(buf);
			return ret;
		}
		if (n == 0)
			break;
		len += n;
	}
	ret = policy_parse(name, buf, len, out, err);
	free(buf);
	return ret;
}

int policy_load_file(const char *path, struct policy *out,
		     struct policy_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0) {
		ret = -errno;
		memset(err, 0, sizeof(*err));
		snprintf(err->file, sizeof(err->file), "%s", path);
		snprintf(err->cause, sizeof(err->cause), "cannot read %s: %s",
			 path, strerror(errno));
		snprintf(err->hint, sizeof(err->hint),
			 "check the path and the permissions");
		return ret;
	}
	ret = policy_load_fd(fd, path, out, err);
	close(fd);
	return ret;
}

void policy_error_str(const struct policy_error *e, char *buf, size_t len)
{
	int n;

	if (e->line && e->col)
		n = snprintf(buf, len, "%s:%d:%d: %s", e->file, e->line, e->col,
			     e->cause);
	else if (e->line)
		n = snprintf(buf, len, "%s:%d: %s", e->file, e->line, e->cause);
	else
		n = snprintf(buf, len, "%s: %s", e->file, e->cause);
	if (e->hint[0] && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - n, "; %s", e->hint);
}

static void fmt_prefix(char *buf, size_t len, int fam, const __be32 *w,
		       int plen)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(fam == 4 ? AF_INET : AF_INET6, w, a, sizeof(a));
	snprintf(buf, len, "%s/%d", a, plen);
}

/* snprintf into (buf + *n, len - *n) keeping *n the would-be length. */
static void out(char *buf, size_t len, int *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void out(char *buf, size_t len, int *n, const char *fmt, ...)
{
	va_list ap;
	size_t off = (size_t)*n < len ? (size_t)*n : len;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(buf ? buf + off : NULL, buf ? len - off : 0, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n += k;
}

int policy_format(const struct policy *p, bool json, char *buf, size_t len)
{
	static const char *const act[] = { "bond", "bypass" };
	int n = 0;

	if (buf && len)
		buf[0] = '\0';
	if (json)
		out(buf, len, &n, "{\"default\":\"%s\",\"rules\":[",
		    act[p->default_action & 1]);
	else
		out(buf, len, &n, "default %s\n", act[p->default_action & 1]);
	for (int i = 0; i < p->nrules; i++) {
		const struct hybond_rule *r = &p->rules[i];
		char src[64] = "", dst[64] = "", port[16] = "";
		int fam = r->family ? r->family : 4;

		if (r->src_len)
			fmt_prefix(src, sizeof(src), fam, r->src, r->src_len);
		if (r->dst_len)
			fmt_prefix(dst, sizeof(dst), fam, r->dst, r->dst_len);
		/* A /0 prefix still pins the family: print it. */
		if (r->family && !r->dst_len && !r->src_len)
			fmt_prefix(dst, sizeof(dst), fam, r->dst, 0);
		if (r->port_lo != 0 || r->port_hi != 65535) {
			if (r->port_lo == r->port_hi)
				snprintf(port, sizeof(port), "%u", r->port_lo);
			else
				snprintf(port, sizeof(port), "%u-%u",
					 r->port_lo, r->port_hi);
		}
		if (json) {
			out(buf, len, &n,
			    "%s{\"action\":\"%s\",\"family\":%u,", i ? "," : "",
			    act[r->action & 1], r->family);
			if (src[0])
				out(buf, len, &n, "\"src\":\"%s\",", src);
			else
				out(buf, len, &n, "\"src\":null,");
			if (dst[0])
				out(buf, len, &n, "\"dst\":\"%s\",", dst);
			else
				out(buf, len, &n, "\"dst\":null,");
			if (port[0])
				out(buf, len, &n, "\"port\":\"%s\",", port);
			else
				out(buf, len, &n, "\"port\":null,");
			out(buf, len, &n, "\"line\":%d}", p->line[i]);
			continue;
		}
		out(buf, len, &n, "%s", act[r->action & 1]);
		if (dst[0])
			out(buf, len, &n, " dst %s", dst);
		if (src[0])
			out(buf, len, &n, " src %s", src);
		if (port[0])
			out(buf, len, &n, " port %s", port);
		if (p->line[i])
			out(buf, len, &n, "  # line %d", p->line[i]);
		out(buf, len, &n, "\n");
	}
	if (json)
		out(buf, len, &n, "]}\n");
	return n;
}

uint32_t policy_decide(const struct policy *p, int family, const void *saddr,
		       const void *daddr, uint16_t dport)
{
	__be32 s[4] = { 0 }, d[4] = { 0 };

	memcpy(s, saddr, family == 4 ? 4 : 16);
	memcpy(d, daddr, family == 4 ? 4 : 16);
	for (int i = 0; i < p->nrules; i++)
		if (hybond_rule_match(&p->rules[i], (uint8_t)family, s, d,
				      dport))
			return p->rules[i].action;
	return p->default_action;
}
