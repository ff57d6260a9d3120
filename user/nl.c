// SPDX-License-Identifier: GPL-2.0-only
/*
 * nl.c - netlink helpers over libmnl. Every request asks for an ack and the
 * kernel's extended ack, so an error can be reported with the kernel's own
 * explanation instead of a bare errno.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/genetlink.h>
#include <linux/inet_diag.h>
#include <linux/mptcp.h>
#include <linux/sock_diag.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "nl.h"

int nl_open(struct nl *nl, int bus)
{
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->sk = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!nl->sk)
		return -errno;
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(nl->sk);
		nl->sk = NULL;
		return err;
	}
	/* Best effort: older kernels simply give no extack text. */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (unsigned int)time(NULL);
	return 0;
}

void nl_close(struct nl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	nl->sk = NULL;
}

static void take_extack(struct nl *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	size_t off = sizeof(*e);

	nl->err[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	/* Without NLM_F_CAPPED the original request follows the header. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	nl_attr_for_each(attr, nlh, off)
	{
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) {
			snprintf(nl->err, sizeof(nl->err), "%s",
				 mnl_attr_get_str(attr));
			return;
		}
	}
}

int nl_request(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int seq = ++nl->seq;

	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->nlmsg_seq = seq;
	nl->err[0] = '\0';
	if (mnl_socket_sendto(nl->sk, req, req->nlmsg_len) < 0)
		return -errno;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sk, buf, sizeof(buf));
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		int len = (int)n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (; nl_msg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != nl->portid)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e =
					mnl_nlmsg_get_payload(nlh);

				if (nlh->nlmsg_len <
				    mnl_nlmsg_size(sizeof(*e)))
					return -EBADMSG;
				if (e->error)
					take_extack(nl, nlh);
				return e->error;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				/* End of a dump; any ack that follows is
				 * skipped by the next request's seq check. */
				const int *e = mnl_nlmsg_get_payload(nlh);

				if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(*e)) &&
				    *e < 0)
					return *e;
				return 0;
			}
			if (cb && cb(nlh, data) < MNL_CB_OK)
				return -EBADMSG;
		}
	}
}

static struct nlmsghdr *start(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

int nl_fwmark_rule(struct nl *nl, bool add, int family, uint32_t mark,
		   uint32_t table, uint32_t pref)
{
	char buf[256];
	struct nlmsghdr *nlh =
		start(buf, add ? RTM_NEWRULE : RTM_DELRULE,
		      add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));

	frh->family = family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = table < 256 ? table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
	mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffff);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, pref);
	return nl_request(nl, nlh, NULL, NULL);
}

