// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy.c - the policy compiler: text -> rules sorted most specific first.
 *
 * The grammar is small enough for a hand parser that is obviously right
 * (policy/README.md has it in full):
 *
 *   line    := [stmt] ['#' comment]
 *   stmt    := 'default' action | action match [match [match]]
 *   action  := 'bond' | 'bypass'
 *   match   := 'dst' prefix | 'src' prefix | 'port' N | 'port' N-M
 *
 * Specificity, compared in order: longer dst prefix, narrower port range,
 * longer src prefix, family-specific before family-any. The rules are sorted
 * by it (stable), so the first rule that matches is the most specific one.
 * Two rules that can match the same packet with equal specificity but
 * different actions are refused (there would be no most specific one), as
 * are duplicates.
 *
 * Every error names the word at fault: its line and 1-based byte column.
 * Nothing here logs; errors go back through struct policy_error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"
#include "sbuf.h"

/*
 * A statement has at most 7 words (action and three keyword/value pairs).
 * The parser fails on the 8th word at the latest (a 4th match keyword is
 * either unknown or repeated), so words past the 8th are never looked at.
 */
#define MAX_TOKS 8

static const char *const action_name[] = {
	[HYBOND_ACT_BOND] = "bond",
	[HYBOND_ACT_BYPASS] = "bypass",
};

/* A word of a line: its text (not NUL-terminated), length, 1-based column. */
struct tok {
	const char *p;
	int len, col;
};

struct parser {
	const char *name;
	struct policy_error *err;
	int line;
};

static bool tok_is(const struct tok *t, const char *s)
{
	return (int)strlen(s) == t->len && !memcmp(t->p, s, t->len);
}

/*
 * A word as it may be quoted in a message: at most 40 bytes (cut at a
 * character boundary, then "..."), control bytes as \xNN. buf has 64 bytes:
 * escapes take 4, so stop early (at a character boundary) when it fills.
 */
static const char *tok_show(const struct tok *t, char *buf)
{
	int n = t->len > 40 ? 40 : t->len, o = 0, i;

	if (n < t->len)
		while (n > 0 && ((unsigned char)t->p[n] & 0xc0) == 0x80)
			n--;
	for (i = 0; i < n; i++) {
		unsigned char c = t->p[i];

		if (o >= 56 && (c & 0xc0) != 0x80)
			break;
		if (c < 0x20 || c == 0x7f)
			o += snprintf(buf + o, 64 - o, "\\x%02x", c);
		else
			buf[o++] = c;
	}
	strcpy(buf + o, i < t->len ? "..." : "");
	return buf;
}

#define TOK(t) tok_show((t), (char[64]){ 0 })

/* Fill *err: at is the word at fault (NULL: the whole line or file). */
static int fail(struct parser *ps, const struct tok *at, int rc,
		const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(struct parser *ps, const struct tok *at, int rc,
		const char *hint, const char *fmt, ...)
{
	struct policy_error *e = ps->err;
	va_list ap;

	e->line = ps->line;
	e->col = at ? at->col : 0;
	va_start(ap, fmt);
	vsnprintf(e->cause, sizeof(e->cause), fmt, ap);
	va_end(ap);
	snprintf(e->hint, sizeof(e->hint), "%s", hint);
	return rc;
}

/* Split a line (comment already cut off) into words; at most max kept. */
static int tokenize(const char *s, int len, struct tok *t, int max)
{
	int n = 0, i = 0;

	while (i < len && n < max) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
			i++;
			continue;
		}
		t[n].p = s + i;
		t[n].col = i + 1;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			i++;
		t[n].len = (int)(s + i - t[n].p);
		n++;
	}
	return n;
}

/* Decimal digits only; -1 if empty or anything else; saturates at 999999. */
static long parse_num(const char *s, int len)
{
	long v = 0;

	if (len <= 0)
		return -1;
	for (int i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > 999999)
			v = 999999;
	}
	return v;
}

