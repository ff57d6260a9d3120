// SPDX-License-Identifier: GPL-2.0-only
/*
 * stats.c - renders what hybond counts: the steering programs' per-CPU
 * counters (summed), the relay's totals (monotonic while the daemon runs,
 * ended connections included) and its live connections with their subflows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "stats.h"

static const char *const ctr_name[HYBOND_CTR_MAX] = {
	[HYBOND_CTR_PACKETS] = "packets",
	[HYBOND_CTR_NON_TCP] = "non_tcp_passed",
	[HYBOND_CTR_MALFORMED] = "malformed_passed",
	[HYBOND_CTR_SYN] = "syn",
	[HYBOND_CTR_SYN_PLAIN] = "syn_plain_passed",
	[HYBOND_CTR_SYN_NOT_UP] = "syn_not_upstream",
	[HYBOND_CTR_SYN_BYPASS] = "syn_bypassed",
	[HYBOND_CTR_SYN_STEERED] = "syn_steered",
	[HYBOND_CTR_NO_LISTENER] = "steer_fail_no_listener",
	[HYBOND_CTR_ASSIGN_ERR] = "steer_fail_assign",
	[HYBOND_CTR_LOCAL] = "delivered_local",
	[HYBOND_CTR_TS_STRIPPED] = "syn_timestamps_stripped",
	[HYBOND_CTR_SYN_HELD] = "syn_held",
	[HYBOND_CTR_SYN_HELD_TW] = "syn_held_time_wait",
	[HYBOND_CTR_SYN_HELD_DUP] = "syn_held_duplicate_dropped",
	[HYBOND_CTR_SYN_RELEASED] = "syn_released",
	[HYBOND_CTR_HOLD_FAIL] = "syn_hold_failed",
	[HYBOND_CTR_SPOOFED] = "syn_spoofed_dropped",
	[HYBOND_CTR_SYN_FALLBACK_HELD] = "syn_fallback_held_dropped",
};

static const char *const net_name[NET_MAX] = { "primary", "secondary" };
static const char *const guard_name[HYBOND_G_MAX] = {
	[HYBOND_G_PASS_JOIN] = "pass_mp_join",
	[HYBOND_G_PASS_EST] = "pass_subflow",
	[HYBOND_G_PASS_ICMP] = "pass_icmp",
	[HYBOND_G_PASS_NONIP] = "pass_non_ip",
	[HYBOND_G_DROP_NOT_OURS] = "drop_not_announced",
	[HYBOND_G_DROP_SYN] = "drop_syn_not_join",
	[HYBOND_G_DROP_NO_SOCK] = "drop_no_subflow",
	[HYBOND_G_DROP_ICMP] = "drop_icmp",
	[HYBOND_G_DROP_OTHER] = "drop_other",
};
static const char *const dir_name[HYBOND_DIR_MAX] = { "steer", "return" };
static const char *const fam_name[HYBOND_FAM_MAX] = { "ipv4", "ipv6" };

int stats_read_bpf(int map_fd, uint64_t ctr[HYBOND_STAT_ENTRIES])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < HYBOND_STAT_ENTRIES; i++) {
		ctr[i] = 0;
		if (bpf_map_lookup_elem(map_fd, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			ctr[i] += vals[c];
	}
	free(vals);
	return 0;
}

int stats_format_parse(const char *s)
{
	if (!strcmp(s, "table"))
		return STATS_TABLE;
	if (!strcmp(s, "json"))
		return STATS_JSON;
	if (!strcmp(s, "prometheus"))
		return STATS_PROMETHEUS;
	return -1;
}

static const char *addr_port(const struct sockaddr_storage *ss, char *buf,
			     size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr))
			inet_ntop(AF_INET, &s->sin6_addr.s6_addr[12], a,
				  sizeof(a));
		else
			inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, len, IN6_IS_ADDR_V4MAPPED(&s->sin6_addr) ?
					   "%s:%u" :
					   "[%s]:%u",
			 a, ntohs(s->sin6_port));
	} else {
		snprintf(buf, len, "-");
	}
	return buf;
}

static const char *human(uint64_t b, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

static uint64_t ctr(const struct stats_input *in, int dir, int fam, int c)
{
	return in->ctr[hybond_stat_idx(dir, fam, c)];
}

static uint64_t ctr_sum(const struct stats_input *in, int dir, int c)
{
	return ctr(in, dir, HYBOND_FAM_V4, c) + ctr(in, dir, HYBOND_FAM_V6, c);
}

static void render_table(const struct stats_input *in, struct sbuf *o)
{
	const struct relay_counters *rc = &in->rc;
	char a[64], b[64], h1[32], h2[32];

	sbuf_printf(o, "hybond %s '%s' (pid %d), up %llus, data path: %s (%s)\n\n",
		    in->role, in->name, in->pid,
		    (unsigned long long)in->uptime_s, in->datapath,
		    in->datapath_why);
	if (in->bonding.present)
		sbuf_printf(o,
			    "bonding: %s, secondary %s (switched on %llu times, "
			    "cap held it off %llu times, flags re-sent to joins "
			    "%llu times, to a HAG not following %llu times); "
			    "now primary %.1f/%.1f Mbit/s down/up of "
			    "%.1f/%.1f, secondary %.1f/%.1f%s\n\n",
			    in->bonding.mode,
			    in->bonding.secondary_on ? "in use" : "standby",
			    (unsigned long long)in->bonding.activations,
			    (unsigned long long)in->bonding.cap_holds,
			    (unsigned long long)in->bonding.reasserted,
			    (unsigned long long)in->bonding.peer_resends,
			    in->bonding.rate_bps[0] / 1e6,
			    in->bonding.rate_bps[1] / 1e6,
			    in->bonding.primary_down_bps / 1e6,
			    in->bonding.primary_up_bps / 1e6,
			    in->bonding.rate_bps[2] / 1e6,
			    in->bonding.rate_bps[3] / 1e6,
			    in->bonding.secondary_cap_bps > 0 ? " (capped)" : "");
	if (in->pm.present)
		sbuf_printf(o,
			    "path manager: hybond's (userspace PM), %llu "
			    "connections seen, %llu subflows opened, %llu "
			    "failed, %llu lost and retried, %llu announced, %llu "
			    "tracked now, %llu ended before joining, %llu "
			    "switched once connected, %llu event overflows, "
			    "%llu found closed after them, %llu subflows "
			    "found gone and made again, %llu found open and "
			    "followed\n\n",
			    (unsigned long long)in->pm.established,
			    (unsigned long long)in->pm.subflows_created,
			    (unsigned long long)in->pm.subflow_errors,
			    (unsigned long long)in->pm.retries,
			    (unsigned long long)in->pm.announced,
			    (unsigned long long)in->pm.tracked,
			    (unsigned long long)in->pm.ended_unjoined,
			    (unsigned long long)in->pm.prio_resent,
			    (unsigned long long)in->pm.events_lost,
			    (unsigned long long)in->pm.swept,
			    (unsigned long long)in->pm.subflows_swept,
			    (unsigned long long)in->pm.adopted);
	sbuf_printf(o, "%-16s %14s %14s\n", "access network", "sent",
		    "received");
	for (int n = 0; n < NET_MAX; n++)
		sbuf_printf(o, "%-16s %14s %14s\n", net_name[n],
			    human(rc->net_sent[n], h1, sizeof(h1)),
			    human(rc->net_recv[n], h2, sizeof(h2)));
	sbuf_printf(o,
		    "\nconnections: %llu proxied, %llu active, %llu upstream "
		    "failures, %llu resets carried, %llu fell back to TCP, "
		    "%llu direct refused, %llu spliced in the kernel (%llu "
		    "outran their receiver)\n",
		    (unsigned long long)rc->accepted,
		    (unsigned long long)rc->active,
		    (unsigned long long)rc->upstream_fail,
		    (unsigned long long)rc->resets,
		    (unsigned long long)rc->fallback,
		    (unsigned long long)rc->refused_direct,
		    (unsigned long long)rc->spliced,
		    (unsigned long long)rc->splice_overrun);
	sbuf_printf(o, "relayed: %s host->server, %s server->host\n",
		    human(rc->bytes_up, h1, sizeof(h1)),
		    human(rc->bytes_down, h2, sizeof(h2)));
	sbuf_printf(o,
		    "handshake: %llu released after the upstream answered, "
		    "%llu refused (reset), %llu unreachable (ICMP), %llu never "
		    "answered, %llu TIME_WAIT cleared, %llu answers not sent\n",
		    (unsigned long long)in->hold.released,
		    (unsigned long long)in->hold.refused,
		    (unsigned long long)in->hold.unreachable,
		    (unsigned long long)in->hold.timed_out,
		    (unsigned long long)in->hold.tw_cleared,
		    (unsigned long long)in->hold.answer_failed);
	sbuf_printf(o, "policy: %llu SYNs bonded, %llu bypassed\n\n",
		    (unsigned long long)ctr_sum(in, HYBOND_DIR_STEER,
						HYBOND_CTR_SYN_STEERED),
		    (unsigned long long)ctr_sum(in, HYBOND_DIR_STEER,
						HYBOND_CTR_SYN_BYPASS));

	sbuf_printf(o, "%-26s %12s %12s %12s %12s\n", "steering counters",
		    "ipv4 steer", "ipv4 return", "ipv6 steer", "ipv6 return");
	for (int c = 0; c < HYBOND_CTR_MAX; c++)
		sbuf_printf(o, "%-26s %12llu %12llu %12llu %12llu\n",
			    ctr_name[c],
			    (unsigned long long)ctr(in, 0, 0, c),
			    (unsigned long long)ctr(in, 1, 0, c),
			    (unsigned long long)ctr(in, 0, 1, c),
			    (unsigned long long)ctr(in, 1, 1, c));

	if (in->have_guard) {
		sbuf_printf(o, "\nsecondary guard (XDP):");
		for (int g = 0; g < HYBOND_G_MAX; g++)
			sbuf_printf(o, " %s %llu", guard_name[g],
				    (unsigned long long)in->guard[g]);
		sbuf_printf(o, "\n");
	}
	sbuf_printf(o, "\nactive connections: %d%s\n", in->nconns,
		    in->conns_truncated ? " (list truncated)" : "");
	for (int i = 0; i < in->nconns; i++) {
		const struct relay_conn_view *v = &in->conns[i];

		sbuf_printf(o, "  %s -> %s  %.1fs  up %s  down %s%s%s\n",
			    addr_port(&v->host, a, sizeof(a)),
			    addr_port(&v->server, b, sizeof(b)),
			    v->age_ms / 1000.0,
			    human(v->bytes_up, h1, sizeof(h1)),
			    human(v->bytes_down, h2, sizeof(h2)),
			    v->connecting ? "  connecting" : "",
			    v->si.fallback ? "  fell back to TCP" : "");
		for (int s = 0; s < v->si.nsub; s++) {
			const struct subflow_info *sf = &v->si.sub[s];

			sbuf_printf(o,
				    "      %-9s %s -> %s  rtt %.1fms  retrans %u  "
				    "sent %s  received %s\n",
				    net_name[sf->net],
				    addr_port(&sf->local, a, sizeof(a)),
				    addr_port(&sf->remote, b, sizeof(b)),
				    sf->rtt_us / 1000.0, sf->total_retrans,
				    human(sf->bytes_sent, h1, sizeof(h1)),
				    human(sf->bytes_received, h2, sizeof(h2)));
		}
	}
}

static void render_json(const struct stats_input *in, struct sbuf *o)
{
	const struct relay_counters *rc = &in->rc;
	char a[64];

	sbuf_printf(o, "{\"instance\":{\"role\":");
	sbuf_json_str(o, in->role);
	sbuf_printf(o, ",\"name\":");
	sbuf_json_str(o, in->name);
	sbuf_printf(o, ",\"pid\":%d,\"uptime_s\":%llu,\"datapath\":", in->pid,
		    (unsigned long long)in->uptime_s);
	sbuf_json_str(o, in->datapath);
	sbuf_printf(o, ",\"datapath_reason\":");
	sbuf_json_str(o, in->datapath_why);
	sbuf_printf(o, "},\"networks\":{");
	for (int n = 0; n < NET_MAX; n++)
		sbuf_printf(o, "%s\"%s\":{\"sent_bytes\":%llu,"
			    "\"received_bytes\":%llu}",
			    n ? "," : "", net_name[n],
			    (unsigned long long)rc->net_sent[n],
			    (unsigned long long)rc->net_recv[n]);
	sbuf_printf(o,
		    "},\"relay\":{\"accepted\":%llu,\"active\":%llu,"
		    "\"upstream_failures\":%llu,\"resets\":%llu,"
		    "\"refused_direct\":%llu,\"fallback\":%llu,"
		    "\"bytes_up\":%llu,\"bytes_down\":%llu,\"stalled\":%llu,"
		    "\"refused_limit\":%llu,\"idle_closed\":%llu,"
		    "\"wakeups_lost\":%llu,\"rcvbuf_raised\":%llu,"
		    "\"spliced\":%llu,\"splice_overrun\":%llu},",
		    (unsigned long long)rc->accepted,
		    (unsigned long long)rc->active,
		    (unsigned long long)rc->upstream_fail,
		    (unsigned long long)rc->resets,
		    (unsigned long long)rc->refused_direct,
		    (unsigned long long)rc->fallback,
		    (unsigned long long)rc->bytes_up,
		    (unsigned long long)rc->bytes_down,
		    (unsigned long long)rc->stalled,
		    (unsigned long long)(rc->refused_limit + in->hold.refused_limit),
		    (unsigned long long)rc->idle_closed,
		    (unsigned long long)rc->wakeups_lost,
		    (unsigned long long)rc->rcvbuf_raised,
		    (unsigned long long)rc->spliced,
		    (unsigned long long)rc->splice_overrun);
	if (in->bonding.present)
		sbuf_printf(o,
			    "\"bonding\":{\"mode\":\"%s\",\"secondary_in_use\":%s,"
			    "\"primary_capacity_bps\":{\"down\":%.0f,\"up\":%.0f},"
			    "\"secondary_cap_bps\":%.0f,"
			    "\"rate_bps\":{\"primary\":{\"down\":%.0f,\"up\":%.0f},"
			    "\"secondary\":{\"down\":%.0f,\"up\":%.0f}},"
			    "\"activations\":%llu,\"cap_holds\":%llu,"
			    "\"flags_resent\":%llu,\"peer_resends\":%llu},",
			    in->bonding.mode,
			    in->bonding.secondary_on ? "true" : "false",
			    in->bonding.primary_down_bps,
			    in->bonding.primary_up_bps,
			    in->bonding.secondary_cap_bps,
			    in->bonding.rate_bps[0], in->bonding.rate_bps[1],
			    in->bonding.rate_bps[2], in->bonding.rate_bps[3],
			    (unsigned long long)in->bonding.activations,
			    (unsigned long long)in->bonding.cap_holds,
			    (unsigned long long)in->bonding.reasserted,
			    (unsigned long long)in->bonding.peer_resends);
	if (in->pm.present)
		sbuf_printf(o,
			    "\"path_manager\":{\"connections\":%llu,"
			    "\"subflows_created\":%llu,\"subflow_errors\":%llu,"
			    "\"retries\":%llu,\"announced\":%llu,"
			    "\"tracked\":%llu,\"ended_unjoined\":%llu,"
			    "\"prio_resent\":%llu,\"events_lost\":%llu,"
			    "\"swept\":%llu,\"subflows_swept\":%llu,"
			    "\"adopted\":%llu},",
			    (unsigned long long)in->pm.established,
			    (unsigned long long)in->pm.subflows_created,
			    (unsigned long long)in->pm.subflow_errors,
			    (unsigned long long)in->pm.retries,
			    (unsigned long long)in->pm.announced,
			    (unsigned long long)in->pm.tracked,
			    (unsigned long long)in->pm.ended_unjoined,
			    (unsigned long long)in->pm.prio_resent,
			    (unsigned long long)in->pm.events_lost,
			    (unsigned long long)in->pm.swept,
			    (unsigned long long)in->pm.subflows_swept,
			    (unsigned long long)in->pm.adopted);
	sbuf_printf(o, "\"policy\":{\"bond\":{\"syns\":%llu},"
		       "\"bypass\":{\"syns\":%llu}},",
		    (unsigned long long)ctr_sum(in, HYBOND_DIR_STEER,
						HYBOND_CTR_SYN_STEERED),
		    (unsigned long long)ctr_sum(in, HYBOND_DIR_STEER,
						HYBOND_CTR_SYN_BYPASS));
	sbuf_printf(o,
		    "\"handshake\":{\"released\":%llu,\"refused\":%llu,"
		    "\"unreachable\":%llu,\"timed_out\":%llu,"
		    "\"time_wait_cleared\":%llu,\"overload\":%llu,"
		    "\"answers_failed\":%llu},",
		    (unsigned long long)in->hold.released,
		    (unsigned long long)in->hold.refused,
		    (unsigned long long)in->hold.unreachable,
		    (unsigned long long)in->hold.timed_out,
		    (unsigned long long)in->hold.tw_cleared,
		    (unsigned long long)in->hold.overload,
		    (unsigned long long)in->hold.answer_failed);
	if (in->have_guard) {
		sbuf_printf(o, "\"guard\":{");
		for (int g = 0; g < HYBOND_G_MAX; g++)
			sbuf_printf(o, "%s\"%s\":%llu", g ? "," : "", guard_name[g],
				    (unsigned long long)in->guard[g]);
		sbuf_printf(o, "},");
	}
	sbuf_printf(o, "\"steering\":{");
	for (int f = 0; f < HYBOND_FAM_MAX; f++) {
		sbuf_printf(o, "%s\"%s\":{", f ? "," : "", fam_name[f]);
		for (int d = 0; d < HYBOND_DIR_MAX; d++) {
			sbuf_printf(o, "%s\"%s\":{", d ? "," : "", dir_name[d]);
			for (int c = 0; c < HYBOND_CTR_MAX; c++)
				sbuf_printf(o, "%s\"%s\":%llu", c ? "," : "",
					    ctr_name[c],
					    (unsigned long long)ctr(in, d, f, c));
			sbuf_printf(o, "}");
		}
		sbuf_printf(o, "}");
	}
	sbuf_printf(o, "},\"connections_truncated\":%s,\"connections\":[",
		    in->conns_truncated ? "true" : "false");
	for (int i = 0; i < in->nconns; i++) {
		const struct relay_conn_view *v = &in->conns[i];

		sbuf_printf(o, "%s{\"host\":", i ? "," : "");
		sbuf_json_str(o, addr_port(&v->host, a, sizeof(a)));
		sbuf_printf(o, ",\"server\":");
		sbuf_json_str(o, addr_port(&v->server, a, sizeof(a)));
		sbuf_printf(o,
			    ",\"age_ms\":%llu,\"bytes_up\":%llu,"
			    "\"bytes_down\":%llu,\"connecting\":%s,"
			    "\"mptcp\":%s,\"fallback\":%s,\"subflows\":[",
			    (unsigned long long)v->age_ms,
			    (unsigned long long)v->bytes_up,
			    (unsigned long long)v->bytes_down,
			    v->connecting ? "true" : "false",
			    v->si.mptcp ? "true" : "false",
			    v->si.fallback ? "true" : "false");
		for (int s = 0; s < v->si.nsub; s++) {
			const struct subflow_info *sf = &v->si.sub[s];

			sbuf_printf(o, "%s{\"net\":\"%s\",\"local\":",
				    s ? "," : "", net_name[sf->net]);
			sbuf_json_str(o, addr_port(&sf->local, a, sizeof(a)));
			sbuf_printf(o, ",\"remote\":");
			sbuf_json_str(o, addr_port(&sf->remote, a, sizeof(a)));
			sbuf_printf(o,
				    ",\"rtt_us\":%u,\"retrans\":%u,"
				    "\"bytes_sent\":%llu,\"bytes_received\":%llu}",
				    sf->rtt_us, sf->total_retrans,
				    (unsigned long long)sf->bytes_sent,
				    (unsigned long long)sf->bytes_received);
		}
		sbuf_printf(o, "]}");
	}
	sbuf_printf(o, "]}\n");
}

static void prom_head(struct sbuf *o, const char *name, const char *type,
		      const char *help)
{
	sbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample with the instance and one more label: NAME{instance_name=
 * "INST",LABEL="VALUE"} V */
