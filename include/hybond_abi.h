/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * hybond_abi.h - the one contract between bpf/ and user/.
 *
 * Map names, map key and value layouts and counter indexes used by both the
 * BPF programs and the daemon. Sized types only, explicit padding, sizes
 * checked at compile time: a change here is an ABI change for pinned maps
 * that operators may edit with bpftool.
 */
#ifndef HYBOND_ABI_H
#define HYBOND_ABI_H

#ifdef __bpf__
/* vmlinux.h already defines the __u* / __be* types for BPF objects. */
#else
#include <linux/types.h>
#endif

/* Map names as bpftool shows them (BPF object names: at most 15 chars). */
#define HYBOND_MAP_CFG "hybond_cfg"
#define HYBOND_MAP_STATS "hybond_stats"
#define HYBOND_MAP_POL4 "hybond_pol4"
#define HYBOND_MAP_POL6 "hybond_pol6"
#define HYBOND_MAP_PORTS "hybond_ports"
#define HYBOND_MAP_EVENTS "hybond_events"
#define HYBOND_MAP_HELD "hybond_held"
#define HYBOND_MAP_SUBS4 "hybond_subs4"
#define HYBOND_MAP_SUBS6 "hybond_subs6"
#define HYBOND_MAX_SUBS 1024

/* Subscriber prefixes (LPM tries); the value is the prefix's index, which
 * per-subscriber connection limits count against. */
struct hybond_lpm4 {
	__u32 prefixlen;
	__be32 addr;
};

struct hybond_lpm6 {
	__u32 prefixlen;
	__be32 addr[4];
};

/* Program names as bpftool shows them. */
#define HYBOND_PROG_STEER "hybond_steer"
#define HYBOND_PROG_RETURN "hybond_return"
#define HYBOND_PROG_REINJECT "hybond_reinject"

enum hybond_role {
	HYBOND_ROLE_CPE = 1, /* steer every TCP SYN from the LAN */
	HYBOND_ROLE_HAG = 2, /* steer only SYNs carrying MP_CAPABLE/MP_JOIN */
};

/* hybond_cfg.flags */
#define HYBOND_F_ENABLED (1U << 0) /* steering on; off = pass everything */
/* HAG: blank the timestamps option of steered MP_CAPABLE SYNs, so that the
 * first subflow runs without timestamps and an IPv6 ADD_ADDR with a port
 * (30 bytes) fits in its option space. */
#define HYBOND_F_STRIP_TS (1U << 1)
/* Hold a SYN to bond until the daemon has connected upstream (the draft's
 * handshake order); without it, only SYNs that meet one of our TIME_WAIT
 * sockets are held (until the daemon has removed it). */
#define HYBOND_F_HOLD (1U << 2)
/* HAG: steer only MP_CAPABLE SYNs whose source is inside a subscriber
 * prefix (hybond_subs4/6); the others are dropped and counted (BCP 38:
 * nobody makes the gateway open server connections from addresses that are
 * not theirs). */
#define HYBOND_F_SUBS_ONLY (1U << 3)

/*
 * The single entry of the hybond_cfg array map. The listeners are bound to
 * the loopback address of their family (127.0.0.1 and ::1) so nothing but a
 * steered packet can reach them; only their ports are configured here.
 * Ports are in host byte order.
 */
struct hybond_cfg {
	__u32 role;    /* enum hybond_role */
	__u32 flags;   /* HYBOND_F_* */
	__u32 mark;    /* skb->mark that routes a packet to the local table */
	__u16 lport4;  /* IPv4 listener port, 0 = no IPv4 listener */
	__u16 lport6;  /* IPv6 listener port, 0 = no IPv6 listener */
	/* The policy in force: HYBOND_POLICY(bank, default action, count),
	 * one word so that a new policy switches in with one store. */
	__u32 policy;
	__u32 up_ifindex; /* steer only SYNs routed out of this interface */
	/* Who loaded this instance: lets a new daemon tell a stale pin
	 * directory (owner dead) from a live one in another namespace. */
	__u32 owner_pid;
	__u32 _pad;
	__u64 owner_netns; /* inode of the owner's network namespace */
};
_Static_assert(sizeof(struct hybond_cfg) == 40, "hybond_cfg layout");

