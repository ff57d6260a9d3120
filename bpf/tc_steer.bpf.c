// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tc_steer.bpf.c - tc ingress programs that steer TCP connections into the
 * local relay without NAT.
 *
 * hybond_steer (LAN ingress on the CPE, access ingress on the HAG):
 *   a SYN to bond is assigned (bpf_sk_assign) to the relay's transparent
 *   listener and marked so that routing delivers it locally; later packets
 *   of a proxied connection find their socket and are marked too.
 * hybond_return (primary ingress on the CPE, core ingress on the HAG):
 *   packets addressed to H@ that belong to the relay's upstream socket are
 *   marked for local delivery; everything else is routed on.
 *
 * Everything the programs do not recognise is passed untouched: with no
 * listener (daemon dead) the programs are inert and traffic is routed as if
 * hybond were not there (fail open).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "hybond_abi.h"
#include "hybond_policy.h"
#include "lib/parse.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define BPF_TCP_ESTABLISHED_ 1
#define BPF_TCP_TIME_WAIT_ 6
#define BPF_TCP_LISTEN_ 10

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hybond_cfg);
} hybond_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HYBOND_STAT_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} hybond_stats SEC(".maps");

/* Two banks of rules; hybond_cfg.policy says which one is in force. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * HYBOND_MAX_RULES);
	__type(key, __u32);
	__type(value, struct hybond_rule);
} hybond_rules SEC(".maps");

/* SYNs held until the daemon releases them (see hybond_abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct hybond_tuple);
	__type(value, struct hybond_held);
} hybond_held SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, HYBOND_MAX_SUBS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct hybond_lpm4);
	__type(value, __u32);
} hybond_subs4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, HYBOND_MAX_SUBS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct hybond_lpm6);
	__type(value, __u32);
} hybond_subs6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} hybond_events SEC(".maps");

static __always_inline void count(__u32 dir, __u32 fam, __u32 ctr)
{
	__u32 idx = hybond_stat_idx(dir, fam, ctr);
	__u64 *v = bpf_map_lookup_elem(&hybond_stats, &idx);

	if (v)
		*v += 1;
}

/*
 * Headers that end past the skb's linear part: pull up to 256 bytes into
 * it. Only when the parser found the linear part too short, never up
 * front: a TCP segment's linear part holds its headers and little more,
 * and the sender keeps a clone of it for retransmission, so a pull on
 * every segment copied its head into a new allocation each time (seen as
 * __pskb_pull_tail -> pskb_expand_head under hybond_return).
 */
static __noinline int pull_headers(struct __sk_buff *skb)
{
	__u32 want = 256;
	__u32 lin = skb->data_end - skb->data;

	if (want > skb->len)
		want = skb->len;
	if (lin >= want)
		return -1;
	return bpf_skb_pull_data(skb, want);
}

static __always_inline __u32 tuple_len(const struct pkt *p)
{
	return p->family == 4 ? sizeof(((struct bpf_sock_tuple *)0)->ipv4) :
				sizeof(((struct bpf_sock_tuple *)0)->ipv6);
}

static __always_inline void tuple_of(const struct pkt *p,
				     struct bpf_sock_tuple *t)
{
	if (p->family == 4) {
		t->ipv4.saddr = p->saddr[0];
		t->ipv4.daddr = p->daddr[0];
		t->ipv4.sport = p->sport;
		t->ipv4.dport = p->dport;
	} else {
		__builtin_memcpy(t->ipv6.saddr, p->saddr, 16);
		__builtin_memcpy(t->ipv6.daddr, p->daddr, 16);
		t->ipv6.sport = p->sport;
		t->ipv6.dport = p->dport;
	}
}

/* Only SYNs pay for the option walk. Returns the timestamps option's
 * offset among the options, 0xff if there is none. */
static __always_inline __u8 load_mptcp_subtype(struct __sk_buff *skb,
					       struct pkt *p)
{
	struct optwalk w = {};
	__u32 n = p->opt_len;

	/* n < 4, not n == 0: older verifiers (6.1) learn no lower bound from
	 * an equality test, and the helper refuses a size that may be 0. The
	 * options area is a multiple of 4 bytes anyway. */
	if (n < 4 || n > 40)
		return 0xff;
	if (bpf_skb_load_bytes(skb, p->opt_off, w.buf, n))
		return 0xff;
	w.len = n;
	p->mptcp_sub = tcp_mptcp_subtype(&w);
	return w.ts_off;
}

