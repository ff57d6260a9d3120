// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_fuzz_steer.c - the steering program on random, truncated and mutated
 * frames through BPF_PROG_TEST_RUN (root, private network namespace), each
 * verdict checked against a reference model written here independently of
 * bpf/lib/parse.h: which counter must move (none for non-IP frames,
 * non_tcp, malformed, syn, or only packets) and that nothing is marked
 * (no sockets exist). A fixed seed makes a failure reproducible; the seed
 * and the frame are printed when a verdict differs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hybond_abi.h"
#include "tc_steer.skel.h"
#include "../lib/pktgen.h"

enum ref_class { REF_NOT_IP, REF_NON_TCP, REF_MALFORMED, REF_SYN, REF_TCP };

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The reference: what the steering program must conclude about a frame. */
static enum ref_class reference(const uint8_t *f, size_t len)
{
	size_t off = 14, l4;
	uint16_t proto;
	uint8_t nh;

	if (len < 14)
		return REF_MALFORMED;
	proto = be16(f + 12);
	for (int i = 0; i < 2 && (proto == 0x8100 || proto == 0x88a8); i++) {
		if (len < off + 4)
			return REF_MALFORMED;
		proto = be16(f + off + 2);
		off += 4;
	}
	if (proto == 0x0800) {
		size_t ihl;

		if (len < off + 20 || (f[off] >> 4) != 4)
			return REF_MALFORMED;
		ihl = (size_t)(f[off] & 0x0f) * 4;
		if (ihl < 20)
			return REF_MALFORMED;
		if (be16(f + off + 6) & 0x3fff)
			return REF_NON_TCP;
		if (f[off + 9] != 6)
			return REF_NON_TCP;
		l4 = off + ihl;
	} else if (proto == 0x86dd) {
		int depth;

		if (len < off + 40 || (f[off] >> 4) != 6)
			return REF_MALFORMED;
		nh = f[off + 6];
		l4 = off + 40;
		for (depth = 0; depth < 6; depth++) {
			if (nh == 0 || nh == 43 || nh == 60) {
				if (len < l4 + 2)
					return REF_MALFORMED;
				nh = f[l4];
				l4 += ((size_t)f[l4 + 1] + 1) * 8;
				if (l4 > 512)
					return REF_MALFORMED;
				continue;
			}
			if (nh == 44)
				return REF_NON_TCP;
			break;
		}
		if (depth == 6)
			return REF_NON_TCP;
		if (nh != 6)
			return REF_NON_TCP;
	} else {
		return REF_NOT_IP;
	}
	if (l4 > 512 || len < l4 + 20)
		return REF_MALFORMED;
	if ((size_t)(f[l4 + 12] >> 4) * 4 < 20 ||
	    len < l4 + (size_t)(f[l4 + 12] >> 4) * 4)
		return REF_MALFORMED;
	if ((f[l4 + 13] & 0x16) == 0x02) /* SYN without ACK and RST */
		return REF_SYN;
	return REF_TCP;
}

static struct tc_steer_bpf *skel;

static void lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
}

