/* SPDX-License-Identifier: GPL-2.0-only */
/* sysctl.h - read and write a number in /proc/sys (this network namespace's
 * for net.*, as the process sees it). */
#ifndef HYBOND_SYSCTL_H
#define HYBOND_SYSCTL_H

/* 0 and the value in *v, or -errno (-EINVAL: not a number). */
int sysctl_read(const char *path, long *v);
/* 0 or -errno. */
int sysctl_write(const char *path, long v);

#endif
