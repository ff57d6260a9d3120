// SPDX-License-Identifier: GPL-2.0-only
/*
 * overflow.c - the CPE's primary-first controller (see overflow.h).
 *
 * Every tick it reads the byte counters of the primary and secondary
 * interfaces, smooths them over ~200 ms, and decides:
 *   off -> on   the primary carries >= 85% of its capacity in either
 *               direction (it lacks capacity), or its link is down;
 *   on -> off   primary + secondary together stayed under 70% of the
 *               primary's capacity for 2 s (the load fits the primary
 *               again; the gap between 85% and 70% keeps it from
 *               flapping);
 *   cap         whatever the load, the secondary goes off when a
 *               direction's token bucket (refilled at 80% of the cap, 300 ms
 *               deep) holds less than what arrives in the next 300 ms
 *               (the switch takes effect a round trip later, behind the
 *               data in flight), and may come back once it is half full.
 * Switching is one SET_FLAGS per secondary endpoint: the kernel sends
 * MP_PRIO on every subflow using it, so both ends follow at once; but not
 * on a join that is not fully established yet: that one keeps the flag it
 * started with (6.12 guest, 300 ms secondary: no MP_PRIO at all, and the
 * secondary unused for a whole bulk transfer). With the kernel's path
 * manager the switch therefore checks the secondary's subflows
 * (sock_diag) for 10 s after it turns, and re-sends the flags to those
 * that came up with the other one (reassert_tick). hybond's own path
 * manager retries per subflow instead (upm.c).
 *
 * An MP_PRIO can also be lost on the way (a pure ACK: dropped, or, as seen
 * in 6.1 guests, sent with a stale timestamp, overtaken by a newer ACK on
 * the veth and discarded by the HAG's PAWS check), and MPTCP never sends
 * it again: the HAG then keeps the subflow's old flag for its life, e.g.
 * a capped secondary used in full. So the switch watches what the HAG
 * sends, the one thing it decides: bytes arriving on a secondary switched
 * off, or none while it is on and the primary is full downstream, for
 * DEFY_NS after the turn has had LAG_S to take effect, and then sends the
 * flags again (peer_check), until the HAG follows.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "overflow.h"

#define TAU_S 0.2
#define ON_FRACTION 0.85
#define OFF_FRACTION 0.70
#define CALM_NS 2000000000ULL
#define BUCKET_S 0.3
#define LAG_S 0.3 /* MP_PRIO round trip plus data already in flight */
#define CAP_MARGIN 0.80
#define REASSERT_NS 10000000000ULL /* joins connecting longer get it then */
#define DEFY_NS 500000000ULL /* the HAG not following the switch this long */
#define DEFY_BPS 1e6         /* ... by sending above / below this */
/* Sent again every 250 ms, 8 times (a re-sent MP_PRIO can be lost too),
 * then every 2 s; a warning after 10 in a row. */
#define NUDGE_FAST_NS 250000000ULL
#define NUDGE_FAST 8
#define NUDGE_EVERY_NS 2000000000ULL
#define NUDGE_WARN 10

enum { P_RX, P_TX, S_RX, S_TX };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

const char *bonding_mode_name(enum bonding_mode m)
{
	return m == BOND_ALWAYS ? "always" : "overflow";
}

static int set_endpoints(struct overflow *ov, bool backup)
{
	int err = 0;

	for (int i = 0; i < ov->pm->nadded; i++) {
		int e = pm_set_backup(ov->pm, i, backup);

		if (e)
			err = e;
	}
	return err;
}

/* Kernel PM: the endpoints' flag the other way, then the right one, so
 * that every subflow using them gets an MP_PRIO (the kernel sends one only
 * when an endpoint's flag changes): twice per subflow. */
static int toggle_endpoints(struct overflow *ov)
{
	int err = set_endpoints(ov, ov->on);

	return err ? err : set_endpoints(ov, !ov->on);
}

/*
 * After a turn of the switch (kernel PM): once no join on the secondary is
 * still connecting (or at the deadline), any subflow with the other flag
 * gets the flags sent again, the other one and back, since the kernel
 * sends MP_PRIO only when an endpoint's flag changes. Checked again after,
 * three rounds at most.
 */
