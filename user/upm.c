// SPDX-License-Identifier: GPL-2.0-only
/*
 * upm.c - hybond's userspace MPTCP path manager (see upm.h).
 *
 * Events come on their own generic netlink socket (non-blocking, joined to
 * the `mptcp_pm_events` group); commands go on another with acks. A
 * connection is remembered by token from MPTCP_EVENT_ESTABLISHED to
 * MPTCP_EVENT_CLOSED, with which of its targets have a live subflow, so
 * that a subflow lost with the secondary link is made again (from 250 ms,
 * doubling up to 8 s) and MP_PRIO can be sent on every secondary subflow.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/mptcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "log.h"
#include "sysctl.h"
#include "upm.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define TAB_SIZE 4096 /* buckets; connections chain */
#define RETRY_FIRST_MS 250
#define RETRY_MAX_MS 8000
/* How long a subflow still connecting when the switch turned is offered
 * its state again (a join takes a round trip or, lost, a few seconds). */
#define PRIO_RETRY_MS 10000
/* After lost events, how long before the tracked connections are checked
 * against the kernel's (the ones still closing have gone by then). */
#define SWEEP_DELAY_MS 1000
#define PM_TYPE_PATH "/proc/sys/net/mptcp/pm_type"
/* Address ids tried when the kernel refuses ours (see announce()). */
#define ANNOUNCE_IDS 8
/* Requests in a pass over the connections (a tick after a burst of them, a
 * switch of the secondary) between two reads of the event socket. Each is
 * a round trip to the kernel; a pass of thousands takes long enough for
 * the events meanwhile (a few per connection) to overflow the socket's
 * buffer, and a lost event is a connection never joined or announced. */
#define REQS_PER_READ 64

struct upm_conn {
	struct upm_conn *next;
	uint32_t token;
	int family;
	int msk_family; /* the MPTCP socket's: IPv4 may travel mapped */
	uint8_t want; /* targets (bits) this connection joins */
	uint8_t up;   /* targets with a subflow made or being made */
	uint8_t prio; /* targets whose subflow still lacks the switch's state */
	uint8_t listed; /* targets whose subflow the sweep found (a sweep's) */
	uint8_t stale; /* targets whose sport is of a subflow the sweep found
			* gone (its close, should it come late, is not the
			* new subflow's) */
	uint8_t tgt_local[UPM_MAX_TARGETS]; /* index into o.local per target */
	uint64_t retry_at_ms; /* 0: nothing to retry */
	uint64_t prio_until_ms; /* prio: tried again each tick until then */
	uint64_t join_at_ms;  /* --join-after: no subflow before; 0: passed */
	unsigned int backoff_ms;
	uint16_t dport; /* the connection's remote port (host order) */
	/* Our end's port of the subflow to each target, from its
	 * MPTCP_EVENT_SUB_ESTABLISHED or a sweep's listing (0: not known):
	 * a close names its subflow by it. */
	uint16_t sport[UPM_MAX_TARGETS];
	uint64_t announce_at_ms; /* --announce-after: not before; 0: done */
	bool alive; /* seen by the last sweep */
	bool sub_listed; /* ... with a subflow of it (so listed is known) */
	bool gone;  /* a join was refused: the kernel has no such token */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

static bool addr_eq(const struct hb_addr *a, const struct hb_addr *b)
{
	return a->family == b->family && !memcmp(&a->v6, &b->v6, alen(a->family));
}

static bool in_prefix(const struct hb_addr *p, const struct hb_addr *a)
{
	const uint8_t *x = (const uint8_t *)&p->v6, *y = (const uint8_t *)&a->v6;
	unsigned int bits = p->prefixlen, i;

	if (p->family != a->family)
		return false;
	for (i = 0; bits >= 8; i++, bits -= 8)
		if (x[i] != y[i])
			return false;
	return !bits || !((x[i] ^ y[i]) & (uint8_t)(0xff << (8 - bits)));
}

/* ---- parsing of the command-line forms ---------------------------------- */

static int parse_addr_port(const char *s, struct hb_addr *a, uint16_t *port,
			   char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *p;
	char *end;
	unsigned long v;
	size_t n;

	if (*s == '[') {
		p = strchr(s, ']');
		if (!p || p[1] != ':')
			goto bad;
		n = (size_t)(p - s - 1);
		colon = p + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			goto bad;
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, s, n);
	host[n] = '\0';
	if (hb_addr_parse(host, a)) {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", host);
		return -EINVAL;
	}
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || v == 0 || v > 65535) {
		snprintf(err, errlen, "'%s' is not a port (1-65535)", colon + 1);
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
bad:
	snprintf(err, errlen,
		 "expected ADDR:PORT (IPv6 as [ADDR]:PORT), e.g. "
		 "198.51.100.1:9300 or [2001:db8:2::1]:9300");
	return -EINVAL;
}

int upm_parse_target(const char *s, bool with_prefix, struct upm_target *t,
		     char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (with_prefix) {
		const char *eq = strchr(s, '=');
		char pfx[INET6_ADDRSTRLEN + 8];
		size_t n;
		int e;

		if (!eq || (n = (size_t)(eq - s)) == 0 || n >= sizeof(pfx)) {
			snprintf(err, errlen,
				 "expected PREFIX/LEN=ADDR:PORT, e.g. "
				 "192.0.2.0/24=198.51.100.2:9400");
			return -EINVAL;
		}
		memcpy(pfx, s, n);
		pfx[n] = '\0';
		e = hb_prefix_parse(pfx, &t->prefix);
		if (e) {
			snprintf(err, errlen,
				 e == -ERANGE ? "'%s' has no valid prefix length" :
						"'%s' is not an IPv4 or IPv6 prefix",
				 pfx);
			return -EINVAL;
		}
		s = eq + 1;
	}
	if (parse_addr_port(s, &t->addr, &t->port, err, errlen))
		return -EINVAL;
	if (with_prefix && t->prefix.family != t->addr.family) {
		snprintf(err, errlen,
			 "the prefix and the address are of different families; "
			 "a connection's subflows share its family");
		return -EINVAL;
	}
	return 0;
}

/* ---- commands ----------------------------------------------------------- */

static struct nlmsghdr *cmd_msg(struct upm *u, char *buf, uint8_t cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = u->family_id;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = MPTCP_PM_VER;
	return nlh;
}

/* Every request goes through here, to be counted for REQS_PER_READ. */
static int request(struct upm *u, struct nlmsghdr *nlh)
{
	u->reqs++;
	return nl_request(&u->cmd, nlh, NULL, NULL);
}

/* Between two buckets of a pass: read the events if the pass has made
 * REQS_PER_READ requests since they were last read. The events may add
 * and drop connections, so no pointer into the table may be held. */
/* An event was lost (or, under a test fault, taken as lost): count it,
 * and check the tracked connections against the kernel's soon. */
static void event_lost(struct upm *u)
{
	u->st.events_lost++;
	if (!u->sweep_at_ms)
		u->sweep_at_ms = now_ms() + SWEEP_DELAY_MS;
}

static void read_events_if_due(struct upm *u)
{
	if (u->reqs >= REQS_PER_READ)
		upm_handle_events(u);
}

static void put_nest(struct nlmsghdr *nlh, uint16_t type,
		     const struct hb_addr *a, int id, uint16_t port,
		     uint32_t flags, int ifindex)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);

	mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_FAMILY, a->family);
	if (a->family == AF_INET)
		mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR4, 4, &a->v4);
	else
		mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR6, 16, &a->v6);
	if (id >= 0)
		mnl_attr_put_u8(nlh, MPTCP_PM_ADDR_ATTR_ID, (uint8_t)id);
	if (port)
		mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_PORT, port);
	if (flags)
		mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_FLAGS, flags);
	if (ifindex)
		mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_IF_IDX, ifindex);
	mnl_attr_nest_end(nlh, nest);
}

