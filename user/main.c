// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - `hybond cpe|hag|version|help`: parse, dispatch, and run a role in
 * the foreground until SIGTERM/SIGINT. Only main() decides the exit status.
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
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <linux/mptcp.h>

#include "hybond_abi.h"
#include "log.h"
#include "pm.h"
#include "relay.h"
#include "steer.h"

#ifndef HYBOND_VERSION
#define HYBOND_VERSION "0.1.0"
#endif

#define DEFAULT_MARK 0x4859
#define DEFAULT_TABLE 18521
#define DEFAULT_PREF 100
#define DEFAULT_JOIN_PORT 9300
#define DEFAULT_PIN_ROOT "/sys/fs/bpf/hybond"

struct daemon_opts {
	int role;
	const char *name;
	/* CPE: lan, primary, secondary. HAG: access, core, secondary. */
	const char *if_steer, *if_up, *if_secondary;
	int ifx_steer, ifx_up, ifx_secondary;
	bool nat;
	uint16_t join_port;
	uint32_t mark, table, pref;
	const char *pin_root;
	int workers;
	size_t bufsize;
};

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
			"  --nat              IPv4 upstream from the primary address, not H@\n");
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
			"  --join-port PORT   port announced with the secondary address (%d)\n",
			DEFAULT_JOIN_PORT);
	fprintf(f,
		"\n"
		"common options:\n"
		"  --name NAME        instance name (default: the role); pins go to\n"
		"                     PIN-ROOT/NAME\n"
		"  --workers N        relay threads (default: one per CPU)\n"
		"  --buffer-size N    relay buffer per direction in bytes (262144)\n"
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
		"removes everything it installed.\n",
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
		"  cpe       run the home gateway (HCPE) role\n"
		"  hag       run the hybrid access gateway (HAG) role\n"
		"  version   print the version\n"
		"  help      this help\n"
		"\n"
		"`hybond COMMAND --help` shows the options of a command.\n");
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

