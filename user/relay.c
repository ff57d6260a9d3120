// SPDX-License-Identifier: GPL-2.0-only
/*
 * relay.c - the transparent relay.
 *
 * Each worker thread owns an epoll instance and the connections it accepted:
 * no lock on the data path. One listener per address family (bound to
 * loopback: only packets that the steering program assigned can reach
 * them) is in every worker's epoll with EPOLLEXCLUSIVE, so a new connection
 * wakes one worker. (Not SO_REUSEPORT groups: bpf_sk_assign refuses
 * reuseport sockets before Linux 6.5.) A connection is two
 * sockets ("down": accepted from the host side; "up": connected towards the
 * server, bound to H@ with IP_TRANSPARENT) and two directions, each with a
 * buffer taken from the worker's pool only while bytes are in flight.
 *
 * Semantics carried across the proxy:
 *  - end of stream on one leg becomes shutdown(SHUT_WR) on the other, once
 *    the buffered bytes are out, while the other direction keeps flowing;
 *  - a reset (or any hard error) on one leg becomes a reset on the other
 *    (SO_LINGER 0 + close);
 *  - back-pressure: a direction with a full buffer stops reading its source
 *    until the destination drains it.
 * epoll is edge-triggered; readiness is remembered per socket, and a
 * connection that used its byte budget goes back on the run queue so one
 * busy connection cannot starve the others.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/sock_diag.h>

#include <bpf/bpf.h>

#include "hold.h"
#include "hybond_abi.h"
#include "log.h"
#include "relay.h"
#include "splice.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define BUDGET (1u << 20)  /* bytes per direction per turn */
#define MAX_EVENTS 256

enum ep_kind { EP_LISTEN = 1, EP_SIDE, EP_WAKE };
enum { DOWN = 0, UP = 1 };
enum conn_state { C_CONNECTING = 0, C_OPEN, C_DEAD };

struct worker;
struct conn;

struct ep_tag {
	uint8_t kind;
};

struct side {
	struct ep_tag tag; /* EP_SIDE */
	uint8_t idx;       /* DOWN or UP */
	bool readable, writable, rd_eof, wr_shut;
	bool hup; /* an event said the peer closed or failed: read to the end */
	int fd;
	struct conn *c;
};

struct dbuf {
	char *buf;
	uint32_t start, end;
};

/* The last tcp_info byte counts seen of one subflow, to turn samples into
 * deltas: totals only ever grow, and a subflow that goes away keeps what
 * it had carried. */
struct sub_track {
	bool used;
	uint16_t lport, rport;
	uint8_t net;
	uint64_t sent, recv;
	uint64_t dsent, drecv; /* what the last sample that moved any added */
};

#define TRACK_MAX SOCKINFO_MAX_SUBFLOWS
/* Bytes relayed since the last sample for a connection's first end of
 * stream to sample it again. */
#define EOF_SAMPLE_MIN (64 * 1024)
/* Warm buffers a worker keeps at most. */
#define POOL_MAX 64
/* Bytes written to the MPTCP leg and not yet acknowledged for a connection
 * to be sampled every DRAIN_SAMPLE_MS until they are (see drain_track). */
#define DRAIN_SAMPLE_MIN (64 * 1024)
#define DRAIN_SAMPLE_MS 50

/* A connection's subflows as last sampled, and the bytes counted for it in
 * all, to check against the connection's own totals. */
struct conn_track {
	struct sub_track sub[TRACK_MAX];
	uint64_t counted_sent, counted_recv;
	uint64_t relayed; /* bytes[0] + bytes[1] at the last sample */
};

/* A connection's place on one of its worker's lists (live, drain, flush):
 * doubly linked through the connections themselves; on says whether it is
 * on the list. */
struct conn_link {
	struct conn *prev, *next;
	bool on;
};

struct conn {
	struct side s[2];
	struct dbuf d[2]; /* d[DOWN]: down -> up; d[UP]: up -> down */
	uint8_t state;
	bool queued;
	struct conn *next_run;
	struct conn *next_dead;
	struct conn_link live_link; /* on the worker's live connections */
	struct worker *w;
	bool dirty;               /* bytes moved since the last sample */
	bool fell_back;
	uint64_t start_ms;
	uint64_t progress_ms;     /* last time bytes moved */
	uint64_t checked_ms;      /* last stall check */
	uint64_t poke_ms;         /* next time a quiet connection is re-polled */
	bool poked;               /* re-polled: did bytes move after it? */
	bool keepalive;           /* the CPE's MPTCP leg has its keepalive */
	int sub;                  /* subscriber prefix index, -1: none */
	struct sockaddr_storage host, server; /* H@:port, S@:port */
	uint64_t bytes[2];        /* per direction, as d[] */
	struct conn_track *trk;   /* once sampled */
	/* On the worker's drain list: unacknowledged bytes on the MPTCP leg. */
	struct conn_link drain_link;
	uint64_t drain_una;       /* snd_una at the last sample */
	uint64_t drain_written;   /* bytes[] to the MPTCP leg at the last pass */
	uint64_t drain_at_ms;     /* its next sample */
	/* Its two sockets spliced in the kernel (splice_start); overrun: said
	 * once that the kernel holds too much of it (splice_sync). */
	bool spliced, overrun;
	/* On the worker's flush list: an end of stream waits for the bytes
	 * the kernel still has to hand over (splice_flushed). */
	struct conn_link flush_link;
	uint64_t flush_at_ms;
	uint32_t flush_wait_ms;
};

struct listener {
	struct ep_tag tag; /* EP_LISTEN */
	int fd;
	int family;
};

struct pool_buf {
	struct pool_buf *next;
};

struct worker {
	struct relay *r;
	int id;
	pthread_t th;
	bool started;
	int epfd;
	struct ep_tag wake_tag; /* EP_WAKE */
	int wakefd;
	struct conn *run_head, *run_tail;
	struct conn *conns; /* every live connection of this worker */
	struct conn *dead;
	struct conn *drain;       /* connections sampled every DRAIN_SAMPLE_MS */
	uint64_t drain_ms;        /* when the drain list is sampled next */
	struct conn *flush;       /* spliced connections waiting to shut down */
	struct pool_buf *pool;
	unsigned int pool_len;
	unsigned int pool_low;    /* the fewest in the pool since the last trim */
	/* Counters: written by this worker only, read by anyone. */
	_Atomic uint64_t accepted, active, upstream_fail, resets,
		refused_direct, bytes_up, bytes_down, fallback, stalled,
		refused_limit, idle_closed, wakeups_lost, rcvbuf_raised,
		spliced, splice_overrun;
	_Atomic uint64_t net_sent[NET_MAX], net_recv[NET_MAX];
	uint64_t last_sample_ms;
	uint64_t now_ms;          /* refreshed once per loop turn */
	/* A snapshot request from the control thread (NULL: none). */
	struct snap_req *_Atomic req;
};

struct snap_req {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int pending;              /* workers that have not answered yet */
	struct relay_conn_view *v;
	int n, max;
};

struct relay {
	struct relay_opts o;
	struct hold *hold;
	struct listener l[2]; /* IPv4, IPv6 */
	_Atomic unsigned int total;  /* proxied connections now */
	_Atomic unsigned int sub_active[HYBOND_MAX_SUBS];
	int nworkers;
	struct worker *w;
	atomic_bool stopping;
};

static void count_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static void count_sub(_Atomic uint64_t *c, uint64_t v)
{
	atomic_fetch_sub_explicit(c, v, memory_order_relaxed);
}

/* ---- buffers ---------------------------------------------------------- */

static char *buf_get(struct worker *w)
{
	struct pool_buf *b = w->pool;

	if (b) {
		w->pool = b->next;
		if (--w->pool_len < w->pool_low)
			w->pool_low = w->pool_len;
		return (char *)b;
	}
	return malloc(w->r->o.bufsize);
}