/* An IPv4 address as the IPv6 socket of the connection knows it. */
static struct hb_addr as_msk(const struct upm_conn *c, const struct hb_addr *a)
{
	struct hb_addr m = *a;

	if (c->msk_family == AF_INET6 && a->family == AF_INET) {
		memset(&m, 0, sizeof(m));
		m.family = AF_INET6;
		m.v6.s6_addr[10] = m.v6.s6_addr[11] = 0xff;
		memcpy(&m.v6.s6_addr[12], &a->v4, 4);
	}
	return m;
}

static int subflow_create(struct upm *u, struct upm_conn *c, int ti)
{
	const struct upm_target *t = &u->o.targets[ti];
	int li = c->tgt_local[ti];
	char buf[512];
	struct nlmsghdr *nlh = cmd_msg(u, buf, MPTCP_PM_CMD_SUBFLOW_CREATE);
	int err;

	struct hb_addr la = as_msk(c, &u->o.local[li]), ra = as_msk(c, &t->addr);

	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_TOKEN, c->token);
	put_nest(nlh, MPTCP_PM_ATTR_ADDR, &la, li + 1, 0,
		 u->o.backup ? MPTCP_PM_ADDR_FLAG_BACKUP : 0, 0);
	put_nest(nlh, MPTCP_PM_ATTR_ADDR_REMOTE, &ra, -1, t->port, 0, 0);
	err = request(u, nlh);
	if (err) {
		char a[INET6_ADDRSTRLEN];

		u->st.subflow_errors++;
		pr_debug("subflow to %s port %u for token %08x: %s%s%s",
			 hb_addr_str(&t->addr, a, sizeof(a)), t->port, c->token,
			 strerror(-err), u->cmd.err[0] ? ": " : "", u->cmd.err);
		/* The connection closed and its MPTCP_EVENT_CLOSED was lost
		 * (or is still on its way): upm_tick forgets it. */
		if (strstr(u->cmd.err, "invalid token"))
			c->gone = true;
		return err;
	}
	u->st.subflows_created++;
	return 0;
}

static int announce_id(struct upm *u, struct upm_conn *c, int i, int id)
{
	char buf[512];
	struct nlmsghdr *nlh = cmd_msg(u, buf, MPTCP_PM_CMD_ANNOUNCE);

	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_TOKEN, c->token);
	put_nest(nlh, MPTCP_PM_ATTR_ADDR, &u->o.local[i], id,
		 u->o.announce_port, MPTCP_PM_ADDR_FLAG_SIGNAL, 0);
	return request(u, nlh);
}

/* At once: the connection's family. After --announce-after: every
 * address, as the kernel's PM does (an IPv4 connection takes an IPv6
 * subflow too; two subflows on the secondary carry a single bulk
 * faster, see README).
 * Address i goes with id i + 1. But a join that reached the address
 * before we announced it (a CPE given --hag-secondary joins on its own
 * clock; the kernel refuses that join, MismatchPortSynRx) made the kernel
 * file the address under the first free id, and it then refuses the
 * address under any other ("did not match address and id"): so the other
 * ids are tried in turn, and the CPE's next try finds the port. */
static void announce(struct upm *u, struct upm_conn *c)
{
	for (int i = 0; i < u->o.nlocal; i++) {
		int err;

		if (u->o.local[i].family != c->family &&
		    !u->o.announce_after_ms)
			continue;
		err = announce_id(u, c, i, i + 1);
		for (int id = 1; err && id <= ANNOUNCE_IDS &&
				 strstr(u->cmd.err, "did not match");
		     id++)
			if (id != i + 1)
				err = announce_id(u, c, i, id);
		if (!err)
			u->st.announced++;
		else
			pr_debug("announcing to token %08x: %s", c->token,
				 u->cmd.err);
	}
}

static int set_flags(struct upm *u, struct upm_conn *c, int ti, bool backup)
{
	const struct upm_target *t = &u->o.targets[ti];
	int li = c->tgt_local[ti];
	char buf[512];
	struct nlmsghdr *nlh = cmd_msg(u, buf, MPTCP_PM_CMD_SET_FLAGS);

	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_TOKEN, c->token);
	put_nest(nlh, MPTCP_PM_ATTR_ADDR, &u->o.local[li], li + 1, 0,
		 backup ? MPTCP_PM_ADDR_FLAG_BACKUP : 0, 0);
	put_nest(nlh, MPTCP_PM_ATTR_ADDR_REMOTE, &t->addr, -1, t->port, 0, 0);
	return request(u, nlh);
}

/* Give target ti's subflow of c the switch's state (u->o.backup). One
 * still connecting (its MP_JOIN on the way: the kernel finds no subflow
 * to send MP_PRIO on, and the join would keep the flag it was made with
 * for its life; seen in a 6.12 guest with 60 ms round trips, the
 * secondary switched on and carrying nothing) or just gone is tried again
 * each tick (upm_tick) for PRIO_RETRY_MS. Returns 1 when sent, 0 when left
 * to the tick, or any other error. */
