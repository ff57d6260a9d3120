// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_parse.c - the packet parser and TCP option walk of bpf/lib/parse.h,
 * compiled for user space and run on crafted frames: the same code the tc
 * and XDP programs run.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "bpf_shim.h"
#include "lib/parse.h"
#include "../lib/pktgen.h"

static uint8_t frame[512];

static const uint8_t A4[16] = { 192, 0, 2, 10 }, B4[16] = { 203, 0, 113, 10 };
static const uint8_t A6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x10 };
static const uint8_t B6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 5, [15] = 0x10 };

static struct pkt_spec syn(int family, const uint8_t *opts, int optlen)
{
	struct pkt_spec s = {
		.family = family,
		.l4proto = 6,
		.sport = 40000,
		.dport = 80,
		.tcp_flags = 0x02,
		.opts = opts,
		.optlen = optlen,
	};

	memcpy(s.saddr, family == 4 ? A4 : A6, 16);
	memcpy(s.daddr, family == 4 ? B4 : B6, 16);
	return s;
}

/* Parse a frame; on PARSE_OK also walk its options as the programs do. */
static int parse(const struct pkt_spec *s, int truncate, struct pkt *p)
{
	int len = pkt_build(frame, sizeof(frame), s) - truncate;
	int ret;

	memset(p, 0, sizeof(*p));
	ret = parse_pkt(frame, frame + len, p);
	if (ret == PARSE_OK && p->opt_len) {
		struct optwalk w = { .len = p->opt_len };

		memcpy(w.buf, frame + p->opt_off, p->opt_len);
		p->mptcp_sub = tcp_mptcp_subtype(&w);
	}
	return ret;
}

Test(parse, ipv4_syn_mp_capable)
{
	struct pkt_spec s = syn(4, OPTS_SYN_MPC, sizeof(OPTS_SYN_MPC));
	struct pkt p;

	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.family, 4);
	cr_assert_eq(p.tcp_flags, 0x02);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_CAPABLE);
	cr_assert_eq(ntohs(p.sport), 40000);
	cr_assert_eq(ntohs(p.dport), 80);
	cr_assert_eq(memcmp(&p.saddr[0], A4, 4), 0);
	cr_assert_eq(memcmp(&p.daddr[0], B4, 4), 0);
	cr_assert_eq(p.l3_off, 14);
	cr_assert_eq(p.l4_off, 34);
}

Test(parse, ipv4_syn_mp_join)
{
	struct pkt_spec s = syn(4, OPTS_SYN_JOIN, sizeof(OPTS_SYN_JOIN));
	struct pkt p;

	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_JOIN);
}

Test(parse, plain_syn_has_no_mptcp)
{
	struct pkt_spec s = syn(4, OPTS_SYN_PLAIN, sizeof(OPTS_SYN_PLAIN));
	struct pkt p;

	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_NONE);
}

Test(parse, syn_without_options)
{
	struct pkt_spec s = syn(4, NULL, 0);
	struct pkt p;

	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.opt_len, 0);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_NONE);
}

Test(parse, mptcp_option_first_then_others)
{
	static const uint8_t o[] = { 30, 4, 0x01, 0x81, 2, 4, 5, 0xb4,
				     1, 1, 1, 0 };
	struct pkt_spec s = syn(4, o, sizeof(o));
	struct pkt p;

	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_CAPABLE);
}

Test(parse, mptcp_option_behind_many_nops)
{
	static const uint8_t o[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
				     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
				     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 30, 4,
				     0x11, 0x81 };
	struct pkt_spec s = syn(4, o, sizeof(o));
	struct pkt p;

	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_JOIN, "got %u", p.mptcp_sub);
}

Test(parse, eol_hides_what_follows)
{
	static const uint8_t o[] = { 2, 4, 5, 0xb4, 0, 0, 0, 0,
				     30, 4, 0x01, 0x81 };
	struct pkt_spec s = syn(4, o, sizeof(o));
	struct pkt p;

	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_NONE);
}

