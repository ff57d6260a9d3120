/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hold.h - the draft's handshake order (section 5, Figure 4, steps 1-6):
 * a host's SYN is answered only once the upstream connection exists.
 *
 * The steering program drops a SYN to bond and reports it, frame and all,
 * in the hybond_events ring. This module connects upstream from H@ to S@;
 * when that succeeds it hands the connected socket to the relay, marks the
 * tuple released and reinjects the SYN, which the program now steers to
 * the listener; when the server refuses, the host gets a reset for its SYN;
 * when it is unreachable, an ICMP error; when it never answers, nothing.
 * The same path clears one of our TIME_WAIT sockets that a new SYN meets.
 */
#ifndef HYBOND_HOLD_H
#define HYBOND_HOLD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct hold;
struct relay;
struct steer;

int hold_start(struct hold **h, struct steer *s, struct relay *r, bool order);
void hold_stop(struct hold *h);
/* --takeover: take no more held SYNs (they wait in the ring for the next
 * process) and wait up to timeout_ms for the ones taken to be connected and
 * handed to the relay. Returns how many are still in progress. */
int hold_freeze(struct hold *h, int timeout_ms);
/* Take held SYNs again (the takeover was abandoned). */
void hold_thaw(struct hold *h);

/* The relay asks for the upstream socket connected for this host/server
 * pair before the SYN was released: the fd, or -1 if there is none. */
int hold_take(struct hold *h, const struct sockaddr_storage *host,
	      const struct sockaddr_storage *server);

struct hold_counters {
	uint64_t released;   /* SYNs reinjected after the upstream connected */
	uint64_t refused;    /* server refused: reset sent to the host */
	uint64_t unreachable; /* ICMP error sent to the host */
	uint64_t timed_out;  /* server never answered: nothing sent */
	uint64_t tw_cleared; /* TIME_WAIT sockets removed for a new SYN */
	uint64_t refused_limit; /* SYNs reset because of a connection limit */
	uint64_t overload;   /* SYNs forgotten: too many connects pending */
	uint64_t answer_failed; /* resets or ICMP errors that could not be sent */
};
void hold_counters(struct hold *h, struct hold_counters *out);

#endif
