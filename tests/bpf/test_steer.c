// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_steer.c - the steering programs run on crafted packets through
 * BPF_PROG_TEST_RUN (root; each test in a private network namespace with
 * its own listeners and sockets). A table of packets with, for each, the
 * counters that must move and whether the packet gets the local mark.
 *
 * Under test-run bpf_sk_assign() cannot succeed (the skb is not at tc
 * ingress), so "steer" shows as HYBOND_CTR_ASSIGN_ERR: the program found the
 * listener and tried to assign it, which is the decision under test. The
 * netns integration tests prove the assignment itself.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hybond_abi.h"
#include "tc_steer.skel.h"
#include "../lib/pktgen.h"

#define MARK 0x4859

static struct tc_steer_bpf *skel;
static int lfd4 = -1, lfd6 = -1;
static uint16_t lport4, lport6;

static void lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

static int listen_on(int family, uint16_t *port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);
	int fd = socket(family, SOCK_STREAM, 0);

	if (family == AF_INET) {
		struct sockaddr_in *s = (void *)&ss;

		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (void *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_addr = in6addr_loopback;
		len = sizeof(*s);
	}
	cr_assert_eq(bind(fd, (void *)&ss, len), 0);
	cr_assert_eq(listen(fd, 16), 0);
	len = sizeof(ss);
	getsockname(fd, (void *)&ss, &len);
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
					   ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void set_cfg(int role, uint32_t flags)
{
	struct hybond_cfg cfg = {
		.role = role,
		.flags = flags,
		.mark = MARK,
		.lport4 = lport4,
		.lport6 = lport6,
		.up_ifindex = 0, /* no route check under test-run */
	};
	__u32 key = 0;

	cr_assert_eq(bpf_map__update_elem(skel->maps.hybond_cfg, &key,
					  sizeof(key), &cfg, sizeof(cfg), 0),
		     0);
}

static void setup(void)
{
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s (needs root)",
		     strerror(errno));
	lo_up();
	lfd4 = listen_on(AF_INET, &lport4);
	lfd6 = listen_on(AF_INET6, &lport6);
	skel = tc_steer_bpf__open_and_load();
	cr_assert_not_null(skel, "loading tc_steer.bpf.o");
	set_cfg(HYBOND_ROLE_CPE, HYBOND_F_ENABLED);
}

static void teardown(void)
{
	tc_steer_bpf__destroy(skel);
	close(lfd4);
	close(lfd6);
}

static uint64_t counter(int dir, int fam, int ctr)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu], sum = 0;
	__u32 idx = hybond_stat_idx(dir, fam, ctr);

	cr_assert_eq(bpf_map__lookup_elem(skel->maps.hybond_stats, &idx,
					  sizeof(idx), vals,
					  sizeof(uint64_t) * ncpu, 0),
		     0);
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* Run one frame with the skb mark mark_in; returns the verdict and puts
 * the mark afterwards in *mark_out. Counter deltas are written to
 * delta[HYBOND_CTR_MAX] for the given direction/family. */
static int run_ctx(struct bpf_program *prog, const uint8_t *frame, int len,
		   uint32_t mark_in, uint32_t *mark_out, int dir, int fam,
		   uint64_t *delta)
{
	struct __sk_buff ctx = { .mark = mark_in };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
		    .data_size_in = len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .ctx_out = &ctx,
		    .ctx_size_out = sizeof(ctx));
	uint64_t before[HYBOND_CTR_MAX];

	for (int c = 0; c < HYBOND_CTR_MAX; c++)
		before[c] = counter(dir, fam, c);
	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0);
	for (int c = 0; c < HYBOND_CTR_MAX; c++)
		delta[c] = counter(dir, fam, c) - before[c];
	if (mark_out)
		*mark_out = ctx.mark;
	return opts.retval;
}