Test(parse, option_length_zero_or_one_stops_the_walk)
{
	static const uint8_t zero[] = { 2, 0, 5, 0xb4, 30, 4, 0x01, 0x81 };
	static const uint8_t one[] = { 2, 1, 5, 0xb4, 30, 4, 0x01, 0x81 };
	struct pkt_spec s = syn(4, zero, sizeof(zero));
	struct pkt p;

	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_NONE);
	s = syn(4, one, sizeof(one));
	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_NONE);
}

Test(parse, option_running_past_the_header_is_ignored)
{
	/* MPTCP option claims 12 bytes but only 4 remain. */
	static const uint8_t o[] = { 2, 4, 5, 0xb4, 30, 12, 0x01, 0x81 };
	struct pkt_spec s = syn(4, o, sizeof(o));
	struct pkt p;

	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_NONE);
}

Test(parse, mptcp_option_too_short_for_a_subtype)
{
	static const uint8_t o[] = { 30, 2, 1, 1 };
	struct pkt_spec s = syn(4, o, sizeof(o));
	struct pkt p;

	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_NONE);
}

Test(parse, kind_in_last_byte_without_length)
{
	static const uint8_t o[] = { 1, 1, 1, 30 };
	struct pkt_spec s = syn(4, o, sizeof(o));
	struct pkt p;

	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_NONE);
}

Test(parse, ipv4_with_ip_options)
{
	struct pkt_spec s = syn(4, OPTS_SYN_MPC, sizeof(OPTS_SYN_MPC));
	struct pkt p;

	s.ip_optlen = 8;
	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.l4_off, 14 + 28);
	cr_assert_eq(ntohs(p.dport), 80);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_CAPABLE);
}

Test(parse, ipv4_fragments_are_left_alone)
{
	struct pkt_spec s = syn(4, OPTS_SYN_MPC, sizeof(OPTS_SYN_MPC));
	struct pkt p;

	s.frag_off = 0x2000; /* MF, first fragment */
	cr_assert_eq(parse(&s, 0, &p), PARSE_NOT_TCP);
	s.frag_off = 0x0010; /* a later fragment */
	cr_assert_eq(parse(&s, 0, &p), PARSE_NOT_TCP);
	s.frag_off = 0x4000; /* DF only: a whole packet */
	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
}

Test(parse, udp_icmp_are_not_tcp)
{
	struct pkt_spec s = syn(4, NULL, 0);
	struct pkt p;

	s.l4proto = 17;
	cr_assert_eq(parse(&s, 0, &p), PARSE_NOT_TCP);
	s.l4proto = 1;
	cr_assert_eq(parse(&s, 0, &p), PARSE_NOT_TCP);
	s = syn(6, NULL, 0);
	s.l4proto = 17;
	cr_assert_eq(parse(&s, 0, &p), PARSE_NOT_TCP);
}

/* An ICMP (family 4) or ICMPv6 error of type TYPE from B to A, quoting
 * QUOTE bytes of the IP packet of `syn(family)` (A:40000 -> B:80) that it
 * is about, in `frame`; returns the frame's length. */
static int icmp_error(int family, int type, int quote, int inner_proto)
{
	static uint8_t inner[256];
	struct pkt_spec in = syn(family, NULL, 0), out = syn(family, NULL, 0);
	int len, off;
	struct pkt p = { 0 };

	in.l4proto = inner_proto;
	pkt_build(inner, sizeof(inner), &in);
	out.l4proto = family == 4 ? 1 : 58;
	memcpy(out.saddr, family == 4 ? B4 : B6, 16);
	memcpy(out.daddr, family == 4 ? A4 : A6, 16);
	out.payload = quote;
	len = pkt_build(frame, sizeof(frame), &out);
	cr_assert_eq(parse_pkt(frame, frame + len, &p), PARSE_NOT_TCP);
	off = p.l4_off;
	frame[off] = (uint8_t)type;
	memcpy(frame + off + 8, inner + 14, quote); /* past its Ethernet */
	return len;
}

