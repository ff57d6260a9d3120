/* SPDX-License-Identifier: GPL-2.0-only */
/* stats.h - the BPF counters and the relay's view of its connections,
 * rendered as a table, as JSON, or in the Prometheus text format. */
#ifndef HYBOND_STATS_H
#define HYBOND_STATS_H

#include <stdint.h>

#include "hold.h"
#include "hybond_abi.h"
#include "relay.h"
#include "sbuf.h"

enum stats_format { STATS_TABLE, STATS_JSON, STATS_PROMETHEUS };

struct stats_input {
	const char *role, *name;
	int pid;
	uint64_t uptime_s;
	const char *datapath;  /* "userspace" or "sockmap" */
	const char *datapath_why;
	uint64_t ctr[HYBOND_STAT_ENTRIES]; /* summed over CPUs */
	struct relay_counters rc;
	const struct relay_conn_view *conns;
	int nconns;
	int conns_truncated; /* more connections than listed */
	struct hold_counters hold;
	bool have_guard;
	uint64_t guard[HYBOND_G_MAX];
	struct {
		bool present; /* CPE only */
		const char *mode;
		bool secondary_on;
		double primary_down_bps, primary_up_bps, secondary_cap_bps;
		double rate_bps[4]; /* primary rx, tx, secondary rx, tx */
		uint64_t activations, cap_holds, reasserted, peer_resends;
	} bonding;
	struct {
		bool present; /* hybond's own path manager runs */
		uint64_t established, subflows_created, subflow_errors,
			retries, announced, tracked;
		/* --join-after: ended before they were old enough to join */
		uint64_t ended_unjoined;
		uint64_t prio_resent; /* see upm_stats */
		uint64_t events_lost, swept, subflows_swept, adopted; /* see upm_stats */
	} pm;
};

/* Sum the per-CPU hybond_stats map into in->ctr. */
int stats_read_bpf(int map_fd, uint64_t ctr[HYBOND_STAT_ENTRIES]);
void stats_render(const struct stats_input *in, enum stats_format fmt,
		  struct sbuf *out);
/* Parse "table", "json" or "prometheus"; -1 if none of them. */
int stats_format_parse(const char *s);

#endif
