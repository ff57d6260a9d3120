/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * takeover.h - `--takeover`: a new process replaces a running instance of
 * the same name in the same network namespace without dropping anything,
 * the way haproxy's seamless reload does.
 *
 * The two talk over the instance's control socket (verb "takeover"):
 *
 *   new -> old  "takeover"
 *   old -> new  "offer KEY=VALUE..." with the relay's two listening sockets,
 *               the steering program's SYN event ring and held-SYN map, and
 *               the guard's XDP link (SCM_RIGHTS)
 *               The new process sets up with them: same listeners (no
 *               queue is lost), its programs share the ring and the map and
 *               replace the old ones on tc in one step each (BPF_TC_F_REPLACE,
 *               bpf_link_update), rules and endpoints are adopted as they are.
 *   new -> old  "freeze"
 *   old -> new  "frozen"  once the old process stopped taking held SYNs (they
 *               wait in the shared ring), finished the ones it had taken and
 *               stopped accepting. The new process starts its relay and its
 *               handshake-order thread.
 *   new -> old  "commit"
 *   old -> new  "bye"     the old process gave up the control socket and
 *               every undo (programs, rules, endpoints, pins are the new
 *               one's now); it serves its established connections until
 *               they end, then exits.
 *
 * If the new process stops (error, crash) before "commit", the old one puts
 * its own programs back, accepts again and goes on serving.
 */
#ifndef HYBOND_TAKEOVER_H
#define HYBOND_TAKEOVER_H

#include <stdbool.h>
#include <stdint.h>

enum { TK_FD_LISTEN4, TK_FD_LISTEN6, TK_FD_EVENTS, TK_FD_HELD, TK_FD_GUARD,
       TK_NFDS };

/* What the old process hands over. */
struct takeover_offer {
	int fd[TK_NFDS]; /* -1: none */
	int old_pid;
	/* What the old process would have restored on exit: now the new
	 * one's to restore. */
	bool limits_changed;
	uint32_t old_subflows, old_add_addr;
	int old_pm_type; /* -1: untouched */
	long old_blackhole; /* net.mptcp.blackhole_timeout; -1: untouched */
	bool created_qdisc[2];
};

/* New side: the conversation with the running instance. */
struct takeover {
	int sock;
	struct takeover_offer offer;
};

/* Ask instance `name` for its sockets. 0, or -errno with the reason
 * logged. */
int takeover_begin(struct takeover *t, const char *name);
/* Tell it to stop taking new work; returns once it has. */
int takeover_freeze(struct takeover *t);
/* Everything is in place here: the old process lets go. */
int takeover_commit(struct takeover *t);
/* Close whatever is left (before commit: the old instance goes on). */
void takeover_end(struct takeover *t);

/* Old side: send/receive one line with optional descriptors. */
int tk_send(int sock, const char *line, const int *fds, int nfds);
/* Receive one line (without '\n') into buf; descriptors into fds (-1 for
 * the missing ones). Returns the length or -errno (-ECONNRESET at EOF). */
int tk_recv(int sock, char *buf, size_t len, int *fds, int nfds,
	    int timeout_ms);

#endif