static int parse_port(struct parser *ps, const struct tok *t, __u16 *lo,
		      __u16 *hi)
{
	static const char range_hint[] = "ports run from 1 to 65535";
	const char *dash = memchr(t->p, '-', t->len);
	int alen = dash ? (int)(dash - t->p) : t->len;
	long a = parse_num(t->p, alen), b = a;
	char h[64];

	if (dash)
		b = parse_num(dash + 1, t->len - alen - 1);
	if (a < 0 || b < 0)
		return fail(ps, t, -EINVAL, "expected N or N-M (1-65535)",
			    "unknown port%s '%s'", dash ? " range" : "",
			    TOK(t));
	if (a == 0 || b == 0)
		return fail(ps, t, -EINVAL, range_hint, "port 0 in '%s'",
			    TOK(t));
	if (a > 65535 || b > 65535)
		return fail(ps, t, -EINVAL, range_hint,
			    "port above 65535 in '%s'", TOK(t));
	if (a > b) {
		snprintf(h, sizeof(h), "write it low-high: %ld-%ld", b, a);
		return fail(ps, t, -EINVAL, h, "reversed port range '%s'",
			    TOK(t));
	}
	*lo = (__u16)a;
	*hi = (__u16)b;
	return 0;
}

/* Keep the first len bits of an address of words 32-bit words. */
static void mask_prefix(__be32 *w, int words, int len)
{
	for (int i = 0; i < words; i++, len -= 32) {
		int bits = len > 32 ? 32 : len < 0 ? 0 : len;
		__u32 m = bits == 32 ? 0xffffffffu :
			  bits == 0  ? 0 :
				       ~(0xffffffffu >> bits);

		w[i] &= htonl(m);
	}
}

/* PREFIX := address ['/' length]; host bits set is an error. */
static int parse_prefix(struct parser *ps, const struct tok *t, __u8 *fam,
			__be32 w[4], __u8 *plen)
{
	static const char addr_hint[] = "expected an IPv4 or IPv6 address, "
					"optionally /LEN: 192.0.2.0/24 or "
					"2001:db8::/32";
	char buf[64], shown[INET6_ADDRSTRLEN], h[128];
	__be32 masked[4];
	char *slash;
	long len;
	int max;

	if (t->len >= (int)sizeof(buf))
		return fail(ps, t, -EINVAL, addr_hint, "bad address '%s'",
			    TOK(t));
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
		return fail(ps, t, -EINVAL, addr_hint, "bad address '%s'",
			    TOK(t));
	}
	len = slash ? parse_num(slash + 1, (int)strlen(slash + 1)) : max;
	snprintf(h, sizeof(h), "an IPv%d prefix length is a number, 0-%d",
		 *fam, max);
	if (len < 0)
		return fail(ps, t, -EINVAL, h, "bad prefix length in '%s'",
			    TOK(t));
	if (len > max)
		return fail(ps, t, -EINVAL, h,
			    "prefix length %ld out of range in '%s'", len,
			    TOK(t));
	memcpy(masked, w, 16);
	mask_prefix(masked, *fam == 4 ? 1 : 4, (int)len);
	if (memcmp(masked, w, 16)) {
		inet_ntop(*fam == 4 ? AF_INET : AF_INET6, masked, shown,
			  sizeof(shown));
		snprintf(h, sizeof(h), "did you mean %s/%ld?", shown, len);
		return fail(ps, t, -EINVAL, h, "host bits set in '%s'", TOK(t));
	}
	*plen = (__u8)len;
	return 0;
}

static bool is_match_kw(const struct tok *t)
{
	return tok_is(t, "dst") || tok_is(t, "src") || tok_is(t, "port");
}

/* t[0] is the action, already checked; n words (at most MAX_TOKS). */
static int parse_rule(struct parser *ps, const struct tok *t, int n,
		      struct hybond_rule *r)
{
	static const char rule_hint[] = "a rule is: bond|bypass MATCH..., "
					"MATCH is dst PREFIX, src PREFIX or "
					"port N[-M]; a comment starts with #";
	const struct tok *src = NULL, *dst = NULL;
	bool seen_dst = false, seen_src = false, seen_port = false;
	__u8 fsrc = 0, fdst = 0;
	int err;

