// SPDX-License-Identifier: GPL-2.0-only
/* splice.c - the sockmap splice and its probe (see splice.h). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/mptcp.h>
#include <linux/sockios.h>
#include <linux/tcp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "splice.h"
#include "splice.skel.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

int splice_open(struct splice *sp)
{
	int err;

	memset(sp, 0, sizeof(*sp));
	sp->link_fd = -1;
	sp->skel = splice_bpf__open_and_load();
	if (!sp->skel)
		return -errno;
	err = bpf_prog_attach(bpf_program__fd(sp->skel->progs.hybond_splice),
			      bpf_map__fd(sp->skel->maps.hybond_splice_socks),
			      BPF_SK_SKB_VERDICT, 0);
	if (err) {
		err = -errno;
		splice_bpf__destroy(sp->skel);
		sp->skel = NULL;
		return err;
	}
	return 0;
}

static int cookie_of(int fd, __u64 *c)
{
	socklen_t len = sizeof(*c);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, c, &len) ? -errno : 0;
}

/* A spliced socket's send buffer: the kernel doubles it (16 MiB). */
#define SPLICE_SNDBUF (8 << 20)

int splice_pair(struct splice *sp, int a, int b)
{
	int socks = bpf_map__fd(sp->skel->maps.hybond_splice_socks);
	int to = bpf_map__fd(sp->skel->maps.hybond_splice_to);
	int peers = bpf_map__fd(sp->skel->maps.hybond_splice_peer);
	__u64 ca, cb, va = (__u64)a, vb = (__u64)b;
	int err;

	if ((err = cookie_of(a, &ca)) || (err = cookie_of(b, &cb)))
		return err;
	/* The peers and both redirect targets first, the verdict last: from
	 * the moment the program runs on one socket, whatever it receives
	 * must find the other (a failed redirect drops bytes TCP has already
	 * acknowledged). Keyed by cookie: no slot to hand out, and any thread
	 * may pair and unpair. */
	if (bpf_map_update_elem(peers, &ca, &cb, BPF_NOEXIST) ||
	    bpf_map_update_elem(peers, &cb, &ca, BPF_NOEXIST) ||
	    bpf_map_update_elem(to, &ca, &va, BPF_NOEXIST) ||
	    bpf_map_update_elem(to, &cb, &vb, BPF_NOEXIST) ||
	    bpf_map_update_elem(socks, &cb, &vb, BPF_NOEXIST) ||
	    bpf_map_update_elem(socks, &ca, &va, BPF_NOEXIST)) {
		err = -errno;
		splice_unpair(sp, a, b);
		return err;
	}
	for (int i = 0; i < 2; i++) {
		int one = 1, sndbuf = SPLICE_SNDBUF;

		/* A redirect that finds its socket's send buffer full is
		 * tried again a jiffy later (sk_psock_backlog), not when the
		 * buffer drains: with autotuning's 4 MB one connection left
		 * the link idle much of the time (one download: 5.4 Gbit/s,
		 * 12.4 through user space, 13-14.5 with this). FORCE: past
		 * net.core.wmem_max (the daemon has CAP_NET_ADMIN). */
		setsockopt(i ? b : a, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf,
			   sizeof(sndbuf));
		/* Bytes that came before a socket joined wait in its receive
		 * queue: setting the low-water mark makes TCP run its
		 * data_ready (tcp_set_rcvlowat), that is the verdict program,
		 * on them now, in order ahead of anything later. */
		setsockopt(i ? b : a, SOL_SOCKET, SO_RCVLOWAT, &one,
			   sizeof(one));
	}
	return 0;
}

void splice_unpair(struct splice *sp, int a, int b)
{
	int peers = bpf_map__fd(sp->skel->maps.hybond_splice_peer);
	int socks = bpf_map__fd(sp->skel->maps.hybond_splice_socks);
	int to = bpf_map__fd(sp->skel->maps.hybond_splice_to);

	/* Out of both sockhashes, a socket is the stack's again. (A closed
	 * socket leaves them by itself, not the peer map.) */
	for (int i = 0; i < 2; i++) {
		__u64 c;

		if (cookie_of(i ? b : a, &c))
			continue;
		bpf_map_delete_elem(socks, &c);
		bpf_map_delete_elem(to, &c);
		bpf_map_delete_elem(peers, &c);
	}
}

/* struct mptcp_info up to its byte counters (newer than the build's
 * headers may be; a kernel without them answers a shorter struct). */
struct mptcp_info_66 {
	__u8 subflows, add_addr_signal, add_addr_accepted, subflows_max;
	__u8 add_addr_signal_max, add_addr_accepted_max;
	__u32 flags, token;
	__u64 write_seq, snd_una, rcv_nxt;
	__u8 local_addr_used, local_addr_max, csum_enabled;
	__u32 retransmits;
	__u64 bytes_retrans, bytes_sent;
	__u64 mptcpi_bytes_received, mptcpi_bytes_acked;
};

