/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * parse.h - Ethernet/VLAN/IPv4/IPv6/TCP parsing and the TCP option walk,
 * shared by every hybond program (tc and XDP). Works on a [data, data_end)
 * window of direct packet access; never trusts a length it did not check.
 *
 * Byte order: addresses and ports stay in network order (as the socket
 * lookup helpers want them); lengths and offsets are host order.
 */
#ifndef HYBOND_PARSE_H
#define HYBOND_PARSE_H

#ifndef ETH_P_IP
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#endif
#define ETH_HLEN_ 14
#define VLAN_HLEN_ 4

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_DSTOPTS_ 60

#define TCPOPT_EOL_ 0
#define TCPOPT_NOP_ 1
#define TCPOPT_TS_ 8
#define TCPOPT_TS_LEN_ 10
#define TCPOPT_MPTCP_ 30

#define TCP_FIN_ 0x01
#define TCP_SYN_ 0x02
#define TCP_RST_ 0x04
#define TCP_ACK_ 0x10

/* MPTCP option subtypes (RFC 8684), from the high nibble of the 3rd byte. */
#define MPTCP_SUB_CAPABLE 0
#define MPTCP_SUB_JOIN 1
#define MPTCP_SUB_NONE 0xff

enum parse_verdict {
	PARSE_OK = 0,      /* a TCP segment, fields filled in */
	PARSE_NOT_IP,      /* not IPv4/IPv6 (ARP, LLDP, ...) */
	PARSE_NOT_TCP,     /* IP, but not a first TCP fragment */
	PARSE_MALFORMED,   /* truncated or inconsistent headers */
};

struct pkt {
	__u8 family;        /* 4 or 6 */
	__u8 tcp_flags;     /* byte 13 of the TCP header */
	__u8 mptcp_sub;     /* first MPTCP option subtype, MPTCP_SUB_NONE */
	__u8 l4proto;       /* IP protocol / last next header (also for
			     * PARSE_NOT_TCP, with l4_off, unless fragmented) */
	__be32 saddr[4];    /* IPv4 in [0] */
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u16 l3_off;       /* offset of the IP header from data */
	__u16 l4_off;       /* offset of the TCP header from data */
	__u32 opt_off;      /* offset of the TCP options from data */
	__u32 opt_len;      /* their length (doff * 4 - 20), <= 40 */
};

/*
 * The TCP option walk runs over a copy of the options (at most 40 bytes) that
 * the caller loads with its hook's helper (bpf_skb_load_bytes,
 * bpf_xdp_load_bytes). In BPF it is a bpf_loop() callback, so the verifier
 * checks one step instead of every path through 40 of them; in user space
 * (unit tests, the reference model) the same step runs in a plain loop.
 */
struct optwalk {
	__u8 buf[40];
	__u32 len;
	__u32 off;
	__u8 sub;    /* first MPTCP subtype, MPTCP_SUB_NONE */
	__u8 ts_off; /* offset of the timestamps option, 0xff: none */
};

static long optwalk_step(__u32 idx, void *ctx)
{
	struct optwalk *w = ctx;
	__u32 off = w->off;
	__u8 kind, len;

	(void)idx;
	if (off >= w->len || off >= 40)
		return 1;
	kind = w->buf[off];
	if (kind == TCPOPT_EOL_)
		return 1;
	if (kind == TCPOPT_NOP_) {
		w->off = off + 1;
		return 0;
	}
	if (off + 1 >= w->len || off + 1 >= 40)
		return 1; /* a kind without its length byte */
	len = w->buf[off + 1];
	if (len < 2 || off + len > w->len)
		return 1; /* malformed list: stop, nothing found */
	if (kind == TCPOPT_TS_ && len == TCPOPT_TS_LEN_ && w->ts_off == 0xff)
		w->ts_off = off;
	if (kind == TCPOPT_MPTCP_ && len >= 3 && w->sub == MPTCP_SUB_NONE) {
		if (off + 2 >= 40)
			return 1;
		w->sub = w->buf[off + 2] >> 4;
	}
	w->off = off + len;
	return 0;
}

/* Subtype of the first MPTCP option in w->buf[start..w->len), or NONE; the
 * walk also notes where the timestamps option is (w->ts_off). */
