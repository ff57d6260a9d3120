// SPDX-License-Identifier: GPL-2.0-only
/*
 * hold.c - held SYNs: connect upstream first, then release (see hold.h).
 *
 * One thread with its own epoll: the hybond_events ring, the upstream
 * connects in progress, and a once-a-second timer that closes connected
 * upstreams nobody took (the host gave up in between). The hand-off table
 * between this thread and the relay's workers is the only shared state,
 * behind one mutex, touched once per connection set-up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hold.h"
#include "hybond_abi.h"
#include "log.h"
#include "nl.h"
#include "relay.h"
#include "steer.h"

#define TAB_SIZE 1024
#define HANDOFF_TTL_MS 10000
/* Upstream connects in progress at most: a SYN flood must not turn into
 * as many connections to servers. Past it a SYN is forgotten (the host's
 * retransmission gets another chance). */
#define MAX_PENDING 4096

struct hkey {
	uint8_t fam;
	uint8_t host[16], server[16];
	uint16_t hport, sport;
};

struct handoff {
	struct hkey k;
	int fd;
	uint64_t at_ms;
	struct handoff *next;
};

struct pending {
	int fd;
	struct hybond_event ev;
	struct pending *prev, *next;
};

enum { TAG_RING = 1, TAG_STOP, TAG_TIMER };

/* epoll data for the thread's own fds: addresses of these bytes. */
static uint8_t tags[4];

struct hold {
	struct steer *s;
	struct relay *r;
	bool order;
	int held_fd, reinject_fd;
	struct ring_buffer *rb;
	int epfd, stopfd, timerfd, pktfd;
	struct nl diag;
	pthread_t th;
	bool started;
	pthread_mutex_t mu;
	struct handoff *tab[TAB_SIZE];
	struct pending *pend;
	unsigned int npending;
	_Atomic unsigned int nhandoff; /* entries in tab */
	bool frozen; /* --takeover: held SYNs wait in the ring */
	_Atomic uint64_t released, refused, unreachable, timed_out, tw_cleared,
		refused_limit, overload, answer_failed;
	uint64_t answer_warned_ms; /* the last warning about answer_failed */
	bool fault_send; /* test fault: every answer fails (EPERM) */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void inc(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ---- keys ------------------------------------------------------------- */

static void key_of_event(const struct hybond_event *e, struct hkey *k)
{
	int n = e->t.family == 4 ? 4 : 16;

	memset(k, 0, sizeof(*k));
	k->fam = e->t.family;
	memcpy(k->host, e->t.saddr, n);
	memcpy(k->server, e->t.daddr, n);
	k->hport = ntohs(e->t.sport);
	k->sport = ntohs(e->t.dport);
}

static void sa_put(const struct sockaddr_storage *ss, uint8_t *addr,
		   uint16_t *port, uint8_t *fam)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		memcpy(addr, &s->sin_addr, 4);
		*port = ntohs(s->sin_port);
		*fam = 4;
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;

		memcpy(addr, &s->sin6_addr, 16);
		*port = ntohs(s->sin6_port);
		*fam = 6;
	}
}

static unsigned int key_hash(const struct hkey *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h % TAB_SIZE;
}

static void sockaddr_of(int fam, const void *addr, uint16_t port,
			struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (fam == 4) {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, addr, 4);
		s->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *s = (void *)ss;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, addr, 16);
		s->sin6_port = htons(port);
	}
}

/* ---- hand-off table ------------------------------------------------------ */

static void handoff_put(struct hold *h, const struct hkey *k, int fd)
{
	struct handoff *o = calloc(1, sizeof(*o));
	unsigned int b = key_hash(k);

	if (!o) {
		close(fd);
		return;
	}
	o->k = *k;
	o->fd = fd;
	o->at_ms = now_ms();
	pthread_mutex_lock(&h->mu);
	o->next = h->tab[b];
	h->tab[b] = o;
	h->nhandoff++;
	pthread_mutex_unlock(&h->mu);
}

int hold_take(struct hold *h, const struct sockaddr_storage *host,
	      const struct sockaddr_storage *server)
{
	struct handoff **pp, *o;
	struct hkey k;
	unsigned int b;
	int fd = -1;

	if (!h)
		return -1;
	memset(&k, 0, sizeof(k));
	sa_put(host, k.host, &k.hport, &k.fam);
	sa_put(server, k.server, &k.sport, &k.fam);
	b = key_hash(&k);
	pthread_mutex_lock(&h->mu);
	for (pp = &h->tab[b]; (o = *pp); pp = &o->next) {
		if (!memcmp(&o->k, &k, sizeof(k))) {
			*pp = o->next;
			fd = o->fd;
			free(o);
			h->nhandoff--;
			break;
		}
	}
	pthread_mutex_unlock(&h->mu);
	return fd;
}