	memset(r, 0, sizeof(*r));
	r->action = tok_is(&t[0], "bypass") ? HYBOND_ACT_BYPASS :
					      HYBOND_ACT_BOND;
	r->port_hi = 65535;
	if (n == 1)
		return fail(ps, &t[0], -EINVAL, rule_hint,
			    "'%s' needs at least one of dst, src, port "
			    "(or write 'default %s')",
			    TOK(&t[0]), TOK(&t[0]));
	for (int i = 1; i < n; i += 2) {
		const struct tok *k = &t[i], *v = i + 1 < n ? &t[i + 1] : NULL;
		bool *seen = tok_is(k, "dst")  ? &seen_dst :
			     tok_is(k, "src")  ? &seen_src :
			     tok_is(k, "port") ? &seen_port :
						 NULL;

		if (!seen)
			return fail(ps, k, -EINVAL, rule_hint,
				    "unexpected '%s'", TOK(k));
		if (*seen)
			return fail(ps, k, -EINVAL,
				    "give each of dst, src, port at most once "
				    "in a rule",
				    "'%s' repeated", TOK(k));
		*seen = true;
		if (!v || is_match_kw(v))
			return fail(ps, k, -EINVAL, rule_hint,
				    "'%s' needs a value", TOK(k));
		if (tok_is(k, "port")) {
			err = parse_port(ps, v, &r->port_lo, &r->port_hi);
		} else if (tok_is(k, "dst")) {
			dst = v;
			err = parse_prefix(ps, v, &fdst, r->dst, &r->dst_len);
		} else {
			src = v;
			err = parse_prefix(ps, v, &fsrc, r->src, &r->src_len);
		}
		if (err)
			return err;
	}
	if (fsrc && fdst && fsrc != fdst) /* blame the one written last */
		return fail(ps, src->col > dst->col ? src : dst, -EINVAL,
			    "src and dst of a rule are of one family; write "
			    "one rule per family",
			    "mixed families: src '%s' is IPv%d, dst '%s' is "
			    "IPv%d",
			    TOK(src), fsrc, TOK(dst), fdst);
	r->family = fdst ? fdst : fsrc;
	return 0;
}

/* Negative if a is more specific than b, 0 if they are equally specific. */
static int specificity_cmp(const struct hybond_rule *a,
			   const struct hybond_rule *b)
{
	__u32 wa = (__u32)a->port_hi - a->port_lo;
	__u32 wb = (__u32)b->port_hi - b->port_lo;

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

/* Is one prefix inside the other (or either absent)? CIDR prefixes that
 * intersect are nested, so this is "can an address be in both". */
static bool prefixes_meet(const __be32 *a, int alen, const __be32 *b, int blen)
{
	__be32 x[4], y[4];
	int len = alen < blen ? alen : blen;

	if (!alen || !blen)
		return true;
	memcpy(x, a, 16);
	memcpy(y, b, 16);
	mask_prefix(x, 4, len);
	mask_prefix(y, 4, len);
	return !memcmp(x, y, 16);
}

/* Can one packet match both rules? */
static bool rules_meet(const struct hybond_rule *a, const struct hybond_rule *b)
{
	if (a->family && b->family && a->family != b->family)
		return false;
	if (a->port_hi < b->port_lo || b->port_hi < a->port_lo)
		return false;
	return prefixes_meet(a->dst, a->dst_len, b->dst, b->dst_len) &&
	       prefixes_meet(a->src, a->src_len, b->src, b->src_len);
}

/* The new rule r (its action word is at) against the earlier ones. */
static int check_ambiguity(struct parser *ps, const struct tok *at,
			   const struct policy *p, const struct hybond_rule *r)
{
	for (int i = 0; i < p->nrules; i++) {
		const struct hybond_rule *a = &p->rules[i];

		if (specificity_cmp(a, r) || !rules_meet(a, r))
			continue;
		if (a->action == r->action && a->family == r->family &&
		    a->port_lo == r->port_lo && a->port_hi == r->port_hi &&
		    !memcmp(a->src, r->src, 16) && !memcmp(a->dst, r->dst, 16))
			return fail(ps, at, -EINVAL, "remove one of them",
				    "'%s' rule is a duplicate of line %d",
				    TOK(at), p->line[i]);
		if (a->action != r->action)
			return fail(ps, at, -EINVAL,
				    "make one more specific than the other, or "
				    "remove one",
				    "'%s' rule overlaps line %d with the same "
				    "specificity but the other action",
				    TOK(at), p->line[i]);
	}
	return 0;
}

/*
 * Is s text: no NUL byte and well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF)? If not, *off is the first
 * bad byte and *why what is wrong with it.
 */
static bool is_text(const unsigned char *s, size_t len, size_t *off,
		    const char **why)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i], lo = 0x80, hi = 0xbf;
		size_t n;

		*off = i;
		*why = "invalid UTF-8";
		if (c == 0) {
			*why = "NUL byte";
			return false;
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return false;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
		else if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
		if (len - i <= n || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += n + 1;
	}
	return true;
}