static int give_state(struct upm *u, struct upm_conn *c, int ti)
{
	uint8_t bit = (uint8_t)(1u << ti);
	int e = set_flags(u, c, ti, u->o.backup);

	if (!e) {
		c->prio &= (uint8_t)~bit;
		return 1;
	}
	pr_debug("path manager: token %08x: switching target %d: %s%s",
		 c->token, ti, strerror(-e),
		 e == -EINVAL || e == -ENOENT ? " (tried again each tick)" : "");
	if (e != -EINVAL && e != -ENOENT)
		return e;
	c->prio |= bit;
	c->prio_until_ms = now_ms() + PRIO_RETRY_MS;
	return 0;
}

/* ---- the connection table ----------------------------------------------- */

static struct upm_conn **slot(struct upm *u, uint32_t token)
{
	struct upm_conn **p = &u->tab[(token * 2654435761u) % TAB_SIZE];

	while (*p && (*p)->token != token)
		p = &(*p)->next;
	return p;
}

/* Make the connection's subflows to the targets it wants and lacks. */
static void join_missing(struct upm *u, struct upm_conn *c)
{
	bool failed = false;

	if (c->join_at_ms) {
		if (now_ms() < c->join_at_ms) {
			c->retry_at_ms = c->join_at_ms;
			return;
		}
		c->join_at_ms = 0;
	}

	for (int ti = 0; ti < u->o.ntargets; ti++) {
		uint8_t bit = (uint8_t)(1u << ti);

		if (!(c->want & bit) || (c->up & bit))
			continue;
		if (subflow_create(u, c, ti)) {
			failed = true;
			if (c->gone)
				break;
		} else {
			c->up |= bit;
			c->prio &= (uint8_t)~bit;
		}
	}
	if (failed) {
		c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : RETRY_FIRST_MS;
		if (c->backoff_ms > RETRY_MAX_MS)
			c->backoff_ms = RETRY_MAX_MS;
		c->retry_at_ms = now_ms() + c->backoff_ms;
	} else {
		c->retry_at_ms = 0;
	}
}

struct ev {
	uint8_t cmd;
	uint32_t token;
	int family;
	bool have_token, server_side;
	struct hb_addr saddr, daddr;
	uint16_t sport, dport; /* host order */
	uint8_t error;
	int msk_family;
};

/* The test fault pm-late-sub-closed: each MPTCP_EVENT_SUB_CLOSED is
 * counted as lost (so the sweep runs) and handled only LATE_MS after it
 * came, after the sweep has found its subflow gone and made it again: a
 * close the kernel sends late, exaggerated. */
#define LATE_MS 2500
#define LATE_MAX 16
struct upm_late {
	unsigned int n;
	struct {
		struct ev e;
		uint64_t at_ms;
	} ev[LATE_MAX];
};

/* Our secondary address a subflow to an address of this family leaves
 * from (the first of the family), or -1 without one. */
static int local_for(const struct upm *u, int family)
{
	for (int li = 0; li < u->o.nlocal; li++)
		if (u->o.local[li].family == family)
			return li;
	return -1;
}

/* The same for a connection whose MPTCP socket is of msk_family: an IPv4
 * socket takes no IPv6 subflow (an IPv6 one takes IPv4, mapped). */
static int join_local(const struct upm *u, int msk_family, int family)
{
	if (family == AF_INET6 && msk_family != AF_INET6)
		return -1;
	return local_for(u, family);
}

/* An IPv4-mapped IPv6 address as the IPv4 address it is. */
static void unmap_addr(struct hb_addr *a)
{
	struct in_addr v4;

	if (a->family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a->v6))
		return;
	memcpy(&v4, &a->v6.s6_addr[12], 4);
	a->family = AF_INET;
	a->v4 = v4;
}

/* A dual-stack listener's IPv4 connections come as IPv4-mapped IPv6:
 * match and join them as the IPv4 they are. */
static void unmap(struct ev *e)
{
	e->msk_family = e->family;
	if (e->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&e->daddr.v6)) {
		unmap_addr(&e->daddr);
		unmap_addr(&e->saddr);
		e->family = AF_INET;
	}
}

