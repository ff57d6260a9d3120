// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - the command line: `hybond cpe|hag|stats|policy|version|help`.
 * Parses, dispatches to the daemon (daemon.c) or talks to a running one over
 * its control socket (ctl.c). Only main() decides the exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "daemon.h"
#include "hybond_abi.h"
#include "log.h"
#include "policy.h"
#include "sbuf.h"

#ifndef HYBOND_VERSION
#define HYBOND_VERSION "0.1.0"
#endif

#define DEFAULT_MARK 0x4859
#define DEFAULT_TABLE 18521
#define DEFAULT_PREF 100
#define DEFAULT_JOIN_PORT 9300
/* CPE: the connections that end sooner never touch the secondary (README,
 * "Joining later"); a short request through both gateways on the test bed
 * takes about 1.5 ms. */
#define DEFAULT_JOIN_AFTER_MS 200
/* Shorter than the CPE's --join-after: the address is known when it joins. */
#define DEFAULT_ANNOUNCE_AFTER_MS 100
#define DEFAULT_PIN_ROOT "/sys/fs/bpf/hybond"

static void usage_daemon(FILE *f, int role)
{
	if (role == HYBOND_ROLE_CPE)
		fprintf(f,
			"usage: hybond cpe --lan IFACE --primary IFACE --secondary IFACE\n"
			"                  [--nat] [--name NAME] [options]\n"
			"\n"
			"Run the home gateway side: intercept the LAN's TCP connections and\n"
			"carry each over MPTCP, first subflow from H@ over the primary.\n"
			"\n"
			"  --lan IFACE        LAN interface (hosts' SYNs are steered here)\n"
			"  --primary IFACE    primary access (DSL): first subflow, plain routing\n"
			"  --secondary IFACE  secondary access (LTE): joins after ADD_ADDR\n"
			"  --nat              IPv4 upstream from the primary address, not H@\n"
			"  --primary-rate R   the primary's capacity in Mbit/s, R or DOWN/UP;\n"
			"                     with it the secondary carries traffic only\n"
			"                     when the primary is full (primary-first)\n"
			"  --bonding MODE     overflow (primary-first; the default when the\n"
			"                     rate is known) or always (kernel scheduler)\n"
			"  --secondary-rate R never use more than R Mbit/s of the secondary\n"
			"  --hag-secondary ADDR:PORT  join the HAG's secondary address\n"
			"                     without waiting for its ADD_ADDR (IPv6 as\n"
			"                     [ADDR]:PORT; repeat for more; runs hybond's own\n"
			"                     path manager: net.mptcp.pm_type=1)\n"
			"  --join-port PORT   listen on the secondary address(es) at PORT for\n"
			"                     the subflows a HAG opens (--initiate-subflows)\n"
			"  --join-after MS    give a connection its secondary subflows only\n"
			"                     once it has lived MS ms (those waiting when\n"
			"                     the primary-first switch turns the secondary\n"
			"                     on join then): short connections stay off\n"
			"                     the secondary and cost less (default 200;\n"
			"                     0: at once, by the kernel's path manager;\n"
			"                     otherwise hybond's own: pm_type=1)\n"
			"  --upstream tcp     relay over plain TCP instead of MPTCP: no\n"
			"                     bonding, the HAG not involved; to tell a\n"
			"                     relay problem from an MPTCP one (both legs\n"
			"                     TCP: can be spliced in the kernel, --splice)\n");
	else
		fprintf(f,
			"usage: hybond hag --access IFACE --core IFACE --secondary IFACE\n"
			"                  [--name NAME] [options]\n"
			"\n"
			"Run the gateway side: accept MPTCP connections from CPEs transparently\n"
			"and open plain TCP connections from H@ to the servers.\n"
			"\n"
			"  --access IFACE     interface towards the CPEs' primary network\n"
			"  --core IFACE       interface towards the servers (Internet)\n"
			"  --secondary IFACE  interface on the secondary network; its\n"
			"                     addresses are announced with ADD_ADDR\n"
			"  --join-port PORT   port announced with the secondary address (%d)\n"
			"  --announce-after MS  announce the secondary's addresses only to\n"
			"                     connections that lived MS milliseconds, by\n"
			"                     hybond's path manager (%d; 0: at once, by\n"
			"                     the kernel's)\n"
			"  --subscribers P,.. subscriber prefixes: MP_CAPABLE SYNs from elsewhere\n"
			"                     are dropped and counted (BCP 38)\n"
			"  --max-conns-per-subscriber N  connections per subscriber prefix\n"
			"  --no-guard         no XDP guard on --secondary (by default it\n"
			"                     admits only MP_JOINs to the announced port,\n"
			"                     existing subflows and path-MTU/ND ICMP)\n"
			"  --keep-timestamps  keep TCP timestamps on first subflows even\n"
			"                     when an IPv6 ADD_ADDR with a port then cannot\n"
			"                     be sent (see README)\n"
			"  --initiate-subflows  open the second subflow from here to the\n"
			"                     CPE's secondary address (draft Figure 6) for\n"
			"                     the subscribers that --cpe-secondary maps;\n"
			"                     the others get the ADD_ADDR (hybond's own path\n"
			"                     manager: net.mptcp.pm_type=1)\n"
			"  --cpe-secondary PREFIX/LEN=ADDR:PORT  subscribers in PREFIX are\n"
			"                     reached on ADDR:PORT (their CPE's --join-port);\n"
			"                     repeat for more\n",
			DEFAULT_JOIN_PORT, DEFAULT_ANNOUNCE_AFTER_MS);
	fprintf(f,
		"\n"
		"common options:\n"
		"  --config FILE      read options from FILE, one 'key value' a line\n"
		"                     (key: a long option without '--'); the\n"
		"                     command line overrides it\n"
		"  --max-subflows N   the kernel path manager's limits: extra subflows\n"
		"                     per connection (CPE: also ADD_ADDRs acted on);\n"
		"                     0-8, set exactly, restored on exit (default:\n"
		"                     raised to 2 on the HAG, 1 and 2 on the CPE)\n"
		"  --takeover         replace the running instance of this --name in\n"
		"                     this network namespace without dropping a\n"
		"                     connection (upgrades, new options); it serves\n"
		"                     its established connections to their end\n"
		"  --name NAME        instance name (default: the role); pins go to\n"
		"                     PIN-ROOT/NAME\n"
		"  --policy FILE      what to bond and what to route untouched (see\n"
		"                     policy/README.md); default: bond all TCP\n"
		"  --workers N        relay threads (default: one per CPU)\n"
		"  --buffer-size N    relay buffer per direction in bytes (262144)\n"
		"  --splice           splice connections in the kernel (sockmap) where\n"
		"                     it takes both sockets: today TCP ones only\n"
		"                     (--upstream tcp); no back-pressure: a slow\n"
		"                     host lets a fast server fill the gateway's\n"
		"                     memory (see README)\n"
		"  --accept-first     answer a host's SYN at once and connect upstream\n"
		"                     afterwards (default: the draft's order, the host\n"
		"                     is answered once the server answered)\n"
		"  --sched POLICY     the daemon's threads: batch (SCHED_BATCH, the\n"
		"                     default: a woken thread waits for the\n"
		"                     running one's turn instead of preempting it)\n"
		"                     or normal (SCHED_OTHER)\n"
		"  --max-conns N      proxied connections at most (default: what the\n"
		"                     file descriptor limit allows); past it a new\n"
		"                     connection gets a reset\n"
		"  --idle-timeout S   close a connection idle that long (7200; 0 never)\n"
		"  --half-open-timeout S  ...closed one way and idle (600; 0 never)\n"
		"  --congestion NAME  congestion control of the MPTCP subflows (bbr;\n"
		"                     '' keeps the kernel's default)\n"
		"  --stall-timeout S  reset both legs of a connection that could\n"
		"                     not move its bytes, or lost every subflow, for\n"
		"                     S seconds (60; 0: never)\n"
		"  --fwmark MARK      mark for local delivery (0x%x)\n"
		"  --table N          routing table for local delivery (%d)\n"
		"  --rule-pref N      preference of the fwmark rules (%d)\n"
		"  --pin-root DIR     bpffs directory for pins (%s)\n"
		"  --no-pin           do not pin programs and maps\n"
		"  -v, --verbose      debug logging (twice: libbpf too)\n"
		"  -h, --help         this help\n"
		"\n"
		"Runs in the foreground; logs on stderr; logs 'ready' once steering is\n"
		"attached and the listeners accept. SIGTERM or SIGINT detaches and\n"
		"removes everything it installed; SIGHUP re-reads --policy. Under\n"
		"systemd it notifies READY=1 and the watchdog (see hybond(8)).\n",
		DEFAULT_MARK, DEFAULT_TABLE, DEFAULT_PREF, DEFAULT_PIN_ROOT);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hybond COMMAND [options]\n"
		"\n"
		"Link bonding with transparent Multipath TCP (draft-peirens-mptcp-\n"
		"transparent): a CPE and a gateway proxy TCP over MPTCP without NAT.\n"
		"\n"
		"commands:\n"
		"  cpe                 run the home gateway (HCPE) role\n"
		"  hag                 run the hybrid access gateway (HAG) role\n"
		"  stats [-j|--prometheus]  what the running instance counts\n"
		"  policy show [-j]    the policy in force in the running instance\n"
		"  policy apply FILE   replace it, atomically, without a restart\n"
		"  policy check [-j] FILE  validate a policy file and print it as\n"
		"                      it would be in force, nothing running needed\n"
		"  version             print the version\n"
		"  help                this help\n"
		"\n"
		"stats and policy reach the instance running in this network\n"
		"namespace; --name NAME picks one when several run.\n"
		"\n"
		"`hybond COMMAND --help` shows the options of a command.\n");
}

