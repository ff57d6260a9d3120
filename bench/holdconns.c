// SPDX-License-Identifier: GPL-2.0-only
/*
 * holdconns - open many TCP connections and keep them idle, for the memory
 * benchmark (bench/run.sh memory).
 *
 *   holdconns serve PORT [PORT...]
 *       listen on every PORT (IPv4 and IPv6), accept everything and keep
 *       it open; a connection is closed when its peer closes it (so a
 *       proxy in between does not keep half-closed legs around).
 *       Prints "listening" once the listeners are up.
 *
 *   holdconns connect ADDR PORT[,PORT...] N SECS [INFLIGHT]
 *       open N connections to ADDR, spread round-robin over the PORTs,
 *       with at most INFLIGHT (default 256) handshakes pending at once.
 *       Prints "progress E F" every 2 s while it connects, then
 *       "established E failed F" when every attempt finished (or SECS
 *       passed) and one line "errors ERRNAME COUNT" per reason of the
 *       failures; then holds the connections idle until SIGTERM/SIGINT or
 *       SECS seconds after start, watching for any the network closes, and
 *       prints "closing held H lost L" before closing them all.
 *       Exit status: 0 if all N were established and none was lost.
 *
 * Both raise RLIMIT_NOFILE as far as the system allows (the process
 * needs one descriptor per connection). Everything is bounded by SECS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXPORTS 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void raise_nofile(void)
{
	struct rlimit rl = { 1 << 20, 1 << 20 };
	FILE *f = fopen("/proc/sys/fs/nr_open", "r");
	unsigned long nr_open;

	if (f) {
		if (fscanf(f, "%lu", &nr_open) == 1)
			rl.rlim_cur = rl.rlim_max = nr_open;
		fclose(f);
	}
	if (setrlimit(RLIMIT_NOFILE, &rl) && !getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int serve(int argc, char **argv)
{
	int ep = epoll_create1(0);
	int nlisten = argc - 2;
	int lfd[MAXPORTS];

	if (nlisten > MAXPORTS)
		nlisten = MAXPORTS;
	for (int i = 0; i < nlisten; i++) {
		struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
					   .sin6_port = htons(atoi(argv[i + 2])) };
		int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int one = 1, zero = 0;
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(fd, 4096)) {
			perror("holdconns: listen");
			return 1;
		}
		lfd[i] = fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	printf("listening\n");
	fflush(stdout);
	while (!stop) {
		struct epoll_event ev[256];
		int n = epoll_wait(ep, ev, 256, 1000);

		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd, is_listener = 0;

			for (int j = 0; j < nlisten; j++)
				is_listener |= fd == lfd[j];
			if (is_listener) {
				int c;

				while ((c = accept4(fd, NULL, NULL,
						    SOCK_NONBLOCK)) >= 0) {
					struct epoll_event cev = {
						.events = EPOLLIN | EPOLLRDHUP,
						.data.fd = c
					};

					epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
				}
				continue;
			}
			/* A held connection: drain; close on EOF or error. */
			char buf[4096];
			ssize_t r;

			while ((r = read(fd, buf, sizeof(buf))) > 0)
				;
			if (r == 0 || (errno != EAGAIN && errno != EINTR))
				close(fd);
		}
	}
	return 0;
}

/* A pending connect finished: 1 if established (then watched for a close by
 * the network), 0 if it failed (closed). */
static int errs[256]; /* failed connects by errno */

static int finish_connect(int ep, int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);
	struct epoll_event ev = { .events = EPOLLRDHUP, .data.fd = fd };

	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		errs[err & 255]++;
		epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
		close(fd);
		return 0;
	}
	epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
	return 1;
}

