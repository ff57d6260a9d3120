/* SPDX-License-Identifier: GPL-2.0-only */
/* log.h - the one logging module: leveled lines on stderr, systemd style. */
#ifndef HYBOND_LOG_H
#define HYBOND_LOG_H

enum log_level { LOG_ERR_ = 0, LOG_WARN_, LOG_INFO_, LOG_DEBUG_ };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Route libbpf's own messages through log_msg, demoted one level. */
void log_hook_libbpf(void);
/* Whether the tests asked for the fault NAME (HYBOND_TEST_FAULT=NAME);
 * if so, a warning names it and what it does (WHAT). */
int test_fault(const char *name, const char *what);

#define pr_err(...) log_msg(LOG_ERR_, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN_, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO_, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG_, __VA_ARGS__)

#endif