static __always_inline __u8 tcp_mptcp_subtype_at(struct optwalk *w,
						 __u32 start)
{
	w->off = start;
	w->sub = MPTCP_SUB_NONE;
	w->ts_off = 0xff;
	if (w->len > 40)
		return MPTCP_SUB_NONE;
#ifdef __bpf__
	bpf_loop(40, optwalk_step, w, 0);
#else
	for (__u32 i = 0; i < 40; i++)
		if (optwalk_step(i, w))
			break;
#endif
	return w->sub;
}

static __always_inline __u8 tcp_mptcp_subtype(struct optwalk *w)
{
	return tcp_mptcp_subtype_at(w, 0);
}

static __always_inline int parse_ipv6_exthdrs(const void *data,
					      const void *data_end, __u32 *off,
					      __u8 *nexthdr)
{
	int i;

	/* Hop-by-hop, routing and destination options are skipped; a
	 * fragment header means this is not a plain first TCP segment. */
	for (i = 0; i < 6; i++) {
		const __u8 *h = data + *off;

		switch (*nexthdr) {
		case IPPROTO_HOPOPTS_:
		case IPPROTO_ROUTING_:
		case IPPROTO_DSTOPTS_:
			if ((const void *)(h + 2) > data_end)
				return PARSE_MALFORMED;
			*nexthdr = h[0];
			*off += ((__u32)h[1] + 1) * 8;
			if (*off > 512)
				return PARSE_MALFORMED;
			break;
		case IPPROTO_FRAGMENT_:
			return PARSE_NOT_TCP;
		default:
			return PARSE_OK;
		}
	}
	return PARSE_NOT_TCP; /* too deep a chain: leave it to the stack */
}

/*
 * Parse [data, data_end): Ethernet, up to two VLAN tags still in the frame (a
 * tag the driver took out is simply not there), IPv4 with options or IPv6
 * with extension headers, then TCP.
 */
static __always_inline int parse_pkt(const void *data, const void *data_end,
				     struct pkt *pkt)
{
	const struct ethhdr *eth = data;
	__u32 off = ETH_HLEN_;
	__u16 proto;
	__u8 nexthdr;
	int i;

	if ((const void *)(eth + 1) > data_end)
		return PARSE_MALFORMED;
	proto = bpf_ntohs(eth->h_proto);

	for (i = 0; i < 2; i++) {
		const __be16 *tag;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		tag = data + off;
		if ((const void *)(tag + 2) > data_end)
			return PARSE_MALFORMED;
		proto = bpf_ntohs(tag[1]);
		off += VLAN_HLEN_;
	}

	pkt->l3_off = off;
	/* The family is known from the ethertype, before any length check, so
	 * that even a malformed packet is counted under the right one. */
	pkt->family = proto == ETH_P_IPV6 ? 6 : proto == ETH_P_IP ? 4 : 0;
	if (proto == ETH_P_IP) {
		const struct iphdr *ip = data + off;
		__u32 ihl;

		if ((const void *)(ip + 1) > data_end)
			return PARSE_MALFORMED;
		if (ip->version != 4)
			return PARSE_MALFORMED;
		ihl = ip->ihl * 4;
		if (ihl < sizeof(*ip))
			return PARSE_MALFORMED;
		pkt->saddr[0] = ip->saddr;
		pkt->daddr[0] = ip->daddr;
		pkt->saddr[1] = pkt->saddr[2] = pkt->saddr[3] = 0;
		pkt->daddr[1] = pkt->daddr[2] = pkt->daddr[3] = 0;
		/* Any fragment (MF set or offset non-zero) is left alone. */
		if (ip->frag_off & bpf_htons(0x3fff)) {
			pkt->l4proto = IPPROTO_FRAGMENT_;
			return PARSE_NOT_TCP;
		}
		pkt->l4proto = ip->protocol;
		off += ihl;
		pkt->l4_off = off;
		if (ip->protocol != IPPROTO_TCP)
			return PARSE_NOT_TCP;
	} else if (proto == ETH_P_IPV6) {
		const struct ipv6hdr *ip6 = data + off;
		int ret;

		if ((const void *)(ip6 + 1) > data_end)
			return PARSE_MALFORMED;
		if (ip6->version != 6)
			return PARSE_MALFORMED;
		__builtin_memcpy(pkt->saddr, &ip6->saddr, 16);
		__builtin_memcpy(pkt->daddr, &ip6->daddr, 16);
		nexthdr = ip6->nexthdr;
		off += sizeof(*ip6);
		ret = parse_ipv6_exthdrs(data, data_end, &off, &nexthdr);
		pkt->l4proto = nexthdr;
		if (ret != PARSE_OK)
			return ret;
		pkt->l4_off = off;
		if (nexthdr != IPPROTO_TCP)
			return PARSE_NOT_TCP;
	} else {
		return PARSE_NOT_IP;
	}

