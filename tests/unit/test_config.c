// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_config.c - the config file parser (user/config.c): every mistake a
 * person can make is refused with FILE:LINE, the cause and a fix; a valid
 * file turns into arguments placed before the command line's, so that one
 * getopt pass gives the command line the last word.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

enum { O_LAN = 256, O_PRIMARY, O_NAT, O_SRATE, O_CONG, O_CONFIG, O_ACCESS };

static const struct option cpe[] = {
    {"lan", required_argument, 0, O_LAN},
    {"primary", required_argument, 0, O_PRIMARY},
    {"nat", no_argument, 0, O_NAT},
    {"secondary-rate", required_argument, 0, O_SRATE},
    {"congestion", required_argument, 0, O_CONG},
    {"config", required_argument, 0, O_CONFIG},
    {"verbose", no_argument, 0, 'v'},
    {"help", no_argument, 0, 'h'},
    {0},
};
static const struct option hag[] = {
    {"access", required_argument, 0, O_ACCESS},
    {"config", required_argument, 0, O_CONFIG},
    {0},
};

static struct config cfg;
static char err[1024];

static int parse_args(const char *text, int argc, char **argv)
{
	return config_parse("t.conf", text, strlen(text), cpe, hag, "hag", argc,
			    argv, &cfg, err, sizeof(err));
}

static int parse(const char *text)
{
	static char *argv[] = {"cpe", NULL};

	return parse_args(text, 1, argv);
}

/* The values getopt ends with: the last occurrence of each option wins. */
struct seen {
	const char *lan, *primary, *srate, *cong;
	int nat, verbose;
};

static struct seen run_getopt(void)
{
	struct seen s = {0};
	int c;

	optind = 0;
	while ((c = getopt_long(cfg.argc, cfg.argv, "vh", cpe, NULL)) != -1) {
		switch (c) {
		case O_LAN:
			s.lan = optarg;
			break;
		case O_PRIMARY:
			s.primary = optarg;
			break;
		case O_SRATE:
			s.srate = optarg;
			break;
		case O_CONG:
			s.cong = optarg;
			break;
		case O_NAT:
			s.nat++;
			break;
		case 'v':
			s.verbose++;
			break;
		default:
			cr_assert_fail("getopt returned %d", c);
		}
	}
	cr_assert_eq(optind, cfg.argc);
	return s;
}

static void expect_error(const char *text, const char *want)
{
	int rc = parse(text);

	cr_assert_eq(rc, -EINVAL, "accepted: %s", text);
	cr_assert(strstr(err, want), "error '%s' lacks '%s'", err, want);
	cr_assert_null(cfg.argv, "nothing left allocated after an error");
}

Test(config, key_value_forms_comments_blanks)
{
	cr_assert_eq(parse("# a comment\n\n   \t\n"
			   "lan eth1\n"
			   "primary = eth2   # trailing comment\n"
			   "secondary-rate=10\n"
			   "\tnat\r\n"
			   "verbose\n"
			   "congestion \"\"\n"),
		     0, "%s", err);
	struct seen s = run_getopt();
	cr_assert_str_eq(s.lan, "eth1");
	cr_assert_str_eq(s.primary, "eth2");
	cr_assert_str_eq(s.srate, "10");
	cr_assert_str_eq(s.cong, "", "quotes give an empty value");
	cr_assert_eq(s.nat, 1);
	cr_assert_eq(s.verbose, 1);
	config_free(&cfg);
}

Test(config, a_file_without_newline_at_the_end)
{
	cr_assert_eq(parse("lan eth1"), 0, "%s", err);
	cr_assert_str_eq(run_getopt().lan, "eth1");
	config_free(&cfg);
}

Test(config, hash_inside_a_word_or_quotes_is_not_a_comment)
{
	cr_assert_eq(parse("lan a#b\nprimary \"x # y\"\n"), 0, "%s", err);
	struct seen s = run_getopt();
	cr_assert_str_eq(s.lan, "a#b");
	cr_assert_str_eq(s.primary, "x # y");
	config_free(&cfg);
}

