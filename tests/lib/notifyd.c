// SPDX-License-Identifier: GPL-2.0-only
/*
 * notifyd.c - stands in for systemd's notification socket in the tests.
 *
 *   notifyd SOCKET OUT [LOG TEXT]
 *
 * Binds a datagram unix socket (a path, or '@name' for an abstract one),
 * and appends one line to OUT for every message received:
 *
 *   MILLISECONDS SEEN MESSAGE
 *
 * MILLISECONDS on CLOCK_MONOTONIC; SEEN is 1 when the file LOG already
 * contained TEXT at that moment (so a test can tell READY=1 came after the
 * daemon logged `ready`), else 0; the message's newlines become spaces.
 * Runs until killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int file_has(const char *path, const char *text)
{
	char buf[1 << 16];
	size_t n;
	FILE *f = fopen(path, "r");
	int found;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	found = strstr(buf, text) != NULL;
	return found;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t salen;
	size_t plen;
	FILE *out;
	int fd;

	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: notifyd SOCKET OUT [LOG TEXT]\n");
		return 2;
	}
	plen = strlen(argv[1]);
	if (plen >= sizeof(sa.sun_path))
		return 2;
	memcpy(sa.sun_path, argv[1], plen);
	salen = sizeof(sa.sun_family) + plen + 1;
	if (argv[1][0] == '@') {
		sa.sun_path[0] = '\0';
		salen--;
	} else {
		unlink(argv[1]);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, salen)) {
		perror("notifyd: bind");
		return 1;
	}
	out = fopen(argv[2], "a");
	if (!out) {
		perror(argv[2]);
		return 1;
	}
	fprintf(stderr, "notifyd: listening on %s\n", argv[1]);
	for (;;) {
		char msg[4096];
		struct timespec ts;
		ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
		int seen;

		if (n < 0)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seen = argc == 5 && file_has(argv[3], argv[4]);
		msg[n] = '\0';
		for (ssize_t i = 0; i < n; i++)
			if (msg[i] == '\n' || msg[i] == '\0')
				msg[i] = ' ';
		fprintf(out, "%lld %d %s\n",
			(long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
			seen, msg);
		fflush(out);
	}
}
