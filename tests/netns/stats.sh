#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# What an operator reads from `hybond stats`: bytes per access network that
# agree with the interface counters (payload: 75-101% of the wire bytes), counters that never go backwards, ended
# connections counted, the same facts as JSON, Prometheus text and errors as
# JSON.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
HB=$PWD/build/hybond

topo_up --rate1 20 --rate2 30
topo_mkfile big.bin 12
head -c $((8 * 1048576)) /dev/urandom >"$TOPO_DIR/up.bin"
topo_start_nginx || { fail "nginx starts"; exit 1; }
topo_start_hybond || { fail "daemons log ready"; exit 1; }

stats() { nsx "$1" "$HB" stats -j; }
# The stats count payload the peer acknowledged; the interface counter
# also counts headers (~5%) and retransmissions (tbf drops: 2-14% seen on
# the secondary). So: never more than the wire (1% slack for the moment
# between the two reads), and at least 75% of it.
payload_of_wire() { # payload_of_wire DESC GOT WIRE
	if [ "$3" -gt 0 ] && [ $(($2 * 100)) -le $(($3 * 101)) ] && [ $(($2 * 100)) -ge $(($3 * 75)) ]; then
		ok "$1 ($2 of $3 on the wire, $(($2 * 100 / $3))%)"
	else
		fail "$1 ($2 of $3 on the wire: not within 75-101%)"
	fi
}

# Download: the HAG sends on both access networks.
h0=$(stats "$NS_HAG")
read -r a0 s0 < <(if_bytes "$NS_HAG" acc0 tx sec0 tx)
nsx "$NS_H" curl -s -o /dev/null --max-time 30 "http://$S4/big.bin" &
dl=$!
sleep 1
mid=$(stats "$NS_HAG")
wait $dl
h1=$(stats "$NS_HAG")
read -r a1 s1 < <(if_bytes "$NS_HAG" acc0 tx sec0 tx)
for net in primary secondary; do
	got=$(( $(jq ".networks.$net.sent_bytes" <<<"$h1") - $(jq ".networks.$net.sent_bytes" <<<"$h0") ))
	if [ $net = primary ]; then want=$((a1 - a0)); else want=$((s1 - s0)); fi
	payload_of_wire "HAG download: stats bytes on the $net agree with the interface counter" "$got" "$want"
done

# Upload: the CPE sends on both, the HAG receives on both.
c0=$(stats "$NS_CPE") u0=$(stats "$NS_HAG")
read -r a0 s0 < <(if_bytes "$NS_CPE" pri0 tx sec0 tx)
code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 30 -T "$TOPO_DIR/up.bin" "http://$S4/upload/up.bin")
c1=$(stats "$NS_CPE") u1=$(stats "$NS_HAG")
read -r a1 s1 < <(if_bytes "$NS_CPE" pri0 tx sec0 tx)
check_eq "upload went through" "$code" 201
for net in primary secondary; do
	if [ $net = primary ]; then want=$((a1 - a0)); else want=$((s1 - s0)); fi
	got=$(( $(jq ".networks.$net.sent_bytes" <<<"$c1") - $(jq ".networks.$net.sent_bytes" <<<"$c0") ))
	payload_of_wire "CPE upload: stats bytes on the $net agree with the interface counter" "$got" "$want"
	# The HAG's side of the same bytes. Its last look at a closing
	# connection can come after the kernel zeroed or removed the
	# subflows (seen); the relay then counts from the connection's own
	# totals.
	got=$(( $(jq ".networks.$net.received_bytes" <<<"$u1") - $(jq ".networks.$net.received_bytes" <<<"$u0") ))
	payload_of_wire "HAG upload: bytes received on the $net agree with the CPE's interface counter" "$got" "$want"
done