static bool valid_name(const char *n)
{
	return *n && !strchr(n, '/') && !strchr(n, '.') && strlen(n) <= 32;
}

static int parse_u32(const char *opt, const char *s, uint32_t max,
		     uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s || v > max) {
		fprintf(stderr,
			"hybond: %s: '%s' is not a number between 0 and %u\n",
			opt, s, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

/* "192.0.2.0/24,2001:db8:1::/48" into o->subs (host bits must be 0). */
static int parse_prefixes(const char *arg, struct daemon_opts *o)
{
	char buf[4096], *save = NULL, *tok;

	if (strlen(arg) >= sizeof(buf)) {
		fprintf(stderr, "hybond: --subscribers: list too long\n");
		return -EINVAL;
	}
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		struct hb_addr *a = &o->subs[o->nsubs];
		int err;

		if (o->nsubs >= HYBOND_MAX_SUBS) {
			fprintf(stderr, "hybond: --subscribers: more than %d "
					"prefixes\n", HYBOND_MAX_SUBS);
			return -E2BIG;
		}
		err = hb_prefix_parse(tok, a);
		if (err == -ERANGE) {
			fprintf(stderr,
				"hybond: --subscribers: bad prefix length in "
				"'%s' (0-%d)\n",
				tok, a->family == AF_INET ? 32 : 128);
			return -EINVAL;
		}
		if (err) {
			fprintf(stderr,
				"hybond: --subscribers: '%s' is not an IPv4 or "
				"IPv6 address; write PREFIX/LEN, e.g. "
				"192.0.2.0/24\n",
				tok);
			return -EINVAL;
		}
		o->nsubs++;
	}
	return 0;
}

/* "20" (both directions) or "50/10" (down/up), Mbit/s -> bit/s. */
static int parse_rates(const char *s, double *down, double *up)
{
	char *end;

	*down = strtod(s, &end);
	if (end == s || *down <= 0 || *down > 1e6)
		return -EINVAL;
	*up = *down;
	if (*end == '/') {
		const char *u = end + 1;

		*up = strtod(u, &end);
		if (end == u || *up <= 0 || *up > 1e6)
			return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	*down *= 1e6;
	*up *= 1e6;
	return 0;
}

/* The config file, and the argument the last error was about, so that
 * main() can say which file:line an offending value came from. */
static struct config cfg;
static const char *blame;

/* --config FILE: the file's options go before the command line's. */
static int load_config(int *argc, char ***argv, int role,
		       const struct option *cpe, const struct option *hag,
		       int config_val)
{
	const struct option *opts = role == HYBOND_ROLE_CPE ? cpe : hag;
	const char *file;
	char err[1024];
	int rc;

	rc = config_find(*argc, *argv, opts, config_val, &file, err,
			 sizeof(err));
	if (rc > 0)
		rc = config_load(file, opts, role == HYBOND_ROLE_CPE ? hag : cpe,
				 role == HYBOND_ROLE_CPE ? "hag" : "cpe", *argc,
				 *argv, &cfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "hybond: %s\n", err);
		return rc;
	}
	if (rc == 0 && cfg.argv) {
		*argc = cfg.argc;
		*argv = cfg.argv;
	}
	return 0;
}

static int need_iface(const char *opt, const char *name, int *ifindex)
{
	blame = name;
	if (!name) {
		fprintf(stderr, "hybond: %s IFACE is required (see --help)\n",
			opt);
		return -EINVAL;
	}
	*ifindex = if_nametoindex(name);
	if (!*ifindex) {
		fprintf(stderr,
			"hybond: %s %s: no such interface in this network "
			"namespace; check `ip link`\n",
			opt, name);
		return -ENODEV;
	}
	return 0;
}

static int parse_daemon(int argc, char **argv, int role,
			struct daemon_opts *o)
{
	enum {
		O_LAN = 256, O_PRIMARY, O_SECONDARY, O_ACCESS, O_CORE, O_NAT,
		O_NAME, O_WORKERS, O_BUF, O_MARK, O_TABLE, O_PREF, O_PIN,
		O_NOPIN, O_JOINPORT, O_POLICY, O_KEEPTS, O_PRATE, O_SRATE,
		O_BONDING, O_STALL, O_ACCEPTFIRST, O_CC, O_SUBS, O_MAXC, O_MAXSUB,
		O_IDLE, O_HALF, O_NOGUARD, O_HAGSEC, O_CPESEC, O_INITIATE,
		O_CONFIG, O_TAKEOVER, O_MAXSF, O_JOINAFTER, O_UPSTREAM,
		O_SPLICE, O_SCHED, O_ANNAFTER,
	};
	static const struct option cpe_opts[] = {
		{ "lan", required_argument, 0, O_LAN },
		{ "primary", required_argument, 0, O_PRIMARY },
		{ "secondary", required_argument, 0, O_SECONDARY },
		{ "nat", no_argument, 0, O_NAT },
		{ "primary-rate", required_argument, 0, O_PRATE },
		{ "secondary-rate", required_argument, 0, O_SRATE },
		{ "bonding", required_argument, 0, O_BONDING },
		{ "name", required_argument, 0, O_NAME },
		{ "policy", required_argument, 0, O_POLICY },
		{ "workers", required_argument, 0, O_WORKERS },
		{ "stall-timeout", required_argument, 0, O_STALL },
		{ "accept-first", no_argument, 0, O_ACCEPTFIRST },
		{ "congestion", required_argument, 0, O_CC },
		{ "max-conns", required_argument, 0, O_MAXC },
		{ "idle-timeout", required_argument, 0, O_IDLE },
		{ "half-open-timeout", required_argument, 0, O_HALF },
		{ "buffer-size", required_argument, 0, O_BUF },
		{ "fwmark", required_argument, 0, O_MARK },
		{ "table", required_argument, 0, O_TABLE },
		{ "rule-pref", required_argument, 0, O_PREF },
		{ "pin-root", required_argument, 0, O_PIN },
		{ "no-pin", no_argument, 0, O_NOPIN },
		{ "hag-secondary", required_argument, 0, O_HAGSEC },
		{ "join-port", required_argument, 0, O_JOINPORT },
		{ "join-after", required_argument, 0, O_JOINAFTER },
		{ "upstream", required_argument, 0, O_UPSTREAM },
		{ "config", required_argument, 0, O_CONFIG },
		{ "takeover", no_argument, 0, O_TAKEOVER },
		{ "max-subflows", required_argument, 0, O_MAXSF },
		{ "splice", no_argument, 0, O_SPLICE },
		{ "sched", required_argument, 0, O_SCHED },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	static const struct option hag_opts[] = {
		{ "access", required_argument, 0, O_ACCESS },
		{ "core", required_argument, 0, O_CORE },
		{ "secondary", required_argument, 0, O_SECONDARY },
		{ "join-port", required_argument, 0, O_JOINPORT },
		{ "announce-after", required_argument, 0, O_ANNAFTER },
		{ "subscribers", required_argument, 0, O_SUBS },
		{ "no-guard", no_argument, 0, O_NOGUARD },
		{ "max-conns-per-subscriber", required_argument, 0, O_MAXSUB },
		{ "keep-timestamps", no_argument, 0, O_KEEPTS },
		{ "initiate-subflows", no_argument, 0, O_INITIATE },
		{ "cpe-secondary", required_argument, 0, O_CPESEC },
		{ "name", required_argument, 0, O_NAME },
		{ "policy", required_argument, 0, O_POLICY },
		{ "workers", required_argument, 0, O_WORKERS },
		{ "stall-timeout", required_argument, 0, O_STALL },
		{ "accept-first", no_argument, 0, O_ACCEPTFIRST },
		{ "congestion", required_argument, 0, O_CC },
		{ "max-conns", required_argument, 0, O_MAXC },
		{ "idle-timeout", required_argument, 0, O_IDLE },
		{ "half-open-timeout", required_argument, 0, O_HALF },
		{ "buffer-size", required_argument, 0, O_BUF },
		{ "fwmark", required_argument, 0, O_MARK },
		{ "table", required_argument, 0, O_TABLE },
		{ "rule-pref", required_argument, 0, O_PREF },
		{ "pin-root", required_argument, 0, O_PIN },
		{ "no-pin", no_argument, 0, O_NOPIN },
		{ "config", required_argument, 0, O_CONFIG },
		{ "takeover", no_argument, 0, O_TAKEOVER },
		{ "max-subflows", required_argument, 0, O_MAXSF },
		{ "splice", no_argument, 0, O_SPLICE },
		{ "sched", required_argument, 0, O_SCHED },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	uint32_t v;
	int c, verbose = 0;
	bool join_after_given = false, announce_after_given = false;

	memset(o, 0, sizeof(*o));
	o->role = role;
	o->bonding = -1;
	o->max_subflows = -1;
	o->name = role == HYBOND_ROLE_CPE ? "cpe" : "hag";
	o->mark = DEFAULT_MARK;
	o->table = DEFAULT_TABLE;
	o->pref = DEFAULT_PREF;
	o->pin_root = DEFAULT_PIN_ROOT;
	o->join_port = DEFAULT_JOIN_PORT;
	o->bufsize = 256 * 1024;
	o->stall_timeout_s = 60;
	o->idle_timeout_s = 7200;
	o->half_open_timeout_s = 600;
	o->congestion = "bbr";

	if (load_config(&argc, &argv, role, cpe_opts, hag_opts, O_CONFIG))
		return -EINVAL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh",
				role == HYBOND_ROLE_CPE ? cpe_opts : hag_opts,
				NULL)) != -1) {
		blame = optarg;
		switch (c) {
		case O_CONFIG: /* read by load_config() */
			break;
		case O_LAN:
		case O_ACCESS:
			o->if_steer = optarg;
			break;
		case O_PRIMARY:
		case O_CORE:
			o->if_up = optarg;
			break;
		case O_SECONDARY:
			o->if_secondary = optarg;
			break;
		case O_NAT:
			o->nat = true;
			break;
		case O_NAME:
			if (!valid_name(optarg)) {
				fprintf(stderr,
					"hybond: --name '%s': use 1-32 "
					"characters without '/' or '.'\n",
					optarg);
				return -EINVAL;
			}
			o->name = optarg;
			break;
		case O_WORKERS:
			if (parse_u32("--workers", optarg, 256, &v) || !v) {
				fprintf(stderr, "hybond: --workers must be 1-256\n");
				return -EINVAL;
			}
			o->workers = v;
			break;
		case O_BUF:
			if (parse_u32("--buffer-size", optarg, 64 << 20, &v) ||
			    v < 4096) {
				fprintf(stderr,
					"hybond: --buffer-size must be 4096 to "
					"67108864 bytes\n");
				return -EINVAL;
			}
			o->bufsize = v;
			break;
		case O_MARK:
			if (parse_u32("--fwmark", optarg, UINT32_MAX, &v) || !v) {
				fprintf(stderr, "hybond: --fwmark must not be 0\n");
				return -EINVAL;
			}
			o->mark = v;
			break;
		case O_TABLE:
			if (parse_u32("--table", optarg, UINT32_MAX, &v))
				return -EINVAL;
			if (v == 0 || v == 253 || v == 254 || v == 255) {
				fprintf(stderr,
					"hybond: --table %u is reserved "
					"(default/main/local); pick another\n",
					v);
				return -EINVAL;
			}
			o->table = v;
			break;
		case O_PREF:
			if (parse_u32("--rule-pref", optarg, 32765, &v))
				return -EINVAL;
			o->pref = v;
			break;
		case O_JOINPORT:
			if (parse_u32("--join-port", optarg, 65535, &v) || !v) {
				fprintf(stderr,
					"hybond: --join-port must be 1-65535\n");
				return -EINVAL;
			}
			o->join_port = v;
			o->cpe_listen = role == HYBOND_ROLE_CPE;
			break;
		case O_JOINAFTER:
			/* An hour: past that a connection is long-lived. */
			if (parse_u32("--join-after", optarg, 3600000, &v))
				return -EINVAL;
			o->join_after_ms = v;
			join_after_given = true;
			break;
		case O_ANNAFTER:
			/* An hour, as --join-after; 0: at once, by the
			 * kernel's path manager. */
			if (parse_u32("--announce-after", optarg, 3600000, &v))
				return -EINVAL;
			o->announce_after_ms = v;
			announce_after_given = true;
			break;
		case O_HAGSEC:
		case O_CPESEC: {
			const char *opt = c == O_HAGSEC ? "--hag-secondary" :
							  "--cpe-secondary";
			char why[160];

			if (o->npm_targets >= UPM_MAX_TARGETS) {
				fprintf(stderr,
					"hybond: %s: at most %d of them\n", opt,
					UPM_MAX_TARGETS);
				return -EINVAL;
			}
			if (upm_parse_target(optarg, c == O_CPESEC,
					     &o->pm_targets[o->npm_targets], why,
					     sizeof(why))) {
				fprintf(stderr, "hybond: %s '%s': %s\n", opt,
					optarg, why);
				return -EINVAL;
			}
			o->npm_targets++;
			break;
		}
		case O_INITIATE:
			o->initiate_subflows = true;
			break;
		case O_TAKEOVER:
			o->takeover = true;
			break;
		case O_MAXSF:
			/* The kernel's own maximum is 8 (MPTCP_PM_ADDR_MAX). */
			if (parse_u32("--max-subflows", optarg, 8, &v))
				return -EINVAL;
			o->max_subflows = (int)v;
			break;
		case O_PIN:
			o->pin_root = optarg;
			break;
		case O_POLICY:
			o->policy_file = optarg;
			break;
		case O_KEEPTS:
			o->keep_timestamps = true;
			break;
		case O_PRATE:
			if (parse_rates(optarg, &o->primary_down_bps,
					&o->primary_up_bps)) {
				fprintf(stderr,
					"hybond: --primary-rate '%s': expected "
					"MBIT or DOWN/UP in Mbit/s, e.g. 20 or "
					"50/10\n",
					optarg);
				return -EINVAL;
			}
			break;
		case O_SRATE: {
			double up;

			if (parse_rates(optarg, &o->secondary_cap_bps, &up) ||
			    up != o->secondary_cap_bps) {
				fprintf(stderr,
					"hybond: --secondary-rate '%s': expected "
					"one rate in Mbit/s, e.g. 10\n",
					optarg);
				return -EINVAL;
			}
			break;
		}
		case O_ACCEPTFIRST:
			o->accept_first = true;
			break;
		case O_UPSTREAM:
			if (strcmp(optarg, "mptcp") && strcmp(optarg, "tcp")) {
				fprintf(stderr,
					"hybond: --upstream '%s': expected mptcp "
					"(bonded, the default) or tcp (plain "
					"TCP, no bonding)\n",
					optarg);
				return -EINVAL;
			}
			o->tcp_upstream = !strcmp(optarg, "tcp");
			break;
		case O_SPLICE:
			o->splice = true;
			break;
		case O_SCHED:
			if (strcmp(optarg, "batch") && strcmp(optarg, "normal")) {
				fprintf(stderr,
					"hybond: --sched '%s': expected batch "
					"(the default) or normal\n",
					optarg);
				return -EINVAL;
			}
			o->sched_normal = !strcmp(optarg, "normal");
			break;
		case O_NOGUARD:
			o->no_guard = true;
			break;
		case O_SUBS:
			if (parse_prefixes(optarg, o))
				return -EINVAL;
			break;
		case O_MAXC:
			if (parse_u32("--max-conns", optarg, 10000000, &v))
				return -EINVAL;
			o->max_conns = v;
			break;
		case O_MAXSUB:
			if (parse_u32("--max-conns-per-subscriber", optarg,
				      10000000, &v))
				return -EINVAL;
			o->max_per_subscriber = v;
			break;
		case O_IDLE:
			if (parse_u32("--idle-timeout", optarg, 604800, &v))
				return -EINVAL;
			o->idle_timeout_s = v;
			break;
		case O_HALF:
			if (parse_u32("--half-open-timeout", optarg, 604800, &v))
				return -EINVAL;
			o->half_open_timeout_s = v;
			break;
		case O_CC:
			if (strlen(optarg) > 15) {
				fprintf(stderr, "hybond: --congestion '%s': name "
						"too long\n", optarg);
				return -EINVAL;
			}
			o->congestion = optarg;
			break;
		case O_STALL:
			if (parse_u32("--stall-timeout", optarg, 86400, &v))
				return -EINVAL;
			o->stall_timeout_s = v;
			break;
		case O_BONDING:
			if (!strcmp(optarg, "overflow"))
				o->bonding = 0;
			else if (!strcmp(optarg, "always"))
				o->bonding = 1;
			else {
				fprintf(stderr,
					"hybond: --bonding '%s': use overflow "
					"or always\n",
					optarg);
				return -EINVAL;
			}
			break;
		case O_NOPIN:
			o->pin_root = NULL;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage_daemon(stdout, role);
			return 1;
		default:
			usage_daemon(stderr, role);
			return -EINVAL;
		}
	}
	blame = NULL;
	if (optind < argc) {
		fprintf(stderr, "hybond: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return -EINVAL;
	}
	if (verbose)
		log_set_level(LOG_DEBUG_);
	/* With --join-port the HAG opens the subflows (Figure 6), announced by
	 * the kernel's PM, which --join-after would replace. */
	if (role == HYBOND_ROLE_CPE && !join_after_given &&
	    o->max_subflows != 0 && !o->cpe_listen)
		o->join_after_ms = DEFAULT_JOIN_AFTER_MS;
	/* With --initiate-subflows the HAG announces only to subscribers its
	 * map leaves out, at once and in their connection's family: kept. */
	if (role == HYBOND_ROLE_HAG && !announce_after_given &&
	    o->max_subflows != 0 && !o->initiate_subflows)
		o->announce_after_ms = DEFAULT_ANNOUNCE_AFTER_MS;
	if (o->cpe_listen && o->join_after_ms) {
		fprintf(stderr,
			"hybond: --join-after %u with --join-port: with "
			"--join-port the HAG opens the subflows, announced by "
			"the kernel's path manager, which --join-after would "
			"replace; drop --join-after\n",
			o->join_after_ms);
		return -EINVAL;
	}

	if (need_iface(role == HYBOND_ROLE_CPE ? "--lan" : "--access",
		       o->if_steer, &o->ifx_steer) ||
	    need_iface(role == HYBOND_ROLE_CPE ? "--primary" : "--core",
		       o->if_up, &o->ifx_up) ||
	    need_iface("--secondary", o->if_secondary, &o->ifx_secondary))
		return -EINVAL;
	if (role == HYBOND_ROLE_HAG && o->initiate_subflows != !!o->npm_targets) {
		fprintf(stderr,
			"hybond: %s; e.g. --initiate-subflows --cpe-secondary "
			"192.0.2.0/24=198.51.100.2:9400\n",
			o->initiate_subflows ?
				"--initiate-subflows needs the map of where each "
				"subscriber's CPE is: --cpe-secondary" :
				"--cpe-secondary is used with --initiate-subflows");
		return -EINVAL;
	}
	if (o->ifx_steer == o->ifx_up || o->ifx_steer == o->ifx_secondary ||
	    o->ifx_up == o->ifx_secondary) {
		fprintf(stderr, "hybond: the three interfaces must differ\n");
		return -EINVAL;
	}
	return 0;
}

/* Print what the daemon said; JSON mode wraps errors as {"error": ...}. */
static int finish(int rc, struct sbuf *body, bool json)
{
	if (rc == 0) {
		if (body->p)
			fputs(body->p, stdout);
	} else if (json) {
		struct sbuf e = { 0 };
		size_t n = body->len;

		while (n && body->p[n - 1] == '\n')
			body->p[--n] = '\0';
		sbuf_printf(&e, "{\"error\":");
		sbuf_json_str(&e, body->p ? body->p : "unknown error");
		sbuf_printf(&e, "}\n");
		fputs(e.p, stdout);
		sbuf_free(&e);
	} else {
		fprintf(stderr, "hybond: %s%s", body->p ? body->p : "error",
			body->len && body->p[body->len - 1] == '\n' ? "" : "\n");
	}
	sbuf_free(body);
	return rc == 0 ? 0 : 1;
}

/* `policy check`'s answer for a good file: a line saying so, then the
 * policy as it would be in force (the rules in the order they are tried,
 * each with its line in the file), as `policy show` prints it; with -j,
 * that policy as JSON alone. */
static int check_report(const char *file, const struct policy *p, bool json,
			struct sbuf *out)
{
	if (!json)
		sbuf_printf(out, "%s: ok, %d rules, default %s; in force it "
				 "would read (rules in the order they are "
				 "tried):\n",
			    file, p->nrules,
			    p->default_action == HYBOND_ACT_BYPASS ? "bypass" :
								     "bond");
	if (policy_put(out, p, json)) {
		sbuf_printf(out, "%s: out of memory\n", file);
		return 1;
	}
	return 0;
}

static int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "prometheus", no_argument, 0, 'p' },
		{ "name", required_argument, 0, 'n' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	const char *name = NULL, *fmt = "table";
	struct sbuf out = { 0 };
	char req[64];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jn:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			fmt = "json";
			break;
		case 'p':
			fmt = "prometheus";
			break;
		case 'n':
			if (!valid_name(optarg)) {
				fprintf(stderr, "hybond: --name '%s': not a valid instance name\n", optarg);
				return 2;
			}
			name = optarg;
			break;
		case 'h':
			printf("usage: hybond stats [-j|--json] [--prometheus] [--name NAME]\n"
			       "What the running instance counts: bytes per access network,\n"
			       "connections, steering counters, active connections and their\n"
			       "subflows. -j prints JSON (errors too), --prometheus the\n"
			       "Prometheus text format.\n");
			return 0;
		default:
			return 2;
		}
	}
	snprintf(req, sizeof(req), "stats %s\n", fmt);
	return finish(ctl_call(name, req, -1, &out), &out,
		      !strcmp(fmt, "json"));
}

