// SPDX-License-Identifier: GPL-2.0-only
/*
 * pm.c - configures the kernel's MPTCP path manager (in-kernel PM) through
 * generic netlink, the way `ip mptcp` does, with libmnl. Every attribute of
 * a reply is validated before use; errors carry the kernel's extack text.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/mptcp.h>

#include "log.h"
#include "pm.h"
#include "sysctl.h"

static struct nlmsghdr *pm_msg(struct pm *pm, char *buf, uint8_t cmd,
			       uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = pm->family_id;
	nlh->nlmsg_flags = flags;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = MPTCP_PM_VER;
	return nlh;
}

static void put_addr(struct nlmsghdr *nlh, const struct pm_endpoint *ep,
		     bool with_id)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, MPTCP_PM_ATTR_ADDR);

	mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_FAMILY, ep->addr.family);
	if (ep->addr.family == AF_INET)
		mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR4, 4, &ep->addr.v4);
	else
		mnl_attr_put(nlh, MPTCP_PM_ADDR_ATTR_ADDR6, 16, &ep->addr.v6);
	if (with_id)
		mnl_attr_put_u8(nlh, MPTCP_PM_ADDR_ATTR_ID, ep->id);
	if (ep->port)
		mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_PORT, ep->port);
	mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_FLAGS, ep->flags);
	if (ep->ifindex)
		mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_IF_IDX, ep->ifindex);
	mnl_attr_nest_end(nlh, nest);
}

int pm_open(struct pm *pm)
{
	int err;

	memset(pm, 0, sizeof(*pm));
	pm->old_blackhole = -1;
	err = nl_open(&pm->nl, NETLINK_GENERIC);
	if (err)
		return err;
	err = nl_genl_family(&pm->nl, MPTCP_PM_NAME, &pm->family_id, NULL,
			     NULL);
	if (err) {
		pr_err("the kernel has no MPTCP path manager (generic netlink "
		       "family '%s': %s); hybond needs CONFIG_MPTCP",
		       MPTCP_PM_NAME, strerror(-err));
		nl_close(&pm->nl);
	}
	return err;
}

struct limits {
	uint32_t subflows, add_addr;
	bool have_sub, have_add;
};

static int limits_cb(const struct nlmsghdr *nlh, void *data)
{
	struct limits *l = data;
	const struct nlattr *a;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return MNL_CB_OK;
	nl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
	{
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			continue;
		if (mnl_attr_get_type(a) == MPTCP_PM_ATTR_SUBFLOWS) {
			l->subflows = mnl_attr_get_u32(a);
			l->have_sub = true;
		} else if (mnl_attr_get_type(a) == MPTCP_PM_ATTR_RCV_ADD_ADDRS) {
			l->add_addr = mnl_attr_get_u32(a);
			l->have_add = true;
		}
	}
	return MNL_CB_OK;
}

int pm_get_limits(struct pm *pm, uint32_t *subflows, uint32_t *add_addr)
{
	char buf[128];
	struct nlmsghdr *nlh = pm_msg(pm, buf, MPTCP_PM_CMD_GET_LIMITS, 0);
	struct limits l = { 0 };
	int err = nl_request(&pm->nl, nlh, limits_cb, &l);

	if (err)
		return err;
	if (!l.have_sub || !l.have_add)
		return -EBADMSG;
	*subflows = l.subflows;
	*add_addr = l.add_addr;
	return 0;
}

static int set_limits(struct pm *pm, uint32_t subflows, uint32_t add_addr)
{
	char buf[128];
	struct nlmsghdr *nlh = pm_msg(pm, buf, MPTCP_PM_CMD_SET_LIMITS, 0);

	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_RCV_ADD_ADDRS, add_addr);
	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_SUBFLOWS, subflows);
	return nl_request(&pm->nl, nlh, NULL, NULL);
}

int pm_set_limits(struct pm *pm, uint32_t subflows, uint32_t add_addr)
{
	uint32_t cur_sub, cur_add;
	int err = pm_get_limits(pm, &cur_sub, &cur_add);

	if (!err && (cur_sub != subflows || cur_add != add_addr))
		err = set_limits(pm, subflows, add_addr);
	if (err) {
		pr_err("setting MPTCP limits (subflows %u, add_addr_accepted "
		       "%u): %s%s%s",
		       subflows, add_addr, strerror(-err),
		       pm->nl.err[0] ? ": " : "", pm->nl.err);
		return err;
	}
	if (!pm->limits_changed && (cur_sub != subflows || cur_add != add_addr)) {
		pm->limits_changed = true;
		pm->old_subflows = cur_sub;
		pm->old_add_addr = cur_add;
	}
	return 0;
}

int pm_raise_limits(struct pm *pm, uint32_t subflows, uint32_t add_addr)
{
	uint32_t cur_sub, cur_add;
	int err = pm_get_limits(pm, &cur_sub, &cur_add);

	if (err) {
		pr_err("reading the MPTCP limits: %s", strerror(-err));
		return err;
	}
	if (cur_sub >= subflows && cur_add >= add_addr)
		return 0;
	err = set_limits(pm, cur_sub > subflows ? cur_sub : subflows,
			 cur_add > add_addr ? cur_add : add_addr);
	if (err) {
		pr_err("setting MPTCP limits (subflows %u, add_addr_accepted "
		       "%u): %s%s%s",
		       subflows, add_addr, strerror(-err),
		       pm->nl.err[0] ? ": " : "", pm->nl.err);
		return err;
	}
	if (!pm->limits_changed) {
		pm->limits_changed = true;
		pm->old_subflows = cur_sub;
		pm->old_add_addr = cur_add;
	}
	return 0;
}

struct ep_find {
	const struct pm_endpoint *want;
	int found_id;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ep_find *f = data;
	const struct nlattr *a, *n;
	struct pm_endpoint got = { 0 };
	bool have_id = false;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return MNL_CB_OK;
	nl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
	{
		if (mnl_attr_get_type(a) != MPTCP_PM_ATTR_ADDR)
			continue;
		mnl_attr_for_each_nested(n, a)
		{
			switch (mnl_attr_get_type(n)) {
			case MPTCP_PM_ADDR_ATTR_ID:
				if (mnl_attr_validate(n, MNL_TYPE_U8) >= 0) {
					got.id = mnl_attr_get_u8(n);
					have_id = true;
				}
				break;
			case MPTCP_PM_ADDR_ATTR_FAMILY:
				if (mnl_attr_validate(n, MNL_TYPE_U16) >= 0)
					got.addr.family = mnl_attr_get_u16(n);
				break;
			case MPTCP_PM_ADDR_ATTR_ADDR4:
				if (mnl_attr_get_payload_len(n) == 4)
					memcpy(&got.addr.v4,
					       mnl_attr_get_payload(n), 4);
				break;
			case MPTCP_PM_ADDR_ATTR_ADDR6:
				if (mnl_attr_get_payload_len(n) == 16)
					memcpy(&got.addr.v6,
					       mnl_attr_get_payload(n), 16);
				break;
			case MPTCP_PM_ADDR_ATTR_PORT:
				if (mnl_attr_validate(n, MNL_TYPE_U16) >= 0)
					got.port = mnl_attr_get_u16(n);
				break;
			}
		}
	}
	if (have_id && got.addr.family == f->want->addr.family &&
	    !memcmp(&got.addr.v6, &f->want->addr.v6,
		    got.addr.family == AF_INET ? 4 : 16))
		f->found_id = got.id;
	return MNL_CB_OK;
}

/* The id of the endpoint with this address, or -ENOENT. */
static int find_endpoint(struct pm *pm, const struct pm_endpoint *ep)
{
	char buf[128];
	struct nlmsghdr *nlh =
		pm_msg(pm, buf, MPTCP_PM_CMD_GET_ADDR, NLM_F_DUMP);
	struct ep_find f = { .want = ep, .found_id = -ENOENT };
	int err = nl_request(&pm->nl, nlh, dump_cb, &f);

	return err ? err : f.found_id;
}

