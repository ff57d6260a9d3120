// SPDX-License-Identifier: GPL-2.0-only
/*
 * steer.c - the steering loader: opens and loads tc_steer.bpf.o through its
 * skeleton, writes the configuration map, installs the local-delivery
 * policy routing (fwmark rule + "local default dev lo" route, IPv4 and
 * IPv6), attaches the programs to tc ingress and pins programs and maps under
 * one directory per instance. steer_stop() undoes exactly what
 * steer_start() did, in reverse order, and nothing else.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>

#include "hybond_abi.h"
#include "log.h"
#include "policy.h"
#include "steer.h"
#include "tc_steer.skel.h"
#include "xdp_guard.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* Our tc filters: one fixed handle and priority, so a restarted daemon
 * replaces a filter left behind by a killed one instead of stacking. */
#define HB_TC_HANDLE 0x4859
#define HB_TC_PRIO 0x4859

static const int fams[2] = { AF_INET, AF_INET6 };

static unsigned long long netns_ino(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(path, &st))
		return 0;
	return (unsigned long long)st.st_ino;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/*
 * `ip netns exec` remounts /sys, so /sys/fs/bpf is not a bpffs there. We
 * then mount one in our own mount namespace (ip netns exec gave us a private
 * one); operators reach it with `nsenter -t PID -m`.
 */
static int ensure_bpffs(struct steer *s, const char *root)
{
	if (strncmp(root, "/sys/fs/bpf", 11) != 0) {
		char parent[PATH_MAX];
		char *slash;

		snprintf(parent, sizeof(parent), "%s", root);
		slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = '\0';
		if (!is_bpffs(parent) && !is_bpffs(root)) {
			pr_err("pin root %s: not on a bpffs; mount one "
			       "(mount -t bpf bpf DIR) or use --no-pin",
			       root);
			return -ENOTSUP;
		}
		return 0;
	}
	if (is_bpffs("/sys/fs/bpf"))
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		pr_err("mounting a bpffs on /sys/fs/bpf failed: %s; mount one "
		       "or use --no-pin",
		       strerror(errno));
		return -errno;
	}
	s->mounted_bpffs = true;
	pr_info("mounted a bpffs on /sys/fs/bpf in this mount namespace "
		"(inspect pins with: nsenter -t %d -m bpftool ...)",
		(int)getpid());
	return 0;
}

static void remove_pins(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* A pin directory that exists already: ours from a killed daemon (remove
 * it), or a live instance of the same name elsewhere (refuse). */
static int claim_pin_dir(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct hybond_cfg cfg;
	__u32 key = 0;
	int fd;

	if (access(dir, F_OK))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, HYBOND_MAP_CFG);
	fd = bpf_obj_get(path);
	if (fd >= 0 && !bpf_map_lookup_elem(fd, &key, &cfg) && cfg.owner_pid &&
	    cfg.owner_pid != (__u32)getpid() && !kill(cfg.owner_pid, 0) &&
	    netns_ino(cfg.owner_pid) == cfg.owner_netns &&
	    cfg.owner_netns != netns_ino(getpid())) {
		close(fd);
		pr_err("pin directory %s belongs to running instance '%s' "
		       "(pid %u) in another network namespace; start this one "
		       "with another --name",
		       dir, name, cfg.owner_pid);
		return -EBUSY;
	}
	if (fd >= 0)
		close(fd);
	pr_info("removing stale pins in %s (left by a daemon that died)", dir);
	remove_pins(dir);
	return 0;
}


static int pin_obj(struct bpf_object *obj, const char *dir)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	char path[PATH_MAX];
	int err;

	bpf_object__for_each_map(map, obj)
	{
		if (strchr(bpf_map__name(map), '.'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		err = bpf_map__pin(map, path);
		if (err)
			return err;
	}
	bpf_object__for_each_program(prog, obj)
	{
		snprintf(path, sizeof(path), "%s/%s", dir,
			 bpf_program__name(prog));
		err = bpf_program__pin(prog, path);
		if (err)
			return err;
	}
	return 0;
}

/* Is this interface a veth (ethtool's driver name)? */
static bool is_veth(const char *ifname)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { .ifr_data = (void *)&di };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool veth;

	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	veth = !ioctl(fd, SIOCETHTOOL, &ifr) && !strcmp(di.driver, "veth");
	close(fd);
	return veth;
}