Test(config, command_line_overrides_the_file)
{
	char *argv[] = {"cpe", "--lan", "cmdline0", "--secondary-rate=5", NULL};

	cr_assert_eq(parse_args("lan file0\nprimary file1\nsecondary-rate 10\n"
				"lan file2\n",
				4, argv),
		     0, "%s", err);
	struct seen s = run_getopt();
	cr_assert_str_eq(s.lan, "cmdline0");
	cr_assert_str_eq(s.primary, "file1", "kept from the file");
	cr_assert_str_eq(s.srate, "5");
	config_free(&cfg);
}

Test(config, last_line_wins_inside_the_file)
{
	cr_assert_eq(parse("lan a\nlan b\n"), 0, "%s", err);
	cr_assert_str_eq(run_getopt().lan, "b");
	config_free(&cfg);
}

Test(config, file_arguments_come_first_and_know_their_line)
{
	char *argv[] = {"cpe", "--nat", NULL};
	char where[64];

	cr_assert_eq(
	    parse_args("\n# x\nlan eth1\n\nsecondary-rate 10\n", 2, argv), 0,
	    "%s", err);
	cr_assert_eq(cfg.argc, 6);
	cr_assert_eq(cfg.nfile, 4);
	cr_assert_str_eq(cfg.argv[0], "cpe");
	cr_assert_str_eq(cfg.argv[1], "--lan");
	cr_assert_str_eq(cfg.argv[2], "eth1");
	cr_assert_str_eq(cfg.argv[3], "--secondary-rate");
	cr_assert_str_eq(cfg.argv[5], "--nat");
	cr_assert_null(cfg.argv[6]);
	cr_assert_str_eq(config_where(&cfg, cfg.argv[2], where, sizeof(where)),
			 "t.conf:3");
	cr_assert_str_eq(
	    config_where(&cfg, cfg.argv[4] + 1, where, sizeof(where)),
	    "t.conf:5", "a pointer inside the value too");
	cr_assert_null(config_where(&cfg, argv[1], where, sizeof(where)),
		       "the command line is not blamed on the file");
	cr_assert_null(config_where(&cfg, NULL, where, sizeof(where)));
	config_free(&cfg);
}

Test(config, unknown_key_suggests_the_closest)
{
	expect_error("lan eth1\nsecondary-rat 10\n",
		     "t.conf:2: unknown key 'secondary-rat'; did you mean "
		     "'secondary-rate'?");
	expect_error("primery eth0\n", "t.conf:1: unknown key 'primery'; did "
				       "you mean 'primary'?");
	expect_error("secondary_rate 3\n", "did you mean 'secondary-rate'?");
	expect_error(
	    "frobnicate 1\n",
	    "t.conf:1: unknown key 'frobnicate'; the keys are the long "
	    "options");
}

Test(config, key_of_the_other_role)
{
	expect_error("# hag\naccess eth0\n",
		     "t.conf:2: unknown key 'access': it is a hag option");
}

Test(config, flag_with_a_value)
{
	expect_error("nat yes\n", "t.conf:1: 'nat' is a flag and takes no "
				  "value; write just 'nat'");
	expect_error("nat = \"\"\n", "'nat' is a flag");
}

Test(config, option_without_its_value)
{
	expect_error(
	    "lan eth0\nprimary\n",
	    "t.conf:2: 'primary' needs a value; write 'primary VALUE'");
	expect_error("primary =\n", "t.conf:1: 'primary' needs a value");
}

Test(config, dashes_config_help)
{
	expect_error("--lan eth0\n", "t.conf:1: '--lan': write the key without "
				     "dashes, e.g. 'lan eth0'");
	expect_error("config other.conf\n", "t.conf:1: 'config' in a config "
					    "file");
	expect_error("help\n", "t.conf:1: 'help' is not a setting");
}

Test(config, quotes)
{
	expect_error("lan \"eth0\n", "t.conf:1: unbalanced quotes");
	expect_error("lan a\"b\n", "t.conf:1: quotes inside a value");
}

Test(config, over_long_line_and_nul)
{
	size_t n = CONFIG_MAX_LINE + 20;
	char *t = malloc(n + 16);

	strcpy(t, "lan eth0\nlan ");
	memset(t + 13, 'x', n);
	strcpy(t + 13 + n, "\n");
	expect_error(t, "t.conf:2: line longer than 4096 bytes");
	free(t);

	cr_assert_eq(config_parse("t.conf", "lan a\0b\n", 8, cpe, hag, "hag", 1,
				  (char *[]){"cpe", NULL}, &cfg, err,
				  sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "t.conf:1: NUL byte"), "%s", err);
}

