#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# --takeover: both daemons are replaced while a 64 MiB download runs through
# the bonded path and a loop of short requests keeps opening connections.
# The download's hash is intact, no short request fails, the new processes
# answer the control socket, the old ones exit once their connections
# ended. Then a takeover that fails half-way: the old instance goes on, the
# new one exits with the reason. Finally the new daemons stop and leave
# nothing behind (they own the undo now).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
HB=${HYBOND:-$PWD/build/hybond}

topo_up --rate1 100 --rate2 100
topo_mkfile big.bin 64
head -c 2000 /dev/urandom >"$TOPO_DIR/www/small.bin"
topo_start_nginx || { fail "nginx starts"; exit 1; }
# What the daemons change in their namespaces and must put back, even
# across a takeover: the PM's limits and type, the blackhole detection.
ns_knobs() { # NS
	nsx "$1" ip mptcp limits show | tr -s ' \n' ' '
	for k in pm_type blackhole_timeout; do
		[ -e /proc/sys/net/mptcp/$k ] && printf '%s=%s ' $k "$(nsx "$1" cat /proc/sys/net/mptcp/$k)"
	done
}
knobs_cpe=$(ns_knobs "$NS_CPE") knobs_hag=$(ns_knobs "$NS_HAG")
# The first CPE joins at once, with the kernel's path manager; the one that
# takes over runs hybond's (below).
CPE_ARGS=(--join-after 0)
topo_start_hybond || { fail "daemons log ready"; exit 1; }
OLD_HAG=$HAG_PID OLD_CPE=$CPE_PID
want=$(sha_of "$TOPO_DIR/www/big.bin")
want_small=$(sha_of "$TOPO_DIR/www/small.bin")

hag_args=(hag --access acc0 --core core0 --secondary sec0)
cpe_args=(cpe --lan lan0 --primary pri0 --secondary sec0)

# Short requests, one after the other, until $TOPO_DIR/stop exists (at
# most 60 s); each line: the HTTP status and the body's hash matching.
loop() {
	local i end=$((SECONDS + 60)) code
	for ((i = 0; SECONDS < end; i++)); do
		[ -e "$TOPO_DIR/stop" ] && break
		code=$(nsx "$NS_H" curl -s -o "$TOPO_DIR/small.out" -w '%{http_code} %{time_total}' \
			--max-time 10 "http://$S4/small.bin")
		echo "${code#* }" >>"$TOPO_DIR/loop.times"
		code=${code%% *}
		if [ "$code" = 200 ] && [ "$(sha_of "$TOPO_DIR/small.out")" = "$want_small" ]; then
			echo ok
		else
			echo "fail $code"
		fi
		sleep 0.02
	done >"$TOPO_DIR/loop.txt"
}

# ---- the handover ----------------------------------------------------------
nsx "$NS_H" curl -s -o "$TOPO_DIR/big.out" --limit-rate 6M --max-time 60 \
	-w '%{http_code}' "http://[$S6]/big.bin" >"$TOPO_DIR/big.code" &
DL=$!
loop &
LOOP=$!
sleep 2

topo_spawn "$NS_HAG" "$TOPO_DIR/hag2.log" "$HB" "${hag_args[@]}" --takeover
NEW_HAG=$TOPO_LAST_PID
check "new HAG took over" wait_for "$TOPO_DIR/hag2.log" "now serving" 15
check "new HAG logs ready" wait_for "$TOPO_DIR/hag2.log" "info: ready:" 5
sleep 1
# With a new option too: --join-after runs hybond's path manager, which the
# old CPE did not.
topo_spawn "$NS_CPE" "$TOPO_DIR/cpe2.log" "$HB" "${cpe_args[@]}" --join-after 100 --takeover
NEW_CPE=$TOPO_LAST_PID
check "new CPE took over" wait_for "$TOPO_DIR/cpe2.log" "now serving" 15
check "new CPE logs ready" wait_for "$TOPO_DIR/cpe2.log" "info: ready:" 5
check "the old HAG hands over and drains" grep -q "handed over; serving" "$TOPO_DIR/hag.log"
check "the old CPE hands over and drains" grep -q "handed over; serving" "$TOPO_DIR/cpe.log"
check_eq "the control socket is the new HAG's" \
	"$(nsx "$NS_HAG" "$HB" stats -j | jq .instance.pid)" "$NEW_HAG"
check_eq "the control socket is the new CPE's" \
	"$(nsx "$NS_CPE" "$HB" stats -j | jq .instance.pid)" "$NEW_CPE"
