// SPDX-License-Identifier: GPL-2.0-only
/*
 * tcptool - a tiny TCP client/server for the integration tests, for what
 * curl and nginx cannot show precisely: half-close in each direction,
 * resets, and the errno of a failed connect.
 *
 *   tcptool serve PORT MODE [FILE] [--addresses] [--transparent]
 *     listen on [::]:PORT (IPv4 too; --transparent: with IP_TRANSPARENT, so
 *     that it may answer for any address, as a tproxy listener does),
 *     accept one connection, then MODE:
 *     sink-reply FILE  read until EOF, then send FILE and close
 *     reply-sink FILE  send FILE, shutdown(SHUT_WR), read until EOF
 *     reset            read until 1 byte arrived, then reset (SO_LINGER 0)
 *     --addresses first prints "accepted from ADDR PORT to ADDR PORT": the
 *     peer, and the address the connection was made to (a connection
 *     steered to a transparent listener keeps its original destination)
 *   tcptool connect ADDR PORT [--send FILE] [--timeout S]
 *     connect, send FILE (if any), shutdown(SHUT_WR), read until EOF
 *   tcptool syn SRC DST PORT COUNT [--mptcp|--join] [--vary-src]
 *     send COUNT IPv4 SYNs from SRC (raw socket, so any source; with
 *     --vary-src the last octet varies) with MP_CAPABLE (--mptcp) or an
 *     MP_JOIN with a made-up token (--join), as fast as it can; prints
 *     "sent N"
 *
 * Both print one result line on stdout:
 *   "eof sent=N received=M sha256=HEX"   the stream ended cleanly
 *   "reset sent=N received=M"           ECONNRESET
 *   "error ERRNAME"                     connect or I/O failed otherwise
 * and exit 0 for eof, 3 for reset, 4 for other errors, 2 for usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A compact SHA-256 (FIPS 180-4) so the tool needs no crypto library. */
struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t n;
};

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(struct sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^
			      (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^
			      (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
	e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
			      ((e & f) ^ (~e & g)) + K[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
			      ((a & b) ^ (a & c) ^ (b & c));

		h = g, g = f, f = e, e = d + t1;
		d = c, c = b, b = a, a = t1 + t2;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
	s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha_init(struct sha256 *s)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372,
					0xa54ff53a, 0x510e527f, 0x9b05688c,
					0x1f83d9ab, 0x5be0cd19 };

	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->n = 0;
}

static void sha_update(struct sha256 *s, const uint8_t *p, size_t len)
{
	s->len += len;
	while (len) {
		size_t take = 64 - s->n < len ? 64 - s->n : len;

		memcpy(s->buf + s->n, p, take);
		s->n += take, p += take, len -= take;
		if (s->n == 64) {
			sha_block(s, s->buf);
			s->n = 0;
		}
	}
}

static void sha_hex(struct sha256 *s, char out[65])
{
	uint64_t bits = s->len * 8;
	uint8_t pad = 0x80, zero = 0, lenb[8];

	sha_update(s, &pad, 1);
	while (s->n != 56)
		sha_update(s, &zero, 1);
	for (int i = 0; i < 8; i++)
		lenb[i] = bits >> (56 - 8 * i);
	sha_update(s, lenb, 8);
	for (int i = 0; i < 8; i++)
		sprintf(out + 8 * i, "%08x", s->h[i]);
}

static int timeout_s = 30;

/* Wait for fd to become ready; -ETIMEDOUT after the global timeout. */
static int wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int n = poll(&p, 1, timeout_s * 1000);

	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

static int send_file(int fd, const char *path, uint64_t *sent)
{
	char buf[65536];
	int in = open(path, O_RDONLY);
	ssize_t n;

	if (in < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);

			if (w < 0) {
				int err = -errno;

				close(in);
				return err;
			}
			off += w;
			*sent += w;
		}
	}
	close(in);
	return 0;
}

/* Read until EOF; 0, or -errno (-ECONNRESET for a reset). */
static int recv_all(int fd, uint64_t *received, struct sha256 *sha)
{
	char buf[65536];

	for (;;) {
		ssize_t n;
		int err = wait_fd(fd, POLLIN);

		if (err)
			return err;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0)
			return 0;
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		*received += n;
		sha_update(sha, (uint8_t *)buf, n);
	}
}

static int report(int err, uint64_t sent, uint64_t received,
		  struct sha256 *sha)
{
	char hex[65];

