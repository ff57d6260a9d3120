// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_policy.c - the policy compiler: every error a person can make gets
 * file:line:col, a cause and a hint; valid files compile into rules sorted
 * so that the first match is the most specific one; output round-trips.
 * Runs from the repository root (the shipped examples are read from
 * policy/).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

static struct policy pol;
static struct policy_error perr;

static int parse(const char *text)
{
	return policy_parse("t.policy", text, strlen(text), &pol, &perr);
}

/* The struct policy has no padding: a sentinel byte pattern shows whether
 * a failed call wrote it. */
static void fill_sentinel(struct policy *p)
{
	memset(p, 0x5a, sizeof(*p));
}

static bool untouched(const struct policy *p)
{
	const unsigned char *b = (const unsigned char *)p;

	for (size_t i = 0; i < sizeof(*p); i++)
		if (b[i] != 0x5a)
			return false;
	return true;
}

/* ---- errors -------------------------------------------------------------- */

struct bad_case {
	const char *text;
	size_t len; /* 0: strlen(text) */
	int err, line, col;
	const char *cause; /* a substring of the cause */
	const char *tok;   /* the word at fault, quoted in cause or hint */
};

#define D "default bond\n"

static const struct bad_case bad[] = {
	/* the file as a whole */
	{ "", 0, -EINVAL, 0, 0, "empty policy", NULL },
	{ "# only a comment\n\n \t\n", 0, -EINVAL, 0, 0, "empty policy", NULL },
	{ "bypass port 80\n", 0, -EINVAL, 0, 0, "no 'default'", NULL },
	/* default */
	{ D "default bypass\n", 0, -EINVAL, 2, 1, "second 'default'",
	  "line 1" },
	{ "default\n", 0, -EINVAL, 1, 1, "needs an action", "'default'" },
	{ "default maybe\n", 0, -EINVAL, 1, 9, "unknown action", "'maybe'" },
	{ "default Bond\n", 0, -EINVAL, 1, 9, "unknown action", "'Bond'" },
	{ "default bond now\n", 0, -EINVAL, 1, 14, "unexpected", "'now'" },
	/* the first word */
	{ D "route port 80\n", 0, -EINVAL, 2, 1, "unknown keyword", "'route'" },
	{ D "Bypass port 80\n", 0, -EINVAL, 2, 1, "unknown keyword",
	  "'Bypass'" },
	{ D "  dst 192.0.2.0/24\n", 0, -EINVAL, 2, 3, "unknown keyword",
	  "'dst'" },
	{ D "bypass\x01 port 80\n", 0, -EINVAL, 2, 1, "unknown keyword",
	  "'bypass\\x01'" },
	/* matches */
	{ D "bypass\n", 0, -EINVAL, 2, 1, "needs at least one of", "'bypass'" },
	{ D "bypass # no match\n", 0, -EINVAL, 2, 1, "needs at least one of",
	  "'bypass'" },
	{ D "bypass port\n", 0, -EINVAL, 2, 8, "needs a value", "'port'" },
	{ D "bypass dst\n", 0, -EINVAL, 2, 8, "needs a value", "'dst'" },
	{ D "bypass src port 80\n", 0, -EINVAL, 2, 8, "needs a value",
	  "'src'" },
	{ D "bypass port 80 port 81\n", 0, -EINVAL, 2, 16, "repeated",
	  "'port'" },
	{ D "bypass dst 192.0.2.0/24 dst 198.51.100.0/24\n", 0, -EINVAL, 2, 25,
	  "repeated", "'dst'" },
	{ D "bypass dst 192.0.2.0/24 via x\n", 0, -EINVAL, 2, 25, "unexpected",
	  "'via'" },
	{ D "bypass port 80 80\n", 0, -EINVAL, 2, 16, "unexpected", "'80'" },
	/* an 8th word: the 4th match is repeated or unknown */
	{ D "bypass port 80 dst 192.0.2.0/24 src 192.0.2.0/25 port 81\n", 0,
	  -EINVAL, 2, 50, "repeated", "'port'" },
	{ D "bypass port 80 dst 192.0.2.0/24 src 192.0.2.0/25 extra a b c d\n",
	  0, -EINVAL, 2, 50, "unexpected", "'extra'" },
	/* ports */
	{ D "bypass port 0\n", 0, -EINVAL, 2, 13, "port 0", "'0'" },
	{ D "bypass port 0-80\n", 0, -EINVAL, 2, 13, "port 0", "'0-80'" },
	{ D "bypass port 65536\n", 0, -EINVAL, 2, 13, "above 65535",
	  "'65536'" },
	{ D "bypass port 80-70000\n", 0, -EINVAL, 2, 13, "above 65535",
	  "'80-70000'" },
	{ D "bypass port 99999999999999999999999\n", 0, -EINVAL, 2, 13,
	  "above 65535", "'99999999999999999999999'" },
	{ D "bypass port 80-\n", 0, -EINVAL, 2, 13, "unknown port range",
	  "'80-'" },
	{ D "bypass port -80\n", 0, -EINVAL, 2, 13, "unknown port range",
	  "'-80'" },
	{ D "bypass port 1-2-3\n", 0, -EINVAL, 2, 13, "unknown port range",
	  "'1-2-3'" },
	{ D "bypass port +80\n", 0, -EINVAL, 2, 13, "unknown port", "'+80'" },
	{ D "bypass port http\n", 0, -EINVAL, 2, 13, "unknown port", "'http'" },
	{ D "bypass port 90-80\n", 0, -EINVAL, 2, 13, "reversed port range",
	  "'90-80'" },
	/* prefixes */
	{ D "bypass dst 192.0.2.300\n", 0, -EINVAL, 2, 12, "bad address",
	  "'192.0.2.300'" },
	{ D "bypass dst 192.0.2\n", 0, -EINVAL, 2, 12, "bad address",
	  "'192.0.2'" },
	{ D "bypass dst 2001:db8::g/32\n", 0, -EINVAL, 2, 12, "bad address",
	  "'2001:db8::g/32'" },
	{ D "bypass src example.com\n", 0, -EINVAL, 2, 12, "bad address",
	  "'example.com'" },
	{ D "bypass dst 2001:0db8:0000:0000:0000:0000:0000:0000:0000/32\n", 0,
	  -EINVAL, 2, 12, "bad address", "2001:0db8:0000:0000" },
	{ D "bypass dst 192.0.2.0/33\n", 0, -EINVAL, 2, 12,
	  "prefix length 33 out of range", "'192.0.2.0/33'" },
	{ D "bypass dst 2001:db8::/129\n", 0, -EINVAL, 2, 12,
	  "prefix length 129 out of range", "'2001:db8::/129'" },
	{ D "bypass dst 192.0.2.0/x\n", 0, -EINVAL, 2, 12, "bad prefix length",
	  "'192.0.2.0/x'" },
	{ D "bypass dst 192.0.2.0/\n", 0, -EINVAL, 2, 12, "bad prefix length",
	  "'192.0.2.0/'" },
	{ D "bypass dst 192.0.2.0/-1\n", 0, -EINVAL, 2, 12, "bad prefix length",
	  "'192.0.2.0/-1'" },
	{ D "bypass dst 192.0.2.1/24\n", 0, -EINVAL, 2, 12, "host bits set",
	  "'192.0.2.1/24'" },
	{ D "bypass src 2001:db8::1/32\n", 0, -EINVAL, 2, 12, "host bits set",
	  "'2001:db8::1/32'" },
	{ D "bypass src 192.0.2.0/24 dst 2001:db8::/32\n", 0, -EINVAL, 2, 29,
	  "mixed families", "'2001:db8::/32'" },
	{ D "bypass dst 2001:db8::/32 src 192.0.2.0/24\n", 0, -EINVAL, 2, 30,
	  "mixed families", "'192.0.2.0/24'" },
	/* duplicates and overlaps name the earlier line */
	{ D "bypass port 80\nbypass port 80\n", 0, -EINVAL, 3, 1,
	  "duplicate of line 2", "'bypass'" },
	{ D "bypass port 80 dst 192.0.2.0/24\n\n"
	    "  bypass dst 192.0.2.0/24 port 80\n",
	  0, -EINVAL, 4, 3, "duplicate of line 2", "'bypass'" },
	{ D "bypass port 80\nbond port 80\n", 0, -EINVAL, 3, 1,
	  "overlaps line 2", "'bond'" },
	{ D "bypass dst 192.0.2.0/24 port 1-100\n"
	    "bond dst 192.0.2.0/24 port 50-149\n",
	  0, -EINVAL, 3, 1, "overlaps line 2", "'bond'" },
	{ D "bypass src 2001:db8::/48 port 443\n"
	    "bond port 443 src 2001:db8::/48\n",
	  0, -EINVAL, 3, 1, "overlaps line 2", "'bond'" },
	/* not text: the place of the first bad byte */
	{ D "bypass port 80\0\n", sizeof(D "bypass port 80\0\n") - 1, -EINVAL,
	  2, 15, "not a text file: NUL byte", NULL },
	{ D "\xff\xfe\n", 0, -EINVAL, 2, 1, "invalid UTF-8", NULL },
	{ D "# \xc0\xaf overlong\n", 0, -EINVAL, 2, 3, "invalid UTF-8", NULL },
	{ D "# \xed\xa0\x80 surrogate\n", 0, -EINVAL, 2, 3, "invalid UTF-8",
	  NULL },
	{ D "# \xf4\x90\x80\x80 > U+10FFFF\n", 0, -EINVAL, 2, 3,
	  "invalid UTF-8", NULL },
	{ D "# cut short \xe2\x82", 0, -EINVAL, 2, 13, "invalid UTF-8", NULL },
	{ D "# lone \x80\n", 0, -EINVAL, 2, 8, "invalid UTF-8", NULL },
};