/* What a policy rule does with a new TCP connection. */
enum hybond_action {
	HYBOND_ACT_BOND = 0,   /* proxy it over MPTCP */
	HYBOND_ACT_BYPASS = 1, /* route it untouched over the primary */
};

/*
 * Statistics: a per-CPU array of __u64 counters. The index of a counter is
 * hybond_stat_idx(dir, family, counter): the steering side (LAN on the CPE,
 * access on the HAG) and the return side (primary on the CPE, core on the
 * HAG), each for IPv4 and IPv6.
 */
enum hybond_dir {
	HYBOND_DIR_STEER = 0,
	HYBOND_DIR_RETURN = 1,
	HYBOND_DIR_MAX = 2,
};

enum hybond_fam {
	HYBOND_FAM_V4 = 0,
	HYBOND_FAM_V6 = 1,
	HYBOND_FAM_MAX = 2,
};

enum hybond_ctr {
	HYBOND_CTR_PACKETS = 0,   /* packets seen by the program */
	HYBOND_CTR_NON_TCP,       /* IP packets that are not TCP, passed */
	HYBOND_CTR_MALFORMED,     /* truncated/odd headers, passed untouched */
	HYBOND_CTR_SYN,           /* TCP SYNs (without ACK) seen */
	HYBOND_CTR_SYN_PLAIN,     /* HAG: SYN without MP_CAPABLE/MP_JOIN, passed */
	HYBOND_CTR_SYN_NOT_UP,    /* SYN not routed to the upstream: passed */
	HYBOND_CTR_SYN_BYPASS,    /* SYN bypassed by policy */
	HYBOND_CTR_SYN_STEERED,   /* SYN assigned to the relay's listener */
	HYBOND_CTR_NO_LISTENER,   /* SYN to bond but no listener: passed */
	HYBOND_CTR_ASSIGN_ERR,    /* bpf_sk_assign failed: passed */
	HYBOND_CTR_LOCAL,         /* packet of a proxied connection, delivered */
	HYBOND_CTR_TS_STRIPPED,   /* HAG: timestamps blanked in an MP_CAPABLE SYN */
	HYBOND_CTR_SYN_HELD,      /* SYN held until the upstream answered */
	HYBOND_CTR_SYN_HELD_TW,   /* SYN held: it met one of our TIME_WAITs */
	HYBOND_CTR_SYN_HELD_DUP,  /* retransmitted SYN dropped while held */
	HYBOND_CTR_SYN_RELEASED,  /* held SYN reinjected and steered */
	HYBOND_CTR_HOLD_FAIL,     /* could not hold (no ring space, too big) */
	HYBOND_CTR_SPOOFED,       /* HAG: SYN from outside the subscribers, dropped */
	HYBOND_CTR_SYN_FALLBACK_HELD, /* HAG: a CPE's SYN without MP_CAPABLE for
				       * a connection held: dropped */
	HYBOND_CTR_MAX,
};

#define HYBOND_STAT_ENTRIES (HYBOND_DIR_MAX * HYBOND_FAM_MAX * HYBOND_CTR_MAX)

static inline __u32 hybond_stat_idx(__u32 dir, __u32 fam, __u32 ctr)
{
	return (dir * HYBOND_FAM_MAX + fam) * HYBOND_CTR_MAX + ctr;
}