int nl_local_default(struct nl *nl, bool add, int family, uint32_t table,
		     int lo_ifindex)
{
	char buf[256];
	struct nlmsghdr *nlh =
		start(buf, add ? RTM_NEWROUTE : RTM_DELROUTE,
		      add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = family;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_HOST;
	rtm->rtm_type = RTN_LOCAL;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	mnl_attr_put_u32(nlh, RTA_OIF, lo_ifindex);
	return nl_request(nl, nlh, NULL, NULL);
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_stats *ls = data;
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return MNL_CB_OK;
	nl_attr_for_each(attr, nlh, sizeof(struct ifinfomsg))
	{
		int type = mnl_attr_get_type(attr);

		if (type == IFLA_STATS64 &&
		    mnl_attr_get_payload_len(attr) >=
			    sizeof(struct rtnl_link_stats64)) {
			struct rtnl_link_stats64 st;

			memcpy(&st, mnl_attr_get_payload(attr), sizeof(st));
			ls->rx_bytes = st.rx_bytes;
			ls->tx_bytes = st.tx_bytes;
		} else if (type == IFLA_OPERSTATE &&
			   mnl_attr_validate(attr, MNL_TYPE_U8) >= 0) {
			uint8_t op = mnl_attr_get_u8(attr);

			ls->up = op == IF_OPER_UP || op == IF_OPER_UNKNOWN;
		}
	}
	return MNL_CB_OK;
}

int nl_link_stats(struct nl *nl, int ifindex, struct link_stats *out)
{
	char buf[256];
	struct nlmsghdr *nlh = start(buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	memset(out, 0, sizeof(*out));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nl_request(nl, nlh, link_cb, out);
}

struct addr_dump {
	int ifindex;
	struct hb_addr *out;
	int max, n;
};

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_dump *d = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	const void *addr = NULL;
	uint32_t flags;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa) ||
	    (int)ifa->ifa_index != d->ifindex)
		return MNL_CB_OK;
	flags = ifa->ifa_flags;
	alen = ifa->ifa_family == AF_INET ? 4 : ifa->ifa_family == AF_INET6 ? 16 : 0;
	if (!alen)
		return MNL_CB_OK;
	if (ifa->ifa_scope != RT_SCOPE_UNIVERSE)
		return MNL_CB_OK;
	nl_attr_for_each(attr, nlh, sizeof(*ifa))
	{
		int type = mnl_attr_get_type(attr);

		if (type == IFA_FLAGS &&
		    mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
			flags = mnl_attr_get_u32(attr);
		/* IFA_LOCAL is the address on point-to-point links; IFA_ADDRESS
		 * otherwise (and always for IPv6). */
		if ((type == IFA_LOCAL || (type == IFA_ADDRESS && !addr)) &&
		    mnl_attr_get_payload_len(attr) == alen)
			addr = mnl_attr_get_payload(attr);
	}
	if (!addr || (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) ||
	    d->n >= d->max)
		return MNL_CB_OK;
	d->out[d->n].family = ifa->ifa_family;
	d->out[d->n].prefixlen = ifa->ifa_prefixlen;
	memcpy(&d->out[d->n].v6, addr, alen);
	d->n++;
	return MNL_CB_OK;
}

int nl_if_addrs(struct nl *nl, int ifindex, struct hb_addr *out, int max)
{
	struct addr_dump d = { .ifindex = ifindex, .out = out, .max = max };
	int fam[2] = { AF_INET, AF_INET6 };

	for (int i = 0; i < 2; i++) {
		char buf[256];
		struct nlmsghdr *nlh = start(buf, RTM_GETADDR, NLM_F_DUMP);
		struct ifaddrmsg *ifa =
			mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		int err;

		ifa->ifa_family = fam[i];
		err = nl_request(nl, nlh, addr_cb, &d);
		if (err)
			return err;
	}
	return d.n;
}

static void put_tuple(struct inet_diag_req_v2 *req, int family,
		      const void *laddr, uint16_t lport, const void *raddr,
		      uint16_t rport)
{
	int len = family == AF_INET ? 4 : 16;

	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = ~0U;
	req->id.idiag_sport = htons(lport);
	req->id.idiag_dport = htons(rport);
	memcpy(req->id.idiag_src, laddr, len);
	memcpy(req->id.idiag_dst, raddr, len);
	req->id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

int nl_destroy_tcp(struct nl *nl, int family, const void *laddr,
		   uint16_t lport, const void *raddr, uint16_t rport)
{
	char buf[256];
	struct nlmsghdr *nlh = start(buf, SOCK_DESTROY, 0);
	struct inet_diag_req_v2 *req =
		mnl_nlmsg_put_extra_header(nlh, sizeof(*req));

	put_tuple(req, family, laddr, lport, raddr, rport);
	return nl_request(nl, nlh, NULL, NULL);
}

struct diag_match {
	int family;
	const void *addr;
	uint16_t port; /* network order */
	struct inet_diag_sockid ids[64];
	int n;
};

static int diag_cb(const struct nlmsghdr *nlh, void *data)
{
	struct diag_match *m = data;
	const struct inet_diag_msg *d = mnl_nlmsg_get_payload(nlh);
	int len = m->family == AF_INET ? 4 : 16;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*d))
		return MNL_CB_OK;
	if (d->idiag_state == 10 /* TCP_LISTEN */ || d->id.idiag_sport != m->port ||
	    memcmp(d->id.idiag_src, m->addr, len) || m->n >= 64)
		return MNL_CB_OK;
	m->ids[m->n++] = d->id;
	return MNL_CB_OK;
}