# Monotonic: every number in the middle snapshot <= the same in the last.
back=$(jq -n --argjson a "$mid" --argjson b "$h1" '
	[ ($a | paths(numbers)) as $p | select(($p | index("connections")) == null)
	  | select(($p | last) != "active" and ($p | last) != "uptime_s" and ($p | last) != "pid")
	  | select(($a | getpath($p)) > ($b | getpath($p))) | $p | map(tostring) | join(".") ] | join(" ")')
check_eq "no counter went backwards between two snapshots" "$back" '""'
check_ge "the ended download is counted" "$(jq .relay.accepted <<<"$h1")" 1
check_eq "no connection active after it ended" "$(jq .relay.active <<<"$h1")" 0
check_ge "steering counted the SYN (CPE)" "$(jq .steering.ipv4.steer.syn_steered <<<"$c1")" 2
check "the middle snapshot listed the live connection with its subflows" \
	test "$(jq '[.connections[] | select(.server == "'$S4':80") | .subflows | length] | max' <<<"$mid")" -ge 2

# The data path and why: the kernel was asked at start-up (a sockmap probe).
check_eq "stats name the data path" "$(jq -r .instance.datapath <<<"$c1")" userspace
check "... with the kernel's answer to the sockmap probe" \
	grep -qE "refuses MPTCP sockets in a sockmap|accepts MPTCP sockets" <<<"$(jq -r .instance.datapath_reason <<<"$c1")"

# Table, Prometheus, and errors in JSON.
check "the table names both access networks" bash -c "ip netns exec $NS_CPE '$HB' stats | grep -q '^secondary'"
prom=$(nsx "$NS_CPE" "$HB" stats --prometheus)
check "Prometheus text has typed counters" grep -q '^# TYPE hybond_network_bytes_total counter' <<<"$prom"
check "Prometheus text has the secondary's bytes" grep -qE '^hybond_network_bytes_total\{instance_name="cpe",network="secondary",direction="sent"\} [0-9]+' <<<"$prom"
# Every counter of the JSON's is in the Prometheus text too, with the same
# value (nothing moves between the two reads): a sample of each family.
for side in cpe hag; do
	ns=$NS_CPE; [ $side = hag ] && ns=$NS_HAG
	j=$(stats "$ns")
	prom=$(nsx "$ns" "$HB" stats --prometheus)
	for pair in \
		".handshake.released hybond_handshakes_total{instance_name=\"$side\",outcome=\"released\"}" \
		".handshake.refused hybond_handshakes_total{instance_name=\"$side\",outcome=\"refused\"}" \
		".relay.idle_closed hybond_relay_events_total{instance_name=\"$side\",event=\"idle_closed\"}" \
		".relay.rcvbuf_raised hybond_relay_events_total{instance_name=\"$side\",event=\"rcvbuf_raised\"}" \
		".bonding.activations hybond_bonding_events_total{instance_name=\"$side\",event=\"activations\"}" \
		".path_manager.connections hybond_path_manager_events_total{instance_name=\"$side\",event=\"connections\"}" \
		".path_manager.subflows_created hybond_path_manager_events_total{instance_name=\"$side\",event=\"subflows_created\"}" \
		".path_manager.tracked hybond_path_manager_tracked{instance_name=\"$side\"}"; do
		set -- $pair
		want=$(jq -r "$1 // \"absent\"" <<<"$j")
		got=$(awk -v k="$2" '$1 == k { print $2 }' <<<"$prom")
		check_eq "Prometheus ($side) $2 is the JSON's $1" "${got:-absent}" "$want"
	done
done
check_ge "... and those are not all zero: the CPE's released handshakes" \
	"$(jq .handshake.released <<<"$(stats "$NS_CPE")")" 1
check "Prometheus (CPE) has primary-first bonding's gauge" \
	grep -qE '^hybond_secondary_in_use\{instance_name="cpe",mode="[a-z-]+"\} [01]$' <<<"$(nsx "$NS_CPE" "$HB" stats --prometheus)"
err=$(nsx "$NS_CPE" "$HB" stats -j --name nosuch)
check_eq "stats -j reports a missing instance as JSON" "$(jq -r 'has("error")' <<<"$err")" true
err=$(nsx "$NS_H" "$HB" stats -j)
check "stats in a namespace without hybond says so" grep -q "no hybond instance" <<<"$err"

t_finish
