// SPDX-License-Identifier: GPL-2.0-only
/* sockmap_pass_repeat.bpf.c - the verdict program of sockmap_pass_repeat.c:
 * every segment goes to the receiving socket's own queue (SK_PASS). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} socks SEC(".maps");

SEC("sk_skb")
int pass(struct __sk_buff *skb)
{
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
