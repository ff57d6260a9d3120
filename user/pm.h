/* SPDX-License-Identifier: GPL-2.0-only */
/* pm.h - the MPTCP path manager over generic netlink (family "mptcp_pm"):
 * limits and endpoints of the kernel PM, with an exact undo. */
#ifndef HYBOND_PM_H
#define HYBOND_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "nl.h"

#define PM_MAX_ENDPOINTS 16

struct pm_endpoint {
	struct hb_addr addr;
	uint16_t port;   /* 0: none */
	uint32_t flags;  /* MPTCP_PM_ADDR_FLAG_* */
	int ifindex;
	uint8_t id;      /* the kernel's endpoint id */
};

struct pm {
	struct nl nl;
	uint16_t family_id;
	bool limits_changed;
	uint32_t old_subflows, old_add_addr;
	long old_blackhole; /* net.mptcp.blackhole_timeout to restore, or -1 */
	struct pm_endpoint added[PM_MAX_ENDPOINTS];
	int nadded;
	/* --takeover: an endpoint already there is the running instance's:
	 * keep it as it is (replacing it would close its subflows). */
	bool adopt;
};

int pm_open(struct pm *pm);
int pm_get_limits(struct pm *pm, uint32_t *subflows, uint32_t *add_addr);
/* Raise the limits to at least these values (never lowers them); the
 * previous values come back on pm_close(). */
int pm_raise_limits(struct pm *pm, uint32_t subflows, uint32_t add_addr);
/* Set them to exactly these values (--max-subflows); restored likewise. */
int pm_set_limits(struct pm *pm, uint32_t subflows, uint32_t add_addr);
/* ip mptcp endpoint add ADDR [port P] [dev IF] FLAGS, replacing a stale
 * identical endpoint left by a killed daemon. */
int pm_add_endpoint(struct pm *pm, const struct pm_endpoint *ep);
/* Change the flags (backup) of an endpoint we added: MP_PRIO goes out on
 * every subflow that uses it. */
int pm_set_backup(struct pm *pm, int idx, bool backup);
/* Turn off the kernel's MPTCP blackhole detection in this namespace (a
 * CPE's connections all go to its HAG, which holds SYNs on purpose);
 * restored on pm_close(). Not fatal: a kernel without it, or a read-only
 * /proc/sys, leaves it as it is, said in the log. */
void pm_no_blackhole_detection(struct pm *pm);
/* Remove what we added, restore the limits, close. */
void pm_close(struct pm *pm);
/* --takeover, old side: what we added is the new process's now. */
void pm_disown(struct pm *pm);

#endif
