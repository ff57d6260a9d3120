#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: figures, not a test. Runs side by side on the namespaced
# testbed (tests/lib/topo.sh) and prints a table; writes the results as
# JSON to build/bench/results-DATE.json and build/bench/latest.json.
#
#   bench/run.sh [--quick] [throughput] [connrate] [memory] [efficiency]
#
# throughput  bulk H->S and S->H, 1 and 16 connections, unshaped links:
#             plain routing, hybond, and a naive relay (nft tproxy +
#             socat made MPTCP with mptcpize, one process per connection);
#             ratio to plain routing; proxies' CPU seconds per GiB
# connrate    new connections per second (ab, keep-alive off, 1 KiB) at 8
#             and 32 in parallel, and time to first byte (median of curl)
# memory      resident memory of each daemon with 10k and 50k idle proxied
#             connections
# efficiency  tbf 20 + 30 Mbit/s: goodput and wire bytes against the sum
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root (network namespaces, BPF)" >&2; exit 2; }
for bin in build/hybond build/tests/tcptool build/bench/holdconns; do
	[ -x "$bin" ] || { echo "bench: $bin missing; run 'make bench'" >&2; exit 2; }
done
for tool in iperf3 ab curl nft socat mptcpize jq; do
	command -v $tool >/dev/null || { echo "bench: $tool missing (apt-get install iperf3 apache2-utils curl nftables socat mptcpd jq)" >&2; exit 2; }
done

QUICK=0
SECTIONS=()
for a in "$@"; do
	case $a in
	--quick) QUICK=1 ;;
	throughput | connrate | memory | efficiency) SECTIONS+=("$a") ;;
	*) echo "bench: unknown argument '$a'" >&2; exit 2 ;;
	esac
done
[ ${#SECTIONS[@]} -gt 0 ] || SECTIONS=(throughput connrate memory efficiency)
if [ $QUICK = 1 ]; then SECS=3 NREQ=2000 MEMN="2000 5000"; else SECS=6 NREQ=4000 MEMN="10000 50000"; fi

TOPO_ID=hbbench$$
. tests/lib/topo.sh
HB=$PWD/build/hybond
NAIVE_PIDS=()
cleanup() {
	local p
	for p in "${NAIVE_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	topo_down
}
trap cleanup EXIT

declare -A R # results: key -> number
say() { printf '%s\n' "$*"; }
ticks() { # CPU ticks (user+sys, children reaped included) of a pid
	awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat" 2>/dev/null || echo 0
}
HZ=$(getconf CLK_TCK)

iperf() { # iperf ARGS... -> prints "bits_per_second bytes"
	nsx "$NS_H" iperf3 -c "$S4" -p 5201 -t "$SECS" "$@" -J 2>/dev/null |
		jq -r '"\(.end.sum_received.bits_per_second // 0) \(.end.sum_received.bytes // 0)"'
}

# ---- the naive baseline: nft tproxy + socat (mptcpize) in both gateways ----
naive_up() {
	local ns p
	for ns in $NS_CPE $NS_HAG; do
		nsx "$ns" ip rule add fwmark 0x2 lookup 102
		nsx "$ns" ip route add local 0.0.0.0/0 dev lo table 102
	done
	nsx "$NS_CPE" nft -f - <<'NFT'
table ip hbnaive {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		meta l4proto tcp socket transparent 1 meta mark set 0x2 accept
		iifname "lan0" tcp dport 5201 tproxy to 127.0.0.1:7100 meta mark set 0x2 accept
		iifname "lan0" tcp dport 80 tproxy to 127.0.0.1:7101 meta mark set 0x2 accept
	}
}
NFT
	nsx "$NS_HAG" nft -f - <<'NFT'
table ip hbnaive {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		meta l4proto tcp socket transparent 1 meta mark set 0x2 accept
		iifname "acc0" tcp flags & (syn|ack) == syn tcp option mptcp subtype 0 tcp dport 5201 tproxy to 127.0.0.1:7200 meta mark set 0x2 accept
		iifname "acc0" tcp flags & (syn|ack) == syn tcp option mptcp subtype 0 tcp dport 80 tproxy to 127.0.0.1:7201 meta mark set 0x2 accept
	}
}
NFT
	nsx "$NS_HAG" ip mptcp endpoint add $HAG_S4 dev sec0 signal port 9400
	nsx "$NS_HAG" ip mptcp limits set subflow 2 add_addr_accepted 0
	nsx "$NS_CPE" ip mptcp limits set subflow 2 add_addr_accepted 2
	for spec in "$NS_CPE 7100 5201" "$NS_CPE 7101 80" "$NS_HAG 7200 5201" "$NS_HAG 7201 80"; do
		set -- $spec
		ip netns exec "$1" mptcpize run socat -b 262144 \
			TCP4-LISTEN:$2,bind=127.0.0.1,fork,reuseaddr,ip-transparent,backlog=1024 \
			TCP4:$S4:$3 >/dev/null 2>&1 &
		NAIVE_PIDS+=($!)
	done
	for p in 7100 7101; do wait_port "$NS_CPE" $p 5; done
	for p in 7200 7201; do wait_port "$NS_HAG" $p 5; done
}
naive_down() {
	local p ns
	for p in "${NAIVE_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	NAIVE_PIDS=()
	for ns in $NS_CPE $NS_HAG; do
		nsx "$ns" nft delete table ip hbnaive 2>/dev/null
		nsx "$ns" ip rule del fwmark 0x2 lookup 102 2>/dev/null
		nsx "$ns" ip route del local 0.0.0.0/0 dev lo table 102 2>/dev/null
	done
	nsx "$NS_HAG" ip mptcp endpoint flush
}
naive_ticks() {
	local t=0 p
	for p in "${NAIVE_PIDS[@]}"; do t=$((t + $(ticks "$p"))); done
	echo $t
}