/* A 'default' statement: t[0] is "default". */
static int parse_default(struct parser *ps, const struct tok *t, int n,
			 int *default_line, __u32 *action)
{
	if (n < 2)
		return fail(ps, &t[0], -EINVAL,
			    "write 'default bond' or 'default bypass'",
			    "'default' needs an action");
	if (!tok_is(&t[1], "bond") && !tok_is(&t[1], "bypass"))
		return fail(ps, &t[1], -EINVAL,
			    "the actions are bond and bypass (lower case)",
			    "unknown action '%s'", TOK(&t[1]));
	if (n > 2)
		return fail(ps, &t[2], -EINVAL,
			    "'default' takes only an action; a comment starts "
			    "with #",
			    "unexpected '%s'", TOK(&t[2]));
	if (*default_line) {
		return fail(ps, &t[0], -EINVAL, "keep one 'default' line",
			    "second 'default' (the first is on line %d)",
			    *default_line);
	}
	*default_line = ps->line;
	*action = tok_is(&t[1], "bypass") ? HYBOND_ACT_BYPASS : HYBOND_ACT_BOND;
	return 0;
}

static int parse_lines(struct parser *ps, const char *text, size_t len,
		       struct policy *p)
{
	int default_line = 0, stmts = 0, total = 0, over_line = 0, err;
	struct hybond_rule spare;
	struct tok over = { 0 };
	size_t pos = 0;

	while (pos < len) {
		const char *line = text + pos, *nl, *hash;
		struct tok t[MAX_TOKS];
		size_t llen;
		int n;

		nl = memchr(line, '\n', len - pos);
		llen = nl ? (size_t)(nl - line) : len - pos;
		pos += llen + (nl ? 1 : 0);
		ps->line++;
		if (llen > POLICY_MAX_LINE)
			return fail(ps, NULL, -EINVAL,
				    "split it; a statement fits on one short "
				    "line",
				    "line of %zu bytes, longer than %d", llen,
				    POLICY_MAX_LINE);
		hash = memchr(line, '#', llen);
		if (hash)
			llen = (size_t)(hash - line);
		n = tokenize(line, (int)llen, t, MAX_TOKS);
		if (!n)
			continue;
		stmts++;
		if (tok_is(&t[0], "default")) {
			err = parse_default(ps, t, n, &default_line,
					    &p->default_action);
			if (err)
				return err;
			continue;
		}
		if (!tok_is(&t[0], "bond") && !tok_is(&t[0], "bypass"))
			return fail(ps, &t[0], -EINVAL,
				    is_match_kw(&t[0]) ?
					    "a rule starts with its action: "
					    "bond or bypass" :
					    "a line starts with default, bond "
					    "or bypass (lower case)",
				    "unknown keyword '%s'", TOK(&t[0]));
		total++;
		if (p->nrules == HYBOND_MAX_RULES) {
			/* Go on checking, to report how many there are. */
			if (!over_line) {
				over = t[0];
				over_line = ps->line;
			}
			err = parse_rule(ps, t, n, &spare);
			if (err)
				return err;
			continue;
		}
		err = parse_rule(ps, t, n, &p->rules[p->nrules]);
		if (!err)
			err = check_ambiguity(ps, &t[0], p,
					      &p->rules[p->nrules]);
		if (err)
			return err;
		p->line[p->nrules++] = ps->line;
	}
	if (over_line) {
		ps->line = over_line;
		return fail(ps, &over, -E2BIG,
			    "merge rules with wider prefixes or port ranges",
			    "too many rules: %d, the limit is %d", total,
			    HYBOND_MAX_RULES);
	}
	ps->line = 0;
	if (!stmts)
		return fail(ps, NULL, -EINVAL, "write at least 'default bond'",
			    "empty policy: no rules and no 'default'");
	if (!default_line)
		return fail(ps, NULL, -EINVAL,
			    "add 'default bond' or 'default bypass'",
			    "no 'default' line");
	return 0;
}