Test(policy_errors, every_error_names_place_cause_and_hint)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad_case *c = &bad[i];
		size_t len = c->len ? c->len : strlen(c->text);
		char msg[1024];
		int rc;

		fill_sentinel(&pol);
		memset(&perr, 0x33, sizeof(perr));
		rc = policy_parse("t.policy", c->text, len, &pol, &perr);
		policy_error_str(&perr, msg, sizeof(msg));
		cr_expect_eq(rc, c->err, "case %zu: rc %d (%s)", i, rc, msg);
		cr_expect_eq(perr.line, c->line, "case %zu: line %d (%s)", i,
			     perr.line, msg);
		cr_expect_eq(perr.col, c->col, "case %zu: col %d (%s)", i,
			     perr.col, msg);
		cr_expect(strstr(perr.cause, c->cause), "case %zu: cause '%s'",
			  i, perr.cause);
		cr_expect(perr.hint[0], "case %zu: no hint (%s)", i, msg);
		if (c->tok)
			cr_expect(strstr(perr.cause, c->tok) ||
					  strstr(perr.hint, c->tok),
				  "case %zu: %s does not name %s", i, msg,
				  c->tok);
		cr_expect_str_eq(perr.file, "t.policy", "case %zu", i);
		cr_expect(!strncmp(msg, "t.policy:", 9), "case %zu: %s", i,
			  msg);
		cr_expect(untouched(&pol),
			  "case %zu: output written on failure", i);
	}
}

Test(policy_errors, hints_propose_the_fix)
{
	cr_assert_eq(parse(D "bypass dst 192.0.2.1/24\n"), -EINVAL);
	cr_expect(strstr(perr.hint, "did you mean 192.0.2.0/24?"), "%s",
		  perr.hint);
	cr_assert_eq(parse(D "bypass dst 2001:db8:1:2::5/33\n"), -EINVAL);
	cr_expect(strstr(perr.hint, "did you mean 2001:db8::/33?"), "%s",
		  perr.hint);
	cr_assert_eq(parse(D "bypass port 90-80\n"), -EINVAL);
	cr_expect(strstr(perr.hint, "80-90"), "%s", perr.hint);
	cr_assert_eq(parse(D "bypass port 80-\n"), -EINVAL);
	cr_expect_str_eq(perr.hint, "expected N or N-M (1-65535)");
	cr_assert_eq(parse(""), -EINVAL);
	cr_expect(strstr(perr.hint, "default bond"), "%s", perr.hint);
	cr_assert_eq(parse(D "bypass dst 2001:db8::/129\n"), -EINVAL);
	cr_expect(strstr(perr.hint, "0-128"), "%s", perr.hint);
	cr_assert_eq(parse("#\n" D D), -EINVAL);
	cr_expect(strstr(perr.cause, "the first is on line 2"), "%s",
		  perr.cause);
}