static void on_established(struct upm *u, const struct ev *e)
{
	struct upm_conn **p, *c;
	uint8_t want = 0;
	uint8_t tl[UPM_MAX_TARGETS] = { 0 };
	bool lazy;

	if (e->server_side != u->o.server || u->passive)
		return;
	p = slot(u, e->token);
	if (*p)
		return;
	for (int ti = 0; ti < u->o.ntargets; ti++) {
		const struct upm_target *t = &u->o.targets[ti];
		int li;

		if (t->announced || t->addr.family != e->family)
			continue;
		if (t->prefix.family && !in_prefix(&t->prefix, &e->daddr))
			continue;
		li = local_for(u, t->addr.family);
		if (li < 0)
			continue;
		want |= (uint8_t)(1u << ti);
		tl[ti] = (uint8_t)li;
		/* The HAG's map: the first prefix that covers the subscriber
		 * names its CPE. */
		if (u->o.server)
			break;
	}
	u->st.established++;
	{
		char a[INET6_ADDRSTRLEN];

		pr_debug("path manager: token %08x established, remote %s, "
			 "%s",
			 e->token, hb_addr_str(&e->daddr, a, sizeof(a)),
			 want ? "joining" :
			 u->o.server && u->o.announce_port ? "announcing" :
			 u->o.learn ? "joining what the HAG announces" :
				      "nothing to do");
	}
	lazy = !want && !u->o.learn && u->o.server && u->o.announce_port &&
	       u->o.announce_after_ms;
	if (!want && !u->o.learn && !lazy) {
		if (u->o.server && u->o.announce_port) {
			struct upm_conn tmp = { .token = e->token,
						.family = e->family };

			announce(u, &tmp);
		}
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->token = e->token;
	c->family = e->family;
	c->msk_family = e->msk_family;
	c->want = want;
	c->dport = e->dport;
	memcpy(c->tgt_local, tl, sizeof(tl));
	if (u->o.join_after_ms)
		c->join_at_ms = now_ms() + u->o.join_after_ms;
	/* --announce-after: tracked until upm_tick announces or it closes. */
	if (lazy)
		c->announce_at_ms = now_ms() + u->o.announce_after_ms;
	*p = c;
	u->nconns++;
	if (want)
		join_missing(u, c);
}

/* The target a subflow event of c is about: the CPE's subflow has the
 * target as destination; the HAG's too (it connects to CPE@2). -1: none
 * of those c has a subflow to. */
static int subflow_target(const struct upm *u, const struct upm_conn *c,
			  const struct ev *e)
{
	for (int ti = 0; ti < u->o.ntargets; ti++) {
		const struct upm_target *t = &u->o.targets[ti];

		if ((c->up & (1u << ti)) && addr_eq(&e->daddr, &t->addr) &&
		    e->dport == t->port)
			return ti;
	}
	return -1;
}

/* c's subflow to target ti is gone: make it again later. */
static void subflow_gone(struct upm *u, struct upm_conn *c, int ti)
{
	c->up &= (uint8_t)~(1u << ti);
	if (!c->retry_at_ms) {
		c->backoff_ms = c->backoff_ms ? c->backoff_ms : RETRY_FIRST_MS;
		c->retry_at_ms = now_ms() + c->backoff_ms;
	}
	u->st.retries++;
}

/* A subflow of a connection we track closed: if it was one of ours, make
 * it again later. */
static void on_sub_closed(struct upm *u, const struct ev *e)
{
	struct upm_conn *c = *slot(u, e->token);
	int ti = c ? subflow_target(u, c, e) : -1;
	uint8_t bit;

	if (ti < 0 || !(c->want & (1u << ti)))
		return;
	/* After a sweep found the subflow gone and made it again, its own
	 * close may still come (the kernel sends it from a worker): it is
	 * not the new subflow's, which the port tells. */
	bit = (uint8_t)(1u << ti);
	if ((c->stale & bit) ? e->sport == c->sport[ti] :
			       c->sport[ti] && e->sport != c->sport[ti]) {
		pr_debug("path manager: connection %08x: the close of an "
			 "earlier subflow (port %u) to target %d came after "
			 "it was made again: ignored", c->token, e->sport, ti);
		if (c->stale & bit) { /* the new one's port comes with it */
			c->stale &= (uint8_t)~bit;
			c->sport[ti] = 0;
		}
		return;
	}
	c->stale &= (uint8_t)~bit;
	c->sport[ti] = 0;
	subflow_gone(u, c, ti);
}

/* The CPE without --hag-secondary: the HAG announced an address to this
 * connection. It becomes a target (one table for all connections: a CPE
 * has one HAG) that this connection wants, as the kernel's PM would join
 * it: from our secondary address of its family, an IPv4 one on an IPv6
 * socket too. */
static void learn_announced(struct upm *u, struct upm_conn *c,
			    const struct ev *e)
{
	uint16_t port = e->dport ? e->dport : c->dport;
	int ti, li;

	li = join_local(u, c->msk_family, e->daddr.family);
	if (li < 0 || !port)
		return;
	for (ti = 0; ti < u->o.ntargets; ti++)
		if (u->o.targets[ti].announced &&
		    addr_eq(&u->o.targets[ti].addr, &e->daddr) &&
		    u->o.targets[ti].port == port)
			break;
	if (ti == u->o.ntargets) {
		char a[INET6_ADDRSTRLEN];

		if (ti == UPM_MAX_TARGETS) {
			if (!u->targets_full_logged)
				pr_warn("path manager: more than %d addresses "
					"announced; %s port %u is not joined",
					UPM_MAX_TARGETS,
					hb_addr_str(&e->daddr, a, sizeof(a)),
					port);
			u->targets_full_logged = true;
			return;
		}
		memset(&u->o.targets[ti], 0, sizeof(u->o.targets[ti]));
		u->o.targets[ti].addr = e->daddr;
		u->o.targets[ti].port = port;
		u->o.targets[ti].announced = true;
		u->o.ntargets++;
		if (u->o.join_after_ms)
			pr_info("path manager: the HAG announced %s port %u: "
				"joining it from each connection that lasts "
				"%u ms",
				hb_addr_str(&e->daddr, a, sizeof(a)), port,
				u->o.join_after_ms);
		else
			pr_info("path manager: the HAG announced %s port %u: "
				"joining it",
				hb_addr_str(&e->daddr, a, sizeof(a)), port);
	}
	if (c->want & (1u << ti))
		return;
	c->want |= (uint8_t)(1u << ti);
	c->tgt_local[ti] = (uint8_t)li;
	join_missing(u, c);
}

/* The peer announced an address: the CPE learns it (above); on the HAG, if
 * it is a target this connection still lacks a subflow to (the HAG's join
 * raced the CPE's ADD_ADDR of its port, which the kernel wants first), try
 * now rather than after the backoff. */
static void on_announced(struct upm *u, const struct ev *e)
{
	struct upm_conn *c = *slot(u, e->token);

	if (c && u->o.learn) {
		learn_announced(u, c, e);
		return;
	}
	if (!c || !c->retry_at_ms)
		return;
	for (int ti = 0; ti < u->o.ntargets; ti++)
		if ((c->want & ~c->up & (1u << ti)) &&
		    addr_eq(&e->daddr, &u->o.targets[ti].addr)) {
			join_missing(u, c);
			return;
		}
}

/* A subflow came up. One joined while the secondary is on standby was
 * asked for as backup, but a kernel may have made it without the flag:
 * 6.1's MPTCP_PM_CMD_SUBFLOW_CREATE ignores it (6.1 guest: the joins'
 * MPTCP flags "Jjec", no backup bit, no MP_PRIO, and an 8 Mbit/s stream
 * 42-49% on the secondary). So the flag is set once more (retried like a
 * switch's); where it took, the kernel has nothing to change. */
static void on_sub_established(struct upm *u, const struct ev *e)
{
	struct upm_conn *c = *slot(u, e->token);
	int ti;

	if (!c)
		return;
	c->backoff_ms = 0;
	ti = subflow_target(u, c, e);
	if (ti < 0)
		return;
	c->sport[ti] = e->sport;
	c->stale &= (uint8_t)~(1u << ti);
	if (u->o.backup)
		give_state(u, c, ti);
}

/* Stop tracking *p: the connection is closed. */
static void forget(struct upm *u, struct upm_conn **p)
{
	struct upm_conn *c = *p;

	*p = c->next;
	if (c->join_at_ms || c->announce_at_ms)
		u->st.ended_unjoined++;
	free(c);
	u->nconns--;
	u->st.closed++;
}

static void on_closed(struct upm *u, const struct ev *e)
{
	struct upm_conn **p = slot(u, e->token);

	if (*p)
		forget(u, p);
}

/* What the sweep found in the kernel's list: the tracked connections it
 * still has (marked alive), and the live ones of ours it does not track. */
struct sweep_walk {
	struct upm *u;
	uint64_t *own; /* inodes of this process's sockets, sorted */
	size_t nown;
	struct sweep_found {
		struct mptcp_conn_diag d;
		bool tracked; /* then: its targets completed, if still */
	} *found;
	size_t nfound, cap;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The inodes of this process's sockets (/proc/self/fd): a connection is
 * adopted only if it is one of ours, not another program's or, during a
 * takeover, the other hybond's. */
static int own_sockets(uint64_t **out, size_t *n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[300], link[64];
		unsigned long long ino;
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = 0;
		if (sscanf(link, "socket:[%llu]", &ino) != 1)
			continue;
		if (*n == cap) {
			size_t c2 = cap ? 2 * cap : 1024;
			uint64_t *m = realloc(*out, c2 * sizeof(**out));

			if (!m) {
				closedir(d);
				*n = 0;
				return -ENOMEM;
			}
			*out = m;
			cap = c2;
		}
		(*out)[(*n)++] = ino;
	}
	closedir(d);
	qsort(*out, *n, sizeof(**out), cmp_u64);
	return 0;
}

/* A CPE joining what the HAG announces: an announced address c does not
 * join (its ANNOUNCED event lost, or still to come) and could (as
 * learn_announced judges: an IPv4 socket takes no IPv6 subflow, and we
 * need a secondary address of the family). */
static bool lacks_announced(const struct upm *u, const struct upm_conn *c)
{
	for (int ti = 0; ti < u->o.ntargets; ti++) {
		const struct upm_target *t = &u->o.targets[ti];

		if (t->announced && !(c->want & (1u << ti)) &&
		    join_local(u, c->msk_family, t->addr.family) >= 0)
			return true;
	}
	return false;
}

static void sweep_cb(const struct mptcp_conn_diag *d, void *data)
{
	struct sweep_walk *w = data;
	struct upm *u = w->u;
	struct upm_conn *c = *slot(u, d->token);

	if (c)
		c->alive = true;
	/* Established and still MPTCP. Untracked (its
	 * MPTCP_EVENT_ESTABLISHED lost): ours, no subflow joined, and on the
	 * HAG not announced to (hybond's PM counts its announcements there;
	 * the CPE's kernel does not count the ones it received). Tracked by
	 * a CPE that learns the HAG's addresses: lacking an address the HAG
	 * announced to the others (its ANNOUNCED event lost, or to come:
	 * either way the join waits for --join-after, by which the HAG,
	 * announcing sooner, has announced it; if not, it is refused and
	 * tried again). */
	if (d->state != 1 /* TCP_ESTABLISHED */ || d->fallback)
		return;
	if (c ? !u->o.learn || !lacks_announced(u, c) :
		d->subflows || (u->o.server && d->add_addr_signal) ||
			!w->nown ||
			!bsearch(&d->inode, w->own, w->nown, sizeof(*w->own),
				 cmp_u64))
		return;
	if (w->nfound == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;
		struct sweep_found *m = realloc(w->found, cap * sizeof(*m));

		if (!m)
			return;
		w->found = m;
		w->cap = cap;
	}
	w->found[w->nfound++] = (struct sweep_found){ *d, c != NULL };
}

/* A live connection whose MPTCP_EVENT_ESTABLISHED was lost: followed as if
 * it had come (joined after --join-after, announced to after
 * --announce-after). A CPE that joins what the HAG announces joins what it
 * announced to the others, here and for a tracked connection that lacks
 * them: its ADD_ADDRs may be lost too, and the HAG announces the same
 * addresses to every connection (a join to one it has not announced here
 * is refused and tried again later). */
static void adopt(struct upm *u, const struct sweep_found *f,
		  uint64_t *completed)
{
	const struct mptcp_conn_diag *d = &f->d;
	struct ev e = {
		.cmd = MPTCP_EVENT_ESTABLISHED,
		.token = d->token,
		.have_token = true,
		.family = d->family,
		.server_side = u->o.server,
		.saddr = d->saddr,
		.daddr = d->daddr,
		.sport = d->sport,
		.dport = d->dport,
	};
	struct upm_conn *c = *slot(u, d->token);

	if (!c != !f->tracked) /* it closed, or its event came, meanwhile */
		return;
	if (!c) {
		uint64_t before = u->st.established;

		unmap(&e);
		on_established(u, &e);
		if (u->st.established == before)
			return;
		u->st.adopted++;
		c = *slot(u, d->token);
	}
	if (!c || !u->o.learn)
		return;
	if (f->tracked)
		++*completed;
	for (int ti = 0; ti < u->o.ntargets; ti++) {
		struct ev a = { .daddr = u->o.targets[ti].addr,
				.dport = u->o.targets[ti].port };

		if (u->o.targets[ti].announced)
			learn_announced(u, c, &a);
	}
}

/* A subflow the kernel has: if it belongs to a tracked connection (by its
 * local token), mark the target it goes to as found. */
static void sweep_subflow_cb(const struct mptcp_subflow_diag *d, void *data)
{
	struct upm *u = data;
	struct upm_conn *c = *slot(u, d->token);
	struct ev e = { .daddr = d->daddr, .dport = d->dport };
	int ti;

	if (!c || !d->token)
		return;
	c->sub_listed = true;
	unmap_addr(&e.daddr);
	ti = subflow_target(u, c, &e);
	if (ti < 0)
		return;
	c->listed |= (uint8_t)(1u << ti);
	/* A subflow whose MPTCP_EVENT_SUB_ESTABLISHED was lost (not one
	 * closing: the listing has those too). */
	if (!c->sport[ti] && !(c->stale & (1u << ti)) &&
	    d->state == 1 /* TCP_ESTABLISHED */)
		c->sport[ti] = d->sport;
}

/* Has a tracked connection a subflow of ours, made or being made? A HAG
 * that only announces has none, and lists no subflow in its sweep. */
static bool any_up(const struct upm *u)
{
	for (int b = 0; b < TAB_SIZE; b++)
		for (const struct upm_conn *c = u->tab[b]; c; c = c->next)
			if (c->up)
				return true;
	return false;
}

/* Events were lost: MPTCP_EVENT_CLOSED among them perhaps (forget the
 * tracked connections the kernel no longer has), MPTCP_EVENT_ESTABLISHED
 * perhaps (adopt the live ones of ours nobody tracks),
 * MPTCP_EVENT_SUB_CLOSED perhaps (make again the subflows a tracked
 * connection no longer has). */
static void sweep(struct upm *u)
{
	struct sweep_walk w = { .u = u };
	struct nl diag;
	uint64_t gone = 0, sub_gone = 0, t0;
	bool subs = false;
	int err;

	u->sweep_at_ms = 0;
	/* The events still queued first: a subflow that closed before the
	 * listing below has its close read now, not after its target was
	 * joined again (it would undo that join's mark). */
	upm_handle_events(u);
	t0 = now_ms();
	/* Without them nothing is adopted; the rest still holds. */
	err = own_sockets(&w.own, &w.nown);
	if (err)
		pr_warn("path manager: listing our sockets (/proc/self/fd): "
			"%s; connections whose start was lost are not joined",
			strerror(-err));
	err = nl_open(&diag, NETLINK_SOCK_DIAG);
	if (!err) {
		err = nl_mptcp_conns(&diag, sweep_cb, &w);
		/* The subflows after the connections: no request of ours
		 * comes between the listing and the table pass below. */
		if (!err && any_up(u)) {
			int e2 = nl_mptcp_subflows(&diag, sweep_subflow_cb, u);

			subs = !e2;
			if (e2)
				pr_warn("path manager: listing the kernel's "
					"MPTCP subflows after lost events "
					"(sock_diag): %s; subflows whose close "
					"was lost are not made again",
					strerror(-e2));
		}
		nl_close(&diag);
	}
	if (err) {
		pr_warn("path manager: listing the kernel's MPTCP connections "
			"after lost events (sock_diag, module mptcp_diag): %s; "
			"connections whose close was lost stay tracked, those "
			"whose start was lost are not joined",
			strerror(-err));
		free(w.own);
		free(w.found);
		return;
	}
	pr_debug("path manager: after lost events, the kernel's connections%s "
		 "listed in %llu ms", subs ? " and subflows" : "",
		 (unsigned long long)(now_ms() - t0));
	for (int b = 0; b < TAB_SIZE; b++) {
		struct upm_conn **pp = &u->tab[b];

		while (*pp) {
			struct upm_conn *c = *pp;

			if (!c->alive) {
				forget(u, pp);
				gone++;
				continue;
			}
			/* A connection none of whose subflows was listed
			 * (not even the first: the listing lacks the ULP's
			 * token) is not judged. */
			for (int ti = 0; subs && c->sub_listed &&
					 ti < u->o.ntargets; ti++)
				if (c->up & ~c->listed & (1u << ti)) {
					subflow_gone(u, c, ti);
					/* Its close may yet come. */
					if (c->sport[ti])
						c->stale |= (uint8_t)(1u << ti);
					sub_gone++;
				}
			c->alive = c->sub_listed = false;
			c->listed = 0;
			pp = &c->next;
		}
	}
	u->st.swept += gone;
	u->st.subflows_swept += sub_gone;
	if (gone)
		pr_info("path manager: %llu tracked connections were closed "
			"(their events lost), forgotten",
			(unsigned long long)gone);
	if (sub_gone)
		pr_info("path manager: %llu subflows of open connections were "
			"gone (their events lost), made again",
			(unsigned long long)sub_gone);
	/* After the table pass, with the events read between adoptions (a
	 * burst's thousands make as many requests). */
	if (!u->passive) {
		uint64_t a0 = u->st.adopted, completed = 0;

		for (size_t i = 0; i < w.nfound; i++) {
			adopt(u, &w.found[i], &completed);
			read_events_if_due(u);
		}
		if (u->st.adopted > a0 || completed)
			pr_info("path manager: after lost events, %llu open "
				"connections followed that had not been seen, "
				"%llu given the addresses the HAG announced to "
				"the others",
				(unsigned long long)(u->st.adopted - a0),
				(unsigned long long)completed);
	}
	free(w.own);
	free(w.found);
}

/* ---- events ------------------------------------------------------------- */

static void get_addr(const struct nlattr *a, int family, struct hb_addr *out)
{
	size_t n = mnl_attr_get_payload_len(a);

	if (n != (size_t)alen(family))
		return;
	out->family = family;
	memcpy(&out->v6, mnl_attr_get_payload(a), n);
}

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct upm *u = data;
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	const struct nlattr *s4 = NULL, *s6 = NULL, *d4 = NULL, *d6 = NULL;
	struct ev e = { 0 };

	if (nlh->nlmsg_type != u->family_id ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*g))
		return MNL_CB_OK;
	e.cmd = g->cmd;
	nl_attr_for_each(a, nlh, sizeof(*g))
	{
		switch (mnl_attr_get_type(a)) {
		case MPTCP_ATTR_TOKEN:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
				e.token = mnl_attr_get_u32(a);
				e.have_token = true;
			}
			break;
		case MPTCP_ATTR_FAMILY:
			if (mnl_attr_validate(a, MNL_TYPE_U16) >= 0)
				e.family = mnl_attr_get_u16(a);
			break;
		case MPTCP_ATTR_SADDR4:
			s4 = a;
			break;
		case MPTCP_ATTR_SADDR6:
			s6 = a;
			break;
		case MPTCP_ATTR_DADDR4:
			d4 = a;
			break;
		case MPTCP_ATTR_DADDR6:
			d6 = a;
			break;
		case MPTCP_ATTR_SPORT:
			if (mnl_attr_validate(a, MNL_TYPE_U16) >= 0)
				e.sport = ntohs(mnl_attr_get_u16(a));
			break;
		case MPTCP_ATTR_DPORT:
			if (mnl_attr_validate(a, MNL_TYPE_U16) >= 0)
				e.dport = ntohs(mnl_attr_get_u16(a));
			break;
		case MPTCP_ATTR_SERVER_SIDE:
			if (mnl_attr_validate(a, MNL_TYPE_U8) >= 0)
				e.server_side = mnl_attr_get_u8(a);
			break;
		case MPTCP_ATTR_ERROR:
			if (mnl_attr_validate(a, MNL_TYPE_U8) >= 0)
				e.error = mnl_attr_get_u8(a);
			break;
		}
	}
	if (!e.have_token)
		return MNL_CB_OK;
	/* The test faults: as if the kernel had dropped the event. */
	if ((e.cmd == MPTCP_EVENT_CLOSED && u->fault_lose_closed) ||
	    (e.cmd == MPTCP_EVENT_SUB_CLOSED && u->fault_lose_sub_closed)) {
		event_lost(u);
		return MNL_CB_OK;
	}
	if (e.cmd == MPTCP_EVENT_CLOSED) { /* a token is all it carries */
		on_closed(u, &e);
		return MNL_CB_OK;
	}
	/* MPTCP_EVENT_ANNOUNCED names no family: its address tells. */
	if (!e.family)
		e.family = d4 ? AF_INET : d6 ? AF_INET6 : 0;
	if (e.family != AF_INET && e.family != AF_INET6)
		return MNL_CB_OK;
	if (e.family == AF_INET) {
		if (s4)
			get_addr(s4, AF_INET, &e.saddr);
		if (d4)
			get_addr(d4, AF_INET, &e.daddr);
	} else {
		if (s6)
			get_addr(s6, AF_INET6, &e.saddr);
		if (d6)
			get_addr(d6, AF_INET6, &e.daddr);
	}
	unmap(&e);
	if (e.cmd == MPTCP_EVENT_SUB_CLOSED && u->late &&
	    u->late->n < LATE_MAX) {
		u->late->ev[u->late->n].e = e;
		u->late->ev[u->late->n++].at_ms = now_ms() + LATE_MS;
		event_lost(u);
		return MNL_CB_OK;
	}
	switch (e.cmd) {
	case MPTCP_EVENT_ESTABLISHED:
		if (e.daddr.family)
			on_established(u, &e);
		break;
	case MPTCP_EVENT_ANNOUNCED:
		if (e.daddr.family)
			on_announced(u, &e);
		break;
	case MPTCP_EVENT_SUB_ESTABLISHED:
		on_sub_established(u, &e);
		break;
	case MPTCP_EVENT_SUB_CLOSED:
		if (e.daddr.family)
			on_sub_closed(u, &e);
		break;
	}
	return MNL_CB_OK;
}

