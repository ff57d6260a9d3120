#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Port churn: a proxy that keeps H's source port binds the host's own
# 4-tuple, and its TIME_WAIT sockets meet a host that reuses ports soon.
# 4000 short requests at 8 in parallel, then the same again against the
# same server port: the second run within 10% of the first, no failures.
# In the draft's handshake order and in accept-first mode.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT

topo_up
mkdir -p "$TOPO_DIR/www"
head -c 1024 /dev/urandom >"$TOPO_DIR/www/1k"
topo_start_nginx || { fail "nginx starts"; exit 1; }

# ab RUN: sets RATE (requests/s, integer) and FAILED.
ab_run() {
	local out
	out=$(nsx "$NS_H" ab -q -n 4000 -c 8 -s 10 "http://$S4:$1/1k" 2>&1)
	grep -q "Requests per second" <<<"$out" || note "ab: $(tail -n 2 <<<"$out" | tr "\n" " ")"
	RATE=$(awk '/Requests per second/ {print int($4)}' <<<"$out")
	FAILED=$(awk '/Failed requests/ {print $3}' <<<"$out")
	: "${RATE:=0}" "${FAILED:=4000}"
}

for mode in handshake accept-first; do
	if [ $mode = accept-first ]; then
		stop_pid "$CPE_PID"; stop_pid "$HAG_PID"
		CPE_ARGS=(--accept-first) HAG_ARGS=(--accept-first) port=8080
	else
		port=80
	fi
	topo_start_hybond || { fail "$mode: daemons log ready"; exit 1; }
	ab_run $port
	r1=$RATE f1=$FAILED
	ab_run $port
	r2=$RATE f2=$FAILED
	tw=$(nsx "$NS_CPE" build/hybond stats -j | jq .handshake.time_wait_cleared)
	note "$mode: first run $r1 req/s, second run $r2 req/s against the same port; $tw TIME_WAIT sockets cleared on the CPE"
	check_eq "$mode: no failed request in the first run" "$f1" 0
	check_eq "$mode: no failed request in the second run" "$f2" 0
	check_ge "$mode: the second run within 10% of the first (req/s)" "$r2" $((r1 * 90 / 100))
done

t_finish