# measure SETUP: fills R[SETUP.*] for the four throughput runs
measure_tp() {
	local setup=$1 name args bps bytes t0 t1 cpu
	for name in p1_down p1_up p16_down p16_up; do
		case $name in
		p1_down) args="-R" ;; p1_up) args="" ;;
		p16_down) args="-R -P 16" ;; p16_up) args="-P 16" ;;
		esac
		case $setup in
		hybond) t0=$(( $(ticks "$CPE_PID") + $(ticks "$HAG_PID") )) ;;
		naive) t0=$(naive_ticks) ;;
		*) t0=0 ;;
		esac
		read -r bps bytes <<<"$(iperf $args)"
		sleep 0.5 # let forked relays exit and be reaped
		case $setup in
		hybond) t1=$(( $(ticks "$CPE_PID") + $(ticks "$HAG_PID") )) ;;
		naive) t1=$(naive_ticks) ;;
		*) t1=0 ;;
		esac
		R[$setup.$name.gbps]=$(awk -v b="${bps:-0}" 'BEGIN { printf "%.2f", b / 1e9 }')
		if [ "$setup" != plain ] && [ "${bytes:-0}" != 0 ]; then
			R[$setup.$name.cpu_s_per_gib]=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v b="$bytes" \
				'BEGIN { printf "%.2f", t / hz / (b / 1073741824) }')
		fi
	done
}