/*
 * Held SYNs. The steering program drops a SYN it holds and reports it with
 * a copy of the frame in the hybond_events ring; the daemon connects
 * upstream (and removes a TIME_WAIT in the way) and reinjects the frame as
 * if received again (the tc program hybond_reinject run with
 * BPF_PROG_TEST_RUN, the context's mark set to hybond_cfg.mark): the
 * steering program knows it by that mark, forgets the tuple in hybond_held
 * and steers it to the listener. (HYBOND_HOLD_RELEASED, the daemon marking
 * the tuple released first, is what daemons before 2026-12-02 did; still
 * honoured.)
 */
struct hybond_tuple {
	__u8 family;   /* 4 or 6 */
	__u8 _pad[3];
	__be32 saddr[4]; /* the SYN's source (H@) */
	__be32 daddr[4]; /* the SYN's destination (S@) */
	__be16 sport, dport;
};
_Static_assert(sizeof(struct hybond_tuple) == 40, "hybond_tuple layout");

enum hybond_hold_state {
	HYBOND_HOLD_PENDING = 1, /* the daemon works on it: drop copies */
	HYBOND_HOLD_RELEASED = 2, /* steer the next SYN of this tuple */
};

struct hybond_held {
	__u64 since_ns; /* bpf_ktime_get_ns() when held */
	__u32 state;    /* enum hybond_hold_state */
	__u32 _pad;
};
_Static_assert(sizeof(struct hybond_held) == 16, "hybond_held layout");

#define HYBOND_HOLD_MAX_AGE_NS (150ULL * 1000000000ULL) /* > SYN timeout */
#define HYBOND_EVENT_FRAME 256

enum hybond_event_reason {
	HYBOND_EV_HOLD = 1 << 0,  /* handshake order: connect upstream first */
	HYBOND_EV_TW = 1 << 1,    /* a TIME_WAIT of ours holds the tuple */
};

struct hybond_event {
	__u32 reason;   /* HYBOND_EV_* */
	__u32 ifindex;  /* where the SYN came in */
	__u32 len;      /* bytes of frame[] used */
	__u16 l3_off, l4_off;
	struct hybond_tuple t;
	__u8 frame[HYBOND_EVENT_FRAME];
};

/*
 * The HAG's secondary interface guard (bpf/xdp_guard.bpf.c): it admits
 * only what the bonding needs there and counts the rest.
 */
#define HYBOND_MAP_GCFG "hybond_gcfg"
#define HYBOND_MAP_GADDRS "hybond_gaddrs"
#define HYBOND_MAP_GSTATS "hybond_gstats"
#define HYBOND_PROG_GUARD "hybond_guard"

struct hybond_gcfg {
	__u32 enabled;
	__u16 join_port; /* host order: where MP_JOIN SYNs are expected */
	__u16 _pad;
};
_Static_assert(sizeof(struct hybond_gcfg) == 8, "hybond_gcfg layout");

/* An announced secondary address (hybond_gaddrs key; value unused). */
struct hybond_gaddr {
	__u8 family; /* 4 or 6 */
	__u8 _pad[3];
	__be32 addr[4];
};
_Static_assert(sizeof(struct hybond_gaddr) == 20, "hybond_gaddr layout");

enum hybond_gctr {
	HYBOND_G_PASS_JOIN = 0,  /* MP_JOIN SYN to an announced address:port */
	HYBOND_G_PASS_EST,       /* segment of an existing subflow */
	HYBOND_G_PASS_ICMP,      /* path MTU, neighbour discovery */
	HYBOND_G_PASS_NONIP,     /* ARP and other non-IP frames */
	HYBOND_G_DROP_NOT_OURS,  /* to an address that is not announced */
	HYBOND_G_DROP_SYN,       /* a SYN that is not an MP_JOIN to the port */
	HYBOND_G_DROP_NO_SOCK,   /* TCP segment of no subflow */
	HYBOND_G_DROP_ICMP,      /* any other ICMP */
	HYBOND_G_DROP_OTHER,     /* UDP, other protocols, fragments, malformed */
	HYBOND_G_MAX,
};

#endif /* HYBOND_ABI_H */