/* Upstreams connected for a SYN whose host never completed the handshake. */
static void handoff_expire(struct hold *h, bool all)
{
	uint64_t now = now_ms();

	pthread_mutex_lock(&h->mu);
	for (int b = 0; b < TAB_SIZE; b++) {
		struct handoff **pp = &h->tab[b], *o;

		while ((o = *pp)) {
			if (all || now - o->at_ms > HANDOFF_TTL_MS) {
				struct linger lg = { 1, 0 };

				*pp = o->next;
				setsockopt(o->fd, SOL_SOCKET, SO_LINGER, &lg,
					   sizeof(lg));
				close(o->fd);
				free(o);
				h->nhandoff--;
			} else {
				pp = &o->next;
			}
		}
	}
	pthread_mutex_unlock(&h->mu);
}

/* ---- answers to the host ------------------------------------------------- */

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t pseudo(int fam, const uint8_t *src, const uint8_t *dst,
		       uint8_t proto, uint32_t len)
{
	int n = fam == 4 ? 4 : 16;
	uint32_t sum = sum16(src, n, 0);

	sum = sum16(dst, n, sum);
	return sum + proto + (len >> 16) + (len & 0xffff);
}

/*
 * Turn the held SYN's frame around: MACs swapped, VLAN tags kept, a fresh
 * IP header from S@ to H@ (no options, no extension headers). Returns the
 * offset of the L4 header in out.
 */
static size_t reply_headers(const struct hybond_event *e, uint8_t *out,
			    uint8_t proto, size_t l4len)
{
	const uint8_t *f = e->frame, *fip = f + e->l3_off;
	uint8_t *ip = out + e->l3_off;

	memcpy(out, f + 6, 6);
	memcpy(out + 6, f, 6);
	memcpy(out + 12, f + 12, e->l3_off - 12);
	if (e->t.family == 4) {
		uint16_t tot = htons(20 + l4len);

		memset(ip, 0, 20);
		ip[0] = 0x45;
		memcpy(ip + 2, &tot, 2);
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, fip + 16, 4);
		memcpy(ip + 16, fip + 12, 4);
		{
			uint16_t c = htons(fold(sum16(ip, 20, 0)));

			memcpy(ip + 10, &c, 2);
		}
		return e->l3_off + 20;
	}
	{
		uint16_t plen = htons(l4len);

		memset(ip, 0, 40);
		ip[0] = 0x60;
		memcpy(ip + 4, &plen, 2);
		ip[6] = proto;
		ip[7] = 64;
		memcpy(ip + 8, fip + 24, 16);
		memcpy(ip + 24, fip + 8, 16);
	}
	return e->l3_off + 40;
}

/* Answers a held SYN's host with `frame`. A failure leaves the host to send
 * its SYN again and time out: counted, and warned about once a minute. */
static void send_frame(struct hold *h, const struct hybond_event *e,
		       const uint8_t *frame, size_t len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = (int)e->ifindex,
		.sll_halen = 6,
	};
	char ifname[IF_NAMESIZE] = "?";
	uint64_t n, now;
	int err = 0;

	memcpy(sll.sll_addr, frame, 6);
	if (h->fault_send)
		err = EPERM;
	else if (sendto(h->pktfd, frame, len, 0, (struct sockaddr *)&sll,
			sizeof(sll)) < 0)
		err = errno;
	if (!err)
		return;
	n = atomic_fetch_add(&h->answer_failed, 1) + 1;
	now = now_ms();
	if (h->answer_warned_ms && now - h->answer_warned_ms < 60000) {
		pr_debug("answering a held SYN: %s", strerror(err));
		return;
	}
	h->answer_warned_ms = now;
	if_indextoname(e->ifindex, ifname);
	pr_warn("could not send a host the reset or ICMP error that answers "
		"its held SYN (on %s): %s; the host sends its SYN again and "
		"times out instead (%llu such in all: "
		"handshake.answers_failed in `hybond stats`)",
		ifname, strerror(err), (unsigned long long)n);
}