int nl_destroy_tcp_local(struct nl *nl, int family, const void *laddr,
			 uint16_t lport)
{
	int done = 0;

	/* A batch per dump; as many rounds as it takes (bounded). */
	for (int round = 0; round < 4096; round++) {
		struct diag_match m = { .family = family, .addr = laddr,
					.port = htons(lport) };
		char buf[256];
		struct nlmsghdr *nlh = start(buf, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP);
		struct inet_diag_req_v2 *req =
			mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
		int err, killed = 0;

		req->sdiag_family = family;
		req->sdiag_protocol = IPPROTO_TCP;
		req->idiag_states = ~0U;
		err = nl_request(nl, nlh, diag_cb, &m);
		if (err)
			return done ? done : err;
		for (int i = 0; i < m.n; i++) {
			nlh = start(buf, SOCK_DESTROY, 0);
			req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
			req->sdiag_family = family;
			req->sdiag_protocol = IPPROTO_TCP;
			req->idiag_states = ~0U;
			req->id = m.ids[i];
			if (!nl_request(nl, nlh, NULL, NULL))
				killed++;
		}
		done += killed;
		if (m.n < 64 || !killed)
			break;
	}
	return done;
}

struct census_match {
	const struct hb_addr *src;
	int nsrc;
	struct subflow_census *out;
};

/* The MPTCP ULP's flags and local token (INET_DIAG_ULP_INFO), if the
 * socket is an MPTCP subflow. */
static bool subflow_ulp(const struct nlmsghdr *nlh, uint32_t *flags,
			uint32_t *token)
{
	const struct nlattr *a, *u, *f;
	bool found = false;

	*flags = 0;
	*token = 0;
	nl_attr_for_each(a, nlh, sizeof(struct inet_diag_msg))
	{
		if (mnl_attr_get_type(a) != INET_DIAG_ULP_INFO)
			continue;
		mnl_attr_for_each_nested(u, a)
		{
			if (mnl_attr_get_type(u) != INET_ULP_INFO_MPTCP)
				continue;
			mnl_attr_for_each_nested(f, u)
			{
				if (mnl_attr_validate(f, MNL_TYPE_U32) < 0)
					continue;
				if (mnl_attr_get_type(f) ==
				    MPTCP_SUBFLOW_ATTR_FLAGS) {
					*flags = mnl_attr_get_u32(f);
					found = true;
				} else if (mnl_attr_get_type(f) ==
					   MPTCP_SUBFLOW_ATTR_TOKEN_LOC) {
					*token = mnl_attr_get_u32(f);
				}
			}
		}
	}
	return found;
}

static int census_cb(const struct nlmsghdr *nlh, void *data)
{
	struct census_match *m = data;
	const struct inet_diag_msg *d = mnl_nlmsg_get_payload(nlh);
	uint32_t flags, token;
	int i;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*d))
		return MNL_CB_OK;
	for (i = 0; i < m->nsrc; i++) {
		const struct hb_addr *a = &m->src[i];

		if (a->family == d->idiag_family &&
		    !memcmp(d->id.idiag_src,
			    a->family == AF_INET ? (const void *)&a->v4 :
						   (const void *)&a->v6,
			    a->family == AF_INET ? 4 : 16))
			break;
	}
	if (i == m->nsrc || !subflow_ulp(nlh, &flags, &token))
		return MNL_CB_OK;
	if (!(flags & MPTCP_SUBFLOW_FLAG_FULLY_ESTABLISHED))
		m->out->joining++;
	else if (flags & MPTCP_SUBFLOW_FLAG_BKUP_LOC)
		m->out->backup++;
	else
		m->out->active++;
	return MNL_CB_OK;
}