int splice_leg_bytes(int fd, bool mptcp, bool active, bool eof,
		     uint64_t *received, uint64_t *written)
{
	int outq = 0;

	if (ioctl(fd, SIOCOUTQ, &outq))
		return -errno;
	if (mptcp) {
		/* (Not run on any kernel yet: none takes MPTCP sockets in a
		 * sockmap. The data-level counters do not count a DATA_FIN.) */
		struct mptcp_info_66 mi = { 0 };
		socklen_t len = sizeof(mi);

		if (getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &mi, &len))
			return -errno;
		if (len < sizeof(mi))
			return -EOPNOTSUPP;
		*received = mi.mptcpi_bytes_received;
		*written = mi.mptcpi_bytes_acked + (uint64_t)outq;
	} else {
		/* Both counters follow the sequence numbers: a FIN received
		 * is a byte received, and the SYN of a connect()ed socket a
		 * byte acknowledged. */
		struct tcp_info ti = { 0 };
		socklen_t len = sizeof(ti);

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			return -errno;
		*received = ti.tcpi_bytes_received - (eof && ti.tcpi_bytes_received);
		*written = ti.tcpi_bytes_acked - (active && ti.tcpi_bytes_acked) +
			   (uint64_t)outq;
	}
	return 0;
}

struct bpf_object *splice_object(const struct splice *sp)
{
	return sp->skel ? sp->skel->obj : NULL;
}

void splice_close(struct splice *sp)
{
	if (sp->skel)
		splice_bpf__destroy(sp->skel);
	sp->skel = NULL;
}

/* An established loopback pair of this protocol: *c connected to *s. */
static int loop_pair(int proto, int *c, int *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l, err = 0;

	*c = *s = -1;
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto);
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &len))
		goto fail;
	*c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto);
	if (*c < 0 || connect(*c, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	*s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (*s < 0)
		goto fail;
	close(l);
	return 0;
fail:
	err = -errno;
	close(l);
	if (*c >= 0)
		close(*c);
	*c = -1;
	return err;
}

static int try_sockmap(int map, int proto)
{
	int c, s, err = loop_pair(proto, &c, &s);
	__u32 k = 0;
	__u64 v;

	if (err)
		return err;
	v = (__u64)s;
	err = bpf_map_update_elem(map, &k, &v, BPF_ANY) ? -errno : 0;
	if (!err)
		bpf_map_delete_elem(map, &k);
	close(c);
	close(s);
	return err;
}

static bool probe_here(char *why, size_t len)
{
	int map = bpf_map_create(BPF_MAP_TYPE_SOCKMAP, "hybond_probe",
				 sizeof(__u32), sizeof(__u64), 1, NULL);
	int tcp, mptcp;

	if (map < 0) {
		snprintf(why, len, "no sockmap on this kernel (%s)",
			 strerror(errno));
		return false;
	}
	tcp = try_sockmap(map, IPPROTO_TCP);
	mptcp = try_sockmap(map, IPPROTO_MPTCP);
	close(map);
	if (!mptcp) {
		snprintf(why, len,
			 "this kernel takes MPTCP sockets in a sockmap: "
			 "--splice splices connections in the kernel");
		return true;
	}
	if (tcp)
		snprintf(why, len,
			 "the sockmap probe failed even for TCP (%s); MPTCP: %s",
			 strerror(-tcp), strerror(-mptcp));
	else
		snprintf(why, len,
			 "the kernel refuses MPTCP sockets in a sockmap (%s), "
			 "TCP ones it takes",
			 strerror(-mptcp));
	return false;
}

/* Loopback up in a fresh network namespace (it starts down). */
static int lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr))
		err = -errno;
	close(fd);
	return err;
}

/*
 * The probe's MPTCP connection must not meet the daemon's path manager (an
 * endpoint added while it lingers would be announced on it, and an IPv6
 * ADD_ADDR with a port over its timestamps is dropped and counted): it runs
 * in a child, in a network namespace of its own that goes with it.
 */
bool splice_probe_mptcp(char *why, size_t len)
{
	struct { int yes; char why[200]; } r = { 0 };
	int p[2], st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return probe_here(why, len);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return probe_here(why, len);
	}
	if (pid == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWNET) || lo_up())
			snprintf(r.why, sizeof(r.why),
				 "the probe found no private network "
				 "namespace (%s)",
				 strerror(errno));
		else
			r.yes = probe_here(r.why, sizeof(r.why));
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &r, sizeof(r)) != sizeof(r))
		snprintf(r.why, sizeof(r.why), "the sockmap probe did not answer");
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	r.why[sizeof(r.why) - 1] = '\0';
	snprintf(why, len, "%s", r.why);
	return r.yes;
}