static void buf_put(struct worker *w, char *p)
{
	struct pool_buf *b = (struct pool_buf *)p;

	/* Keep warm buffers for the next burst, up to POOL_MAX; pool_trim
	 * gives back what a second did not need. */
	if (w->pool_len >= POOL_MAX) {
		free(p);
		return;
	}
	b->next = w->pool;
	w->pool = b;
	w->pool_len++;
}

/*
 * Once a second: free the buffers that stayed in the pool the whole second
 * (the low-water mark), so a worker keeps what its load draws and an idle
 * one holds no buffer after two seconds. (Freed straight to the kernel:
 * run_daemon fixes malloc's mmap threshold below the buffer size.)
 */
static void pool_trim(struct worker *w)
{
	for (; w->pool_low && w->pool; w->pool_low--) {
		struct pool_buf *b = w->pool;

		w->pool = b->next;
		w->pool_len--;
		free(b);
	}
	w->pool_low = w->pool_len;
}

/* ---- sockets ---------------------------------------------------------- */

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
					  sizeof(struct sockaddr_in6);
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the AF_INET address. */
static void unmap_v4(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &s4, sizeof(s4));
}

/* The AF_INET address as IPv4-mapped IPv6, for AF_INET6 sockets. */
static void map_v4(struct sockaddr_storage *ss)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	if (ss->ss_family != AF_INET)
		return;
	memcpy(&s4, ss, sizeof(s4));
	memset(ss, 0, sizeof(*ss));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = s4.sin_port;
	s6->sin6_addr.s6_addr[10] = 0xff;
	s6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&s6->sin6_addr.s6_addr[12], &s4.sin_addr, 4);
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >>
			24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int set_transparent(int fd, int family)
{
	int one = 1;

	if (family == AF_INET)
		return setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
	return setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
}