static void prom_one(struct sbuf *o, const char *name, const char *inst,
		     const char *label, const char *value, double v)
{
	sbuf_printf(o, "%s{instance_name=\"%s\",%s=\"%s\"} %.0f\n", name, inst,
		    label, value, v);
}

/* The counters the JSON has beyond the relay's and the steering's:
 * more relay outcomes, the held handshakes, primary-first bonding (CPE)
 * and hybond's own path manager, when it runs. */
static void render_prometheus_more(const struct stats_input *in,
				   struct sbuf *o)
{
	const struct relay_counters *rc = &in->rc;
	const char *n = in->name;
	const char *m;

	m = "hybond_relay_events_total";
	prom_head(o, m, "counter",
		  "Relay events: connections refused (direct to the relay, "
		  "over the limit), closed idle, stalled; lost wake-ups and "
		  "raised receive buffers.");
	prom_one(o, m, n, "event", "refused_direct", rc->refused_direct);
	prom_one(o, m, n, "event", "refused_limit",
		 rc->refused_limit + in->hold.refused_limit);
	prom_one(o, m, n, "event", "idle_closed", rc->idle_closed);
	prom_one(o, m, n, "event", "stalled", rc->stalled);
	prom_one(o, m, n, "event", "wakeups_lost", rc->wakeups_lost);
	prom_one(o, m, n, "event", "rcvbuf_raised", rc->rcvbuf_raised);

