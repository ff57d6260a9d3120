#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Port churn: a proxy that keeps H's source port binds the host's own
# 4-tuple, and its TIME_WAIT sockets meet a host that reuses ports soon.
# H gets only 500 source ports, so each of 4000 short requests (8 in
# parallel) reuses a port a few seconds after the last connection on it
# closed; then the same again against the same server port. In the draft's
# handshake order and in accept-first mode.
#
# What is asserted is what a collision costs the host, counted, not timed:
# no failed request, and not one SYN that H had to send again (a SYN that
# meets a TIME_WAIT socket is answered with an ACK or dropped, and the
# host waits a second to retransmit it), and no subflow reset by our own
# TIME_WAIT clearing. The rates of the two runs are
# printed against the issue's 10% target; the check on them only catches
# the collapse itself (a port-keeping proxy measured 2.5x slower), because
# one-shot rates on a shared 2-core box vary by more than 10% on their own.
# make bench prints the same comparison over repeated runs.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT

N=4000
topo_up
mkdir -p "$TOPO_DIR/www"
head -c 1024 /dev/urandom >"$TOPO_DIR/www/1k"
topo_start_nginx || { fail "nginx starts"; exit 1; }
# 500 ports for 4000 connections: every port is reused about 8 times a run.
nsx "$NS_H" sysctl -qw net.ipv4.ip_local_port_range="20000 20499"

# syn_retrans: H's retransmitted SYNs so far.
syn_retrans() {
	nsx "$NS_H" nstat -asz TcpExtTCPSynRetrans | awk '$1 == "TcpExtTCPSynRetrans" {print $2}'
}

# mprst_tx: MP_RSTs the HAG's kernel sent so far.
mprst_tx() {
	nsx "$NS_HAG" nstat -asz MPTcpExtMPRstTx | awk '$1 == "MPTcpExtMPRstTx" {print $2}'
}

# ab_run PORT: sets RATE (requests/s, integer), FAILED and RETRANS (SYNs H
# sent again during the run).
ab_run() {
	local out before
	before=$(syn_retrans)
	out=$(nsx "$NS_H" ab -q -n $N -c 8 -s 10 "http://$S4:$1/1k" 2>&1)
	grep -q "Requests per second" <<<"$out" || note "ab: $(tail -n 2 <<<"$out" | tr "\n" " ")"
	RATE=$(awk '/Requests per second/ {print int($4)}' <<<"$out")
	FAILED=$(awk '/Failed requests/ {print $3}' <<<"$out")
	: "${RATE:=0}" "${FAILED:=$N}"
	RETRANS=$(($(syn_retrans) - before))
}

# diagnose MODE: after a failed request, what each side counted, so a
# failure seen once in a whole-suite run says where the reset came from
# (the daemons log single connections only with -v).
diagnose() {
	local name ns
	for name in cpe hag; do
		[ $name = cpe ] && ns=$NS_CPE || ns=$NS_HAG
		note "$1: $name relay: $(nsx "$ns" build/hybond stats -j 2>&1 |
			jq -c '{relay: .relay, handshake: .handshake}' 2>&1)"
	done
	for ns in "$NS_H" "$NS_CPE" "$NS_HAG" "$NS_S"; do
		note "$1: $ns kernel: $(nsx "$ns" nstat -asz 2>/dev/null |
			awk '$2 > 0 && $1 ~ /Reset|Rst|Abort|Fallback|Fastclose|Refused|TW|PAWS|Challenge|SynRetrans|Drop/ {printf "%s=%s ", $1, $2}')"
	done
}

for mode in handshake accept-first; do
	if [ $mode = accept-first ]; then
		stop_pid "$CPE_PID"; stop_pid "$HAG_PID"
		CPE_ARGS=(--accept-first) HAG_ARGS=(--accept-first) port=8080
	else
		port=80
	fi
	topo_start_hybond || { fail "$mode: daemons log ready"; exit 1; }
	rst0=$(mprst_tx)
	ab_run $port
	r1=$RATE f1=$FAILED s1=$RETRANS
	ab_run $port
	r2=$RATE f2=$FAILED s2=$RETRANS
	held=$(nsx "$NS_CPE" build/hybond stats -j | jq '.handshake.time_wait_cleared')
	note "$mode: first run $r1 req/s, second run $r2 req/s against the same port ($((r2 * 100 / (r1 > 0 ? r1 : 1)))%, target >= 90%); $held TIME_WAIT sockets cleared for a held SYN on the CPE"
	check_eq "$mode: no failed request in the first run" "$f1" 0
	check_eq "$mode: no failed request in the second run" "$f2" 0
	check_eq "$mode: H sent no SYN twice in the first run" "$s1" 0
	check_eq "$mode: H sent no SYN twice in the second run" "$s2" 0
	check_ge "$mode: the second run is not slowed by the first (req/s, 60% floor)" "$r2" $((r1 * 60 / 100))
	# Clearing our TIME_WAIT must not reset a subflow still closing (it
	# did, about once in 500 connections, when the relay destroyed
	# whatever held the tuple): the HAG sent no MP_RST.
	check_eq "$mode: the HAG reset no subflow while clearing TIME_WAIT (MP_RST sent)" \
		$(($(mprst_tx) - rst0)) 0
	[ "$f1$f2$s1$s2" = 0000 ] || diagnose $mode
done

t_finish
