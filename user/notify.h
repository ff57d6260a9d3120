/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * notify.h - the systemd readiness protocol (sd_notify(3)) without
 * libsystemd: one datagram "READY=1", "STOPPING=1", "WATCHDOG=1", ... to
 * the unix socket named by $NOTIFY_SOCKET (a path, or '@' for an abstract
 * name). Without $NOTIFY_SOCKET nothing is sent.
 */
#ifndef HYBOND_NOTIFY_H
#define HYBOND_NOTIFY_H

#include <stdint.h>

/* 1 when sent, 0 when there is no $NOTIFY_SOCKET, -errno on failure. */
int notify_send(const char *msg);

/* $WATCHDOG_USEC when set for this process ($WATCHDOG_PID, if set, must
 * be ours), else 0. Ping at half of it. */
uint64_t notify_watchdog_usec(void);

#endif