static void counters(uint64_t out[HYBOND_STAT_ENTRIES])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu];

	for (__u32 i = 0; i < HYBOND_STAT_ENTRIES; i++) {
		out[i] = 0;
		if (bpf_map__lookup_elem(skel->maps.hybond_stats, &i, sizeof(i),
					 vals, sizeof(uint64_t) * ncpu, 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
}

/* Which per-family counters moved, as a class. */
static int observed(const uint64_t *a, const uint64_t *b)
{
	for (int fam = 0; fam < HYBOND_FAM_MAX; fam++) {
#define D(c) (b[hybond_stat_idx(0, fam, c)] - a[hybond_stat_idx(0, fam, c)])
		if (!D(HYBOND_CTR_PACKETS))
			continue;
		if (D(HYBOND_CTR_NON_TCP))
			return REF_NON_TCP;
		if (D(HYBOND_CTR_MALFORMED))
			return REF_MALFORMED;
		if (D(HYBOND_CTR_SYN))
			return REF_SYN;
		return REF_TCP;
#undef D
	}
	return REF_NOT_IP;
}

static int seed_frame(uint8_t *buf, unsigned int r)
{
	static const uint8_t ext[] = { 60, 0, 1, 4, 0, 0, 0, 0 };
	struct pkt_spec s = {
		.family = r & 1 ? 6 : 4,
		.vlan_tags = (r >> 1) % 3,
		.l4proto = (r >> 3) % 5 ? 6 : 17,
		.sport = 40000,
		.dport = 80,
		.tcp_flags = (r >> 6) & 1 ? 0x02 : 0x10,
		.opts = (r >> 7) & 1 ? OPTS_SYN_MPC : OPTS_SYN_PLAIN,
		.optlen = (r >> 7) & 1 ? sizeof(OPTS_SYN_MPC) : sizeof(OPTS_SYN_PLAIN),
		.ip_optlen = (r >> 8) & 1 ? 4 : 0,
		.payload = (r >> 9) & 3 ? 0 : 64,
	};

	memset(s.saddr, 1, 16);
	memset(s.daddr, 2, 16);
	if (s.family == 6 && ((r >> 11) & 1)) {
		s.ext = ext;
		s.extlen = sizeof(ext);
		s.first_nh = 0;
	}
	return pkt_build(buf, 512, &s);
}

Test(fuzz, steering_verdicts_match_the_reference_model)
{
	struct hybond_cfg cfg = { .role = HYBOND_ROLE_CPE, .flags = HYBOND_F_ENABLED,
				  .mark = 0x4859 };
	unsigned int seed = getenv("HYBOND_FUZZ_SEED") ?
				    (unsigned int)atoi(getenv("HYBOND_FUZZ_SEED")) :
				    20261124;
	int runs = getenv("HYBOND_FUZZ_RUNS") ? atoi(getenv("HYBOND_FUZZ_RUNS")) :
						20000;
	static uint64_t before[HYBOND_STAT_ENTRIES], after[HYBOND_STAT_ENTRIES];
	int mismatches = 0, refused = 0;
	__u32 key = 0;

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	lo_up();
	skel = tc_steer_bpf__open_and_load();
	cr_assert_not_null(skel);
	cr_assert_eq(bpf_map__update_elem(skel->maps.hybond_cfg, &key,
					  sizeof(key), &cfg, sizeof(cfg), 0),
		     0);
	srand(seed);
	for (int i = 0; i < runs; i++) {
		uint8_t f[512];
		struct __sk_buff ctx = { 0 };
		int len = seed_frame(f, (unsigned int)rand());
		int mode = rand() % 4, expect, got;

		if (mode == 0) { /* truncated anywhere */
			len = rand() % (len + 1);
		} else if (mode == 1) { /* a few bytes flipped */
			for (int k = rand() % 4 + 1; k > 0; k--)
				f[rand() % len] ^= (uint8_t)(1 + rand() % 255);
		} else if (mode == 2) { /* pure noise after a plausible start */
			for (int k = 14 + rand() % 30; k < len; k++)
				f[k] = (uint8_t)rand();
		}
		if (len < 14) /* test-run needs an Ethernet header */
			len = 14;
		{
			LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f,
				    .data_size_in = len, .ctx_in = &ctx,
				    .ctx_size_in = sizeof(ctx), .ctx_out = &ctx,
				    .ctx_size_out = sizeof(ctx));

			counters(before);
			if (bpf_prog_test_run_opts(
				    bpf_program__fd(skel->progs.hybond_steer),
				    &opts)) {
				/* The test-run harness itself refuses some
				 * frames (e.g. an IP header too short for it to
				 * fill in the skb); no verdict to compare. */
				cr_assert(errno == EINVAL, "test run: %s",
					  strerror(errno));
				refused++;
				continue;
			}
			counters(after);
			cr_assert_eq(opts.retval, 0, "a verdict other than pass");
			cr_assert_eq(ctx.mark, 0, "marked without a socket");
		}
		expect = reference(f, len);
		got = observed(before, after);
		if (got != expect && mismatches++ < 5) {
			fprintf(stderr, "seed %u run %d: reference %d, program %d, "
					"len %d:",
				seed, i, expect, got, len);
			for (int k = 0; k < len && k < 96; k++)
				fprintf(stderr, " %02x", f[k]);
			fprintf(stderr, "\n");
		}
	}
	tc_steer_bpf__destroy(skel);
	cr_log_info("%d frames, %d refused by the test-run harness", runs,
		    refused);
	cr_assert_lt(refused, runs / 10, "the harness refused %d frames", refused);
	cr_assert_eq(mismatches, 0, "%d of %d verdicts differ from the model",
		     mismatches, runs);
}