static int need_iface(const char *opt, const char *name, int *ifindex)
{
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
		O_NOPIN, O_JOINPORT,
	};
	static const struct option cpe_opts[] = {
		{ "lan", required_argument, 0, O_LAN },
		{ "primary", required_argument, 0, O_PRIMARY },
		{ "secondary", required_argument, 0, O_SECONDARY },
		{ "nat", no_argument, 0, O_NAT },
		{ "name", required_argument, 0, O_NAME },
		{ "workers", required_argument, 0, O_WORKERS },
		{ "buffer-size", required_argument, 0, O_BUF },
		{ "fwmark", required_argument, 0, O_MARK },
		{ "table", required_argument, 0, O_TABLE },
		{ "rule-pref", required_argument, 0, O_PREF },
		{ "pin-root", required_argument, 0, O_PIN },
		{ "no-pin", no_argument, 0, O_NOPIN },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	static const struct option hag_opts[] = {
		{ "access", required_argument, 0, O_ACCESS },
		{ "core", required_argument, 0, O_CORE },
		{ "secondary", required_argument, 0, O_SECONDARY },
		{ "join-port", required_argument, 0, O_JOINPORT },
		{ "name", required_argument, 0, O_NAME },
		{ "workers", required_argument, 0, O_WORKERS },
		{ "buffer-size", required_argument, 0, O_BUF },
		{ "fwmark", required_argument, 0, O_MARK },
		{ "table", required_argument, 0, O_TABLE },
		{ "rule-pref", required_argument, 0, O_PREF },
		{ "pin-root", required_argument, 0, O_PIN },
		{ "no-pin", no_argument, 0, O_NOPIN },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	uint32_t v;
	int c, verbose = 0;

	memset(o, 0, sizeof(*o));
	o->role = role;
	o->name = role == HYBOND_ROLE_CPE ? "cpe" : "hag";
	o->mark = DEFAULT_MARK;
	o->table = DEFAULT_TABLE;
	o->pref = DEFAULT_PREF;
	o->pin_root = DEFAULT_PIN_ROOT;
	o->join_port = DEFAULT_JOIN_PORT;
	o->bufsize = 256 * 1024;

	optind = 1;
	while ((c = getopt_long(argc, argv, "vh",
				role == HYBOND_ROLE_CPE ? cpe_opts : hag_opts,
				NULL)) != -1) {
		switch (c) {
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
			if (!*optarg || strchr(optarg, '/') ||
			    strchr(optarg, '.') || strlen(optarg) > 32) {
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
			break;
		case O_PIN:
			o->pin_root = optarg;
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
	if (optind < argc) {
		fprintf(stderr, "hybond: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return -EINVAL;
	}
	if (verbose)
		log_set_level(LOG_DEBUG_);

	if (need_iface(role == HYBOND_ROLE_CPE ? "--lan" : "--access",
		       o->if_steer, &o->ifx_steer) ||
	    need_iface(role == HYBOND_ROLE_CPE ? "--primary" : "--core",
		       o->if_up, &o->ifx_up) ||
	    need_iface("--secondary", o->if_secondary, &o->ifx_secondary))
		return -EINVAL;
	if (o->ifx_steer == o->ifx_up || o->ifx_steer == o->ifx_secondary ||
	    o->ifx_up == o->ifx_secondary) {
		fprintf(stderr, "hybond: the three interfaces must differ\n");
		return -EINVAL;
	}
	return 0;
}

static int mptcp_enabled(void)
{
	FILE *f = fopen("/proc/sys/net/mptcp/enabled", "r");
	int v = 0;

	if (!f)
		return -ENOENT;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	/* Two sockets per proxied connection: take what we are allowed. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Announce the secondary interface's addresses (HAG). */
static int hag_endpoints(struct pm *pm, const struct daemon_opts *o)
{
	struct hb_addr addrs[8];
	struct nl rt;
	int n, err;

	err = nl_open(&rt, NETLINK_ROUTE);
	if (err)
		return err;
	n = nl_if_addrs(&rt, o->ifx_secondary, addrs, 8);
	nl_close(&rt);
	if (n < 0)
		return n;
	if (n == 0) {
		pr_err("--secondary %s has no global address to announce; add "
		       "one (ip addr add ... dev %s)",
		       o->if_secondary, o->if_secondary);
		return -EADDRNOTAVAIL;
	}
	for (int i = 0; i < n; i++) {
		struct pm_endpoint ep = {
			.addr = addrs[i],
			.port = o->join_port,
			.flags = MPTCP_PM_ADDR_FLAG_SIGNAL,
			.ifindex = o->ifx_secondary,
		};
		char a[INET6_ADDRSTRLEN];

		err = pm_add_endpoint(pm, &ep);
		if (err)
			return err;
		pr_info("announcing %s port %u (ADD_ADDR) from %s",
			hb_addr_str(&ep.addr, a, sizeof(a)), ep.port,
			o->if_secondary);
	}
	return 0;
}

static int primary_v4(const struct daemon_opts *o, struct hb_addr *out)
{
	struct hb_addr addrs[8];
	struct nl rt;
	int n, err;

	err = nl_open(&rt, NETLINK_ROUTE);
	if (err)
		return err;
	n = nl_if_addrs(&rt, o->ifx_up, addrs, 8);
	nl_close(&rt);
	for (int i = 0; i < n; i++) {
		if (addrs[i].family == AF_INET) {
			*out = addrs[i];
			return 0;
		}
	}
	pr_err("--nat: --primary %s has no IPv4 address to use as the source",
	       o->if_up);
	return -EADDRNOTAVAIL;
}

static int run_daemon(const struct daemon_opts *o)
{
	const char *role = o->role == HYBOND_ROLE_CPE ? "cpe" : "hag";
	struct relay_opts ro = {
		.role = o->role,
		.workers = o->workers,
		.bufsize = o->bufsize,
		.nat = o->nat,
		.mptcp_upstream = true,
	};
	struct steer_opts so = {
		.role = o->role,
		.steer_ifindex = o->ifx_steer,
		.return_ifindex = o->ifx_up,
		.mark = o->mark,
		.table = o->table,
		.rule_pref = o->pref,
		.pin_root = o->pin_root,
		.name = o->name,
	};
	struct relay *relay = NULL;
	struct steer steer;
	struct pm pm;
	bool pm_up = false, steer_up = false;
	struct signalfd_siginfo si;
	sigset_t sigs;
	int sfd = -1, err;

	if (mptcp_enabled() != 1) {
		pr_err("MPTCP is disabled in this network namespace; enable it "
		       "with: sysctl -w net.mptcp.enabled=1");
		return -ENOPROTOOPT;
	}
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	/* Blocked before any thread starts, so only the signalfd sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		err = -errno;
		goto out;
	}

	if (o->nat) {
		err = primary_v4(o, &ro.nat_src4);
		if (err)
			goto out;
	}

	err = pm_open(&pm);
	if (err)
		goto out;
	pm_up = true;
	if (o->role == HYBOND_ROLE_CPE) {
		/* Accept the HAG's ADD_ADDR and join it from the secondary. */
		err = pm_raise_limits(&pm, 2, 2);
	} else {
		err = pm_raise_limits(&pm, 2, 0);
		if (!err)
			err = hag_endpoints(&pm, o);
	}
	if (err)
		goto out;

	err = relay_create(&relay, &ro, &so.lport4, &so.lport6);
	if (err) {
		pr_err("creating the relay listeners: %s", strerror(-err));
		goto out;
	}
	err = steer_start(&steer, &so);
	if (err)
		goto out;
	steer_up = true;
	err = relay_start(relay);
	if (err)
		goto out;

	pr_info("ready: %s '%s' steering %s -> %s, secondary %s, listeners "
		"127.0.0.1:%u [::1]:%u%s%s",
		role, o->name, o->if_steer, o->if_up, o->if_secondary,
		so.lport4, so.lport6, o->pin_root ? ", pins in " : "",
		o->pin_root ? steer.pin_dir : "");

	for (;;) {
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(si)) {
			err = -errno;
			break;
		}
		if (si.ssi_signo == SIGHUP) {
			pr_info("SIGHUP: nothing to reload");
			continue;
		}
		pr_info("%s: shutting down", strsignal(si.ssi_signo));
		break;
	}
	err = 0;
out:
	/* Fail open first: once steering is gone, traffic is routed. */
	if (steer_up)
		steer_stop(&steer);
	if (relay) {
		struct relay_counters rc;

		relay_counters(relay, &rc);
		relay_destroy(relay);
		pr_info("stopped: %llu connections proxied, %llu bytes up, "
			"%llu bytes down",
			(unsigned long long)rc.accepted,
			(unsigned long long)rc.bytes_up,
			(unsigned long long)rc.bytes_down);
	}
	if (pm_up)
		pm_close(&pm);
	if (sfd >= 0)
		close(sfd);
	return err;
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
	if (err)
		return 2;
	err = run_daemon(&o);
	return err ? 1 : 0;
}
