/* SPDX-License-Identifier: GPL-2.0-only */
/* daemon.h - one role (cpe or hag) run in the foreground: set up the path
 * manager, the relay and the steering, serve the control socket, undo it
 * all on SIGTERM/SIGINT. */
#ifndef HYBOND_DAEMON_H
#define HYBOND_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hybond_abi.h"
#include "nl.h"
#include "upm.h"

struct daemon_opts {
	int role;
	const char *name;
	/* CPE: lan, primary, secondary. HAG: access, core, secondary. */
	const char *if_steer, *if_up, *if_secondary;
	int ifx_steer, ifx_up, ifx_secondary;
	bool nat;
	bool keep_timestamps; /* HAG: do not blank timestamps (IPv6 ADD_ADDR) */
	bool no_guard;        /* HAG: no XDP guard on the secondary */
	uint16_t join_port;
	uint32_t mark, table, pref;
	const char *pin_root;
	const char *policy_file;
	int workers;
	size_t bufsize;
	unsigned int stall_timeout_s;
	bool accept_first; /* answer hosts at once, connect upstream after */
	bool tcp_upstream; /* CPE: relay over plain TCP (no MPTCP, no HAG) */
	bool splice;       /* splice in the kernel where it takes the sockets */
	bool sched_normal; /* threads on SCHED_OTHER, not SCHED_BATCH */
	const char *congestion;
	/* HAG: subscriber prefixes (BCP 38 and per-subscriber limits) */
	struct hb_addr subs[HYBOND_MAX_SUBS];
	int nsubs;
	unsigned int max_conns, max_per_subscriber;
	unsigned int idle_timeout_s, half_open_timeout_s;
	/* CPE: primary-first bonding */
	int bonding;              /* enum bonding_mode; -1: choose */
	double primary_down_bps, primary_up_bps, secondary_cap_bps;
	/* hybond's own path manager (upm.h). CPE: --hag-secondary targets,
	 * --join-port given (listen for the HAG's subflows). HAG:
	 * --initiate-subflows with the --cpe-secondary map. */
	struct upm_target pm_targets[UPM_MAX_TARGETS];
	int npm_targets;
	bool cpe_listen;
	bool initiate_subflows;
	/* HAG: announce only to connections this old (hybond's PM); 0: the
	 * kernel's PM announces at once */
	unsigned int announce_after_ms;
	/* CPE: secondary subflows only for connections this old (upm.h) */
	unsigned int join_after_ms;
	/* The kernel PM's limits: extra subflows per connection (and, on the
	 * CPE, ADD_ADDRs acted on); -1: hybond's defaults. */
	int max_subflows;
	/* Replace the running instance of this name (takeover.h). */
	bool takeover;
};

/* 0 after a clean shutdown, -errno when set-up failed (already logged). */
int run_daemon(const struct daemon_opts *o);

#endif
