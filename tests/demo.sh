#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make demo`: the bonded testbed, explained. Builds nothing (make did),
# creates H - HCPE - (primary, secondary) - HAG - S in network namespaces,
# starts both daemons, runs bonded transfers and prints what a person wants
# to see, then removes everything it created.
set -u
cd "$(dirname "$0")/.."
. tests/lib/topo.sh
[ "$(id -u)" = 0 ] || { echo "demo: run as root (network namespaces, BPF)" >&2; exit 2; }
RATE1=${RATE1:-20} RATE2=${RATE2:-30} SECS=${SECS:-8}
trap topo_down EXIT

say() { printf '%s\n' "$*"; }
mbit() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b * 8 / s / 1e6 }'; }

say "hybond demo: H - HCPE - primary ${RATE1} Mbit/s + secondary ${RATE2} Mbit/s (tbf) - HAG - S"
topo_up --rate1 "$RATE1" --rate2 "$RATE2"
topo_mkfile hello.txt 1
topo_start_nginx >/dev/null || { say "nginx did not start"; exit 1; }
topo_start_hybond || { say "the daemons did not start"; exit 1; }
say "daemons ready:"
grep ready "$TOPO_DIR/hag.log" "$TOPO_DIR/cpe.log" | sed 's/^.*hybond: info: /  /'

code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' "http://$S4/hello.txt")
seen=$(tail -n 1 "$TOPO_DIR/nginx/access.log" | cut -d' ' -f1)
say ""
say "curl http://$S4/hello.txt from H ($H4): HTTP $code; nginx in S logged the client as $seen"
[ "$seen" = "$H4" ] && say "  -> the server saw H@ itself: no NAT on the way"

topo_spawn "$NS_S" "$TOPO_DIR/iperf3.log" iperf3 -s -p 5201
wait_port "$NS_S" 5201 5
for dir in download upload; do
	flag=; [ $dir = download ] && flag=-R
	if [ $dir = download ]; then a="$NS_HAG acc0 tx" b="$NS_HAG sec0 tx"; else a="$NS_CPE pri0 tx" b="$NS_CPE sec0 tx"; fi
	p0=$(if_bytes $a); s0=$(if_bytes $b)
	nsx "$NS_H" iperf3 -c "$S4" -p 5201 $flag -t "$SECS" -J >"$TOPO_DIR/$dir.json" &
	ipid=$!
	sleep 2
	subflows=$(nsx "$NS_CPE" ss -tnH state established |
		awk -v h="$H4" -v c="$CPE_S4" -v c6="$CPE_S6" '
			index($3, "[::ffff:" h "]") == 1 { print "  primary:   " $3 " -> " $4 }
			index($3, c ":") == 1 || index($3, "[::ffff:" c "]") == 1 ||
			index($3, "[" c6 "]") == 1 { print "  secondary: " $3 " -> " $4 }' | sort)
	wait $ipid
	p1=$(if_bytes $a); s1=$(if_bytes $b)
	bps=$(jq -r '.end.sum_received.bits_per_second' "$TOPO_DIR/$dir.json")
	prim=$((p1 - p0)) sec=$((s1 - s0))
	say ""
	say "$dir, iperf3 for ${SECS}s through the bonded path:"
	say "MPTCP subflows of the CPE while it ran (iperf3 uses two connections):"
	say "$subflows"
	say "  primary   $(printf '%6.1f' "$(mbit $prim "$SECS")") Mbit/s  ($((prim / 1048576)) MiB)"
	say "  secondary $(printf '%6.1f' "$(mbit $sec "$SECS")") Mbit/s  ($((sec / 1048576)) MiB)"
	say "  goodput   $(awk -v b="$bps" 'BEGIN { printf "%6.1f", b / 1e6 }') Mbit/s = $(awk -v b="$bps" -v s=$((RATE1 + RATE2)) 'BEGIN { printf "%.0f", b / 1e6 / s * 100 }')% of the $((RATE1 + RATE2)) Mbit/s of both links"
done
say ""
say "The links' rates count whole frames: the headers and MPTCP's options of a"
say "bonded connection leave at most about 94% of them for data (plain TCP 96%),"
say "and the first second is TCP's slow start (bench/README.md, Bonding efficiency)."
say ""
say "cleaning up the testbed"
