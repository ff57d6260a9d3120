// SPDX-License-Identifier: GPL-2.0-only
/*
 * relaymech - a TCP port forwarder that moves its bytes one of four ways,
 * for the relay-mechanism benchmark (bench/run.sh mechanisms): which way
 * of moving bytes between two TCP sockets costs the least CPU per byte on
 * this kernel. Single-threaded, so its CPU time compares directly.
 *
 *   relaymech [-m] [-M] MODE LISTEN-ADDR PORT TARGET-ADDR TARGET-PORT SECS
 *
 * -m listens with MPTCP, -M connects to TARGET with MPTCP: two of them in a
 * row (TCP -> MPTCP, then MPTCP -> TCP) have the shape of hybond's relays.
 *
 * MODE is one of
 *   rw        recv() and send() through a 256 KiB buffer per direction,
 *             edge-triggered epoll: what hybond's relay does;
 *   splice    splice(2) socket -> pipe -> socket (no copy to user space);
 *   zerocopy  recv(), then send(MSG_ZEROCOPY): the kernel pins the buffer
 *             instead of copying it, and says on the socket's error queue
 *             when it may be reused (and whether it had to copy after all);
 *   uring     io_uring: recv and send as submissions, reaped in batches
 *             (one io_uring_enter for many operations). A send to an MPTCP
 *             socket waits for room first (IORING_RECVSEND_POLL_FIRST):
 *             tried at once, a full MPTCP socket's -EAGAIN leaves
 *             io_uring's own poll waiting far too long (0.4-2 Gbit/s
 *             against 6-7 for read/write, 6.18; a wake-up the kernel
 *             misses is a guess, not checked). TCP sends need no such flag.
 * A zerocopy relay sends to an MPTCP socket without MSG_ZEROCOPY (MPTCP
 * refuses SO_ZEROCOPY, see below).
 *
 * Every accepted connection gets its own connection to TARGET. After SECS
 * seconds (or SIGTERM/SIGINT) prints one line and exits:
 *   mode M conns N bytes B cpu_us U zc_sends Z zc_copied K mptcp_zerocopy R
 * bytes: relayed, both directions; cpu_us: this process, user + system;
 * zc_*: zerocopy sends and how many of them the kernel reported copied;
 * mptcp_zerocopy: whether an MPTCP socket takes SO_ZEROCOPY ("yes", or the
 * error), since hybond's relay has an MPTCP leg.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif
#ifndef SO_EE_ORIGIN_ZEROCOPY
#define SO_EE_ORIGIN_ZEROCOPY 5
#endif
#ifndef SO_EE_CODE_ZEROCOPY_COPIED
#define SO_EE_CODE_ZEROCOPY_COPIED 1
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define BUF (256 * 1024)
#define ZBUF (64 * 1024) /* zerocopy: a ring of NZ buffers per direction */
#define NZ 16
#define IDRING 256 /* zerocopy send ids that may be outstanding */

enum mode { M_RW, M_SPLICE, M_ZC, M_URING };

struct dir {
	struct conn *c;
	int src, dst;
	bool eof; /* src said end of stream; dst shut down */
	/* rw, uring */
	char *buf;
	size_t len, off;
	/* splice */
	int pipe[2];
	size_t inpipe;
	/* zerocopy: buffers are filled and sent in ring order */
	char *zb[NZ];
	size_t zlen[NZ], zoff[NZ];
	int zpending[NZ]; /* sends not yet reported complete */
	unsigned int zhead, ztail; /* filled up to head, free from tail */
	uint32_t next_id, done_ids; /* zerocopy sends made, reported */
	uint8_t idbuf[IDRING]; /* send id -> buffer */
	bool zc; /* dst takes MSG_ZEROCOPY */
	bool dst_mptcp;
};

struct conn {
	int fd[2];
	struct dir d[2];
	int open_dirs;
	struct conn *next_dead; /* epoll: freed after the current batch */
};

static enum mode mode;
static volatile sig_atomic_t stop;
static unsigned long long total_bytes, zc_sends, zc_copied;
static int nconns;
static struct io_uring ring;
static struct conn *dead; /* epoll: finished, events may still name them */
static bool listen_mptcp, connect_mptcp;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "relaymech: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int parse_addr(const char *a, int port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static const char *mptcp_zerocopy(void)
{
	static char why[64];
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);

	if (fd < 0) {
		snprintf(why, sizeof(why), "no-mptcp(%s)",
			 strerrorname_np(errno));
		return why;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)))
		snprintf(why, sizeof(why), "%s", strerrorname_np(errno));
	else
		snprintf(why, sizeof(why), "yes");
	close(fd);
	return why;
}