static void abort_fd(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	/* SO_LINGER 0: close() sends a reset instead of a FIN. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static const char *sa_str(const struct sockaddr_storage *ss, char *buf,
			  size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	int port;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		port = ntohs(s->sin_port);
		snprintf(buf, len, "%s:%d", a, port);
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		port = ntohs(s->sin6_port);
		snprintf(buf, len, "[%s]:%d", a, port);
	}
	return buf;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ?
			     ((const struct sockaddr_in *)ss)->sin_port :
			     ((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* The leg that is MPTCP: upstream on the CPE, downstream on the HAG. */
static int mptcp_side(const struct conn *c)
{
	return c->w->r->o.role == HYBOND_ROLE_HAG ? 0 : 1;
}

/*
 * Bytes the connection's own totals say crossed but no subflow counted:
 * carried since the last sample by subflows that are gone now. At the end
 * of a connection the kernel closes its subflows, removes the others and
 * zeroes the first one's counters (tcp_disconnect), often before the
 * relay's last look; an upload's last second then went missing from the
 * per-network bytes. They go to the networks of the subflows lost, shared
 * as those subflows shared the last bytes that were sampled.
 */
static void give_to_lost(_Atomic uint64_t *per_net, uint64_t bytes,
			 const struct sub_track *lost, int n, bool sent)
{
	uint64_t total = 0, given = 0;

	for (int i = 0; i < n; i++)
		total += sent ? lost[i].dsent : lost[i].drecv;
	for (int i = 0; i < n; i++) {
		uint64_t part, had = sent ? lost[i].dsent : lost[i].drecv;

		if (i == n - 1)
			part = bytes - given;
		else if (total)
			part = (uint64_t)((double)bytes * had / total);
		else
			part = bytes / n;
		count_add(&per_net[lost[i].net], part);
		given += part;
	}
}

static void reconcile(struct conn *c, const struct conn_sockinfo *si,
		      const struct sub_track *lost, int n)
{
	struct worker *w = c->w;
	struct conn_track *tr = c->trk;
	int m = mptcp_side(c);
	/* Read from the MPTCP leg: relayed on, or still in our buffer. */
	uint64_t recv = c->bytes[m] + (c->d[m].end - c->d[m].start);

	if (recv > tr->counted_recv) {
		pr_debug("%llu bytes received by %d subflows gone unsampled",
			 (unsigned long long)(recv - tr->counted_recv), n);
		give_to_lost(w->net_recv, recv - tr->counted_recv, lost, n,
			     false);
		tr->counted_recv = recv;
	}
	if (si->have_seq) {
		/* Written to the MPTCP leg, less what is not acknowledged. */
		uint64_t out = si->write_seq - si->snd_una, wr = c->bytes[!m];
		uint64_t acked = wr > out ? wr - out : 0;

		if (acked > tr->counted_sent) {
			pr_debug("%llu bytes sent by %d subflows gone unsampled",
				 (unsigned long long)(acked - tr->counted_sent),
				 n);
			give_to_lost(w->net_sent, acked - tr->counted_sent,
				     lost, n, true);
			tr->counted_sent = acked;
		}
	}
}

/* The link of c at offset off (LIVE, DRAIN or FLUSH). */
static struct conn_link *link_of(struct conn *c, size_t off)
{
	return (struct conn_link *)((char *)c + off);
}

/* Put c at the head of the list *head (if it is not on it already). */
static void list_add(struct conn **head, struct conn *c, size_t off)
{
	struct conn_link *l = link_of(c, off);

	if (l->on)
		return;
	l->prev = NULL;
	l->next = *head;
	if (*head)
		link_of(*head, off)->prev = c;
	*head = c;
	l->on = true;
}

static void list_del(struct conn **head, struct conn *c, size_t off)
{
	struct conn_link *l = link_of(c, off);

	if (!l->on)
		return;
	if (l->prev)
		link_of(l->prev, off)->next = l->next;
	else
		*head = l->next;
	if (l->next)
		link_of(l->next, off)->prev = l->prev;
	l->prev = l->next = NULL;
	l->on = false;
}

#define LIVE offsetof(struct conn, live_link)
#define DRAIN offsetof(struct conn, drain_link)
#define FLUSH offsetof(struct conn, flush_link)

static void drain_unlink(struct conn *c)
{
	list_del(&c->w->drain, c, DRAIN);
}

/*
 * A bulk written to the MPTCP leg leaves the socket's send buffer (megabytes)
 * long after the relay's last write, so the once-a-second sample can miss
 * most of a download's tail; if the kernel then removes the subflows before
 * the relay's last look, give_to_lost can only guess which network carried
 * it (one CI run credited 0.5 MB of the primary's to the secondary). So a
 * connection with at least DRAIN_SAMPLE_MIN unacknowledged on the MPTCP leg
 * goes on the drain list; once the relay stops writing to that leg (the
 * tail), it is sampled every DRAIN_SAMPLE_MS until all is acknowledged.
 * While the relay writes, the list costs a comparison per pass.
 */
static void drain_track(struct conn *c, const struct conn_sockinfo *si)
{
	struct worker *w = c->w;
	uint64_t out = si->have_seq ? si->write_seq - si->snd_una : 0;

	if (c->drain_link.on && !out) {
		drain_unlink(c);
		return;
	}
	if (c->drain_link.on) {
		/* Nothing acknowledged since the last look (a stalled or
		 * dead path): look once a second, not twenty times. */
		c->drain_at_ms = w->now_ms + (si->snd_una == c->drain_una ?
						      1000 : DRAIN_SAMPLE_MS);
		c->drain_una = si->snd_una;
	} else if (out >= DRAIN_SAMPLE_MIN && c->state == C_OPEN) {
		if (!w->drain)
			w->drain_ms = w->now_ms + DRAIN_SAMPLE_MS;
		c->drain_una = si->snd_una;
		c->drain_written = c->bytes[!mptcp_side(c)];
		c->drain_at_ms = w->now_ms + DRAIN_SAMPLE_MS;
		list_add(&w->drain, c, DRAIN);
	}
}

/* Turn the kernel's per-subflow counters into per-network deltas. */
static void conn_sample(struct conn *c, struct conn_sockinfo *si)
{
	struct worker *w = c->w;
	int fd = c->s[mptcp_side(c)].fd;
	struct sub_track lost[TRACK_MAX];
	bool seen[TRACK_MAX] = { false };
	int slot[SOCKINFO_MAX_SUBFLOWS], nlost = 0;
	uint64_t ds[SOCKINFO_MAX_SUBFLOWS], dr[SOCKINFO_MAX_SUBFLOWS];
	bool moved = false;
	struct conn_track *tr;
	/* The HAG's host leg and the CPE's upstream are MPTCP sockets (maybe
	 * fallen back), unless the CPE was told to use TCP. */
	int proto = w->r->o.role == HYBOND_ROLE_CPE && !w->r->o.mptcp_upstream ?
			    IPPROTO_TCP : IPPROTO_MPTCP;

	c->dirty = false;
	if (fd < 0 || sockinfo_get(fd, proto, &w->r->o.aa, si))
		return;
	if (si->fallback && !c->fell_back) {
		c->fell_back = true;
		count_add(&w->fallback, 1);
	}
	if (!c->trk) {
		c->trk = calloc(1, sizeof(*c->trk));
		if (!c->trk)
			return;
	}
	tr = c->trk;
	/* Match the subflows to what the last sample saw, by ports. */
	for (int i = 0; i < si->nsub; i++) {
		uint16_t lp = sa_port(&si->sub[i].local);
		uint16_t rp = sa_port(&si->sub[i].remote);

		slot[i] = -1;
		for (int k = 0; k < TRACK_MAX; k++) {
			const struct sub_track *t = &tr->sub[k];

			if (t->used && !seen[k] && t->lport == lp &&
			    t->rport == rp) {
				slot[i] = k;
				seen[k] = true;
				break;
			}
		}
	}
	/* What the last sample saw and this one does not is gone. */
	for (int k = 0; k < TRACK_MAX; k++)
		if (tr->sub[k].used && !seen[k]) {
			lost[nlost++] = tr->sub[k];
			tr->sub[k].used = false;
		}
	for (int i = 0; i < si->nsub; i++) {
		const struct subflow_info *sf = &si->sub[i];
		struct sub_track *t;

		for (int k = 0; slot[i] < 0 && k < TRACK_MAX; k++)
			if (!tr->sub[k].used) {
				slot[i] = k;
				t = &tr->sub[k];
				memset(t, 0, sizeof(*t));
				t->used = true;
				t->lport = sa_port(&sf->local);
				t->rport = sa_port(&sf->remote);
				t->net = sf->net;
				/* First seen closed with nothing counted: a
				 * first subflow the kernel already zeroed
				 * (a short connection sampled only at its
				 * end). */
				if (sf->state == TCP_CLOSE && !sf->bytes_sent &&
				    !sf->bytes_received && nlost < TRACK_MAX)
					lost[nlost++] = *t;
			}
		ds[i] = dr[i] = 0;
		if (slot[i] < 0)
			continue;
		t = &tr->sub[slot[i]];
		if (sf->bytes_sent < t->sent || sf->bytes_received < t->recv) {
			/* Counts that went backwards were zeroed: what the
			 * subflow carried since the last sample went with
			 * them. */
			if (nlost < TRACK_MAX)
				lost[nlost++] = *t;
			t->sent = t->recv = 0;
		}
		t->net = sf->net;
		ds[i] = sf->bytes_sent - t->sent;
		dr[i] = sf->bytes_received - t->recv;
		moved |= ds[i] || dr[i];
		count_add(&w->net_sent[t->net], ds[i]);
		count_add(&w->net_recv[t->net], dr[i]);
		tr->counted_sent += ds[i];
		tr->counted_recv += dr[i];
		t->sent = sf->bytes_sent;
		t->recv = sf->bytes_received;
	}
	if (nlost && si->mptcp && !si->fallback)
		reconcile(c, si, lost, nlost);
	for (int i = 0; moved && i < si->nsub; i++)
		if (slot[i] >= 0) {
			tr->sub[slot[i]].dsent = ds[i];
			tr->sub[slot[i]].drecv = dr[i];
		}
	tr->relayed = c->bytes[0] + c->bytes[1];
	drain_track(c, si);
}

/* ---- connection lifecycle ----------------------------------------------- */

static void enqueue(struct conn *c)
{
	struct worker *w = c->w;

	if (c->queued || c->state == C_DEAD)
		return;
	c->queued = true;
	c->next_run = NULL;
	if (w->run_tail)
		w->run_tail->next_run = c;
	else
		w->run_head = c;
	w->run_tail = c;
}

/* SOCK_DESTROY the TCP socket on (local l, remote r); see nl_destroy_tcp. */
static int destroy_tuple(struct nl *diag, const struct sockaddr_storage *l,
			 const struct sockaddr_storage *r)
{
	if (l->ss_family == AF_INET)
		return nl_destroy_tcp(diag, AF_INET,
				      &((const struct sockaddr_in *)l)->sin_addr,
				      sa_port(l),
				      &((const struct sockaddr_in *)r)->sin_addr,
				      sa_port(r));
	return nl_destroy_tcp(diag, AF_INET6,
			      &((const struct sockaddr_in6 *)l)->sin6_addr,
			      sa_port(l),
			      &((const struct sockaddr_in6 *)r)->sin6_addr,
			      sa_port(r));
}

/* op: EPOLL_CTL_ADD or _MOD. A spliced socket's bytes never reach the
 * relay: it is woken by the socket's end or error only. */
static int watch(struct worker *w, struct side *s, int op)
{
	struct epoll_event ev = {
		.events = s->c->spliced ? EPOLLRDHUP | EPOLLET :
					  EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = s,
	};

	return epoll_ctl(w->epfd, op, s->fd, &ev);
}

/* ---- in-kernel splicing ------------------------------------------------ */

/* Is leg i an MPTCP socket? */
static bool leg_mptcp(const struct conn *c, int i)
{
	const struct relay_opts *o = &c->w->r->o;

	if (o->role == HYBOND_ROLE_HAG)
		return i == DOWN;
	return i == UP && o->mptcp_upstream;
}

/*
 * Hand a connection that just opened, before the relay read a byte of it,
 * to the kernel: the verdict program (bpf/splice.bpf.c) sends what either
 * socket receives out of the other. Only where the kernel takes both
 * sockets in a sockmap: TCP ones always, MPTCP ones on no kernel yet (the
 * start-up probe, splice_mptcp). On failure the relay moves the bytes.
 */
static void splice_start(struct conn *c)
{
	struct relay *r = c->w->r;
	int err;

	if (!r->o.splice ||
	    ((leg_mptcp(c, DOWN) || leg_mptcp(c, UP)) && !r->o.splice_mptcp))
		return;
	err = splice_pair(r->o.splice, c->s[DOWN].fd, c->s[UP].fd);
	if (err) {
		pr_debug("splice: %s; relayed in user space", strerror(-err));
		return;
	}
	c->spliced = true;
	count_add(&c->w->spliced, 1);
	/* From now on the relay reads a leg only for its end (or its
	 * error). */
	for (int i = 0; i < 2; i++)
		c->s[i].readable = c->s[i].hup;
}

/* Bytes a spliced direction has received and not yet handed to the other
 * socket past which its connection is said to outrun its receiver (once):
 * the kernel's redirects have no back-pressure, so they pile up in the
 * kernel, counted in no socket buffer. */
#define SPLICE_OVERRUN (64ULL << 20)

/* A spliced connection's bytes, from the kernel's counters, into its
 * totals and the worker's: once a second (housekeeping) and at close. */
static void splice_sync(struct conn *c)
{
	uint64_t rcvd[2], wr[2];
	char a[64], b[64];

	for (int i = 0; i < 2; i++)
		if (splice_leg_bytes(c->s[i].fd, leg_mptcp(c, i), i == UP,
				     c->s[i].rd_eof, &rcvd[i], &wr[i]))
			return;
	for (int d = 0; d < 2; d++) {
		uint64_t moved = wr[!d];

		/* (The other socket's own FIN, once sent, counts as a byte.) */
		if (c->s[!d].wr_shut && moved)
			moved--;
		if (!c->overrun && rcvd[d] > moved + SPLICE_OVERRUN) {
			c->overrun = true;
			count_add(&c->w->splice_overrun, 1);
			pr_warn("spliced connection %s -> %s: %llu MiB received "
				"from the %s and not yet sent on: the %s reads "
				"slower, and the kernel's splice has no "
				"back-pressure (run without --splice)",
				sa_str(&c->host, a, sizeof(a)),
				sa_str(&c->server, b, sizeof(b)),
				(unsigned long long)((rcvd[d] - moved) >> 20),
				d == DOWN ? "host" : "server",
				d == DOWN ? "server" : "host");
		}
		if (moved <= c->bytes[d])
			continue;
		count_add(d == DOWN ? &c->w->bytes_up : &c->w->bytes_down,
			  moved - c->bytes[d]);
		c->bytes[d] = moved;
		c->dirty = true;
		c->progress_ms = c->w->now_ms;
	}
}

static void flush_unlink(struct conn *c)
{
	list_del(&c->w->flush, c, FLUSH);
	c->flush_wait_ms = 0;
}

static void conn_fail(struct conn *c, int bad);

/*
 * Was spliced TCP leg i reset? Its end of stream can hide it: the kernel's
 * work queue, sending the other leg's bytes on it, can take the pending
 * ECONNRESET before our recv() does (seen once in a 6.12 guest: a server's
 * reset reached the host as a FIN). A leg whose write side we never shut
 * down ends gracefully in CLOSE_WAIT; TCP_CLOSE there is a reset.
 */
static bool splice_leg_reset(const struct conn *c, int i)
{
	struct tcp_info ti = { 0 };
	int err = 0;
	socklen_t len = sizeof(err);

	if (leg_mptcp(c, i) || c->s[i].wr_shut)
		return false;
	if (!getsockopt(c->s[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) && err)
		return true;
	len = sizeof(ti);
	return !getsockopt(c->s[i].fd, IPPROTO_TCP, TCP_INFO, &ti, &len) &&
	       ti.tcpi_state == TCP_CLOSE;
}

/*
 * Direction d's source has ended: has the kernel handed its destination
 * every byte the source received? The verdict program's redirects are sent
 * from a work queue, and a shutdown() before they are would put the FIN
 * ahead of them. If not, the connection is looked at again after 1, 2,
 * 4 ... 64 ms (flush_pass). Returns 1 when flushed, 0 while waiting, and
 * -1 when the destination was reset (the connection is closed: nothing
 * will ever be handed to it).
 */
static int splice_flushed(struct conn *c, int d)
{
	uint64_t rcvd, wr, x;

	if (splice_leg_bytes(c->s[d].fd, leg_mptcp(c, d), d == UP, true,
			     &rcvd, &x) ||
	    splice_leg_bytes(c->s[!d].fd, leg_mptcp(c, !d), d == DOWN, false,
			     &x, &wr) ||
	    wr >= rcvd) {
		/* (A leg the kernel cannot describe any more is failing:
		 * its error comes through the usual path.) */
		return 1;
	}
	if (splice_leg_reset(c, !d)) {
		conn_fail(c, !d);
		return -1;
	}
	list_add(&c->w->flush, c, FLUSH);
	c->flush_wait_ms = c->flush_wait_ms ? c->flush_wait_ms * 2 : 1;
	if (c->flush_wait_ms > 64)
		c->flush_wait_ms = 64;
	c->flush_at_ms = c->w->now_ms + c->flush_wait_ms;
	return 0;
}

/* Queue the flushing connections that are due; returns the ms until the
 * next one is (-1: none waits). */
static int flush_pass(struct worker *w)
{
	uint64_t next = UINT64_MAX;

	for (struct conn *c = w->flush; c; c = c->flush_link.next) {
		if (w->now_ms >= c->flush_at_ms)
			enqueue(c);
		else if (c->flush_at_ms < next)
			next = c->flush_at_ms;
	}
	return next == UINT64_MAX ? -1 : (int)(next - w->now_ms);
}

/* Close both legs; reset_down/reset_up choose a reset instead of a FIN. */
static void conn_close(struct conn *c, bool reset_down, bool reset_up)
{
	struct worker *w = c->w;

	if (c->state == C_DEAD)
		return;
	/* Last look at the subflows while the MPTCP socket still exists. */
	if (c->state == C_OPEN) {
		struct conn_sockinfo si;

		conn_sample(c, &si);
	}
	free(c->trk);
	c->trk = NULL;
	if (c->spliced) {
		splice_sync(c);
		splice_unpair(w->r->o.splice, c->s[DOWN].fd, c->s[UP].fd);
		flush_unlink(c);
	}
	for (int i = 0; i < 2; i++) {
		bool rst = i == DOWN ? reset_down : reset_up;

		if (c->s[i].fd < 0)
			continue;
		/* close() takes the fd out of the epoll set: nothing else
		 * holds the socket. */
		if (rst)
			abort_fd(c->s[i].fd);
		else
			close(c->s[i].fd);
		c->s[i].fd = -1;
		if (c->d[i].buf)
			buf_put(w, c->d[i].buf);
		c->d[i].buf = NULL;
	}
	if (reset_down || reset_up)
		count_add(&w->resets, 1);
	drain_unlink(c);
	c->state = C_DEAD;
	count_sub(&w->active, 1);
	atomic_fetch_sub(&w->r->total, 1);
	if (c->sub >= 0)
		atomic_fetch_sub(&w->r->sub_active[c->sub], 1);
	list_del(&w->conns, c, LIVE);
	/* Freed after this epoll batch: events may still point at it. */
	c->next_dead = w->dead;
	w->dead = c;
}

/* A hard error on leg `bad`: reset the other leg, drop this one. */
static void conn_fail(struct conn *c, int bad)
{
	if (bad == DOWN)
		conn_close(c, false, true);
	else
		conn_close(c, true, false);
}

static bool soft_err(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

/* Bytes a direction moves while a short read ends its reading (pump_dir). */
#define SHORT_READ_MAX (64 << 10)

/*
 * Move bytes in direction d (source side d, destination side !d). Returns
 * false if the connection died, and sets *more if the budget ran out while
 * there was still work.
 */
static bool pump_dir(struct conn *c, int d, bool *more)
{
	struct worker *w = c->w;
	struct side *src = &c->s[d], *dst = &c->s[!d];
	struct dbuf *b = &c->d[d];
	size_t bufsize = w->r->o.bufsize;
	uint32_t budget = BUDGET;

	while (budget) {
		ssize_t n;

		if (b->end > b->start) {
			if (!dst->writable)
				break;
			n = send(dst->fd, b->buf + b->start, b->end - b->start,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0) {
				if (soft_err(errno)) {
					if (errno != EINTR)
						dst->writable = false;
					continue;
				}
				conn_fail(c, !d);
				return false;
			}
			b->start += n;
			budget = (uint32_t)n >= budget ? 0 : budget - n;
			count_add(d == DOWN ? &w->bytes_up : &w->bytes_down, n);
			c->bytes[d] += n;
			c->dirty = true;
			c->progress_ms = w->now_ms;
			if (b->start == b->end)
				b->start = b->end = 0;
			continue;
		}
		if (src->rd_eof || !src->readable)
			break;
		if (!b->buf) {
			b->buf = buf_get(w);
			if (!b->buf) {
				/* Out of memory: try again on the next turn. */
				*more = true;
				return true;
			}
		}
		n = recv(src->fd, b->buf, bufsize, MSG_DONTWAIT);
		if (n > 0) {
			b->start = 0;
			b->end = n;
			/* A short read emptied the queue: the next bytes come
			 * with an edge of their own, so no recv() just to hear
			 * EAGAIN. Unless the peer's FIN came with this edge
			 * (then read on to the end of stream), and only while
			 * the direction is young: in bulk, the recv() after a
			 * send() mostly finds new bytes, and going back to
			 * epoll_wait() instead cost the HAG a third more CPU
			 * per GiB with 16 downloads. */
			if ((size_t)n < bufsize && !src->hup &&
			    c->bytes[d] < SHORT_READ_MAX)
				src->readable = false;
			continue;
		}
		if (n == 0) {
			if (c->spliced && splice_leg_reset(c, d)) {
				conn_fail(c, d);
				return false;
			}
			src->rd_eof = true;
			/* The first end of stream: a last look at the subflows
			 * while both ends still hold them, once a bulk moved
			 * since the last one (see give_to_lost). */
			if (!dst->rd_eof && c->state == C_OPEN &&
			    c->bytes[0] + c->bytes[1] >=
				    (c->trk ? c->trk->relayed : 0) + EOF_SAMPLE_MIN) {
				struct conn_sockinfo si;

				conn_sample(c, &si);
			}
			break;
		}
		if (soft_err(errno)) {
			if (errno != EINTR)
				src->readable = false;
			continue;
		}
		conn_fail(c, d);
		return false;
	}
	if (!budget && (b->end > b->start || (src->readable && !src->rd_eof)))
		*more = true;

	if (b->end == b->start && b->buf) {
		buf_put(w, b->buf);
		b->buf = NULL;
		b->start = b->end = 0;
	}
	/* End of stream travels once everything before it has. */
	if (src->rd_eof && !b->buf && !dst->wr_shut) {
		if (c->spliced) {
			int f = splice_flushed(c, d);

			if (f <= 0)
				return f == 0;
		}
		if (shutdown(dst->fd, SHUT_WR) && errno != ENOTCONN) {
			conn_fail(c, !d);
			return false;
		}
		dst->wr_shut = true;
	}
	return true;
}

static void finish_connect(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->s[UP].fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		pr_debug("upstream connect failed: %s", strerror(err));
		count_add(&c->w->upstream_fail, 1);
		/* The host sees a reset, not an accepted-then-closed stream. */
		conn_close(c, true, false);
		return;
	}
	c->state = C_OPEN;
	splice_start(c);
	if (c->spliced &&
	    (watch(c->w, &c->s[DOWN], EPOLL_CTL_MOD) ||
	     watch(c->w, &c->s[UP], EPOLL_CTL_MOD))) {
		pr_warn("epoll: %s", strerror(errno));
		conn_close(c, true, true);
	}
}

/*
 * A re-poll found nothing to move. The MPTCP leg may be wedged: seen on
 * 6.18, its receive buffer full of data that arrived out of order on one
 * subflow while the data before it waits in the other subflow's queue, not
 * moved up because the buffer is full (nothing becomes readable, so nothing
 * is read, so the buffer never drains or grows). A larger buffer lets the
 * kernel move the waiting data. Raised only when that is what it looks
 * like: the socket holds bytes (SO_MEMINFO) that recv() did not give, and
 * the relay has none of that direction's bytes waiting for the other leg
 * (a slow reader there is not a wedge). Each time to twice what it holds
 * or allows, whichever is more, up to RCVBUF_MAX: autotuning alone takes a
 * buffer to 32 MiB here (net.ipv4.tcp_rmem), and a bulk upload wedged
 * with 4.7 MB held (primary_first.sh, about one run in eight) when the old
 * ceiling, 4 MiB, stopped every raise.
 */
#define RCVBUF_MAX (64 << 20)
static void raise_mptcp_rcvbuf(struct conn *c)
{
	int m = c->w->r->o.role == HYBOND_ROLE_HAG ? DOWN : UP, v;
	uint32_t mi[SK_MEMINFO_VARS] = { 0 };
	socklen_t len = sizeof(mi);
	uint32_t held;

	if (c->s[m].rd_eof || c->d[m].end > c->d[m].start ||
	    getsockopt(c->s[m].fd, SOL_SOCKET, SO_MEMINFO, mi, &len) ||
	    len < sizeof(uint32_t) * (SK_MEMINFO_RCVBUF + 1))
		return;
	held = mi[SK_MEMINFO_RMEM_ALLOC];
	if (!held || mi[SK_MEMINFO_RCVBUF] >= RCVBUF_MAX)
		return;
	/* The kernel doubles what it is given; FORCE: past net.core.rmem_max
	 * (the daemon has CAP_NET_ADMIN). */
	v = (int)(held > mi[SK_MEMINFO_RCVBUF] ? held : mi[SK_MEMINFO_RCVBUF]);
	if (v > RCVBUF_MAX / 2)
		v = RCVBUF_MAX / 2;
	if (!setsockopt(c->s[m].fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)))
		count_add(&c->w->rcvbuf_raised, 1);
}

static void pump(struct conn *c)
{
	uint64_t moved = c->bytes[DOWN] + c->bytes[UP];
	bool more = false, poked = c->poked;

	if (c->state == C_CONNECTING) {
		if (!c->s[UP].writable)
			return;
		finish_connect(c);
		if (c->state != C_OPEN)
			return;
	}
	c->poked = false;
	for (int d = 0; d < 2; d++)
		if (!pump_dir(c, d, &more))
			return;
	if (poked && c->bytes[DOWN] + c->bytes[UP] != moved)
		count_add(&c->w->wakeups_lost, 1);
	else if (poked)
		raise_mptcp_rcvbuf(c);
	if (c->s[DOWN].rd_eof && c->s[UP].rd_eof && c->s[DOWN].wr_shut &&
	    c->s[UP].wr_shut) {
		conn_close(c, false, false);
		return;
	}
	/* Off the flush list once no end of stream waits (either direction
	 * may have put it there). */
	if (c->flush_link.on &&
	    !(c->s[DOWN].rd_eof && !c->s[UP].wr_shut) &&
	    !(c->s[UP].rd_eof && !c->s[DOWN].wr_shut))
		flush_unlink(c);
	if (more)
		enqueue(c);
}

/* ---- accept ------------------------------------------------------------- */

/* The congestion control of the MPTCP leg's subflows (bbr by default: on a
 * lossy LTE-like path cubic leaves the secondary nearly useless). A kernel
 * without that algorithm keeps its default; said once. */
static void set_congestion(struct relay *r, int fd)
{
	static atomic_bool warned;
	const char *cc = r->o.congestion;

	if (!cc || !*cc)
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, strlen(cc)) &&
	    !atomic_exchange(&warned, true))
		pr_warn("congestion control '%s' is not available (%s); the "
			"kernel's default stays",
			cc, strerror(errno));
}