Test(policy_errors, long_words_are_quoted_short_and_safe)
{
	char text[512], want[64];

	snprintf(text, sizeof(text), D "bypass dst %0200d\n", 7);
	cr_assert_eq(parse(text), -EINVAL);
	snprintf(want, sizeof(want), "'%040d...'", 0);
	cr_expect(strstr(perr.cause, want), "%s", perr.cause);
	/* a multi-byte character is not cut in half */
	snprintf(text, sizeof(text),
		 D "bond %s\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9");
	cr_assert_eq(parse(text), -EINVAL);
	cr_expect(strstr(perr.cause, "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'"),
		  "%s", perr.cause);
}

Test(policy_errors, error_string_shape)
{
	struct policy_error e = { .file = "x.policy", .cause = "boom" };
	char msg[512];

	cr_assert_eq(parse(D "bypass port 80-\n"), -EINVAL);
	policy_error_str(&perr, msg, sizeof(msg));
	cr_expect_str_eq(msg, "t.policy:2:13: unknown port range '80-'; "
			      "expected N or N-M (1-65535)");
	cr_assert_eq(parse("# nothing\n"), -EINVAL);
	policy_error_str(&perr, msg, sizeof(msg));
	cr_expect_str_eq(msg, "t.policy: empty policy: no rules and no "
			      "'default'; write at least 'default bond'");
	policy_error_str(&e, msg, sizeof(msg));
	cr_expect_str_eq(msg, "x.policy: boom");
	e.line = 4;
	policy_error_str(&e, msg, sizeof(msg));
	cr_expect_str_eq(msg, "x.policy:4: boom");
	e.col = 2;
	strcpy(e.hint, "fix it");
	policy_error_str(&e, msg, sizeof(msg));
	cr_expect_str_eq(msg, "x.policy:4:2: boom; fix it");
	/* truncation keeps a string; no room at all writes nothing */
	policy_error_str(&e, msg, 8);
	cr_expect_str_eq(msg, "x.polic");
	msg[0] = 'Z';
	policy_error_str(&e, msg, 0);
	cr_expect_eq(msg[0], 'Z');
}

Test(policy_errors, no_error_struct_is_fine)
{
	cr_expect_eq(policy_parse("t", "bond\n", 5, &pol, NULL), -EINVAL);
	cr_expect_eq(policy_parse("t", D, strlen(D), &pol, NULL), 0);
}

/* ---- limits -------------------------------------------------------------- */

static char *port_rules(int count, size_t *len)
{
	char *t = malloc(64 + (size_t)count * 24);
	size_t n = sprintf(t, D);

	for (int i = 1; i <= count; i++)
		n += sprintf(t + n, "bypass port %d\n", i);
	*len = n;
	return t;
}

Test(policy_limits, too_many_rules)
{
	size_t len;
	char *t = port_rules(HYBOND_MAX_RULES + 1, &len);

	fill_sentinel(&pol);
	cr_assert_eq(policy_parse("t.policy", t, len, &pol, &perr), -E2BIG);
	cr_expect_eq(perr.line, HYBOND_MAX_RULES + 2);
	cr_expect_eq(perr.col, 1);
	cr_expect(strstr(perr.cause, "257"), "%s", perr.cause);
	cr_expect(strstr(perr.cause, "256"), "%s", perr.cause);
	cr_expect(perr.hint[0]);
	cr_expect(untouched(&pol));
	free(t);
	/* the count is the whole file's */
	t = port_rules(300, &len);
	cr_assert_eq(policy_parse("t.policy", t, len, &pol, &perr), -E2BIG);
	cr_expect(strstr(perr.cause, "too many rules: 300, the limit is 256"),
		  "%s", perr.cause);
	free(t);
}

Test(policy_limits, exactly_the_limit_is_fine)
{
	size_t len;
	char *t = port_rules(HYBOND_MAX_RULES, &len);

	cr_assert_eq(policy_parse("t.policy", t, len, &pol, &perr), 0, "%s",
		     perr.cause);
	cr_assert_eq(pol.nrules, HYBOND_MAX_RULES);
	/* all equally specific: file order kept */
	for (int i = 0; i < pol.nrules; i++)
		cr_assert_eq(pol.rules[i].port_lo, i + 1);
	free(t);
}

/* A valid policy of exactly len bytes: comment lines of 1000 bytes. */
static char *padded_policy(size_t len)
{
	char *t = malloc(len);
	size_t n = sprintf(t, D);

	while (n < len) {
		size_t k = len - n > 1000 ? 1000 : len - n;

		memset(t + n, '#', k);
		t[n + k - 1] = '\n';
		n += k;
	}
	return t;
}

Test(policy_limits, file_size)
{
	size_t max = POLICY_MAX_BYTES;
	char *t = padded_policy(max + 1);

	cr_expect_eq(policy_parse("t.policy", t, max, &pol, &perr), 0, "%s",
		     perr.cause);
	fill_sentinel(&pol);
	cr_assert_eq(policy_parse("t.policy", t, max + 1, &pol, &perr), -EFBIG);
	cr_expect(strstr(perr.cause, "larger than 1048576 bytes"), "%s",
		  perr.cause);
	cr_expect(perr.hint[0]);
	cr_expect_eq(perr.line, 0);
	cr_expect(untouched(&pol));
	free(t);
}

Test(policy_limits, huge_file_from_disk)
{
	size_t n = POLICY_MAX_BYTES + 4096;
	char *t = padded_policy(n);
	FILE *f = tmpfile();

	cr_assert(f);
	cr_assert_eq(fwrite(t, 1, n, f), n);
	cr_assert_eq(fflush(f), 0);
	cr_assert_eq(lseek(fileno(f), 0, SEEK_SET), 0);
	fill_sentinel(&pol);
	cr_assert_eq(policy_load_fd(fileno(f), "big.policy", &pol, &perr),
		     -EFBIG);
	cr_expect_str_eq(perr.file, "big.policy");
	cr_expect(untouched(&pol));
	/* exactly the limit loads */
	cr_assert_eq(ftruncate(fileno(f), POLICY_MAX_BYTES), 0);
	cr_assert_eq(lseek(fileno(f), 0, SEEK_SET), 0);
	cr_expect_eq(policy_load_fd(fileno(f), "big.policy", &pol, &perr), 0,
		     "%s", perr.cause);
	fclose(f);
	free(t);
}