static int cmd_policy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "name", required_argument, 0, 'n' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	const char *name = NULL, *verb;
	bool json = false;
	struct sbuf out = { 0 };
	char req[600];
	int c, rc, fd;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jn:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'n':
			if (!valid_name(optarg)) {
				fprintf(stderr, "hybond: --name '%s': not a valid instance name\n", optarg);
				return 2;
			}
			name = optarg;
			break;
		case 'h':
			printf("usage: hybond policy show [-j] [--name NAME]\n"
			       "       hybond policy apply FILE [--name NAME]\n"
			       "       hybond policy check [-j] FILE\n"
			       "The format is documented in policy/README.md.\n");
			return 0;
		default:
			return 2;
		}
	}
	verb = optind < argc ? argv[optind] : NULL;
	if (verb && !strcmp(verb, "show") && optind + 1 == argc) {
		snprintf(req, sizeof(req), "policy-show %s\n",
			 json ? "json" : "text");
		return finish(ctl_call(name, req, -1, &out), &out, json);
	}
	if (verb && (!strcmp(verb, "apply") || !strcmp(verb, "check")) &&
	    optind + 2 == argc) {
		const char *file = argv[optind + 1];

		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			sbuf_printf(&out, "%s: %s\n", file, strerror(errno));
			return finish(1, &out, json);
		}
		if (!strcmp(verb, "check")) {
			struct policy *p = calloc(1, sizeof(*p));
			struct policy_error pe;
			char msg[768];

			rc = p ? policy_load_fd(fd, file, p, &pe) : -ENOMEM;
			close(fd);
			if (rc) {
				policy_error_str(&pe, msg, sizeof(msg));
				sbuf_printf(&out, "%s\n", msg);
			} else {
				rc = check_report(file, p, json, &out);
			}
			free(p);
			return finish(rc ? 1 : 0, &out, json);
		}
		/* The daemon reads the file through the descriptor: it parses
		 * and refuses with the same messages, and checks who may write
		 * the file. The name is only for its messages. */
		snprintf(req, sizeof(req), "policy-apply %.500s\n", file);
		rc = ctl_call(name, req, fd, &out);
		close(fd);
		return finish(rc, &out, json);
	}
	fprintf(stderr, "hybond: usage: hybond policy show [-j] | apply FILE | "
			"check [-j] FILE [--name NAME]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct daemon_opts o;
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int role, err;

	log_hook_libbpf();
	if (!cmd) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") ||
	    !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("hybond %s\n", HYBOND_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "stats"))
		return cmd_stats(argc - 1, argv + 1);
	if (!strcmp(cmd, "policy"))
		return cmd_policy(argc - 1, argv + 1);
	if (!strcmp(cmd, "cpe"))
		role = HYBOND_ROLE_CPE;
	else if (!strcmp(cmd, "hag"))
		role = HYBOND_ROLE_HAG;
	else {
		fprintf(stderr,
			"hybond: unknown command '%s'; try `hybond help`\n",
			cmd);
		return 2;
	}
	err = parse_daemon(argc - 1, argv + 1, role, &o);
	if (err > 0)
		return 0;
	if (err) {
		char where[300];

		if (config_where(&cfg, blame, where, sizeof(where)))
			fprintf(stderr,
				"hybond: %s: the value above comes from this "
				"line of the config file; fix it there (or "
				"override it on the command line)\n",
				where);
		return 2;
	}
	err = run_daemon(&o);
	return err ? 1 : 0;
}
