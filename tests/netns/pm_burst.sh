#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# A burst of connections that stay open: every one of them bonds.
# H opens N idle connections to S at once (bench/holdconns, up to 256
# handshakes in flight; N = 9000, or what the descriptor limits allow).
# The CPE's path manager (hybond's, the default) joins each once it has
# lived --join-after (200 ms): two netlink requests per connection, one per
# address the HAG announced, all due within a second or two. Until
# 2026-12-05 it read no event while it made them, the kernel's events
# overflowed its socket, and 1000-1500 connections of a burst of 9000-9200
# were never joined (in each of 3 bench runs and of this test's one run on
# the development box).
# Checks: all N established and held; the CPE lost no path-manager event,
# saw every connection, and joined each of them twice, which the HAG's
# kernel counts too (MP_JOIN handshakes completed); the HAG lost no event
# and announced both its addresses to every connection; after the close the
# path manager tracks nothing; then a download through the gateways: the
# hash and H@ at the server.
# Then B: both daemons again with their event sockets at the kernel's
# smallest buffer (a test fault), so that a burst loses most events,
# ESTABLISHED and ANNOUNCED among them. The check after lost events finds
# the open connections nobody followed (sock_diag) and follows them; the
# CPE gives a connection whose announcements were lost the addresses the
# HAG announced to the others. Checks: events were lost on both sides,
# connections were found that way, and still every connection was joined
# twice (the HAG's kernel's count); after the close nothing is tracked.
# Before 2026-12-05 such connections stayed on the primary for good.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
HB=${HYBOND:-$PWD/build/hybond} HOLD=$PWD/build/bench/holdconns
[ -x "$HOLD" ] || { fail "build/bench/holdconns is built (make check builds it)"; exit 1; }

topo_up
topo_mkfile after.bin 1
topo_start_nginx || { fail "nginx starts"; exit 1; }
want=$(sha_of "$TOPO_DIR/www/after.bin")
topo_spawn "$NS_S" "$TOPO_DIR/hold-server.log" "$HOLD" serve 9101 9102 9103 9104
wait_for "$TOPO_DIR/hold-server.log" '^listening' 10 || { fail "holdconns serves in S"; exit 1; }
topo_start_hybond || { fail "hybond starts"; exit 1; }

# pm FIELD: a counter of the CPE's path manager; hag_pm FIELD: the HAG's.
pm() { nsx "$NS_CPE" "$HB" stats -j | jq ".path_manager.$1"; }
hag_pm() { nsx "$NS_HAG" "$HB" stats -j | jq ".path_manager.$1"; }
# MP_JOIN handshakes the HAG's kernel completed (the third ACK received).
joins_done() { nsx "$NS_HAG" nstat -az MPTcpExtMPJoinAckRx | awk '/MPJoinAckRx/ { print $2 }'; }

# N as the limits allow: the daemons take (soft limit - 1024) / 2
# connections (two descriptors each); holdconns needs one each and raises
# its limit to the hard one.
lim=$(awk '/^Max open files/ { print $4 }' "/proc/$CPE_PID/limits")
hard=$(ulimit -Hn)
n=9000
[ $(((lim - 1024) / 2 - 300)) -lt $n ] && n=$(((lim - 1024) / 2 - 300))
[ $((hard - 300)) -lt $n ] && n=$((hard - 300))
note "N = $n connections (the daemons' descriptor limit $lim, the hard limit $hard)"
check_ge "the limits allow a burst of thousands (N)" "$n" 5000

j0=$(joins_done)
topo_spawn "$NS_H" "$TOPO_DIR/hold.log" "$HOLD" connect "$S4" 9101,9102,9103,9104 "$n" 120 256
CLI=$TOPO_LAST_PID
wait_for "$TOPO_DIR/hold.log" '^established' 60 || fail "holdconns: the $n connections finished in 60 s"
read -r est failed <<<"$(awk '/^established/ { print $2, $4 }' "$TOPO_DIR/hold.log")"
check_eq "all $n connections established" "${est:-0}" "$n"
check_eq "... none failed" "${failed:-x}" 0

# The joins: 2 per connection, made 200 ms after each was established.
for ((i = 0; i < 300; i++)); do
	[ "$(pm subflows_created)" -ge $((2 * n)) ] && break
	sleep 0.1
done
sleep 1
check_eq "the CPE's path manager lost no event (events_lost)" "$(pm events_lost)" 0
check_eq "... saw every connection established (connections)" "$(pm connections)" "$n"
check_eq "... and joined each twice, IPv4 and IPv6 (subflows_created)" "$(pm subflows_created)" $((2 * n))
check_eq "... with no join refused (subflow_errors)" "$(pm subflow_errors)" 0
check_eq "the HAG's kernel completed 2 joins per connection (MPJoinAckRx)" \
	$(($(joins_done) - j0)) $((2 * n))
