// SPDX-License-Identifier: GPL-2.0-only
/*
 * config.c - `--config FILE`. The file says what the command line can say,
 * one option a line:
 *
 *     # comment
 *     primary eth1            (or: primary = eth1)
 *     nat                     (a flag: no value)
 *     congestion ""           (quotes for an empty value, or one with '#')
 *
 * Each line becomes "--key" [value] in an argument vector placed before the
 * command line's, so one getopt pass applies both and the command line wins
 * (the last occurrence of an option wins). The keys are checked here, with
 * the role's option table, before anything runs; the values are checked by
 * the option parsers, which ask config_where() for the file:line to blame.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static const struct option *find_opt(const struct option *opts, const char *key)
{
	for (; opts && opts->name; opts++)
		if (!strcmp(opts->name, key))
			return opts;
	return NULL;
}

/* Edit distance, for "did you mean". Keys are short. */
static int distance(const char *a, const char *b)
{
	int la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la > 62 || lb > 62)
		return 99;
	for (int j = 0; j <= lb; j++)
		prev[j] = j;
	for (int i = 1; i <= la; i++) {
		cur[0] = i;
		for (int j = 1; j <= lb; j++) {
			int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			int del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? sub : del;
			if (ins < cur[j])
				cur[j] = ins;
		}
		memcpy(prev, cur, sizeof(int) * (lb + 1));
	}
	return prev[lb];
}

/* The closest key of the table, or NULL when none is close: a typo, a
 * missing or extra dash, or a prefix ("secondary-r"). */
static const char *closest(const struct option *opts, const char *key)
{
	const char *best = NULL;
	int bestd = 99, klen = strlen(key);

	for (; opts->name; opts++) {
		int d;

		if (!strcmp(opts->name, "help") ||
		    !strcmp(opts->name, "config"))
			continue;
		d = distance(key, opts->name);
		if (klen >= 3 && !strncmp(opts->name, key, klen))
			d = 1;
		if (d < bestd) {
			bestd = d;
			best = opts->name;
		}
	}
	return bestd <= (klen < 6 ? 1 : klen / 3 + 1) ? best : NULL;
}

static int push(struct config *c, int *cap, char *arg, int line)
{
	if (c->argc + 2 > *cap) {
		int n = *cap ? *cap * 2 : 32;
		char **a = realloc(c->argv, n * sizeof(*a));
		int *l;

		if (!a)
			return -ENOMEM;
		c->argv = a;
		l = realloc(c->line, n * sizeof(*l));
		if (!l)
			return -ENOMEM;
		c->line = l;
		*cap = n;
	}
	c->argv[c->argc] = arg;
	c->line[c->argc] = line;
	c->argc++;
	c->argv[c->argc] = NULL;
	return 0;
}

#define FAIL(...)                                                              \
	do {                                                                   \
		int n_ = snprintf(err, errlen, "%s:%d: ", name, lineno);       \
		if (n_ >= 0 && (size_t)n_ < errlen)                            \
			snprintf(err + n_, errlen - n_, __VA_ARGS__);          \
		rc = -EINVAL;                                                  \
		goto out;                                                      \
	} while (0)

/* One line (NUL-terminated, no newline) into key and value, in place:
 * comments and surrounding blanks stripped, a quoted value unquoted.
 * Returns 0 (*key NULL for a blank line) or a static cause. */