Test(policy_limits, endless_input_is_read_only_up_to_the_limit)
{
	/* /dev/zero never ends: the reader must stop at the limit + 1. */
	cr_assert_eq(policy_load_file("/dev/zero", &pol, &perr), -EFBIG);
}

Test(policy_limits, line_length)
{
	char t[POLICY_MAX_LINE + 64];
	size_t n = sprintf(t, D);

	memset(t + n, '#', POLICY_MAX_LINE);
	t[n + POLICY_MAX_LINE] = '\n';
	cr_expect_eq(policy_parse("t.policy", t, n + POLICY_MAX_LINE + 1, &pol,
				  &perr),
		     0, "%s", perr.cause);
	memset(t + n, ' ', POLICY_MAX_LINE + 1);
	t[n + POLICY_MAX_LINE + 1] = '\n';
	fill_sentinel(&pol);
	cr_assert_eq(policy_parse("t.policy", t, n + POLICY_MAX_LINE + 2, &pol,
				  &perr),
		     -EINVAL);
	cr_expect_eq(perr.line, 2);
	cr_expect_eq(perr.col, 0);
	cr_expect(strstr(perr.cause, "1025"), "%s", perr.cause);
	cr_expect(strstr(perr.cause, "longer than 1024"), "%s", perr.cause);
	cr_expect(perr.hint[0]);
	cr_expect(untouched(&pol));
}

/* ---- loading ------------------------------------------------------------- */

Test(policy_load, missing_file)
{
	char msg[1024];

	fill_sentinel(&pol);
	cr_assert_eq(policy_load_file("/nonexistent/x.policy", &pol, &perr),
		     -ENOENT);
	cr_expect_str_eq(perr.cause, "cannot read /nonexistent/x.policy: "
				     "No such file or directory");
	cr_expect_str_eq(perr.file, "/nonexistent/x.policy");
	cr_expect_eq(perr.line, 0);
	cr_expect(untouched(&pol));
	policy_error_str(&perr, msg, sizeof(msg));
	cr_expect(!strncmp(msg, "/nonexistent/x.policy: cannot read", 34),
		  "%s", msg);
}

Test(policy_load, directory)
{
	fill_sentinel(&pol);
	cr_assert_eq(policy_load_file("policy", &pol, &perr), -EISDIR);
	cr_expect_str_eq(perr.cause, "cannot read policy: Is a directory");
	cr_expect(untouched(&pol));
}

Test(policy_load, from_a_pipe)
{
	static const char text[] = "default bypass\nbond port 443\n";
	int fd[2];

	cr_assert_eq(pipe(fd), 0);
	cr_assert_eq(write(fd[1], text, sizeof(text) - 1),
		     (ssize_t)sizeof(text) - 1);
	close(fd[1]);
	cr_assert_eq(policy_load_fd(fd[0], "stdin", &pol, &perr), 0, "%s",
		     perr.cause);
	close(fd[0]);
	cr_expect_eq(pol.default_action, HYBOND_ACT_BYPASS);
	cr_expect_eq(pol.nrules, 1);
}

Test(policy_load, errors_name_the_file)
{
	FILE *f = tmpfile();

	cr_assert(f);
	fputs("default bond\nbypass port 80-\n", f);
	fflush(f);
	lseek(fileno(f), 0, SEEK_SET);
	cr_assert_eq(policy_load_fd(fileno(f), "cpe.policy", &pol, &perr),
		     -EINVAL);
	cr_expect_str_eq(perr.file, "cpe.policy");
	cr_expect_eq(perr.line, 2);
	fclose(f);
}

/* ---- the compiled rules -------------------------------------------------- */

Test(policy_compile, ipv4_rules_are_masked_and_in_network_order)
{
	cr_assert_eq(parse("default bypass\n"
			   "bond dst 198.51.100.0/24 port 80\n"
			   "bond src 192.0.2.7 dst 203.0.113.0/25\n"),
		     0, "%s", perr.cause);
	cr_assert_eq(pol.default_action, HYBOND_ACT_BYPASS);
	cr_assert_eq(pol.nrules, 2);
	/* /25 sorts before /24 */
	cr_expect_eq(pol.rules[0].family, 4);
	cr_expect_eq(pol.rules[0].action, HYBOND_ACT_BOND);
	cr_expect_eq(pol.rules[0].dst_len, 25);
	cr_expect_eq(pol.rules[0].dst[0], htonl(0xcb007100));
	cr_expect_eq(pol.rules[0].src_len, 32);
	cr_expect_eq(pol.rules[0].src[0], htonl(0xc0000207));
	cr_expect_eq(pol.rules[0].port_lo, 0);
	cr_expect_eq(pol.rules[0].port_hi, 65535);
	cr_expect_eq(pol.line[0], 3);
	for (int w = 1; w < 4; w++)
		cr_expect(!pol.rules[0].src[w] && !pol.rules[0].dst[w]);
	cr_expect_eq(pol.rules[1].dst_len, 24);
	cr_expect_eq(pol.rules[1].dst[0], htonl(0xc6336400));
	cr_expect_eq(pol.rules[1].src_len, 0);
	cr_expect_eq(pol.rules[1].port_lo, 80);
	cr_expect_eq(pol.rules[1].port_hi, 80);
	cr_expect_eq(pol.line[1], 2);
}

Test(policy_compile, ipv6_rules)
{
	uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 5, [15] = 0 };
	uint8_t host[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	cr_assert_eq(parse(D "bypass src 2001:db8:5::/48 port 1000-2000\n"
			     "bond dst 2001:db8::1\n"),
		     0, "%s", perr.cause);
	cr_assert_eq(pol.nrules, 2);
	cr_expect_eq(pol.rules[0].family, 6);
	cr_expect_eq(pol.rules[0].dst_len, 128);
	cr_expect_eq(memcmp(pol.rules[0].dst, host, 16), 0);
	cr_expect_eq(pol.rules[1].family, 6);
	cr_expect_eq(pol.rules[1].src_len, 48);
	cr_expect_eq(memcmp(pol.rules[1].src, want, 16), 0);
	cr_expect_eq(pol.rules[1].port_lo, 1000);
	cr_expect_eq(pol.rules[1].port_hi, 2000);
	cr_expect_eq(pol.rules[1].action, HYBOND_ACT_BYPASS);
}

