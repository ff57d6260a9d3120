// SPDX-License-Identifier: GPL-2.0-only
/* The forms --hag-secondary and --cpe-secondary accept, and the errors
 * that name what is wrong with the others. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "upm.h"

static struct upm_target t;
static char err[160];

Test(upm_target, ipv4_addr_port)
{
	cr_assert_eq(upm_parse_target("198.51.100.129:9300", false, &t, err,
				      sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.addr.family, AF_INET);
	cr_assert_eq(t.addr.v4.s_addr, inet_addr("198.51.100.129"));
	cr_assert_eq(t.port, 9300);
	cr_assert_eq(t.prefix.family, 0, "no prefix: every connection");
}

Test(upm_target, ipv6_in_brackets)
{
	struct in6_addr want;

	cr_assert_eq(upm_parse_target("[2001:db8:a2::1]:9300", false, &t, err,
				      sizeof(err)), 0, "%s", err);
	inet_pton(AF_INET6, "2001:db8:a2::1", &want);
	cr_assert_eq(t.addr.family, AF_INET6);
	cr_assert(!memcmp(&t.addr.v6, &want, 16));
}

Test(upm_target, prefix_map)
{
	cr_assert_eq(upm_parse_target("192.0.2.0/24=198.51.100.130:9400", true,
				      &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.prefix.family, AF_INET);
	cr_assert_eq(t.prefix.prefixlen, 24);
	cr_assert_eq(t.port, 9400);
	cr_assert_eq(upm_parse_target("2001:db8:1::/64=[2001:db8:a2::2]:9400",
				      true, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.prefix.prefixlen, 64);
	/* A bare address is a /32 or /128. */
	cr_assert_eq(upm_parse_target("192.0.2.7=198.51.100.130:9400", true,
				      &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t.prefix.prefixlen, 32);
}

static void refused(const char *in, bool pfx, const char *why)
{
	memset(err, 0, sizeof(err));
	cr_assert_neq(upm_parse_target(in, pfx, &t, err, sizeof(err)), 0,
		      "'%s' accepted", in);
	cr_assert(strstr(err, why), "'%s': message '%s' lacks '%s'", in, err,
		  why);
}

Test(upm_target, errors_name_the_cause)
{
	refused("198.51.100.129", false, "expected ADDR:PORT");
	refused("2001:db8::1:9300", false, "[ADDR]:PORT");
	refused("198.51.100.300:9300", false, "not an IPv4 or IPv6 address");
	refused("198.51.100.129:0", false, "not a port");
	refused("198.51.100.129:70000", false, "not a port");
	refused("198.51.100.129:http", false, "not a port");
	refused("[2001:db8::1]9300", false, "expected ADDR:PORT");
	refused("198.51.100.130:9400", true, "expected PREFIX/LEN=ADDR:PORT");
	refused("192.0.2.0/33=198.51.100.130:9400", true, "prefix length");
	refused("192.0.2.0/x=198.51.100.130:9400", true, "prefix length");
	refused("foo/24=198.51.100.130:9400", true, "not an IPv4 or IPv6 prefix");
	refused("2001:db8:1::/64=198.51.100.130:9400", true,
		"different families");
}
