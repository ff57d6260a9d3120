// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon.c - the life of a running instance. Set-up order: control socket
 * (one instance per name and namespace), policy file, path manager, relay
 * listeners, steering; then `ready`. The main thread serves signals and the
 * control socket; the relay's workers move the bytes. Tear-down runs in
 * reverse and fails open first: steering goes before the listeners do.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/mptcp.h>

#include "ctl.h"
#include "daemon.h"
#include "hold.h"
#include "hybond_abi.h"
#include "log.h"
#include "notify.h"
#include "overflow.h"
#include "pm.h"
#include "policy.h"
#include "relay.h"
#include "stats.h"
#include "splice.h"
#include "steer.h"
#include "sysctl.h"
#include "takeover.h"

static int mptcp_enabled(void)
{
	long v = 0;
	int err = sysctl_read("/proc/sys/net/mptcp/enabled", &v);

	return err == -ENOENT ? err : err ? 0 : (int)v;
}

/* Two sockets per proxied connection: as root, raise the hard limit to the
 * system's maximum (fs.nr_open) too; otherwise take the hard limit. */
static void raise_nofile(void)
{
	struct rlimit rl;
	long nr_open = 0;

	if (sysctl_read("/proc/sys/fs/nr_open", &nr_open))
		nr_open = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (nr_open > 0 && (rlim_t)nr_open > rl.rlim_max) {
		struct rlimit want = { (rlim_t)nr_open, (rlim_t)nr_open };

		if (!setrlimit(RLIMIT_NOFILE, &want))
			return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Announce the secondary interface's addresses (HAG). Sets *v6_port when
 * an IPv6 address goes out with a port: that ADD_ADDR needs 30 option
 * bytes, more than a subflow with timestamps has left. */
static int hag_endpoints(struct pm *pm, const struct daemon_opts *o,
			 bool *v6_port)
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
		if (ep.addr.family == AF_INET6 && ep.port)
			*v6_port = true;
		pr_info("announcing %s port %u (ADD_ADDR) from %s",
			hb_addr_str(&ep.addr, a, sizeof(a)), ep.port,
			o->if_secondary);
	}
	return 0;
}

/* The CPE's secondary addresses as endpoints without signal/subflow flags:
 * the kernel uses them (and their backup flag) for the joins it makes when
 * the HAG's ADD_ADDR arrives. */
