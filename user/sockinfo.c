// SPDX-License-Identifier: GPL-2.0-only
/*
 * sockinfo.c - per-subflow facts from the kernel's MPTCP socket options:
 * MPTCP_INFO (flags: fallback), MPTCP_TCPINFO (one tcp_info per subflow) and
 * MPTCP_SUBFLOW_ADDRS (their addresses). All three exist since Linux 5.16,
 * so one code path serves 6.1 to 6.18. TCPINFO and SUBFLOW_ADDRS walk the
 * subflow list in the same order under the socket lock; a subflow that comes
 * or goes between the two calls shows up as a count mismatch, and then the
 * call is retried once.
 */
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* the full tcp_info, not glibc's older copy */
#include <string.h>

#include <linux/mptcp.h>

#include "sockinfo.h"

#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif

struct tcpinfo_buf {
	struct mptcp_subflow_data d;
	struct tcp_info ti[SOCKINFO_MAX_SUBFLOWS];
};

struct addrs_buf {
	struct mptcp_subflow_data d;
	struct mptcp_subflow_addrs a[SOCKINFO_MAX_SUBFLOWS];
};

static bool addr_is(const struct sockaddr_storage *ss, const struct hb_addr *a)
{
	if (ss->ss_family == AF_INET && a->family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)ss)->sin_addr,
			       &a->v4, 4);
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *x =
			&((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (a->family == AF_INET6)
			return !memcmp(x, &a->v6, 16);
		if (IN6_IS_ADDR_V4MAPPED(x))
			return !memcmp(&x->s6_addr[12], &a->v4, 4);
	}
	return false;
}

static uint8_t classify(const struct sockaddr_storage *local,
			const struct access_addrs *aa)
{
	for (int i = 0; aa && i < aa->n; i++)
		if (addr_is(local, &aa->secondary[i]))
			return NET_SECONDARY;
	return NET_PRIMARY;
}

static void fill_tcp(struct subflow_info *s, const struct tcp_info *ti)
{
	/* Acked, not sent: segments a local qdisc dropped and TCP sent again
	 * would otherwise count several times. */
	s->bytes_sent = ti->tcpi_bytes_acked;
	s->bytes_received = ti->tcpi_bytes_received;
	s->rtt_us = ti->tcpi_rtt;
	s->total_retrans = ti->tcpi_total_retrans;
	s->state = ti->tcpi_state;
}

/* A plain TCP socket: one "subflow", itself. */
static int tcp_sockinfo(int fd, const struct access_addrs *aa,
			struct conn_sockinfo *out)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	struct subflow_info *s = &out->sub[0];
	socklen_t al = sizeof(s->local);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -errno;
	fill_tcp(s, &ti);
	getsockname(fd, (struct sockaddr *)&s->local, &al);
	al = sizeof(s->remote);
	getpeername(fd, (struct sockaddr *)&s->remote, &al);
	s->net = classify(&s->local, aa);
	out->nsub = 1;
	out->nsub_established = s->state == 1;
	return 0;
}

int sockinfo_get(int fd, const struct access_addrs *aa,
		 struct conn_sockinfo *out)
{
	struct mptcp_info mi;
	socklen_t len = sizeof(mi);
	struct tcpinfo_buf tb;
	struct addrs_buf ab;
	int proto = 0;

	memset(out, 0, sizeof(*out));
	len = sizeof(proto);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len))
		return -errno;
	if (proto != IPPROTO_MPTCP)
		return tcp_sockinfo(fd, aa, out);
	out->mptcp = true;
	len = sizeof(mi);
	memset(&mi, 0, sizeof(mi));
	if (!getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &mi, &len)) {
		out->fallback = mi.mptcpi_flags & MPTCP_INFO_FLAG_FALLBACK;
		if (len >= offsetof(struct mptcp_info, mptcpi_snd_una) +
				   sizeof(mi.mptcpi_snd_una)) {
			out->have_seq = true;
			out->write_seq = mi.mptcpi_write_seq;
			out->snd_una = mi.mptcpi_snd_una;
		}
	} else if (errno == EOPNOTSUPP || errno == ENOPROTOOPT)
		/* A fallen-back socket hands SOL_MPTCP to its TCP subflow,
		 * which refuses it (EOPNOTSUPP for IPv4, ENOPROTOOPT for
		 * IPv6 sockets). */
		out->fallback = true;

	for (int attempt = 0; attempt < 2; attempt++) {
		uint32_t n;

		memset(&tb, 0, sizeof(tb));
		memset(&ab, 0, sizeof(ab));
		tb.d.size_subflow_data = sizeof(tb.d);
		tb.d.size_user = sizeof(struct tcp_info);
		ab.d.size_subflow_data = sizeof(ab.d);
		ab.d.size_user = sizeof(struct mptcp_subflow_addrs);
		len = sizeof(tb);
		if (getsockopt(fd, SOL_MPTCP, MPTCP_TCPINFO, &tb, &len))
			return out->fallback ? tcp_sockinfo(fd, aa, out) :
					       -errno;
		len = sizeof(ab);
		if (getsockopt(fd, SOL_MPTCP, MPTCP_SUBFLOW_ADDRS, &ab, &len))
			return -errno;
		if (tb.d.num_subflows != ab.d.num_subflows && !attempt)
			continue;
		n = tb.d.num_subflows < ab.d.num_subflows ? tb.d.num_subflows :
							      ab.d.num_subflows;
		if (n > SOCKINFO_MAX_SUBFLOWS)
			n = SOCKINFO_MAX_SUBFLOWS;
		for (uint32_t i = 0; i < n; i++) {
			struct subflow_info *s = &out->sub[i];

			fill_tcp(s, &tb.ti[i]);
			memcpy(&s->local, &ab.a[i].ss_local, sizeof(s->local));
			memcpy(&s->remote, &ab.a[i].ss_remote,
			       sizeof(s->remote));
			s->net = classify(&s->local, aa);
			/* MPTCP keeps a dead first subflow attached. */
			if (s->state == 1)
				out->nsub_established++;
		}
		out->nsub = n;
		break;
	}
	return 0;
}
