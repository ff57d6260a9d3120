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

struct ring_buffer;

/* A hand-back: the socket whose direction outran its peer (cookie), which
 * the relay moves from now on, and the owner given to splice_pair. */
typedef void (*splice_handback_fn)(void *ctx, uint64_t cookie, uint32_t owner);

struct splice {
	struct splice_bpf *skel;
	int link_fd; /* verdict program on the sockmap, or -1 */
	struct ring_buffer *rb;
	splice_handback_fn handback;
	void *hb_ctx;
};

/* Load the program and attach it to its sockmap. limit: bytes one
 * direction may hold in the kernel's redirect queue before the program
 * hands it back to the relay (0: no limit). 0 or -errno. */
int splice_open(struct splice *sp, uint32_t limit);
/* Splice two established TCP sockets: what either receives, the other
 * sends, including what each had received and nobody read yet. owner
 * comes back with a pause request. The sockets stay the caller's (close
 * them to end it). 0 or -errno (-EOPNOTSUPP: the kernel refuses one of
 * them in a sockmap). */
int splice_pair(struct splice *sp, int a, int b, uint32_t owner);
/* A socket's cookie (how the maps and pause requests name it). */
int splice_cookie(int fd, uint64_t *cookie);
/* The hand-backs: an fd to poll, and a call that gives each waiting one
 * to fn. -errno on failure. */
int splice_handbacks_fd(struct splice *sp, splice_handback_fn fn, void *ctx);
void splice_handbacks_read(struct splice *sp);
/* What the program did with socket cookie's bytes: redirected to its peer
 * so far, and whether it handed the direction back. 0 or -errno. */
int splice_state(struct splice *sp, uint64_t cookie, uint64_t *redirected,
		 bool *handed);
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