	if (!err) {
		sha_hex(sha, hex);
		printf("eof sent=%llu received=%llu sha256=%s\n",
		       (unsigned long long)sent, (unsigned long long)received,
		       hex);
		return 0;
	}
	if (err == -ECONNRESET || err == -EPIPE) {
		printf("reset sent=%llu received=%llu\n",
		       (unsigned long long)sent, (unsigned long long)received);
		return 3;
	}
	printf("error %s\n", strerrorname_np(-err) ? strerrorname_np(-err) :
						     strerror(-err));
	return 4;
}

static int do_connect(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST }, *ai;
	const char *file = NULL;
	uint64_t sent = 0, received = 0;
	struct sha256 sha;
	int fd, err, flags;

	if (argc < 4)
		return 2;
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--send") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout_s = atoi(argv[++i]);
		else
			return 2;
	}
	if (getaddrinfo(argv[2], argv[3], &hints, &ai))
		return 2;
	sha_init(&sha);
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	err = connect(fd, ai->ai_addr, ai->ai_addrlen) ? -errno : 0;
	if (err == -EINPROGRESS) {
		socklen_t len = sizeof(err);

		err = wait_fd(fd, POLLOUT);
		if (!err) {
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
			err = -err;
		}
	}
	fcntl(fd, F_SETFL, flags);
	freeaddrinfo(ai);
	if (!err && file)
		err = send_file(fd, file, &sent);
	if (!err && shutdown(fd, SHUT_WR)) {
		err = -errno;
		/* A reset that came in after the last send leaves the socket
		 * closed (ENOTCONN here) with the reset as its pending error. */
		if (err == -ENOTCONN) {
			int soerr = 0;
			socklen_t len = sizeof(soerr);

			if (!getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) &&
			    soerr)
				err = -soerr;
		}
	}
	if (!err)
		err = recv_all(fd, &received, &sha);
	return report(err, sent, received, &sha);
}

static void print_addresses(int fd)
{
	struct sockaddr_in6 sa[2];
	char a[2][INET6_ADDRSTRLEN];

	for (int i = 0; i < 2; i++) {
		socklen_t len = sizeof(sa[i]);
		int r = i ? getsockname(fd, (struct sockaddr *)&sa[i], &len) :
			    getpeername(fd, (struct sockaddr *)&sa[i], &len);

		if (r) {
			printf("accepted: %s\n", strerror(errno));
			return;
		}
		if (IN6_IS_ADDR_V4MAPPED(&sa[i].sin6_addr))
			inet_ntop(AF_INET, &sa[i].sin6_addr.s6_addr[12], a[i],
				  sizeof(a[i]));
		else
			inet_ntop(AF_INET6, &sa[i].sin6_addr, a[i],
				  sizeof(a[i]));
	}
	printf("accepted from %s %u to %s %u\n", a[0],
	       ntohs(sa[0].sin6_port), a[1], ntohs(sa[1].sin6_port));
}

static int do_serve(int argc, char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_ANY_INIT };
	uint64_t sent = 0, received = 0;
	struct sha256 sha;
	int lfd, fd, one = 1, zero = 0, err = 0;
	const char *mode, *file = NULL;
	bool addresses = false, transparent = false;

	if (argc < 4)
		return 2;
	sa.sin6_port = htons(atoi(argv[2]));
	mode = argv[3];
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--addresses"))
			addresses = true;
		else if (!strcmp(argv[i], "--transparent"))
			transparent = true;
		else if (!file)
			file = argv[i];
		else
			return 2;
	}
	lfd = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, SOL_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (transparent &&
	    setsockopt(lfd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one))) {
		perror("tcptool: IPV6_TRANSPARENT");
		return 4;
	}
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 8)) {
		perror("tcptool: listen");
		return 4;
	}
	fprintf(stderr, "listening\n");
	if (wait_fd(lfd, POLLIN))
		return report(-ETIMEDOUT, 0, 0, NULL);
	fd = accept(lfd, NULL, NULL);
	close(lfd);
	if (fd < 0) {
		perror("tcptool: accept");
		return 4;
	}
	if (addresses)
		print_addresses(fd);
	sha_init(&sha);
	if (!strcmp(mode, "sink-reply") && file) {
		err = recv_all(fd, &received, &sha);
		if (!err)
			err = send_file(fd, file, &sent);
	} else if (!strcmp(mode, "reply-sink") && file) {
		err = send_file(fd, file, &sent);
		if (!err && shutdown(fd, SHUT_WR))
			err = -errno;
		if (!err)
			err = recv_all(fd, &received, &sha);
	} else if (!strcmp(mode, "reset")) {
		struct linger lg = { 1, 0 };
		char c;

		if (!wait_fd(fd, POLLIN) && recv(fd, &c, 1, 0) == 1)
			received = 1;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		printf("reset-sent received=%llu\n",
		       (unsigned long long)received);
		return 0;
	} else {
		return 2;
	}
	close(fd);
	return report(err, sent, received, &sha);
}

