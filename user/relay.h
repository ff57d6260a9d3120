/* SPDX-License-Identifier: GPL-2.0-only */
/* relay.h - the transparent relay: listeners, accept, transparent upstream
 * connect, and the event loops that move bytes between the two legs. */
#ifndef HYBOND_RELAY_H
#define HYBOND_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nl.h"
#include "sockinfo.h"

struct relay;
struct hold;

struct relay_opts {
	int role;            /* enum hybond_role */
	int workers;         /* event loops (threads); 0 = one per CPU */
	size_t bufsize;      /* per direction, only while data is in flight */
	bool nat;            /* CPE: upstream from nat_src4, not from H@ */
	struct hb_addr nat_src4;
	bool mptcp_upstream; /* CPE: MPTCP upstream (false: plain TCP) */
	/* In-kernel splicing (bpf/splice.bpf.c) of each connection whose
	 * two sockets the kernel takes in a sockmap: TCP ones always, MPTCP
	 * ones if splice_mptcp (the start-up probe said so). NULL: never. */
	struct splice *splice;
	bool splice_mptcp;
	/* A connection that made no progress for this long while it had
	 * bytes to deliver, or whose MPTCP leg lost every subflow, is reset
	 * on both legs. 0: never. */
	unsigned int stall_timeout_s;
	const char *congestion; /* TCP_CONGESTION of the MPTCP leg, or NULL */
	/* Limits: past one, a new connection is refused with a reset. */
	unsigned int max_conns;          /* 0: none */
	unsigned int max_per_subscriber; /* per subscriber prefix; 0: none */
	int subs4_fd, subs6_fd;          /* LPM maps of the prefixes, or -1 */
	unsigned int idle_timeout_s;     /* no byte either way; 0: never */
	unsigned int half_open_timeout_s; /* one way closed, no byte; 0: never */
	struct access_addrs aa; /* what makes a subflow "secondary" */
	/* --takeover: the running instance's listeners (IPv4, IPv6), used
	 * instead of new ones; -1: make them. The relay owns them. */
	int inherit_fd[2];
};

/* Totals over all workers; monotonic while the relay runs. */
struct relay_counters {
	uint64_t accepted;       /* connections taken from the listeners */
	uint64_t active;         /* proxied connections open now */
	uint64_t upstream_fail;  /* upstream connect failed */
	uint64_t resets;         /* resets carried from one leg to the other */
	uint64_t refused_direct; /* direct connections to a listener, refused */
	uint64_t bytes_up;       /* host -> server */
	uint64_t bytes_down;     /* server -> host */
	/* MPTCP payload this gateway sent (acknowledged by the peer) and
	 * received per access network, from the subflows' tcp_info. */
	uint64_t net_sent[NET_MAX], net_recv[NET_MAX];
	uint64_t fallback;       /* MPTCP connections that fell back to TCP */
	uint64_t stalled;        /* connections reset by the stall timeout */
	uint64_t refused_limit;  /* new connections refused by a limit */
	uint64_t idle_closed;    /* closed by the idle or half-open timeout */
	uint64_t wakeups_lost;   /* bytes found only by a re-poll (no edge came) */
	uint64_t rcvbuf_raised;  /* MPTCP receive buffer raised after a quiet re-poll */
	uint64_t spliced;        /* connections whose bytes the kernel moved */
	uint64_t splice_overrun; /* ...of them, with 64 MiB held in the kernel */
};

/* One proxied connection as `hybond stats` shows it. */
struct relay_conn_view {
	struct sockaddr_storage host, server; /* H@:port, S@:port */
	uint64_t age_ms;
	uint64_t bytes_up, bytes_down;
	bool connecting;
	struct conn_sockinfo si; /* the MPTCP leg */
};

/* Create the listeners (bound to loopback, transparent, reuseport, one set
 * per worker) and report their ports. */
int relay_create(struct relay **r, const struct relay_opts *o,
		 uint16_t *lport4, uint16_t *lport6);
int relay_start(struct relay *r);
/* Take upstream sockets from the handshake-order module when it connected
 * them before the host's SYN was released. */
void relay_set_hold(struct relay *r, struct hold *h);
/* A non-blocking upstream socket from src (H@, or the NAT address) to dst,
 * connect started: the fd or -errno. */
int relay_upstream(struct relay *r, struct sockaddr_storage *src,
		   struct sockaddr_storage *dst);
/* The subscriber prefix maps, for per-subscriber limits. */
void relay_set_subs(struct relay *r, int subs4_fd, int subs6_fd);
/* Would a new connection from this host be admitted under the limits?
 * (The handshake-order module asks before connecting upstream.) */
bool relay_admits(struct relay *r, const struct sockaddr_storage *host);
/* The listening socket of a family (0: IPv4, 1: IPv6), for --takeover. */
int relay_listener_fd(const struct relay *r, int f);
/* Stop (or resume) accepting new connections; established ones go on. */
void relay_pause_accept(struct relay *r, bool pause);
/* Stop the workers and close every connection and listener. */
void relay_destroy(struct relay *r);
void relay_counters(const struct relay *r, struct relay_counters *out);
/* Ask every worker for its live connections (and bring the per-network
 * byte totals up to date). *views is malloc'd; returns the count or -errno.
 * max bounds the list (the totals always cover every connection). */
int relay_snapshot(struct relay *r, struct relay_conn_view **views, int max,
		   int timeout_ms);

#endif