static int guard_load(struct steer *s, int ifindex, const struct hb_addr *a,
		      int n, uint16_t join_port, int link_fd)
{
	struct hybond_gcfg cfg = { .enabled = 1, .join_port = join_port };
	char ifname[IF_NAMESIZE] = "?";
	__u32 key = 0;
	__u8 one = 1;
	bool veth;
	int err;

	if_indextoname(ifindex, ifname);
	s->guard = xdp_guard_bpf__open_and_load();
	if (!s->guard) {
		err = -errno;
		pr_err("loading the secondary interface guard (XDP) failed: %s",
		       strerror(-err));
		return err;
	}
	for (int i = 0; i < n; i++) {
		struct hybond_gaddr g = { .family = a[i].family == AF_INET ? 4 : 6 };

		memcpy(g.addr, &a[i].v6, a[i].family == AF_INET ? 4 : 16);
		err = bpf_map__update_elem(s->guard->maps.hybond_gaddrs, &g,
					   sizeof(g), &one, sizeof(one), BPF_ANY);
		if (err)
			return err;
	}
	err = bpf_map__update_elem(s->guard->maps.hybond_gcfg, &key, sizeof(key),
				   &cfg, sizeof(cfg), BPF_ANY);
	if (err)
		return err;
	/* A link: it goes when the daemon goes (fail open, like steering).
	 * On a veth, native XDP turns off TSO on the peer (every segment is
	 * then cut in software: the secondary's upload halved in the bench);
	 * generic XDP sees the same packets and leaves offloads alone. */
	veth = is_veth(ifname);
	if (link_fd >= 0) {
		/* --takeover: the running instance's link, our program. */
		if (bpf_link_update(link_fd,
				    bpf_program__fd(s->guard->progs.hybond_guard),
				    NULL)) {
			err = -errno;
			pr_err("%s: putting our guard on the running instance's "
			       "XDP link failed: %s",
			       ifname, strerror(-err));
			close(link_fd);
			return err;
		}
		s->guard_link = link_fd + 1;
	} else {
		LIBBPF_OPTS(bpf_link_create_opts, lo,
			    .flags = veth ? XDP_FLAGS_SKB_MODE : 0);
		int fd = bpf_link_create(
			bpf_program__fd(s->guard->progs.hybond_guard), ifindex,
			BPF_XDP, &lo);

		if (fd < 0) {
			err = -errno;
			pr_err("%s: attaching the XDP guard failed: %s; start "
			       "with --no-guard to run without it",
			       ifname, strerror(-err));
			return err;
		}
		s->guard_link = fd + 1;
	}
	s->guard_ifindex = ifindex;
	if (s->pinned) {
		err = pin_obj(s->guard->obj, s->pin_dir);
		if (err)
			pr_warn("pinning the guard: %s", strerror(-err));
	}
	pr_debug("%s: guard attached (XDP, %s mode)", ifname,
		 veth ? "generic" : "driver's");
	return 0;
}

int steer_guard_start(struct steer *s, int ifindex, const struct hb_addr *a,
		      int n, uint16_t join_port)
{
	return guard_load(s, ifindex, a, n, join_port, -1);
}

int steer_guard_takeover(struct steer *s, int link_fd, int ifindex,
			 const struct hb_addr *a, int n, uint16_t join_port)
{
	return guard_load(s, ifindex, a, n, join_port, link_fd);
}

int steer_guard_link_fd(const struct steer *s)
{
	return s->guard_link - 1;
}