Test(config, the_line_limit_itself_is_fine)
{
	char *t = malloc(CONFIG_MAX_LINE + 2);

	memcpy(t, "lan ", 4);
	memset(t + 4, 'y', CONFIG_MAX_LINE - 4);
	strcpy(t + CONFIG_MAX_LINE, "\n");
	cr_assert_eq(parse(t), 0, "%s", err);
	config_free(&cfg);
	free(t);
}

static char tmpdir[] = "/tmp/hbcfg.XXXXXX";

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void mk(void)
{
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

Test(config_file, load_unreadable_world_writable_good, .init = mk, .fini = rm)
{
	char path[256], *argv[] = {"cpe", NULL};

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	cr_assert_eq(
	    config_load(path, cpe, hag, "hag", 1, argv, &cfg, err, sizeof(err)),
	    -ENOENT);
	cr_assert(strstr(err, "missing.conf: cannot read the config file: No "
			      "such file"),
		  "%s", err);

	write_file("ww.conf", "lan eth0\n", 0666);
	snprintf(path, sizeof(path), "%s/ww.conf", tmpdir);
	cr_assert_eq(
	    config_load(path, cpe, hag, "hag", 1, argv, &cfg, err, sizeof(err)),
	    -EPERM);
	cr_assert(strstr(err, "world-writable; fix it with chmod o-w"), "%s",
		  err);

	cr_assert_eq(config_load(tmpdir, cpe, hag, "hag", 1, argv, &cfg, err,
				 sizeof(err)),
		     -EINVAL, "a directory");
	cr_assert(strstr(err, "not a regular file"), "%s", err);

	write_file("ok.conf", "lan eth0\nnat\n", 0600);
	snprintf(path, sizeof(path), "%s/ok.conf", tmpdir);
	cr_assert_eq(
	    config_load(path, cpe, hag, "hag", 1, argv, &cfg, err, sizeof(err)),
	    0, "%s", err);
	struct seen s = run_getopt();
	cr_assert_str_eq(s.lan, "eth0");
	cr_assert_eq(s.nat, 1);
	config_free(&cfg);

	write_file("bad.conf", "lan eth0\n\nnat 1\n", 0600);
	snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
	cr_assert_eq(
	    config_load(path, cpe, hag, "hag", 1, argv, &cfg, err, sizeof(err)),
	    -EINVAL);
	cr_assert(strstr(err, "/bad.conf:3: 'nat' is a flag"), "%s", err);
}

Test(config, find_on_the_command_line)
{
	const char *file;
	char *a1[] = {"cpe", "--lan", "x", "--config", "f.conf", NULL};
	char *a2[] = {"cpe", "--config=g.conf", "--nat", NULL};
	char *a3[] = {"cpe", "--conf", "h.conf", NULL};
	char *a4[] = {"cpe", "--nat", "--bogus", NULL};
	char *a5[] = {"cpe", "--config", "a", "--config", "b", NULL};

	cr_assert_eq(config_find(5, a1, cpe, O_CONFIG, &file, err, sizeof(err)),
		     1);
	cr_assert_str_eq(file, "f.conf");
	cr_assert_str_eq(a1[3], "--config", "argv itself not permuted");
	cr_assert_eq(config_find(3, a2, cpe, O_CONFIG, &file, err, sizeof(err)),
		     1);
	cr_assert_str_eq(file, "g.conf");
	cr_assert_eq(config_find(3, a3, cpe, O_CONFIG, &file, err, sizeof(err)),
		     1, "an abbreviation getopt accepts is found too");
	cr_assert_str_eq(file, "h.conf");
	cr_assert_eq(config_find(3, a4, cpe, O_CONFIG, &file, err, sizeof(err)),
		     0);
	cr_assert_null(file);
	cr_assert_eq(config_find(5, a5, cpe, O_CONFIG, &file, err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "--config given twice"), "%s", err);
}