static const char *split_line(char *s, char **key, char **val)
{
	char *p, *end, q = 0;

	*key = *val = NULL;
	/* '#' starts a comment at the start of a line or after a blank, and
	 * never inside quotes. */
	for (p = s; *p; p++) {
		if (q) {
			if (*p == q)
				q = 0;
		} else if (*p == '"' || *p == '\'') {
			q = *p;
		} else if (*p == '#' &&
			   (p == s || *(p - 1) == ' ' || *(p - 1) == '\t')) {
			*p = '\0';
			break;
		}
	}
	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	if (!*s)
		return NULL;
	*key = s;
	while (*s && *s != ' ' && *s != '\t' && *s != '=')
		s++;
	if (*s) {
		bool eq = *s == '=';

		*s++ = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (!eq && *s == '=') {
			s++;
			while (*s == ' ' || *s == '\t')
				s++;
		}
	}
	*val = s; /* "" when there is none */
	end = s + strlen(s);
	if (end > s && (*s == '"' || *s == '\'')) {
		if (end - s < 2 || end[-1] != *s ||
		    memchr(s + 1, *s, end - s - 2))
			return "unbalanced quotes in the value";
		end[-1] = '\0';
		*val = s + 1;
	} else if (strchr(s, '"') || strchr(s, '\'')) {
		return "quotes inside a value; quote the whole value";
	}
	return NULL;
}

int config_parse(const char *name, const char *text, size_t len,
		 const struct option *opts, const struct option *other,
		 const char *other_role, int argc, char **argv,
		 struct config *c, char *err, size_t errlen)
{
	const char *p = text, *stop = text + len;
	int cap = 0, lineno = 0, rc = 0;
	bool file_done = false;
	char *buf = NULL;

	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	c->file = strdup(name);
	if (!c->file || push(c, &cap, argv[0], 0))
		return -ENOMEM;
	buf = malloc(CONFIG_MAX_LINE + 1);
	if (!buf)
		return -ENOMEM;
	while (p < stop) {
		const char *nl = memchr(p, '\n', stop - p);
		size_t n = (nl ? nl : stop) - p;
		const struct option *o;
		const char *why;
		char *key, *val;
		bool quoted;

		lineno++;
		if (n > CONFIG_MAX_LINE)
			FAIL("line longer than %d bytes; shorten it",
			     CONFIG_MAX_LINE);
		if (memchr(p, '\0', n))
			FAIL("NUL byte in the line; is this a text file?");
		memcpy(buf, p, n);
		buf[n] = '\0';
		p = nl ? nl + 1 : stop;
		why = split_line(buf, &key, &val);
		if (why)
			FAIL("%s; write key \"value\"", why);
		if (!key)
			continue;
		quoted = val > buf && (val[-1] == '"' || val[-1] == '\'');
		if (key[0] == '-') {
			const char *k = key + strspn(key, "-");

			FAIL(
			    "'%s': write the key without dashes, e.g. '%s%s%s'",
			    key, k, *val ? " " : "", val);
		}
		if (!strcmp(key, "config"))
			FAIL("'config' in a config file: files do not include "
			     "others; merge the two files");
		if (!strcmp(key, "help"))
			FAIL("'help' is not a setting; remove the line");
		o = find_opt(opts, key);
		if (!o) {
			const char *near = closest(opts, key);

			if (find_opt(other, key))
				FAIL("unknown key '%s': it is a %s option, not "
				     "one of this role; remove the line or use "
				     "the right file",
				     key, other_role);
			if (near)
				FAIL("unknown key '%s'; did you mean '%s'?",
				     key, near);
			FAIL("unknown key '%s'; the keys are the long options "
			     "of --help without their dashes",
			     key);
		}
		if (o->has_arg == no_argument && (*val || quoted))
			FAIL("'%s' is a flag and takes no value; write just "
			     "'%s' (remove the line to leave it off)",
			     key, key);
		if (o->has_arg == required_argument && !*val && !quoted)
			FAIL("'%s' needs a value; write '%s VALUE' (see "
			     "--%s in --help)",
			     key, key, key);
		{
			size_t kl = strlen(key);
			char *opt = malloc(kl + 3 +
					   (o->has_arg == optional_argument
						? strlen(val) + 1
						: 0));

			if (!opt) {
				rc = -ENOMEM;
				goto out;
			}
			strcpy(opt, "--");
			strcpy(opt + 2, key);
			if (o->has_arg == optional_argument &&
			    (*val || quoted)) {
				strcat(opt, "=");
				strcat(opt, val);
			}
			rc = push(c, &cap, opt, lineno);
			if (!rc && o->has_arg == required_argument) {
				char *v = strdup(val);

				rc = v ? push(c, &cap, v, lineno) : -ENOMEM;
				if (rc)
					free(v);
			}
			if (rc) {
				if (c->argv[c->argc - 1] != opt)
					free(opt);
				goto out;
			}
		}
	}
	c->nfile = c->argc - 1;
	file_done = true;
	for (int i = 1; i < argc; i++) {
		rc = push(c, &cap, argv[i], 0);
		if (rc)
			goto out;
	}
out:
	free(buf);
	if (rc) {
		if (rc == -ENOMEM && !err[0])
			snprintf(err, errlen, "%s: out of memory", name);
		if (!file_done)
			c->nfile = c->argc - 1;
		config_free(c);
	}
	return rc;
}

