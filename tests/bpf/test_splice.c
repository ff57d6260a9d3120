// SPDX-License-Identifier: GPL-2.0-only
/*
 * The in-kernel splice (bpf/splice.bpf.c) on TCP-to-TCP pairs, which
 * kernels accept: what one leg receives leaves by the other, never through
 * user space, intact both ways at once; unpaired, a socket is the stack's
 * again. And the start-up probe gives an answer with its reason.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../user/splice.c"

#define LEN (16 << 20)

/* A loopback TCP connection: *c (client end), *s (server end). */
static void pair(int *c, int *s)
{
	cr_assert_eq(loop_pair(IPPROTO_TCP, c, s), 0, "loopback TCP pair");
}

/* Two loopback connections whose server ends s1 and s2 the tests splice:
 * what c1 sends then reaches c2, and the other way. */
struct legs {
	int c1, s1, c2, s2;
};

static void legs_open(struct legs *l)
{
	pair(&l->c1, &l->s1);
	pair(&l->c2, &l->s2);
}

/* Unpaired (if they still were) and closed. */
static void legs_close(struct splice *sp, struct legs *l)
{
	splice_unpair(sp, l->s1, l->s2);
	close(l->c1);
	close(l->s1);
	close(l->c2);
	close(l->s2);
}

struct xfer {
	int fd;
	const uint8_t *src;
	uint8_t *dst;
	size_t len;
	bool trickle; /* send in 1 KiB pieces, a little apart */
};

static void *sender(void *arg)
{
	struct xfer *x = arg;

	for (size_t off = 0; off < x->len;) {
		size_t want = x->len - off;
		ssize_t n;

		if (x->trickle && want > 1024)
			want = 1024;
		n = send(x->fd, x->src + off, want, 0);
		if (n <= 0)
			return (void *)1;
		off += n;
		if (x->trickle)
			usleep(10);
	}
	return NULL;
}

static void *receiver(void *arg)
{
	struct xfer *x = arg;

	for (size_t off = 0; off < x->len;) {
		struct pollfd p = { .fd = x->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			return (void *)1; /* nothing for 10 s */
		n = recv(x->fd, x->dst + off, x->len - off, 0);
		if (n <= 0)
			return (void *)1;
		off += n;
	}
	return NULL;
}

static uint8_t *random_bytes(size_t len)
{
	uint8_t *p = malloc(len);
	uint32_t x = 2463534242u;

	cr_assert(p);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
	return p;
}

Test(splice, tcp_pairs_both_ways_in_kernel)
{
	struct splice sp;
	struct legs l;
	int err;
	uint8_t *a = random_bytes(LEN), *b = random_bytes(LEN);
	uint8_t *got_a = malloc(LEN), *got_b = malloc(LEN);
	pthread_t t[4];
	void *rv;
	char one;

	if (geteuid())
		cr_skip_test("needs root (BPF)");
	cr_assert_eq(splice_open(&sp), 0, "load and attach the verdict program");
	legs_open(&l);
	err = splice_pair(&sp, l.s1, l.s2);
	cr_assert_eq(err, 0, "splice two TCP sockets: %s", strerror(-err));

	/* b reversed so the two directions differ */
	for (size_t i = 0; i < LEN / 2; i++) {
		uint8_t tmp = b[i];

		b[i] = b[LEN - 1 - i];
		b[LEN - 1 - i] = tmp;
	}
	struct xfer x[4] = {
		{ l.c1, a, NULL, LEN, false }, { l.c2, NULL, got_a, LEN, false },
		{ l.c2, b, NULL, LEN, false }, { l.c1, NULL, got_b, LEN, false },
	};
	pthread_create(&t[0], NULL, sender, &x[0]);
	pthread_create(&t[1], NULL, receiver, &x[1]);
	pthread_create(&t[2], NULL, sender, &x[2]);
	pthread_create(&t[3], NULL, receiver, &x[3]);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &rv);
		cr_assert_null(rv, "transfer %d stopped short", i);
	}
	cr_assert(!memcmp(a, got_a, LEN), "c1 -> c2: the 16 MiB arrived equal");
	cr_assert(!memcmp(b, got_b, LEN), "c2 -> c1: the 16 MiB arrived equal");
	/* Nothing went through user space on the spliced legs. */
	cr_assert_eq(recv(l.s1, &one, 1, MSG_DONTWAIT), -1);
	cr_assert_eq(errno, EAGAIN, "s1 has nothing for user space");
	cr_assert_eq(recv(l.s2, &one, 1, MSG_DONTWAIT), -1);

	/* Unpaired: s1 is the stack's again. */
	splice_unpair(&sp, l.s1, l.s2);
	cr_assert_eq(send(l.c1, "x", 1, 0), 1);
	{
		struct pollfd p = { .fd = l.s1, .events = POLLIN };

		cr_assert_eq(poll(&p, 1, 5000), 1, "s1 readable after unpair");
		cr_assert_eq(recv(l.s1, &one, 1, 0), 1);
		cr_assert_eq(one, 'x');
	}
	legs_close(&sp, &l);
	splice_close(&sp);
	free(a);
	free(b);
	free(got_a);
	free(got_b);
}