/* Remove our TIME_WAIT socket on this exact tuple (local src, remote dst):
 * a host that reuses its port soon must not be refused because of it. */
static int clear_time_wait(const struct sockaddr_storage *src,
			   const struct sockaddr_storage *dst)
{
	struct sockaddr_storage a = *src, b = *dst;
	struct nl diag;
	int err;

	unmap_v4(&a);
	unmap_v4(&b);
	if (nl_open(&diag, NETLINK_SOCK_DIAG))
		return -1;
	err = destroy_tuple(&diag, &a, &b);
	nl_close(&diag);
	return err;
}

static int upstream_socket(struct relay *r, struct sockaddr_storage *src,
			   struct sockaddr_storage *dst)
{
	const struct relay_opts *o = &r->o;
	bool mptcp = o->role == HYBOND_ROLE_CPE && o->mptcp_upstream;
	bool transparent = true;
	int one = 1, fd, family;

	unmap_v4(src);
	unmap_v4(dst);
	if (o->nat && dst->ss_family == AF_INET) {
		/* A NATting CPE: the primary address, any port. */
		struct sockaddr_in *s4 = (struct sockaddr_in *)src;

		memset(src, 0, sizeof(*src));
		s4->sin_family = AF_INET;
		s4->sin_addr = o->nat_src4.v4;
		transparent = false;
	}
	/* MPTCP upstream sockets are always IPv6 so that an IPv4 connection
	 * can take an IPv6 subflow too (and the reverse). */
	family = mptcp ? AF_INET6 : dst->ss_family;
	if (family == AF_INET6) {
		map_v4(src);
		map_v4(dst);
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    mptcp ? IPPROTO_MPTCP : IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (transparent && set_transparent(fd, family) < 0)
		goto fail;
	if (mptcp)
		set_congestion(r, fd);
	if (bind(fd, (struct sockaddr *)src, sa_len(src)) < 0)
		goto fail;
	if (connect(fd, (struct sockaddr *)dst, sa_len(dst)) < 0 &&
	    errno != EINPROGRESS) {
		/* Our own TIME_WAIT on this 4-tuple: clear it, try again. */
		if (errno != EADDRNOTAVAIL || !transparent ||
		    clear_time_wait(src, dst) ||
		    (connect(fd, (struct sockaddr *)dst, sa_len(dst)) < 0 &&
		     errno != EINPROGRESS))
			goto fail;
	}
	return fd;
fail:
	one = -errno;
	close(fd);
	return one;
}

/* Keepalive on the MPTCP leg: a subflow over a dead path dies even when
 * this end has nothing to send, so a connection with no path left shows
 * as one without subflows. Not sooner than the stall timeout: a short
 * outage must not cost a subflow (the kernel path manager does not join
 * again). Older kernels refuse the TCP_KEEP* knobs on MPTCP sockets and
 * keep the system defaults. The CPE sets it on connections that live past
 * KEEPALIVE_AFTER_MS (housekeeping), not at accept: four setsockopt()
 * calls on an MPTCP socket (each locks it and walks its subflows) that a
 * short connection would pay for nothing, since the first probe could
 * come only after the stall timeout anyway. */
#define KEEPALIVE_AFTER_MS 1000
static void set_keepalive(int fd, unsigned int stall_s)
{
	int one = 1, idle = (int)stall_s, intvl = 1, cnt = 2;

	if (!stall_s)
		return;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* The subscriber prefix index of a host (the longest match), or -1. */
static int subscriber_of(struct relay *r, const struct sockaddr_storage *h)
{
	__u32 idx;

	if (h->ss_family == AF_INET && r->o.subs4_fd >= 0) {
		struct hybond_lpm4 k = { .prefixlen = 32 };

		k.addr = ((const struct sockaddr_in *)h)->sin_addr.s_addr;
		if (!bpf_map_lookup_elem(r->o.subs4_fd, &k, &idx))
			return idx < HYBOND_MAX_SUBS ? (int)idx : -1;
	} else if (h->ss_family == AF_INET6 && r->o.subs6_fd >= 0) {
		struct hybond_lpm6 k = { .prefixlen = 128 };

		memcpy(k.addr, &((const struct sockaddr_in6 *)h)->sin6_addr, 16);
		if (!bpf_map_lookup_elem(r->o.subs6_fd, &k, &idx))
			return idx < HYBOND_MAX_SUBS ? (int)idx : -1;
	}
	return -1;
}

void relay_set_subs(struct relay *r, int subs4_fd, int subs6_fd)
{
	r->o.subs4_fd = subs4_fd;
	r->o.subs6_fd = subs6_fd;
}

bool relay_admits(struct relay *r, const struct sockaddr_storage *host)
{
	int sub;

	if (r->o.max_conns && atomic_load(&r->total) >= r->o.max_conns)
		return false;
	if (!r->o.max_per_subscriber)
		return true;
	sub = subscriber_of(r, host);
	return sub < 0 ||
	       atomic_load(&r->sub_active[sub]) < r->o.max_per_subscriber;
}

/* fd: just accepted from a listener, peer: its address from accept4(). */
static void accept_one(struct worker *w, int fd, struct sockaddr_storage *peer_in)
{
	struct sockaddr_storage peer = *peer_in, orig;
	socklen_t olen = sizeof(orig);
	struct conn *c;
	int up;
	bool connected = false;
	char a[64], b[64];

	if (getsockname(fd, (struct sockaddr *)&orig, &olen)) {
		abort_fd(fd);
		return;
	}
	unmap_v4(&peer);
	unmap_v4(&orig);
	/* Only steered connections have a non-loopback original destination;
	 * a local process that connects to the listener directly would make
	 * the relay connect to itself. */
	if (is_loopback(&orig)) {
		count_add(&w->refused_direct, 1);
		abort_fd(fd);
		return;
	}
	/* Connected already while the host's SYN was held? */
	up = hold_take(w->r->hold, &peer, &orig);
	if (up < 0 && !relay_admits(w->r, &peer)) {
		/* Past a limit: refused cleanly, with a reset; the
		 * connections already proxied go on. */
		count_add(&w->refused_limit, 1);
		abort_fd(fd);
		return;
	}
	if (up >= 0)
		connected = true;
	else
		up = upstream_socket(w->r, &peer, &orig);
	if (up < 0) {
		pr_debug("upstream for %s -> %s: %s",
			 sa_str(&peer, a, sizeof(a)),
			 sa_str(&orig, b, sizeof(b)), strerror(-up));
		count_add(&w->upstream_fail, 1);
		abort_fd(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		abort_fd(fd);
		abort_fd(up);
		return;
	}
	c->w = w;
	c->state = connected ? C_OPEN : C_CONNECTING;
	c->start_ms = c->progress_ms = c->checked_ms = w->now_ms;
	c->sub = w->r->o.max_per_subscriber ? subscriber_of(w->r, &peer) : -1;
	c->host = peer;
	c->server = orig;
	atomic_fetch_add(&w->r->total, 1);
	if (c->sub >= 0)
		atomic_fetch_add(&w->r->sub_active[c->sub], 1);
	for (int i = 0; i < 2; i++) {
		c->s[i].tag.kind = EP_SIDE;
		c->s[i].idx = i;
		c->s[i].c = c;
	}
	c->s[DOWN].fd = fd;
	c->s[UP].fd = up;
	/* The HAG's MPTCP leg has its keepalive and congestion control from
	 * the listener (listener_options); the CPE's upstream got its
	 * congestion control before connecting (upstream_socket), and gets
	 * its keepalive if it lives (housekeeping). */
	c->keepalive = w->r->o.role != HYBOND_ROLE_CPE;
	list_add(&w->conns, c, LIVE);
	count_add(&w->accepted, 1);
	count_add(&w->active, 1);
	if (connected)
		splice_start(c);
	if (watch(w, &c->s[DOWN], EPOLL_CTL_ADD) ||
	    watch(w, &c->s[UP], EPOLL_CTL_ADD)) {
		pr_warn("epoll: %s", strerror(errno));
		conn_close(c, true, true);
		return;
	}
	pr_debug("proxying %s -> %s", sa_str(&peer, a, sizeof(a)),
		 sa_str(&orig, b, sizeof(b)));
}

static void accept_all(struct worker *w, struct listener *l)
{
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				pr_warn("accept: %s", strerror(errno));
			return;
		}
		accept_one(w, fd, &peer);
	}
}

/* ---- worker ------------------------------------------------------------- */

static void reap(struct worker *w)
{
	while (w->dead) {
		struct conn *c = w->dead;

		w->dead = c->next_dead;
		free(c);
	}
}

/* Stuck: bytes waiting that cannot leave, or an MPTCP leg without any
 * subflow left (both access links dead). */
static bool conn_stuck(struct conn *c)
{
	struct conn_sockinfo si;

	if (c->d[0].end > c->d[0].start || c->d[1].end > c->d[1].start)
		return true;
	if (c->state != C_OPEN)
		return false;
	conn_sample(c, &si);
	return si.mptcp && !si.fallback && si.nsub_established == 0;
}

/* Every DRAIN_SAMPLE_MS: sample the connections on the drain list that are
 * due (each sample takes a connection off once its bytes are
 * acknowledged). */
static void drain_pass(struct worker *w)
{
	struct conn_sockinfo si;

	if (!w->drain || w->now_ms < w->drain_ms)
		return;
	w->drain_ms = w->now_ms + DRAIN_SAMPLE_MS;
	for (struct conn *c = w->drain, *next; c; c = next) {
		uint64_t wr = c->bytes[!mptcp_side(c)];

		next = c->drain_link.next;
		if (wr != c->drain_written) {
			/* Still writing: not the tail yet. */
			c->drain_written = wr;
			c->drain_at_ms = w->now_ms + DRAIN_SAMPLE_MS;
		} else if (w->now_ms >= c->drain_at_ms) {
			/* (drain_track sets the next look; this one stands
			 * if the sample fails.) */
			c->drain_at_ms = w->now_ms + 1000;
			conn_sample(c, &si);
		}
	}
}

/* Once a second: sample the connections that moved bytes since their last
 * sample (so a subflow that dies later still had its bytes counted), and
 * reset the ones that stalled. */
static void housekeeping(struct worker *w)
{
	uint64_t now = w->now_ms, stall = w->r->o.stall_timeout_s * 1000ULL;

	if (now - w->last_sample_ms < 1000)
		return;
	w->last_sample_ms = now;
	pool_trim(w);
	uint64_t idle = w->r->o.idle_timeout_s * 1000ULL;
	uint64_t half = w->r->o.half_open_timeout_s * 1000ULL;

	for (struct conn *c = w->conns, *next; c; c = next) {
		struct conn_sockinfo si;
		/* (A connection accepted in this turn may be newer than the
		 * turn's clock: never let the difference wrap.) */
		uint64_t quiet = now > c->progress_ms ? now - c->progress_ms : 0;
		bool half_open = c->s[DOWN].rd_eof || c->s[UP].rd_eof;

		next = c->live_link.next;
		/* The kernel moves a spliced connection's bytes: count them
		 * (and their progress) before judging it idle. */
		if (c->spliced) {
			splice_sync(c);
			quiet = now > c->progress_ms ? now - c->progress_ms : 0;
		}
		if ((idle && quiet >= idle) || (half && half_open && quiet >= half)) {
			pr_debug("connection %s for %llus: closed",
				 half_open ? "half-open" : "idle",
				 (unsigned long long)quiet / 1000);
			count_add(&w->idle_closed, 1);
			conn_close(c, true, true);
			continue;
		}
		/* Idle but healthy connections cost one check per period. */
		if (stall && quiet >= stall && now >= c->checked_ms + stall) {
			c->checked_ms = now;
			if (conn_stuck(c)) {
				pr_debug("connection stalled for %us: reset",
					 w->r->o.stall_timeout_s);
				count_add(&w->stalled, 1);
				conn_close(c, true, true);
				continue;
			}
		}
		/* Re-poll a quiet connection now and then (after 1, 2, 4, ...
		 * seconds of quiet): an MPTCP socket can have bytes to read
		 * without having signalled an edge (seen on 6.18 with a full
		 * receive buffer after a half-close); the cost is a recv() and a
		 * send() that find nothing, logarithmic in the quiet time. */
		if (c->state == C_OPEN && quiet >= 1000 && now >= c->poke_ms &&
		    (!c->spliced || c->d[DOWN].buf || c->d[UP].buf)) {
			c->poke_ms = now + quiet;
			for (int i = 0; i < 2; i++)
				c->s[i].readable = c->s[i].writable = true;
			c->poked = true;
			enqueue(c);
		}
		if (c->dirty && c->state == C_OPEN)
			conn_sample(c, &si);
		if (!c->keepalive && now >= c->start_ms + KEEPALIVE_AFTER_MS) {
			set_keepalive(c->s[UP].fd, w->r->o.stall_timeout_s);
			c->keepalive = true;
		}
	}
}

static void view_of(const struct conn *c, struct relay_conn_view *v,
		    const struct conn_sockinfo *si)
{
	socklen_t len = sizeof(v->host);

	memset(v, 0, sizeof(*v));
	getpeername(c->s[DOWN].fd, (struct sockaddr *)&v->host, &len);
	len = sizeof(v->server);
	getsockname(c->s[DOWN].fd, (struct sockaddr *)&v->server, &len);
	unmap_v4(&v->host);
	unmap_v4(&v->server);
	v->age_ms = now_ms() - c->start_ms;
	v->bytes_up = c->bytes[DOWN];
	v->bytes_down = c->bytes[UP];
	v->connecting = c->state == C_CONNECTING;
	if (si)
		v->si = *si;
}

static void answer_snapshot(struct worker *w)
{
	struct snap_req *q = atomic_exchange(&w->req, NULL);

	if (!q)
		return;
	for (struct conn *c = w->conns; c; c = c->live_link.next) {
		struct conn_sockinfo si;
		bool open = c->state == C_OPEN;

		if (open)
			conn_sample(c, &si);
		pthread_mutex_lock(&q->mu);
		if (q->n < q->max)
			view_of(c, &q->v[q->n++], open ? &si : NULL);
		pthread_mutex_unlock(&q->mu);
	}
	pthread_mutex_lock(&q->mu);
	if (--q->pending == 0)
		pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[MAX_EVENTS];

	while (!atomic_load(&w->r->stopping)) {
		int n, timeout = 1000;

		/* (now_ms is the last turn's: at most one turn late.) */
		if (w->run_head)
			timeout = 0;
		else if (w->drain)
			timeout = w->drain_ms > w->now_ms ?
					  (int)(w->drain_ms - w->now_ms) : 0;
		if (w->flush) {
			int f = flush_pass(w);

			if (w->run_head)
				timeout = 0;
			else if (f >= 0 && f < timeout)
				timeout = f;
		}
		n = epoll_wait(w->epfd, ev, MAX_EVENTS, timeout);
		w->now_ms = now_ms();

		if (n < 0 && errno != EINTR) {
			pr_err("worker %d: epoll_wait: %s", w->id,
			       strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct ep_tag *t = ev[i].data.ptr;
			struct side *s;

			if (t->kind == EP_WAKE) {
				uint64_t v;

				if (read(w->wakefd, &v, sizeof(v)) < 0) {
					/* spurious wake-up: nothing queued */
				}
				answer_snapshot(w);
				continue;
			}
			if (t->kind == EP_LISTEN) {
				accept_all(w, (struct listener *)t);
				continue;
			}
			s = (struct side *)t;
			if (s->c->state == C_DEAD)
				continue;
			if (ev[i].events &
			    (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				s->readable = true;
			if (ev[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				s->hup = true;
			if (ev[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				s->writable = true;
			enqueue(s->c);
		}
		/* Run what is queued now; pump() may queue a connection again
		 * for the next round. */
		for (struct conn *c = w->run_head, *end = w->run_tail; c;) {
			struct conn *next = c->next_run;
			bool last = c == end;

			w->run_head = next;
			if (!next)
				w->run_tail = NULL;
			c->queued = false;
			pump(c);
			if (last)
				break;
			c = w->run_head;
		}
		drain_pass(w);
		housekeeping(w);
		reap(w);
	}
	return NULL;
}

static int make_listener(struct relay *r, int family, uint16_t *port)
{
	bool mptcp = r->o.role == HYBOND_ROLE_HAG;
	/* The HAG's IPv4 listener is an IPv6 socket bound to ::ffff:127.0.0.1:
	 * the MPTCP connections it accepts are IPv6 sockets and can take a
	 * subflow of either family. */
	int sfam = mptcp ? AF_INET6 : family;
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd, one = 1, v6only = family == AF_INET6;

	fd = socket(sfam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    mptcp ? IPPROTO_MPTCP : IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    set_transparent(fd, sfam))
		goto fail;
	if (sfam == AF_INET6 &&
	    setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))
		goto fail;
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4->sin_port = htons(*port);
		if (sfam == AF_INET6)
			map_v4(&ss);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons(*port);
	}
	if (bind(fd, (struct sockaddr *)&ss, sa_len(&ss)) ||
	    listen(fd, 4096))
		goto fail;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		goto fail;
	*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	if (ss.ss_family == AF_INET)
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
fail:
	one = -errno;
	close(fd);
	return one;
}

/*
 * What every accepted socket should have, set once on its listener: an
 * accepted socket inherits it (TCP copies the listener's settings into the
 * child; MPTCP its connection-level ones, which its subflows, joins
 * included, take from it). Saves a system call or six per connection.
 * Inherited listeners (--takeover) get them too.
 */
static void listener_options(struct relay *r, int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (r->o.role == HYBOND_ROLE_HAG) {
		set_keepalive(fd, r->o.stall_timeout_s);
		set_congestion(r, fd);
	}
}

int relay_create(struct relay **rp, const struct relay_opts *o,
		 uint16_t *lport4, uint16_t *lport6)
{
	struct relay *r = calloc(1, sizeof(*r));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int err = 0;

	if (!r)
		return -ENOMEM;
	r->o = *o;
	if (r->o.bufsize < 4096)
		r->o.bufsize = 4096;
	r->nworkers = o->workers > 0 ? o->workers : (ncpu > 0 ? ncpu : 1);
	r->w = calloc(r->nworkers, sizeof(*r->w));
	if (!r->w) {
		free(r);
		return -ENOMEM;
	}
	*lport4 = *lport6 = 0;
	r->l[0].fd = r->l[1].fd = -1;
	for (int i = 0; i < r->nworkers; i++)
		r->w[i].epfd = r->w[i].wakefd = -1;
	for (int f = 0; f < 2; f++) {
		struct listener *l = &r->l[f];
		uint16_t *port = f == 0 ? lport4 : lport6;
		int fd = o->inherit_fd[f];

		if (fd >= 0) {
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);

			if (getsockname(fd, (struct sockaddr *)&ss, &len))
				fd = -errno;
			else
				*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		} else {
			fd = make_listener(r, f == 0 ? AF_INET : AF_INET6, port);
		}
		if (fd < 0) {
			err = fd;
			pr_err("listener (%s): %s",
			       f == 0 ? "IPv4 127.0.0.1" : "IPv6 ::1",
			       strerror(-err));
			goto fail;
		}
		listener_options(r, fd);
		l->tag.kind = EP_LISTEN;
		l->fd = fd;
		l->family = f == 0 ? AF_INET : AF_INET6;
	}
	for (int i = 0; i < r->nworkers; i++) {
		struct worker *w = &r->w[i];
		struct epoll_event ev = { .events = EPOLLIN };

		w->r = r;
		w->id = i;
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->epfd < 0 || w->wakefd < 0) {
			err = -errno;
			goto fail;
		}
		w->wake_tag.kind = EP_WAKE;
		ev.data.ptr = &w->wake_tag;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev)) {
			err = -errno;
			goto fail;
		}
		for (int f = 0; f < 2; f++) {
			ev.events = EPOLLIN | EPOLLEXCLUSIVE;
			ev.data.ptr = &r->l[f];
			if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, r->l[f].fd, &ev)) {
				err = -errno;
				goto fail;
			}
		}
	}
	*rp = r;
	return 0;
fail:
	relay_destroy(r);
	return err;
}

