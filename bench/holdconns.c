// SPDX-License-Identifier: GPL-2.0-only
/*
 * holdconns - open many TCP connections and keep them idle, for the memory
 * benchmark.
 *
 *   holdconns serve PORT [PORT...]        accept on every port, hold all
 *   holdconns connect ADDR PORTS N SECS   open N connections spread over
 *                                         PORTS (comma list), print
 *                                         "established N" when all are,
 *                                         hold them SECS seconds, exit
 *
 * Bounded: connect gives up after SECS seconds in any case.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

static void raise_nofile(void)
{
	struct rlimit rl = { 262144, 262144 };

	if (setrlimit(RLIMIT_NOFILE, &rl) && !getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int serve(int argc, char **argv)
{
	int ep = epoll_create1(0);

	for (int i = 2; i < argc; i++) {
		struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
					   .sin6_port = htons(atoi(argv[i])) };
		int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1,
		    zero = 0;
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(fd, 4096)) {
			perror("holdconns: listen");
			return 1;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		struct epoll_event ev[64];
		int n = epoll_wait(ep, ev, 64, -1);

		for (int i = 0; i < n; i++)
			while (accept4(ev[i].data.fd, NULL, NULL, SOCK_NONBLOCK) >= 0)
				; /* held open until we exit */
	}
}

static int do_connect(int argc, char **argv)
{
	struct sockaddr_storage ss;
	int ports[16], nports = 0, n, secs, ep, done = 0, fam;
	char *p, *save = NULL;
	time_t end;

	if (argc < 6)
		return 2;
	for (p = strtok_r(argv[3], ",", &save); p && nports < 16;
	     p = strtok_r(NULL, ",", &save))
		ports[nports++] = atoi(p);
	n = atoi(argv[4]);
	secs = atoi(argv[5]);
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[2], &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		fam = AF_INET;
	else if (inet_pton(AF_INET6, argv[2],
			   &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		fam = AF_INET6;
	else
		return 2;
	ss.ss_family = fam;
	ep = epoll_create1(0);
	end = time(NULL) + secs;
	for (int i = 0; i < n; i++) {
		int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct epoll_event ev = { .events = EPOLLOUT | EPOLLONESHOT };

		if (fd < 0) {
			fprintf(stderr, "holdconns: socket %d: %s\n", i,
				strerror(errno));
			break;
		}
		if (fam == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port =
				htons(ports[i % nports]);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port =
				htons(ports[i % nports]);
		if (connect(fd, (struct sockaddr *)&ss,
			    fam == AF_INET ? sizeof(struct sockaddr_in) :
					     sizeof(struct sockaddr_in6)) &&
		    errno != EINPROGRESS) {
			fprintf(stderr, "holdconns: connect %d: %s\n", i,
				strerror(errno));
			close(fd);
			break;
		}
		ev.data.fd = fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		/* Keep the SYN rate reasonable: drain completions as we go. */
		if ((i & 255) == 255) {
			struct epoll_event evs[256];
			int k = epoll_wait(ep, evs, 256, 0);

			for (int j = 0; j < k; j++) {
				int err = 0;
				socklen_t len = sizeof(err);

				getsockopt(evs[j].data.fd, SOL_SOCKET, SO_ERROR,
					   &err, &len);
				if (!err)
					done++;
			}
		}
	}
	while (done < n && time(NULL) < end) {
		struct epoll_event evs[256];
		int k = epoll_wait(ep, evs, 256, 1000);

		for (int j = 0; j < k; j++) {
			int err = 0;
			socklen_t len = sizeof(err);

			getsockopt(evs[j].data.fd, SOL_SOCKET, SO_ERROR, &err,
				   &len);
			if (!err)
				done++;
		}
	}
	printf("established %d\n", done);
	fflush(stdout);
	while (time(NULL) < end)
		sleep(1);
	return done == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (argc > 2 && !strcmp(argv[1], "serve"))
		return serve(argc, argv);
	if (argc > 5 && !strcmp(argv[1], "connect"))
		return do_connect(argc, argv);
	fprintf(stderr, "usage: holdconns serve PORT...\n"
			"       holdconns connect ADDR PORT[,PORT...] N SECS\n");
	return 2;
}