static int cpe_endpoints(struct pm *pm, const struct daemon_opts *o,
			 const struct access_addrs *aa, bool backup)
{
	for (int i = 0; i < aa->n; i++) {
		struct pm_endpoint ep = {
			.addr = aa->secondary[i],
			.flags = backup ? MPTCP_PM_ADDR_FLAG_BACKUP : 0,
			.ifindex = o->ifx_secondary,
		};

		/* --join-port: announce CPE@2:PORT, where the kernel then
		 * listens, so that a HAG may open the subflow (Figure 6). */
		if (o->cpe_listen) {
			ep.flags |= MPTCP_PM_ADDR_FLAG_SIGNAL;
			ep.port = o->join_port;
		}
		int err = pm_add_endpoint(pm, &ep);

		if (err)
			return err;
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

/* Read a policy file for the daemon: refuse a world-writable one (anyone
 * could then change what is bonded), report errors with file:line:col. */
static int load_policy_fd(int fd, const char *name, struct policy *p,
			  struct sbuf *err)
{
	struct policy_error pe;
	struct stat st;
	char msg[768];

	if (fstat(fd, &st)) {
		sbuf_printf(err, "%s: %s\n", name, strerror(errno));
		return -errno;
	}
	if (st.st_mode & S_IWOTH) {
		sbuf_printf(err,
			    "%s: refused: the file is world-writable; fix it "
			    "with chmod o-w %s\n",
			    name, name);
		return -EPERM;
	}
	if (policy_load_fd(fd, name, p, &pe)) {
		policy_error_str(&pe, msg, sizeof(msg));
		sbuf_printf(err, "%s\n", msg);
		return -EINVAL;
	}
	return 0;
}

struct daemon {
	const struct daemon_opts *o;
	struct steer steer;
	struct relay *relay;
	struct hold *hold;
	struct overflow *ov; /* CPE only */
	struct upm *upm;     /* hybond's own path manager, when asked for */
	struct pm *pm;
	int *cfd, epfd;      /* the control socket, for --takeover */
	bool handed_over;    /* --takeover: a new process runs; we drain */
	bool ov_paused;      /* --takeover in progress: no switching */
	uint64_t started;
	const char *datapath, *datapath_why;
	/* The last look at the relay's counters (fallback_watch). */
	uint64_t fb_seen, acc_seen, fb_look, fb_check, fb_warned;
};

static uint64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * Once a minute (CPE): connections that were not bonded because MPTCP fell
 * back to plain TCP. One now and then is a server slower than three
 * seconds to answer (the kernel drops MP_CAPABLE from its third SYN); a
 * tenth of the new connections or more is something to fix: a HAG that
 * does not answer MP_CAPABLE, or a kernel out of MPTCP tokens
 * (MPTcpExtMPFallbackTokenInit; the token table is sized from memory). The
 * relay counts a fallback when it samples the connection, so the two
 * counts are of about the same minute.
 * Such a warning should not wait for the minute: the counts are looked at
 * every FB_LOOK_S, and FB_EARLY fallbacks that are a tenth or more warn at
 * once. Then the next warning waits a minute, so at most one a minute.
 */
#define FB_LOOK_S 10
#define FB_EARLY 10

static void fallback_watch(struct daemon *d)
{
	struct relay_counters rc;
	uint64_t now = mono_s(), fb, acc, span;
	bool bad, early;

	if (!d->relay || now - d->fb_check < FB_LOOK_S)
		return;
	d->fb_check = now;
	relay_counters(d->relay, &rc);
	fb = rc.fallback - d->fb_seen;
	acc = rc.accepted - d->acc_seen;
	span = now - d->fb_look;
	bad = fb && fb * 10 >= acc;
	early = bad && fb >= FB_EARLY &&
		(!d->fb_warned || now - d->fb_warned >= 60);
	if (span < 60 && !early)
		return;
	d->fb_look = now;
	d->fb_seen = rc.fallback;
	d->acc_seen = rc.accepted;
	if (!fb)
		return;
	if (bad) {
		d->fb_warned = now;
		pr_warn("%llu of %llu new connections in the last %llu s are "
			"not bonded: MPTCP fell back to plain TCP. Is the HAG "
			"running and answering MP_CAPABLE? (If "
			"MPTcpExtMPFallbackTokenInit grows in nstat, the kernel "
			"is out of MPTCP tokens.)",
			(unsigned long long)fb, (unsigned long long)acc,
			(unsigned long long)span);
	} else {
		pr_info("%llu of %llu new connections in the last %llu s fell "
			"back to plain TCP (servers slower than 3 s to answer)",
			(unsigned long long)fb, (unsigned long long)acc,
			(unsigned long long)span);
	}
}

static int do_stats(struct daemon *d, const char *arg, struct sbuf *out)
{
	int fmt = stats_format_parse(arg[0] ? arg : "table");
	struct stats_input in = {
		.role = d->o->role == HYBOND_ROLE_CPE ? "cpe" : "hag",
		.name = d->o->name,
		.pid = getpid(),
		.uptime_s = mono_s() - d->started,
		.datapath = d->datapath,
		.datapath_why = d->datapath_why,
	};
	struct relay_conn_view *views = NULL;
	const int max = 1000;
	int n;

	if (fmt < 0) {
		sbuf_printf(out, "unknown stats format '%s'\n", arg);
		return 1;
	}
	/* The snapshot first: it brings the per-network totals up to date. */
	n = relay_snapshot(d->relay, &views, max, 2000);
	relay_counters(d->relay, &in.rc);
	stats_read_bpf(steer_stats_fd(&d->steer), in.ctr);
	in.conns = views;
	in.nconns = n > 0 ? n : 0;
	hold_counters(d->hold, &in.hold);
	in.have_guard = !steer_guard_stats(&d->steer, in.guard);
	if (d->ov) {
		in.bonding.present = true;
		in.bonding.mode = bonding_mode_name(d->ov->o.mode);
		in.bonding.secondary_on = d->ov->on;
		in.bonding.primary_down_bps = d->ov->o.primary_down_bps;
		in.bonding.primary_up_bps = d->ov->o.primary_up_bps;
		in.bonding.secondary_cap_bps = d->ov->o.secondary_cap_bps;
		for (int i = 0; i < 4; i++)
			in.bonding.rate_bps[i] = d->ov->rate[i] * 8;
		in.bonding.activations = d->ov->activations;
		in.bonding.cap_holds = d->ov->cap_holds;
		in.bonding.reasserted = d->ov->reasserted;
		in.bonding.peer_resends = d->ov->peer_resends;
	}
	if (d->upm) {
		in.pm.present = true;
		in.pm.established = d->upm->st.established;
		in.pm.subflows_created = d->upm->st.subflows_created;
		in.pm.subflow_errors = d->upm->st.subflow_errors;
		in.pm.retries = d->upm->st.retries;
		in.pm.announced = d->upm->st.announced;
		in.pm.tracked = d->upm->nconns;
		in.pm.ended_unjoined = d->upm->st.ended_unjoined;
		in.pm.prio_resent = d->upm->st.prio_resent;
		in.pm.events_lost = d->upm->st.events_lost;
		in.pm.swept = d->upm->st.swept;
		in.pm.subflows_swept = d->upm->st.subflows_swept;
		in.pm.adopted = d->upm->st.adopted;
	}
	in.conns_truncated = n >= max && (uint64_t)n < in.rc.active;
	stats_render(&in, fmt, out);
	free(views);
	return 0;
}

static int do_policy_show(struct daemon *d, const char *arg, struct sbuf *out)
{
	struct policy *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return 1;
	err = steer_get_policy(&d->steer, p);
	if (err) {
		sbuf_printf(out, "reading the policy maps: %s\n", strerror(-err));
		free(p);
		return 1;
	}
	err = policy_put(out, p, !strcmp(arg, "json"));
	free(p);
	return err ? 1 : 0;
}

static int do_policy_apply(struct daemon *d, const char *arg, int fd,
			   struct sbuf *out)
{
	struct policy *p = calloc(1, sizeof(*p));
	const char *name = arg[0] ? arg : "policy";
	int err;

	if (!p)
		return 1;
	if (fd < 0) {
		sbuf_printf(out, "policy-apply needs the file descriptor\n");
		free(p);
		return 1;
	}
	err = load_policy_fd(fd, name, p, out);
	if (!err) {
		err = steer_set_policy(&d->steer, p);
		if (err)
			sbuf_printf(out, "writing the policy maps: %s; the "
					 "previous policy stays in force\n",
				    strerror(-err));
	}
	if (!err) {
		sbuf_printf(out, "applied %s: %d rules, default %s\n", name,
			    p->nrules,
			    p->default_action == HYBOND_ACT_BYPASS ? "bypass" :
								     "bond");
		pr_info("policy %s applied: %d rules, default %s", name,
			p->nrules,
			p->default_action == HYBOND_ACT_BYPASS ? "bypass" :
								 "bond");
	} else {
		pr_warn("policy %s refused, the running policy stays: %s", name,
			out->p ? out->p : "");
	}
	free(p);
	return err ? 1 : 0;
}

/* --takeover, the running side (the protocol is in takeover.h): offer the
 * listeners and maps, freeze, then let go, or take everything back if the
 * new process gives up. */
static void serve_takeover(void *ctx, const char *verb, int conn)
{
	struct daemon *d = ctx;
	int fds[TK_NFDS] = {
		[TK_FD_LISTEN4] = relay_listener_fd(d->relay, 0),
		[TK_FD_LISTEN6] = relay_listener_fd(d->relay, 1),
		[TK_FD_EVENTS] = steer_events_fd(&d->steer),
		[TK_FD_HELD] = steer_held_fd(&d->steer),
		[TK_FD_GUARD] = d->steer.guard_link ?
					steer_guard_link_fd(&d->steer) : -1,
	};
	char line[256], offer[256];
	struct relay_counters rc;
	int n, left, len;

	(void)verb;
	if (d->handed_over) {
		tk_send(conn, "refused: this instance has handed over already",
			NULL, 0);
		return;
	}
	len = snprintf(offer, sizeof(offer), "offer pid=%d qdisc=%d,%d",
		       (int)getpid(), d->steer.hooks[0].created_qdisc,
		       d->steer.hooks[1].created_qdisc);
	if (d->pm->limits_changed)
		len += snprintf(offer + len, sizeof(offer) - len,
				" limits=%u,%u", d->pm->old_subflows,
				d->pm->old_add_addr);
	if (d->upm && d->upm->old_pm_type >= 0)
		len += snprintf(offer + len, sizeof(offer) - len, " pm_type=%d",
				d->upm->old_pm_type);
	if (d->pm->old_blackhole >= 0)
		snprintf(offer + len, sizeof(offer) - len, " blackhole=%ld",
			 d->pm->old_blackhole);
	if (tk_send(conn, offer, fds, TK_NFDS))
		return;
	pr_info("takeover: a new process asked for this instance; offered "
		"the listeners and maps");
	n = tk_recv(conn, line, sizeof(line), NULL, 0, 15000);
	if (n < 0 || strcmp(line, "freeze"))
		goto abandoned;
	d->ov_paused = true;
	left = hold_freeze(d->hold, 3000);
	relay_pause_accept(d->relay, true);
	if (left)
		pr_warn("takeover: %d held SYNs still in progress after 3 s; "
			"handed over as they are",
			left);
	tk_send(conn, "frozen", NULL, 0);
	n = tk_recv(conn, line, sizeof(line), NULL, 0, 15000);
	if (n < 0 || strcmp(line, "commit")) {
		relay_pause_accept(d->relay, false);
		hold_thaw(d->hold);
		d->ov_paused = false;
		goto abandoned;
	}
	d->handed_over = true;
	steer_disown(&d->steer);
	pm_disown(d->pm);
	if (d->upm) {
		d->upm->old_pm_type = -1;
		d->upm->passive = true;
	}
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, *d->cfd, NULL);
	close(*d->cfd);
	*d->cfd = -1;
	tk_send(conn, "bye", NULL, 0);
	relay_counters(d->relay, &rc);
	pr_info("takeover: handed over; serving the %llu established "
		"connections until they end, then exiting",
		(unsigned long long)rc.active);
	return;
abandoned:
	steer_reclaim(&d->steer);
	pr_warn("takeover: the new process gave up (%s); this instance goes "
		"on serving",
		n < 0 ? strerror(-n) : line);
}

static int ctl_dispatch(void *ctx, const char *verb, const char *arg, int fd,
			struct sbuf *out)
{
	struct daemon *d = ctx;

	if (!strcmp(verb, "ping")) {
		sbuf_printf(out, "hybond %s '%s' pid %d\n",
			    d->o->role == HYBOND_ROLE_CPE ? "cpe" : "hag",
			    d->o->name, (int)getpid());
		return 0;
	}
	if (!strcmp(verb, "stats"))
		return do_stats(d, arg, out);
	if (!strcmp(verb, "policy-show"))
		return do_policy_show(d, arg, out);
	if (!strcmp(verb, "policy-apply"))
		return do_policy_apply(d, arg, fd, out);
	sbuf_printf(out, "unknown request '%s' (daemon and CLI of different "
			 "versions?)\n",
		    verb);
	return 1;
}

/* SIGHUP: re-read --policy through the path `hybond policy apply` takes; a
 * bad file is logged with its file:line and the running policy stays.
 * systemd hears RELOADING=1 ... READY=1 around it. */
static void reload_policy(struct daemon *d)
{
	const char *file = d->o->policy_file;
	struct sbuf msg = { 0 };
	struct timespec ts;
	char note[64];
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(note, sizeof(note), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	notify_send(note);
	if (!file) {
		pr_info("SIGHUP: no --policy file to reload (bonding "
			"everything); `hybond policy apply FILE` sets one");
	} else if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		pr_warn("SIGHUP: --policy %s: %s; the running policy stays",
			file, strerror(errno));
	} else {
		pr_info("SIGHUP: reloading --policy %s", file);
		do_policy_apply(d, file, fd, &msg);
		close(fd);
	}
	sbuf_free(&msg);
	notify_send("READY=1");
}

/* The 100 ms tick of the primary-first controller, the path manager's
 * retries and a draining instance's exit check: made once, by whichever
 * needs it first. */
static void tick_start(int epfd, int *tfd)
{
	struct itimerspec its = { { 0, 100000000 }, { 0, 100000000 } };
	struct epoll_event ev = { .events = EPOLLIN };

	if (*tfd >= 0)
		return;
	*tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (*tfd < 0)
		return;
	timerfd_settime(*tfd, 0, &its, NULL);
	ev.data.fd = *tfd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, *tfd, &ev);
}