/*
 * Replace the timestamps option of a SYN by NOPs and fix the checksum
 * (bpf_l4_csum_replace leaves a CHECKSUM_PARTIAL skb alone, as it must).
 * Without timestamps in the SYN the subflow negotiates none.
 */
static __always_inline int strip_timestamps(struct __sk_buff *skb,
					    const struct pkt *p, __u32 ts_off)
{
	__u8 old[40] = {}, new[40];
	__u32 n = p->opt_len;
	__s64 diff;
	int k;

	if (n < 12 || n > 40 || (n & 3) || ts_off > 30)
		return -1;
	if (bpf_skb_load_bytes(skb, p->opt_off, old, n))
		return -1;
	/* Fixed offsets only: the verifier takes no variable stack writes. */
	for (k = 0; k < 40; k++)
		new[k] = (__u32)k >= ts_off && (__u32)k < ts_off + TCPOPT_TS_LEN_ ?
				 TCPOPT_NOP_ :
				 old[k];
	diff = bpf_csum_diff((__be32 *)old, n, (__be32 *)new, n, 0);
	if (bpf_skb_store_bytes(skb, p->opt_off, new, n,
				BPF_F_RECOMPUTE_CSUM))
		return -1;
	return bpf_l4_csum_replace(skb, p->l4_off + 16, 0, diff, 0);
}

/*
 * The state of the local socket the packet belongs to (established,
 * request or time-wait), or -1. A listener never counts: a packet to H@:22
 * must not reach the gateway's own sshd listening on *:22.
 */
static __always_inline int sock_state(struct __sk_buff *skb,
				      const struct pkt *p)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	int state;

	tuple_of(p, &t);
	sk = bpf_skc_lookup_tcp(skb, &t, tuple_len(p), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return -1;
	state = sk->state == BPF_TCP_LISTEN_ ? -1 : (int)sk->state;
	bpf_sk_release(sk);
	return state;
}

static __always_inline void held_key(const struct pkt *p,
				     struct hybond_tuple *k)
{
	k->family = p->family;
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
	k->sport = p->sport;
	k->dport = p->dport;
}

/* Is a SYN of this tuple held, not yet released, and not left behind? */
static __always_inline int held_pending(const struct pkt *p)
{
	struct hybond_tuple k = {};
	struct hybond_held *h;

	held_key(p, &k);
	h = bpf_map_lookup_elem(&hybond_held, &k);
	return h && h->state == HYBOND_HOLD_PENDING &&
	       bpf_ktime_get_ns() - h->since_ns < HYBOND_HOLD_MAX_AGE_NS;
}

/*
 * Hold this SYN? A SYN released by the daemon goes on; a copy of one being
 * held is dropped; a new one is held (dropped here, reported with its frame)
 * when the handshake order is on or when one of our TIME_WAIT sockets holds
 * its tuple. Whatever cannot be held is steered at once (accept-first).
 */