/* The server refused: a RST|ACK for the host's SYN, from S@. */
static void answer_rst(struct hold *h, const struct hybond_event *e)
{
	uint8_t out[HYBOND_EVENT_FRAME];
	const uint8_t *syn = e->frame + e->l4_off;
	size_t l4 = reply_headers(e, out, 6, 20);
	const uint8_t *ip = out + e->l3_off;
	uint8_t *tcp = out + l4;
	uint32_t seq, ack;
	uint16_t c;

	memcpy(&seq, syn + 4, 4);
	ack = htonl(ntohl(seq) + 1);
	memset(tcp, 0, 20);
	memcpy(tcp, syn + 2, 2);
	memcpy(tcp + 2, syn, 2);
	memcpy(tcp + 8, &ack, 4);
	tcp[12] = 5 << 4;
	tcp[13] = 0x14; /* RST | ACK */
	c = htons(fold(sum16(tcp, 20,
			     pseudo(e->t.family, ip + (e->t.family == 4 ? 12 : 8),
				    ip + (e->t.family == 4 ? 16 : 24), 6, 20))));
	memcpy(tcp + 16, &c, 2);
	send_frame(h, e, out, l4 + 20);
}

/* Unreachable: destination unreachable (host or network) about the SYN. */
static void answer_icmp(struct hold *h, const struct hybond_event *e, int err)
{
	uint8_t out[HYBOND_EVENT_FRAME + 64];
	const uint8_t *orig = e->frame + e->l3_off;
	size_t olen = e->len - e->l3_off, l4, ilen;
	uint8_t *icmp, *ip;
	uint16_t c;

	if (e->t.family == 4) {
		size_t ihl = (orig[0] & 0x0f) * 4;

		if (olen > ihl + 8)
			olen = ihl + 8; /* RFC 792: header + 64 bits */
		ilen = 8 + olen;
		l4 = reply_headers(e, out, 1, ilen);
		icmp = out + l4;
		memset(icmp, 0, 8);
		icmp[0] = 3;
		icmp[1] = err == ENETUNREACH ? 0 : 1;
		memcpy(icmp + 8, orig, olen);
		c = htons(fold(sum16(icmp, ilen, 0)));
	} else {
		ilen = 8 + olen;
		l4 = reply_headers(e, out, 58, ilen);
		ip = out + e->l3_off;
		icmp = out + l4;
		memset(icmp, 0, 8);
		icmp[0] = 1;
		icmp[1] = err == ENETUNREACH ? 0 : 3;
		memcpy(icmp + 8, orig, olen);
		c = htons(fold(sum16(icmp, ilen,
				     pseudo(6, ip + 8, ip + 24, 58, ilen))));
	}
	memcpy(icmp + 2, &c, 2);
	send_frame(h, e, out, l4 + ilen);
}

/* ---- release and forget ------------------------------------------------- */

/*
 * A SYN from a local stack through a veth still carries a partial checksum
 * (CHECKSUM_PARTIAL: the pseudo-header sum only); reinjected as a plain
 * frame it would be dropped as corrupt. Compute the full TCP checksum.
 */
static void fix_tcp_checksum(struct hybond_event *e)
{
	uint8_t *ip = e->frame + e->l3_off, *tcp = e->frame + e->l4_off;
	uint32_t tlen = e->len - e->l4_off;
	uint16_t c = 0;

	if (e->t.family == 4) {
		uint16_t tot;

		memcpy(&tot, ip + 2, 2);
		tlen = ntohs(tot) - (e->l4_off - e->l3_off);
	} else {
		uint16_t plen;

		memcpy(&plen, ip + 4, 2);
		tlen = ntohs(plen) - (e->l4_off - e->l3_off - 40);
	}
	if (e->l4_off + tlen > e->len)
		return;
	memcpy(tcp + 16, &c, 2);
	c = htons(fold(sum16(tcp, tlen,
			     pseudo(e->t.family, ip + (e->t.family == 4 ? 12 : 8),
				    ip + (e->t.family == 4 ? 16 : 24), 6,
				    tlen))));
	memcpy(tcp + 16, &c, 2);
}

/* Reinject a held SYN. The local-delivery mark on it tells the steering
 * program that this copy is the release (see hybond_abi.h): no map update
 * from here. */
