// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_netlink.c - libFuzzer target for the parsers of netlink replies:
 * every callback that reads what the kernel sent (addresses, links, generic
 * netlink families, MPTCP endpoints and limits, sock_diag sockets, subflow
 * flags and tokens, MPTCP connections) runs over any
 * sequence of messages. They must validate every attribute before use.
 * The modules are included whole so their static callbacks are reachable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../user/nl.c"
#include "../../user/pm.c"
#include "../../user/upm.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size, aligned copy: reading past it is an ASan error. */
	uint8_t *buf;
	const struct nlmsghdr *nlh;
	struct hb_addr addrs[8];
	struct addr_dump ad = { .ifindex = 2, .out = addrs, .max = 8 };
	struct genl_fam gf = { .grp = "mptcp_pm_events" };
	struct link_stats ls;
	struct limits lim = { 0 };
	struct pm_endpoint want = { .addr = { .family = AF_INET } };
	struct ep_find ef = { .want = &want, .found_id = -1 };
	struct diag_match dm = { .family = AF_INET, .addr = "\xc6\x33\x64\x81",
				 .port = htons(9300) };
	struct hb_addr csrc = { .family = AF_INET };
	struct subflow_census cen = { 0 };
	struct census_match cm = { .src = &csrc, .nsrc = 1, .out = &cen };
	/* The sweep's: no socket of ours, so nothing is adopted. */
	struct sweep_walk sw = { 0 };
	struct conn_walk cw = { sweep_cb, &sw };
	/* Events are parsed and matched; with no targets nothing is sent. */
	static struct upm u;
	/* The sweep's subflows, marked on the connections events made. */
	struct subflow_walk sfw = { sweep_subflow_cb, &u };
	int len;

	if (!u.tab) {
		u.tab = calloc(TAB_SIZE, sizeof(*u.tab));
		u.family_id = 0x1d;
		u.o.nlocal = 1;
		u.o.local[0].family = AF_INET;
	}
	if (size > (1 << 16))
		return 0;
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	len = (int)size;
	csrc.v4.s_addr = htonl(0xc6336482); /* 198.51.100.130 */
	sw.u = &u;
	for (nlh = (const struct nlmsghdr *)buf; nl_msg_ok(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		addr_cb(nlh, &ad);
		genl_cb(nlh, &gf);
		link_cb(nlh, &ls);
		limits_cb(nlh, &lim);
		dump_cb(nlh, &ef);
		diag_cb(nlh, &dm);
		census_cb(nlh, &cm);
		event_cb(nlh, &u);
		conn_cb(nlh, &cw);
		subflow_cb(nlh, &sfw);
	}
	free(sw.found);
	free(buf);
	return 0;
}