static uint16_t csum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A bounded SYN generator for the flood and spoofing tests. */
static int do_syn(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	uint8_t pkt[20 + 36];
	struct in_addr src;
	unsigned long count, sent = 0;
	bool mptcp = false, vary = false, join = false;
	int fd, one = 1, tcplen;

	if (argc < 6)
		return 2;
	for (int i = 6; i < argc; i++) {
		if (!strcmp(argv[i], "--mptcp"))
			mptcp = true;
		else if (!strcmp(argv[i], "--join"))
			join = true;
		else if (!strcmp(argv[i], "--vary-src"))
			vary = true;
		else
			return 2;
	}
	if (inet_pton(AF_INET, argv[2], &src) != 1 ||
	    inet_pton(AF_INET, argv[3], &dst.sin_addr) != 1)
		return 2;
	count = strtoul(argv[5], NULL, 10);
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one))) {
		perror("tcptool: raw socket");
		return 4;
	}
	tcplen = join ? 36 : mptcp ? 28 : 24;
	for (unsigned long n = 0; n < count; n++) {
		uint8_t *ip = pkt, *tcp = pkt + 20, ph[12];
		uint16_t c, sport = htons(1024 + n % 60000);
		uint32_t seq = htonl((uint32_t)(n * 2654435761u));
		struct in_addr s = src;

		if (vary)
			((uint8_t *)&s)[3] = 1 + n % 250;
		memset(pkt, 0, sizeof(pkt));
		ip[0] = 0x45;
		ip[2] = 0;
		ip[3] = 20 + tcplen;
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, &s, 4);
		memcpy(ip + 16, &dst.sin_addr, 4);
		c = htons(csum16(ip, 20, 0));
		memcpy(ip + 10, &c, 2);
		memcpy(tcp, &sport, 2);
		{
			uint16_t dp = htons(atoi(argv[4]));

			memcpy(tcp + 2, &dp, 2);
		}
		memcpy(tcp + 4, &seq, 4);
		tcp[12] = (tcplen / 4) << 4;
		tcp[13] = 0x02;
		tcp[14] = 0xff;
		tcp[20] = 2; /* MSS 1460 */
		tcp[21] = 4;
		tcp[22] = 0x05;
		tcp[23] = 0xb4;
		if (mptcp) { /* MP_CAPABLE v1, SYN form */
			tcp[24] = 30;
			tcp[25] = 4;
			tcp[26] = 0x01;
			tcp[27] = 0x81;
		} else if (join) { /* MP_JOIN SYN: id, a token nobody has, nonce */
			tcp[24] = 30;
			tcp[25] = 12;
			tcp[26] = 0x10;
			tcp[27] = 1;
			memcpy(tcp + 28, "\xde\xad\xbe\xef\x01\x02\x03\x04", 8);
		}
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = IPPROTO_TCP;
		ph[10] = 0;
		ph[11] = tcplen;
		{
			uint32_t sum = 0;

			for (int i = 0; i < 12; i += 2)
				sum += (uint32_t)ph[i] << 8 | ph[i + 1];
			c = htons(csum16(tcp, tcplen, sum));
		}
		memcpy(tcp + 16, &c, 2);
		if (sendto(fd, pkt, 20 + tcplen, 0, (struct sockaddr *)&dst,
			   sizeof(dst)) > 0)
			sent++;
	}
	printf("sent %lu\n", sent);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "connect"))
		rc = do_connect(argc, argv);
	else if (argc > 1 && !strcmp(argv[1], "serve"))
		rc = do_serve(argc, argv);
	else if (argc > 1 && !strcmp(argv[1], "syn"))
		rc = do_syn(argc, argv);
	if (rc == 2)
		fprintf(stderr,
			"usage: tcptool serve PORT sink-reply|reply-sink|reset "
			"[FILE] [--addresses] [--transparent]\n"
			"       tcptool connect ADDR PORT [--send FILE] "
			"[--timeout S]\n");
	return rc;
}
