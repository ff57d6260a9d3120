// SPDX-License-Identifier: GPL-2.0-only
/*
 * sockinfo.c - per-subflow facts from the kernel's MPTCP socket options:
 * MPTCP_FULL_INFO (Linux 6.6): the connection's mptcp_info and each subflow's
 * tcp_info and addresses in one call, under one hold of the socket lock.
 * Older kernels (6.1) answer it EOPNOTSUPP; there, three calls that exist
 * since 5.16: MPTCP_INFO (flags: fallback), MPTCP_TCPINFO (one tcp_info per
 * subflow) and MPTCP_SUBFLOW_ADDRS (their addresses). Those two walk the
 * subflow list in the same order under the socket lock; a subflow that comes
 * or goes between the two calls shows up as a count mismatch, and then the
 * call is retried once.
 */
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* the full tcp_info, not glibc's older copy */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <linux/mptcp.h>

#include "sockinfo.h"

#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* <linux/mptcp.h> of Linux 6.6; the build's headers may be older. */
#define HB_MPTCP_FULL_INFO 4
struct hb_subflow_info {
	__u32 id;
	struct mptcp_subflow_addrs addrs;
};
struct hb_full_info {
	__u32 size_tcpinfo_kernel; /* set by the kernel: 0 going in */
	__u32 size_tcpinfo_user;
	__u32 size_sfinfo_kernel; /* set by the kernel: 0 going in */
	__u32 size_sfinfo_user;
	__u32 num_subflows; /* set by the kernel: 0 going in */
	__u32 size_arrays_user;
	__aligned_u64 subflow_info;
	__aligned_u64 tcp_info;
	struct mptcp_info mptcp_info;
};

/* Cleared once a kernel turned MPTCP_FULL_INFO down on a working MPTCP
 * socket: from then on, the three older calls only. */
static _Atomic bool full_info_ok = true;

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

static void fill_mptcp(struct conn_sockinfo *out, const struct mptcp_info *mi,
		       socklen_t len)
{
	out->fallback = mi->mptcpi_flags & MPTCP_INFO_FLAG_FALLBACK;
	if (len >= offsetof(struct mptcp_info, mptcpi_snd_una) +
			   sizeof(mi->mptcpi_snd_una)) {
		out->have_seq = true;
		out->write_seq = mi->mptcpi_write_seq;
		out->snd_una = mi->mptcpi_snd_una;
	}
}

static void fill_sub(struct conn_sockinfo *out, const struct access_addrs *aa,
		     int i, const struct tcp_info *ti,
		     const struct mptcp_subflow_addrs *a)
{
	struct subflow_info *s = &out->sub[i];

	fill_tcp(s, ti);
	memcpy(&s->local, &a->ss_local, sizeof(s->local));
	memcpy(&s->remote, &a->ss_remote, sizeof(s->remote));
	s->net = classify(&s->local, aa);
	/* MPTCP keeps a dead first subflow attached. */
	if (s->state == 1)
		out->nsub_established++;
}

/* The i-th tcp_info of an array the kernel filled with elements of its own
 * size (stride): the smaller of its struct and ours, so a build whose
 * headers are newer than the running kernel still finds each one. */
static void nth_tcp(const void *base, uint32_t stride, uint32_t i,
		    struct tcp_info *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t, (const char *)base + (size_t)i * stride,
	       stride < sizeof(*t) ? stride : sizeof(*t));
}

/* One call (Linux 6.6 on): 0, or -errno (EOPNOTSUPP/ENOPROTOOPT: a kernel
 * without it, or a socket that fell back). */
static int full_info(int fd, const struct access_addrs *aa,
		     struct conn_sockinfo *out)
{
	struct tcp_info ti[SOCKINFO_MAX_SUBFLOWS];
	struct hb_subflow_info sf[SOCKINFO_MAX_SUBFLOWS];
	struct hb_full_info fi = {
		.size_tcpinfo_user = sizeof(ti[0]),
		.size_sfinfo_user = sizeof(sf[0]),
		.size_arrays_user = SOCKINFO_MAX_SUBFLOWS,
		.subflow_info = (uintptr_t)sf,
		.tcp_info = (uintptr_t)ti,
	};
	socklen_t len = sizeof(fi);
	uint32_t n;

	memset(sf, 0, sizeof(sf));
	if (getsockopt(fd, SOL_MPTCP, HB_MPTCP_FULL_INFO, &fi, &len))
		return -errno;
	if (len < offsetof(struct hb_full_info, mptcp_info))
		return -EINVAL;
	fill_mptcp(out, &fi.mptcp_info,
		   len - offsetof(struct hb_full_info, mptcp_info));
	n = fi.num_subflows < SOCKINFO_MAX_SUBFLOWS ? fi.num_subflows :
						      SOCKINFO_MAX_SUBFLOWS;
	for (uint32_t i = 0; i < n; i++) {
		struct tcp_info t;

		nth_tcp(ti, fi.size_tcpinfo_user, i, &t);
		fill_sub(out, aa, i, &t, &sf[i].addrs);
	}
	out->nsub = n;
	return 0;
}

int sockinfo_get(int fd, int proto, const struct access_addrs *aa,
		 struct conn_sockinfo *out)
{
	struct mptcp_info mi;
	socklen_t len;
	struct tcpinfo_buf tb;
	struct addrs_buf ab;
	bool try_full = atomic_load(&full_info_ok);

	memset(out, 0, sizeof(*out));
	len = sizeof(proto);
	if (!proto && getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len))
		return -errno;
	if (proto != IPPROTO_MPTCP)
		return tcp_sockinfo(fd, aa, out);
	out->mptcp = true;
	if (try_full) {
		int err = full_info(fd, aa, out);

		if (!err)
			return 0;
		if (err != -EOPNOTSUPP && err != -ENOPROTOOPT)
			return err;
		memset(out, 0, sizeof(*out));
		out->mptcp = true;
	}
	len = sizeof(mi);
	memset(&mi, 0, sizeof(mi));
	if (!getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &mi, &len)) {
		/* MPTCP_INFO works where MPTCP_FULL_INFO did not: the
		 * kernel has no MPTCP_FULL_INFO. */
		if (try_full)
			atomic_store(&full_info_ok, false);
		fill_mptcp(out, &mi, len);
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
			struct tcp_info t;

			nth_tcp(tb.ti, tb.d.size_user, i, &t);
			fill_sub(out, aa, i, &t, &ab.a[i]);
		}
		out->nsub = n;
		break;
	}
	return 0;
}