int relay_listener_fd(const struct relay *r, int f)
{
	return r->l[f].fd;
}

void relay_pause_accept(struct relay *r, bool pause)
{
	for (int i = 0; i < r->nworkers; i++)
		for (int f = 0; f < 2; f++) {
			struct epoll_event ev = {
				.events = EPOLLIN | EPOLLEXCLUSIVE,
				.data.ptr = &r->l[f],
			};

			epoll_ctl(r->w[i].epfd,
				  pause ? EPOLL_CTL_DEL : EPOLL_CTL_ADD,
				  r->l[f].fd, &ev);
		}
}

void relay_set_hold(struct relay *r, struct hold *h)
{
	r->hold = h;
}

int relay_upstream(struct relay *r, struct sockaddr_storage *src,
		   struct sockaddr_storage *dst)
{
	return upstream_socket(r, src, dst);
}

int relay_start(struct relay *r)
{
	char name[16]; /* the kernel's limit for a thread name */

	for (int i = 0; i < r->nworkers; i++) {
		int err = pthread_create(&r->w[i].th, NULL, worker_main,
					 &r->w[i]);

		if (err) {
			pr_err("starting worker %d: %s", i, strerror(err));
			return -err;
		}
		snprintf(name, sizeof(name), "hybond-w%hhu", (unsigned char)i);
		pthread_setname_np(r->w[i].th, name);
		r->w[i].started = true;
	}
	return 0;
}

