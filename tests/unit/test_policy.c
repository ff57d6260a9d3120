// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_policy.c - the policy compiler: every error a person can make gets
 * file:line:col, a cause and a hint; valid files compile into rules sorted
 * so that the first match is the most specific one; output round-trips.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static struct policy pol;
static struct policy_error perr;

static int parse(const char *text)
{
	return policy_parse("t.policy", text, strlen(text), &pol, &perr);
}

struct bad_case {
	const char *text;
	int err, line, col;
	const char *cause; /* a substring of the cause */
};

static const struct bad_case bad[] = {
	{ "", -EINVAL, 0, 0, "empty policy" },
	{ "# only a comment\n\n", -EINVAL, 0, 0, "empty policy" },
	{ "bypass port 80\n", -EINVAL, 0, 0, "no 'default'" },
	{ "default bond\ndefault bypass\n", -EINVAL, 2, 1, "second 'default'" },
	{ "default\n", -EINVAL, 1, 8, "needs an action" },
	{ "default maybe\n", -EINVAL, 1, 9, "unknown action 'maybe'" },
	{ "default bond now\n", -EINVAL, 1, 14, "unexpected 'now'" },
	{ "default bond\nroute port 80\n", -EINVAL, 2, 1, "unknown action 'route'" },
	{ "default bond\nbypass\n", -EINVAL, 2, 7, "at least one of" },
	{ "default bond\nbypass port\n", -EINVAL, 2, 12, "'port' needs a value" },
	{ "default bond\nbypass port 0\n", -EINVAL, 2, 13, "port 0" },
	{ "default bond\nbypass port 65536\n", -EINVAL, 2, 13, "above 65535" },
	{ "default bond\nbypass port 80-\n", -EINVAL, 2, 13, "unknown port range '80-'" },
	{ "default bond\nbypass port 90-80\n", -EINVAL, 2, 13, "reversed" },
	{ "default bond\nbypass port http\n", -EINVAL, 2, 13, "unknown port 'http'" },
	{ "default bond\nbypass port 80 port 81\n", -EINVAL, 2, 16, "repeated" },
	{ "default bond\nbypass dst 192.0.2.300\n", -EINVAL, 2, 12, "bad address" },
	{ "default bond\nbypass dst 192.0.2.0/33\n", -EINVAL, 2, 22, "out of range" },
	{ "default bond\nbypass dst 192.0.2.0/x\n", -EINVAL, 2, 22, "bad prefix length" },
	{ "default bond\nbypass dst 192.0.2.1/24\n", -EINVAL, 2, 12, "host bits set" },
	{ "default bond\nbypass dst 2001:db8::1/32\n", -EINVAL, 2, 12, "host bits set" },
	{ "default bond\nbypass src 192.0.2.0/24 dst 2001:db8::/32\n", -EINVAL, 2, 12, "src is IPv4 but dst is IPv6" },
	{ "default bond\nbypass dst 192.0.2.0/24 via x\n", -EINVAL, 2, 25, "unexpected 'via'" },
	{ "default bond\nbypass port 80\nbypass port 80\n", -EINVAL, 3, 1, "duplicate of line 2" },
	{ "default bond\nbypass port 80\nbond port 80\n", -EINVAL, 3, 1, "overlaps line 2" },
	{ "default bond\nbypass dst 192.0.2.0/24 port 1-100\nbond dst 192.0.2.0/24 port 50-149\n", -EINVAL, 3, 1, "overlaps line 2" },
	{ "default bond\nbypass\x01 port 80\n", -EINVAL, 2, 1, "unknown action" },
	{ "default bond\nbypass port 80\0\n", -EINVAL, 0, 0, "not a text file" },
	{ "default bond\n\xff\xfe\n", -EINVAL, 0, 0, "not a text file" },
};

Test(policy, every_error_names_place_cause_and_hint)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad_case *c = &bad[i];
		size_t len = strlen(c->text);
		char msg[1024];
		int rc;

		/* The NUL case: include the byte after "80". */
		if (strstr(c->cause, "not a text") && strchr(c->text, '8'))
			len += 2;
		memset(&pol, 0x5a, sizeof(pol));
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
		cr_expect(!strncmp(msg, "t.policy:", 9), "case %zu: %s", i, msg);
		cr_expect_eq(((unsigned char *)&pol)[0], 0x5a,
			     "case %zu: output written on failure", i);
	}
}

Test(policy, error_string_shape)
{
	char msg[512];

	cr_assert_eq(parse("default bond\nbypass port 80-\n"), -EINVAL);
	policy_error_str(&perr, msg, sizeof(msg));
	cr_assert_str_eq(msg, "t.policy:2:13: unknown port range '80-'; "
			      "expected N or N-M (1-65535)");
}