/* The path manager's events are read in batches on a timer, not on each
 * event's arrival: a few events per connection, each waking this thread
 * (and the kernel paying for the wake-up in the thread that made the
 * event), cost about 5% of a busy box's CPU; with nobody waiting on the
 * socket the kernel only queues them. The joins they lead to wait for
 * --join-after and the 100 ms tick anyway; EV_POLL_MS is what a lost
 * subflow's first retry (250 ms) and an ADD_ADDR can wait. */
#define EV_POLL_MS 20

static void ev_poll_start(int epfd, int *efd)
{
	struct itimerspec its = { { 0, EV_POLL_MS * 1000000 },
				  { 0, EV_POLL_MS * 1000000 } };
	struct epoll_event ev = { .events = EPOLLIN };

	*efd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (*efd < 0)
		return;
	timerfd_settime(*efd, 0, &its, NULL);
	ev.data.fd = *efd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, *efd, &ev);
}

static const char *sched_now(void)
{
	struct sched_param sp;
	int policy;

	if (pthread_getschedparam(pthread_self(), &policy, &sp))
		return "?";
	return policy == SCHED_BATCH ? "SCHED_BATCH" :
	       policy == SCHED_OTHER ? "SCHED_OTHER" : "another policy";
}

/*
 * The daemon's threads run SCHED_BATCH unless --sched normal: set here,
 * before the first thread starts (they inherit it). A woken thread then
 * takes its turn on the CPU when the running one's slice ends or it
 * sleeps, instead of preempting it: a connection's set-up wakes the hold
 * thread and then a worker in each daemon, and their preempting one
 * another cost more than the wait (bench/README.md, Connection rate). Packets are
 * forwarded and steered in the kernel's softirqs, which no policy of ours
 * delays.
 */