Test(policy_compile, family)
{
	cr_assert_eq(parse(D "bypass port 22\n"
			     "bypass dst 0.0.0.0/0 port 23\n"
			     "bypass src ::/0 port 24\n"),
		     0, "%s", perr.cause);
	cr_assert_eq(pol.nrules, 3);
	/* equally specific but for the family: family-specific first */
	cr_expect_eq(pol.rules[0].family, 4);
	cr_expect_eq(pol.rules[0].dst_len, 0);
	cr_expect_eq(pol.line[0], 3);
	cr_expect_eq(pol.rules[1].family, 6);
	cr_expect_eq(pol.rules[1].src_len, 0);
	cr_expect_eq(pol.line[1], 4);
	cr_expect_eq(pol.rules[2].family, 0);
	cr_expect_eq(pol.line[2], 2);
}

Test(policy_compile, layout_of_the_text)
{
	/* tabs, CRLF, comments anywhere, no final newline, keyword order */
	cr_assert_eq(parse("# head\r\n\tdefault\tbypass   # why\r\n"
			   "bond port 80#http\r\n"
			   "bond port 443 dst 198.51.100.0/24 src 192.0.2.0/24"),
		     0, "%s", perr.cause);
	cr_expect_eq(pol.default_action, HYBOND_ACT_BYPASS);
	cr_expect_eq(pol.nrules, 2);
	cr_expect_eq(pol.line[0], 4);
	cr_expect_eq(pol.line[1], 3);
	/* UTF-8 in comments is text */
	cr_expect_eq(parse("# caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x93\xa1\n" D),
		     0, "%s", perr.cause);
}

Test(policy_compile, overlap_with_other_specificity_is_fine)
{
	/* narrower */
	cr_expect_eq(parse(D "bypass port 80\nbond port 80 dst 192.0.2.0/24\n"),
		     0, "%s", perr.cause);
	/* disjoint prefixes, ports, families */
	cr_expect_eq(parse(D "bypass dst 192.0.2.0/24\n"
			     "bond dst 198.51.100.0/24\n"),
		     0, "%s", perr.cause);
	cr_expect_eq(parse(D "bypass port 80-90\nbond port 91-101\n"), 0, "%s",
		     perr.cause);
	cr_expect_eq(parse(D "bypass dst 0.0.0.0/0\nbond dst ::/0\n"), 0, "%s",
		     perr.cause);
	/* same specificity, same action, not identical */
	cr_expect_eq(parse(D "bypass port 80-90\nbypass port 85-95\n"), 0,
		     "%s", perr.cause);
	/* family-specific beats family-any */
	cr_expect_eq(parse(D "bypass port 80\nbond dst 0.0.0.0/0 port 80\n"), 0,
		     "%s", perr.cause);
	/* the same src prefix with and without the other */
	cr_expect_eq(parse(D "bypass src 192.0.2.0/24\n"
			     "bond src 192.0.2.0/24 dst 198.51.100.0/24\n"),
		     0, "%s", perr.cause);
}

/* ---- decisions: the first match is the most specific -------------------- */

static uint32_t decide(const char *src, const char *dst, uint16_t port)
{
	uint8_t s[16] = { 0 }, d[16] = { 0 };
	int fam = strchr(dst, ':') ? 6 : 4;

	cr_assert_eq(inet_pton(fam == 4 ? AF_INET : AF_INET6, src, s), 1);
	cr_assert_eq(inet_pton(fam == 4 ? AF_INET : AF_INET6, dst, d), 1);
	return policy_decide(&pol, fam, s, d, port);
}

#define BOND HYBOND_ACT_BOND
#define BYPASS HYBOND_ACT_BYPASS

Test(policy_decide, longer_dst_wins)
{
	cr_assert_eq(parse("default bypass\n"
			   "bypass dst 198.51.100.0/24\n"
			   "bond   dst 198.51.0.0/16\n"
			   "bond   dst 198.51.100.64/26\n"),
		     0, "%s", perr.cause);
	cr_expect_eq(decide("192.0.2.1", "198.51.100.10", 80), BYPASS);
	cr_expect_eq(decide("192.0.2.1", "198.51.100.70", 80), BOND);
	cr_expect_eq(decide("192.0.2.1", "198.51.7.1", 80), BOND);
	cr_expect_eq(decide("192.0.2.1", "203.0.113.1", 80), BYPASS);
}

Test(policy_decide, narrower_port_wins)
{
	cr_assert_eq(parse(D "bypass dst 203.0.113.0/24 port 1-65535\n"
			     "bond   dst 203.0.113.0/24 port 443\n"
			     "bond   dst 203.0.113.0/24 port 8000-8999\n"
			     "bypass dst 203.0.113.0/24 port 8080\n"),
		     0, "%s", perr.cause);
	cr_expect_eq(decide("192.0.2.1", "203.0.113.9", 443), BOND);
	cr_expect_eq(decide("192.0.2.1", "203.0.113.9", 80), BYPASS);
	cr_expect_eq(decide("192.0.2.1", "203.0.113.9", 8001), BOND);
	cr_expect_eq(decide("192.0.2.1", "203.0.113.9", 8080), BYPASS);
	cr_expect_eq(decide("192.0.2.1", "198.51.100.9", 80), BOND);
}

Test(policy_decide, src_against_dst)
{
	cr_assert_eq(parse(D "bypass src 192.0.2.128/25\n"
			     "bond   dst 198.51.100.0/24\n"
			     "bypass dst 203.0.113.0/24\n"
			     "bond   dst 203.0.113.0/24 src 192.0.2.0/24\n"),
		     0, "%s", perr.cause);
	/* a dst prefix outranks a src prefix */
	cr_expect_eq(decide("192.0.2.200", "198.51.100.1", 80), BOND);
	cr_expect_eq(decide("192.0.2.200", "192.0.2.1", 80), BYPASS);
	cr_expect_eq(decide("192.0.2.10", "192.0.2.1", 80), BOND);
	/* same dst and ports: the rule with a src prefix is narrower */
	cr_expect_eq(decide("192.0.2.10", "203.0.113.5", 80), BOND);
	cr_expect_eq(decide("198.51.100.1", "203.0.113.5", 80), BYPASS);
}