int config_load(const char *path, const struct option *opts,
		const struct option *other, const char *other_role, int argc,
		char **argv, struct config *c, char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd, rc;

	memset(c, 0, sizeof(*c));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen,
			 "%s: cannot read the config file: %s; check the path "
			 "(--config) and its permissions",
			 path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		snprintf(err, errlen,
			 "%s: not a regular file; give the path "
			 "of a config file",
			 path);
		goto out;
	}
	/* Anyone could otherwise decide what the daemon runs with. */
	if (st.st_mode & S_IWOTH) {
		rc = -EPERM;
		snprintf(err, errlen,
			 "%s: refused: the file is world-writable; fix it with "
			 "chmod o-w %s",
			 path, path);
		goto out;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		rc = -EFBIG;
		snprintf(err, errlen,
			 "%s: larger than %d bytes; is this the "
			 "config file?",
			 path, CONFIG_MAX_BYTES);
		goto out;
	}
	text = malloc(st.st_size + 1);
	if (!text) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, text + len, st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen,
				 "%s: cannot read the config file: %s", path,
				 strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += n;
	}
	rc = config_parse(path, text, len, opts, other, other_role, argc, argv,
			  c, err, errlen);
out:
	free(text);
	close(fd);
	return rc;
}

int config_find(int argc, char **argv, const struct option *opts,
		int config_val, const char **file, char *err, size_t errlen)
{
	char **copy = calloc(argc + 1, sizeof(*copy));
	int c, found = 0, saved = opterr;

	if (!copy)
		return -ENOMEM;
	/* getopt permutes: work on a copy of the vector, not on argv. */
	memcpy(copy, argv, argc * sizeof(*copy));
	*file = NULL;
	opterr = 0;
	optind = 0; /* full re-initialisation of glibc's getopt */
	while ((c = getopt_long(argc, copy, "", opts, NULL)) != -1) {
		if (c != config_val)
			continue;
		if (found++) {
			snprintf(err, errlen,
				 "--config given twice (%s and %s); give one "
				 "file",
				 *file, optarg);
			found = -EINVAL;
			break;
		}
		*file = optarg;
	}
	opterr = saved;
	optind = 0;
	free(copy);
	return found < 0 ? found : found > 0;
}

const char *config_where(const struct config *c, const char *arg, char *buf,
			 size_t len)
{
	if (!c || !c->file || !arg)
		return NULL;
	for (int i = 1; i <= c->nfile && i < c->argc; i++) {
		const char *a = c->argv[i];

		if (arg >= a && arg <= a + strlen(a)) {
			snprintf(buf, len, "%s:%d", c->file, c->line[i]);
			return buf;
		}
	}
	return NULL;
}

void config_free(struct config *c)
{
	for (int i = 1; i <= c->nfile && i < c->argc; i++)
		free(c->argv[i]);
	free(c->argv);
	free(c->line);
	free(c->file);
	memset(c, 0, sizeof(*c));
}
