/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * config.h - `--config FILE`: a file of `key value` lines (key = a long
 * option without its dashes) turned into command-line arguments placed
 * before the real ones, so getopt sees the file first and the command line
 * wins. Every line is checked against the role's option table before
 * anything runs; values are checked later by the option parsers, and
 * config_where() tells which file:line a value came from.
 */
#ifndef HYBOND_CONFIG_H
#define HYBOND_CONFIG_H

#include <getopt.h>
#include <stddef.h>

#define CONFIG_MAX_LINE 4096 /* longer lines are refused */
#define CONFIG_MAX_BYTES (1 << 20)

struct config {
	int argc; /* argv[0], the file's arguments, the command line's */
	char **argv; /* NULL-terminated */
	char *file; /* the config file's name as given; NULL: none */
	int nfile; /* argv[1..nfile] came from the file */
	int *line; /* line[i]: source line of argv[i] (0: command line) */
};

/* Parse the text of a config file (len bytes; name for messages) against
 * an option table and build c->argv = argv[0], the file's options, then
 * argv[1..argc-1]. other (may be NULL) is the other role's table, named
 * other_role, for a better hint. Returns 0, or -EINVAL with
 * "FILE:LINE: cause; hint" in err. */
int config_parse(const char *name, const char *text, size_t len,
		 const struct option *opts, const struct option *other,
		 const char *other_role, int argc, char **argv,
		 struct config *c, char *err, size_t errlen);

/* Read the file (refused when world-writable or larger than
 * CONFIG_MAX_BYTES) and config_parse() it. */
int config_load(const char *path, const struct option *opts,
		const struct option *other, const char *other_role, int argc,
		char **argv, struct config *c, char *err, size_t errlen);

/* The command line's --config FILE (also --config=FILE and any prefix
 * getopt accepts), found with the option table itself. Returns 1 and sets
 * *file, 0 when there is none, -EINVAL when given twice (message in err). */
int config_find(int argc, char **argv, const struct option *opts,
		int config_val, const char **file, char *err, size_t errlen);

/* "FILE:LINE" of the argument at address arg (argv[i] itself or the
 * optarg getopt took from it), or NULL when it came from the command line. */
const char *config_where(const struct config *c, const char *arg, char *buf,
			 size_t len);

void config_free(struct config *c);

#endif