Test(policy_decide, families)
{
	cr_assert_eq(parse(D "bypass port 5060-5061\n"
			     "bond   dst 0.0.0.0/0 port 5060\n"
			     "bypass dst 2001:db8:5::/48\n"
			     "bond   dst 2001:db8:5::10 port 80\n"
			     "bypass dst 192.0.2.0/24\n"),
		     0, "%s", perr.cause);
	/* a port-only rule applies to both families */
	cr_expect_eq(decide("192.0.2.10", "198.51.100.1", 5061), BYPASS);
	cr_expect_eq(decide("2001:db8:1::10", "2001:db8:9::1", 5061), BYPASS);
	/* the IPv4-only rule beats it for IPv4 only */
	cr_expect_eq(decide("192.0.2.10", "198.51.100.1", 5060), BOND);
	cr_expect_eq(decide("2001:db8:1::10", "2001:db8:9::1", 5060), BYPASS);
	cr_expect_eq(decide("2001:db8:1::10", "2001:db8:5::10", 80), BOND);
	cr_expect_eq(decide("2001:db8:1::10", "2001:db8:5::11", 80), BYPASS);
	cr_expect_eq(decide("2001:db8:1::10", "2001:db8:6::1", 80), BOND);
	/* an IPv4 prefix never matches IPv6 (c000:200:: is 192.0.2.0 in
	 * the first word) */
	cr_expect_eq(decide("2001:db8::1", "c000:200::1", 80), BOND);
	cr_expect_eq(decide("198.51.100.1", "192.0.2.1", 80), BYPASS);
}

Test(policy_decide, ipv4_reads_one_word)
{
	uint32_t s[4] = { htonl(0xc0000201), 0xdeadbeef, 1, 2 };
	uint32_t d[4] = { htonl(0xc6336401), 0xdeadbeef, 3, 4 };

	cr_assert_eq(parse(D "bypass dst 198.51.100.1 src 192.0.2.1\n"), 0);
	cr_expect_eq(policy_decide(&pol, 4, s, d, 80), BYPASS);
}

Test(policy_decide, sorted_most_specific_first_and_stable)
{
	cr_assert_eq(parse(D "bypass port 85-95\n"
			     "bond   src 192.0.2.0/24\n"
			     "bypass port 80-90\n"
			     "bond   dst 198.51.100.0/24\n"
			     "bond   dst 198.51.100.0/24 port 80\n"
			     "bypass dst 0.0.0.0/0 port 80-90\n"),
		     0, "%s", perr.cause);
	static const int order[] = { 6, 5, 7, 2, 4, 3 };

	cr_assert_eq(pol.nrules, 6);
	for (int i = 0; i < 6; i++)
		cr_expect_eq(pol.line[i], order[i], "rule %d is line %d", i,
			     pol.line[i]);
}

/* The reference: among the rules that match, the one with the greatest
 * specificity decides; equally specific ones agree (else it is refused). */
static int spec_cmp(const struct hybond_rule *a, const struct hybond_rule *b)
{
	long wa = a->port_hi - a->port_lo, wb = b->port_hi - b->port_lo;

	if (a->dst_len != b->dst_len)
		return a->dst_len > b->dst_len ? 1 : -1;
	if (wa != wb)
		return wa < wb ? 1 : -1;
	if (a->src_len != b->src_len)
		return a->src_len > b->src_len ? 1 : -1;
	return (a->family != 0) - (b->family != 0);
}

static uint32_t reference(int fam, const __be32 *s, const __be32 *d,
			  uint16_t port)
{
	const struct hybond_rule *best = NULL;

	for (int i = 0; i < pol.nrules; i++) {
		const struct hybond_rule *r = &pol.rules[i];

		if (!hybond_rule_match(r, fam, s, d, port))
			continue;
		if (!best || spec_cmp(r, best) > 0)
			best = r;
		else if (!spec_cmp(r, best))
			cr_assert_eq(r->action, best->action,
				     "two equally specific rules disagree");
	}
	return best ? best->action : pol.default_action;
}

Test(policy_decide, first_match_is_most_specific_random)
{
	static const char *const dst4[] = { "198.51.0.0/16", "198.51.100.0/24",
					    "198.51.100.128/25",
					    "198.51.100.7", "0.0.0.0/0" };
	static const char *const src4[] = { "192.0.2.0/24", "192.0.2.128/25",
					    "192.0.2.200" };
	static const char *const dst6[] = { "2001:db8::/32", "2001:db8:1::/48",
					    "2001:db8:1::1", "::/0" };
	static const char *const src6[] = { "2001:db8:ffff::/48",
					    "2001:db8:ffff::/64" };
	static const char *const ports[] = { "80", "443", "1-1023", "80-443",
					     "1-65535", "8080" };
	static const char *const pkt_s4[] = { "192.0.2.5", "192.0.2.200",
					      "198.51.100.9" };
	static const char *const pkt_d4[] = { "198.51.100.7", "198.51.100.200",
					      "198.51.3.3", "203.0.113.1" };
	static const char *const pkt_s6[] = { "2001:db8:ffff::1",
					      "2001:db8:1::5" };
	static const char *const pkt_d6[] = { "2001:db8:1::1", "2001:db8:2::1",
					      "2001:db8:1::2" };
	static const uint16_t pkt_ports[] = { 0, 22, 80, 443, 8080, 65535 };
	static char text[8192], fmt[16384];
	int policies = 0, rules = 0, checks = 0;

#define PICK(a) (a)[rand() % (int)(sizeof(a) / sizeof((a)[0]))]
	srand(20240601);
	for (int round = 0; round < 300; round++) {
		size_t n = sprintf(text, "default %s\n",
				   rand() % 2 ? "bond" : "bypass");

		for (int k = 0; k < 24; k++) {
			size_t was = n;
			bool v6 = rand() % 3 == 0;
			int m = 0;

			n += sprintf(text + n, "%s",
				     rand() % 2 ? "bond" : "bypass");
			if (rand() % 3) {
				n += sprintf(text + n, " dst %s",
					     v6 ? PICK(dst6) : PICK(dst4));
				m++;
			}
			if (rand() % 3 == 0) {
				n += sprintf(text + n, " src %s",
					     v6 ? PICK(src6) : PICK(src4));
				m++;
			}
			if (!m || rand() % 2)
				n += sprintf(text + n, " port %s", PICK(ports));
			n += sprintf(text + n, "\n");
			if (parse(text)) {
				n = was; /* ambiguous or duplicate: drop it */
				text[n] = '\0';
			}
		}
		cr_assert_eq(parse(text), 0, "%s\n%s", perr.cause, text);
		policies++;
		rules += pol.nrules;
		for (int k = 0; k < 200; k++) {
			uint8_t s[16] = { 0 }, d[16] = { 0 };
			int fam = rand() % 2 ? 4 : 6;
			uint16_t port = PICK(pkt_ports);

			inet_pton(fam == 4 ? AF_INET : AF_INET6,
				  fam == 4 ? PICK(pkt_s4) : PICK(pkt_s6), s);
			inet_pton(fam == 4 ? AF_INET : AF_INET6,
				  fam == 4 ? PICK(pkt_d4) : PICK(pkt_d6), d);
			cr_assert_eq(policy_decide(&pol, fam, s, d, port),
				     reference(fam, (__be32 *)s, (__be32 *)d,
					       port),
				     "%s", text);
			checks++;
		}
		/* and the normalized text compiles to the same rules */
		{
			struct policy first = pol;

			policy_format(&first, false, fmt, sizeof(fmt));
			cr_assert_eq(parse(fmt), 0, "%s\n%s", perr.cause, fmt);
			cr_assert_eq(pol.nrules, first.nrules);
			cr_assert_eq(memcmp(pol.rules, first.rules,
					    sizeof(pol.rules)),
				     0, "%s", fmt);
		}
	}
#undef PICK
	cr_log_info("%d policies, %d rules, %d decisions", policies, rules,
		    checks);
	cr_expect_gt(rules, policies * 4);
}

