// SPDX-License-Identifier: GPL-2.0-only
/*
 * log.c - leveled logging on stderr. Under systemd (JOURNAL_STREAM set) each
 * line carries a "<N>" priority prefix that journald understands; otherwise
 * a short level word. One write(2) per line so lines from threads do not mix.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "log.h"

static enum log_level cur_level = LOG_INFO_;

void log_set_level(enum log_level lvl)
{
	cur_level = lvl;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *const word[] = { "error", "warning", "info",
					    "debug" };
	static const int prio[] = { 3, 4, 6, 7 };
	char line[1024];
	int n;

	if (lvl > cur_level)
		return;
	if (getenv("JOURNAL_STREAM"))
		n = snprintf(line, sizeof(line), "<%d>", prio[lvl]);
	else
		n = snprintf(line, sizeof(line), "hybond: %s: ", word[lvl]);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	/* Messages end without a newline; libbpf's come with one. */
	while (n > 0 && line[n - 1] == '\n')
		n--;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nothing sensible left to do */
	}
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	/* libbpf warnings (the verifier's log among them) are debug detail
	 * for us: the caller reports the failure with its own context. Its
	 * info and debug chatter is dropped. */
	if (level == LIBBPF_WARN && cur_level >= LOG_DEBUG_)
		vlog(LOG_DEBUG_, fmt, ap);
	return 0;
}

void log_hook_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

int test_fault(const char *name, const char *what)
{
	const char *f = getenv("HYBOND_TEST_FAULT");

	if (!f || strcmp(f, name))
		return 0;
	pr_warn("%s (test fault HYBOND_TEST_FAULT=%s)", what, name);
	return 1;
}