/* Most specific first; equally specific ones keep their file order. */
static void sort_rules(struct policy *p)
{
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
}

int policy_parse(const char *name, const char *text, size_t len,
		 struct policy *out, struct policy_error *err)
{
	struct policy_error scratch;
	struct parser ps = { .name = name ? name : "policy", .err = err };
	struct policy *p;
	const char *why;
	size_t off;
	int ret;

	if (!ps.err)
		ps.err = &scratch;
	memset(ps.err, 0, sizeof(*ps.err));
	snprintf(ps.err->file, sizeof(ps.err->file), "%s", ps.name);
	if (len > POLICY_MAX_BYTES)
		return fail(&ps, NULL, -EFBIG,
			    "a policy holds at most 256 rules; trim it",
			    "file larger than %d bytes (1 MiB)",
			    POLICY_MAX_BYTES);
	if (len && !is_text((const unsigned char *)text, len, &off, &why)) {
		/* Point at the bad byte. */
		struct tok at = { .col = 1 };

		ps.line = 1;
		for (size_t i = 0; i < off; i++, at.col++)
			if (text[i] == '\n') {
				ps.line++;
				at.col = 0;
			}
		return fail(&ps, &at, -EINVAL,
			    "a policy is plain text (UTF-8); see "
			    "policy/README.md",
			    "not a text file: %s", why);
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return fail(&ps, NULL, -ENOMEM, "", "out of memory");
	p->default_action = HYBOND_ACT_BOND;
	ret = parse_lines(&ps, text, len, p);
	if (!ret) {
		sort_rules(p);
		*out = *p;
	}
	free(p);
	return ret;
}

int policy_load_fd(int fd, const char *name, struct policy *out,
		   struct policy_error *err)
{
	const size_t max = (size_t)POLICY_MAX_BYTES + 1;
	struct policy_error scratch;
	size_t cap = 0, len = 0;
	char *buf = NULL;
	int ret;

	if (!err)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	if (!name)
		name = "policy";
	snprintf(err->file, sizeof(err->file), "%s", name);
	/* Read at most max bytes: one more than allowed tells "too big". */
	for (;;) {
		ssize_t n;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *nb;

			if (cap == max)
				break;
			if (ncap > max)
				ncap = max;
			nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				snprintf(err->cause, sizeof(err->cause),
					 "out of memory reading %s", name);
				return -ENOMEM;
			}
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err->cause, sizeof(err->cause),
				 "cannot read %s: %s", name, strerror(-ret));
			snprintf(err->hint, sizeof(err->hint),
				 "a policy is a readable text file");
			free(buf);
			return ret;
		}
		if (n == 0)
			break;
		len += (size_t)n;
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
		if (err) {
			memset(err, 0, sizeof(*err));
			snprintf(err->file, sizeof(err->file), "%s", path);
			snprintf(err->cause, sizeof(err->cause),
				 "cannot read %s: %s", path, strerror(-ret));
			snprintf(err->hint, sizeof(err->hint),
				 "check the path and its permissions");
		}
		return ret;
	}
	ret = policy_load_fd(fd, path, out, err);
	close(fd);
	return ret;
}