static void release(struct hold *h, struct hybond_event *e)
{
	struct __sk_buff ctx = { .ifindex = e->ifindex, .mark = h->s->mark };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = e->frame,
		    .data_size_in = e->len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	fix_tcp_checksum(e);
	if (bpf_prog_test_run_opts(h->reinject_fd, &opts))
		pr_warn("reinjecting a held SYN failed: %s; the host will "
			"retransmit it",
			strerror(errno));
	else
		inc(&h->released);
}

static void forget(struct hold *h, const struct hybond_event *e)
{
	bpf_map_delete_elem(h->held_fd, &e->t);
}

/* Our TIME_WAIT on the tuple (local S@, remote H@) goes away first; a
 * socket still closing there goes too: the host that sent this SYN is done
 * with it. */
static void clear_tw(struct hold *h, const struct hybond_event *e)
{
	int fam = e->t.family == 4 ? AF_INET : AF_INET6;
	int err = nl_destroy_tcp(&h->diag, fam, e->t.daddr, ntohs(e->t.dport),
				 e->t.saddr, ntohs(e->t.sport));

	if (!err)
		inc(&h->tw_cleared);
	else if (err != -ENOENT)
		pr_debug("removing a TIME_WAIT socket: %s", strerror(-err));
}

static void answer(struct hold *h, const struct hybond_event *e, int err)
{
	switch (err) {
	case ECONNREFUSED:
	case ECONNRESET:
		answer_rst(h, e);
		inc(&h->refused);
		break;
	case EHOSTUNREACH:
	case ENETUNREACH:
		answer_icmp(h, e, err);
		inc(&h->unreachable);
		break;
	default:
		/* A server that never answered: nor does the host get one. */
		inc(&h->timed_out);
		break;
	}
	forget(h, e);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct hold *h = ctx;
	struct hybond_event copy, *e = &copy;
	struct sockaddr_storage host, server;
	struct epoll_event ev;
	struct pending *p;
	int fd;

	/* The ring is mapped read-only: work on a copy (release() fixes the
	 * checksum in place). */
	if (size < sizeof(*e))
		return 0;
	memcpy(&copy, data, sizeof(copy));
	if (e->len > HYBOND_EVENT_FRAME ||
	    (uint32_t)e->l4_off + 20 > e->len || e->l3_off < 14)
		return 0;
	if (e->reason & HYBOND_EV_TW)
		clear_tw(h, e);
	if (!(e->reason & HYBOND_EV_HOLD)) {
		release(h, e);
		return 0;
	}
	sockaddr_of(e->t.family, e->t.saddr, ntohs(e->t.sport), &host);
	sockaddr_of(e->t.family, e->t.daddr, ntohs(e->t.dport), &server);
	if (h->npending >= MAX_PENDING) {
		inc(&h->overload);
		forget(h, e);
		return 0;
	}
	if (!relay_admits(h->r, &host)) {
		/* Past a limit: the host's SYN gets a reset, nothing opened. */
		answer_rst(h, e);
		inc(&h->refused_limit);
		forget(h, e);
		return 0;
	}
	fd = relay_upstream(h->r, &host, &server);
	if (fd < 0) {
		answer(h, e, -fd);
		return 0;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		forget(h, e);
		return 0;
	}
	p->fd = fd;
	p->ev = *e;
	ev.events = EPOLLOUT | EPOLLONESHOT;
	ev.data.ptr = p;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		forget(h, e);
		free(p);
		return 0;
	}
	p->next = h->pend;
	if (h->pend)
		h->pend->prev = p;
	h->pend = p;
	h->npending++;
	return 0;
}

static void unlink_pending(struct hold *h, struct pending *p)
{
	h->npending--;
	if (p->prev)
		p->prev->next = p->next;
	else
		h->pend = p->next;
	if (p->next)
		p->next->prev = p->prev;
}

static void on_connected(struct hold *h, struct pending *p)
{
	socklen_t len = sizeof(int);
	struct hkey k;
	int err = 0;

	unlink_pending(h, p);
	/* No EPOLL_CTL_DEL: the one-shot entry is disarmed now, and it goes
	 * with the socket when whoever takes it closes it. */
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		close(p->fd);
		answer(h, &p->ev, err);
	} else {
		key_of_event(&p->ev, &k);
		handoff_put(h, &k, p->fd);
		release(h, &p->ev);
	}
	free(p);
}

