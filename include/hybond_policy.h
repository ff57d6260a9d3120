/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * hybond_policy.h - the compiled policy: what the policy compiler writes into
 * the hybond_rules map and what the steering program evaluates on every SYN.
 *
 * A policy is a list of rules sorted most specific first plus a default
 * action; the first rule that matches decides. The matcher below is the one
 * definition of "matches", used by the BPF program and by user space (the
 * compiler's tests and `hybond policy test`).
 *
 * Two banks of HYBOND_MAX_RULES slots live in one array map; hybond_cfg.policy
 * says which bank is in force, how many rules it holds and the default
 * action, so a new policy is written into the idle bank and switched in with
 * one 32-bit store.
 */
#ifndef HYBOND_POLICY_H
#define HYBOND_POLICY_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define HYBOND_MAX_RULES 256
#define HYBOND_MAP_RULES "hybond_rules"

/* hybond_cfg.policy: bit 31 the bank, bit 30 the default action (enum
 * hybond_action), bits 0-15 the rule count. */
#define HYBOND_POLICY_BANK(p) ((p) >> 31)
#define HYBOND_POLICY_DEFAULT(p) (((p) >> 30) & 1)
#define HYBOND_POLICY_COUNT(p) ((p)&0xffff)
#define HYBOND_POLICY(bank, dflt, count)                                     \
	(((__u32)(bank) << 31) | ((__u32)(dflt) << 30) | ((count)&0xffff))

struct hybond_rule {
	__u8 family;   /* 0: any family (no prefix given), 4 or 6 */
	__u8 action;   /* enum hybond_action */
	__u8 src_len;  /* source prefix length; 0 = any */
	__u8 dst_len;  /* destination prefix length; 0 = any */
	__u16 port_lo; /* destination port range, host order; */
	__u16 port_hi; /* 0-65535 = any */
	__be32 src[4]; /* prefixes, masked; IPv4 in [0], network order */
	__be32 dst[4];
};
_Static_assert(sizeof(struct hybond_rule) == 40, "hybond_rule layout");

/* Does the prefix (addr, len) contain a? Both network order. */
static inline int hybond_prefix_has(const __be32 *pfx, __u32 len,
				    const __be32 *a, __u32 words)
{
	__u32 i;

	for (i = 0; i < 4; i++) {
		__u32 bits, mask;

		if (i >= words || len == 0)
			break;
		bits = len > 32 ? 32 : len;
		/* Build the mask in host order, compare in network order. */
		mask = bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
		mask = __builtin_bswap32(mask);
		if ((a[i] & mask) != pfx[i])
			return 0;
		len -= bits;
	}
	return 1;
}

/* family 4 or 6; addresses as 4 words in network order; dport host order. */
static inline int hybond_rule_match(const struct hybond_rule *r, __u8 family,
				    const __be32 *saddr, const __be32 *daddr,
				    __u16 dport)
{
	__u32 words = family == 4 ? 1 : 4;

	if (r->family && r->family != family)
		return 0;
	if (dport < r->port_lo || dport > r->port_hi)
		return 0;
	if (r->dst_len && !hybond_prefix_has(r->dst, r->dst_len, daddr, words))
		return 0;
	if (r->src_len && !hybond_prefix_has(r->src, r->src_len, saddr, words))
		return 0;
	return 1;
}

#endif /* HYBOND_POLICY_H */