/* ---- closing ------------------------------------------------------------- */

static void conn_free(struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		struct dir *d = &c->d[i];

		close(c->fd[i]);
		free(d->buf);
		if (d->pipe[0] >= 0) {
			close(d->pipe[0]);
			close(d->pipe[1]);
		}
		for (int k = 0; k < NZ; k++)
			free(d->zb[k]);
	}
	free(c);
}

/* A direction is done: its source ended and everything was sent on. */
static void dir_done(struct dir *d)
{
	d->eof = true;
	shutdown(d->dst, SHUT_WR);
	if (--d->c->open_dirs == 0 && mode != M_URING) {
		d->c->next_dead = dead;
		dead = d->c;
	}
}

/* End of a direction in a pump: false when that finished the connection. */
static bool finish(struct dir *d)
{
	bool last = d->c->open_dirs == 1;

	dir_done(d);
	return !last;
}

/* ---- rw ------------------------------------------------------------------ */

/* Each pump returns false when the connection is finished. */
static bool pump_rw(struct dir *d)
{
	for (;;) {
		ssize_t n;

		if (d->off < d->len) {
			n = send(d->dst, d->buf + d->off, d->len - d->off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0)
				return errno == EAGAIN || finish(d);
			d->off += n;
			total_bytes += n;
			continue;
		}
		if (d->eof)
			return true;
		n = recv(d->src, d->buf, BUF, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return finish(d);
		d->len = n;
		d->off = 0;
	}
}

/* ---- splice -------------------------------------------------------------- */

static bool pump_splice(struct dir *d)
{
	for (;;) {
		ssize_t n;

		if (d->inpipe) {
			n = splice(d->pipe[0], NULL, d->dst, NULL, d->inpipe,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0)
				return errno == EAGAIN || finish(d);
			d->inpipe -= n;
			total_bytes += n;
			continue;
		}
		if (d->eof)
			return true;
		n = splice(d->src, NULL, d->pipe[1], NULL, BUF,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return finish(d);
		d->inpipe = n;
	}
}

/* ---- zerocopy ------------------------------------------------------------ */

/* Read the completions on dst's error queue; free the buffers they cover. */
static void zc_reap(struct dir *d)
{
	for (;;) {
		char ctrl[128];
		struct msghdr msg = {.msg_control = ctrl,
				     .msg_controllen = sizeof(ctrl)};
		struct cmsghdr *cm;

		if (recvmsg(d->dst, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			struct sock_extended_err *ee =
			    (struct sock_extended_err *)CMSG_DATA(cm);

			if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY)
				continue;
			for (uint32_t id = ee->ee_info;; id++) {
				d->zpending[d->idbuf[id % IDRING]]--;
				d->done_ids++;
				if (ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
					zc_copied++;
				if (id == ee->ee_data)
					break;
			}
		}
	}
}

static void zc_free_done(struct dir *d)
{
	while (d->ztail != d->zhead) {
		unsigned int b = d->ztail % NZ;

		if (d->zoff[b] < d->zlen[b] || d->zpending[b])
			break;
		d->ztail++;
	}
}

static bool pump_zc(struct dir *d)
{
	for (;;) {
		unsigned int b = (d->zhead + NZ - 1) % NZ; /* last filled */
		ssize_t n;

		zc_free_done(d);
		if (d->zhead != d->ztail && d->zoff[b] < d->zlen[b]) {
			if (d->next_id - d->done_ids >= IDRING - 1) {
				zc_reap(d);
				return true;
			}
			n = send(d->dst, d->zb[b] + d->zoff[b],
				 d->zlen[b] - d->zoff[b],
				 MSG_DONTWAIT | MSG_NOSIGNAL |
				     (d->zc ? MSG_ZEROCOPY : 0));
			if (n < 0 &&
			    errno == ENOBUFS) { /* out of pinned memory */
				zc_reap(d);
				n = send(d->dst, d->zb[b] + d->zoff[b],
					 d->zlen[b] - d->zoff[b],
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			} else if (n >= 0 && d->zc) {
				d->idbuf[d->next_id++ % IDRING] = b;
				d->zpending[b]++;
				zc_sends++;
			}
			if (n < 0)
				return errno == EAGAIN || finish(d);
			d->zoff[b] += n;
			total_bytes += n;
			continue;
		}
		if (d->eof)
			return true;
		if (d->zhead - d->ztail == NZ) { /* every buffer in flight */
			zc_reap(d);
			zc_free_done(d);
			/* If still full, EPOLLERR brings the completions. */
			if (d->zhead - d->ztail == NZ)
				return true;
		}
		b = d->zhead % NZ;
		if (!d->zb[b] && !(d->zb[b] = malloc(ZBUF)))
			die("malloc");
		n = recv(d->src, d->zb[b], ZBUF, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return finish(d);
		d->zlen[b] = n;
		d->zoff[b] = 0;
		d->zhead++;
	}
}

/* ---- uring --------------------------------------------------------------- */

#define OP_RECV 0
#define OP_SEND 1

static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe) {
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	if (!sqe)
		die("io_uring_get_sqe");
	return sqe;
}

static void uring_recv(struct dir *d)
{
	struct io_uring_sqe *sqe = sqe_get();

	io_uring_prep_recv(sqe, d->src, d->buf, BUF, 0);
	io_uring_sqe_set_data64(sqe, (uintptr_t)d | OP_RECV);
}

static void uring_send(struct dir *d)
{
	struct io_uring_sqe *sqe = sqe_get();

	io_uring_prep_send(sqe, d->dst, d->buf + d->off, d->len - d->off,
			   MSG_NOSIGNAL);
	if (d->dst_mptcp)
		sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
	io_uring_sqe_set_data64(sqe, (uintptr_t)d | OP_SEND);
}

static void uring_done(struct dir *d)
{
	dir_done(d);
	if (d->c->open_dirs == 0)
		conn_free(d->c);
}

static void uring_complete(struct io_uring_cqe *cqe)
{
	struct dir *d = (struct dir *)(uintptr_t)(cqe->user_data & ~1ULL);
	int res = cqe->res;

	if ((cqe->user_data & 1) == OP_RECV) {
		if (res <= 0) {
			uring_done(d);
			return;
		}
		d->len = res;
		d->off = 0;
		uring_send(d);
		return;
	}
	if (res < 0) {
		uring_done(d);
		return;
	}
	d->off += res;
	total_bytes += res;
	if (d->off < d->len)
		uring_send(d);
	else
		uring_recv(d);
}

/* ---- accepting ----------------------------------------------------------- */

static void setup_conn(int epfd, int cfd, const struct sockaddr_storage *to,
		       socklen_t tolen)
{
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1, ufd;

	if (!c)
		die("calloc");
	ufd = socket(to->ss_family, SOCK_STREAM,
		     connect_mptcp ? IPPROTO_MPTCP : 0);
	if (ufd < 0)
		die("socket");
	if (connect(ufd, (const struct sockaddr *)to, tolen)) {
		fprintf(stderr, "relaymech: connect to target: %s\n",
			strerror(errno));
		close(ufd);
		close(cfd);
		free(c);
		return;
	}
	c->fd[0] = cfd;
	c->fd[1] = ufd;
	c->open_dirs = 2;
	for (int i = 0; i < 2; i++) {
		struct dir *d = &c->d[i];

		setsockopt(c->fd[i], IPPROTO_TCP, TCP_NODELAY, &one,
			   sizeof(one));
		d->c = c;
		d->src = c->fd[i];
		d->dst = c->fd[!i];
		d->dst_mptcp = i ? listen_mptcp : connect_mptcp;
		d->pipe[0] = d->pipe[1] = -1;
		if (mode == M_RW || mode == M_URING) {
			d->buf = malloc(BUF);
			if (!d->buf)
				die("malloc");
		}
		if (mode == M_SPLICE) {
			if (pipe2(d->pipe, O_NONBLOCK))
				die("pipe2");
			fcntl(d->pipe[1], F_SETPIPE_SZ, BUF);
		}
		if (mode == M_ZC && (i ? !listen_mptcp : !connect_mptcp) &&
		    setsockopt(d->dst, SOL_SOCKET, SO_ZEROCOPY, &one,
			       sizeof(one)))
			die("setsockopt SO_ZEROCOPY");
		d->zc = mode == M_ZC && (i ? !listen_mptcp : !connect_mptcp);
	}
	nconns++;
	if (mode == M_URING) {
		for (int i = 0; i < 2; i++)
			uring_recv(&c->d[i]);
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct epoll_event ev = {
		    .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		    .data.ptr = c,
		};

		fcntl(c->fd[i], F_SETFL, O_NONBLOCK);
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd[i], &ev))
			die("epoll_ctl");
	}
}

static bool pump(struct dir *d)
{
	switch (mode) {
	case M_RW:
		return pump_rw(d);
	case M_SPLICE:
		return pump_splice(d);
	case M_ZC:
		return pump_zc(d);
	default:
		return true;
	}
}

static void run_epoll(int lfd, const struct sockaddr_storage *to,
		      socklen_t tolen, time_t end)
{
	struct epoll_event evs[64], ev = {.events = EPOLLIN, .data.ptr = NULL};
	int epfd = epoll_create1(0);

	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev))
		die("epoll");
	while (!stop && time(NULL) < end) {
		int n = epoll_wait(epfd, evs, 64, 200);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				int cfd = accept4(lfd, NULL, NULL, 0);

				if (cfd >= 0)
					setup_conn(epfd, cfd, to, tolen);
				continue;
			}
			if (!c->open_dirs) /* finished earlier in this batch */
				continue;
			if (!c->d[0].eof && !pump(&c->d[0]))
				continue;
			if (!c->d[1].eof)
				pump(&c->d[1]);
		}
		while (dead) {
			struct conn *c = dead;

			dead = c->next_dead;
			conn_free(c);
		}
	}
}