static void *hold_main(void *arg)
{
	struct hold *h = arg;

	for (;;) {
		struct epoll_event ev[64];
		int n = epoll_wait(h->epfd, ev, 64, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			void *ptr = ev[i].data.ptr;

			if (ptr == &tags[TAG_STOP])
				return NULL;
			if (ptr == &tags[TAG_RING]) {
				ring_buffer__consume(h->rb);
			} else if (ptr == &tags[TAG_TIMER]) {
				uint64_t t;

				if (read(h->timerfd, &t, sizeof(t)) > 0)
					handoff_expire(h, false);
			} else {
				on_connected(h, ptr);
			}
		}
	}
	return NULL;
}

int hold_start(struct hold **hp, struct steer *s, struct relay *r, bool order)
{
	struct hold *h = calloc(1, sizeof(*h));
	struct itimerspec its = { { 1, 0 }, { 1, 0 } };
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	if (!h)
		return -ENOMEM;
	h->s = s;
	h->r = r;
	h->order = order;
	h->epfd = h->stopfd = h->timerfd = h->pktfd = -1;
	pthread_mutex_init(&h->mu, NULL);
	h->held_fd = steer_held_fd(s);
	h->reinject_fd = steer_reinject_fd(s);
	h->rb = ring_buffer__new(steer_events_fd(s), on_event, h, NULL);
	if (!h->rb) {
		err = -errno;
		goto fail;
	}
	err = nl_open(&h->diag, NETLINK_SOCK_DIAG);
	if (err)
		goto fail;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	h->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	h->pktfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (h->epfd < 0 || h->stopfd < 0 || h->timerfd < 0 || h->pktfd < 0) {
		err = -errno;
		goto fail;
	}
	h->fault_send = test_fault("hold-send",
				   "held SYNs: every answer to a host fails");
	timerfd_settime(h->timerfd, 0, &its, NULL);
	ev.data.ptr = &tags[TAG_RING];
	epoll_ctl(h->epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(h->rb), &ev);
	ev.data.ptr = &tags[TAG_STOP];
	epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->stopfd, &ev);
	ev.data.ptr = &tags[TAG_TIMER];
	epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->timerfd, &ev);
	err = pthread_create(&h->th, NULL, hold_main, h);
	if (err) {
		err = -err;
		goto fail;
	}
	pthread_setname_np(h->th, "hybond-hold");
	h->started = true;
	*hp = h;
	return 0;
fail:
	hold_stop(h);
	return err;
}

void hold_stop(struct hold *h)
{
	if (!h)
		return;
	if (h->started) {
		uint64_t one = 1;

		if (write(h->stopfd, &one, sizeof(one)) < 0)
			pr_warn("stopping the hold thread: %s", strerror(errno));
		pthread_join(h->th, NULL);
	}
	while (h->pend) {
		struct pending *p = h->pend;

		h->pend = p->next;
		close(p->fd);
		forget(h, &p->ev);
		free(p);
	}
	handoff_expire(h, true);
	ring_buffer__free(h->rb);
	nl_close(&h->diag);
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->stopfd >= 0)
		close(h->stopfd);
	if (h->timerfd >= 0)
		close(h->timerfd);
	if (h->pktfd >= 0)
		close(h->pktfd);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

int hold_freeze(struct hold *h, int timeout_ms)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned int left = 0;

	if (!h)
		return 0;
	/* The thread may be in epoll_wait: taking the ring out of its set is
	 * safe from here, and what it already read it finishes. */
	epoll_ctl(h->epfd, EPOLL_CTL_DEL, ring_buffer__epoll_fd(h->rb), &ev);
	h->frozen = true;
	for (int i = 0; i < timeout_ms / 10; i++) {
		left = __atomic_load_n(&h->npending, __ATOMIC_RELAXED) +
		       atomic_load(&h->nhandoff);
		if (!left)
			break;
		usleep(10000);
	}
	return (int)left;
}

void hold_thaw(struct hold *h)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.ptr = &tags[TAG_RING] };

	if (!h || !h->frozen)
		return;
	h->frozen = false;
	epoll_ctl(h->epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(h->rb), &ev);
}

void hold_counters(struct hold *h, struct hold_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (!h)
		return;
	out->released = atomic_load(&h->released);
	out->refused = atomic_load(&h->refused);
	out->unreachable = atomic_load(&h->unreachable);
	out->timed_out = atomic_load(&h->timed_out);
	out->tw_cleared = atomic_load(&h->tw_cleared);
	out->refused_limit = atomic_load(&h->refused_limit);
	out->overload = atomic_load(&h->overload);
	out->answer_failed = atomic_load(&h->answer_failed);
}