int steer_guard_stats(const struct steer *s, uint64_t *ctr)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[256];

	if (!s->guard)
		return -ENOENT;
	if (ncpu <= 0 || ncpu > 256)
		return -EINVAL;
	for (__u32 i = 0; i < HYBOND_G_MAX; i++) {
		ctr[i] = 0;
		if (bpf_map__lookup_elem(s->guard->maps.hybond_gstats, &i,
					 sizeof(i), vals,
					 sizeof(uint64_t) * ncpu, 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			ctr[i] += vals[c];
	}
	return 0;
}

static int attach(struct steer *s, int slot, int ifindex,
		  const struct bpf_program *prog)
{
	struct tc_hook_state *h = &s->hooks[slot];
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = HB_TC_HANDLE,
		    .priority = HB_TC_PRIO, .flags = BPF_TC_F_REPLACE,
		    .prog_fd = bpf_program__fd(prog));
	char ifname[IF_NAMESIZE] = "?";
	int err;

	if_indextoname(ifindex, ifname);
	h->ifindex = ifindex;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_err("%s: creating the clsact qdisc failed: %s", ifname,
		       strerror(-err));
		return err;
	}
	h->created_qdisc = !err;
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		pr_err("%s: attaching %s to tc ingress failed: %s", ifname,
		       bpf_program__name(prog), strerror(-err));
		return err;
	}
	h->attached = true;
	pr_debug("%s: %s attached to tc ingress (prog id %u)", ifname,
		 bpf_program__name(prog), opts.prog_id);
	return 0;
}

static void detach(struct tc_hook_state *h)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = h->ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = HB_TC_HANDLE,
		    .priority = HB_TC_PRIO);

	if (h->attached) {
		int err = bpf_tc_detach(&hook, &opts);

		if (err && err != -ENOENT && err != -ENODEV)
			pr_warn("ifindex %d: detaching tc filter: %s",
				h->ifindex, strerror(-err));
		h->attached = false;
	}
	if (h->created_qdisc) {
		/* Only the qdisc we created, and only whole (both points). */
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
		h->created_qdisc = false;
	}
}

static int install_routing(struct steer *s)
{
	int lo = if_nametoindex("lo");
	int err;

	for (int i = 0; i < 2; i++) {
		/* Leftovers of a killed daemon with the same settings. */
		nl_fwmark_rule(&s->rt, false, fams[i], s->mark, s->table,
			       s->pref);
		nl_local_default(&s->rt, false, fams[i], s->table, lo);

		err = nl_local_default(&s->rt, true, fams[i], s->table, lo);
		if (err) {
			pr_err("adding 'local default dev lo table %u' (%s) "
			       "failed: %s%s%s",
			       s->table, fams[i] == AF_INET ? "IPv4" : "IPv6",
			       strerror(-err), s->rt.err[0] ? ": " : "",
			       s->rt.err);
			return err;
		}
		s->route[i] = true;
		err = nl_fwmark_rule(&s->rt, true, fams[i], s->mark, s->table,
				     s->pref);
		if (err) {
			pr_err("adding rule 'fwmark 0x%x lookup %u pref %u' "
			       "(%s) failed: %s%s%s; pick another --table or "
			       "--fwmark",
			       s->mark, s->table, s->pref,
			       fams[i] == AF_INET ? "IPv4" : "IPv6",
			       strerror(-err), s->rt.err[0] ? ": " : "",
			       s->rt.err);
			return err;
		}
		s->rule[i] = true;
	}
	return 0;
}

static void remove_routing(struct steer *s)
{
	int lo = if_nametoindex("lo");

	for (int i = 0; i < 2; i++) {
		if (s->rule[i] && nl_fwmark_rule(&s->rt, false, fams[i], s->mark,
						 s->table, s->pref))
			pr_warn("removing fwmark rule: %s", s->rt.err);
		if (s->route[i] &&
		    nl_local_default(&s->rt, false, fams[i], s->table, lo))
			pr_warn("removing local route: %s", s->rt.err);
		s->rule[i] = s->route[i] = false;
	}
}