sleep 2

wait "$DL"
check_eq "64 MiB download across both takeovers: HTTP status" "$(cat "$TOPO_DIR/big.code")" 200
check_eq "64 MiB download across both takeovers: sha256" \
	"$(sha_of "$TOPO_DIR/big.out")" "$want"
# The old processes carried the download to its end, then left.
for i in $(seq 100); do
	kill -0 "$OLD_HAG" 2>/dev/null || kill -0 "$OLD_CPE" 2>/dev/null || break
	sleep 0.1
done
check "the old HAG exited once its connections ended" sh -c "! kill -0 $OLD_HAG 2>/dev/null"
check "the old CPE exited once its connections ended" sh -c "! kill -0 $OLD_CPE 2>/dev/null"
check "old HAG: exit logged" grep -q "last connection ended; exiting" "$TOPO_DIR/hag.log"
touch "$TOPO_DIR/stop"
wait "$LOOP"
n=$(grep -c . "$TOPO_DIR/loop.txt")
bad=$(grep -vc '^ok$' "$TOPO_DIR/loop.txt")
note "short requests during the takeovers: $n, failed $bad, slowest $(sort -g "$TOPO_DIR/loop.times" | tail -n 1) s"
rm -f "$TOPO_DIR/loop.times"
check_ge "short requests ran throughout" "$n" 10
check_eq "no short request failed" "$bad" 0
acc=$(nsx "$NS_HAG" "$HB" stats -j | jq .relay.accepted)
check_ge "the new HAG proxies the new connections" "$acc" 1
check "nothing in the logs is an error" sh -c "! grep -h 'error:' $TOPO_DIR/hag.log $TOPO_DIR/cpe.log $TOPO_DIR/hag2.log $TOPO_DIR/cpe2.log"

# ---- a takeover that fails half-way -----------------------------------------
rm -f "$TOPO_DIR/stop"
loop &
LOOP=$!
sleep 0.5
out=$(HYBOND_TEST_FAULT=takeover nsx "$NS_HAG" timeout 30 "$HB" "${hag_args[@]}" --takeover 2>&1)
rc=$?
check "a failed takeover exits non-zero" test $rc -ne 0
check "... saying why" grep -q "stopping before commit" <<<"$out"
check "the running HAG goes on" wait_for "$TOPO_DIR/hag2.log" "new process gave up" 5
check_eq "the control socket is still the running HAG's" \
	"$(nsx "$NS_HAG" "$HB" stats -j | jq .instance.pid)" "$NEW_HAG"
sleep 1
code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$S4/small.bin")
check_eq "a request after the failed takeover" "$code" 200
touch "$TOPO_DIR/stop"
wait "$LOOP"
bad=$(grep -vc '^ok$' "$TOPO_DIR/loop.txt")
note "short requests during the failed takeover: $(grep -c . "$TOPO_DIR/loop.txt"), failed $bad, slowest $(sort -g "$TOPO_DIR/loop.times" | tail -n 1) s"
check_eq "no short request failed during the failed takeover" "$bad" 0
out=$(nsx "$NS_HAG" "$HB" "${hag_args[@]}" --name nobody --takeover 2>&1)
check "--takeover with nothing to take over is refused" test $? -ne 0
check "... naming the instance and the fix" grep -q "no instance named 'nobody'.*start without --takeover" <<<"$out"

# ---- the new daemons own the undo --------------------------------------------
stop_pid "$NEW_CPE"; stop_pid "$NEW_HAG"
check_eq "no fwmark rule left (HAG)" "$(nsx "$NS_HAG" ip rule | grep -c fwmark)" 0
check_eq "no fwmark rule left (CPE)" "$(nsx "$NS_CPE" ip rule | grep -c fwmark)" 0
check_eq "no tc filter left on the HAG's access" "$(nsx "$NS_HAG" tc filter show dev acc0 ingress | grep -c bpf)" 0
check_eq "no MPTCP endpoint left (HAG)" "$(nsx "$NS_HAG" ip mptcp endpoint show | grep -c .)" 0
check_eq "no XDP guard left" "$(nsx "$NS_HAG" ip link show sec0 | grep -c xdp)" 0
check_eq "the CPE's namespace has its limits, PM and blackhole detection back" "$(ns_knobs "$NS_CPE")" "$knobs_cpe"
check_eq "the HAG's namespace has its limits and PM back" "$(ns_knobs "$NS_HAG")" "$knobs_hag"

t_finish