# The HAG announces its two addresses to each connection 100 ms old: a
# pass of its own, as long.
check_eq "the HAG's path manager lost no event (events_lost)" "$(hag_pm events_lost)" 0
check_eq "... and announced both addresses to every connection (announced)" \
	"$(hag_pm announced)" $((2 * n))

kill -TERM "$CLI" 2>/dev/null
wait "$CLI" 2>/dev/null
check_eq "holdconns held them all to the end" \
	"$(awk '/^closing/ { print $3, $5 }' "$TOPO_DIR/hold.log")" "$n 0"
for ((i = 0; i < 300; i++)); do
	[ "$(pm tracked)" = 0 ] && break
	sleep 0.1
done
check_eq "after the close the path manager tracks no connection" "$(pm tracked)" 0

code=$(nsx "$NS_H" curl -s -o "$TOPO_DIR/down" -w '%{http_code}' --max-time 20 "http://$S4/after.bin")
check_eq "a download after: HTTP status" "$code" 200
check_eq "... sha256 of the received file" "$(sha_of "$TOPO_DIR/down")" "$want"
check_eq "... nginx saw H@" "$(nginx_client ' "GET /after.bin ')" "$H4"
check_eq "no error and no lost event in the daemons' logs" \
	"$(grep -hE 'error|lost' "$TOPO_DIR/cpe.log" "$TOPO_DIR/hag.log")" ""

# ---- B: a burst that loses events ------------------------------------------
stop_pid "$CPE_PID"
stop_pid "$HAG_PID"
topo_spawn "$NS_HAG" "$TOPO_DIR/hag-b.log" env HYBOND_TEST_FAULT=pm-events "$HB" hag \
	--access acc0 --core core0 --secondary sec0
HAG_PID=$TOPO_LAST_PID
topo_spawn "$NS_CPE" "$TOPO_DIR/cpe-b.log" env HYBOND_TEST_FAULT=pm-events "$HB" cpe \
	--lan lan0 --primary pri0 --secondary sec0
CPE_PID=$TOPO_LAST_PID
wait_for "$TOPO_DIR/hag-b.log" "info: ready:" 10 && wait_for "$TOPO_DIR/cpe-b.log" "info: ready:" 10
check "B: both daemons log ready, event sockets at their smallest" test $? = 0
m=3000
j0=$(joins_done)
topo_spawn "$NS_H" "$TOPO_DIR/hold-b.log" "$HOLD" connect "$S4" 9101,9102,9103,9104 "$m" 120 256
CLI=$TOPO_LAST_PID
wait_for "$TOPO_DIR/hold-b.log" '^established' 60 || fail "B: holdconns: the $m connections finished in 60 s"
read -r est failed <<<"$(awk '/^established/ { print $2, $4 }' "$TOPO_DIR/hold-b.log")"
check_eq "B: all $m connections established" "${est:-0}" "$m"
# Sweeps come 1 s after a loss; a join refused before the HAG announced
# is tried again after 0.25, 0.5 ... 8 s.
for ((i = 0; i < 600; i++)); do
	[ $(($(joins_done) - j0)) -ge $((2 * m)) ] && break
	sleep 0.1
done
note "B: CPE path manager: $(nsx "$NS_CPE" "$HB" stats -j | jq -c .path_manager)"
note "B: HAG path manager: $(nsx "$NS_HAG" "$HB" stats -j | jq -c .path_manager)"
check_ge "B: the CPE lost events (events_lost)" "$(pm events_lost)" 1
check_ge "B: the HAG lost events (events_lost)" "$(hag_pm events_lost)" 1
check_ge "B: the CPE found and followed connections whose start it missed (adopted)" "$(pm adopted)" 1
check_ge "B: ... and so did the HAG" "$(hag_pm adopted)" 1
check "B: ... and logged" grep -q "open connections followed that had not been seen" \
	"$TOPO_DIR/cpe-b.log" "$TOPO_DIR/hag-b.log"
check_eq "B: still the HAG's kernel completed 2 joins per connection (MPJoinAckRx)" \
	$(($(joins_done) - j0)) $((2 * m))
kill -TERM "$CLI" 2>/dev/null
wait "$CLI" 2>/dev/null
check_eq "B: holdconns held them all to the end" \
	"$(awk '/^closing/ { print $3, $5 }' "$TOPO_DIR/hold-b.log")" "$m 0"
for ((i = 0; i < 300; i++)); do
	[ "$(pm tracked)" = 0 ] && [ "$(hag_pm tracked)" = 0 ] && break
	sleep 0.1
done
check_eq "B: after the close neither path manager tracks a connection" "$(pm tracked) $(hag_pm tracked)" "0 0"
check_eq "B: no error in the daemons' logs" \
	"$(grep -hE 'error' "$TOPO_DIR/cpe-b.log" "$TOPO_DIR/hag-b.log")" ""
t_finish