static void reassert_tick(struct overflow *ov, uint64_t t)
{
	struct hb_addr src[PM_MAX_ENDPOINTS];
	struct subflow_census c;
	int n = ov->pm->nadded, wrong, err;

	for (int i = 0; i < n; i++)
		src[i] = ov->pm->added[i].addr;
	err = nl_subflow_census(&ov->diag, src, n, &c);
	if (err) {
		pr_debug("sock_diag: %s; the secondary's subflows not checked",
			 strerror(-err));
		ov->reassert = false;
		return;
	}
	if (c.joining && t < ov->reassert_by_ns)
		return;
	wrong = ov->on ? c.backup : c.active;
	if (!wrong) {
		ov->reassert = c.joining > 0 && t < ov->reassert_by_ns;
		if (!ov->reassert)
			pr_debug("secondary %s: its subflows follow (%d active, "
				 "%d backup, %d joining)",
				 ov->on ? "on" : "off", c.active, c.backup,
				 c.joining);
		return;
	}
	if (ov->reassert_rounds++ >= 3) {
		pr_warn("%d subflow(s) on the secondary keep the %s flag after "
			"the switch turned %s", wrong,
			ov->on ? "backup" : "non-backup", ov->on ? "on" : "off");
		ov->reassert = false;
		/* Whatever happened half-way, new joins get the right one. */
		set_endpoints(ov, !ov->on);
		return;
	}
	if (toggle_endpoints(ov)) {
		pr_warn("re-sending the secondary's flags failed; trying again");
		return;
	}
	ov->reasserted++;
	pr_debug("secondary %s: flags re-sent, %d subflow(s) had the other "
		 "one (joins connecting when the switch turned)",
		 ov->on ? "on" : "off", wrong);
}

static void set_on(struct overflow *ov, bool on, const char *why)
{
	int err;

	if (ov->on == on)
		return;
	err = set_endpoints(ov, !on);
	if (!err && ov->upm)
		err = upm_set_backup(ov->upm, !on);
	if (err) {
		pr_warn("switching the secondary %s failed: %s", on ? "on" : "off",
			strerror(-err));
		return;
	}
	ov->on = on;
	ov->turned_ns = now_ns();
	ov->defy_since_ns = 0;
	ov->nudges_in_row = 0;
	if (on)
		ov->activations++;
	if (!ov->upm && ov->diag_open) {
		ov->reassert = true;
		ov->reassert_rounds = 0;
		ov->reassert_by_ns = now_ns() + REASSERT_NS;
	}
	pr_debug("secondary %s: %s (primary %.1f/%.1f Mbit/s down/up, "
		 "secondary %.1f/%.1f)",
		 on ? "on" : "off", why, ov->rate[P_RX] * 8e-6,
		 ov->rate[P_TX] * 8e-6, ov->rate[S_RX] * 8e-6,
		 ov->rate[S_TX] * 8e-6);
}

/* Send the flags again to subflows the HAG may have missed them on. */
static int resend_flags(struct overflow *ov)
{
	int err;

	if (ov->upm)
		return upm_resend_backup(ov->upm);
	err = toggle_endpoints(ov);
	return err ? err : 1;
}

/* Does the HAG follow the switch? `rx` is what came down the secondary in
 * the last `dt` seconds, `prx` down the primary. */
static void peer_check(struct overflow *ov, uint64_t t, double rx, double prx,
		       double dt)
{
	const struct overflow_opts *o = &ov->o;
	double bps = rx * 8 / dt;
	bool defy;
	int n;

	if (o->mode == BOND_ALWAYS || !ov->primary_up ||
	    t - ov->turned_ns < (uint64_t)(LAG_S * 1e9)) {
		ov->defy_since_ns = 0;
		return;
	}
	if (!ov->on)
		defy = bps > DEFY_BPS;
	else
		defy = o->primary_down_bps > 0 && bps < DEFY_BPS &&
		       prx * 8 / dt >= ON_FRACTION * o->primary_down_bps;
	if (!defy) {
		ov->defy_since_ns = 0;
		ov->nudges_in_row = 0;
		return;
	}
	if (!ov->defy_since_ns)
		ov->defy_since_ns = t;
	if (t - ov->defy_since_ns < DEFY_NS || t < ov->nudge_at_ns)
		return;
	ov->nudge_at_ns = t + (ov->nudges_in_row < NUDGE_FAST ? NUDGE_FAST_NS
							       : NUDGE_EVERY_NS);
	n = resend_flags(ov);
	if (n < 0) {
		pr_warn("sending the secondary's flags again failed: %s",
			strerror(-n));
		return;
	}
	if (!n)
		return; /* no subflow up to send them to (joins on the way) */
	ov->peer_resends++;
	pr_debug("secondary %s, but %.1f Mbit/s came down it for %.1f s: "
		 "flags sent again to %d subflow(s) (an MP_PRIO lost?)",
		 ov->on ? "on" : "off", bps * 1e-6,
		 (t - ov->defy_since_ns) / 1e9, n);
	if (++ov->nudges_in_row != NUDGE_WARN)
		return;
	if (ov->on)
		pr_warn("secondary on and the primary full, yet only %.1f "
			"Mbit/s come down the secondary after its flags were "
			"sent %d times: the HAG does not honour MP_PRIO, or "
			"the secondary's subflows are stuck",
			bps * 1e-6, NUDGE_WARN);
	else
		pr_warn("secondary on standby, yet %.1f Mbit/s come down it "
			"after its flags were sent %d times: the HAG does not "
			"honour MP_PRIO, or other traffic uses the secondary's "
			"interface (the switch counts all its bytes)",
			bps * 1e-6, NUDGE_WARN);
}

int overflow_init(struct overflow *ov, const struct overflow_opts *o,
		  struct pm *pm)
{
	int err;

