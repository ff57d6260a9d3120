#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The gateway under hostile input (draft section 6): MP_CAPABLE SYNs with
# sources outside the subscriber prefixes are not proxied (dropped and
# counted: BCP 38); a bounded SYN flood does not stop 100 legitimate
# requests, and the daemon's memory comes back; past a connection limit
# new connections are refused cleanly while existing ones complete intact.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
TCPTOOL=$PWD/build/tests/tcptool
HB=$PWD/build/hybond

topo_up --rate1 20 --rate2 30
topo_mkfile small.bin 0
head -c 200000 /dev/urandom >"$TOPO_DIR/www/small.bin"
topo_mkfile big.bin 3
topo_start_nginx || { fail "nginx starts"; exit 1; }
HAG_ARGS=(--subscribers 192.0.2.0/24,2001:db8:1::/64 --max-conns-per-subscriber 4)
topo_start_hybond || { fail "daemons log ready"; exit 1; }
hag() { nsx "$NS_HAG" "$HB" stats -j; }

# 1. Spoofed sources: not proxied, counted, never reach the server.
topo_capture "$NS_S" eth0 srv "src host 203.0.113.77" || fail "capture at S"
cap=$TOPO_LAST_PID
out=$(nsx "$NS_CPE" "$TCPTOOL" syn 203.0.113.77 "$S4" 80 1000 --mptcp)
capture_text srv $cap >"$TOPO_DIR/srv.txt"
check_eq "1000 spoofed MP_CAPABLE SYNs sent" "$out" "sent 1000"
check_ge "the HAG dropped and counted them" "$(hag | jq .steering.ipv4.steer.syn_spoofed_dropped)" 1000
check_eq "none reached the server" "$(grep -c 'Flags \[S\]' "$TOPO_DIR/srv.txt")" 0
check_eq "the HAG opened nothing for them" "$(hag | jq .relay.accepted)" 0

# 2. A bounded flood while a legitimate client makes 100 requests.
want=$(sha_of "$TOPO_DIR/www/small.bin")
for i in 1 2 3; do
	nsx "$NS_H" curl -s -o /dev/null --max-time 10 "http://$S4/small.bin"
done
sleep 1
mem0=$(anon_kib "$HAG_PID") desc0=$(mem_desc "$HAG_PID")
# Sources spoofed outside the subscriber prefixes, as fast as this box can
# send them, from the access side. (A flood from inside a subscriber's own
# prefix is that subscriber's traffic: it is bounded by the per-subscriber
# limit and the cap on upstream connects in progress, not absorbed.)
(for b in $(seq 6); do
	nsx "$NS_CPE" "$TCPTOOL" syn 203.0.113.77 "$S4" 80 100000 --mptcp --vary-src
done) >"$TOPO_DIR/flood1" &
f1=$!
# The 100 requests one after another, each on a connection of its own
# (Connection: close), by one curl: a process costs a tenth of a second or
# more in a QEMU guest, where the loop of 100 curls took about 150 s.
args=()
for i in $(seq 100); do
	args+=(-o "$TOPO_DIR/req-$i" "http://$S4/small.bin?$i")
done
nsx "$NS_H" curl -s -H 'Connection: close' --max-time 20 \
	-w '%{exitcode} %{http_code} %{time_total}\n' "${args[@]}" >"$TOPO_DIR/reqs"
good=0
while read -r sum _; do
	[ "$sum" = "$want" ] && good=$((good + 1))
done <<<"$(sha256sum "$TOPO_DIR"/req-* 2>/dev/null)"
while read -r i rc code t; do
	[ "$rc $code" = "0 200" ] || note "request $i: curl exit $rc, HTTP $code after $t s"
done < <(awk '{ print NR, $0 }' "$TOPO_DIR/reqs")
note "requests slower than 0.9 s during the flood:$(awk '$3 > 0.9 { printf " %d:%dms", NR, $3 * 1000; n++ }
	END { if (!n) printf " none" }' "$TOPO_DIR/reqs")"
wait $f1
note "flood: $(awk '{s += $2} END {print s}' "$TOPO_DIR/flood1") SYNs with spoofed sources, in 6 bursts during the requests"
check_eq "every one of 100 requests during the flood succeeded, data intact" "$good" 100
check_ge "the flood's spoofed SYNs were dropped and counted" \
	"$(hag | jq .steering.ipv4.steer.syn_spoofed_dropped)" 600000