	m = "hybond_handshakes_total";
	prom_head(o, m, "counter",
		  "Held SYNs by outcome (the draft's handshake order).");
	prom_one(o, m, n, "outcome", "released", in->hold.released);
	prom_one(o, m, n, "outcome", "refused", in->hold.refused);
	prom_one(o, m, n, "outcome", "unreachable", in->hold.unreachable);
	prom_one(o, m, n, "outcome", "timed_out", in->hold.timed_out);
	prom_one(o, m, n, "outcome", "time_wait_cleared", in->hold.tw_cleared);
	prom_one(o, m, n, "outcome", "overload", in->hold.overload);
	prom_head(o, "hybond_handshake_answers_failed_total", "counter",
		  "Resets or ICMP errors for a held SYN's host that could not "
		  "be sent (each also counted under its outcome).");
	sbuf_printf(o, "hybond_handshake_answers_failed_total{instance_name="
		       "\"%s\"} %llu\n",
		    n, (unsigned long long)in->hold.answer_failed);

	if (in->bonding.present) {
		static const char *const rate_net[4] = { "primary", "primary",
							 "secondary", "secondary" };
		static const char *const rate_dir[4] = { "down", "up", "down", "up" };

		prom_head(o, "hybond_secondary_in_use", "gauge",
			  "1 while primary-first bonding uses the secondary.");
		sbuf_printf(o, "hybond_secondary_in_use{instance_name=\"%s\","
			       "mode=\"%s\"} %d\n",
			    n, in->bonding.mode, in->bonding.secondary_on ? 1 : 0);
		m = "hybond_bonding_events_total";
		prom_head(o, m, "counter",
			  "Primary-first bonding: secondary switched on, rate "
			  "cap holds, backup flags sent again (to joins; to a "
			  "HAG not following).");
		prom_one(o, m, n, "event", "activations", in->bonding.activations);
		prom_one(o, m, n, "event", "cap_holds", in->bonding.cap_holds);
		prom_one(o, m, n, "event", "flags_resent", in->bonding.reasserted);
		prom_one(o, m, n, "event", "peer_resends", in->bonding.peer_resends);
		m = "hybond_primary_capacity_bps";
		prom_head(o, m, "gauge", "The primary's capacity as configured or measured.");
		prom_one(o, m, n, "direction", "down", in->bonding.primary_down_bps);
		prom_one(o, m, n, "direction", "up", in->bonding.primary_up_bps);
		prom_head(o, "hybond_secondary_cap_bps", "gauge",
			  "The secondary's rate cap (0: none).");
		sbuf_printf(o, "hybond_secondary_cap_bps{instance_name=\"%s\"} %.0f\n",
			    n, in->bonding.secondary_cap_bps);
		prom_head(o, "hybond_access_rate_bps", "gauge",
			  "Each access network's rate, last second.");
		for (int k = 0; k < 4; k++)
			sbuf_printf(o,
				    "hybond_access_rate_bps{instance_name=\"%s\","
				    "network=\"%s\",direction=\"%s\"} %.0f\n",
				    n, rate_net[k], rate_dir[k], in->bonding.rate_bps[k]);
	}