int upm_event_fd(const struct upm *u)
{
	return mnl_socket_get_fd(u->ev.sk);
}

/* Events are one datagram each, a few per connection: read them in
 * batches, one system call for up to EV_BATCH. */
#define EV_BATCH 16
#define EV_BUF 4096

void upm_handle_events(struct upm *u)
{
	static char buf[EV_BATCH][EV_BUF]; /* the daemon's main thread only */
	struct mmsghdr m[EV_BATCH];
	struct iovec iov[EV_BATCH];

	u->reqs = 0;
	for (;;) {
		int n;

		for (int i = 0; i < EV_BATCH; i++) {
			iov[i] = (struct iovec){ buf[i], EV_BUF };
			m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i],
							      .msg_iovlen = 1 } };
		}
		n = recvmmsg(upm_event_fd(u), m, EV_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			/* The kernel dropped events for want of room: say
			 * so once, then every 1000th time, and count it. */
			if (errno == ENOBUFS)
				event_lost(u);
			if (errno == ENOBUFS && u->st.events_lost % 1000 == 1)
				pr_warn("path manager: events were lost (the "
					"event socket overflowed, %llu times "
					"so far); some connections may miss "
					"their secondary subflows or stay "
					"tracked after they closed",
					(unsigned long long)u->st.events_lost);
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			return;
		}
		for (int i = 0; i < n; i++) {
			const struct nlmsghdr *nlh =
				(const struct nlmsghdr *)buf[i];
			int len = (int)m[i].msg_len;

			for (; nl_msg_ok(nlh, len);
			     nlh = mnl_nlmsg_next(nlh, &len))
				event_cb(nlh, u);
		}
		/* Fewer than asked: the queue is empty (a new event brings a
		 * new wake-up). */
		if (n < EV_BATCH)
			return;
	}
}

