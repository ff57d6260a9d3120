/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * overflow.h - primary-first use of the secondary (the CPE's controller).
 *
 * The kernel's only scheduler spreads data over every non-backup subflow in
 * proportion to path capacity, and uses a backup subflow only when no
 * other is active. So the CPE keeps its secondary endpoint(s) "backup" while
 * the primary has room, and clears the flag (MP_PRIO on every live subflow,
 * both directions follow at once) when the measured primary rate reaches
 * the primary's capacity; it sets it again once the whole bonded load would
 * fit the primary. A secondary rate cap is a token bucket on the same
 * switch.
 */
#ifndef HYBOND_OVERFLOW_H
#define HYBOND_OVERFLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "nl.h"
#include "pm.h"
#include "upm.h"

enum bonding_mode {
	BOND_OVERFLOW = 0, /* secondary only when the primary is full */
	BOND_ALWAYS,       /* secondary always (the kernel scheduler decides) */
};

struct overflow_opts {
	enum bonding_mode mode;
	double primary_down_bps; /* primary capacity, bits/s; 0 = unknown */
	double primary_up_bps;
	double secondary_cap_bps; /* 0 = no cap */
	int ifx_primary, ifx_secondary;
};

struct overflow {
	struct overflow_opts o;
	struct pm *pm;
	struct upm *upm;       /* set: switch hybond PM's subflows too */
	struct nl rt;
	struct nl diag;        /* sock_diag: joins connecting (kernel PM) */
	bool diag_open;
	bool on;               /* secondary endpoints non-backup now */
	bool primary_up;
	uint64_t last_ns;
	uint64_t last[4];      /* rx/tx of primary, rx/tx of secondary */
	double rate[4];        /* bytes/s, smoothed */
	double tokens[2];      /* secondary cap buckets, rx and tx, bytes */
	uint64_t calm_since_ns; /* load fits the primary since then */
	uint64_t activations;  /* times the secondary was switched on */
	uint64_t cap_holds;    /* times the cap switched it off */
	/* Kernel PM: after a turn, check the secondary's subflows until then
	 * and re-send the flags to those with the other one (overflow.c). */
	bool reassert;
	int reassert_rounds;
	uint64_t reassert_by_ns;
	uint64_t reasserted;   /* times the flags were re-sent so */
	/* The HAG not following the switch (an MP_PRIO lost on the way, and
	 * MPTCP never sends one again): since when, when to send the flags
	 * again, how often in a row, and how often in all (overflow.c). */
	uint64_t turned_ns;
	uint64_t defy_since_ns;
	uint64_t nudge_at_ns;
	int nudges_in_row;
	uint64_t peer_resends;
};

int overflow_init(struct overflow *ov, const struct overflow_opts *o,
		  struct pm *pm);
/* Run every ~100 ms. */
void overflow_tick(struct overflow *ov);
void overflow_close(struct overflow *ov);
const char *bonding_mode_name(enum bonding_mode m);

#endif