	if (in->pm.present) {
		m = "hybond_path_manager_events_total";
		prom_head(o, m, "counter",
			  "hybond's path manager: connections it followed, "
			  "subflows made and failed, retries, announcements, "
			  "connections ended before joining, backup flags sent "
			  "again, kernel events lost, connections swept, "
			  "subflows swept, "
			  "connections adopted.");
		prom_one(o, m, n, "event", "connections", in->pm.established);
		prom_one(o, m, n, "event", "subflows_created", in->pm.subflows_created);
		prom_one(o, m, n, "event", "subflow_errors", in->pm.subflow_errors);
		prom_one(o, m, n, "event", "retries", in->pm.retries);
		prom_one(o, m, n, "event", "announced", in->pm.announced);
		prom_one(o, m, n, "event", "ended_unjoined", in->pm.ended_unjoined);
		prom_one(o, m, n, "event", "prio_resent", in->pm.prio_resent);
		prom_one(o, m, n, "event", "events_lost", in->pm.events_lost);
		prom_one(o, m, n, "event", "swept", in->pm.swept);
		prom_one(o, m, n, "event", "subflows_swept", in->pm.subflows_swept);
		prom_one(o, m, n, "event", "adopted", in->pm.adopted);
		prom_head(o, "hybond_path_manager_tracked", "gauge",
			  "Connections hybond's path manager follows now.");
		sbuf_printf(o, "hybond_path_manager_tracked{instance_name=\"%s\"} %llu\n",
			    n, (unsigned long long)in->pm.tracked);
	}
}