	{
		const struct tcphdr *th;
		const __u8 *thb;
		__u32 doff;

		if (off > 512)
			return PARSE_MALFORMED;
		th = data + off;
		if ((const void *)(th + 1) > data_end)
			return PARSE_MALFORMED;
		doff = th->doff * 4;
		if (doff < sizeof(*th))
			return PARSE_MALFORMED;
		thb = (const __u8 *)th;
		pkt->l4_off = off;
		pkt->sport = th->source;
		pkt->dport = th->dest;
		pkt->tcp_flags = thb[13];
		pkt->mptcp_sub = MPTCP_SUB_NONE;
		pkt->opt_off = off + sizeof(*th);
		pkt->opt_len = doff - sizeof(*th);
		if ((const void *)(thb + doff) > data_end)
			return PARSE_MALFORMED;
	}
	return PARSE_OK;
}

/*
 * An ICMP or ICMPv6 error (destination unreachable, packet too big, time
 * exceeded, parameter problem) quoting the start of a TCP segment: after
 * parse_pkt() said PARSE_NOT_TCP for [data, data_end) with pkt's l4proto and
 * l4_off, fill *tcp as the segment that error is about would look coming
 * back (its source the quoted destination, and so on), which is the tuple a
 * socket lookup of the sender's socket takes. Returns 0 when it is such an
 * error, -1 otherwise. The quoted IPv4 header may carry options; an IPv6 one
 * must have TCP as its next header (no extension headers: none of the
 * segments a gateway sends has them).
 */
static __always_inline int parse_icmp_tcp(const void *data,
					  const void *data_end,
					  const struct pkt *pkt,
					  struct pkt *tcp)
{
	const __u8 *icmp = data + (pkt->l4_off & 0x3ff);
	const __be16 *ports;

	if ((const void *)(icmp + 8) > data_end)
		return -1;
	tcp->family = pkt->family;
	if (pkt->family == 4 && pkt->l4proto == 1 /* ICMP */) {
		const struct iphdr *in = (const void *)(icmp + 8);
		__u32 ihl;

		if (icmp[0] != 3 && icmp[0] != 11 && icmp[0] != 12)
			return -1;
		if ((const void *)(in + 1) > data_end || in->version != 4 ||
		    in->protocol != IPPROTO_TCP)
			return -1;
		ihl = in->ihl * 4;
		if (ihl < sizeof(*in))
			return -1;
		ports = (const void *)((const __u8 *)in + ihl);
		if ((const void *)(ports + 2) > data_end)
			return -1;
		tcp->saddr[0] = in->daddr;
		tcp->daddr[0] = in->saddr;
		tcp->saddr[1] = tcp->saddr[2] = tcp->saddr[3] = 0;
		tcp->daddr[1] = tcp->daddr[2] = tcp->daddr[3] = 0;
	} else if (pkt->family == 6 && pkt->l4proto == 58 /* ICMPv6 */) {
		const struct ipv6hdr *in = (const void *)(icmp + 8);

		if (icmp[0] < 1 || icmp[0] > 4)
			return -1;
		if ((const void *)(in + 1) > data_end || in->version != 6 ||
		    in->nexthdr != IPPROTO_TCP)
			return -1;
		ports = (const void *)(in + 1);
		if ((const void *)(ports + 2) > data_end)
			return -1;
		__builtin_memcpy(tcp->saddr, &in->daddr, 16);
		__builtin_memcpy(tcp->daddr, &in->saddr, 16);
	} else {
		return -1;
	}
	tcp->sport = ports[1];
	tcp->dport = ports[0];
	return 0;
}

#endif /* HYBOND_PARSE_H */
