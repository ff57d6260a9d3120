/* SPDX-License-Identifier: GPL-2.0-only */
/* upm.h - hybond's own MPTCP path manager, for the subflows the kernel's
 * in-kernel PM cannot make (draft section 5):
 *   - the CPE joins a configured HAG@2 at once, without waiting for an
 *     ADD_ADDR (`hybond cpe --hag-secondary ADDR:PORT`);
 *   - the HAG opens the second subflow itself, towards the CPE@2 that a
 *     subscriber-prefix map names (Figure 6, `hybond hag
 *     --initiate-subflows --cpe-secondary PREFIX=ADDR:PORT`).
 * It switches the network namespace to the kernel's userspace PM
 * (net.mptcp.pm_type=1, restored on close) and acts on the events of the
 * `mptcp_pm_events` group: a connection established, a subflow closed, a
 * connection closed. A lost secondary subflow is re-created with backoff
 * while its connection lives. The HAG in this mode announces HAG@2 itself
 * (ADD_ADDR) to the connections no target covers; the kernel's listeners
 * on HAG@2:PORT stay those of the signal endpoints. A HAG-opened subflow
 * must go to a port the CPE announced on that connection (the kernel
 * refuses a join to another port: MPTcpExtMismatchPortSynRx), so the CPE
 * announces CPE@2:PORT with `--join-port` (a kernel signal endpoint).
 *   - the CPE joins what the HAG announces, but only once a connection has
 *     lived `--join-after MS` (or the secondary is needed now): short
 *     connections never open a subflow on the secondary. */
#ifndef HYBOND_UPM_H
#define HYBOND_UPM_H

#include <stdbool.h>
#include <stdint.h>

#include "nl.h"

#define UPM_MAX_TARGETS 8
#define UPM_MAX_LOCAL 8

/* Where a secondary subflow goes: to addr:port, for the connections whose
 * remote address is inside prefix (prefix.family 0: every connection of the
 * address family). */
struct upm_target {
	struct hb_addr prefix;
	struct hb_addr addr;
	uint16_t port;
	bool announced; /* learnt from an ADD_ADDR: only for the connections
			   that were told of it */
};

struct upm_opts {
	bool server; /* HAG: act on server-side connections */
	struct upm_target targets[UPM_MAX_TARGETS];
	int ntargets;
	/* our secondary addresses: the subflows' local side */
	struct hb_addr local[UPM_MAX_LOCAL];
	int nlocal;
	int ifx_secondary;
	/* HAG: announce local[] with this port to the connections no target
	 * covers. 0: announce nothing. */
	uint16_t announce_port;
	/* HAG: announce only once a connection has lived this long, every
	 * address of local[] (as the kernel's PM does); 0: at once, the
	 * connection's family only. */
	unsigned int announce_after_ms;
	bool backup; /* create the subflows as backup (primary-first) */
	/* CPE: join what the peer announces (ADD_ADDR), as the kernel's PM
	 * would, for the connections told of it. */
	bool learn;
	/* CPE: make a connection's subflows only once it has lived this long
	 * (0: at once), or as soon as the secondary is switched on. */
	unsigned int join_after_ms;
};

struct upm_conn;

struct upm_stats {
	uint64_t established, subflows_created, subflow_errors, retries,
		announced, closed;
	/* --join-after (--announce-after): connections that ended before
	 * their wait was over */
	uint64_t ended_unjoined;
	/* subflows that were still connecting when the primary-first switch
	 * turned, and got its state once they were up */
	uint64_t prio_resent;
	/* times the event socket overflowed (ENOBUFS): events were lost, so
	 * some connections were never seen or never seen to close */
	uint64_t events_lost;
	/* tracked connections found closed without their close event: by the
	 * sweep after lost events, or by a join the kernel refused for an
	 * unknown token */
	uint64_t swept;
	/* subflows of tracked connections found gone by the sweep (their
	 * MPTCP_EVENT_SUB_CLOSED lost), then made again */
	uint64_t subflows_swept;
	/* live connections found untracked after lost events (their
	 * MPTCP_EVENT_ESTABLISHED lost), then followed as if it had come */
	uint64_t adopted;
};

struct upm {
	struct upm_opts o;
	struct nl cmd, ev;
	uint16_t family_id;
	int old_pm_type; /* -1: untouched */
	struct upm_conn **tab; /* by token */
	unsigned int nconns;
	struct upm_stats st;
	/* --takeover: new connections are the other process's (it acts on
	 * them); ours keep their retries. */
	bool passive;
	bool targets_full_logged;
	uint64_t sweep_at_ms; /* events were lost: check then (0: no) */
	bool fault_lose_closed; /* HYBOND_TEST_FAULT=pm-lose-closed */
	bool fault_lose_sub_closed; /* HYBOND_TEST_FAULT=pm-lose-sub-closed */
	/* HYBOND_TEST_FAULT=pm-late-sub-closed: the subflow closes held back
	 * and handled late (NULL without the fault). */
	struct upm_late *late;
	unsigned int reqs; /* requests since the events were last read */
};

/* Set up: userspace PM on, events subscribed, listeners open. Logs why on
 * failure and leaves nothing behind. */
int upm_open(struct upm *u, const struct upm_opts *o);
/* The descriptor to poll for events (EPOLLIN). */
int upm_event_fd(const struct upm *u);
/* Read and act on every pending event. */
void upm_handle_events(struct upm *u);
/* Call every 100 ms or so: re-creates lost subflows whose backoff ran out. */
void upm_tick(struct upm *u);
/* Flip the backup flag of every secondary subflow (MP_PRIO), and of the
 * subflows created from now on. Switching the secondary on (backup false)
 * also makes the joins that wait for --join-after, at once. */
int upm_set_backup(struct upm *u, bool backup);
/* Send the current flag again to every live secondary subflow (an MP_PRIO
 * each): for a peer that missed the first (MPTCP never retransmits
 * MP_PRIO). Returns how many subflows it reached, or a negative error. */
int upm_resend_backup(struct upm *u);
void upm_close(struct upm *u);
/* Put net.mptcp.pm_type back to `old` (a takeover by a process that does
 * not run this path manager). */
void upm_restore_pm_type(int old);

/* Parse "ADDR:PORT", "[V6ADDR]:PORT"; with prefix, "PREFIX/LEN=ADDR:PORT".
 * 0 or -EINVAL with a message in err. */
int upm_parse_target(const char *s, bool with_prefix, struct upm_target *t,
		     char *err, size_t errlen);

#endif