/* The switch's state to the subflows that were still connecting when it
 * turned (see upm_set_backup). */
static void resend_prio(struct upm *u, struct upm_conn *c, uint64_t now)
{
	if (now > c->prio_until_ms) { /* a join that never came up */
		c->prio = 0;
		return;
	}
	for (int ti = 0; ti < u->o.ntargets; ti++) {
		uint8_t bit = (uint8_t)(1u << ti);

		if (!(c->prio & bit))
			continue;
		if (!(c->up & bit)) { /* gone: a new one gets the state */
			c->prio &= (uint8_t)~bit;
			continue;
		}
		if (!set_flags(u, c, ti, u->o.backup)) {
			c->prio &= (uint8_t)~bit;
			u->st.prio_resent++;
		}
	}
}

/* The test fault pm-late-sub-closed: the held closes now due. */
static void handle_late(struct upm *u)
{
	struct upm_late *l = u->late;
	uint64_t now = now_ms();
	unsigned int k = 0;

	for (unsigned int i = 0; i < l->n; i++) {
		if (l->ev[i].at_ms > now) {
			l->ev[k++] = l->ev[i];
			continue;
		}
		pr_info("path manager: a subflow close (port %u) handled %d ms "
			"late (test fault)", l->ev[i].e.sport, LATE_MS);
		on_sub_closed(u, &l->ev[i].e);
	}
	l->n = k;
}