/* Run one frame that must pass (TC_ACT_OK); returns the mark afterwards. */
static uint32_t run(struct bpf_program *prog, const uint8_t *frame, int len,
		    int dir, int fam, uint64_t *delta)
{
	uint32_t mark = 0;

	cr_assert_eq(run_ctx(prog, frame, len, 0, &mark, dir, fam, delta), 0,
		     "verdict must always be TC_ACT_OK");
	return mark;
}

static const uint8_t LO4[16] = { 127, 0, 0, 1 };
static const uint8_t R4[16] = { 203, 0, 113, 10 };
static const uint8_t H4[16] = { 192, 0, 2, 10 };
static const uint8_t H6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x10 };
static const uint8_t R6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 5, [15] = 0x10 };

static int build(uint8_t *buf, int family, uint8_t flags, const uint8_t *opts,
		 int optlen)
{
	struct pkt_spec s = {
		.family = family, .l4proto = 6, .sport = 40000, .dport = 80,
		.tcp_flags = flags, .opts = opts, .optlen = optlen,
	};

	memcpy(s.saddr, family == 4 ? H4 : H6, 16);
	memcpy(s.daddr, family == 4 ? R4 : R6, 16);
	return pkt_build(buf, 256, &s);
}

/* Exactly the listed counters moved by one, nothing else. */
static void expect(const uint64_t *delta, const int *ctrs, int n)
{
	for (int c = 0; c < HYBOND_CTR_MAX; c++) {
		uint64_t want = 0;

		for (int i = 0; i < n; i++)
			if (ctrs[i] == c)
				want = 1;
		cr_expect_eq(delta[c], want, "counter %d moved by %lu, want %lu",
			     c, (unsigned long)delta[c], (unsigned long)want);
	}
}

#define EXPECT(d, ...)                                                       \
	do {                                                                 \
		int _c[] = { __VA_ARGS__ };                                  \
		expect(d, _c, sizeof(_c) / sizeof(_c[0]));                   \
	} while (0)

TestSuite(steer, .init = setup, .fini = teardown);

Test(steer, cpe_plain_syn_is_steered_v4_and_v6)
{
	uint8_t f[256];
	uint64_t d[HYBOND_CTR_MAX];
	int n;

	n = build(f, 4, 0x02, OPTS_SYN_PLAIN, sizeof(OPTS_SYN_PLAIN));
	run(skel->progs.hybond_steer, f, n, HYBOND_DIR_STEER, HYBOND_FAM_V4, d);
	EXPECT(d, HYBOND_CTR_PACKETS, HYBOND_CTR_SYN, HYBOND_CTR_ASSIGN_ERR);
	n = build(f, 6, 0x02, OPTS_SYN_PLAIN, sizeof(OPTS_SYN_PLAIN));
	run(skel->progs.hybond_steer, f, n, HYBOND_DIR_STEER, HYBOND_FAM_V6, d);
	EXPECT(d, HYBOND_CTR_PACKETS, HYBOND_CTR_SYN, HYBOND_CTR_ASSIGN_ERR);
}

Test(steer, cpe_without_listener_fails_open)
{
	uint8_t f[256];
	uint64_t d[HYBOND_CTR_MAX];
	int n = build(f, 4, 0x02, OPTS_SYN_PLAIN, sizeof(OPTS_SYN_PLAIN));
	uint32_t mark;

	close(lfd4);
	lfd4 = -1;
	mark = run(skel->progs.hybond_steer, f, n, HYBOND_DIR_STEER,
		   HYBOND_FAM_V4, d);
	EXPECT(d, HYBOND_CTR_PACKETS, HYBOND_CTR_SYN, HYBOND_CTR_NO_LISTENER);
	cr_assert_eq(mark, 0, "a SYN nobody takes is routed unmarked");
}

