/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splice.h - in-kernel splicing of a connection's two legs through a
 * sockmap (bpf/splice.bpf.c), and the start-up probe that decides whether
 * the relay may use it for MPTCP connections: can an established MPTCP
 * socket join a sockmap on this kernel? (None can today: the relay moves
 * their bytes in user space and `hybond stats` says why; TCP-to-TCP pairs,
 * a CPE with --upstream tcp, it can splice, with --splice.)
 */
#ifndef HYBOND_SPLICE_H
#define HYBOND_SPLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct splice_bpf;
struct bpf_object;

struct splice {
	struct splice_bpf *skel;
	int link_fd; /* verdict program on the sockmap, or -1 */
};

/* Load the program and attach it to its sockmap. 0 or -errno. */
int splice_open(struct splice *sp);
/* Splice two established TCP sockets: what either receives, the other
 * sends, including what each had received and nobody read yet. The
 * sockets stay the caller's (close them to end it). 0 or -errno
 * (-EOPNOTSUPP: the kernel refuses one of them in a sockmap). */
int splice_pair(struct splice *sp, int a, int b);
/* Stop splicing this pair (before closing the sockets). */
void splice_unpair(struct splice *sp, int a, int b);
void splice_close(struct splice *sp);
/* The loaded program and maps, to pin with the steering ones. */
struct bpf_object *splice_object(const struct splice *sp);
/* A spliced leg's byte counts from the kernel: what it received from its
 * peer (an end of stream not counted: eof says whether one came) and what
 * was written to it in all, by the relay or by the splice, before it sent
 * its own end of stream. active: the socket was connect()ed (TCP counts
 * its SYN as a byte acknowledged). 0 or -errno. */
int splice_leg_bytes(int fd, bool mptcp, bool active, bool eof,
		     uint64_t *received, uint64_t *written);

/* Ask the kernel whether an established MPTCP socket can join a sockmap
 * (and, to tell a broken probe from a refusal, whether a TCP one can).
 * Returns true if it can; why gets the reason in words either way. */
bool splice_probe_mptcp(char *why, size_t len);

#endif