static __always_inline int maybe_hold(struct __sk_buff *skb,
				      const struct pkt *p,
				      const struct hybond_cfg *cfg, __u32 fam,
				      int tw)
{
	struct hybond_tuple k = {};
	struct hybond_held *h, val = {};
	struct hybond_event *e;
	__u64 now = bpf_ktime_get_ns();
	__u32 len = skb->len, n;

	held_key(p, &k);
	h = bpf_map_lookup_elem(&hybond_held, &k);
	/* The daemon's reinjection of a held SYN carries the local-delivery
	 * mark, which no frame from the wire has at ingress (a mark does not
	 * cross namespaces): it goes on, and its tuple is held no more. */
	if (cfg->mark && skb->mark == cfg->mark) {
		if (h)
			bpf_map_delete_elem(&hybond_held, &k);
		count(HYBOND_DIR_STEER, fam, HYBOND_CTR_SYN_RELEASED);
		return 0;
	}
	if (h) {
		if (h->state == HYBOND_HOLD_RELEASED) {
			bpf_map_delete_elem(&hybond_held, &k);
			count(HYBOND_DIR_STEER, fam, HYBOND_CTR_SYN_RELEASED);
			return 0;
		}
		if (now - h->since_ns < HYBOND_HOLD_MAX_AGE_NS) {
			count(HYBOND_DIR_STEER, fam, HYBOND_CTR_SYN_HELD_DUP);
			return 1;
		}
		bpf_map_delete_elem(&hybond_held, &k); /* left behind */
	}
	if (!tw && !(cfg->flags & HYBOND_F_HOLD))
		return 0;
	if (len == 0 || len > HYBOND_EVENT_FRAME)
		goto fail;
	e = bpf_ringbuf_reserve(&hybond_events, sizeof(*e), 0);
	if (!e)
		goto fail;
	/* The same value, bounded by arithmetic on the register passed to
	 * the helper: clang checks one copy and passes another, and the
	 * verifier does not connect them. */
	n = ((len - 1) & (HYBOND_EVENT_FRAME - 1)) + 1;
	if (bpf_skb_load_bytes(skb, 0, e->frame, n)) {
		bpf_ringbuf_discard(e, 0);
		goto fail;
	}
	e->reason = (tw ? HYBOND_EV_TW : 0) |
		    (cfg->flags & HYBOND_F_HOLD ? HYBOND_EV_HOLD : 0);
	e->ifindex = skb->ingress_ifindex;
	e->len = len;
	e->l3_off = p->l3_off;
	e->l4_off = p->l4_off;
	e->t = k;
	val.since_ns = now;
	val.state = HYBOND_HOLD_PENDING;
	if (bpf_map_update_elem(&hybond_held, &k, &val, BPF_ANY)) {
		bpf_ringbuf_discard(e, 0);
		goto fail;
	}
	bpf_ringbuf_submit(e, 0);
	count(HYBOND_DIR_STEER, fam,
	      tw ? HYBOND_CTR_SYN_HELD_TW : HYBOND_CTR_SYN_HELD);
	return 1;
fail:
	count(HYBOND_DIR_STEER, fam, HYBOND_CTR_HOLD_FAIL);
	return 0;
}

/* Route the packet to the local table, where its socket picks it up. */
static __always_inline int deliver(struct __sk_buff *skb,
				   const struct hybond_cfg *cfg, __u32 dir,
				   __u32 fam)
{
	skb->mark = cfg->mark;
	count(dir, fam, HYBOND_CTR_LOCAL);
	return TC_ACT_OK;
}

/*
 * Would the stack forward this SYN out of the upstream interface? Only such
 * connections are proxied: a SYN to the gateway's own address, or one routed
 * anywhere else, is left to the stack.
 */
static __always_inline int routed_upstream(struct __sk_buff *skb,
					   const struct pkt *p,
					   const struct hybond_cfg *cfg)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	if (!cfg->up_ifindex)
		return 1;
	fib.l4_protocol = IPPROTO_TCP;
	fib.sport = p->sport;
	fib.dport = p->dport;
	fib.ifindex = skb->ingress_ifindex;
	if (p->family == 4) {
		fib.family = 2; /* AF_INET */
		fib.ipv4_src = p->saddr[0];
		fib.ipv4_dst = p->daddr[0];
	} else {
		fib.family = 10; /* AF_INET6 */
		__builtin_memcpy(fib.ipv6_src, p->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, p->daddr, 16);
	}
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return 0;
	return fib.ifindex == cfg->up_ifindex;
}

struct policy_walk {
	const struct pkt *p;
	__u32 base;   /* first slot of the bank in force */
	__u32 count;
	__u32 action;
	__u16 dport;  /* host order */
};

static long policy_step(__u32 i, void *ctx)
{
	struct policy_walk *w = ctx;
	struct hybond_rule *r;
	__u32 slot;

	if (i >= w->count)
		return 1;
	slot = w->base + i;
	r = bpf_map_lookup_elem(&hybond_rules, &slot);
	if (!r)
		return 1;
	if (!hybond_rule_match(r, w->p->family, w->p->saddr, w->p->daddr,
			       w->dport))
		return 0;
	w->action = r->action;
	return 1;
}

/* The first rule that matches decides (the compiler sorted them most
 * specific first); no match: the default action. */
static __always_inline __u32 policy_action(const struct pkt *p,
					   const struct hybond_cfg *cfg)
{
	struct policy_walk w = {
		.p = p,
		.base = HYBOND_POLICY_BANK(cfg->policy) * HYBOND_MAX_RULES,
		.count = HYBOND_POLICY_COUNT(cfg->policy),
		.action = HYBOND_POLICY_DEFAULT(cfg->policy),
		.dport = bpf_ntohs(p->dport),
	};

	if (w.count > HYBOND_MAX_RULES)
		w.count = HYBOND_MAX_RULES;
	if (w.count)
		bpf_loop(HYBOND_MAX_RULES, policy_step, &w, 0);
	return w.action;
}