# Give the handed-off upstreams of SYNs nobody completes time to expire.
for i in $(seq 30); do
	[ "$(hag | jq .relay.active)" = 0 ] && break
	sleep 1
done
sleep 12
mem1=$(anon_kib "$HAG_PID")
note "HAG memory before the flood: $desc0; after: $(mem_desc "$HAG_PID")"
check_le "the HAG's anonymous memory came back to its baseline (KiB, +2 MiB)" "$mem1" $((mem0 + 2048))

# 3. The secondary interface's guard (XDP): only what the bonding needs.
guard() { hag | jq ".guard.$1"; }
loss=$(nsx "$NS_CPE" ping -c 3 -i 0.2 -W 1 "$HAG_S4" | grep -oE '[0-9]+% packet loss')
check_eq "guard: ping to HAG@2 is not answered" "$loss" "100% packet loss"
check_ge "guard: the echo requests were dropped and counted" "$(guard drop_icmp)" 3
nsx "$NS_CPE" "$TCPTOOL" syn "$CPE_S4" "$HAG_S4" 9300 5 >/dev/null
nsx "$NS_CPE" "$TCPTOOL" syn "$CPE_S4" "$HAG_S4" 22 5 >/dev/null
check_ge "guard: plain SYNs to HAG@2 (join port and others) dropped" "$(guard drop_syn_not_join)" 10
before=$(nsx "$NS_HAG" nstat -az MPTcpExtMPJoinNoTokenFound | awk '/NoTokenFound/ {print $2}')
nsx "$NS_CPE" "$TCPTOOL" syn "$CPE_S4" "$HAG_S4" 9300 5 --join >/dev/null
after=$(nsx "$NS_HAG" nstat -az MPTcpExtMPJoinNoTokenFound | awk '/NoTokenFound/ {print $2}')
check_ge "guard: MP_JOIN SYNs to the join port pass the guard" "$(guard pass_mp_join)" 5
check_ge "the kernel refuses joins with an unknown token (MPJoinNoTokenFound)" \
	$(( ${after:-0} - ${before:-0} )) 5
# A download that lasts (3 MiB, over a second) gets its secondary subflows
# (the CPE joins connections that live past --join-after, 200 ms); what
# they carry must pass the guard, and arrive intact.
want=$(sha_of "$TOPO_DIR/www/big.bin")
nsx "$NS_H" curl -s -o "$TOPO_DIR/guard.bin" --max-time 30 "http://$S4/big.bin"
check_eq "guard: a 3 MiB download through the guarded HAG is intact" \
	"$(sha_of "$TOPO_DIR/guard.bin")" "$want"
check_ge "guard: segments of real subflows pass" "$(guard pass_subflow)" 100

# 4. The per-subscriber limit (4): a fifth connection is refused cleanly,
# the four complete intact. The four last 15 s because nginx sends at
# 10 KB/s (/slow/): curl's own --limit-rate paced only its reading, and in
# a QEMU guest the whole file had crossed the relays within 4-5 s.
head -c 150000 /dev/urandom >"$TOPO_DIR/www/mid.bin"
want=$(sha_of "$TOPO_DIR/www/mid.bin")
pids=()
for i in 1 2 3 4; do
	nsx "$NS_H" curl -s -o "$TOPO_DIR/lim$i" --max-time 40 "http://$S4/slow/mid.bin" &
	pids+=($!)
done
# Wait until the HAG proxies all four (a slow machine needs more than a
# moment to start four curls), then try a fifth.
for i in $(seq 50); do
	[ "$(hag | jq .relay.active)" -ge 4 ] && break
	sleep 0.2
done
check_ge "the HAG proxies the four connections" "$(hag | jq .relay.active)" 4
out=$(nsx "$NS_H" "$TCPTOOL" connect "$S4" 80 --timeout 5)
check_eq "past the limit: the host's connect() is refused" "$out" "error ECONNREFUSED"
check_ge "the refusal is counted" "$(hag | jq .relay.refused_limit)" 1
wait "${pids[@]}"
ok_all=0
for i in 1 2 3 4; do
	[ "$(sha_of "$TOPO_DIR/lim$i")" = "$want" ] && ok_all=$((ok_all + 1))
done
check_eq "the four connections under the limit completed intact" "$ok_all" 4

t_finish