static void render_prometheus(const struct stats_input *in, struct sbuf *o)
{
	const struct relay_counters *rc = &in->rc;
	const char *n = in->name;

	prom_head(o, "hybond_network_bytes_total", "counter",
		  "MPTCP payload bytes per access network and direction.");
	for (int k = 0; k < NET_MAX; k++) {
		sbuf_printf(o,
			    "hybond_network_bytes_total{instance_name=\"%s\","
			    "network=\"%s\",direction=\"sent\"} %llu\n",
			    n, net_name[k],
			    (unsigned long long)rc->net_sent[k]);
		sbuf_printf(o,
			    "hybond_network_bytes_total{instance_name=\"%s\","
			    "network=\"%s\",direction=\"received\"} %llu\n",
			    n, net_name[k],
			    (unsigned long long)rc->net_recv[k]);
	}
	prom_head(o, "hybond_relayed_bytes_total", "counter",
		  "Bytes the relay moved, by direction.");
	sbuf_printf(o,
		    "hybond_relayed_bytes_total{instance_name=\"%s\","
		    "direction=\"up\"} %llu\n"
		    "hybond_relayed_bytes_total{instance_name=\"%s\","
		    "direction=\"down\"} %llu\n",
		    n, (unsigned long long)rc->bytes_up, n,
		    (unsigned long long)rc->bytes_down);
	prom_head(o, "hybond_connections_total", "counter",
		  "Connections by outcome.");
	sbuf_printf(o,
		    "hybond_connections_total{instance_name=\"%s\","
		    "event=\"accepted\"} %llu\n"
		    "hybond_connections_total{instance_name=\"%s\","
		    "event=\"upstream_failure\"} %llu\n"
		    "hybond_connections_total{instance_name=\"%s\","
		    "event=\"reset\"} %llu\n"
		    "hybond_connections_total{instance_name=\"%s\","
		    "event=\"fallback\"} %llu\n"
		    "hybond_connections_total{instance_name=\"%s\","
		    "event=\"spliced\"} %llu\n"
		    "hybond_connections_total{instance_name=\"%s\","
		    "event=\"splice_overrun\"} %llu\n",
		    n, (unsigned long long)rc->accepted, n,
		    (unsigned long long)rc->upstream_fail, n,
		    (unsigned long long)rc->resets, n,
		    (unsigned long long)rc->fallback, n,
		    (unsigned long long)rc->spliced, n,
		    (unsigned long long)rc->splice_overrun);
	prom_head(o, "hybond_connections_active", "gauge",
		  "Proxied connections open now.");
	sbuf_printf(o, "hybond_connections_active{instance_name=\"%s\"} %llu\n",
		    n, (unsigned long long)rc->active);
	if (in->have_guard) {
		prom_head(o, "hybond_guard_packets_total", "counter",
			  "The secondary interface guard's verdicts.");
		for (int g = 0; g < HYBOND_G_MAX; g++)
			sbuf_printf(o,
				    "hybond_guard_packets_total{instance_name="
				    "\"%s\",verdict=\"%s\"} %llu\n",
				    n, guard_name[g],
				    (unsigned long long)in->guard[g]);
	}
	prom_head(o, "hybond_steering_events_total", "counter",
		  "Steering program counters by family, side and event.");
	for (int f = 0; f < HYBOND_FAM_MAX; f++)
		for (int d = 0; d < HYBOND_DIR_MAX; d++)
			for (int c = 0; c < HYBOND_CTR_MAX; c++)
				sbuf_printf(o,
					    "hybond_steering_events_total{"
					    "instance_name=\"%s\",family=\"%s\","
					    "side=\"%s\",event=\"%s\"} %llu\n",
					    n, fam_name[f], dir_name[d],
					    ctr_name[c],
					    (unsigned long long)ctr(in, d, f, c));
	render_prometheus_more(in, o);
}

void stats_render(const struct stats_input *in, enum stats_format fmt,
		  struct sbuf *out)
{
	if (fmt == STATS_JSON)
		render_json(in, out);
	else if (fmt == STATS_PROMETHEUS)
		render_prometheus(in, out);
	else
		render_table(in, out);
}