static int write_cfg(struct steer *s, const struct steer_opts *o, bool on)
{
	struct hybond_cfg cfg = {
		.role = o->role,
		.flags = (on ? HYBOND_F_ENABLED : 0) | o->flags |
			 (o->nsubs ? HYBOND_F_SUBS_ONLY : 0),
		.mark = o->mark,
		.lport4 = o->lport4,
		.lport6 = o->lport6,
		.policy = s->policy_word,
		.up_ifindex = o->return_ifindex,
		.owner_pid = getpid(),
		.owner_netns = netns_ino(getpid()),
	};
	__u32 key = 0;

	return bpf_map__update_elem(s->skel->maps.hybond_cfg, &key, sizeof(key),
				    &cfg, sizeof(cfg), BPF_ANY);
}

int steer_start(struct steer *s, const struct steer_opts *o)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->mark = o->mark;
	s->table = o->table;
	s->pref = o->rule_pref;

	err = nl_open(&s->rt, NETLINK_ROUTE);
	if (err) {
		pr_err("opening rtnetlink: %s", strerror(-err));
		return err;
	}

	if (o->pin_root) {
		err = ensure_bpffs(s, o->pin_root);
		if (err)
			goto fail;
		if (snprintf(s->pin_dir, sizeof(s->pin_dir), "%s/%s",
			     o->pin_root, o->name) >= (int)sizeof(s->pin_dir)) {
			err = -ENAMETOOLONG;
			goto fail;
		}
		/* (--takeover: the running instance's pins are replaced
		 * at commit.) */
		err = o->takeover ? 0 : claim_pin_dir(s->pin_dir, o->name);
		if (err)
			goto fail;
	}
	s->pin_root = o->pin_root;
	s->extra_obj = o->extra_obj;
	s->name = o->name;

	s->skel = tc_steer_bpf__open();
	if (!s->skel) {
		err = -errno;
		pr_err("opening the steering BPF object failed: %s",
		       strerror(-err));
		goto fail;
	}
	if (o->takeover) {
		/* One ring and one held map for both processes: the SYNs
		 * held while the old one finishes wait for the new one, and
		 * a SYN the old one released is steered by our program. */
		err = bpf_map__reuse_fd(s->skel->maps.hybond_events,
					o->reuse_events_fd);
		if (!err)
			err = bpf_map__reuse_fd(s->skel->maps.hybond_held,
						o->reuse_held_fd);
		if (err) {
			pr_err("--takeover: sharing the running instance's maps "
			       "failed: %s",
			       strerror(-err));
			goto fail;
		}
	}
	err = tc_steer_bpf__load(s->skel);
	if (err) {
		pr_err("loading the steering programs failed: %s (rerun with "
		       "-v for the verifier's log; the kernel needs BPF, BTF "
		       "and bpf_sk_assign)",
		       strerror(-err));
		goto fail;
	}
	for (int i = 0; i < o->nsubs; i++) {
		const struct hb_addr *a = &o->subs[i];
		__u32 idx = i;

		if (a->family == AF_INET) {
			struct hybond_lpm4 k = { .prefixlen = a->prefixlen,
						 .addr = a->v4.s_addr };

			err = bpf_map__update_elem(s->skel->maps.hybond_subs4, &k,
						   sizeof(k), &idx, sizeof(idx),
						   BPF_ANY);
		} else {
			struct hybond_lpm6 k = { .prefixlen = a->prefixlen };

			memcpy(k.addr, &a->v6, 16);
			err = bpf_map__update_elem(s->skel->maps.hybond_subs6, &k,
						   sizeof(k), &idx, sizeof(idx),
						   BPF_ANY);
		}
		if (err) {
			pr_err("subscriber prefix %d: %s", i, strerror(-err));
			goto fail;
		}
	}
	s->policy_word = HYBOND_POLICY(0, HYBOND_ACT_BOND, 0);
	err = write_cfg(s, o, false);
	if (!err && o->policy)
		err = steer_set_policy(s, o->policy);
	if (err)
		goto fail;

	/* --takeover: the running instance's rules and routes are in place
	 * (same settings); ours at commit. */
	err = o->takeover ? 0 : install_routing(s);
	if (err)
		goto fail;
	/* BPF_TC_F_REPLACE: over the running instance's filter, if any, in
	 * one step. */
	err = attach(s, 0, o->steer_ifindex, s->skel->progs.hybond_steer);
	if (err)
		goto fail;
	err = attach(s, 1, o->return_ifindex, s->skel->progs.hybond_return);
	if (err)
		goto fail;
	if (o->takeover) {
		/* Not ours to detach before commit (the old instance puts
		 * its own back if we give up). */
		for (int i = 0; i < 2; i++)
			s->hooks[i].attached = s->hooks[i].created_qdisc = false;
	}

	if (o->pin_root && !o->takeover) {
		err = mkdir_p(s->pin_dir, 0700);
		/* (.rodata-style internal maps have dots: not pinnable.) */
		if (!err)
			err = pin_obj(s->skel->obj, s->pin_dir);
		if (!err && o->extra_obj)
			err = pin_obj(o->extra_obj, s->pin_dir);
		if (err) {
			pr_err("pinning under %s failed: %s", s->pin_dir,
			       strerror(-err));
			goto fail;
		}
		s->pinned = true;
	}
	err = write_cfg(s, o, true);
	if (err)
		goto fail;
	return 0;

