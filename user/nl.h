/* SPDX-License-Identifier: GPL-2.0-only */
/* nl.h - small netlink helpers over libmnl: requests with acks and extack
 * messages, rtnetlink rules/routes/addresses, generic netlink families. */
#ifndef HYBOND_NL_H
#define HYBOND_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>

struct nl {
	struct mnl_socket *sk;
	unsigned int seq;
	unsigned int portid;
	char err[256]; /* the kernel's extack message of the last failure */
};

struct hb_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t prefixlen;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

/* Is there a whole message at nlh within len bytes? (libmnl's own check
 * compares through a signed int, so a huge nlmsg_len passes it.) */
static inline bool nl_msg_ok(const struct nlmsghdr *nlh, int len)
{
	return len >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= (unsigned int)len;
}

/* Like mnl_attr_for_each, but bounded by nlmsg_len itself, not by its
 * 4-byte aligned tail: in a message whose length is not a multiple of 4 an
 * attribute must not reach past the bytes that were received. */
#define nl_attr_for_each(attr, nlh, off)                                      \
	for ((attr) = mnl_nlmsg_get_payload_offset((nlh), (off));             \
	     mnl_attr_ok((attr), (int)((const char *)(nlh) + (nlh)->nlmsg_len - \
				       (const char *)(attr)));                \
	     (attr) = mnl_attr_next(attr))

int nl_open(struct nl *nl, int bus);
void nl_close(struct nl *nl);
/* Send req (flags get NLM_F_REQUEST|NLM_F_ACK), run cb on every reply
 * message, wait for the final ack. Returns 0 or -errno; nl->err holds the
 * kernel's explanation when it gave one. */
int nl_request(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data);

/* ip rule {add|del} fwmark MARK lookup TABLE pref PREF (family AF_INET*) */
int nl_fwmark_rule(struct nl *nl, bool add, int family, uint32_t mark,
		   uint32_t table, uint32_t pref);
/* ip route {add|del} local default dev lo table TABLE */
int nl_local_default(struct nl *nl, bool add, int family, uint32_t table,
		     int lo_ifindex);
/* Byte counters and operational state of an interface (IFLA_STATS64). */
struct link_stats {
	uint64_t rx_bytes, tx_bytes;
	bool up; /* IF_OPER_UP (or UNKNOWN with carrier) */
};
int nl_link_stats(struct nl *nl, int ifindex, struct link_stats *out);

/* The global (scope universe) addresses of an interface, IPv4 first. */
int nl_if_addrs(struct nl *nl, int ifindex, struct hb_addr *out, int max);

/* Destroy the TCP socket with this exact tuple (ss sockdiag SOCK_DESTROY):
 * used on our own TIME_WAIT sockets. nl must be a NETLINK_SOCK_DIAG socket.
 * Addresses in network order, 4 or 16 bytes by family; ports host order.
 * Whatever holds the tuple goes: a socket still closing there resets its
 * peer. */
int nl_destroy_tcp(struct nl *nl, int family, const void *laddr,
		   uint16_t lport, const void *raddr, uint16_t rport);

/* Destroy every TCP socket but listeners whose local address and port are
 * these: what a killed instance left on a port it owned. Returns how many,
 * or -errno. */
int nl_destroy_tcp_local(struct nl *nl, int family, const void *laddr,
			 uint16_t lport);

/* The MPTCP subflows whose local address is one of src[0..n), by state
 * (sock_diag, so nl must be a NETLINK_SOCK_DIAG socket; the flags come
 * with CAP_NET_ADMIN only). */
struct subflow_census {
	int joining; /* connecting, or not yet fully established */
	int backup;  /* established, backup flag (ours) set */
	int active;  /* established, not backup */
};
int nl_subflow_census(struct nl *nl, const struct hb_addr *src, int n,
		      struct subflow_census *out);

/* One MPTCP connection (socket) of the namespace, as mptcp_diag tells. */
struct mptcp_conn_diag {
	uint32_t token;
	uint8_t state;	     /* TCP_ESTABLISHED, TCP_LISTEN, ... */
	int family;	     /* the socket's: AF_INET or AF_INET6 */
	struct hb_addr saddr, daddr; /* as the socket has them (mapped) */
	uint16_t sport, dport; /* host order */
	uint64_t inode;	     /* to tell our own sockets */
	uint8_t subflows;    /* besides the first (mptcpi_subflows) */
	uint8_t add_addr_signal; /* addresses we announced to it */
	bool fallback;	     /* plain TCP now: no subflow will join it */
};

/* Call cb for every MPTCP connection of the namespace (mptcp_diag; nl must
 * be a NETLINK_SOCK_DIAG socket). 0 or -errno. */
int nl_mptcp_conns(struct nl *nl,
		   void (*cb)(const struct mptcp_conn_diag *d, void *data),
		   void *data);

/* One MPTCP subflow (a TCP socket with the MPTCP ULP) of the namespace. */
struct mptcp_subflow_diag {
	uint32_t token;		     /* its connection's (MPTCP_SUBFLOW_ATTR_TOKEN_LOC) */
	uint8_t state;		     /* its TCP state */
	struct hb_addr saddr, daddr; /* as the socket has them (mapped) */
	uint16_t sport, dport;	     /* host order */
};

/* Call cb for every MPTCP subflow of the namespace (sock_diag of TCP; nl
 * must be a NETLINK_SOCK_DIAG socket; the ULP's attributes come with
 * CAP_NET_ADMIN only). 0 or -errno. */
int nl_mptcp_subflows(struct nl *nl,
		      void (*cb)(const struct mptcp_subflow_diag *d, void *data),
		      void *data);

/* Generic netlink: family id and, if grp is set, a multicast group id. */
int nl_genl_family(struct nl *nl, const char *name, uint16_t *id,
		   const char *grp, uint32_t *grp_id);

const char *hb_addr_str(const struct hb_addr *a, char *buf, size_t len);
int hb_addr_parse(const char *s, struct hb_addr *a);
/* ADDR or ADDR/LEN (without LEN: a /32 or /128). -EINVAL: not an
 * address; -ERANGE: not a prefix length of its family. */
int hb_prefix_parse(const char *s, struct hb_addr *a);

#endif