Test(policy, host_bits_hint_proposes_the_prefix)
{
	cr_assert_eq(parse("default bond\nbypass dst 192.0.2.1/24\n"), -EINVAL);
	cr_assert(strstr(perr.hint, "192.0.2.0/24"), "%s", perr.hint);
}

Test(policy, too_many_rules)
{
	size_t cap = 64 * 1024, n = 0;
	char *t = malloc(cap);

	n += sprintf(t + n, "default bond\n");
	for (int i = 1; i <= HYBOND_MAX_RULES + 1; i++)
		n += sprintf(t + n, "bypass port %d\n", i);
	cr_assert_eq(policy_parse("t.policy", t, n, &pol, &perr), -E2BIG);
	cr_assert_eq(perr.line, HYBOND_MAX_RULES + 2);
	cr_assert(strstr(perr.cause, "256"), "%s", perr.cause);
	free(t);
}

Test(policy, exactly_the_limit_is_fine)
{
	size_t cap = 64 * 1024, n = 0;
	char *t = malloc(cap);

	n += sprintf(t + n, "default bond\n");
	for (int i = 1; i <= HYBOND_MAX_RULES; i++)
		n += sprintf(t + n, "bypass port %d\n", i);
	cr_assert_eq(policy_parse("t.policy", t, n, &pol, &perr), 0);
	cr_assert_eq(pol.nrules, HYBOND_MAX_RULES);
	free(t);
}

Test(policy, huge_file_is_refused)
{
	size_t n = POLICY_MAX_BYTES + 100;
	char *t = malloc(n);

	memset(t, '#', n);
	t[n - 1] = '\n';
	cr_assert_eq(policy_parse("t.policy", t, n, &pol, &perr), -EFBIG);
	cr_assert(strstr(perr.cause, "larger than"), "%s", perr.cause);
	free(t);
}

Test(policy, long_line_is_refused)
{
	size_t n = POLICY_MAX_LINE + 20;
	char *t = malloc(n + 16);

	strcpy(t, "default bond\n");
	memset(t + 13, ' ', n);
	t[13 + n] = '\n';
	cr_assert_eq(policy_parse("t.policy", t, 14 + n, &pol, &perr), -EINVAL);
	cr_assert_eq(perr.line, 2);
	cr_assert(strstr(perr.cause, "longer than"), "%s", perr.cause);
	free(t);
}

Test(policy, missing_file)
{
	cr_assert_eq(policy_load_file("/nonexistent/x.policy", &pol, &perr),
		     -ENOENT);
	cr_assert(strstr(perr.cause, "/nonexistent/x.policy"), "%s",
		  perr.cause);
}

static uint32_t decide4(const char *src, const char *dst, uint16_t port)
{
	uint8_t s[16] = { 0 }, d[16] = { 0 };

	inet_pton(AF_INET, src, s);
	inet_pton(AF_INET, dst, d);
	return policy_decide(&pol, 4, s, d, port);
}

static uint32_t decide6(const char *src, const char *dst, uint16_t port)
{
	uint8_t s[16], d[16];

	inet_pton(AF_INET6, src, s);
	inet_pton(AF_INET6, dst, d);
	return policy_decide(&pol, 6, s, d, port);
}

Test(policy, most_specific_match_wins)
{
	const char *t = "default bond\n"
			"bond   dst 203.0.0.0/16\n"
			"bypass dst 203.0.113.0/24\n"
			"bond   dst 203.0.113.0/24 port 443\n"
			"bypass dst 203.0.113.0/24 port 1-65535 src 192.0.2.128/25\n"
			"bypass port 5060-5061\n"
			"bypass dst 2001:db8:5::/48\n"
			"bond dst 2001:db8:5::10 port 80\n";

	cr_assert_eq(parse(t), 0, "%s", perr.cause);
	cr_assert_eq(pol.nrules, 7);
	/* /24 bypass beats the /16 bond; port 443 narrows it back to bond */
	cr_expect_eq(decide4("192.0.2.10", "203.0.113.10", 80), HYBOND_ACT_BYPASS);
	cr_expect_eq(decide4("192.0.2.10", "203.0.113.10", 443), HYBOND_ACT_BOND);
	cr_expect_eq(decide4("192.0.2.10", "203.0.5.1", 80), HYBOND_ACT_BOND);
	/* same dst and port width: the src rule is more specific */
	cr_expect_eq(decide4("192.0.2.200", "203.0.113.10", 443), HYBOND_ACT_BOND);
	/* a port-only rule applies to both families */
	cr_expect_eq(decide4("192.0.2.10", "198.51.100.1", 5060), HYBOND_ACT_BYPASS);
	cr_expect_eq(decide6("2001:db8:1::10", "2001:db8:9::1", 5061), HYBOND_ACT_BYPASS);
	cr_expect_eq(decide6("2001:db8:1::10", "2001:db8:5::10", 80), HYBOND_ACT_BOND);
	cr_expect_eq(decide6("2001:db8:1::10", "2001:db8:5::11", 80), HYBOND_ACT_BYPASS);
	cr_expect_eq(decide6("2001:db8:1::10", "2001:db8:6::1", 80), HYBOND_ACT_BOND);
	/* an IPv4 rule never matches IPv6 */
	cr_expect_eq(decide4("192.0.2.10", "8.8.8.8", 80), HYBOND_ACT_BOND);
}