static int del_endpoint(struct pm *pm, const struct pm_endpoint *ep)
{
	char buf[256];
	struct nlmsghdr *nlh = pm_msg(pm, buf, MPTCP_PM_CMD_DEL_ADDR, 0);

	put_addr(nlh, ep, true);
	return nl_request(&pm->nl, nlh, NULL, NULL);
}

int pm_add_endpoint(struct pm *pm, const struct pm_endpoint *ep)
{
	struct pm_endpoint e = *ep;
	char buf[256], a[INET6_ADDRSTRLEN];
	struct nlmsghdr *nlh;
	int err, id;

	if (pm->nadded >= PM_MAX_ENDPOINTS)
		return -E2BIG;
	id = find_endpoint(pm, &e);
	if (id >= 0 && pm->adopt) {
		e.id = id;
		pm->added[pm->nadded++] = e;
		return 0;
	}
	if (id >= 0) {
		/* Same address configured already: a leftover of a killed
		 * daemon (or a hand-made one); ours now. */
		pr_info("replacing existing MPTCP endpoint %s (id %d)",
			hb_addr_str(&e.addr, a, sizeof(a)), id);
		e.id = id;
		del_endpoint(pm, &e);
	}
	nlh = pm_msg(pm, buf, MPTCP_PM_CMD_ADD_ADDR, 0);
	e.id = 0;
	put_addr(nlh, &e, false);
	err = nl_request(&pm->nl, nlh, NULL, NULL);
	/* Subflows of a previous instance still hold the port (in TIME_WAIT,
	 * typically): they are dead, clear them. Once, in CI, after a
	 * SIGKILL, the port stayed in use with no such socket left to clear
	 * (the listener of the endpoint just replaced, let go of a moment
	 * later, is the guess): try again for up to 2 s. */
	for (int i = 0; err == -EADDRINUSE && e.port && i < 20; i++) {
		struct nl diag;
		int n = -1;

		if (!nl_open(&diag, NETLINK_SOCK_DIAG)) {
			n = nl_destroy_tcp_local(&diag, e.addr.family,
						 &e.addr.v6, e.port);
			nl_close(&diag);
		}
		if (n > 0)
			pr_info("cleared %d old sockets on %s port %u", n,
				hb_addr_str(&e.addr, a, sizeof(a)), e.port);
		else
			usleep(100 * 1000);
		nlh = pm_msg(pm, buf, MPTCP_PM_CMD_ADD_ADDR, 0);
		put_addr(nlh, &e, false);
		err = nl_request(&pm->nl, nlh, NULL, NULL);
	}
	if (err) {
		pr_err("adding MPTCP endpoint %s port %u: %s%s%s",
		       hb_addr_str(&e.addr, a, sizeof(a)), e.port,
		       strerror(-err), pm->nl.err[0] ? ": " : "", pm->nl.err);
		if (err == -EADDRINUSE)
			pr_err("port %u is in use on %s (old subflows still "
			       "open?); pick another port",
			       e.port, a);
		return err;
	}
	id = find_endpoint(pm, &e);
	if (id < 0) {
		pr_err("MPTCP endpoint %s vanished after adding it",
		       hb_addr_str(&e.addr, a, sizeof(a)));
		return -ENOENT;
	}
	e.id = id;
	pm->added[pm->nadded++] = e;
	return 0;
}