Test(steer, hag_steers_only_mptcp_syns)
{
	uint8_t f[256];
	uint64_t d[HYBOND_CTR_MAX];
	int n;

	set_cfg(HYBOND_ROLE_HAG, HYBOND_F_ENABLED);
	n = build(f, 4, 0x02, OPTS_SYN_PLAIN, sizeof(OPTS_SYN_PLAIN));
	cr_assert_eq(run(skel->progs.hybond_steer, f, n, HYBOND_DIR_STEER,
			 HYBOND_FAM_V4, d), 0);
	EXPECT(d, HYBOND_CTR_PACKETS, HYBOND_CTR_SYN, HYBOND_CTR_SYN_PLAIN);

	n = build(f, 4, 0x02, OPTS_SYN_MPC, sizeof(OPTS_SYN_MPC));
	run(skel->progs.hybond_steer, f, n, HYBOND_DIR_STEER, HYBOND_FAM_V4, d);
	EXPECT(d, HYBOND_CTR_PACKETS, HYBOND_CTR_SYN, HYBOND_CTR_ASSIGN_ERR);

	n = build(f, 6, 0x02, OPTS_SYN_JOIN, sizeof(OPTS_SYN_JOIN));
	run(skel->progs.hybond_steer, f, n, HYBOND_DIR_STEER, HYBOND_FAM_V6, d);
	EXPECT(d, HYBOND_CTR_PACKETS, HYBOND_CTR_SYN, HYBOND_CTR_ASSIGN_ERR);
}

Test(steer, syn_ack_and_data_of_unknown_flows_pass_unmarked)
{
	uint8_t f[256];
	uint64_t d[HYBOND_CTR_MAX];
	int n;

	n = build(f, 4, 0x12, OPTS_SYN_MPC, sizeof(OPTS_SYN_MPC));
	cr_assert_eq(run(skel->progs.hybond_steer, f, n, HYBOND_DIR_STEER,
			 HYBOND_FAM_V4, d), 0);
	EXPECT(d, HYBOND_CTR_PACKETS);
	n = build(f, 6, 0x18, NULL, 0);
	cr_assert_eq(run(skel->progs.hybond_return, f, n, HYBOND_DIR_RETURN,
			 HYBOND_FAM_V6, d), 0);
	EXPECT(d, HYBOND_CTR_PACKETS);
}

Test(steer, packets_of_a_local_socket_are_marked)
{
	struct sockaddr_in srv = { .sin_family = AF_INET };
	socklen_t len = sizeof(srv);
	struct pkt_spec s = { .family = 4, .l4proto = 6, .tcp_flags = 0x10 };
	uint64_t d[HYBOND_CTR_MAX];
	uint8_t f[256];
	uint16_t sport, cport;
	int lfd, cfd, n;

	/* An established connection over loopback. */
	lfd = listen_on(AF_INET, &sport);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.sin_port = htons(sport);
	cr_assert_eq(connect(cfd, (void *)&srv, sizeof(srv)), 0);
	getsockname(cfd, (void *)&srv, &len);
	cport = ntohs(srv.sin_port);

	/* From the server to the client: the client's socket owns it. */
	memcpy(s.saddr, LO4, 4);
	memcpy(s.daddr, LO4, 4);
	s.sport = sport;
	s.dport = cport;
	n = pkt_build(f, sizeof(f), &s);
	cr_assert_eq(run(skel->progs.hybond_return, f, n, HYBOND_DIR_RETURN,
			 HYBOND_FAM_V4, d), MARK);
	EXPECT(d, HYBOND_CTR_PACKETS, HYBOND_CTR_LOCAL);

	/* To the listener's port from elsewhere: a listener never counts. */
	s.sport = 40001;
	s.dport = sport;
	n = pkt_build(f, sizeof(f), &s);
	cr_assert_eq(run(skel->progs.hybond_return, f, n, HYBOND_DIR_RETURN,
			 HYBOND_FAM_V4, d), 0);
	EXPECT(d, HYBOND_CTR_PACKETS);
	close(cfd);
	close(lfd);
}

