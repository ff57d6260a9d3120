// SPDX-License-Identifier: GPL-2.0-only
/* ctl.c - the control socket: daemon side and client side. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"

static socklen_t ctl_addr(const char *name, struct sockaddr_un *sun)
{
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	/* Abstract: sun_path[0] is NUL; the name is not NUL-terminated. */
	n = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1, "%s%s",
		     CTL_PREFIX, name);
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

int ctl_listen(const char *name)
{
	struct sockaddr_un sun;
	socklen_t len = ctl_addr(name, &sun);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, len) || listen(fd, 16)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void reply(int fd, int status, const struct sbuf *body)
{
	const char *head = status ? "error\n" : "ok\n";

	if (send(fd, head, strlen(head), MSG_NOSIGNAL) < 0)
		return;
	for (size_t off = 0; body->p && off < body->len;) {
		ssize_t n = send(fd, body->p + off, body->len - off,
				 MSG_NOSIGNAL);

		if (n <= 0)
			return;
		off += n;
	}
}

void ctl_serve_one(int lfd, ctl_handler h, ctl_conversation conv, void *ctx)
{
	char line[4096], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { line, sizeof(line) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct timeval tv = { .tv_sec = 2 };
	struct sbuf out = { 0 };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct cmsghdr *cm;
	int fd, passed = -1, status;
	char *nl, *arg;
	ssize_t n;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ||
	    (cred.uid != 0 && cred.uid != getuid())) {
		sbuf_printf(&out, "permission denied: only root may control "
				  "hybond\n");
		reply(fd, 1, &out);
		goto out;
	}
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		goto out;
	line[n] = '\0';
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&passed, CMSG_DATA(cm), sizeof(int));
	nl = strchr(line, '\n');
	if (!nl) {
		sbuf_printf(&out, "malformed request\n");
		reply(fd, 1, &out);
		goto out;
	}
	*nl = '\0';
	arg = strchr(line, ' ');
	if (arg)
		*arg++ = '\0';
	if (conv && !strcmp(line, "takeover")) {
		conv(ctx, line, fd);
		goto out;
	}
	status = h(ctx, line, arg ? arg : "", passed, &out);
	reply(fd, status, &out);
out:
	if (passed >= 0)
		close(passed);
	sbuf_free(&out);
	close(fd);
}

int ctl_connect(const char *name)
{
	struct sockaddr_un sun;
	socklen_t len = ctl_addr(name, &sun);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sun, len)) {
		int err = -errno;

		close(s);
		return err;
	}
	return s;
}

/* The names of the instances listening in this network namespace. */
static int list_instances(char names[][64], int max)
{
	FILE *f = fopen("/proc/net/unix", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *at = strstr(line, " @" CTL_PREFIX);
		unsigned int flags;
		char *end;

		/* Num RefCount Protocol Flags Type St Inode Path */
		if (!at || sscanf(line, "%*s %*s %*s %x", &flags) != 1 ||
		    !(flags & 0x10000)) /* __SO_ACCEPTCON: listening */
			continue;
		at += 2 + strlen(CTL_PREFIX);
		end = strpbrk(at, " \n");
		if (end)
			*end = '\0';
		if (n < max)
			snprintf(names[n++], 64, "%s", at);
	}
	fclose(f);
	return n;
}

int ctl_call(const char *name, const char *request, int fd, struct sbuf *out)
{
	char names[16][64], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)request, strlen(request) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct timeval tv = { .tv_sec = 10 };
	struct sockaddr_un sun;
	char buf[65536];
	socklen_t len;
	int s, n, status = -EBADMSG;

	if (!name) {
		n = list_instances(names, 16);
		if (n <= 0) {
			sbuf_printf(out, "no hybond instance runs in this "
					 "network namespace (start one with "
					 "`hybond cpe|hag ...`, or run this "
					 "inside its namespace with ip netns "
					 "exec)");
			return -ENOENT;
		}
		if (n > 1) {
			sbuf_printf(out, "%d hybond instances run here (", n);
			for (int i = 0; i < n && i < 16; i++)
				sbuf_printf(out, "%s%s", i ? ", " : "",
					    names[i]);
			sbuf_printf(out, "); pick one with --name");
			return -EEXIST;
		}
		name = names[0];
	}
	len = ctl_addr(name, &sun);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&sun, len)) {
		int err = -errno;

		sbuf_printf(out, "no hybond instance named '%s' runs in this "
				 "network namespace (%s)",
			    name, strerror(-err));
		close(s);
		return err;
	}
	if (fd >= 0) {
		struct cmsghdr *cm;

		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(s, &msg, MSG_NOSIGNAL) < 0) {
		int err = -errno;

		sbuf_printf(out, "talking to instance '%s': %s", name,
			    strerror(-err));
		close(s);
		return err;
	}
	/* Status line, then the body until EOF. */
	{
		struct sbuf all = { 0 };
		ssize_t r;
		char *nl;

		while ((r = recv(s, buf, sizeof(buf), 0)) > 0)
			sbuf_put(&all, buf, r);
		if (r < 0) {
			status = -errno;
			sbuf_printf(out, "no answer from instance '%s': %s",
				    name, strerror(errno));
		} else if (all.p && (nl = strchr(all.p, '\n'))) {
			*nl = '\0';
			status = strcmp(all.p, "ok") ? 1 : 0;
			sbuf_put(out, nl + 1, all.len - (nl + 1 - all.p));
		} else {
			sbuf_printf(out, "instance '%s' closed the control "
					 "connection without an answer",
				    name);
		}
		sbuf_free(&all);
	}
	close(s);
	return status;
}
