// SPDX-License-Identifier: GPL-2.0-only
/* takeover.c - the conversation of `--takeover` (see takeover.h): framing
 * with descriptors, and the new process's side. The old process's side is
 * in daemon.c, next to what it stops and gives up. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "takeover.h"

#define TK_TIMEOUT_MS 15000

int tk_send(int sock, const char *line, const int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * TK_NFDS)];
	char text[512];
	int have[TK_NFDS], n = 0, mask = 0;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	for (int i = 0; i < nfds && i < TK_NFDS; i++)
		if (fds[i] >= 0) {
			have[n++] = fds[i];
			mask |= 1 << i;
		}
	snprintf(text, sizeof(text), "%s fds=%d\n", line, mask);
	iov.iov_base = text;
	iov.iov_len = strlen(text);
	if (n) {
		struct cmsghdr *cm;

		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(cm), have, sizeof(int) * n);
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int tk_recv(int sock, char *buf, size_t len, int *fds, int nfds,
	    int timeout_ms)
{
	char cbuf[CMSG_SPACE(sizeof(int) * TK_NFDS)];
	struct iovec iov = { buf, len - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int got[TK_NFDS], ngot = 0, mask = 0;
	struct cmsghdr *cm;
	char *f;
	ssize_t n;
	int r;

	for (int i = 0; i < nfds; i++)
		fds[i] = -1;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (int i = 0; i < k && ngot < TK_NFDS; i++)
				memcpy(&got[ngot++],
				       CMSG_DATA(cm) + i * sizeof(int),
				       sizeof(int));
		}
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	f = strstr(buf, " fds=");
	if (f) {
		mask = atoi(f + 5);
		*f = '\0';
	}
	for (int i = 0, j = 0; i < TK_NFDS; i++) {
		if (!(mask & (1 << i)) || j >= ngot)
			continue;
		if (i < nfds)
			fds[i] = got[j];
		else
			close(got[j]);
		j++;
	}
	return (int)strlen(buf);
}

static int expect(struct takeover *t, const char *what)
{
	char line[512];
	int fds[1];
	int n = tk_recv(t->sock, line, sizeof(line), fds, 0, TK_TIMEOUT_MS);

	if (n < 0) {
		pr_err("takeover: no '%s' from the running instance (pid %d): "
		       "%s; it goes on serving",
		       what, t->offer.old_pid, strerror(-n));
		return n;
	}
	if (strcmp(line, what)) {
		pr_err("takeover: the running instance answered '%s' instead "
		       "of '%s'; it goes on serving",
		       line, what);
		return -EPROTO;
	}
	return 0;
}

static void parse_offer(struct takeover_offer *o, char *line)
{
	char *save = NULL;

	o->old_pm_type = -1;
	o->old_blackhole = -1;
	for (char *tok = strtok_r(line, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		unsigned int a, b;

		if (sscanf(tok, "pid=%d", &o->old_pid) == 1)
			continue;
		if (sscanf(tok, "limits=%u,%u", &a, &b) == 2) {
			o->limits_changed = true;
			o->old_subflows = a;
			o->old_add_addr = b;
		} else if (sscanf(tok, "pm_type=%d", &o->old_pm_type) == 1) {
			continue;
		} else if (sscanf(tok, "blackhole=%ld", &o->old_blackhole) == 1) {
			continue;
		} else if (sscanf(tok, "qdisc=%u,%u", &a, &b) == 2) {
			o->created_qdisc[0] = a;
			o->created_qdisc[1] = b;
		}
	}
}

int takeover_begin(struct takeover *t, const char *name)
{
	char line[512];
	int n;

	memset(t, 0, sizeof(*t));
	for (int i = 0; i < TK_NFDS; i++)
		t->offer.fd[i] = -1;
	t->sock = ctl_connect(name);
	if (t->sock < 0) {
		pr_err("--takeover: no instance named '%s' runs in this network "
		       "namespace (%s); start without --takeover",
		       name, strerror(-t->sock));
		return t->sock;
	}
	n = tk_send(t->sock, "takeover", NULL, 0);
	if (!n)
		n = tk_recv(t->sock, line, sizeof(line), t->offer.fd, TK_NFDS,
			    TK_TIMEOUT_MS);
	if (n < 0) {
		pr_err("--takeover: instance '%s' did not answer: %s", name,
		       strerror(-n));
		return n;
	}
	if (strncmp(line, "offer", 5) || t->offer.fd[TK_FD_LISTEN4] < 0 ||
	    t->offer.fd[TK_FD_LISTEN6] < 0 || t->offer.fd[TK_FD_EVENTS] < 0 ||
	    t->offer.fd[TK_FD_HELD] < 0) {
		pr_err("--takeover: instance '%s' refused: %s", name,
		       strncmp(line, "offer", 5) ? line :
						   "its offer lacks sockets or maps");
		return -EPROTO;
	}
	parse_offer(&t->offer, line + 5);
	pr_info("takeover: instance '%s' (pid %d) offered its listeners and "
		"maps",
		name, t->offer.old_pid);
	return 0;
}

int takeover_freeze(struct takeover *t)
{
	int err = tk_send(t->sock, "freeze", NULL, 0);

	return err ? err : expect(t, "frozen");
}

int takeover_commit(struct takeover *t)
{
	int err = tk_send(t->sock, "commit", NULL, 0);

	return err ? err : expect(t, "bye");
}

void takeover_end(struct takeover *t)
{
	for (int i = 0; i < TK_NFDS; i++)
		if (t->offer.fd[i] >= 0) {
			/* (Whoever took one set it to -1.) */
			close(t->offer.fd[i]);
			t->offer.fd[i] = -1;
		}
	if (t->sock >= 0)
		close(t->sock);
	t->sock = -1;
}
