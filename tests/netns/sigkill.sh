#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The daemons killed with SIGKILL in the middle of transfers: traffic falls
# back to plain routing at once (the programs stay attached but only steer
# to a live listener), a restarted daemon serves new connections, and the
# state the killed one left (tc filters, rules, routes, endpoints, pins) is
# taken over, not stacked. With only the HAG dead, the CPE warns that its
# connections fall back to plain TCP.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT

topo_up --rate1 20 --rate2 30
topo_mkfile big.bin 16
topo_mkfile f.bin 1
topo_start_nginx || { fail "nginx starts"; exit 1; }
topo_start_hybond || { fail "daemons log ready"; exit 1; }
want=$(sha_of "$TOPO_DIR/www/f.bin")

nsx "$NS_H" curl -s -o /dev/null --max-time 20 "http://$S4/big.bin" &
dl=$!
sleep 1
kill -KILL "$CPE_PID" "$HAG_PID"
wait "$CPE_PID" "$HAG_PID" 2>/dev/null
wait $dl
note "the transfer in flight ended with curl exit $? (its proxies died)"

# Plain routing right away, with the programs still attached.
check_eq "killed: filters left attached on the LAN (inert)" \
	"$(nsx "$NS_CPE" tc filter show dev lan0 ingress | grep -c hybond_steer)" 1
code=$(nsx "$NS_H" curl -s -o "$TOPO_DIR/plain" -w '%{http_code}' --max-time 10 "http://$S4/f.bin")
check_eq "killed: a new connection is routed plainly" "$code" 200
check_eq "killed: data intact" "$(sha_of "$TOPO_DIR/plain")" "$want"
topo_capture "$NS_CPE" pri0 pri tcp port 80 || fail "capture"
cap=$TOPO_LAST_PID
nsx "$NS_H" curl -s -o /dev/null --max-time 10 "http://$S4/f.bin"
capture_text pri $cap >"$TOPO_DIR/pri.txt"
# (Segments of the killed connections may still cross: look at new SYNs.)
check_ge "killed: the new connection's SYN crossed the primary" \
	"$(grep -cE 'Flags \[S\],' "$TOPO_DIR/pri.txt")" 1
check_eq "killed: ...as plain TCP, without MP_CAPABLE" \
	"$(grep -E 'Flags \[S\],' "$TOPO_DIR/pri.txt" | grep -c mptcp)" 0

# Restart: the stale state is replaced, and bonding works again.
topo_start_hybond || { fail "daemons restart after SIGKILL"; exit 1; }
ok "daemons restart after SIGKILL"
code=$(nsx "$NS_H" curl -s -o "$TOPO_DIR/again" -w '%{http_code}' --max-time 10 "http://$S4/f.bin")
check_eq "restarted: a request is served" "$code" 200
check_eq "restarted: data intact" "$(sha_of "$TOPO_DIR/again")" "$want"
check_ge "restarted: the connection was proxied" "$(nsx "$NS_CPE" build/hybond stats -j | jq .relay.accepted)" 1
check_eq "restarted: one hybond filter on the LAN, not two" \
	"$(nsx "$NS_CPE" tc filter show dev lan0 ingress | grep -c 'hybond_steer')" 1
check_eq "restarted: one fwmark rule, not two" "$(nsx "$NS_CPE" ip rule show | grep -c fwmark)" 1
check_eq "restarted: the HAG's endpoints once each" "$(nsx "$NS_HAG" ip mptcp endpoint show | wc -l)" 2

# Only the HAG dies: the CPE's connections still work, as plain TCP, and
# within seconds the CPE says they are not bonded (not in silence).
kill -KILL "$HAG_PID"
for i in $(seq 10); do
	nsx "$NS_H" curl -s -o /dev/null --max-time 5 "http://$S4/f.bin"
done
check_eq "HAG killed: the CPE counts its connections as fallen back" \
	"$(nsx "$NS_CPE" build/hybond stats -j | jq .relay.fallback)" 10
wait_for "$TOPO_DIR/cpe.log" "not bonded: MPTCP fell back" 25
check "HAG killed: within seconds the CPE warns that connections are not bonded" \
	grep -Eq "warning: [0-9]+ of [0-9]+ new connections in the last [0-9]+ s are not bonded" "$TOPO_DIR/cpe.log"
stop_pid "$CPE_PID"
check_eq "after a clean stop: no filter left" "$(nsx "$NS_CPE" tc filter show dev lan0 ingress)" ""
check_eq "after a clean stop: no rule left" "$(nsx "$NS_CPE" ip rule show | grep -c fwmark)" 0

t_finish