void upm_tick(struct upm *u)
{
	uint64_t now;

	if (u->sweep_at_ms && u->sweep_at_ms <= now_ms())
		sweep(u);
	if (u->late)
		handle_late(u);
	if (!u->nconns)
		return;
	now = now_ms();
	for (int b = 0; b < TAB_SIZE; b++) {
		struct upm_conn **pp = &u->tab[b], *c;

		while ((c = *pp)) {
			if (c->announce_at_ms && c->announce_at_ms <= now) {
				/* Told once: nothing more to do for it, so it
				 * is not kept (nor leaked, should its
				 * MPTCP_EVENT_CLOSED be lost). */
				announce(u, c);
				*pp = c->next;
				free(c);
				u->nconns--;
				continue;
			}
			if (c->retry_at_ms && c->retry_at_ms <= now)
				join_missing(u, c);
			if (c->gone) {
				/* Found closed without its event, as by the
				 * sweep, and counted with it. */
				forget(u, pp);
				u->st.swept++;
				continue;
			}
			if (c->prio)
				resend_prio(u, c, now);
			pp = &c->next;
		}
		read_events_if_due(u);
	}
}

/* The switch's state to every live secondary subflow; `wake`: the joins
 * waiting for --join-after are made now instead. Returns how many
 * subflows it reached; *err the last hard error, if any. */
