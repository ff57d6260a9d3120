/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl.h - the control socket between `hybond stats|policy ...` and a running
 * daemon: an abstract unix socket "hybond/NAME", which belongs to the
 * network namespace (so it works under `ip netns exec` whatever the mount
 * namespace), reachable by root only (SO_PEERCRED).
 *
 * Request: one line "VERB [ARG...]\n", optionally with one file descriptor
 * (SCM_RIGHTS). Reply: "ok\n" or "error\n", then the body, then EOF.
 */
#ifndef HYBOND_CTL_H
#define HYBOND_CTL_H

#include "sbuf.h"

#define CTL_PREFIX "hybond/"

/* Daemon side. Returns the listening fd or -errno (-EADDRINUSE: an instance
 * of this name already runs in this network namespace). */
int ctl_listen(const char *name);
/* Handle one pending connection on lfd; handler fills out and returns 0 for
 * "ok" or non-zero for "error". fd is -1 when no descriptor came along. */
typedef int (*ctl_handler)(void *ctx, const char *verb, const char *arg,
			   int fd, struct sbuf *out);
/* A request that is a conversation ("takeover"): the handler owns the
 * connection until it returns. */
typedef void (*ctl_conversation)(void *ctx, const char *verb, int conn);
void ctl_serve_one(int lfd, ctl_handler h, ctl_conversation conv, void *ctx);

/* A connection to instance `name`'s control socket, or -errno. */
int ctl_connect(const char *name);

/* Client side: *name NULL picks the only instance in this namespace (or
 * fails, naming the ones there are). Returns 0 (ok), 1 (the daemon said
 * error), -errno when it could not talk to one; body in *out, or the reason
 * in *out when -errno. */
int ctl_call(const char *name, const char *request, int fd, struct sbuf *out);

#endif