fail:
	steer_stop(s);
	return err;
}

void steer_stop_traffic(struct steer *s)
{
	__u32 key = 0;
	struct hybond_cfg cfg;

	if (s->disowned)
		return;
	/* Inert first, so nothing is steered while the rest comes down. */
	if (s->skel && !bpf_map__lookup_elem(s->skel->maps.hybond_cfg, &key,
					     sizeof(key), &cfg, sizeof(cfg), 0)) {
		cfg.flags &= ~HYBOND_F_ENABLED;
		bpf_map__update_elem(s->skel->maps.hybond_cfg, &key, sizeof(key),
				     &cfg, sizeof(cfg), BPF_ANY);
	}
	for (int i = 1; i >= 0; i--)
		detach(&s->hooks[i]);
	remove_routing(s);
}

void steer_own(struct steer *s, const bool created_qdisc[2])
{
	for (int i = 0; i < 2; i++) {
		s->hooks[i].attached = true;
		s->hooks[i].created_qdisc = created_qdisc[i];
		s->rule[i] = s->route[i] = true;
	}
	if (s->pin_root) {
		int err;

		remove_pins(s->pin_dir);
		err = mkdir_p(s->pin_dir, 0700);
		if (!err)
			err = pin_obj(s->skel->obj, s->pin_dir);
		if (!err && s->guard)
			err = pin_obj(s->guard->obj, s->pin_dir);
		if (!err && s->extra_obj)
			err = pin_obj(s->extra_obj, s->pin_dir);
		if (err)
			pr_warn("pinning under %s failed: %s", s->pin_dir,
				strerror(-err));
		else
			s->pinned = true;
	}
}

void steer_disown(struct steer *s)
{
	s->disowned = true;
	for (int i = 0; i < 2; i++) {
		s->hooks[i].attached = s->hooks[i].created_qdisc = false;
		s->rule[i] = s->route[i] = false;
	}
	s->pinned = false;
}

void steer_reclaim(struct steer *s)
{
	const struct bpf_program *p[2] = { s->skel->progs.hybond_steer,
					   s->skel->progs.hybond_return };
	bool created[2] = { s->hooks[0].created_qdisc,
			    s->hooks[1].created_qdisc };

	for (int i = 0; i < 2; i++)
		if (attach(s, i, s->hooks[i].ifindex, p[i]))
			pr_err("putting our program back on ifindex %d failed",
			       s->hooks[i].ifindex);
		else
			s->hooks[i].created_qdisc = created[i];
	if (s->guard_link &&
	    bpf_link_update(s->guard_link - 1,
			    bpf_program__fd(s->guard->progs.hybond_guard), NULL))
		pr_err("putting our guard back failed: %s", strerror(errno));
}