/* Pairing while bytes are flowing both ways, in small segments that keep
 * arriving: those that came before are handed over, none is lost in
 * between (the first socket to join must find its peer already a target:
 * a failed redirect drops bytes TCP has acknowledged), and the order
 * holds. */
#define LIVE_LEN (128 << 10)
#define LIVE_ROUNDS 100
Test(splice, pairing_while_bytes_flow)
{
	struct splice sp;
	uint8_t *a = random_bytes(LIVE_LEN), *got = malloc(2 * LIVE_LEN);

	if (geteuid())
		cr_skip_test("needs root (BPF)");
	cr_assert_eq(splice_open(&sp), 0, "load and attach the verdict program");
	for (int r = 0; r < LIVE_ROUNDS; r++) {
		struct legs l;
		pthread_t t[4];
		void *rv;
		int err;

		legs_open(&l);
		struct xfer x[4] = {
			{ l.c1, a, NULL, LIVE_LEN, true },
			{ l.c2, NULL, got, LIVE_LEN, false },
			{ l.c2, a, NULL, LIVE_LEN, true },
			{ l.c1, NULL, got + LIVE_LEN, LIVE_LEN, false },
		};
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, i % 2 ? receiver : sender,
				       &x[i]);
		/* Some bytes are queued unread on s1 and s2 by now, and
		 * more are on their way. */
		usleep(200 + r % 8 * 100);
		err = splice_pair(&sp, l.s1, l.s2);
		cr_assert_eq(err, 0, "round %d: splice: %s", r, strerror(-err));
		for (int i = 0; i < 4; i++) {
			pthread_join(t[i], &rv);
			cr_assert_null(rv, "round %d: transfer %d stopped short",
				       r, i);
		}
		cr_assert(!memcmp(a, got, LIVE_LEN), "round %d: c1 -> c2 equal", r);
		cr_assert(!memcmp(a, got + LIVE_LEN, LIVE_LEN),
			  "round %d: c2 -> c1 equal", r);
		legs_close(&sp, &l);
	}
	splice_close(&sp);
	free(a);
	free(got);
}

/* A FIN that comes alone (an empty segment) ends one direction only: the
 * peer socket stays whole, and the other direction goes on. (Redirected,
 * the kernel tried to send the empty segment and marked the peer broken:
 * EPIPE on it, and its sends stopped.) */
Test(splice, bare_fin_leaves_the_peer_whole)
{
	struct splice sp;
	struct legs l;
	int err = -1;
	socklen_t len = sizeof(err);
	char buf[1000] = { 0 }, got[1000];
	struct pollfd p;
	size_t off = 0;

	if (geteuid())
		cr_skip_test("needs root (BPF)");
	cr_assert_eq(splice_open(&sp), 0, "load and attach the verdict program");
	legs_open(&l);
	cr_assert_eq(splice_pair(&sp, l.s1, l.s2), 0, "splice two TCP sockets");
	cr_assert_eq(send(l.c1, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	while (off < sizeof(got)) {
		ssize_t n = recv(l.c2, got + off, sizeof(got) - off, 0);

		cr_assert_gt(n, 0, "c2 receives what c1 sent");
		off += n;
	}
	/* Only now the FIN: a segment of its own. */
	cr_assert_eq(shutdown(l.c1, SHUT_WR), 0);
	p = (struct pollfd){ .fd = l.s1, .events = POLLRDHUP };
	cr_assert_eq(poll(&p, 1, 5000), 1, "s1 sees the end of stream");
	cr_assert_eq(recv(l.s1, got, 1, MSG_DONTWAIT), 0, "s1 reads it as EOF");
	usleep(100 * 1000); /* (the kernel's redirects run from a work queue) */
	cr_assert_eq(getsockopt(l.s2, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	cr_assert_eq(err, 0, "s2 is not broken: %s", strerror(err));
	/* The other direction still flows, and s2 can end it. */
	cr_assert_eq(send(l.c2, "reply", 5, 0), 5);
	p = (struct pollfd){ .fd = l.c1, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 5000), 1, "the reply reaches c1");
	cr_assert_eq(recv(l.c1, got, sizeof(got), 0), 5);
	cr_assert_eq(shutdown(l.s2, SHUT_WR), 0, "s2 shuts down: %s", strerror(errno));
	cr_assert_eq(recv(l.c2, got, 1, 0), 0, "c2 sees its end of stream");
	legs_close(&sp, &l);
	splice_close(&sp);
}

Test(splice, probe_answers_with_a_reason)
{
	char why[200] = "";
	bool yes;

	if (geteuid())
		cr_skip_test("needs root (BPF)");
	yes = splice_probe_mptcp(why, sizeof(why));
	cr_assert(why[0], "a reason is given");
	cr_assert_null(strstr(why, "even for TCP"),
		       "TCP sockets join a sockmap here: %s", why);
	cr_log_info("MPTCP in a sockmap: %s (%s)", yes ? "yes" : "no", why);
	if (!yes)
		cr_assert(strstr(why, "refuses MPTCP"), "%s", why);
}
