#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# SIGTERM undoes exactly what the daemon installed: its tc filters and the
# clsact qdiscs it created, the fwmark rules and local routes, the MPTCP
# endpoints and limits, the pins. A qdisc an operator had is left alone, and
# plain routing works afterwards.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT

topo_up
topo_mkfile f.bin 1
topo_start_nginx || { fail "nginx starts"; exit 1; }
# An operator's own clsact qdisc on the primary must survive hybond.
nsx "$NS_CPE" tc qdisc add dev pri0 clsact
limits_cpe=$(nsx "$NS_CPE" ip mptcp limits show)
limits_hag=$(nsx "$NS_HAG" ip mptcp limits show)
# The CPE turns the kernel's MPTCP blackhole detection off while it runs.
bh_cpe=$(nsx "$NS_CPE" cat /proc/sys/net/mptcp/blackhole_timeout 2>/dev/null || echo none)

topo_start_hybond || { fail "daemons log ready"; exit 1; }
code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$S4/f.bin")
check_eq "bonded request works before shutdown" "$code" 200

ids=$( { nsx "$NS_CPE" tc filter show dev lan0 ingress; nsx "$NS_CPE" tc filter show dev pri0 ingress;
	 nsx "$NS_HAG" tc filter show dev acc0 ingress; nsx "$NS_HAG" tc filter show dev core0 ingress; } |
	grep -oE ' id [0-9]+' | awk '{print $2}' | sort -u)
check_eq "four steering filters attached (one per hooked interface)" "$(echo $ids | wc -w)" 4
names=$(for id in $ids; do bpftool prog show id "$id" -j | jq -r .name; done | sort | tr '\n' ' ')
check_eq "bpftool names the programs as hybond's" "$names" "hybond_return hybond_return hybond_steer hybond_steer "
check "pins are visible to bpftool in the daemon's mount namespace" \
	nsenter -t "$CPE_PID" -m bpftool map show pinned /sys/fs/bpf/hybond/cpe/hybond_cfg

check "SIGTERM stops the CPE cleanly" stop_pid "$CPE_PID"
check "SIGTERM stops the HAG cleanly" stop_pid "$HAG_PID"
check "CPE logged its shutdown" grep -q "shutting down" "$TOPO_DIR/cpe.log"

for id in $ids; do
	check "program id $id is gone" bash -c "! bpftool prog show id $id >/dev/null 2>&1"
done
for spec in "$NS_CPE lan0" "$NS_CPE pri0" "$NS_HAG acc0" "$NS_HAG core0"; do
	set -- $spec
	check_eq "$2: no tc filter left" "$(nsx "$1" tc filter show dev "$2" ingress)" ""
done
check_eq "lan0: the clsact qdisc hybond created is gone" \
	"$(nsx "$NS_CPE" tc qdisc show dev lan0 | grep -c clsact)" 0
check_eq "pri0: the operator's clsact qdisc is still there" \
	"$(nsx "$NS_CPE" tc qdisc show dev pri0 | grep -c clsact)" 1
for ns in $NS_CPE $NS_HAG; do
	check_eq "$ns: no fwmark rule left (IPv4)" "$(nsx "$ns" ip rule show | grep -c fwmark)" 0
	check_eq "$ns: no fwmark rule left (IPv6)" "$(nsx "$ns" ip -6 rule show | grep -c fwmark)" 0
	check_eq "$ns: local-delivery table empty (IPv4)" "$(nsx "$ns" ip route show table 18521)" ""
	check_eq "$ns: local-delivery table empty (IPv6)" "$(nsx "$ns" ip -6 route show table 18521)" ""
done
check_eq "HAG: MPTCP endpoints removed" "$(nsx "$NS_HAG" ip mptcp endpoint show)" ""
check_eq "HAG: MPTCP limits restored" "$(nsx "$NS_HAG" ip mptcp limits show)" "$limits_hag"
check_eq "CPE: MPTCP limits restored" "$(nsx "$NS_CPE" ip mptcp limits show)" "$limits_cpe"
check_eq "CPE: net.mptcp.blackhole_timeout restored" \
	"$(nsx "$NS_CPE" cat /proc/sys/net/mptcp/blackhole_timeout 2>/dev/null || echo none)" "$bh_cpe"

code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$S4/f.bin")
check_eq "plain routing works after shutdown" "$code" 200
code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://[$S6]/f.bin")
check_eq "plain routing works after shutdown (IPv6)" "$code" 200

t_finish