void policy_error_str(const struct policy_error *e, char *buf, size_t len)
{
	int n;

	if (!buf || !len)
		return;
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

/* ---- output ------------------------------------------------------------ */

/* An action as the steering program reads it: only 1 is bypass. */
static const char *action_str(__u32 a)
{
	return action_name[a == HYBOND_ACT_BYPASS];
}

static void fmt_prefix(char *buf, size_t len, int fam, const __be32 *w,
		       int plen)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(fam == 6 ? AF_INET6 : AF_INET, w, a, sizeof(a));
	snprintf(buf, len, "%s/%d", a, plen);
}

/* snprintf into buf at *n (capped at len), *n counting the full length. */
static void out(char *buf, size_t len, int *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void out(char *buf, size_t len, int *n, const char *fmt, ...)
{
	size_t off = (size_t)*n < len ? (size_t)*n : len;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(buf ? buf + off : NULL, buf ? len - off : 0, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n += k;
}

/* JSON: "key":"s", or "key":null when s is empty. */
static void out_jstr(char *buf, size_t len, int *n, const char *key,
		     const char *s)
{
	if (s[0])
		out(buf, len, n, "\"%s\":\"%s\",", key, s);
	else
		out(buf, len, n, "\"%s\":null,", key);
}

int policy_format(const struct policy *p, bool json, char *buf, size_t len)
{
	int n = 0, nrules = p->nrules;

	if (buf && len)
		buf[0] = '\0';
	if (nrules < 0)
		nrules = 0;
	if (nrules > HYBOND_MAX_RULES)
		nrules = HYBOND_MAX_RULES;
	if (json)
		out(buf, len, &n, "{\"default\":\"%s\",\"rules\":[",
		    action_str(p->default_action));
	else
		out(buf, len, &n, "default %s\n",
		    action_str(p->default_action));
	for (int i = 0; i < nrules; i++) {
		const struct hybond_rule *r = &p->rules[i];
		char src[64] = "", dst[64] = "", port[16] = "";

		if (r->src_len)
			fmt_prefix(src, sizeof(src), r->family, r->src,
				   r->src_len);
		if (r->dst_len)
			fmt_prefix(dst, sizeof(dst), r->family, r->dst,
				   r->dst_len);
		/* A rule of one family without a prefix length (dst
		 * 0.0.0.0/0) still says its family: print it. */
		if (r->family && !r->dst_len && !r->src_len)
			fmt_prefix(dst, sizeof(dst), r->family, r->dst, 0);
		if (r->port_lo == r->port_hi)
			snprintf(port, sizeof(port), "%u", r->port_lo);
		else if (r->port_lo != 0 || r->port_hi != 65535)
			snprintf(port, sizeof(port), "%u-%u", r->port_lo,
				 r->port_hi);
		if (json) {
			out(buf, len, &n, "%s{\"action\":\"%s\",\"family\":%u,",
			    i ? "," : "", action_str(r->action), r->family);
			out_jstr(buf, len, &n, "src", src);
			out_jstr(buf, len, &n, "dst", dst);
			out_jstr(buf, len, &n, "port", port);
			out(buf, len, &n, "\"line\":%d}", p->line[i]);
			continue;
		}
		out(buf, len, &n, "%s", action_str(r->action));
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

int policy_put(struct sbuf *b, const struct policy *p, bool json)
{
	int len = policy_format(p, json, NULL, 0);
	char *buf;

	if (len <= 0)
		return 0;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	policy_format(p, json, buf, len + 1);
	sbuf_put(b, buf, len);
	free(buf);
	return 0;
}

uint32_t policy_decide(const struct policy *p, int family, const void *saddr,
		       const void *daddr, uint16_t dport)
{
	__be32 s[4] = { 0 }, d[4] = { 0 };
	size_t alen = family == 4 ? 4 : 16;

	memcpy(s, saddr, alen);
	memcpy(d, daddr, alen);
	for (int i = 0; i < p->nrules && i < HYBOND_MAX_RULES; i++)
		if (hybond_rule_match(&p->rules[i], (__u8)family, s, d, dport))
			return p->rules[i].action;
	return p->default_action;
}