section_throughput() {
	say "== throughput (unshaped veth, ${SECS}s per run)"
	topo_up
	topo_spawn "$NS_S" "$TOPO_DIR/iperf3.log" iperf3 -s -p 5201
	wait_port "$NS_S" 5201 5
	measure_tp plain
	topo_start_hybond >/dev/null || { say "hybond did not start"; return; }
	measure_tp hybond
	stop_pid "$CPE_PID"; stop_pid "$HAG_PID"
	naive_up
	measure_tp naive
	naive_down
	printf '%-10s %10s %10s %10s %10s   %s\n' setup "1 down" "1 up" "16 down" "16 up" "(Gbit/s; ratio to plain; proxy CPU s/GiB)"
	for setup in plain hybond naive; do
		printf '%-10s' $setup
		for n in p1_down p1_up p16_down p16_up; do
			printf ' %10s' "${R[$setup.$n.gbps]:-?}"
		done
		printf '\n'
		if [ $setup != plain ]; then
			printf '%-10s' "  ratio"
			for n in p1_down p1_up p16_down p16_up; do
				R[$setup.$n.ratio]=$(awk -v a="${R[$setup.$n.gbps]:-0}" -v b="${R[plain.$n.gbps]:-0}" \
					'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
				printf ' %10s' "${R[$setup.$n.ratio]}"
			done
			printf '\n%-10s' "  cpu/GiB"
			for n in p1_down p1_up p16_down p16_up; do
				printf ' %10s' "${R[$setup.$n.cpu_s_per_gib]:-?}"
			done
			printf '\n'
		fi
	done
	for n in p1_down p1_up p16_down p16_up; do
		R[hybond_vs_naive.$n.per_cpu]=$(awk -v h="${R[hybond.$n.cpu_s_per_gib]:-0}" -v s="${R[naive.$n.cpu_s_per_gib]:-0}" \
			'BEGIN { printf "%.2f", (h > 0 ? s / h : 0) }')
	done
	say "hybond moves ${R[hybond_vs_naive.p16_down.per_cpu]}x (16 down) / ${R[hybond_vs_naive.p1_down.per_cpu]}x (1 down) the naive relay's bytes per proxy CPU second"
	topo_down
}

ab_rate() { # ab_rate PORT CONC -> requests/s (integer)
	nsx "$NS_H" ab -q -n "$NREQ" -c "$2" -s 10 "http://$S4:$1/1k" 2>/dev/null |
		awk '/Requests per second/ {print int($4)}'
}
ttfb() { # median time to first byte, microseconds, of 31 requests
	local i
	for i in $(seq 31); do
		nsx "$NS_H" curl -s -o /dev/null -w '%{time_starttransfer}\n' "http://$S4/1k"
	done | sort -n | awk '{a[NR] = $1} END { printf "%d", a[int((NR + 1) / 2)] * 1e6 }'
}

section_connrate() {
	say "== connection rate (ab -n $NREQ, keep-alive off, 1 KiB) and time to first byte"
	topo_up
	mkdir -p "$TOPO_DIR/www"
	head -c 1024 /dev/urandom >"$TOPO_DIR/www/1k"
	topo_start_nginx >/dev/null
	for c in 8 32; do R[plain.connrate_c$c]=$(ab_rate 80 $c); done
	R[plain.ttfb_us]=$(ttfb)
	topo_start_hybond >/dev/null || { say "hybond did not start"; return; }
	for c in 8 32; do R[hybond.connrate_c$c]=$(ab_rate 80 $c); done
	R[hybond.ttfb_us]=$(ttfb)
	stop_pid "$CPE_PID"; stop_pid "$HAG_PID"
	CPE_ARGS=(--accept-first) HAG_ARGS=(--accept-first)
	topo_start_hybond >/dev/null || { say "hybond did not start"; return; }
	for c in 8 32; do R[hybond_accept_first.connrate_c$c]=$(ab_rate 8080 $c); done
	stop_pid "$CPE_PID"; stop_pid "$HAG_PID"
	CPE_ARGS=() HAG_ARGS=()
	naive_up
	for c in 8 32; do R[naive.connrate_c$c]=$(ab_rate 80 $c); done
	naive_down
	printf '%-22s %12s %12s %12s\n' setup "8 parallel" "32 parallel" "TTFB (us)"
	for setup in plain hybond hybond_accept_first naive; do
		printf '%-22s %12s %12s %12s\n' $setup "${R[$setup.connrate_c8]:-?}" "${R[$setup.connrate_c32]:-?}" "${R[$setup.ttfb_us]:--}"
	done
	for setup in hybond hybond_accept_first naive; do
		for c in 8 32; do
			R[$setup.connrate_c$c.ratio]=$(awk -v a="${R[$setup.connrate_c$c]:-0}" -v b="${R[plain.connrate_c$c]:-0}" \
				'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
		done
	done
	say "ratio to plain routing: hybond ${R[hybond.connrate_c8.ratio]} (8) ${R[hybond.connrate_c32.ratio]} (32), accept-first ${R[hybond_accept_first.connrate_c8.ratio]} / ${R[hybond_accept_first.connrate_c32.ratio]}, naive ${R[naive.connrate_c8.ratio]} / ${R[naive.connrate_c32.ratio]}"
	topo_down
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

section_memory() {
	say "== memory with idle proxied connections"
	topo_up
	nsx "$NS_H" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
	topo_spawn "$NS_S" "$TOPO_DIR/hold-srv.log" build/bench/holdconns serve 7001 7002 7003 7004
	wait_for "$TOPO_DIR/hold-srv.log" listening 5
	topo_start_hybond >/dev/null || { say "hybond did not start"; return; }
	local n base_c base_h c h est
	base_c=$(rss_kib "$CPE_PID") base_h=$(rss_kib "$HAG_PID")
	R[memory.baseline_kib.cpe]=$base_c R[memory.baseline_kib.hag]=$base_h
	printf '%-8s %12s %12s %14s %14s\n' conns "CPE RSS KiB" "HAG RSS KiB" "CPE B/conn" "HAG B/conn"
	printf '%-8s %12s %12s\n' 0 "$base_c" "$base_h"
	for n in $MEMN; do
		topo_spawn "$NS_H" "$TOPO_DIR/hold-$n.log" build/bench/holdconns connect "$S4" 7001,7002,7003,7004 "$n" 240
		local cli=$TOPO_LAST_PID
		wait_for "$TOPO_DIR/hold-$n.log" established 240
		est=$(awk '/established/ {print $2}' "$TOPO_DIR/hold-$n.log")
		sleep 2
		c=$(rss_kib "$CPE_PID") h=$(rss_kib "$HAG_PID")
		R[memory.$n.established]=${est:-0}
		R[memory.$n.rss_kib.cpe]=$c R[memory.$n.rss_kib.hag]=$h
		R[memory.$n.bytes_per_conn.cpe]=$(( (c - base_c) * 1024 / (${est:-1} > 0 ? ${est:-1} : 1) ))
		R[memory.$n.bytes_per_conn.hag]=$(( (h - base_h) * 1024 / (${est:-1} > 0 ? ${est:-1} : 1) ))
		printf '%-8s %12s %12s %14s %14s   (%s established)\n' "$n" "$c" "$h" \
			"${R[memory.$n.bytes_per_conn.cpe]}" "${R[memory.$n.bytes_per_conn.hag]}" "${est:-0}"
		R[memory.$n.active.hag]=$(nsx "$NS_HAG" "$HB" stats -j 2>/dev/null | jq .relay.active)
		kill "$cli" 2>/dev/null; wait "$cli" 2>/dev/null
		sleep 3
	done
	topo_mkfile f.bin 1
	topo_start_nginx >/dev/null
	R[memory.curl_after]=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$S4/f.bin")
	say "a request after the idle connections closed: HTTP ${R[memory.curl_after]}; errors in the logs: $(grep -ci error "$TOPO_DIR/cpe.log" "$TOPO_DIR/hag.log" | awk -F: '{s += $2} END {print s}')"
	topo_down
}

section_efficiency() {
	say "== bonding efficiency, tbf 20 + 30 Mbit/s (iperf3 12 s, the last 10 s measured)"
	topo_up --rate1 20 --rate2 30
	topo_spawn "$NS_S" "$TOPO_DIR/iperf3.log" iperf3 -s -p 5201
	wait_port "$NS_S" 5201 5
	CPE_ARGS=(--primary-rate 20)
	topo_start_hybond >/dev/null || { say "hybond did not start"; return; }
	local dir flag a b p0 s0 p1 s1 bps
	for dir in down up; do
		if [ $dir = down ]; then flag=-R a="$NS_HAG acc0" b="$NS_HAG sec0"; else flag= a="$NS_CPE pri0" b="$NS_CPE sec0"; fi
		p0=$(if_bytes $a tx); s0=$(if_bytes $b tx)
		bps=$(nsx "$NS_H" iperf3 -c "$S4" -p 5201 $flag -t 12 -O 2 -J | jq '.end.sum_received.bits_per_second')
		p1=$(if_bytes $a tx); s1=$(if_bytes $b tx)
		R[efficiency.$dir.goodput_mbps]=$(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 1e6 }')
		R[efficiency.$dir.goodput_ratio]=$(awk -v b="$bps" 'BEGIN { printf "%.3f", b / 50e6 }')
		# Frames on both links over the whole 12 s against 50 Mbit/s.
		R[efficiency.$dir.wire_ratio]=$(awk -v x=$((p1 - p0 + s1 - s0)) 'BEGIN { printf "%.3f", x * 8 / 12 / 50e6 }')
		printf '%-5s goodput %6s Mbit/s = %s of 50; link utilisation %s\n' $dir \
			"${R[efficiency.$dir.goodput_mbps]}" "${R[efficiency.$dir.goodput_ratio]}" "${R[efficiency.$dir.wire_ratio]}"
	done
	CPE_ARGS=()
	topo_down
}

say "hybond bench on $(nproc) CPUs, kernel $(uname -r), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)"
for s in "${SECTIONS[@]}"; do "section_$s"; done

mkdir -p build/bench
out=build/bench/results-$(date +%Y%m%d-%H%M%S).json
{
	printf '{"machine":{"cpus":%s,"kernel":"%s"},"commit":"%s","quick":%s,"results":{' \
		"$(nproc)" "$(uname -r)" "$(git rev-parse HEAD 2>/dev/null)" "$([ $QUICK = 1 ] && echo true || echo false)"
	first=1
	for k in $(printf '%s\n' "${!R[@]}" | sort); do
		v=${R[$k]}
		[[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || v="\"$v\""
		[ $first = 1 ] || printf ','
		printf '"%s":%s' "$k" "$v"
		first=0
	done
	printf '}}\n'
} >"$out"
cp "$out" build/bench/latest.json
say "results: $out"