/* On shutdown every proxied connection is reset on both legs: neither end
 * may believe a stream ended cleanly when it did not. */
static void worker_cleanup(struct worker *w)
{
	while (w->conns)
		conn_close(w->conns, true, true);
	reap(w);
}

void relay_destroy(struct relay *r)
{
	if (!r)
		return;
	atomic_store(&r->stopping, true);
	for (int i = 0; i < r->nworkers; i++) {
		uint64_t one = 1;

		if (r->w[i].wakefd >= 0 &&
		    write(r->w[i].wakefd, &one, sizeof(one)) < 0)
			pr_warn("waking worker %d: %s", i, strerror(errno));
	}
	for (int i = 0; i < r->nworkers; i++) {
		struct worker *w = &r->w[i];

		if (w->started)
			pthread_join(w->th, NULL);
		worker_cleanup(w);
		if (w->epfd >= 0)
			close(w->epfd);
		if (w->wakefd >= 0)
			close(w->wakefd);
		while (w->pool) {
			struct pool_buf *b = w->pool;

			w->pool = b->next;
			free(b);
		}
	}
	for (int f = 0; f < 2; f++)
		if (r->l[f].fd >= 0)
			close(r->l[f].fd);
	free(r->w);
	free(r);
}

void relay_counters(const struct relay *r, struct relay_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < r->nworkers; i++) {
		struct worker *w = &r->w[i];

		out->accepted += atomic_load(&w->accepted);
		out->active += atomic_load(&w->active);
		out->upstream_fail += atomic_load(&w->upstream_fail);
		out->resets += atomic_load(&w->resets);
		out->refused_direct += atomic_load(&w->refused_direct);
		out->bytes_up += atomic_load(&w->bytes_up);
		out->bytes_down += atomic_load(&w->bytes_down);
		out->fallback += atomic_load(&w->fallback);
		out->stalled += atomic_load(&w->stalled);
		out->refused_limit += atomic_load(&w->refused_limit);
		out->idle_closed += atomic_load(&w->idle_closed);
		out->wakeups_lost += atomic_load(&w->wakeups_lost);
		out->rcvbuf_raised += atomic_load(&w->rcvbuf_raised);
		out->spliced += atomic_load(&w->spliced);
		out->splice_overrun += atomic_load(&w->splice_overrun);
		for (int k = 0; k < NET_MAX; k++) {
			out->net_sent[k] += atomic_load(&w->net_sent[k]);
			out->net_recv[k] += atomic_load(&w->net_recv[k]);
		}
	}
}

