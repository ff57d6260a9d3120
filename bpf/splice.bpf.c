// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * splice.bpf.c - in-kernel splicing of a proxied connection's two legs:
 * bytes received on one socket of a pair go straight out of the other
 * (sk_skb verdict, bpf_sk_redirect_hash to the peer's egress), never
 * through user space.
 *
 * The relay pairs a connection's sockets here with --splice where the
 * kernel takes both in a sockmap (user/relay.c, splice_start): TCP ones
 * (a CPE with --upstream tcp); MPTCP ones no kernel takes today, which
 * the start-up probe (user/splice.c) asks. Off by default: the kernel's
 * redirects have no back-pressure of their own (README, Performance): a
 * redirected segment leaves the socket's receive buffer at once, so its
 * window stays open whatever the peer can send. Past `limit` bytes waiting
 * for the peer, the program hands the direction back to the relay for
 * good (SK_PASS: the bytes stay counted in the socket's receive buffer
 * until the relay reads them) and says so on hybond_splice_events. (Not a
 * pause and resume by taking the socket out of the verdict's map: the
 * kernel clears the program before it restores the socket's data_ready,
 * and a segment read in between is dropped after TCP acknowledged it;
 * tests/bpf/test_splice.c lost 64 KB in 2 of 10 runs that way.)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "hybond_abi.h"

/* The legs of every spliced pair, by socket cookie: the verdict program
 * is attached to this map, so it runs on what they receive. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 131072);
	__type(key, __u64);
	__type(value, __u64);
} hybond_splice_socks SEC(".maps");

/* The same sockets as redirect targets (no program here). Both legs of a
 * pair are in it before either joins hybond_splice_socks: a byte the first
 * one receives before its peer has joined must find the peer. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 131072);
	__type(key, __u64);
	__type(value, __u64);
} hybond_splice_to SEC(".maps");

/* Socket cookie of a leg -> socket cookie of its peer. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u64);
} hybond_splice_peer SEC(".maps");

/* Per receiving socket (by cookie), set up by the relay at pairing: what
 * its verdict handed to the peer, against which the peer's write_seq tells
 * how much of it still waits in the kernel's redirect queue. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct hybond_splice_state);
} hybond_splice_state SEC(".maps");

/* Hand-backs: the cookie of a socket whose direction the relay moves from
 * now on. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 65536);
} hybond_splice_events SEC(".maps");

/* Bytes a direction may hold in the redirect queue (0: no limit). */
const volatile __u32 limit = 0;

/* Does the peer lag what this socket handed it by more than the limit? */
static bool lags(struct hybond_splice_state *st, __u64 *peer)
{
	struct bpf_sock *sk = bpf_map_lookup_elem(&hybond_splice_to, peer);
	struct tcp_sock *tp;
	__u32 wseq;

	if (!sk)
		return false;
	tp = bpf_skc_to_tcp_sock(sk);
	wseq = tp ? tp->write_seq : 0;
	bpf_sk_release(sk);
	if (!tp)
		return false;
	if (!st->based) {
		st->base = wseq;
		st->based = 1;
	}
	/* (Modulo 2^32: exact while the queue holds less than 4 GiB.) */
	return (__u32)st->redirected - (wseq - st->base) > limit;
}

/* (SEC "sk_skb": attached as BPF_SK_SKB_VERDICT, no stream parser.) */
SEC("sk_skb")
int hybond_splice(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct hybond_splice_state *st = NULL;
	__u64 *peer;

	/* An empty segment: a bare FIN. The end of stream is the socket's
	 * state already (the relay reads it there and shuts the peer down
	 * once the bytes before it are out); redirected, the kernel would
	 * try to send zero bytes and mark the peer broken (EPIPE). */
	if (!skb->len)
		return SK_DROP;
	peer = bpf_map_lookup_elem(&hybond_splice_peer, &cookie);

	/* A socket whose peer is gone: its bytes wait for user space. */
	if (!peer)
		return SK_PASS;
	if (limit)
		st = bpf_map_lookup_elem(&hybond_splice_state, &cookie);
	if (st) {
		/* Handed back: the bytes queue on this socket (counted in its
		 * receive buffer, so TCP's window holds the sender back) for
		 * the relay, in order after all redirected before. */
		if (st->handed)
			return SK_PASS;
		if (lags(st, peer)) {
			__u64 *e;

			st->handed = 1;
			e = bpf_ringbuf_reserve(&hybond_splice_events, sizeof(*e), 0);
			if (e) {
				*e = cookie;
				bpf_ringbuf_submit(e, 0);
			}
			return SK_PASS;
		}
		__sync_fetch_and_add(&st->redirected, skb->len);
	}
	return bpf_sk_redirect_hash(skb, &hybond_splice_to, peer, 0);
}

char LICENSE[] SEC("license") = "GPL";