/* Dump the sockets of PROTOCOL in STATES (a bit per TCP state), IPv4 then
 * IPv6, each with its INET_DIAG_INFO, to cb. */
static int diag_dump(struct nl *nl, unsigned int protocol, uint32_t states,
		     mnl_cb_t cb, void *data)
{
	int fam[2] = { AF_INET, AF_INET6 };

	for (int i = 0; i < 2; i++) {
		char buf[256];
		struct nlmsghdr *nlh = start(buf, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP);
		struct inet_diag_req_v2 *req =
			mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
		int err;

		req->sdiag_family = fam[i];
		req->idiag_states = states;
		req->idiag_ext = 1U << (INET_DIAG_INFO - 1);
		/* IPPROTO_MPTCP (262) does not fit sdiag_protocol. */
		if (protocol > 255)
			mnl_attr_put_u32(nlh, INET_DIAG_REQ_PROTOCOL, protocol);
		else
			req->sdiag_protocol = (uint8_t)protocol;
		err = nl_request(nl, nlh, cb, data);
		if (err)
			return err;
	}
	return 0;
}

int nl_subflow_census(struct nl *nl, const struct hb_addr *src, int n,
		      struct subflow_census *out)
{
	struct census_match m = { .src = src, .nsrc = n, .out = out };

	memset(out, 0, sizeof(*out));
	/* TCP_ESTABLISHED and TCP_SYN_SENT; the ULP's flags come with
	 * INET_DIAG_INFO. */
	return diag_dump(nl, IPPROTO_TCP, (1U << 1) | (1U << 2), census_cb, &m);
}

struct conn_walk {
	void (*cb)(const struct mptcp_conn_diag *d, void *data);
	void *data;
};

static void diag_addr(int family, const __be32 *in, struct hb_addr *out)
{
	out->family = family;
	memcpy(family == AF_INET ? (void *)&out->v4 : (void *)&out->v6, in,
	       family == AF_INET ? 4 : 16);
}

static int conn_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct conn_walk *w = data;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct mptcp_conn_diag d = { 0 };
	const struct nlattr *a;
	bool info = false;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m) ||
	    (m->idiag_family != AF_INET && m->idiag_family != AF_INET6))
		return MNL_CB_OK;
	nl_attr_for_each(a, nlh, sizeof(*m))
	{
		struct mptcp_info mi = { 0 };
		size_t n = mnl_attr_get_payload_len(a);

		if (mnl_attr_get_type(a) != INET_DIAG_INFO ||
		    n < offsetof(struct mptcp_info, mptcpi_token) +
				sizeof(mi.mptcpi_token))
			continue;
		memcpy(&mi, mnl_attr_get_payload(a), n < sizeof(mi) ? n : sizeof(mi));
		d.token = mi.mptcpi_token;
		d.subflows = mi.mptcpi_subflows;
		d.add_addr_signal = mi.mptcpi_add_addr_signal;
		d.fallback = mi.mptcpi_flags & MPTCP_INFO_FLAG_FALLBACK;
		info = true;
	}
	if (!info)
		return MNL_CB_OK;
	d.state = m->idiag_state;
	d.family = m->idiag_family;
	diag_addr(d.family, m->id.idiag_src, &d.saddr);
	diag_addr(d.family, m->id.idiag_dst, &d.daddr);
	d.sport = ntohs(m->id.idiag_sport);
	d.dport = ntohs(m->id.idiag_dport);
	d.inode = m->idiag_inode;
	w->cb(&d, w->data);
	return MNL_CB_OK;
}

int nl_mptcp_conns(struct nl *nl,
		   void (*cb)(const struct mptcp_conn_diag *d, void *data),
		   void *data)
{
	struct conn_walk w = { cb, data };

	return diag_dump(nl, 262 /* IPPROTO_MPTCP */, ~0U, conn_cb, &w);
}

struct subflow_walk {
	void (*cb)(const struct mptcp_subflow_diag *d, void *data);
	void *data;
};