int relay_snapshot(struct relay *r, struct relay_conn_view **views, int max,
		   int timeout_ms)
{
	struct snap_req q = {
		.mu = PTHREAD_MUTEX_INITIALIZER,
		.cv = PTHREAD_COND_INITIALIZER,
		.max = max,
	};
	struct timespec until;
	int err = 0;

	q.v = calloc(max > 0 ? max : 1, sizeof(*q.v));
	if (!q.v)
		return -ENOMEM;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&q.mu);
	q.pending = r->nworkers;
	for (int i = 0; i < r->nworkers; i++) {
		uint64_t one = 1;

		atomic_store(&r->w[i].req, &q);
		if (write(r->w[i].wakefd, &one, sizeof(one)) < 0)
			err = -errno;
	}
	while (q.pending > 0 && !err)
		if (pthread_cond_timedwait(&q.cv, &q.mu, &until))
			err = -ETIMEDOUT;
	pthread_mutex_unlock(&q.mu);
	if (err) {
		/* Withdraw the request from workers that have not taken it;
		 * those that did are answering and will count down. */
		int withdrawn = 0;

		for (int i = 0; i < r->nworkers; i++) {
			struct snap_req *expect = &q;

			if (atomic_compare_exchange_strong(&r->w[i].req,
							   &expect, NULL))
				withdrawn++;
		}
		pthread_mutex_lock(&q.mu);
		q.pending -= withdrawn;
		while (q.pending > 0)
			pthread_cond_wait(&q.cv, &q.mu);
		pthread_mutex_unlock(&q.mu);
	}
	*views = q.v;
	return q.n;
}
