/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pktgen.h - build Ethernet/VLAN/IPv4/IPv6/TCP frames for the parser tests
 * (Criterion, in user space) and the BPF_PROG_TEST_RUN tables. Addresses and
 * ports are given in host order; the builder writes network order.
 */
#ifndef HYBOND_PKTGEN_H
#define HYBOND_PKTGEN_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

struct pkt_spec {
	int family;          /* 4 or 6 */
	int vlan_tags;       /* 0, 1 or 2 */
	int l4proto;         /* 6 TCP, 17 UDP, 1 ICMP */
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	uint8_t tcp_flags;   /* 0x02 SYN, 0x10 ACK, ... */
	const uint8_t *opts; /* raw TCP options */
	int optlen;          /* multiple of 4, <= 40 */
	int ip_optlen;       /* IPv4 options bytes (multiple of 4) */
	const uint8_t *ext;  /* raw IPv6 extension headers, chained */
	int extlen;
	uint8_t first_nh;    /* IPv6 next header of the fixed header (ext) */
	uint16_t frag_off;   /* IPv4 frag_off field (host order) */
	int payload;         /* bytes of zero payload */
};

/* Build the frame into buf; returns its length. */
static inline int pkt_build(uint8_t *buf, size_t cap, const struct pkt_spec *s)
{
	uint8_t *p = buf;
	uint16_t proto = s->family == 4 ? 0x0800 : 0x86dd;
	int l4len, tcphl = 20 + s->optlen;

	memset(buf, 0, cap);
	memset(p, 0x02, 12); /* dst/src MAC */
	p += 12;
	for (int i = 0; i < s->vlan_tags; i++) {
		uint16_t tpid = htons(i == 0 && s->vlan_tags == 2 ? 0x88a8 : 0x8100);
		uint16_t tci = htons(100 + i);

		memcpy(p, &tpid, 2);
		memcpy(p + 2, &tci, 2);
		p += 4;
	}
	proto = htons(proto);
	memcpy(p, &proto, 2);
	p += 2;

	l4len = s->l4proto == 6 ? tcphl : 8;
	l4len += s->payload;
	if (s->family == 4) {
		int ihl = 20 + s->ip_optlen;
		uint16_t tot = htons(ihl + l4len), fo = htons(s->frag_off);

		p[0] = 0x40 | (ihl / 4);
		memcpy(p + 2, &tot, 2);
		memcpy(p + 6, &fo, 2);
		p[8] = 64;
		p[9] = s->l4proto;
		memcpy(p + 12, s->saddr, 4);
		memcpy(p + 16, s->daddr, 4);
		for (int i = 0; i < s->ip_optlen; i++)
			p[20 + i] = 1; /* IP NOP options */
		p += ihl;
	} else {
		uint16_t plen = htons(s->extlen + l4len);

		p[0] = 0x60;
		memcpy(p + 4, &plen, 2);
		p[6] = s->extlen ? s->first_nh : s->l4proto;
		p[7] = 64;
		memcpy(p + 8, s->saddr, 16);
		memcpy(p + 24, s->daddr, 16);
		p += 40;
		memcpy(p, s->ext, s->extlen);
		p += s->extlen;
	}
	if (s->l4proto == 6) {
		uint16_t sp = htons(s->sport), dp = htons(s->dport);

		memcpy(p, &sp, 2);
		memcpy(p + 2, &dp, 2);
		p[12] = (uint8_t)((tcphl / 4) << 4);
		p[13] = s->tcp_flags;
		p[14] = 0xff;
		memcpy(p + 20, s->opts, s->optlen);
		p += tcphl;
	} else if (s->l4proto == 17) {
		uint16_t sp = htons(s->sport), dp = htons(s->dport);

		memcpy(p, &sp, 2);
		memcpy(p + 2, &dp, 2);
		p += 8;
	} else {
		p += 8;
	}
	p += s->payload;
	return (int)(p - buf);
}

/* Linux's SYN options with MP_CAPABLE (v1, 4 bytes + 8-byte key omitted in
 * the SYN: length 4): mss, sackOK, TS, nop, wscale, mptcp. */
static const uint8_t OPTS_SYN_MPC[] = {
	2, 4, 0x05, 0xb4,                   /* MSS 1460 */
	4, 2,                               /* SACK permitted */
	8, 10, 0, 0, 0, 1, 0, 0, 0, 0,      /* timestamps */
	1,                                  /* NOP */
	3, 3, 7,                            /* window scale */
	30, 4, 0x01, 0x81,                  /* MP_CAPABLE v1, flags */
};

/* SYN options with MP_JOIN (length 12: token + nonce). */
static const uint8_t OPTS_SYN_JOIN[] = {
	2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
	30, 12, 0x10, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0,
};

/* A plain SYN's options: mss, sackOK, TS, nop, wscale (20 bytes). */
static const uint8_t OPTS_SYN_PLAIN[] = {
	2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
};

#endif
