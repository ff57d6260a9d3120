// SPDX-License-Identifier: GPL-2.0-only
/*
 * sockmap_pass_repeat.c - a kernel repro, not a test: a TCP socket in a
 * sockmap whose skb verdict program passes every segment to the socket
 * itself (SK_PASS), read by user space slower than it arrives, sometimes
 * returns one segment twice.
 *
 * A writes a known byte stream to B over loopback. B and D are in the
 * sockmap (BPF_SK_SKB_VERDICT, sockmap_pass_repeat.bpf.c). One thread reads
 * B (non-blocking, poll, random sizes) and writes what it read to D; a
 * second reads E (D's peer) and checks every byte. B's receive buffer fills
 * while the relay writes, which is the state in which the repeat shows.
 * (The splice's hand-back, bench/README.md, In-kernel splicing, met it as a download
 * with 31856 bytes, likely one GRO segment on the testbed's veths, delivered
 * twice; hybond's verdict redirects before it passes, this program never
 * does, and the repeat is the same.)
 *
 * Kernel 6.18 here, 96 MiB a run: 3 runs in 700 (2 in 300 with this very
 * program; a full 65483-byte loopback segment repeated, once the reader got
 * 65483 bytes more than were sent), 4 in 400 with the first 2 or 8 MiB
 * redirected to D before passing. Not seen in 300 runs of 32 MiB each on
 * Debian's 6.1 and 6.12 in vmtest's guests (no KVM: slower, other timing).
 *
 * Build and run (as root, in a namespace of its own; exit 0 whole, 1 a
 * byte differed, 3 no progress for 10 s):
 *   cc=$(gcc -dumpmachine); mkdir -p build/repro
 *   clang -O2 -g -target bpf -I/usr/include/$cc -c \
 *     tests/bpf/repro/sockmap_pass_repeat.bpf.c \
 *     -o build/repro/sockmap_pass_repeat.bpf.o
 *   gcc -O2 -o build/repro/sockmap_pass_repeat \
 *     tests/bpf/repro/sockmap_pass_repeat.c -lbpf -lpthread
 *   ip netns add repro && ip netns exec repro ip link set lo up
 *   cd build/repro && for i in $(seq 200); do
 *     ip netns exec repro timeout 120 ./sockmap_pass_repeat || break; done
 *   ip netns del repro
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* The stream: byte i is T[i mod 16 MiB] + i / 16 MiB, T random, so that a
 * run of bytes names the offset it came from (no period under 16 MiB). */
#define TBITS 24
#define TMASK ((1ULL << TBITS) - 1)
static unsigned char *T;

static unsigned char pat(unsigned long long i)
{
	return T[i & TMASK] + (unsigned char)(i >> TBITS);
}

static void pat_init(void)
{
	unsigned long long z = 0x12345678;

	T = malloc(TMASK + 1);
	if (!T)
		exit(2);
	for (unsigned long long i = 0; i <= TMASK; i++) {
		z ^= z << 13;
		z ^= z >> 7;
		z ^= z << 17;
		T[i] = (unsigned char)z;
	}
}

static unsigned long long total = 96ULL << 20;
static int A, B, D, E;
static _Atomic unsigned long long checked, relayed;
static _Atomic int corrupt;

static void tcp_pair(int *client, int *server)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || bind(l, (void *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (void *)&a, &al)) {
		perror("listener");
		exit(2);
	}
	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*client, (void *)&a, sizeof(a))) {
		perror("connect");
		exit(2);
	}
	*server = accept(l, NULL, NULL);
	close(l);
}

static void *send_stream(void *arg)
{
	static unsigned char buf[65536];
	unsigned long long off = 0;

	(void)arg;
	while (off < total) {
		size_t n =
		    total - off < sizeof(buf) ? total - off : sizeof(buf);
		ssize_t w;

		for (size_t i = 0; i < n; i++)
			buf[i] = pat(off + i);
		w = write(A, buf, n);
		if (w < 0) {
			perror("write A");
			return NULL;
		}
		off += (unsigned long long)w;
	}
	shutdown(A, SHUT_WR);
	return NULL;
}

/* Where in the stream the 32 bytes at p come from, searched 12 MiB back
 * and 4 MiB on from m; -1 if not found. */