static int subflow_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct subflow_walk *w = data;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct mptcp_subflow_diag d = { 0 };
	uint32_t flags;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m) ||
	    (m->idiag_family != AF_INET && m->idiag_family != AF_INET6) ||
	    !subflow_ulp(nlh, &flags, &d.token))
		return MNL_CB_OK;
	d.state = m->idiag_state;
	diag_addr(m->idiag_family, m->id.idiag_src, &d.saddr);
	diag_addr(m->idiag_family, m->id.idiag_dst, &d.daddr);
	d.sport = ntohs(m->id.idiag_sport);
	d.dport = ntohs(m->id.idiag_dport);
	w->cb(&d, w->data);
	return MNL_CB_OK;
}

int nl_mptcp_subflows(struct nl *nl,
		      void (*cb)(const struct mptcp_subflow_diag *d, void *data),
		      void *data)
{
	struct subflow_walk w = { cb, data };

	/* Every state but a listener's (a subflow closing is still one). */
	return diag_dump(nl, IPPROTO_TCP, ~0U & ~(1U << 10 /* TCP_LISTEN */),
			 subflow_cb, &w);
}

struct genl_fam {
	const char *grp;
	uint16_t id;
	uint32_t grp_id;
	bool found_grp;
};

static int genl_grp_cb(const struct nlattr *grp, struct genl_fam *f)
{
	const struct nlattr *a;
	const char *name = NULL;
	uint32_t id = 0;
	bool have_id = false;

	mnl_attr_for_each_nested(a, grp)
	{
		if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			name = mnl_attr_get_str(a);
		if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_ID &&
		    mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
			id = mnl_attr_get_u32(a);
			have_id = true;
		}
	}
	if (name && have_id && f->grp && !strcmp(name, f->grp)) {
		f->grp_id = id;
		f->found_grp = true;
	}
	return MNL_CB_OK;
}

static int genl_cb(const struct nlmsghdr *nlh, void *data)
{
	struct genl_fam *f = data;
	const struct nlattr *attr;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return MNL_CB_OK;
	nl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr))
	{
		int type = mnl_attr_get_type(attr);

		if (type == CTRL_ATTR_FAMILY_ID &&
		    mnl_attr_validate(attr, MNL_TYPE_U16) >= 0)
			f->id = mnl_attr_get_u16(attr);
		if (type == CTRL_ATTR_MCAST_GROUPS) {
			const struct nlattr *g;

			mnl_attr_for_each_nested(g, attr) genl_grp_cb(g, f);
		}
	}
	return MNL_CB_OK;
}

int nl_genl_family(struct nl *nl, const char *name, uint16_t *id,
		   const char *grp, uint32_t *grp_id)
{
	char buf[256];
	struct nlmsghdr *nlh = start(buf, GENL_ID_CTRL, 0);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	struct genl_fam f = { .grp = grp };
	int err;

	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name);
	err = nl_request(nl, nlh, genl_cb, &f);
	if (err)
		return err;
	if (!f.id)
		return -ENOENT;
	*id = f.id;
	if (grp) {
		if (!f.found_grp)
			return -ENOENT;
		*grp_id = f.grp_id;
	}
	return 0;
}

const char *hb_addr_str(const struct hb_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, &a->v6, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

int hb_addr_parse(const char *s, struct hb_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->v4) == 1) {
		a->family = AF_INET;
		a->prefixlen = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a->v6) == 1) {
		a->family = AF_INET6;
		a->prefixlen = 128;
		return 0;
	}
	return -EINVAL;
}

int hb_prefix_parse(const char *s, struct hb_addr *a)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len;
	char *end;
	int max;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (hb_addr_parse(buf, a))
		return -EINVAL;
	if (!slash)
		return 0;
	max = a->family == AF_INET ? 32 : 128;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno || *end || end == slash + 1 || len > (unsigned long)max)
		return -ERANGE;
	a->prefixlen = (uint8_t)len;
	return 0;
}
