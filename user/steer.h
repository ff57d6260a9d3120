/* SPDX-License-Identifier: GPL-2.0-only */
/* steer.h - load the steering programs, attach them to tc ingress, install
 * the local-delivery rule and routes, pin, and undo all of it exactly. */
#ifndef HYBOND_STEER_H
#define HYBOND_STEER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "nl.h"

struct tc_steer_bpf;
struct xdp_guard_bpf;
struct bpf_link;
struct policy;

struct steer_opts {
	int role;            /* enum hybond_role */
	int steer_ifindex;   /* LAN (CPE) or access (HAG) */
	int return_ifindex;  /* primary (CPE) or core (HAG) */
	uint32_t mark;       /* fwmark of packets delivered locally */
	uint32_t table;      /* routing table with the local default routes */
	uint32_t rule_pref;  /* preference of the fwmark rules */
	uint16_t lport4, lport6;
	const char *pin_root; /* e.g. /sys/fs/bpf/hybond; NULL: no pins */
	const char *name;     /* instance name: pins go to pin_root/name */
	const struct policy *policy; /* in force from the start; NULL: bond all */
	uint32_t flags;       /* extra HYBOND_F_* (HYBOND_F_STRIP_TS) */
	const struct hb_addr *subs; /* subscriber prefixes (HAG), or NULL */
	int nsubs;
	/* --takeover: share the running instance's SYN event ring and held
	 * map (fds, or -1), replace its programs instead of adding ours, find
	 * its rules in place; own none of it until steer_own(). */
	bool takeover;
	int reuse_events_fd, reuse_held_fd;
	/* Pinned with ours, e.g. the relay's splice program; or NULL. */
	struct bpf_object *extra_obj;
};

struct tc_hook_state {
	int ifindex;
	bool attached;
	bool created_qdisc;
};

struct steer {
	struct tc_steer_bpf *skel;
	struct xdp_guard_bpf *guard;
	int guard_link;    /* XDP link fd + 1 (0: none) */
	int guard_ifindex;
	struct nl rt;
	struct tc_hook_state hooks[2];
	bool rule[2], route[2]; /* [0] IPv4, [1] IPv6 */
	uint32_t mark, table, pref;
	uint32_t policy_word; /* hybond_cfg.policy as we last wrote it */
	char pin_dir[512];
	bool pinned;
	bool mounted_bpffs;
	bool disowned; /* handed over: undo nothing on stop */
	const char *pin_root, *name; /* for steer_own()'s pins */
	struct bpf_object *extra_obj;
};

int steer_start(struct steer *s, const struct steer_opts *o);
/* Detach the programs and the local-delivery routing (traffic is routed
 * as without hybond from here); the maps stay usable until steer_stop(). */
void steer_stop_traffic(struct steer *s);
void steer_stop(struct steer *s);
int steer_stats_fd(const struct steer *s);
int steer_held_fd(const struct steer *s);
int steer_events_fd(const struct steer *s);
int steer_reinject_fd(const struct steer *s);
int steer_subs_fd(const struct steer *s, int family);
/* HAG: attach the secondary interface's guard (XDP), admitting MP_JOIN
 * SYNs to these addresses and port, existing subflows, needed ICMP. */
int steer_guard_start(struct steer *s, int ifindex, const struct hb_addr *a,
		      int n, uint16_t join_port);
/* --takeover, new side: put our guard program on the running instance's
 * XDP link (bpf_link_update) instead of making a link. Takes link_fd. */
int steer_guard_takeover(struct steer *s, int link_fd, int ifindex,
			 const struct hb_addr *a, int n, uint16_t join_port);
/* --takeover, new side, after commit: the programs on tc, the rules, the
 * routes and the qdiscs the old instance created are ours to undo now; pin
 * in place of its pins. */
void steer_own(struct steer *s, const bool created_qdisc[2]);
/* --takeover, old side, after commit: undo nothing on stop. */
void steer_disown(struct steer *s);
/* --takeover, old side, abandoned: put our programs back on tc and on
 * the guard's link. */
void steer_reclaim(struct steer *s);
int steer_guard_link_fd(const struct steer *s);
/* The guard's counters (enum hybond_gctr), summed; -ENOENT if none. */
int steer_guard_stats(const struct steer *s, uint64_t *ctr);
/* Replace the policy in force atomically (new SYNs follow it at once). */
int steer_set_policy(struct steer *s, const struct policy *p);
/* Read the policy in force back from the maps. */
int steer_get_policy(struct steer *s, struct policy *p);

#endif