static int do_connect(int argc, char **argv)
{
	struct sockaddr_storage ss;
	int ports[MAXPORTS], nports = 0, n, inflight_max = 256, ep, fam;
	int est = 0, failed = 0, inflight = 0, started = 0, lost = 0;
	char *p, *save = NULL;
	double end, next_progress;
	socklen_t salen;
	int *state; /* per fd: 1 connecting, 2 established */

	for (p = strtok_r(argv[3], ",", &save); p && nports < MAXPORTS;
	     p = strtok_r(NULL, ",", &save))
		ports[nports++] = atoi(p);
	n = atoi(argv[4]);
	end = now() + atoi(argv[5]);
	if (argc > 6)
		inflight_max = atoi(argv[6]);
	if (!nports || n <= 0 || inflight_max <= 0)
		return 2;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[2],
		      &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		fam = AF_INET;
		salen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[2],
			     &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		fam = AF_INET6;
		salen = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "holdconns: bad address %s\n", argv[2]);
		return 2;
	}
	ss.ss_family = fam;
	state = calloc((size_t)n + 1024 + 16, sizeof(*state));
	if (!state)
		return 1;
	ep = epoll_create1(0);
	next_progress = now() + 2;

	/* Connect phase. */
	while (est + failed < n && now() < end && !stop) {
		struct epoll_event evs[512];
		int k;

		while (started < n && inflight < inflight_max) {
			int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
			struct epoll_event ev = { .events = EPOLLOUT };
			in_port_t port = htons(ports[started % nports]);

			if (fd < 0 || fd >= n + 1024 + 16) {
				fprintf(stderr, "holdconns: socket %d: %s\n",
					started, fd < 0 ? strerror(errno) :
							  "descriptor too high");
				n = started; /* stop trying */
				if (fd >= 0)
					close(fd);
				break;
			}
			if (fam == AF_INET)
				((struct sockaddr_in *)&ss)->sin_port = port;
			else
				((struct sockaddr_in6 *)&ss)->sin6_port = port;
			started++;
			if (connect(fd, (struct sockaddr *)&ss, salen) &&
			    errno != EINPROGRESS) {
				if (failed < 5)
					fprintf(stderr,
						"holdconns: connect %d: %s\n",
						started, strerror(errno));
				failed++;
				errs[errno & 255]++;
				close(fd);
				continue;
			}
			ev.data.fd = fd;
			state[fd] = 1;
			inflight++;
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		}
		k = epoll_wait(ep, evs, 512, 200);
		for (int j = 0; j < k; j++) {
			int fd = evs[j].data.fd;

			if (state[fd] == 1) {
				inflight--;
				if (finish_connect(ep, fd)) {
					est++;
					state[fd] = 2;
				} else {
					failed++;
					state[fd] = 0;
				}
			} else if (state[fd] == 2) {
				lost++;
				state[fd] = 0;
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
			}
		}
		if (now() >= next_progress) {
			printf("progress %d %d\n", est, failed);
			fflush(stdout);
			next_progress = now() + 2;
		}
	}
	printf("established %d failed %d\n", est, failed);
	for (int e = 1; e < 256; e++)
		if (errs[e])
			printf("errors %s %d\n", strerrorname_np(e) ? strerrorname_np(e) : "?", errs[e]);
	fflush(stdout);

	/* Hold phase: idle, until told to stop or the time is up. */
	while (!stop && now() < end) {
		struct epoll_event evs[512];
		int k = epoll_wait(ep, evs, 512, 500);

		for (int j = 0; j < k; j++) {
			int fd = evs[j].data.fd;

			if (state[fd] == 2) {
				lost++;
				state[fd] = 0;
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
			}
		}
	}
	printf("closing held %d lost %d\n", est - lost, lost);
	fflush(stdout);
	return est == atoi(argv[4]) && !lost ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };

	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	raise_nofile();
	if (argc > 2 && !strcmp(argv[1], "serve"))
		return serve(argc, argv);
	if (argc > 5 && !strcmp(argv[1], "connect"))
		return do_connect(argc, argv);
	fprintf(stderr,
		"usage: holdconns serve PORT...\n"
		"       holdconns connect ADDR PORT[,PORT...] N SECS [INFLIGHT]\n");
	return 2;
}
