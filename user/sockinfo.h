/* SPDX-License-Identifier: GPL-2.0-only */
/* sockinfo.h - what the kernel knows about one MPTCP connection: its
 * subflows, their addresses and TCP_INFO, and whether it fell back to TCP. */
#ifndef HYBOND_SOCKINFO_H
#define HYBOND_SOCKINFO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "nl.h"

#define SOCKINFO_MAX_SUBFLOWS 8

enum access_net { NET_PRIMARY = 0, NET_SECONDARY = 1, NET_MAX = 2 };

struct subflow_info {
	struct sockaddr_storage local, remote;
	uint8_t net;             /* enum access_net */
	uint64_t bytes_sent;     /* payload the peer acknowledged */
	uint64_t bytes_received;
	uint32_t rtt_us;
	uint32_t total_retrans;  /* segments */
	uint8_t state;           /* TCP state (1: established) */
};

struct conn_sockinfo {
	bool mptcp;     /* the socket is MPTCP (false: plain TCP) */
	bool fallback;  /* MPTCP that fell back to plain TCP */
	int nsub;
	int nsub_established; /* subflows that can still carry data */
	/* The connection's data-level send sequence (MPTCP_INFO): written up
	 * to write_seq, acknowledged up to snd_una. have_seq: both are set. */
	bool have_seq;
	uint64_t write_seq, snd_una;
	struct subflow_info sub[SOCKINFO_MAX_SUBFLOWS];
};

/* The addresses that mark a subflow as being on the secondary network: a
 * subflow whose local address is one of these is NET_SECONDARY. */
struct access_addrs {
	int n;
	struct hb_addr secondary[8];
};

/* Fill *out for an MPTCP (or TCP) socket; 0 or -errno. proto: the
 * socket's protocol if the caller knows it (IPPROTO_MPTCP or IPPROTO_TCP;
 * an MPTCP socket that fell back is still IPPROTO_MPTCP), 0 to ask. */
int sockinfo_get(int fd, int proto, const struct access_addrs *aa,
		 struct conn_sockinfo *out);

#endif