static int give_state_all(struct upm *u, bool wake, int *err)
{
	int n = 0;

	*err = 0;
	for (int b = 0; b < TAB_SIZE; b++) {
		for (struct upm_conn *c = u->tab[b]; c; c = c->next) {
			if (wake && c->join_at_ms) {
				c->join_at_ms = 0;
				if (c->want & ~c->up)
					join_missing(u, c);
				continue;
			}
			for (int ti = 0; ti < u->o.ntargets; ti++) {
				int e;

				if (!(c->up & (1u << ti)))
					continue;
				e = give_state(u, c, ti);
				if (e > 0)
					n++;
				else if (e < 0)
					*err = e;
			}
		}
		read_events_if_due(u);
	}
	return n;
}

int upm_set_backup(struct upm *u, bool backup)
{
	int err;

	u->o.backup = backup;
	/* The secondary is needed now: no more waiting. */
	give_state_all(u, !backup, &err);
	return err;
}

int upm_resend_backup(struct upm *u)
{
	int err, n;

	/* The kernel sends an MP_PRIO for each request, changed flag or
	 * not. */
	n = give_state_all(u, false, &err);
	return n ? n : err;
}

/* ---- set-up ------------------------------------------------------------- */

int upm_open(struct upm *u, const struct upm_opts *o)
{
	uint32_t grp;
	int rcv = 4 << 20, err;
	long old;
	char a[INET6_ADDRSTRLEN];

	memset(u, 0, sizeof(*u));
	u->o = *o;
	u->old_pm_type = -1;
	u->tab = calloc(TAB_SIZE, sizeof(*u->tab));
	if (!u->tab)
		return -ENOMEM;
	err = nl_open(&u->cmd, NETLINK_GENERIC);
	if (!err)
		err = nl_genl_family(&u->cmd, MPTCP_PM_NAME, &u->family_id,
				     MPTCP_PM_EV_GRP_NAME, &grp);
	if (!err)
		err = nl_open(&u->ev, NETLINK_GENERIC);
	if (err) {
		pr_err("path manager: the MPTCP generic netlink family or its "
		       "event group is missing (%s); the kernel needs "
		       "CONFIG_MPTCP with the userspace PM (5.19 or later)",
		       strerror(-err));
		goto fail;
	}
	if (mnl_socket_setsockopt(u->ev.sk, NETLINK_ADD_MEMBERSHIP, &grp,
				  sizeof(grp)) < 0) {
		err = -errno;
		pr_err("path manager: joining the MPTCP event group: %s",
		       strerror(errno));
		goto fail;
	}
	/* A burst of connections sends a burst of events. */
	if (setsockopt(upm_event_fd(u), SOL_SOCKET, SO_RCVBUFFORCE, &rcv,
		       sizeof(rcv)))
		setsockopt(upm_event_fd(u), SOL_SOCKET, SO_RCVBUF, &rcv,
			   sizeof(rcv));
	/* No NETLINK_NO_ENOBUFS: a lost event must be known (ENOBUFS). The
	 * test fault shrinks the buffer to the kernel's floor to provoke it. */
	if (test_fault("pm-events",
		       "path manager: event socket at its smallest buffer")) {
		rcv = 0;
		setsockopt(upm_event_fd(u), SOL_SOCKET, SO_RCVBUFFORCE, &rcv,
			   sizeof(rcv));
	}
	/* A lost close, made certain: every MPTCP_EVENT_CLOSED ignored and
	 * counted as lost, so that only the sweep forgets connections. */
	u->fault_lose_closed = test_fault("pm-lose-closed",
					  "path manager: closing events ignored");
	/* A lost subflow close, made certain: only the sweep finds it. */
	u->fault_lose_sub_closed =
		test_fault("pm-lose-sub-closed",
			   "path manager: subflow closing events ignored");
	/* A late subflow close: handled after the sweep made it again. */
	if (test_fault("pm-late-sub-closed",
		       "path manager: subflow closing events handled 2.5 s "
		       "late")) {
		u->late = calloc(1, sizeof(*u->late));
		if (!u->late) {
			err = -ENOMEM;
			goto fail;
		}
	}
	fcntl(upm_event_fd(u), F_SETFL,
	      fcntl(upm_event_fd(u), F_GETFL) | O_NONBLOCK);

	err = sysctl_read(PM_TYPE_PATH, &old);
	if (err) {
		pr_err("path manager: reading %s: %s; the kernel needs the "
		       "userspace PM (5.19 or later)",
		       PM_TYPE_PATH, strerror(-err));
		goto fail;
	}
	if (old != 1) {
		err = sysctl_write(PM_TYPE_PATH, 1);
		if (err) {
			pr_err("path manager: switching this network namespace "
			       "to the userspace PM (%s = 1): %s",
			       PM_TYPE_PATH, strerror(-err));
			goto fail;
		}
		u->old_pm_type = old;
	}
	for (int i = 0; i < o->ntargets; i++)
		pr_info("path manager: %s secondary subflows to %s%s%s port %u",
			o->server ? "opening" : "joining",
			hb_addr_str(&o->targets[i].addr, a, sizeof(a)),
			o->targets[i].prefix.family ? " for " : "",
			o->targets[i].prefix.family ? "a subscriber prefix" : "",
			o->targets[i].port);
	if (o->server && o->announce_port && o->announce_after_ms)
		pr_info("path manager: hybond's, announcing the secondary's "
			"addresses to connections that live %u ms "
			"(--announce-after 0: the kernel's, at once)",
			o->announce_after_ms);
	return 0;
fail:
	upm_close(u);
	return err;
}

void upm_restore_pm_type(int old)
{
	int err = sysctl_write(PM_TYPE_PATH, old);

	if (err)
		pr_warn("path manager: restoring %s to %d failed: %s",
			PM_TYPE_PATH, old, strerror(-err));
	else
		pr_info("path manager: the kernel's own again (%s = %d)",
			PM_TYPE_PATH, old);
}

void upm_close(struct upm *u)
{
	if (u->old_pm_type >= 0)
		upm_restore_pm_type(u->old_pm_type);
	u->old_pm_type = -1;
	if (u->tab) {
		for (int b = 0; b < TAB_SIZE; b++)
			while (u->tab[b]) {
				struct upm_conn *c = u->tab[b];

				u->tab[b] = c->next;
				free(c);
			}
		free(u->tab);
		u->tab = NULL;
	}
	u->nconns = 0;
	free(u->late);
	u->late = NULL;
	nl_close(&u->ev);
	nl_close(&u->cmd);
}
