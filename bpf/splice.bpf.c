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
 * redirects have no back-pressure (bench/README.md, In-kernel splicing).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

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

/* (SEC "sk_skb": attached as BPF_SK_SKB_VERDICT, no stream parser.) */
SEC("sk_skb")
int hybond_splice(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
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
	return bpf_sk_redirect_hash(skb, &hybond_splice_to, peer, 0);
}

char LICENSE[] SEC("license") = "GPL";
