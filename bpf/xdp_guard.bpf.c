// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_guard.bpf.c - the HAG's secondary interface admits only what the
 * bonding needs (draft section 6): MP_JOIN SYNs to an announced HAG@2
 * address and port, segments of existing subflows, the ICMP/ICMPv6 that
 * path MTU discovery and neighbour discovery need, and non-IP frames (ARP).
 * Everything else is dropped and counted. The secondary network then needs
 * no Internet access and offers nothing else to whoever is on it. The kernel
 * still checks every MP_JOIN's token and HMAC.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "hybond_abi.h"
#include "lib/parse.h"

#define BPF_TCP_LISTEN_ 10

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hybond_gcfg);
} hybond_gcfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct hybond_gaddr);
	__type(value, __u8);
} hybond_gaddrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HYBOND_G_MAX);
	__type(key, __u32);
	__type(value, __u64);
} hybond_gstats SEC(".maps");

static __always_inline int verdict(__u32 ctr, int action)
{
	__u64 *v = bpf_map_lookup_elem(&hybond_gstats, &ctr);

	if (v)
		*v += 1;
	return action;
}

/* ICMPv4 destination unreachable (fragmentation needed among them);
 * ICMPv6 packet too big, router/neighbour solicitation/advertisement,
 * redirect. */
static __always_inline int icmp_needed(const struct pkt *p, const void *data,
				       const void *data_end)
{
	const __u8 *t = data + p->l4_off;

	if (p->l4_off > 512 || (const void *)(t + 1) > data_end)
		return 0;
	if (p->family == 4)
		return p->l4proto == 1 && t[0] == 3;
	return p->l4proto == 58 && (t[0] == 2 || (t[0] >= 133 && t[0] <= 137));
}

/*
 * Always load 40 bytes, the ones that end where the options end (they
 * start inside the IP or TCP header when the options are shorter): a
 * constant size, which every verifier accepts, and always inside the frame.
 */
static __always_inline int is_join(struct xdp_md *ctx, const struct pkt *p)
{
	struct optwalk w = {};
	__u32 n = p->opt_len, end = p->opt_off + p->opt_len;

	if (n == 0 || n > 40 || end < 40)
		return 0;
	if (bpf_xdp_load_bytes(ctx, end - 40, w.buf, 40))
		return 0;
	w.len = 40;
	return tcp_mptcp_subtype_at(&w, 40 - n) == MPTCP_SUB_JOIN;
}

SEC("xdp.frags")
int hybond_guard(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct hybond_gaddr dst = {};
	struct hybond_gcfg *cfg;
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	struct pkt p = {};
	__u32 key = 0;
	int ret, ours;

	cfg = bpf_map_lookup_elem(&hybond_gcfg, &key);
	if (!cfg || !cfg->enabled)
		return XDP_PASS;
	ret = parse_pkt(data, data_end, &p);
	if (ret == PARSE_NOT_IP)
		return verdict(HYBOND_G_PASS_NONIP, XDP_PASS);
	if (ret == PARSE_MALFORMED || !p.family)
		return verdict(HYBOND_G_DROP_OTHER, XDP_DROP);

	dst.family = p.family;
	__builtin_memcpy(dst.addr, p.daddr, 16);
	if (ret == PARSE_NOT_TCP) {
		if (icmp_needed(&p, data, data_end))
			return verdict(HYBOND_G_PASS_ICMP, XDP_PASS);
		/* ND may go to solicited-node multicast: judged above. */
		if (p.l4proto == 1 || p.l4proto == 58)
			return verdict(HYBOND_G_DROP_ICMP, XDP_DROP);
		return verdict(HYBOND_G_DROP_OTHER, XDP_DROP);
	}
	if (!bpf_map_lookup_elem(&hybond_gaddrs, &dst))
		return verdict(HYBOND_G_DROP_NOT_OURS, XDP_DROP);

	if ((p.tcp_flags & (TCP_SYN_ | TCP_ACK_)) == TCP_SYN_) {
		if (bpf_ntohs(p.dport) == cfg->join_port && is_join(ctx, &p))
			return verdict(HYBOND_G_PASS_JOIN, XDP_PASS);
		return verdict(HYBOND_G_DROP_SYN, XDP_DROP);
	}
	if (p.family == 4) {
		t.ipv4.saddr = p.saddr[0];
		t.ipv4.daddr = p.daddr[0];
		t.ipv4.sport = p.sport;
		t.ipv4.dport = p.dport;
	} else {
		__builtin_memcpy(t.ipv6.saddr, p.saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, p.daddr, 16);
		t.ipv6.sport = p.sport;
		t.ipv6.dport = p.dport;
	}
	sk = bpf_skc_lookup_tcp(ctx, &t,
				p.family == 4 ? sizeof(t.ipv4) : sizeof(t.ipv6),
				BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return verdict(HYBOND_G_DROP_NO_SOCK, XDP_DROP);
	ours = sk->state != BPF_TCP_LISTEN_;
	bpf_sk_release(sk);
	if (!ours)
		return verdict(HYBOND_G_DROP_NO_SOCK, XDP_DROP);
	return verdict(HYBOND_G_PASS_EST, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
