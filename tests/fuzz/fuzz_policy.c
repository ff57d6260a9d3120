// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_policy.c - libFuzzer target for the policy compiler: any input must
 * either compile into a policy whose rules are sorted and well formed, or
 * fail with a located error; never crash, leak or read out of bounds
 * (built with -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy p;
	struct policy_error e;
	char msg[1024], *out;
	int rc, n;

	rc = policy_parse("fuzz.policy", (const char *)data, size, &p, &e);
	if (rc) {
		policy_error_str(&e, msg, sizeof(msg));
		if (!e.cause[0])
			abort(); /* every error says what went wrong */
		return 0;
	}
	if (p.nrules < 0 || p.nrules > HYBOND_MAX_RULES)
		abort();
	for (int i = 0; i < p.nrules; i++) {
		const struct hybond_rule *r = &p.rules[i];

		if (r->port_lo > r->port_hi || r->action > 1 ||
		    (r->family != 0 && r->family != 4 && r->family != 6))
			abort();
	}
	/* What compiled must print and compile again to the same rules. */
	n = policy_format(&p, false, NULL, 0);
	out = malloc(n + 1);
	if (!out)
		return 0;
	policy_format(&p, false, out, n + 1);
	{
		static struct policy q;

		if (policy_parse("again", out, n, &q, &e) || q.nrules != p.nrules ||
		    memcmp(q.rules, p.rules, sizeof(p.rules[0]) * p.nrules))
			abort();
	}
	free(out);
	policy_format(&p, true, msg, sizeof(msg));
	return 0;
}