Test(steer, non_tcp_and_malformed_pass)
{
	struct pkt_spec s = { .family = 4, .l4proto = 17, .sport = 53,
			      .dport = 53 };
	uint64_t d[HYBOND_CTR_MAX];
	uint8_t f[256];
	int n;

	memcpy(s.saddr, H4, 4);
	memcpy(s.daddr, R4, 4);
	n = pkt_build(f, sizeof(f), &s);
	cr_assert_eq(run(skel->progs.hybond_steer, f, n, HYBOND_DIR_STEER,
			 HYBOND_FAM_V4, d), 0);
	EXPECT(d, HYBOND_CTR_PACKETS, HYBOND_CTR_NON_TCP);

	/* A SYN whose TCP header is cut short. */
	n = build(f, 4, 0x02, OPTS_SYN_MPC, sizeof(OPTS_SYN_MPC)) - 10;
	cr_assert_eq(run(skel->progs.hybond_steer, f, n, HYBOND_DIR_STEER,
			 HYBOND_FAM_V4, d), 0);
	EXPECT(d, HYBOND_CTR_PACKETS, HYBOND_CTR_MALFORMED);
}

Test(steer, disabled_program_touches_nothing)
{
	uint8_t f[256];
	uint64_t d[HYBOND_CTR_MAX];
	int n = build(f, 4, 0x02, OPTS_SYN_PLAIN, sizeof(OPTS_SYN_PLAIN));

	set_cfg(HYBOND_ROLE_CPE, 0);
	cr_assert_eq(run(skel->progs.hybond_steer, f, n, HYBOND_DIR_STEER,
			 HYBOND_FAM_V4, d), 0);
	EXPECT(d, -1);
}

/* The handshake order: a held SYN is dropped (and reported), the host's
 * copies too while it is held, and the daemon's reinjection, which carries
 * the local-delivery mark, is steered and ends the hold. */
Test(steer, held_syn_waits_for_the_marked_reinjection)
{
	uint8_t f[256];
	uint64_t d[HYBOND_CTR_MAX];
	struct hybond_tuple k = { .family = 4 };
	struct hybond_held h;
	int n = build(f, 4, 0x02, OPTS_SYN_PLAIN, sizeof(OPTS_SYN_PLAIN));
	struct bpf_program *p = skel->progs.hybond_steer;

	memcpy(k.saddr, H4, 4);
	memcpy(k.daddr, R4, 4);
	k.sport = htons(40000);
	k.dport = htons(80);
	set_cfg(HYBOND_ROLE_CPE, HYBOND_F_ENABLED | HYBOND_F_HOLD);

	cr_assert_eq(run_ctx(p, f, n, 0, NULL, HYBOND_DIR_STEER, HYBOND_FAM_V4, d),
		     TC_ACT_SHOT);
	EXPECT(d, HYBOND_CTR_PACKETS, HYBOND_CTR_SYN, HYBOND_CTR_SYN_HELD);
	cr_assert_eq(bpf_map__lookup_elem(skel->maps.hybond_held, &k, sizeof(k),
					  &h, sizeof(h), 0),
		     0, "the tuple is held");
	cr_expect_eq(h.state, HYBOND_HOLD_PENDING);

	cr_assert_eq(run_ctx(p, f, n, 0, NULL, HYBOND_DIR_STEER, HYBOND_FAM_V4, d),
		     TC_ACT_SHOT, "the host's retransmission is dropped");
	EXPECT(d, HYBOND_CTR_PACKETS, HYBOND_CTR_SYN, HYBOND_CTR_SYN_HELD_DUP);

	cr_assert_eq(run_ctx(p, f, n, MARK, NULL, HYBOND_DIR_STEER,
			     HYBOND_FAM_V4, d),
		     TC_ACT_OK, "the reinjection is steered");
	EXPECT(d, HYBOND_CTR_PACKETS, HYBOND_CTR_SYN, HYBOND_CTR_SYN_RELEASED,
	       HYBOND_CTR_ASSIGN_ERR);
	cr_expect_neq(bpf_map__lookup_elem(skel->maps.hybond_held, &k, sizeof(k),
					   &h, sizeof(h), 0),
		      0, "the hold is over");
}