Test(policy, compiled_rules_are_masked_and_in_network_order)
{
	cr_assert_eq(parse("default bypass\nbond dst 198.51.100.0/24 port 80\n"), 0);
	cr_assert_eq(pol.default_action, HYBOND_ACT_BYPASS);
	cr_assert_eq(pol.rules[0].family, 4);
	cr_assert_eq(pol.rules[0].dst_len, 24);
	cr_assert_eq(pol.rules[0].dst[0], htonl(0xc6336400));
	cr_assert_eq(pol.rules[0].port_lo, 80);
	cr_assert_eq(pol.rules[0].port_hi, 80);
	cr_assert_eq(pol.line[0], 2);
}

Test(policy, overlap_with_different_specificity_is_fine)
{
	cr_assert_eq(parse("default bond\nbypass port 80\nbond port 80 dst 192.0.2.0/24\n"), 0);
	cr_assert_eq(parse("default bond\nbypass dst 192.0.2.0/24\nbond dst 198.51.100.0/24\n"), 0);
	/* same specificity, same action, not identical: allowed */
	cr_assert_eq(parse("default bond\nbypass port 80-90\nbypass port 85-95\n"), 0);
}

Test(policy, text_output_round_trips)
{
	static char buf[8192], buf2[8192];
	struct policy first;

	cr_assert_eq(parse("default bypass\nbond dst 2001:db8::/32 port 443\n"
			   "bypass src 192.0.2.128/25\nbond port 1000-2000\n"
			   "bond dst 0.0.0.0/0 port 22\n"), 0);
	first = pol;
	cr_assert_lt(policy_format(&pol, false, buf, sizeof(buf)), (int)sizeof(buf));
	cr_assert_eq(parse(buf), 0, "%s\n%s", perr.cause, buf);
	cr_assert_eq(pol.nrules, first.nrules);
	cr_assert_eq(pol.default_action, first.default_action);
	cr_assert_eq(memcmp(pol.rules, first.rules, sizeof(pol.rules[0]) * pol.nrules), 0, "%s", buf);
	policy_format(&pol, false, buf2, sizeof(buf2));
	cr_assert(strstr(buf2, "bond dst 0.0.0.0/0 port 22"), "%s", buf2);
}

Test(policy, json_output)
{
	static char buf[4096];
	int n;

	cr_assert_eq(parse("default bond\nbypass dst 203.0.113.0/24 port 5060-5061\n"), 0);
	n = policy_format(&pol, true, buf, sizeof(buf));
	cr_assert_eq(n, (int)strlen(buf));
	cr_assert(strstr(buf, "\"default\":\"bond\""), "%s", buf);
	cr_assert(strstr(buf, "\"dst\":\"203.0.113.0/24\""), "%s", buf);
	cr_assert(strstr(buf, "\"port\":\"5060-5061\""), "%s", buf);
	cr_assert(strstr(buf, "\"src\":null"), "%s", buf);
	/* truncation: the would-be length comes back, the buffer stays a string */
	cr_assert_eq(policy_format(&pol, true, buf, 10), n);
	cr_assert_eq(strlen(buf), 9);
}

Test(policy, shipped_examples_parse)
{
	cr_assert_eq(policy_load_file("policy/cpe.policy", &pol, &perr), 0,
		     "%s:%d:%d %s", perr.file, perr.line, perr.col, perr.cause);
	cr_assert_gt(pol.nrules, 0);
	cr_assert_eq(policy_load_file("policy/hag.policy", &pol, &perr), 0,
		     "%s:%d:%d %s", perr.file, perr.line, perr.col, perr.cause);
}