/* ---- output -------------------------------------------------------------- */

Test(policy_format, text)
{
	static char buf[2048];
	int n;

	cr_assert_eq(parse("# a comment\n"
			   "default bypass\n"
			   "bond port 1000-2000\n"
			   "bond dst 2001:db8::/32 port 443\n"
			   "bypass src 192.0.2.128/25\n"
			   "bond dst 0.0.0.0/0 port 22\n"
			   "bypass dst 203.0.113.0/24 port 5060-5061 src 192.0.2.0/24\n"),
		     0, "%s", perr.cause);
	n = policy_format(&pol, false, buf, sizeof(buf));
	cr_expect_eq(n, (int)strlen(buf));
	cr_expect_str_eq(buf,
			 "default bypass\n"
			 "bond dst 2001:db8::/32 port 443  # line 4\n"
			 "bypass dst 203.0.113.0/24 src 192.0.2.0/24 port 5060-5061  # line 7\n"
			 "bond dst 0.0.0.0/0 port 22  # line 6\n"
			 "bond port 1000-2000  # line 3\n"
			 "bypass src 192.0.2.128/25  # line 5\n");
}

static void expect_same_rules(const struct policy *a, const struct policy *b)
{
	cr_assert_eq(a->default_action, b->default_action);
	cr_assert_eq(a->nrules, b->nrules);
	for (int i = 0; i < a->nrules; i++)
		cr_assert_eq(memcmp(&a->rules[i], &b->rules[i],
				    sizeof(a->rules[i])),
			     0, "rule %d", i);
}

Test(policy_format, text_round_trips)
{
	static const char *const files[] = { "policy/cpe.policy",
					     "policy/hag.policy" };
	static char buf[8192], buf2[8192];
	struct policy first;

	cr_assert_eq(parse("default bypass\n"
			   "bond dst 2001:db8::/32 port 443\n"
			   "bypass src 2001:db8:ff::/48 dst 2001:db8:1::1\n"
			   "bypass src 192.0.2.128/25\n"
			   "bond port 1000-2000\n"
			   "bond dst 0.0.0.0/0 port 22\n"
			   "bond src ::/0 port 22\n"),
		     0, "%s", perr.cause);
	first = pol;
	cr_assert_lt(policy_format(&pol, false, buf, sizeof(buf)),
		     (int)sizeof(buf));
	cr_assert_eq(parse(buf), 0, "%s\n%s", perr.cause, buf);
	expect_same_rules(&pol, &first);
	/* the normal form is a fixed point (but for the line comments) */
	policy_format(&pol, false, buf2, sizeof(buf2));
	cr_expect(strstr(buf2, "bond dst ::/0 port 22  # line"), "%s", buf2);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(policy_load_file(files[i], &first, &perr), 0,
			     "%s", perr.cause);
		policy_format(&first, false, buf, sizeof(buf));
		cr_assert_eq(parse(buf), 0, "%s\n%s", perr.cause, buf);
		expect_same_rules(&pol, &first);
	}
}