/* Is the source inside one of the subscriber prefixes? */
static __always_inline int from_subscriber(const struct pkt *p)
{
	if (p->family == 4) {
		struct hybond_lpm4 k = { .prefixlen = 32, .addr = p->saddr[0] };

		return bpf_map_lookup_elem(&hybond_subs4, &k) != NULL;
	} else {
		struct hybond_lpm6 k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, p->saddr, 16);
		return bpf_map_lookup_elem(&hybond_subs6, &k) != NULL;
	}
}

static __always_inline int steer_syn(struct __sk_buff *skb, const struct pkt *p,
				     const struct hybond_cfg *cfg, __u32 fam,
				     __u8 ts_off, int tw)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	long err;

	if (cfg->role == HYBOND_ROLE_HAG && p->mptcp_sub != MPTCP_SUB_CAPABLE &&
	    p->mptcp_sub != MPTCP_SUB_JOIN) {
		/* A CPE's kernel sends its SYN without MP_CAPABLE after two
		 * retransmissions: while we hold that connection's MP_CAPABLE
		 * SYN this one must not reach the server. Its SYN/ACK would go
		 * to the CPE as a plain TCP connection past us, and the CPE's
		 * kernel would take it for a middlebox eating MPTCP and turn
		 * MPTCP off for all new connections (blackhole detection,
		 * net.mptcp.blackhole_timeout). The held SYN, once released,
		 * answers it (the connection is then proxied, in fallback). */
		if (held_pending(p)) {
			count(HYBOND_DIR_STEER, fam,
			      HYBOND_CTR_SYN_FALLBACK_HELD);
			return TC_ACT_SHOT;
		}
		/* Not from a CPE: a plain TCP client routed untouched. */
		count(HYBOND_DIR_STEER, fam, HYBOND_CTR_SYN_PLAIN);
		return TC_ACT_OK;
	}
	if ((cfg->flags & HYBOND_F_SUBS_ONLY) && !from_subscriber(p)) {
		count(HYBOND_DIR_STEER, fam, HYBOND_CTR_SPOOFED);
		return TC_ACT_SHOT;
	}
	if (!routed_upstream(skb, p, cfg)) {
		count(HYBOND_DIR_STEER, fam, HYBOND_CTR_SYN_NOT_UP);
		return TC_ACT_OK;
	}
	if (policy_action(p, cfg) == HYBOND_ACT_BYPASS) {
		count(HYBOND_DIR_STEER, fam, HYBOND_CTR_SYN_BYPASS);
		return TC_ACT_OK;
	}

	/* The listener is bound to loopback: look it up by that address. */
	if (p->family == 4) {
		if (!cfg->lport4)
			goto no_listener;
		t.ipv4.saddr = p->saddr[0];
		t.ipv4.sport = p->sport;
		t.ipv4.daddr = bpf_htonl(0x7f000001);
		t.ipv4.dport = bpf_htons(cfg->lport4);
	} else {
		if (!cfg->lport6)
			goto no_listener;
		__builtin_memcpy(t.ipv6.saddr, p->saddr, 16);
		t.ipv6.sport = p->sport;
		t.ipv6.daddr[3] = bpf_htonl(1);
		t.ipv6.dport = bpf_htons(cfg->lport6);
	}
	sk = bpf_skc_lookup_tcp(skb, &t, tuple_len(p), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		goto no_listener;
	if (sk->state != BPF_TCP_LISTEN_) {
		bpf_sk_release(sk);
		goto no_listener;
	}
	/* Only with a live listener: a dead daemon never holds anything. */
	if (maybe_hold(skb, p, cfg, fam, tw)) {
		bpf_sk_release(sk);
		return TC_ACT_SHOT;
	}
	err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	if (err) {
		count(HYBOND_DIR_STEER, fam, HYBOND_CTR_ASSIGN_ERR);
		return TC_ACT_OK;
	}
	skb->mark = cfg->mark;
	count(HYBOND_DIR_STEER, fam, HYBOND_CTR_SYN_STEERED);
	if ((cfg->flags & HYBOND_F_STRIP_TS) &&
	    p->mptcp_sub == MPTCP_SUB_CAPABLE && ts_off != 0xff &&
	    !strip_timestamps(skb, p, ts_off))
		count(HYBOND_DIR_STEER, fam, HYBOND_CTR_TS_STRIPPED);
	return TC_ACT_OK;

no_listener:
	count(HYBOND_DIR_STEER, fam, HYBOND_CTR_NO_LISTENER);
	return TC_ACT_OK;
}