static void run_uring(int lfd, const struct sockaddr_storage *to,
		      socklen_t tolen, time_t end)
{
	struct io_uring_sqe *sqe;

	if (io_uring_queue_init(256, &ring, 0))
		die("io_uring_queue_init");
	sqe = sqe_get();
	io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, 0);
	io_uring_sqe_set_data64(sqe, 0);
	while (!stop && time(NULL) < end) {
		struct __kernel_timespec ts = {.tv_nsec = 200000000};
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;

		io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
		io_uring_for_each_cqe(&ring, head, cqe)
		{
			seen++;
			if (cqe->user_data == 0) {
				if (cqe->res >= 0)
					setup_conn(-1, cqe->res, to, tolen);
				continue;
			}
			uring_complete(cqe);
		}
		io_uring_cq_advance(&ring, seen);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_storage la, to;
	socklen_t lalen, tolen;
	struct rusage ru;
	int lfd, one = 1;
	time_t end;

	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "-m"))
			listen_mptcp = true;
		else if (!strcmp(argv[1], "-M"))
			connect_mptcp = true;
		else
			break;
		argc--;
		argv++;
	}
	if (argc != 7) {
		fprintf(stderr,
			"usage: relaymech [-m] [-M] rw|splice|zerocopy|uring "
			"LISTEN-ADDR PORT TARGET-ADDR TARGET-PORT SECS\n");
		return 2;
	}
	if (!strcmp(argv[1], "rw"))
		mode = M_RW;
	else if (!strcmp(argv[1], "splice"))
		mode = M_SPLICE;
	else if (!strcmp(argv[1], "zerocopy"))
		mode = M_ZC;
	else if (!strcmp(argv[1], "uring"))
		mode = M_URING;
	else {
		fprintf(stderr,
			"relaymech: unknown mode '%s': use rw, splice, "
			"zerocopy or uring\n",
			argv[1]);
		return 2;
	}
	if (parse_addr(argv[2], atoi(argv[3]), &la, &lalen) ||
	    parse_addr(argv[4], atoi(argv[5]), &to, &tolen)) {
		fprintf(stderr, "relaymech: bad address\n");
		return 2;
	}
	end = time(NULL) + atoi(argv[6]);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);

	lfd =
	    socket(la.ss_family, SOCK_STREAM, listen_mptcp ? IPPROTO_MPTCP : 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&la, lalen) || listen(lfd, 128))
		die("bind/listen");
	printf("listening\n");
	fflush(stdout);

	if (mode == M_URING)
		run_uring(lfd, &to, tolen, end);
	else
		run_epoll(lfd, &to, tolen, end);

	getrusage(RUSAGE_SELF, &ru);
	printf("mode %s conns %d bytes %llu cpu_us %llu zc_sends %llu "
	       "zc_copied %llu mptcp_zerocopy %s\n",
	       argv[1], nconns, total_bytes,
	       (unsigned long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
		       1000000ULL +
		   ru.ru_utime.tv_usec + ru.ru_stime.tv_usec,
	       zc_sends, zc_copied, mptcp_zerocopy());
	return 0;
}