Test(parse, icmp_errors_about_a_tcp_segment)
{
	struct pkt p, q;
	int len;

	/* IPv4 fragmentation needed, IPv6 packet too big: the segment's
	 * tuple as coming back (B:80 -> A:40000). */
	for (int fam = 4; fam <= 6; fam += 2) {
		int type = fam == 4 ? 3 : 2;

		len = icmp_error(fam, type, fam == 4 ? 28 : 48, 6);
		memset(&p, 0, sizeof(p));
		memset(&q, 0, sizeof(q));
		cr_assert_eq(parse_pkt(frame, frame + len, &p), PARSE_NOT_TCP);
		cr_assert_eq(parse_icmp_tcp(frame, frame + len, &p, &q), 0,
			     "IPv%d", fam);
		cr_assert_eq(q.family, fam);
		cr_assert_eq(memcmp(q.saddr, fam == 4 ? B4 : B6, fam == 4 ? 4 : 16), 0);
		cr_assert_eq(memcmp(q.daddr, fam == 4 ? A4 : A6, fam == 4 ? 4 : 16), 0);
		cr_assert_eq(ntohs(q.sport), 80);
		cr_assert_eq(ntohs(q.dport), 40000);
		/* The quote cut before the ports: not for us. */
		len = icmp_error(fam, type, fam == 4 ? 22 : 42, 6);
		cr_assert_eq(parse_pkt(frame, frame + len, &p), PARSE_NOT_TCP);
		cr_assert_eq(parse_icmp_tcp(frame, frame + len, &p, &q), -1);
		/* Not an error (echo request 8 / 128), or about UDP. */
		len = icmp_error(fam, fam == 4 ? 8 : 128, fam == 4 ? 28 : 48, 6);
		cr_assert_eq(parse_pkt(frame, frame + len, &p), PARSE_NOT_TCP);
		cr_assert_eq(parse_icmp_tcp(frame, frame + len, &p, &q), -1);
		len = icmp_error(fam, type, fam == 4 ? 28 : 48, 17);
		cr_assert_eq(parse_pkt(frame, frame + len, &p), PARSE_NOT_TCP);
		cr_assert_eq(parse_icmp_tcp(frame, frame + len, &p, &q), -1);
	}
	/* UDP is not ICMP. */
	{
		struct pkt_spec u = syn(4, NULL, 0);

		u.l4proto = 17;
		u.payload = 40;
		len = pkt_build(frame, sizeof(frame), &u);
		cr_assert_eq(parse_pkt(frame, frame + len, &p), PARSE_NOT_TCP);
		cr_assert_eq(parse_icmp_tcp(frame, frame + len, &p, &q), -1);
	}
}

Test(parse, arp_is_not_ip)
{
	struct pkt p;
	uint8_t arp[42] = { [12] = 0x08, [13] = 0x06 };

	cr_assert_eq(parse_pkt(arp, arp + sizeof(arp), &p), PARSE_NOT_IP);
}

Test(parse, truncated_everywhere_is_malformed)
{
	struct pkt_spec s4 = syn(4, OPTS_SYN_MPC, sizeof(OPTS_SYN_MPC));
	struct pkt_spec s6 = syn(6, OPTS_SYN_MPC, sizeof(OPTS_SYN_MPC));
	int full4 = pkt_build(frame, sizeof(frame), &s4);
	int full6 = pkt_build(frame, sizeof(frame), &s6);
	struct pkt p;

	/* Every cut inside the headers (Ethernet .. end of TCP options). */
	for (int cut = 1; cut <= full4; cut++)
		cr_assert_eq(parse(&s4, cut, &p), PARSE_MALFORMED,
			     "IPv4 cut %d", cut);
	for (int cut = 1; cut <= full6; cut++)
		cr_assert_eq(parse(&s6, cut, &p), PARSE_MALFORMED,
			     "IPv6 cut %d", cut);
}

Test(parse, bad_header_lengths)
{
	struct pkt_spec s = syn(4, NULL, 0);
	int len = pkt_build(frame, sizeof(frame), &s);
	struct pkt p;

	frame[14] = 0x44; /* IHL 4 < 5 */
	cr_assert_eq(parse_pkt(frame, frame + len, &p), PARSE_MALFORMED);
	frame[14] = 0x55; /* version 5 */
	cr_assert_eq(parse_pkt(frame, frame + len, &p), PARSE_MALFORMED);
	len = pkt_build(frame, sizeof(frame), &s);
	frame[14 + 20 + 12] = 0x40; /* TCP doff 4 < 5 */
	cr_assert_eq(parse_pkt(frame, frame + len, &p), PARSE_MALFORMED);
	len = pkt_build(frame, sizeof(frame), &s);
	frame[14 + 20 + 12] = 0xf0; /* doff 15: beyond the frame */
	cr_assert_eq(parse_pkt(frame, frame + len, &p), PARSE_MALFORMED);
}