static void set_sched(const struct daemon_opts *o)
{
	struct sched_param sp = { 0 };
	int err;

	if (o->sched_normal)
		return;
	err = pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	if (err)
		pr_warn("--sched batch: %s; the threads stay on SCHED_OTHER "
			"(--sched normal says so without this warning)",
			strerror(err));
}

static int secondary_addrs(const struct daemon_opts *o, struct access_addrs *aa)
{
	struct nl rt;
	int n, err;

	err = nl_open(&rt, NETLINK_ROUTE);
	if (err)
		return err;
	n = nl_if_addrs(&rt, o->ifx_secondary, aa->secondary, 8);
	nl_close(&rt);
	if (n < 0)
		return n;
	aa->n = n;
	return 0;
}

int run_daemon(const struct daemon_opts *o)
{
	const char *role = o->role == HYBOND_ROLE_CPE ? "cpe" : "hag";
	struct relay_opts ro = {
		.role = o->role,
		.workers = o->workers,
		.bufsize = o->bufsize,
		.nat = o->nat,
		.mptcp_upstream = !o->tcp_upstream,
		.stall_timeout_s = o->stall_timeout_s,
		.congestion = o->congestion,
		.max_conns = o->max_conns,
		.max_per_subscriber = o->max_per_subscriber,
		.subs4_fd = -1,
		.subs6_fd = -1,
		.idle_timeout_s = o->idle_timeout_s,
		.half_open_timeout_s = o->half_open_timeout_s,
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
		.subs = o->subs,
		.nsubs = o->nsubs,
	};
	struct daemon d = {
		.o = o,
		.started = mono_s(),
		.datapath = "userspace",
	};
	char why[400], probe[200];
	struct splice sp = { .link_fd = -1 };
	bool sp_up = false, mptcp_splice;
	struct policy *policy = NULL;
	struct overflow ov;
	struct upm upm;
	struct upm_opts uo = { 0 };
	struct pm pm;
	bool pm_up = false, steer_up = false;
	struct epoll_event ev;
	sigset_t sigs;
	int sfd = -1, cfd = -1, epfd = -1, tfd = -1, err;
	int efd = -1; /* the path manager's events, read every EV_POLL_MS */
	int wfd = -1; /* systemd's watchdog: WATCHDOG=1 at half its period */
	uint64_t wd_usec;
	struct takeover tk = { .sock = -1 };
	bool committed = false;

	/* A fixed threshold: every allocation of 128 KiB or more (relay
	 * buffers, the stats snapshot) is its own mapping and goes back to
	 * the kernel when freed. glibc's default raises the threshold past
	 * any such block once one is freed, after which the next lands in
	 * the heap and stays resident: the second `hybond stats` left 2.5 MB
	 * of a 1000-connection snapshot behind for good. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	if (mptcp_enabled() != 1) {
		pr_err("MPTCP is disabled in this network namespace; enable it "
		       "with: sysctl -w net.mptcp.enabled=1");
		return -ENOPROTOOPT;
	}
	for (int i = 0; i < TK_NFDS; i++)
		tk.offer.fd[i] = -1;
	if (!o->takeover)
		cfd = ctl_listen(o->name);
	if (!o->takeover && cfd < 0) {
		if (cfd == -EADDRINUSE)
			pr_err("an instance named '%s' already runs in this "
			       "network namespace; stop it or pick another "
			       "--name",
			       o->name);
		else
			pr_err("control socket: %s", strerror(-cfd));
		return cfd;
	}
	if (o->policy_file) {
		struct sbuf msg = { 0 };
		int pfd = open(o->policy_file, O_RDONLY | O_CLOEXEC);

		policy = calloc(1, sizeof(*policy));
		err = !policy ? -ENOMEM : pfd < 0 ? -errno : 0;
		if (pfd < 0)
			pr_err("--policy %s: %s", o->policy_file,
			       strerror(errno));
		if (!err)
			err = load_policy_fd(pfd, o->policy_file, policy, &msg);
		if (pfd >= 0)
			close(pfd);
		if (msg.p)
			pr_err("--policy: %s", msg.p);
		sbuf_free(&msg);
		if (err)
			goto out;
		so.policy = policy;
	}
	/* (After the policy: a bad file must not even disturb the running
	 * instance.) */
	if (o->takeover) {
		err = takeover_begin(&tk, o->name);
		if (err)
			goto out;
	}
	/* The card asks for in-kernel splicing where the kernel allows it:
	 * ask the kernel. It takes TCP sockets, so a CPE relaying over TCP
	 * can splice today; MPTCP ones only where the probe says so. Only
	 * with --splice: the kernel's redirects have no back-pressure
	 * (bench/README.md, In-kernel splicing). */
	mptcp_splice = splice_probe_mptcp(probe, sizeof(probe));
	snprintf(why, sizeof(why), "%s", probe);
	if (o->splice && !mptcp_splice && !o->tcp_upstream) {
		snprintf(why, sizeof(why), "--splice, but %s", probe);
	} else if (o->splice) {
		err = splice_open(&sp);
		if (err) {
			snprintf(why, sizeof(why),
				 "loading the splice program failed (%s); %s",
				 strerror(-err), probe);
		} else {
			sp_up = true;
			ro.splice = &sp;
			so.extra_obj = splice_object(&sp);
			ro.splice_mptcp = mptcp_splice;
			d.datapath = "sockmap";
			if (!mptcp_splice)
				snprintf(why, sizeof(why),
					 "--upstream tcp: both legs are TCP; %s",
					 probe);
		}
	}
	d.datapath_why = why;
	pr_info("data path: %s (%s)",
		sp_up ? "in-kernel splicing (sockmap)" : "the user-space relay",
		why);
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	/* Blocked before any thread starts, so only the signalfd sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || epfd < 0) {
		err = -errno;
		goto out;
	}
	ev.events = EPOLLIN;
	ev.data.fd = sfd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	if (cfd >= 0) {
		ev.data.fd = cfd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &ev);
	}
	d.pm = &pm;
	d.cfd = &cfd;
	d.epfd = epfd;

	if (o->nat) {
		err = primary_v4(o, &ro.nat_src4);
		if (err)
			goto out;
	}
	err = secondary_addrs(o, &ro.aa);
	if (err) {
		pr_err("reading the addresses of %s: %s", o->if_secondary,
		       strerror(-err));
		goto out;
	}

	err = pm_open(&pm);
	if (err)
		goto out;
	pm_up = true;
	pm.adopt = o->takeover;
	if (o->role == HYBOND_ROLE_CPE) {
		struct overflow_opts oo = {
			.mode = o->bonding >= 0 ? o->bonding :
				o->primary_down_bps > 0 ? BOND_OVERFLOW :
							  BOND_ALWAYS,
			.primary_down_bps = o->primary_down_bps,
			.primary_up_bps = o->primary_up_bps,
			.secondary_cap_bps = o->secondary_cap_bps,
			.ifx_primary = o->ifx_up,
			.ifx_secondary = o->ifx_secondary,
		};

		/* Accept the HAG's ADD_ADDRs (IPv4 and IPv6 both may come).
		 * hybond's path manager joins each announced address the
		 * connection's socket can take (an IPv6 socket both, an IPv4
		 * one the IPv4 address), from our secondary address of that
		 * family: with both families, two subflows on the one
		 * secondary link. The kernel's does the same where the
		 * subflow limit allows two (the namespace's default on 6.18). */
		err = o->max_subflows >= 0 ?
			      pm_set_limits(&pm, o->max_subflows,
					    o->max_subflows) :
			      pm_raise_limits(&pm, 1, 2);
		if (!err)
			pm_no_blackhole_detection(&pm);
		if (!err)
			err = cpe_endpoints(&pm, o, &ro.aa,
					    oo.mode == BOND_OVERFLOW);
		if (!err)
			err = overflow_init(&ov, &oo, &pm);
		if (err)
			goto out;
		d.ov = &ov;
		if (o->npm_targets || o->join_after_ms) {
			/* Without --hag-secondary, join what the HAG
			 * announces, as the kernel's PM would. */
			uo.learn = !o->npm_targets;
			uo.join_after_ms = o->join_after_ms;
			uo.ntargets = o->npm_targets;
			memcpy(uo.targets, o->pm_targets, sizeof(uo.targets));
			uo.nlocal = ro.aa.n < UPM_MAX_LOCAL ? ro.aa.n :
							      UPM_MAX_LOCAL;
			memcpy(uo.local, ro.aa.secondary,
			       uo.nlocal * sizeof(uo.local[0]));
			uo.ifx_secondary = o->ifx_secondary;
			uo.backup = !ov.on;
			err = upm_open(&upm, &uo);
			if (err)
				goto out;
			d.upm = &upm;
			upm.passive = o->takeover;
			ov.upm = &upm;
		}
		if (o->bonding < 0 && oo.mode == BOND_ALWAYS)
			pr_warn("bonding: secondary always in use; give "
				"--primary-rate (the primary's capacity) to use it "
				"only when the primary is full");
		pr_info("bonding: %s, primary %.1f/%.1f Mbit/s, secondary cap "
			"%s",
			bonding_mode_name(oo.mode), oo.primary_down_bps / 1e6,
			oo.primary_up_bps / 1e6,
			oo.secondary_cap_bps > 0 ? "set" : "none");
		tick_start(epfd, &tfd);
	} else {
		bool v6_port = false;

		err = o->max_subflows >= 0 ?
			      pm_set_limits(&pm, o->max_subflows, 0) :
			      pm_raise_limits(&pm, 2, 0);
		if (!err)
			err = hag_endpoints(&pm, o, &v6_port);
		if (!err && (o->initiate_subflows || o->announce_after_ms)) {
			/* The endpoints above keep the kernel's listeners on
			 * HAG@2:PORT; hybond's PM announces (and opens). */
			uo.server = true;
			uo.ntargets = o->npm_targets;
			memcpy(uo.targets, o->pm_targets, sizeof(uo.targets));
			uo.nlocal = ro.aa.n < UPM_MAX_LOCAL ? ro.aa.n :
							      UPM_MAX_LOCAL;
			memcpy(uo.local, ro.aa.secondary,
			       uo.nlocal * sizeof(uo.local[0]));
			uo.ifx_secondary = o->ifx_secondary;
			uo.announce_port = o->join_port;
			uo.announce_after_ms = o->announce_after_ms;
			err = upm_open(&upm, &uo);
			if (!err) {
				d.upm = &upm;
				upm.passive = o->takeover;
			}
		}
		if (v6_port && !o->keep_timestamps) {
			so.flags |= HYBOND_F_STRIP_TS;
			pr_info("first subflows run without TCP timestamps so "
				"that the IPv6 ADD_ADDR with a port fits "
				"(--keep-timestamps to keep them)");
		}
	}
	if (err)
		goto out;

	if (d.upm) {
		ev_poll_start(epfd, &efd);
		tick_start(epfd, &tfd);
	}
	if (o->role == HYBOND_ROLE_HAG && !o->nsubs)
		pr_warn("no --subscribers: MP_CAPABLE SYNs from any source are "
			"proxied (no BCP 38 source validation)");
	if (!ro.max_conns) {
		/* Two descriptors a connection, some kept for the rest. */
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur > 2048)
			ro.max_conns = (rl.rlim_cur - 1024) / 2;
	}
	ro.inherit_fd[0] = tk.offer.fd[TK_FD_LISTEN4];
	ro.inherit_fd[1] = tk.offer.fd[TK_FD_LISTEN6];
	tk.offer.fd[TK_FD_LISTEN4] = tk.offer.fd[TK_FD_LISTEN6] = -1;
	err = relay_create(&d.relay, &ro, &so.lport4, &so.lport6);
	if (err) {
		pr_err("creating the relay listeners: %s", strerror(-err));
		goto out;
	}
	if (!o->accept_first)
		so.flags |= HYBOND_F_HOLD;
	so.takeover = o->takeover;
	so.reuse_events_fd = tk.offer.fd[TK_FD_EVENTS];
	so.reuse_held_fd = tk.offer.fd[TK_FD_HELD];
	err = steer_start(&d.steer, &so);
	if (err)
		goto out;
	steer_up = true;
	if (o->nsubs)
		relay_set_subs(d.relay, steer_subs_fd(&d.steer, AF_INET),
			       steer_subs_fd(&d.steer, AF_INET6));
	/* All programs or none: a guard that cannot attach stops the start. */
	if (o->role == HYBOND_ROLE_HAG && !o->no_guard) {
		int link = tk.offer.fd[TK_FD_GUARD];

		tk.offer.fd[TK_FD_GUARD] = -1;
		err = link >= 0 ? steer_guard_takeover(&d.steer, link,
						       o->ifx_secondary,
						       ro.aa.secondary, ro.aa.n,
						       o->join_port) :
				  steer_guard_start(&d.steer, o->ifx_secondary,
						    ro.aa.secondary, ro.aa.n,
						    o->join_port);
		if (err)
			goto out;
	}
	if (o->takeover) {
		/* Our programs are on tc already, sharing the ring: the old
		 * process finishes what it took, then we start taking. */
		err = takeover_freeze(&tk);
		if (!err && test_fault("takeover",
				       "takeover: stopping before commit"))
			err = -ECANCELED;
		if (err)
			goto out;
	}
	set_sched(o);
	err = hold_start(&d.hold, &d.steer, d.relay, !o->accept_first);
	if (err) {
		pr_err("starting the handshake-order thread: %s", strerror(-err));
		goto out;
	}
	relay_set_hold(d.relay, d.hold);
	err = relay_start(d.relay);
	if (err)
		goto out;
	if (o->takeover) {
		/* From here both path managers may act on a new connection
		 * for a moment (a second subflow at worst), never neither. */
		if (d.upm)
			d.upm->passive = false;
		err = takeover_commit(&tk);
		if (err)
			goto out;
		committed = true;
		steer_own(&d.steer, tk.offer.created_qdisc);
		if (tk.offer.limits_changed) {
			pm.limits_changed = true;
			pm.old_subflows = tk.offer.old_subflows;
			pm.old_add_addr = tk.offer.old_add_addr;
		}
		if (tk.offer.old_blackhole >= 0)
			pm.old_blackhole = tk.offer.old_blackhole;
		/* What the old process would have put back is ours to put
		 * back now; a path manager that only one of the two ran is
		 * switched off here, or restored by us on exit. */
		if (d.upm && tk.offer.old_pm_type >= 0)
			d.upm->old_pm_type = tk.offer.old_pm_type;
		else if (!d.upm && tk.offer.old_pm_type >= 0)
			upm_restore_pm_type(tk.offer.old_pm_type);
		/* The old process closed its control socket before "bye". */
		for (int i = 0; i < 100 && cfd < 0; i++) {
			cfd = ctl_listen(o->name);
			if (cfd < 0)
				usleep(20000);
		}
		if (cfd < 0)
			pr_warn("takeover: the control socket is still taken: "
				"`hybond stats` cannot reach this instance");
		else {
			ev.events = EPOLLIN;
			ev.data.fd = cfd;
			epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &ev);
		}
		pr_info("takeover: pid %d handed over; now serving",
			tk.offer.old_pid);
		takeover_end(&tk);
	}

	pr_info("ready: %s '%s' steering %s -> %s, secondary %s, listeners "
		"127.0.0.1:%u [::1]:%u, %s, threads %s, policy %s%s%s",
		role, o->name, o->if_steer, o->if_up, o->if_secondary,
		so.lport4, so.lport6,
		o->accept_first ? "accept-first" : "handshake order of the draft",
		sched_now(),
		o->policy_file ? o->policy_file : "(bond everything)",
		o->pin_root ? ", pins in " : "",
		o->pin_root ? d.steer.pin_dir : "");
	notify_send("READY=1");
	wd_usec = notify_watchdog_usec();
	if (wd_usec)
		wfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (wfd >= 0) {
		uint64_t half = wd_usec / 2 ? wd_usec / 2 : 1;
		struct itimerspec its = {
			.it_interval = { half / 1000000, half % 1000000 * 1000 },
			.it_value = { half / 1000000, half % 1000000 * 1000 },
		};

		timerfd_settime(wfd, 0, &its, NULL);
		ev.events = EPOLLIN;
		ev.data.fd = wfd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, wfd, &ev);
		notify_send("WATCHDOG=1");
	}

	for (;;) {
		struct signalfd_siginfo si;
		int n = epoll_wait(epfd, &ev, 1, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (cfd >= 0 && ev.data.fd == cfd) {
			ctl_serve_one(cfd, ctl_dispatch, serve_takeover, &d);
			/* Draining: the tick looks at the connection count. */
			if (d.handed_over)
				tick_start(epfd, &tfd);
			continue;
		}
		if (ev.data.fd == tfd) {
			uint64_t ticks;
			struct relay_counters rc;

			if (d.handed_over) {
				if (read(tfd, &ticks, sizeof(ticks)) > 0)
					relay_counters(d.relay, &rc);
				else
					rc.active = 1;
				if (!rc.active) {
					pr_info("takeover: the last connection "
						"ended; exiting");
					break;
				}
				continue;
			}
			if (read(tfd, &ticks, sizeof(ticks)) > 0 && d.ov &&
			    !d.ov_paused)
				overflow_tick(d.ov);
			if (d.ov)
				fallback_watch(&d);
			if (d.upm)
				upm_tick(d.upm);
			continue;
		}
		if (ev.data.fd == efd) {
			uint64_t ticks;

			if (read(efd, &ticks, sizeof(ticks)) > 0 && d.upm)
				upm_handle_events(d.upm);
			continue;
		}
		if (ev.data.fd == wfd) {
			uint64_t ticks;

			if (read(wfd, &ticks, sizeof(ticks)) > 0)
				notify_send("WATCHDOG=1");
			continue;
		}
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			reload_policy(&d);
			continue;
		}
		pr_info("%s: shutting down", strsignal(si.ssi_signo));
		break;
	}
	if (!d.handed_over)
		notify_send("STOPPING=1");
	err = 0;
