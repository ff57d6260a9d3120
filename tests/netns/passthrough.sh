#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# What hybond must not touch: a plain TCP SYN (no MP_CAPABLE) reaching the
# HAG is routed, not proxied, and S sees the client's own connection; ping
# and UDP from H reach S over the primary only.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT

topo_up --rate1 20 --rate2 30
topo_mkfile f.bin 1
topo_start_nginx || { fail "nginx starts"; exit 1; }
topo_start_hybond || { fail "daemons log ready"; exit 1; }

# A client that is not behind a CPE: the CPE itself (its own connections
# are not steered), so its SYN reaches the HAG without MP_CAPABLE.
topo_capture "$NS_HAG" acc0 acc tcp port 80 || fail "capture on access"
CAP_ACC=$TOPO_LAST_PID
topo_capture "$NS_S" eth0 srv tcp port 80 || fail "capture at the server"
CAP_SRV=$TOPO_LAST_PID
for fam in 4 6; do
	if [ $fam = 4 ]; then url=http://$S4 src=$CPE_P4; else url="http://[$S6]" src=$CPE_P6; fi
	code=$(nsx "$NS_CPE" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url/f.bin")
	check_eq "IPv$fam plain client through the HAG: HTTP status" "$code" 200
	last=$(nginx_client ' "GET /f.bin ')
	check_eq "IPv$fam plain client: nginx saw the client's address" "$last" "$src"
done
capture_text acc $CAP_ACC >"$TOPO_DIR/acc.txt"
capture_text srv $CAP_SRV >"$TOPO_DIR/srv.txt"
for fam in 4 6; do
	if [ $fam = 4 ]; then src=$CPE_P4; else src=$CPE_P6; fi
	syn_acc=$(grep -E "IP6? $src\.[0-9]+ > .*\.80: Flags \[S\]," "$TOPO_DIR/acc.txt" | grep -oE 'seq [0-9]+' | head -n 1)
	syn_srv=$(grep -E "IP6? $src\.[0-9]+ > .*\.80: Flags \[S\]," "$TOPO_DIR/srv.txt" | grep -oE 'seq [0-9]+' | head -n 1)
	check "IPv$fam plain SYN seen at the HAG's access ($syn_acc)" test -n "$syn_acc"
	# A proxy would answer itself and open its own connection with its
	# own initial sequence number: the same SYN at S means it was routed.
	check_eq "IPv$fam plain SYN reached S unchanged (same ISN)" "$syn_srv" "$syn_acc"
done
check_eq "no MPTCP option on the plain connections" \
	"$(grep -c mptcp "$TOPO_DIR/acc.txt")" 0

# ping and UDP from H: over the primary only.
for fam in 4 6; do
	if [ $fam = 4 ]; then s=$S4; else s=$S6; fi
	read -r p0 s0 < <(if_bytes "$NS_CPE" pri0 tx sec0 tx)
	loss=$(nsx "$NS_H" ping -$fam -q -c 200 -i 0.002 -s 1000 "$s" | grep -oE '[0-9.]+% packet loss')
	read -r p1 s1 < <(if_bytes "$NS_CPE" pri0 tx sec0 tx)
	check_eq "IPv$fam ping from H reaches S" "$loss" "0% packet loss"
	check_ge "IPv$fam ping crossed the primary (bytes)" $((p1 - p0)) 200000
	check_le "IPv$fam ping did not cross the secondary (bytes)" $((s1 - s0)) 2000
done

topo_spawn "$NS_S" "$TOPO_DIR/iperf3-server.log" iperf3 -s -p 5201 -1
wait_port "$NS_S" 5201 5
read -r p0 s0 < <(if_bytes "$NS_CPE" pri0 tx sec0 tx)
nsx "$NS_H" iperf3 -c "$S4" -p 5201 -u -b 4M -l 1000 -t 1 -J >"$TOPO_DIR/udp.json"
read -r p1 s1 < <(if_bytes "$NS_CPE" pri0 tx sec0 tx)
recv=$(jq -r '.end.sum.packets - .end.sum.lost_packets' "$TOPO_DIR/udp.json" 2>/dev/null)
check_ge "UDP datagrams from H arrived at S" "${recv:-0}" 400
check_ge "UDP crossed the primary (bytes)" $((p1 - p0)) 400000
# iperf3's TCP control connection is bonded; the datagrams are not.
check_le "UDP did not cross the secondary (bytes)" $((s1 - s0)) 20000

t_finish