	memset(ov, 0, sizeof(*ov));
	ov->o = *o;
	ov->pm = pm;
	/* The endpoints start as the mode wants them (pm added them so). */
	ov->on = o->mode == BOND_ALWAYS;
	err = nl_open(&ov->rt, NETLINK_ROUTE);
	if (err)
		return err;
	/* Without it the switch works, minus the joins in flight. */
	err = nl_open(&ov->diag, NETLINK_SOCK_DIAG);
	ov->diag_open = !err;
	if (err)
		pr_warn("sock_diag: %s; joins connecting while the secondary "
			"is switched may keep their old flag",
			strerror(-err));
	/* Empty buckets: no initial burst above the cap. */
	ov->tokens[0] = ov->tokens[1] = 0;
	ov->primary_up = true;
	return 0;
}

static bool read_counters(struct overflow *ov, uint64_t c[4], bool *pri_up)
{
	struct link_stats p, s;

	if (nl_link_stats(&ov->rt, ov->o.ifx_primary, &p) ||
	    nl_link_stats(&ov->rt, ov->o.ifx_secondary, &s))
		return false;
	c[P_RX] = p.rx_bytes;
	c[P_TX] = p.tx_bytes;
	c[S_RX] = s.rx_bytes;
	c[S_TX] = s.tx_bytes;
	*pri_up = p.up;
	return true;
}

void overflow_tick(struct overflow *ov)
{
	const struct overflow_opts *o = &ov->o;
	uint64_t c[4], t = now_ns();
	/* Refill a little under the cap: the switch lags the counters, and
	 * the average must stay under the cap, not hover around it. */
	double dt, a, cap_bytes = o->secondary_cap_bps / 8 * CAP_MARGIN;
	double rx, prx;
	bool pri_up, want, capped = false;

	if (!read_counters(ov, c, &pri_up))
		return;
	if (!ov->last_ns) {
		memcpy(ov->last, c, sizeof(c));
		ov->last_ns = t;
		return;
	}
	dt = (t - ov->last_ns) / 1e9;
	if (dt <= 0)
		return;
	a = dt / TAU_S > 1 ? 1 : dt / TAU_S;
	for (int i = 0; i < 4; i++) {
		double inst = (c[i] - ov->last[i]) / dt;

		ov->rate[i] += (inst - ov->rate[i]) * a;
	}
	if (o->secondary_cap_bps > 0) {
		for (int d = 0; d < 2; d++) {
			ov->tokens[d] += cap_bytes * dt -
					 (double)(c[S_RX + d] - ov->last[S_RX + d]);
			if (ov->tokens[d] > cap_bytes * BUCKET_S)
				ov->tokens[d] = cap_bytes * BUCKET_S;
			/* Off before the bucket runs dry: what is in flight
			 * when MP_PRIO goes out still arrives. */
			if (ov->tokens[d] <= ov->rate[S_RX + d] * LAG_S)
				capped = true;
			else if (!ov->on &&
				 ov->tokens[d] < cap_bytes * BUCKET_S / 2)
				capped = true;
		}
	}
	rx = (double)(c[S_RX] - ov->last[S_RX]);
	prx = (double)(c[P_RX] - ov->last[P_RX]);
	memcpy(ov->last, c, sizeof(c));
	ov->last_ns = t;
	if (ov->reassert)
		reassert_tick(ov, t);
	if (pri_up != ov->primary_up)
		pr_info("primary link %s", pri_up ? "up" : "down");
	ov->primary_up = pri_up;

	if (o->mode == BOND_ALWAYS) {
		want = true;
	} else if (!pri_up) {
		want = true; /* failover: use the secondary at once */
	} else if (!ov->on) {
		want = (o->primary_down_bps > 0 &&
			ov->rate[P_RX] * 8 >= ON_FRACTION * o->primary_down_bps) ||
		       (o->primary_up_bps > 0 &&
			ov->rate[P_TX] * 8 >= ON_FRACTION * o->primary_up_bps);
		ov->calm_since_ns = 0;
	} else {
		bool calm = (ov->rate[P_RX] + ov->rate[S_RX]) * 8 <
				    OFF_FRACTION * o->primary_down_bps &&
			    (ov->rate[P_TX] + ov->rate[S_TX]) * 8 <
				    OFF_FRACTION * o->primary_up_bps;

		if (!calm)
			ov->calm_since_ns = 0;
		else if (!ov->calm_since_ns)
			ov->calm_since_ns = t;
		want = !(calm && t - ov->calm_since_ns >= CALM_NS);
	}
	if (want && capped && pri_up) {
		if (ov->on)
			ov->cap_holds++;
		set_on(ov, false, "secondary rate cap");
	} else {
		set_on(ov, want, want ? "primary lacks capacity"
				      : "load fits the primary");
	}
	peer_check(ov, t, rx, prx, dt);
}

void overflow_close(struct overflow *ov)
{
	nl_close(&ov->rt);
	if (ov->diag_open)
		nl_close(&ov->diag);
}