void steer_stop(struct steer *s)
{
	steer_stop_traffic(s);
	if (s->guard_link)
		close(s->guard_link - 1);
	s->guard_link = 0;
	if (s->guard)
		xdp_guard_bpf__destroy(s->guard);
	s->guard = NULL;
	if (s->pinned) {
		char *slash;

		remove_pins(s->pin_dir);
		/* The shared root too, when we were the last instance. */
		slash = strrchr(s->pin_dir, '/');
		if (slash) {
			*slash = '\0';
			rmdir(s->pin_dir);
		}
	}
	s->pinned = false;
	if (s->skel)
		tc_steer_bpf__destroy(s->skel);
	s->skel = NULL;
	if (s->mounted_bpffs && umount2("/sys/fs/bpf", MNT_DETACH))
		pr_warn("unmounting /sys/fs/bpf: %s", strerror(errno));
	s->mounted_bpffs = false;
	nl_close(&s->rt);
}

/*
 * Write the rules into the bank not in force, then switch banks, default
 * action and count with one store of the policy word: a SYN sees the whole
 * old policy or the whole new one. Established connections never consult it.
 */
int steer_set_policy(struct steer *s, const struct policy *p)
{
	struct bpf_map *rules = s->skel->maps.hybond_rules;
	struct hybond_cfg cfg;
	__u32 key = 0, bank, word;
	int err;

	err = bpf_map__lookup_elem(s->skel->maps.hybond_cfg, &key, sizeof(key),
				   &cfg, sizeof(cfg), 0);
	if (err)
		return err;
	bank = !HYBOND_POLICY_BANK(cfg.policy);
	for (int i = 0; i < p->nrules; i++) {
		__u32 slot = bank * HYBOND_MAX_RULES + i;

		err = bpf_map__update_elem(rules, &slot, sizeof(slot),
					   &p->rules[i], sizeof(p->rules[i]),
					   BPF_ANY);
		if (err)
			return err;
	}
	word = HYBOND_POLICY(bank, p->default_action, p->nrules);
	cfg.policy = word;
	err = bpf_map__update_elem(s->skel->maps.hybond_cfg, &key, sizeof(key),
				   &cfg, sizeof(cfg), BPF_ANY);
	if (!err)
		s->policy_word = word;
	return err;
}

/* What is in force, read back from the maps (bpftool edits included). */
int steer_get_policy(struct steer *s, struct policy *p)
{
	struct hybond_cfg cfg;
	__u32 key = 0, bank;
	int err;

	memset(p, 0, sizeof(*p));
	err = bpf_map__lookup_elem(s->skel->maps.hybond_cfg, &key, sizeof(key),
				   &cfg, sizeof(cfg), 0);
	if (err)
		return err;
	bank = HYBOND_POLICY_BANK(cfg.policy);
	p->default_action = HYBOND_POLICY_DEFAULT(cfg.policy);
	p->nrules = HYBOND_POLICY_COUNT(cfg.policy);
	if (p->nrules > HYBOND_MAX_RULES)
		p->nrules = HYBOND_MAX_RULES;
	for (int i = 0; i < p->nrules; i++) {
		__u32 slot = bank * HYBOND_MAX_RULES + i;

		err = bpf_map__lookup_elem(s->skel->maps.hybond_rules, &slot,
					   sizeof(slot), &p->rules[i],
					   sizeof(p->rules[i]), 0);
		if (err)
			return err;
	}
	return 0;
}

int steer_stats_fd(const struct steer *s)
{
	return bpf_map__fd(s->skel->maps.hybond_stats);
}

int steer_held_fd(const struct steer *s)
{
	return bpf_map__fd(s->skel->maps.hybond_held);
}

int steer_events_fd(const struct steer *s)
{
	return bpf_map__fd(s->skel->maps.hybond_events);
}

int steer_subs_fd(const struct steer *s, int family)
{
	return bpf_map__fd(family == AF_INET ? s->skel->maps.hybond_subs4 :
					       s->skel->maps.hybond_subs6);
}

int steer_reinject_fd(const struct steer *s)
{
	return bpf_program__fd(s->skel->progs.hybond_reinject);
}