Test(parse, vlan_tags)
{
	struct pkt_spec s = syn(4, OPTS_SYN_MPC, sizeof(OPTS_SYN_MPC));
	struct pkt p;

	s.vlan_tags = 1;
	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.l3_off, 18);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_CAPABLE);
	s.vlan_tags = 2;
	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.l3_off, 22);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_CAPABLE);
}

Test(parse, ipv6_syn_mp_capable)
{
	struct pkt_spec s = syn(6, OPTS_SYN_MPC, sizeof(OPTS_SYN_MPC));
	struct pkt p;

	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.family, 6);
	cr_assert_eq(memcmp(p.saddr, A6, 16), 0);
	cr_assert_eq(memcmp(p.daddr, B6, 16), 0);
	cr_assert_eq(p.l4_off, 54);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_CAPABLE);
}

Test(parse, ipv6_extension_headers_are_skipped)
{
	/* hop-by-hop (8 bytes) -> destination options (16 bytes) -> TCP */
	static const uint8_t ext[] = { 60, 0, 1, 4, 0, 0, 0, 0,
				       6, 1, 1, 12, 0, 0, 0, 0,
				       0, 0, 0, 0, 0, 0, 0, 0 };
	struct pkt_spec s = syn(6, OPTS_SYN_MPC, sizeof(OPTS_SYN_MPC));
	struct pkt p;

	s.ext = ext;
	s.extlen = sizeof(ext);
	s.first_nh = 0;
	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.l4_off, 54 + 24);
	cr_assert_eq(ntohs(p.dport), 80);
	cr_assert_eq(p.mptcp_sub, MPTCP_SUB_CAPABLE);
}

Test(parse, ipv6_fragment_header_is_left_alone)
{
	static const uint8_t ext[] = { 6, 0, 0, 1, 0, 0, 0, 1 };
	struct pkt_spec s = syn(6, OPTS_SYN_MPC, sizeof(OPTS_SYN_MPC));
	struct pkt p;

	s.ext = ext;
	s.extlen = sizeof(ext);
	s.first_nh = 44;
	cr_assert_eq(parse(&s, 0, &p), PARSE_NOT_TCP);
}

Test(parse, ipv6_extension_header_truncated)
{
	/* Claims 64 bytes of hop-by-hop options, carries 8. */
	static const uint8_t ext[] = { 6, 7, 1, 4, 0, 0, 0, 0 };
	struct pkt_spec s = syn(6, NULL, 0);
	struct pkt p;

	s.ext = ext;
	s.extlen = sizeof(ext);
	s.first_nh = 0;
	cr_assert_eq(parse(&s, 0, &p), PARSE_MALFORMED);
}

Test(parse, ipv6_chain_too_deep)
{
	uint8_t ext[8 * 8];
	struct pkt_spec s = syn(6, NULL, 0);
	struct pkt p;

	for (int i = 0; i < 8; i++) {
		ext[8 * i] = i == 7 ? 6 : 60;
		ext[8 * i + 1] = 0;
		memset(&ext[8 * i + 2], 1, 6);
	}
	s.ext = ext;
	s.extlen = sizeof(ext);
	s.first_nh = 60;
	cr_assert_eq(parse(&s, 0, &p), PARSE_NOT_TCP);
}

Test(parse, non_syn_segments_still_parse)
{
	struct pkt_spec s = syn(4, OPTS_SYN_PLAIN, 12);
	struct pkt p;

	s.tcp_flags = 0x10;
	s.payload = 100;
	cr_assert_eq(parse(&s, 0, &p), PARSE_OK);
	cr_assert_eq(p.tcp_flags, 0x10);
	cr_assert_eq(p.opt_len, 12);
}