out:
	if (o->takeover && !committed) {
		/* The running instance takes its own back when we hang up:
		 * undo nothing of what was its. */
		pm_disown(&pm);
		if (d.upm)
			d.upm->old_pm_type = -1;
	}
	takeover_end(&tk);
	/* Fail open first: once steering is gone, traffic is routed. */
	if (steer_up)
		steer_stop_traffic(&d.steer);
	if (d.relay) {
		struct relay_counters rc;

		relay_counters(d.relay, &rc);
		relay_destroy(d.relay);
		pr_info("stopped: %llu connections proxied, %llu bytes up, "
			"%llu bytes down",
			(unsigned long long)rc.accepted,
			(unsigned long long)rc.bytes_up,
			(unsigned long long)rc.bytes_down);
	}
	if (sp_up)
		splice_close(&sp);
	/* The relay is gone: nobody takes a hand-off any more. */
	hold_stop(d.hold);
	if (steer_up)
		steer_stop(&d.steer);
	if (d.ov)
		overflow_close(d.ov);
	if (d.upm)
		upm_close(d.upm);
	if (pm_up)
		pm_close(&pm);
	if (tfd >= 0)
		close(tfd);
	if (efd >= 0)
		close(efd);
	if (wfd >= 0)
		close(wfd);
	free(policy);
	if (epfd >= 0)
		close(epfd);
	if (sfd >= 0)
		close(sfd);
	if (cfd >= 0)
		close(cfd);
	return err;
}
