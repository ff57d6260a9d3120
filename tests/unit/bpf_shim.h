/* SPDX-License-Identifier: GPL-2.0-only */
/* bpf_shim.h - what the headers in bpf/lib expect from vmlinux.h and libbpf's BPF
 * headers, so the same parsing code runs in user space under test. */
#ifndef HYBOND_BPF_SHIM_H
#define HYBOND_BPF_SHIM_H

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/types.h>
#include <netinet/in.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define bpf_ntohs(x) ntohs(x)
#define bpf_htons(x) htons(x)

#endif