/* Parse what the linear part holds; if it ends too soon, pull and parse
 * again. skb->data is read afresh after the pull (a subprogram call in
 * between: clang would otherwise reuse ctx offsets across it, which the
 * verifier refuses). */
static __always_inline int parse_skb(struct __sk_buff *skb, struct pkt *p)
{
	int ret = parse_pkt((void *)(long)skb->data,
			    (void *)(long)skb->data_end, p);

	if (ret != PARSE_MALFORMED || pull_headers(skb))
		return ret;
	__builtin_memset(p, 0, sizeof(*p));
	return parse_pkt((void *)(long)skb->data, (void *)(long)skb->data_end,
			 p);
}

static __noinline int handle(struct __sk_buff *skb, __u32 dir)
{
	struct hybond_cfg *cfg;
	struct pkt p = {};
	__u32 key = 0, fam;
	int ret;

	cfg = bpf_map_lookup_elem(&hybond_cfg, &key);
	if (!cfg || !(cfg->flags & HYBOND_F_ENABLED))
		return TC_ACT_OK;

	ret = parse_skb(skb, &p);
	/* From the frame's own ethertype (past any VLAN tags still in it),
	 * not skb->protocol, which is the outer tag's. */
	fam = p.family == 6 ? HYBOND_FAM_V6 : HYBOND_FAM_V4;
	if (ret == PARSE_NOT_IP)
		return TC_ACT_OK;
	count(dir, fam, HYBOND_CTR_PACKETS);
	if (ret == PARSE_NOT_TCP) {
		struct pkt q = {};

		/* An ICMP error about a segment one of our sockets sent (the
		 * upstream connect refused as unreachable, a path MTU smaller
		 * than ours) is addressed to the address that socket uses,
		 * H@ or S@, which routing would send on: it is for the
		 * socket. */
		if (!parse_icmp_tcp((void *)(long)skb->data,
				    (void *)(long)skb->data_end, &p, &q) &&
		    sock_state(skb, &q) >= 0)
			return deliver(skb, cfg, dir, fam);
		count(dir, fam, HYBOND_CTR_NON_TCP);
		return TC_ACT_OK;
	}
	if (ret != PARSE_OK) {
		count(dir, fam, HYBOND_CTR_MALFORMED);
		return TC_ACT_OK;
	}

	if (dir == HYBOND_DIR_STEER &&
	    (p.tcp_flags & (TCP_SYN_ | TCP_ACK_ | TCP_RST_)) == TCP_SYN_) {
		__u8 ts_off;
		int state;

		count(dir, fam, HYBOND_CTR_SYN);
		ts_off = load_mptcp_subtype(skb, &p);
		/* A retransmitted SYN of a connection we already hold goes to
		 * its request socket, not to the listener again. One that meets
		 * our TIME_WAIT is steered (and held until it is gone). */
		state = sock_state(skb, &p);
		if (state >= 0 && state != BPF_TCP_TIME_WAIT_)
			return deliver(skb, cfg, dir, fam);
		return steer_syn(skb, &p, cfg, fam, ts_off,
				 state == BPF_TCP_TIME_WAIT_);
	}
	if (sock_state(skb, &p) >= 0)
		return deliver(skb, cfg, dir, fam);
	return TC_ACT_OK;
}

SEC("tc")
int hybond_steer(struct __sk_buff *skb)
{
	return handle(skb, HYBOND_DIR_STEER);
}

SEC("tc")
int hybond_return(struct __sk_buff *skb)
{
	return handle(skb, HYBOND_DIR_RETURN);
}

/*
 * Runs only under BPF_PROG_TEST_RUN, on a held SYN's frame with the
 * interface it arrived on as the context's ifindex: a copy goes to that
 * interface's ingress, to the stack as if it had just arrived (one skb, no
 * page pool per call as XDP live frames would set up).
 */
SEC("tc")
int hybond_reinject(struct __sk_buff *skb)
{
	bpf_clone_redirect(skb, skb->ifindex, BPF_F_INGRESS);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
