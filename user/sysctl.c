// SPDX-License-Identifier: GPL-2.0-only
/* sysctl.c - a number in /proc/sys: MPTCP's settings, fs.nr_open. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sysctl.h"

int sysctl_read(const char *path, long *v)
{
	char b[32], *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	b[n] = 0;
	errno = 0;
	*v = strtol(b, &end, 10);
	if (end == b || errno)
		return -EINVAL;
	return 0;
}

int sysctl_write(const char *path, long v)
{
	char b[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC), n, err = 0;

	if (fd < 0)
		return -errno;
	n = snprintf(b, sizeof(b), "%ld\n", v);
	if (write(fd, b, (size_t)n) != n)
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}