int pm_set_backup(struct pm *pm, int idx, bool backup)
{
	struct pm_endpoint *e = &pm->added[idx];
	char buf[256];
	struct nlmsghdr *nlh = pm_msg(pm, buf, MPTCP_PM_CMD_SET_FLAGS, 0);
	uint32_t flags = backup ? e->flags | MPTCP_PM_ADDR_FLAG_BACKUP :
				  e->flags & ~MPTCP_PM_ADDR_FLAG_BACKUP;
	struct pm_endpoint tmp = *e;
	int err;

	tmp.flags = flags;
	tmp.port = 0; /* SET_FLAGS identifies by id/address only */
	put_addr(nlh, &tmp, true);
	err = nl_request(&pm->nl, nlh, NULL, NULL);
	if (!err)
		e->flags = flags;
	return err;
}

#define BLACKHOLE_SYSCTL "/proc/sys/net/mptcp/blackhole_timeout"

/*
 * Since Linux 6.12 a client whose MP_CAPABLE SYN went unanswered twice
 * sends its next SYN without MPTCP, and if that one is answered it takes
 * the path for a middlebox that eats MPTCP: active MPTCP is off for every
 * new connection for net.mptcp.blackhole_timeout seconds (an hour,
 * doubling on a repeat). On a CPE that is a primary outage of three
 * seconds, or a HAG slow to answer a SYN it holds in the draft's
 * handshake order, turning bonding off for an hour without a word. The
 * CPE's MPTCP connections all go to its own HAG: one that cannot do MPTCP
 * is a configuration to fix, not a path to route around.
 */
void pm_no_blackhole_detection(struct pm *pm)
{
	long v;
	int err;

	if (sysctl_read(BLACKHOLE_SYSCTL, &v)) {
		pr_debug("no %s: this kernel has no MPTCP blackhole detection",
			 BLACKHOLE_SYSCTL);
		return;
	}
	if (v == 0)
		return;
	err = sysctl_write(BLACKHOLE_SYSCTL, 0);
	if (err) {
		pr_warn("cannot turn off the kernel's MPTCP blackhole detection "
			"(%s: %s): a primary outage of a few seconds may turn "
			"bonding off for %ld s; set it to 0 in this network "
			"namespace (sysctl -w net.mptcp.blackhole_timeout=0)",
			BLACKHOLE_SYSCTL, strerror(-err), v);
		return;
	}
	pm->old_blackhole = v;
	pr_info("turned off the kernel's MPTCP blackhole detection in this "
		"network namespace (net.mptcp.blackhole_timeout %ld -> 0, "
		"restored on exit): a SYN the HAG holds or a short primary "
		"outage would otherwise turn bonding off for %ld s", v, v);
}

void pm_disown(struct pm *pm)
{
	pm->nadded = 0;
	pm->limits_changed = false;
	pm->old_blackhole = -1;
}

void pm_close(struct pm *pm)
{
	char a[INET6_ADDRSTRLEN];

	for (int i = pm->nadded - 1; i >= 0; i--) {
		int err = del_endpoint(pm, &pm->added[i]);

		if (err && err != -ENOENT && err != -EINVAL)
			pr_warn("removing MPTCP endpoint %s: %s",
				hb_addr_str(&pm->added[i].addr, a, sizeof(a)),
				strerror(-err));
	}
	pm->nadded = 0;
	if (pm->limits_changed &&
	    set_limits(pm, pm->old_subflows, pm->old_add_addr))
		pr_warn("restoring MPTCP limits: %s", pm->nl.err);
	pm->limits_changed = false;
	if (pm->old_blackhole > 0) {
		int err = sysctl_write(BLACKHOLE_SYSCTL, pm->old_blackhole);

		if (err)
			pr_warn("restoring net.mptcp.blackhole_timeout to %ld: %s",
				pm->old_blackhole, strerror(-err));
	}
	pm->old_blackhole = -1;
	nl_close(&pm->nl);
}