/* A small JSON checker: is s exactly one well-formed value? */
static const char *js_ws(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

static const char *js_string(const char *s)
{
	if (!s || *s != '"')
		return NULL;
	for (s++; *s != '"'; s++) {
		if ((unsigned char)*s < 0x20)
			return NULL;
		if (*s == '\\' && !*++s)
			return NULL;
	}
	return s + 1;
}

static const char *js_value(const char *s)
{
	s = js_ws(s);
	if (*s == '"')
		return js_string(s);
	if (*s == '{' || *s == '[') {
		char close = *s == '{' ? '}' : ']';
		bool obj = *s == '{';

		s = js_ws(s + 1);
		if (*s == close)
			return s + 1;
		for (;;) {
			if (obj) {
				s = js_string(js_ws(s));
				if (!s || *(s = js_ws(s)) != ':')
					return NULL;
				s++;
			}
			s = js_value(s);
			if (!s)
				return NULL;
			s = js_ws(s);
			if (*s == ',') {
				s++;
				continue;
			}
			return *s == close ? s + 1 : NULL;
		}
	}
	if (!strncmp(s, "null", 4) || !strncmp(s, "true", 4))
		return s + 4;
	if (!strncmp(s, "false", 5))
		return s + 5;
	if (*s == '-' || isdigit((unsigned char)*s)) {
		char *end;

		strtod(s, &end);
		return end;
	}
	return NULL;
}

static bool json_ok(const char *s)
{
	s = js_value(s);
	return s && !*js_ws(s);
}

Test(policy_format, json)
{
	static char buf[4096];
	int n;

	cr_assert(json_ok("{\"a\":[1,null,\"x\"],\"b\":{}}"));
	cr_assert(!json_ok("{\"a\":[1,]}"));
	cr_assert_eq(parse(D "\n\n\n\n\n"
			     "bypass dst 203.0.113.0/24 port 5060-5061\n"
			     "bond src 2001:db8::/32\n"
			     "bond port 22\n"),
		     0, "%s", perr.cause);
	n = policy_format(&pol, true, buf, sizeof(buf));
	cr_expect_eq(n, (int)strlen(buf));
	cr_expect(json_ok(buf), "%s", buf);
	cr_expect(!strncmp(buf,
			   "{\"default\":\"bond\",\"rules\":[{\"action\":"
			   "\"bypass\",\"family\":4,\"src\":null,\"dst\":"
			   "\"203.0.113.0/24\",\"port\":\"5060-5061\","
			   "\"line\":7}",
			   strlen("{\"default\":\"bond\",\"rules\":[{\"action"
				  "\":\"bypass\",\"family\":4,\"src\":null,"
				  "\"dst\":\"203.0.113.0/24\",\"port\":"
				  "\"5060-5061\",\"line\":7}")),
		  "%s", buf);
	cr_expect(strstr(buf, "\"port\":\"22\""), "%s", buf);
	cr_expect(strstr(buf, "\"src\":\"2001:db8::/32\""), "%s", buf);
	cr_expect(strstr(buf, "\"family\":6"), "%s", buf);
	cr_expect(strstr(buf, "\"family\":0"), "%s", buf);
	cr_expect(strstr(buf, "\"port\":null"), "%s", buf);
	/* no rules at all */
	cr_assert_eq(parse("default bypass\n"), 0);
	policy_format(&pol, true, buf, sizeof(buf));
	cr_expect_str_eq(buf, "{\"default\":\"bypass\",\"rules\":[]}\n");
}

Test(policy_format, truncation_like_snprintf)
{
	static char buf[4096];
	int n, m;

	cr_assert_eq(parse(D "bypass dst 203.0.113.0/24 port 5060-5061\n"), 0);
	for (int json = 0; json < 2; json++) {
		n = policy_format(&pol, json, NULL, 0);
		cr_assert_gt(n, 20);
		m = policy_format(&pol, json, buf, sizeof(buf));
		cr_expect_eq(m, n);
		memset(buf, 'Z', sizeof(buf));
		cr_expect_eq(policy_format(&pol, json, buf, 10), n);
		cr_expect_eq(strlen(buf), 9);
		cr_expect_eq(buf[10], 'Z');
		cr_expect_eq(policy_format(&pol, json, buf, n), n);
		cr_expect_eq(strlen(buf), (size_t)n - 1);
		buf[0] = 'Q';
		cr_expect_eq(policy_format(&pol, json, buf, 0), n);
		cr_expect_eq(buf[0], 'Q');
	}
}

Test(policy_format, rules_read_back_from_the_maps)
{
	/* steer_get_policy: no lines, and whatever bpftool wrote */
	static struct policy p;
	static char buf[1024];

	p.default_action = HYBOND_ACT_BOND;
	p.nrules = 2;
	p.rules[0] = (struct hybond_rule){ .family = 0, .action = 1,
					   .port_lo = 80, .port_hi = 80 };
	p.rules[1] = (struct hybond_rule){ .family = 4, .action = 7,
					   .dst_len = 8, .port_hi = 65535,
					   .dst = { htonl(0xc6000000) } };
	policy_format(&p, false, buf, sizeof(buf));
	/* only 1 is bypass for the steering program */
	cr_expect_str_eq(buf, "default bond\nbypass port 80\n"
			      "bond dst 198.0.0.0/8\n");
	policy_format(&p, true, buf, sizeof(buf));
	cr_expect(json_ok(buf), "%s", buf);
	cr_expect(strstr(buf, "\"line\":0"), "%s", buf);
}

/* ---- the shipped examples ------------------------------------------------ */

Test(policy_examples, cpe)
{
	cr_assert_eq(policy_load_file("policy/cpe.policy", &pol, &perr), 0,
		     "%s:%d:%d %s", perr.file, perr.line, perr.col, perr.cause);
	cr_assert_gt(pol.nrules, 3);
	cr_expect_eq(pol.default_action, HYBOND_ACT_BOND);
	/* VoIP signalling stays on the primary, whoever calls */
	cr_expect_eq(decide("192.0.2.10", "203.0.113.50", 5060), BYPASS);
	cr_expect_eq(decide("2001:db8:1::10", "2001:db8:9::1", 5061), BYPASS);
	/* the game network is bypassed, its downloads are bonded */
	cr_expect_eq(decide("192.0.2.10", "198.51.100.20", 3074), BYPASS);
	cr_expect_eq(decide("192.0.2.10", "198.51.100.20", 443), BOND);
	/* the guest network is bypassed */
	cr_expect_eq(decide("192.0.2.200", "203.0.113.50", 443), BYPASS);
	/* everything else is bonded */
	cr_expect_eq(decide("192.0.2.10", "203.0.113.50", 443), BOND);
	cr_expect_eq(decide("2001:db8:1::10", "2001:db8:9::1", 443), BOND);
}

Test(policy_examples, hag)
{
	cr_assert_eq(policy_load_file("policy/hag.policy", &pol, &perr), 0,
		     "%s:%d:%d %s", perr.file, perr.line, perr.col, perr.cause);
	cr_assert_gt(pol.nrules, 2);
	cr_expect_eq(pol.default_action, HYBOND_ACT_BOND);
	/* subscribers on trial are not proxied... */
	cr_expect_eq(decide("192.0.2.10", "203.0.113.1", 443), BYPASS);
	cr_expect_eq(decide("2001:db8:1ff::1", "2001:db8:9::1", 443), BYPASS);
	/* ...but for the mirror, whose dst prefix outranks their src one */
	cr_expect_eq(decide("192.0.2.10", "198.51.100.1", 443), BOND);
	/* the speed-test servers */
	cr_expect_eq(decide("192.0.2.100", "203.0.113.70", 443), BYPASS);
	cr_expect_eq(decide("2001:db8:200::1", "2001:db8:5:64::1", 80), BYPASS);
	/* SMTP submission, but for the mirror */
	cr_expect_eq(decide("192.0.2.100", "203.0.113.1", 587), BYPASS);
	cr_expect_eq(decide("192.0.2.100", "198.51.100.1", 587), BOND);
	/* everything else */
	cr_expect_eq(decide("192.0.2.100", "203.0.113.1", 443), BOND);
	cr_expect_eq(decide("2001:db8:200::1", "2001:db8:9::1", 443), BOND);
}