static long long origin(const unsigned char *p, unsigned long long m)
{
	unsigned long long j = m > (12ULL << 20) ? m - (12ULL << 20) : 0;

	for (; j < m + (4ULL << 20); j++) {
		int q = 0;

		while (q < 32 && p[q] == pat(j + q))
			q++;
		if (q == 32)
			return (long long)j;
	}
	return -1;
}

static void *check_stream(void *arg)
{
	static unsigned char buf[65536];
	unsigned long long off = 0;

	(void)arg;
	for (;;) {
		ssize_t n = recv(E, buf, 1 + rand() % sizeof(buf), 0);

		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			long long o;

			if (buf[i] == pat(off + i))
				continue;
			o = n - i >= 32 ? origin(buf + i, off + i) : -1;
			printf(
			    "byte %llu differs; the bytes from there are the "
			    "stream's from %lld (%lld back)\n",
			    off + i, o, o < 0 ? 0 : (long long)(off + i) - o);
			atomic_store(&corrupt, 1);
			return NULL;
		}
		off += (unsigned long long)n;
		atomic_store(&checked, off);
	}
	return NULL;
}

static void *watchdog(void *arg)
{
	unsigned long long last = ~0ULL;
	int still = 0;

	(void)arg;
	for (;;) {
		unsigned long long now;
		int binq = -1, doutq = -1;

		sleep(1);
		now = atomic_load(&checked) + atomic_load(&relayed);
		still = now == last ? still + 1 : 0;
		last = now;
		if (still < 10)
			continue;
		ioctl(B, SIOCINQ, &binq);
		ioctl(D, SIOCOUTQ, &doutq);
		printf("no progress for 10 s: relayed %llu, checked %llu of "
		       "%llu; B in queue %d, D out queue %d%s\n",
		       atomic_load(&relayed), atomic_load(&checked), total,
		       binq, doutq,
		       atomic_load(&corrupt) ? " (after a difference)" : "");
		fflush(stdout);
		_exit(atomic_load(&corrupt) ? 1 : 3);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static unsigned char buf[65536];
	struct bpf_object *obj;
	pthread_t ts, tc, tw;
	int map, prog;
	__u32 k;
	__u64 fd;

	if (argc > 1)
		total = strtoull(argv[1], NULL, 0);
	pat_init();
	srand((unsigned int)getpid());
	obj = bpf_object__open_file("sockmap_pass_repeat.bpf.o", NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "loading sockmap_pass_repeat.bpf.o failed "
				"(run from its directory, as root)\n");
		return 2;
	}
	map = bpf_object__find_map_fd_by_name(obj, "socks");
	prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "pass"));
	if (bpf_prog_attach(prog, map, BPF_SK_SKB_VERDICT, 0)) {
		perror("attach verdict");
		return 2;
	}
	tcp_pair(&A, &B);
	tcp_pair(&D, &E);
	k = 0, fd = (__u64)B;
	if (bpf_map_update_elem(map, &k, &fd, BPF_ANY)) {
		perror("sockmap B");
		return 2;
	}
	k = 1, fd = (__u64)D;
	if (bpf_map_update_elem(map, &k, &fd, BPF_ANY)) {
		perror("sockmap D");
		return 2;
	}
	pthread_create(&tw, NULL, watchdog, NULL);
	pthread_create(&tc, NULL, check_stream, NULL);
	pthread_create(&ts, NULL, send_stream, NULL);
	fcntl(B, F_SETFL, O_NONBLOCK);
	while (!atomic_load(&corrupt)) {
		struct pollfd p = {.fd = B, .events = POLLIN};
		ssize_t n;

		poll(&p, 1, 1000);
		n = recv(B, buf, 1 + rand() % sizeof(buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(D, buf + off, n - off);

			if (w < 0) {
				perror("write D");
				return 2;
			}
			off += w;
		}
		atomic_fetch_add(&relayed, (unsigned long long)n);
	}
	shutdown(D, SHUT_WR);
	pthread_join(tc, NULL);
	printf("relayed %llu, checked %llu of %llu: %s\n",
	       atomic_load(&relayed), atomic_load(&checked), total,
	       atomic_load(&corrupt)		? "A BYTE DIFFERED"
	       : atomic_load(&checked) == total ? "whole"
						: "short");
	return atomic_load(&corrupt)		? 1
	       : atomic_load(&checked) == total ? 0
						: 3;
}
