#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# bench/run.sh - hybond's benchmarks: figures, never a pass/fail verdict.
#
#   bench/run.sh [--quick] [SECTION...]      (as root; `make bench` runs it)
#
# SECTION is any of (default: all seven, in this order):
#   throughput  bulk iperf3 H->S and S->H with 1 and 16 connections on
#               unshaped veth links: plain routing, hybond, a naive relay
#               of stock parts (nft tproxy + socat, one process per
#               connection, MPTCP with mptcpize) and the stock relay of
#               the developers' guide (nft tproxy + haproxy, mptcpize);
#               Gbit/s, ratio to plain routing, CPU seconds the proxies
#               spent per GiB moved
#   conn-rate   new connections per second (ab, keep-alive off, 1 KiB) for
#               plain routing, hybond (also --accept-first, and
#               --join-after 0), the naive and the stock relay, median of
#               rounds, the proxies' and the whole box's CPU per connection;
#               time to connect and to the first byte (median of curl);
#               each daemon's system calls per connection (perf stat, if
#               there); hybond's CPU per connection split by thread (each
#               daemon's main, hold and relay threads) and the kernel's
#               workqueues
#   memory      resident memory of each hybond daemon holding 10k and 50k
#               idle proxied connections, bytes per connection; a request
#               and the logs checked afterwards
#   efficiency  tbf 20 + 30 Mbit/s: bonded goodput / 50 Mbit/s, each way,
#               with a line's token bucket (two frames) and with 10 ms,
#               and where the kernel has netem (the vmtest guests) also
#               with the line bucket behind 10 / 30 ms of one-way delay,
#               queues of 50 ms (delay) and of 200 ms (deep);
#               the worst second of each run (Mbit/s), the sender's
#               retransmissions
#   churn       port churn: H gets 500 source ports, a first ab run against
#               a server port and then repeated runs against the same port
#               (every port reused ~8 times a run); the repeats' median rate
#               against the first, for plain routing and both hybond modes
#   mechanisms  how to move bytes: two relaymech forwarders in hybond's
#               places (CPE: TCP -> MPTCP, HAG: MPTCP -> TCP) moving bytes
#               with read/write, splice, MSG_ZEROCOPY or io_uring; iperf3
#               1 and 4 connections each way: Gbit/s, CPU s/GiB of the
#               relays and of the whole box, zerocopy sends the kernel copied
#   splice      in-kernel splicing where kernels allow it today: a CPE
#               relaying over plain TCP (--upstream tcp), its connections
#               spliced in the kernel (--splice) or moved in user space,
#               against plain routing; iperf3 1 and 16
#               connections each way: Gbit/s, the whole box's CPU s/GiB
#               (the splice's work runs in the kernel's softirqs and work
#               queues, not in the daemon: only the box's figure compares)
# --quick: shorter runs and fewer connections (a ~3 minute smoke test).
#
# Prints a table per section and writes everything as JSON to
# build/bench/results-YYYYmmdd-HHMMSS.json and build/bench/latest.json
# (compare two with bench/compare.sh). See the README, section Performance.
set -u
cd "$(dirname "$0")/.."

usage() {
	awk 'NR > 2 && !/^#/ { exit } NR > 2' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

QUICK=0
SECTIONS=()
for a in "$@"; do
	case $a in
	--quick | -q) QUICK=1 ;;
	-h | --help) usage 0 ;;
	throughput | memory | efficiency | churn | mechanisms | splice) SECTIONS+=("$a") ;;
	conn-rate | connrate) SECTIONS+=(connrate) ;;
	all) SECTIONS+=(throughput connrate memory efficiency churn mechanisms splice) ;;
	*) echo "bench: unknown argument '$a'" >&2; usage 2 ;;
	esac
done
[ ${#SECTIONS[@]} -gt 0 ] || SECTIONS=(throughput connrate memory efficiency churn mechanisms splice)

if [ "$QUICK" = 1 ]; then
	SECS=${BENCH_SECS:-2} NREQ=${BENCH_NREQ:-1000} CONCS=${BENCH_CONCS:-8} AB_SECS=5
	TTFB_N=${BENCH_TTFB_N:-15} MEMN=${BENCH_MEMN:-"2000 5000"}
	EFF_SECS=${BENCH_EFF_SECS:-4} EFF_SETUPS="plain hybond"
	CHURN_REPEATS=${BENCH_CHURN_REPEATS:-2}
	CONN_ROUNDS=${BENCH_CONN_ROUNDS:-2}
	DEADLINE=${BENCH_DEADLINE:-600}
else
	SECS=${BENCH_SECS:-5} NREQ=${BENCH_NREQ:-4000} CONCS=${BENCH_CONCS:-"8 32"} AB_SECS=15
	TTFB_N=${BENCH_TTFB_N:-50} MEMN=${BENCH_MEMN:-"10000 50000"}
	EFF_SECS=${BENCH_EFF_SECS:-10} EFF_SETUPS="plain hybond hybond_ovf naive"
	CHURN_REPEATS=${BENCH_CHURN_REPEATS:-4}
	CONN_ROUNDS=${BENCH_CONN_ROUNDS:-3}
	DEADLINE=${BENCH_DEADLINE:-2700}
fi
RATE1=20 RATE2=30 EFF_DELAY1=10ms EFF_DELAY2=30ms

# ---- prerequisites -------------------------------------------------------------
[ "$(id -u)" = 0 ] || { echo "bench: run as root (network namespaces, BPF)" >&2; exit 2; }
[ -x build/hybond ] || { echo "bench: build/hybond missing: run 'make' first" >&2; exit 2; }
missing=
for t in iperf3:iperf3 ab:apache2-utils curl:curl jq:jq nginx:nginx-light timeout:coreutils; do
	command -v "${t%%:*}" >/dev/null || missing="$missing ${t#*:}"
done
[ -z "$missing" ] || { echo "bench: missing tools; apt-get install$missing" >&2; exit 2; }
HAVE_NAIVE=1
for t in socat:socat mptcpize:mptcpd nft:nftables; do
	command -v "${t%%:*}" >/dev/null || {
		echo "bench: ${t%%:*} missing (apt-get install ${t#*:}): the naive baseline is skipped" >&2
		HAVE_NAIVE=0
	}
done
# The stock relay (nft + haproxy made MPTCP): the bar of the developers' guide.
HAVE_STOCK=$HAVE_NAIVE
command -v haproxy >/dev/null || {
	[ $HAVE_NAIVE = 1 ] && echo "bench: haproxy missing (apt-get install haproxy): the stock baseline is skipped" >&2
	HAVE_STOCK=0
}
mkdir -p build/bench
if [ ! -x build/bench/holdconns ] || [ bench/holdconns.c -nt build/bench/holdconns ]; then
	${CC:-cc} -O2 -Wall -Wextra -std=gnu11 -D_GNU_SOURCE bench/holdconns.c \
		-o build/bench/holdconns || { echo "bench: cannot build holdconns" >&2; exit 2; }
fi
HAVE_MECH=1
if [ ! -x build/bench/relaymech ] || [ bench/relaymech.c -nt build/bench/relaymech ]; then
	${CC:-cc} -O2 -Wall -Wextra -std=gnu11 -D_GNU_SOURCE bench/relaymech.c \
		-o build/bench/relaymech -luring || {
		echo "bench: cannot build relaymech (apt-get install liburing-dev): section mechanisms is skipped" >&2
		HAVE_MECH=0
	}
fi

TOPO_ID=hbbench$$
. tests/lib/topo.sh
. bench/lib.sh
HB=$PWD/build/hybond HOLD=$PWD/build/bench/holdconns MECH=$PWD/build/bench/relaymech
CPE_ARGS=() HAG_ARGS=()
CURRENT_SETUP=
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=build/bench/results-$STAMP.json

cleanup() {
	trap - EXIT INT TERM
	[ -n "$CURRENT_SETUP" ] && setup_down "$CURRENT_SETUP" >/dev/null 2>&1
	topo_down >/dev/null 2>&1
	cg_cleanup
	[ -n "${WATCHDOG:-}" ] && kill "$WATCHDOG" 2>/dev/null
}
trap cleanup EXIT
trap 'say "bench: interrupted"; exit 130' INT TERM
# The whole run is bounded too: the watchdog sends us SIGTERM.
(
	trap 'kill "$sp" 2>/dev/null; exit 0' TERM
	sleep "$DEADLINE" &
	sp=$!
	wait "$sp" && echo "bench: deadline of ${DEADLINE}s reached" >&2 && kill -TERM $$
) 2>/dev/null &
WATCHDOG=$!
cg_init

use_setup() { CURRENT_SETUP=$1; setup_up "$1"; }
end_setup() { setup_down "$1"; CURRENT_SETUP=; }

# Keep the logs of the daemons, relays and load generators of one setup
# (the testbed's directory goes away with topo_down).
LOGDIR=build/bench/logs-$STAMP
keep_logs() { # TAG
	local f
	mkdir -p "$LOGDIR"
	for f in "$TOPO_DIR"/cpe.log "$TOPO_DIR"/hag.log "$TOPO_DIR"/naive-*.log \
		"$TOPO_DIR"/ab-*.txt "$TOPO_DIR"/ttfb-*.txt "$TOPO_DIR"/hold-*.log "$TOPO_DIR"/iperf-*.json \
		"$TOPO_DIR"/stats-*.json "$TOPO_DIR"/stats-*-mib.txt; do
		[ -s "$f" ] && mv "$f" "$LOGDIR/$1-$(basename "$f")"
	done
	return 0
}

# MPTCP MIB counter in a namespace (absolute, without touching history).
mib() { nsx "$1" nstat -asz "$2" 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'; }

# iperf3's arguments for a test named DIRECTION_STREAMS (down_16: -R -P 16).
iperf_args() {
	local a="-P ${1#*_}"
	[ "${1%_*}" = down ] && a="-R $a"
	printf '%s' "$a"
}

# ---- 1. throughput ---------------------------------------------------------------
section_throughput() {
	local setups="plain hybond"
	[ $HAVE_NAIVE = 1 ] && setups="$setups naive"
	[ $HAVE_STOCK = 1 ] && setups="$setups stock"
	say ""
	say "== throughput: iperf3 H <-> S, ${SECS}s per run, unshaped veth links"
	bulk_runs throughput "$setups"
}

# ---- 7. in-kernel splicing ---------------------------------------------------------
section_splice() {
	say ""
	say "== splice: a CPE relaying over plain TCP (--upstream tcp), spliced in the kernel (--splice) or not; iperf3 H <-> S, ${SECS}s per run"
	bulk_runs splice "plain hybond_tcp hybond_tcpu"
	say "(the splice's work runs in softirqs and the kernel's work queues, not in the daemon: compare the box's CPU, not the proxy's)"
}

# bulk_runs NAME SETUPS: iperf3 down/up with 1 and 16 connections through
# each setup; results under NAME.SETUP.TEST, and a table.
bulk_runs() {
	local name=$1 setups=$2 setup t args c0 h0 c1 h1 b0 b1 bps bytes \
		sp0 ss0 sp1 ss1 k mc0 mj0
	topo_up || { warn "topology failed"; return 1; }
	topo_spawn "$NS_S" "$TOPO_DIR/iperf3-server.log" iperf3 -s -p 5201
	wait_port "$NS_S" 5201 5 || { warn "iperf3 server did not start"; topo_down; return 1; }
	for setup in $setups; do
		use_setup $setup || { res "$name.$setup.error" "did not start"; end_setup $setup; continue; }
		mc0=$(mib "$NS_CPE" MPTcpExtMPCapableSYNACKRX) mj0=$(mib "$NS_CPE" MPTcpExtMPJoinSynAckRx)
		for t in down_1 up_1 down_16 up_16; do
			args=$(iperf_args $t)
			k=$name.$setup.$t
			read -r c0 h0 <<<"$(setup_usec $setup)"
			b0=$(box_usec)
			sp0=$(( $(if_bytes "$NS_CPE" pri0 tx) + $(if_bytes "$NS_CPE" pri0 rx) ))
			ss0=$(( $(if_bytes "$NS_CPE" sec0 tx) + $(if_bytes "$NS_CPE" sec0 rx) ))
			read -r bps bytes <<<"$(iperf_run "$setup-$t" "$SECS" $args)"
			b1=$(box_usec)
			# Let the relays finish and reap the per-connection processes.
			sleep 1
			read -r c1 h1 <<<"$(setup_usec $setup)"
			sp1=$(( $(if_bytes "$NS_CPE" pri0 tx) + $(if_bytes "$NS_CPE" pri0 rx) ))
			ss1=$(( $(if_bytes "$NS_CPE" sec0 tx) + $(if_bytes "$NS_CPE" sec0 rx) ))
			res "$k.gbps" "$(calc %.2f 'b / 1e9' b="$bps")"
			res "$k.bytes" "$bytes"
			res "$k.box_cpu_s_per_gib" "$(calc %.2f 'bytes ? u / 1e6 / (bytes / 2^30) : 0' u=$((b1 - b0)) bytes="$bytes")"
			res "$k.secondary_share" "$(calc %.2f '(p + s) ? s / (p + s) : 0' p=$((sp1 - sp0)) s=$((ss1 - ss0)))"
			if [ $setup != plain ]; then
				res "$k.cpu_s_per_gib" "$(calc %.2f 'bytes ? u / 1e6 / (bytes / 2^30) : 0' u=$((c1 - c0 + h1 - h0)) bytes="$bytes")"
				res "$k.cpu_s_per_gib_cpe" "$(calc %.2f 'bytes ? u / 1e6 / (bytes / 2^30) : 0' u=$((c1 - c0)) bytes="$bytes")"
				res "$k.cpu_s_per_gib_hag" "$(calc %.2f 'bytes ? u / 1e6 / (bytes / 2^30) : 0' u=$((h1 - h0)) bytes="$bytes")"
			fi
		done
		res "$name.$setup.mptcp_connections" $(( $(mib "$NS_CPE" MPTcpExtMPCapableSYNACKRX) - mc0 ))
		res "$name.$setup.mptcp_joins" $(( $(mib "$NS_CPE" MPTcpExtMPJoinSynAckRx) - mj0 ))
		case $setup in
		hybond*)
			# A spliced connection that outran its receiver is
			# warned about by design (no back-pressure): counted
			# apart, not as a problem.
			local probs
			probs=$(hybond_log_problems)
			res $name.$setup.log_problems "$(printf '%s' "$probs" | grep -cv 'not yet sent on')"
			res $name.$setup.splice_overruns "$(printf '%s' "$probs" | grep -c 'not yet sent on')" ;;
		naive | stock) res $name.$setup.log_problems "$(naive_log_problems | grep -cvE 'Broken pipe|Connection reset by peer')" ;;
		esac
		end_setup $setup
		keep_logs "$name-$setup"
	done
	topo_down

	for setup in $setups; do
		for t in down_1 up_1 down_16 up_16; do
			k=$name.$setup.$t
			res "$k.ratio" "$(calc %.2f 'p > 0 ? g / p : 0' g="$(get $k.gbps)" p="$(get $name.plain.$t.gbps)")"
		done
	done
	printf '%-26s %-9s %8s %9s %22s %9s %10s\n' setup test Gbit/s "vs plain" "proxy CPU s/GiB" "box CPU" "secondary"
	printf '%-26s %-9s %8s %9s %22s %9s %10s\n' "" "" "" "" "total (CPE + HAG)" "s/GiB" "share"
	for setup in $setups; do
		for t in down_1 up_1 down_16 up_16; do
			k=$name.$setup.$t
			local cpu=-
			[ $setup != plain ] && cpu="$(get $k.cpu_s_per_gib) ($(get $k.cpu_s_per_gib_cpe) + $(get $k.cpu_s_per_gib_hag))"
			printf '%-26s %-9s %8s %9s %22s %9s %10s\n' "$(setup_label $setup)" \
				"${t%_*} x${t#*_}" "$(get $k.gbps)" "$(get $k.ratio)" "$cpu" \
				"$(get $k.box_cpu_s_per_gib)" "$(get $k.secondary_share)"
		done
	done
	for setup in $setups; do
		[ $setup = plain ] && continue
		local ov more=
		ov=$(get $name.$setup.splice_overruns)
		[ "${ov:-0}" -gt 0 ] && more="; $ov warning(s) of a spliced connection outrunning its receiver (the splice has no back-pressure)"
		say "$(setup_label $setup): $(get $name.$setup.mptcp_connections) MPTCP connections, $(get $name.$setup.mptcp_joins) joins over the secondary; $(get $name.$setup.log_problems) error lines in its logs$( [ $setup = naive ] || [ $setup = stock ] && echo " (not counting resets and broken pipes: iperf3 ends its streams that way)")$more"
	done
}

# ---- 2. connection rate ------------------------------------------------------------
# System calls each daemon makes per proxied connection: perf stat counts
# raw_syscalls:sys_enter in all of a daemon's threads over one ab run of
# 2000 connections, 8 at a time (its own run: counting slows the calls a
# little). syscalls_run NAME PATH -> "CPE HAG" (per connection), or "- -".
syscalls_run() {
	local name=$1 path=$2 pc ph rps done failed non2xx c h
	command -v perf >/dev/null || { echo "- -"; return; }
	perf stat -x, -e raw_syscalls:sys_enter -p "$CPE_PID" -o "$TOPO_DIR/perf-$name-cpe.txt" >/dev/null 2>&1 &
	pc=$!
	perf stat -x, -e raw_syscalls:sys_enter -p "$HAG_PID" -o "$TOPO_DIR/perf-$name-hag.txt" >/dev/null 2>&1 &
	ph=$!
	sleep 0.5
	read -r rps done failed non2xx <<<"$(ab_run "syscalls-$name" 8 2000 30 "$path")"
	kill -INT "$pc" "$ph" 2>/dev/null
	wait "$pc" "$ph" 2>/dev/null
	c=$(awk -F, '$3 == "raw_syscalls:sys_enter" { print $1 }' "$TOPO_DIR/perf-$name-cpe.txt" 2>/dev/null)
	h=$(awk -F, '$3 == "raw_syscalls:sys_enter" { print $1 }' "$TOPO_DIR/perf-$name-hag.txt" 2>/dev/null)
	if [ "${done:-0}" -gt 0 ] && [ -n "$c" ] && [ -n "$h" ]; then
		echo "$(calc %.1f 'x / n' x="$c" n="$done") $(calc %.1f 'x / n' x="$h" n="$done")"
	else
		echo "- -"
	fi
}

# The median of per-round ratios: paired_ratio KEY_ROUNDS KEY_PLAIN_ROUNDS
# (each a list of rates, one per round). The box's speed drifts between
# rounds; a round's figures are minutes apart at most.
paired_ratio() {
	local a b i r=()
	read -r -a a <<<"$(get "$1")"
	read -r -a b <<<"$(get "$2")"
	for i in "${!a[@]}"; do
		[ "${b[i]:-0}" -gt 0 ] && r+=($((a[i] * 1000 / b[i])))
	done
	[ ${#r[@]} -gt 0 ] || { echo -; return; }
	calc %.2f 'm / 1000' m="$(median "${r[@]}")"
}

# SYNs that met one of a gateway's own TIME_WAIT sockets so far (the
# daemons' handshake.time_wait_cleared): "CPE HAG", 0 for other setups.
tw_cleared() {
	case $1 in
	hybond*) echo "$(hybond_stats "$NS_CPE" | jq '.handshake.time_wait_cleared // 0') $(hybond_stats "$NS_HAG" | jq '.handshake.time_wait_cleared // 0')" ;;
	*) echo "0 0" ;;
	esac
}

section_connrate() {
	local setups="plain hybond hybond_af hybond_now" setup c k c0 h0 c1 h1 b0 b1 rps done failed non2xx round ns i split0 split1 tw0 tw1
	[ $HAVE_NAIVE = 1 ] && setups="$setups naive"
	[ $HAVE_STOCK = 1 ] && setups="$setups stock"
	say ""
	say "== connection rate: ab -n $NREQ -t $AB_SECS (keep-alive off, 1 KiB over HTTP) H -> nginx in S, $CONN_ROUNDS rounds over all setups, median; time to first byte (curl x$TTFB_N)"
	# H cycles through its ports: give it the whole range. Each setup talks
	# to its own server port: the server's TIME_WAIT of one setup's
	# connections must not meet the next setup's SYNs on the same tuple
	# (a different stack's sequence numbers), which would cost it
	# retransmitted SYNs that are not its own doing.
	local -A port=([plain]=80 [hybond]=8081 [hybond_af]=8082 [hybond_now]=8083 [naive]=8084 [stock]=8085)
	NGINX_EXTRA_PORTS="8081 8082 8083 8084 8085" web_testbed "1024 65535" || return 1
	# Rounds over all setups, so that a slow spell of the machine falls on
	# every setup alike; the figure is each setup's median.
	for ((round = 1; round <= CONN_ROUNDS; round++)); do
		for setup in $setups; do
			use_setup $setup || { res "connrate.$setup.error" "did not start"; end_setup $setup; continue; }
			for c in $CONCS; do
				k=connrate.$setup.c$c
				# Every run starts with no TIME_WAIT anywhere: the
				# server's grow over a run (it closes first) and
				# slow the next one, whichever setup it is.
				for ns in $TOPO_NS; do nsx "$ns" ss -K state time-wait >/dev/null 2>&1; done
				# (Asked outside the CPU windows below: answering
				# costs the daemons a little.)
				read -r -a tw0 <<<"$(tw_cleared $setup)"
				read -r c0 h0 <<<"$(setup_usec $setup)"
				[ $setup = hybond ] && split0="$(thread_ticks "$CPE_PID") $(thread_ticks "$HAG_PID") $(kworker_ticks)"
				b0=$(box_usec)
				read -r rps done failed non2xx <<<"$(ab_run "$setup-c$c-r$round" "$c" "$NREQ" "$AB_SECS" ":${port[$setup]}/1k")"
				b1=$(box_usec)
				[ $setup = hybond ] && split1="$(thread_ticks "$CPE_PID") $(thread_ticks "$HAG_PID") $(kworker_ticks)"
				sleep 1
				read -r c1 h1 <<<"$(setup_usec $setup)"
				read -r -a tw1 <<<"$(tw_cleared $setup)"
				res "$k.tw_cpe" "$(($(get $k.tw_cpe) + tw1[0] - tw0[0]))"
				res "$k.tw_hag" "$(($(get $k.tw_hag) + tw1[1] - tw0[1]))"
				if [ $setup = hybond ]; then
					# Where a connection's CPU goes, summed over
					# the rounds: ticks of each kind and the
					# connections they served.
					local -a a0=($split0) a1=($split1) acc=($(get $k.split_ticks))
					for i in 0 1 2 3 4 5 6; do
						acc[i]=$((${acc[i]:-0} + a1[i] - a0[i]))
					done
					acc[7]=$((${acc[7]:-0} + done))
					res "$k.split_ticks" "${acc[*]}"
				fi
				res "$k.rounds" "$(get $k.rounds) $rps"
				res "$k.box_rounds" "$(get $k.box_rounds) $(calc %.0f 'n ? u / n : 0' u=$((b1 - b0)) n="$done")"
				res "$k.complete" "$(($(get $k.complete) + done))"
				res "$k.failed" "$(($(get $k.failed) + failed + non2xx))"
				[ $setup != plain ] &&
					res "$k.cpu_rounds" "$(get $k.cpu_rounds) $(calc %.0f 'n ? u / n : 0' u=$((c1 - c0 + h1 - h0)) n="$done")"
			done
			if [ $round = 1 ] && { [ $setup = hybond ] || [ $setup = plain ] || [ $setup = naive ] || [ $setup = stock ]; }; then
				local cm tm t90 bad
				read -r cm tm t90 bad <<<"$(ttfb_run "$setup" "$TTFB_N" ":${port[$setup]}/1k")"
				res "connrate.$setup.connect_median_us" "$cm"
				res "connrate.$setup.ttfb_median_us" "$tm"
				res "connrate.$setup.ttfb_p90_us" "$t90"
				res "connrate.$setup.ttfb_failures" "$bad"
			fi
			if [ $round = 1 ] && [ "${setup#hybond}" != "$setup" ]; then
				local sc sh
				read -r sc sh <<<"$(syscalls_run "$setup" ":${port[$setup]}/1k")"
				res "connrate.$setup.syscalls_per_conn_cpe" "$sc"
				res "connrate.$setup.syscalls_per_conn_hag" "$sh"
			fi
			case $setup in
			hybond*) res "connrate.$setup.log_problems" "$(($(get connrate.$setup.log_problems) + $(hybond_log_problems | wc -l)))" ;;
			naive | stock) res connrate.$setup.log_problems "$(($(get connrate.$setup.log_problems) + $(naive_log_problems | wc -l)))" ;;
			esac
			end_setup $setup
			keep_logs "connrate-$setup-r$round"
		done
	done
	for setup in $setups; do
		for c in $CONCS; do
			k=connrate.$setup.c$c
			res "$k.rounds" "$(get $k.rounds | sed 's/^ //')"
			res "$k.conn_per_s" "$(median $(get $k.rounds))"
			res "$k.box_rounds" "$(get $k.box_rounds | sed 's/^ //')"
			res "$k.box_us_per_conn" "$(median $(get $k.box_rounds))"
			[ $setup != plain ] && res "$k.cpu_us_per_conn" "$(median $(get $k.cpu_rounds))"
			res "$k.cpu_rounds" "$(get $k.cpu_rounds | sed 's/^ //')"
		done
	done
	topo_down

	printf '%-24s %5s %8s %9s %9s %7s %13s %13s\n' setup conc conn/s "vs plain" "per round" failed "proxy CPU us" "box CPU us"
	printf '%-24s %5s %8s %9s %9s %7s %13s %13s\n' "" "" "" "" "" "" "per conn." "per conn."
	for setup in $setups; do
		for c in $CONCS; do
			k=connrate.$setup.c$c
			res "$k.ratio" "$(calc %.2f 'p > 0 ? g / p : 0' g="$(get $k.conn_per_s)" p="$(get connrate.plain.c$c.conn_per_s)")"
			res "$k.ratio_per_round" "$(paired_ratio "$k.rounds" "connrate.plain.c$c.rounds")"
			printf '%-24s %5s %8s %9s %9s %7s %13s %13s\n' "$(setup_label $setup)" "$c" "$(get $k.conn_per_s)" \
				"$(get $k.ratio)" "$(get $k.ratio_per_round)" "$(get $k.failed)" \
				"$( [ $setup = plain ] && echo - || get $k.cpu_us_per_conn)" "$(get $k.box_us_per_conn)"
		done
	done
	say "vs plain: medians against medians; per round: the median of each round's rate against plain routing's in that round"
	for c in $CONCS; do
		local -a t=($(get connrate.hybond.c$c.split_ticks))
		[ "${t[7]:-0}" -gt 0 ] || continue
		local us=() names=(cpe_main cpe_hold cpe_workers hag_main hag_hold hag_workers kworkers)
		for i in 0 1 2 3 4 5 6; do
			us[i]=$(calc %.0f 'x * 1e6 / hz / n' x="${t[i]}" hz="$HZ" n="${t[7]}")
			res "connrate.hybond.c$c.us_per_conn_${names[i]}" "${us[i]}"
		done
		say "hybond, $c at a time, CPU us per connection by thread: CPE main ${us[0]}, hold ${us[1]}, relay ${us[2]}; HAG main ${us[3]}, hold ${us[4]}, relay ${us[5]}; kernel workqueues ${us[6]} (a thread's figure includes the kernel's work on the packets it sends, through every namespace they cross)"
	done
	say "box CPU: the whole machine's, ab, nginx and the kernel's MPTCP workers included"
	for setup in $setups; do
		[ "${setup#hybond}" = "$setup" ] && continue
		local tws=""
		for c in $CONCS; do
			k=connrate.$setup.c$c
			res "$k.tw_share_cpe" "$(calc %.2f 'n ? x / n : 0' x="$(get $k.tw_cpe)" n="$(get $k.complete)")"
			res "$k.tw_share_hag" "$(calc %.2f 'n ? x / n : 0' x="$(get $k.tw_hag)" n="$(get $k.complete)")"
			tws="$tws, $c at a time $(get $k.tw_share_cpe) / $(get $k.tw_share_hag)"
		done
		say "$(setup_label $setup): share of connections whose SYN met the gateway's own TIME_WAIT (CPE / HAG)${tws}"
	done
	say "(H reuses a port within seconds, the kernel picking source ports with random steps; plain routing's server takes such a SYN in its own TIME_WAIT, hybond clears its own first)"
	printf '\n%-24s %14s %14s %14s %9s\n' setup "connect (med)" "TTFB (median)" "TTFB (p90)" failures
	for setup in $setups; do
		case $setup in hybond_af | hybond_now) continue ;; esac
		printf '%-24s %11s us %11s us %11s us %9s\n' "$(setup_label $setup)" \
			"$(get connrate.$setup.connect_median_us)" "$(get connrate.$setup.ttfb_median_us)" \
			"$(get connrate.$setup.ttfb_p90_us)" "$(get connrate.$setup.ttfb_failures)"
	done
	for setup in $setups; do
		[ "${setup#hybond}" = "$setup" ] && continue
		say "$(setup_label $setup): system calls per connection (perf stat, ab -n 2000 -c 8): CPE $(get connrate.$setup.syscalls_per_conn_cpe), HAG $(get connrate.$setup.syscalls_per_conn_hag)"
	done
	for setup in $setups; do
		[ $setup = plain ] && continue
		say "$(setup_label $setup): $(get connrate.$setup.log_problems) error lines in its logs"
	done
	say "hybond: the defaults (the draft's handshake order, joins after 200 ms); --accept-first on both daemons; --join-after 0 on the CPE (joins at once)"
}

# ---- 3. memory -----------------------------------------------------------------------
rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
slab_kib() { awk '$1 == "Slab:" { print $2 }' /proc/meminfo; }
active_conns() { # NS -> relay.active of that daemon
	hybond_stats "$1" | jq -r '.relay.active // "?"' 2>/dev/null || echo "?"
}
# Wait until both daemons report no active connection (bounded).
wait_drained() { # SECS
	local i a b
	for ((i = 0; i < $1; i++)); do
		a=$(active_conns "$NS_CPE") b=$(active_conns "$NS_HAG")
		[ "$a" = 0 ] && [ "$b" = 0 ] && return 0
		sleep 1
	done
	return 1
}

# Established TCP sockets (accepted legs and MPTCP subflows) in a namespace.
tcp_estab() { bounded 60 ip netns exec "$1" ss -Htn state established 2>/dev/null | wc -l; }

# Each N on freshly started daemons: start, warm up (one-off allocations
# such as pools and thread stacks are not per connection), measure the
# base, open N idle connections from H to holdconns in S, measure, close
# them, wait until the daemons dropped them, measure again, one download.
section_memory() {
	local n ports=7001,7002,7003,7004,7005,7006,7007,7008 cli est failed t0 held
	local base_c base_h start_c start_h c h slab0 slab code k
	say ""
	say "== memory: RSS of each hybond daemon holding N idle proxied connections"
	topo_up || { warn "topology failed"; return 1; }
	nsx "$NS_H" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
	topo_spawn "$NS_S" "$TOPO_DIR/hold-server.log" "$HOLD" serve ${ports//,/ }
	wait_for "$TOPO_DIR/hold-server.log" listening 5 || { warn "holdconns serve did not start"; topo_down; return 1; }
	topo_mkfile after.bin 1
	topo_start_nginx >/dev/null || { warn "nginx did not start"; topo_down; return 1; }
	local problems= target last_target= lim cap tool_lim note
	# Descriptors: holdconns needs one a connection (in H and in S), each
	# daemon two. As root with CAP_SYS_RESOURCE a process may raise its
	# limit up to fs.nr_open (hybond and holdconns do); without it, the hard
	# limit it inherited is the ceiling (we never change host sysctls).
	if bash -c "ulimit -n $(cat /proc/sys/fs/nr_open)" 2>/dev/null; then
		tool_lim=$(cat /proc/sys/fs/nr_open)
	else
		tool_lim=$(ulimit -Hn)
		say "  (no CAP_SYS_RESOURCE here: the per-process descriptor limit stays at the hard limit, $tool_lim)"
	fi
	res memory.fd_limit_tools "$tool_lim"
	for n in $MEMN; do
		k=memory.n$n
		use_setup hybond || { res "$k.error" "hybond did not start"; end_setup hybond; continue; }
		# hybond's default --max-conns: (soft RLIMIT_NOFILE - 1024) / 2.
		lim=$(awk '/^Max open files/ { print $4 }' "/proc/$CPE_PID/limits" "/proc/$HAG_PID/limits" | sort -n | head -1)
		cap=$(( (lim - 1024) / 2 ))
		res memory.fd_limit_daemons "$lim"
		res memory.max_conns_daemons "$cap"
		target=$n note=
		if [ "$target" -gt $((cap - 200)) ]; then
			target=$(( (cap - 200) / 100 * 100 ))
			note="the daemons' descriptor limit ($lim, 2 a connection) allows $cap connections"
		fi
		if [ "$target" -gt $((tool_lim - 200)) ]; then
			target=$(( (tool_lim - 200) / 100 * 100 ))
			note="holdconns' descriptor limit ($tool_lim, 1 a connection)"
		fi
		res "$k.requested" "$n"
		res "$k.measured_at" "$target"
		[ -n "$note" ] && res "$k.limited_by" "$note"
		if [ "$target" = "$last_target" ]; then
			say "  $n: not reachable here ($note): measured at $target already"
			res "$k.skipped" "same as the previous point ($target): $note"
			end_setup hybond
			continue
		fi
		last_target=$target
		[ -n "$note" ] && say "  $n: not reachable here, $note: measuring $target"
		start_c=$(rss_kib "$CPE_PID") start_h=$(rss_kib "$HAG_PID")
		topo_spawn "$NS_H" "$TOPO_DIR/hold-warmup.log" "$HOLD" connect "$S4" "$ports" 500 3
		wait "$TOPO_LAST_PID" 2>/dev/null
		wait_drained 30 || warn "connections left after the warm-up"
		sleep 1
		base_c=$(rss_kib "$CPE_PID") base_h=$(rss_kib "$HAG_PID") slab0=$(slab_kib)
		res "$k.rss_kib_start.cpe" "$start_c"
		res "$k.rss_kib_start.hag" "$start_h"
		res "$k.rss_kib_base.cpe" "$base_c"
		res "$k.rss_kib_base.hag" "$base_h"

		topo_spawn "$NS_H" "$TOPO_DIR/hold-$n.log" "$HOLD" connect "$S4" "$ports" "$target" 900 256
		cli=$TOPO_LAST_PID
		t0=$(date +%s.%N)
		wait_for "$TOPO_DIR/hold-$n.log" '^established' $((target / 100 + 120)) ||
			warn "holdconns: not all $target connections finished in time"
		res "$k.connect_s" "$(calc %.1f "$(date +%s.%N) - t0" t0="$t0")"
		read -r est failed <<<"$(awk '/^established/ { print $2, $4 }' "$TOPO_DIR/hold-$n.log")"
		est=${est:-0} failed=${failed:-0}
		sleep 3
		c=$(rss_kib "$CPE_PID") h=$(rss_kib "$HAG_PID") slab=$(slab_kib)
		res "$k.established" "$est"
		res "$k.failed" "$failed"
		res "$k.active.cpe" "$(active_conns "$NS_CPE")"
		res "$k.active.hag" "$(active_conns "$NS_HAG")"
		res "$k.tcp_sockets.cpe" "$(tcp_estab "$NS_CPE")"
		res "$k.tcp_sockets.hag" "$(tcp_estab "$NS_HAG")"
		res "$k.rss_kib.cpe" "$c"
		res "$k.rss_kib.hag" "$h"
		res "$k.bytes_per_conn.cpe" "$(calc %.0f 'e > 0 ? (r - b) * 1024 / e : 0' r="$c" b="$base_c" e="$est")"
		res "$k.bytes_per_conn.hag" "$(calc %.0f 'e > 0 ? (r - b) * 1024 / e : 0' r="$h" b="$base_h" e="$est")"
		res "$k.kernel_slab_bytes_per_conn" "$(calc %.0f 'e > 0 ? (s - s0) * 1024 / e : 0' s="$slab" s0="$slab0" e="$est")"
		kill -TERM "$cli" 2>/dev/null
		wait "$cli" 2>/dev/null
		held=$(awk '/^closing/ { print $3 " held, " $5 " lost" }' "$TOPO_DIR/hold-$n.log")
		res "$k.lost" "$(awk '/^closing/ { print $5 }' "$TOPO_DIR/hold-$n.log")"
		t0=$(date +%s.%N)
		wait_drained 120 || warn "the daemons still had connections 120 s after the $n closed"
		res "$k.drain_s" "$(calc %.1f "$(date +%s.%N) - t0" t0="$t0")"
		sleep 1
		res "$k.rss_kib_after_close.cpe" "$(rss_kib "$CPE_PID")"
		res "$k.rss_kib_after_close.hag" "$(rss_kib "$HAG_PID")"
		code=$(bounded 15 ip netns exec "$NS_H" curl -s -o "$TOPO_DIR/after.out" -w '%{http_code}' \
			--max-time 10 "http://$S4/after.bin")
		cmp -s "$TOPO_DIR/after.out" "$TOPO_DIR/www/after.bin" || code="$code (content differs)"
		res "$k.request_after" "$code"
		res "$k.log_problems" "$(hybond_log_problems | wc -l)"
		problems+=$(hybond_log_problems | sed "s/^/[$n] /")$'\n'
		res "$k.errors" "$(awk '/^errors/ { printf "%s%s %s", sep, $2, $3; sep = ", " }' "$TOPO_DIR/hold-$n.log")"
		# Both daemons' counters, kept with the logs; how many connections
		# each proxied (the HAG fewer than the CPE: some went past it).
		hybond_stats "$NS_CPE" >"$TOPO_DIR/stats-cpe.json"
		hybond_stats "$NS_HAG" >"$TOPO_DIR/stats-hag.json"
		# The kernel's MPTCP counters too (a fallback shows there first).
		nsx "$NS_CPE" nstat -asz 2>/dev/null | grep '^MPTcp' >"$TOPO_DIR/stats-cpe-mib.txt"
		nsx "$NS_HAG" nstat -asz 2>/dev/null | grep '^MPTcp' >"$TOPO_DIR/stats-hag-mib.txt"
		res "$k.token_fallback.cpe" "$(awk '$1 == "MPTcpExtMPFallbackTokenInit" { print $2 }' "$TOPO_DIR/stats-cpe-mib.txt")"
		res "$k.token_fallback.hag" "$(awk '$1 == "MPTcpExtMPFallbackTokenInit" { print $2 }' "$TOPO_DIR/stats-hag-mib.txt")"
		res "$k.proxied.cpe" "$(jq .relay.accepted "$TOPO_DIR/stats-cpe.json" 2>/dev/null)"
		res "$k.proxied.hag" "$(jq .relay.accepted "$TOPO_DIR/stats-hag.json" 2>/dev/null)"
		# Did every connection get its joins? (The CPE's path manager:
		# connections it saw, subflows it made, overflows of its events.)
		res "$k.pm.cpe_connections" "$(jq .path_manager.connections "$TOPO_DIR/stats-cpe.json" 2>/dev/null)"
		res "$k.pm.cpe_subflows" "$(jq .path_manager.subflows_created "$TOPO_DIR/stats-cpe.json" 2>/dev/null)"
		res "$k.pm.events_lost" "$(jq -s '[.[].path_manager.events_lost] | add' "$TOPO_DIR/stats-cpe.json" "$TOPO_DIR/stats-hag.json" 2>/dev/null)"
		say "  $target connections: $est established, $failed failed$( [ "$failed" != 0 ] && echo " ($(get $k.errors))") in $(get $k.connect_s) s; $held while idle; closed and drained in $(get $k.drain_s) s; then a 1 MiB download: HTTP $code; proxied by the CPE $(get $k.proxied.cpe), by the HAG $(get $k.proxied.hag); MPTCP out of tokens (MPFallbackTokenInit) CPE $(get $k.token_fallback.cpe), HAG $(get $k.token_fallback.hag); the CPE's path manager saw $(get $k.pm.cpe_connections) connections and made $(get $k.pm.cpe_subflows) subflows, path-manager events lost $(get $k.pm.events_lost)"
		end_setup hybond
		keep_logs "memory-$n"
	done
	topo_down

	printf '%-7s %7s %9s %9s %9s %9s %8s %8s %12s %10s\n' conns "held" "CPE KiB" "HAG KiB" \
		"CPE base" "HAG base" "CPE B/c" "HAG B/c" "kernel B/c" "sockets"
	for n in $MEMN; do
		k=memory.n$n
		[ -n "$(get $k.skipped)" ] && { printf '%-7s %7s   %s\n' "$n" - "not reachable here: $(get $k.limited_by)"; continue; }
		printf '%-7s %7s %9s %9s %9s %9s %8s %8s %12s %10s\n' "$n" "$(get $k.established)" \
			"$(get $k.rss_kib.cpe)" "$(get $k.rss_kib.hag)" "$(get $k.rss_kib_base.cpe)" "$(get $k.rss_kib_base.hag)" \
			"$(get $k.bytes_per_conn.cpe)" "$(get $k.bytes_per_conn.hag)" \
			"$(get $k.kernel_slab_bytes_per_conn)" "$(get $k.tcp_sockets.cpe)/$(get $k.tcp_sockets.hag)"
	done
	say "(KiB: VmRSS with N held; base: after start and a 500-connection warm-up; B/c: (RSS - base) / held;"
	say " kernel B/c: growth of the whole machine's slab per held connection, all 4 namespaces, approximate;"
	say " sockets: established TCP sockets (legs and MPTCP subflows) in the CPE / HAG)"
	for n in $MEMN; do
		k=memory.n$n
		[ -n "$(get $k.skipped)" ] && continue
		say "after closing the $(get $k.measured_at): RSS CPE $(get $k.rss_kib_after_close.cpe) KiB, HAG $(get $k.rss_kib_after_close.hag) KiB (at start: $(get $k.rss_kib_start.cpe) / $(get $k.rss_kib_start.hag)); $(get $k.log_problems) error/warning lines in the logs"
	done
	[ -n "${problems//$'\n'/}" ] && printf '%s' "$problems" | grep . | sort | uniq -c | sort -rn | head -5 | sed 's/^/    /'
	return 0
}

# ---- 4. bonding efficiency -------------------------------------------------------
section_efficiency() {
	local setup dir flag bps bytes p0 s0 p1 s1 r0 r1 sns k b label ceil setups=$EFF_SETUPS
	local w0 w1 t0 t1
	local buckets="line 10ms"
	[ $HAVE_NAIVE = 1 ] || setups=${setups/naive/}
	say ""
	say "== bonding efficiency: tbf primary $RATE1 + secondary $RATE2 Mbit/s, iperf3 ${EFF_SECS}s (after 1 s omitted); token buckets: line (two frames) and 10ms (of the rate)"
	# Propagation delay needs netem, which this project's host kernel
	# lacks: `vmtest/run -- bench/run.sh efficiency` has it.
	if have_netem; then
		buckets="$buckets delay deep"
		say "and delay / deep: the line bucket behind netem's $EFF_DELAY1 (primary) and $EFF_DELAY2 (secondary) of one-way delay, a queue of 50 / 200 ms"
	else
		say "(no netem on this kernel: the delay runs need a vmtest guest)"
	fi
	topo_up --rate1 $RATE1 --rate2 $RATE2 || { warn "topology failed"; return 1; }
	topo_spawn "$NS_S" "$TOPO_DIR/iperf3-server.log" iperf3 -s -p 5201
	wait_port "$NS_S" 5201 5 || { warn "iperf3 server did not start"; topo_down; return 1; }
	# The bucket: "line" lets two frames through at once, as a DSL or LTE
	# line never sends faster than its rate; "10ms" (the tests' links)
	# lets 10 ms of the rate through at the veth's speed, which bbr's
	# delivery-rate samples may take for bandwidth (README, Performance).
	for b in $buckets; do
		shape_all $b
		for setup in $setups; do
			use_setup $setup || { res "efficiency.$b.$setup.error" "did not start"; end_setup $setup; continue; }
			sleep 1
			for dir in down up; do
				# The receiver's seconds: H's in a download, S's
				# (iperf3 --get-server-output) in an upload.
				flag=--get-server-output; [ $dir = down ] && flag=-R
				k=efficiency.$b.$setup.$dir
				p0=$(( $(if_bytes "$NS_CPE" pri0 tx) + $(if_bytes "$NS_CPE" pri0 rx) ))
				s0=$(( $(if_bytes "$NS_CPE" sec0 tx) + $(if_bytes "$NS_CPE" sec0 rx) ))
				sns=$(eff_sender $setup $dir)
				r0=$(retrans_segs "$sns")
				iperf_run "eff-$b-$setup-$dir" "$EFF_SECS" -O 1 $flag >"$TOPO_DIR/eff.out" &
				# How busy the links were in the steady part of the
				# run: the frames the sending gateway's shapers let
				# out (bytes on the wire, as tbf counts them), from
				# 2 s in to 1 s before the end (the run is EFF_SECS
				# after 1 s omitted).
				sleep 2
				read -r w0 t0 <<<"$(eff_wire "$dir")"
				sleep $((EFF_SECS > 3 ? EFF_SECS - 2 : 1))
				read -r w1 t1 <<<"$(eff_wire "$dir")"
				wait $!
				read -r bps bytes <"$TOPO_DIR/eff.out"
				r1=$(retrans_segs "$sns")
				res "$k.sender_retransmits" $((r1 - r0))
				p1=$(( $(if_bytes "$NS_CPE" pri0 tx) + $(if_bytes "$NS_CPE" pri0 rx) ))
				s1=$(( $(if_bytes "$NS_CPE" sec0 tx) + $(if_bytes "$NS_CPE" sec0 rx) ))
				res "$k.goodput_mbps" "$(calc %.1f 'b / 1e6' b="$bps")"
				res "$k.ratio_to_sum" "$(calc %.3f "b / (($RATE1 + $RATE2) * 1e6)" b="$bps")"
				res "$k.secondary_share" "$(calc %.2f '(p + s) ? s / (p + s) : 0' p=$((p1 - p0)) s=$((s1 - s0)))"
				# The worst second: a run's dips (a stall, then a
				# catch-up) hide in its average.
				res "$k.worst_second_mbps" "$(worst_second "$TOPO_DIR/iperf-eff-$b-$setup-$dir.json")"
				eff_busy "$k" "$w0" "$t0" "$w1" "$t1"
			done
			end_setup $setup
			keep_logs "efficiency-$b-$setup"
		done
		# What one plain TCP connection gets of a tbf link (headers,
		# ACKs): the ceiling per link, from plain routing over the
		# primary. The bonded goodput is also given against that
		# ceiling on both links.
		for dir in down up; do
			res "efficiency.$b.link_ceiling.$dir" "$(calc %.3f "g / $RATE1" g="$(get efficiency.$b.plain.$dir.goodput_mbps)")"
		done
	done
	topo_down
	printf '%-26s %-6s %-5s %14s %14s %12s %10s %8s %8s %9s %9s\n' setup bucket dir "goodput Mbit/s" "/ $((RATE1 + RATE2)) Mbit/s" "/ TCP ceiling" secondary "worst s" retrans "busy p/s" "payload"
	for setup in $setups; do
		for b in $buckets; do
			for dir in down up; do
				k=efficiency.$b.$setup.$dir
				label=$(setup_label $setup)
				[ $setup = plain ] && label="plain routing (primary)"
				[ $setup = hybond_ovf ] && label="hybond --primary-rate $RATE1"
				ceil=$(get efficiency.$b.link_ceiling.$dir)
				res "$k.ratio_to_tcp_ceiling" "$(calc %.3f "c > 0 ? r / c : 0" r="$(get $k.ratio_to_sum)" c="${ceil:-0}")"
				[ $setup = plain ] && res "$k.ratio_to_tcp_ceiling" "-"
				printf '%-26s %-6s %-5s %14s %14s %12s %10s %8s %8s %9s %9s\n' "$label" $b $dir "$(get $k.goodput_mbps)" \
					"$(get $k.ratio_to_sum)" "$(get $k.ratio_to_tcp_ceiling)" "$(get $k.secondary_share)" \
					"$(get $k.worst_second_mbps)" "$(get $k.sender_retransmits)" \
					"$(get $k.primary_busy)/$(get $k.secondary_busy)" "$(get $k.payload_per_wire_byte)"
			done
		done
	done
	say "TCP ceiling: the share of a link's rate one plain TCP connection gets (plain routing, primary: line $(get efficiency.line.link_ceiling.down) down, $(get efficiency.line.link_ceiling.up) up; 10ms $(get efficiency.10ms.link_ceiling.down) / $(get efficiency.10ms.link_ceiling.up))"
	say "retrans: TCP segments the sending namespace retransmitted (the HAG's subflows in a bonded download, the CPE's in an upload; S or H in plain routing)"
	say "busy p/s: the share of each link's rate its frames used from 2 s into the run to 1 s before its end (bytes the sender's tbf let out, Ethernet headers included); payload: goodput / those bytes, what a byte on the wire carried (headers, TCP and MPTCP options, retransmissions take the rest; a full 1514-byte frame carries at most 1448 bytes of plain TCP with timestamps, 0.956)"
}

# The data direction's bytes on the wire: what the sending gateway's token
# buckets let out (the HAG's in a download, the CPE's in an upload; the
# same links carry plain routing), primary and secondary, and the time in
# ns. tbf counts a GSO packet's bytes as the frames it becomes, headers
# included; an interface's counters count it as one frame (1-4% short).
# eff_wire DIR -> "PRI,SEC NS"
eff_wire() {
	local ns=$NS_CPE pri=pri0
	[ "$1" = down ] && ns=$NS_HAG pri=acc0
	echo "$(tbf_sent "$ns" "$pri"),$(tbf_sent "$ns" sec0) $(date +%s%N)"
}

# Bytes a tbf qdisc on NS IF sent. tbf_sent NS IF
tbf_sent() {
	tc -n "$1" -s qdisc show dev "$2" | awk '$1 == "qdisc" { tbf = ($2 == "tbf") }
		tbf && $1 == "Sent" { print $2; exit }'
}

# Record how busy each link was between two eff_wire readings, and what
# a wire byte carried: eff_busy KEY W0 T0 W1 T1
eff_busy() {
	local k=$1 p0=${2%,*} s0=${2#*,} p1=${4%,*} s1=${4#*,} ns=$(($5 - $3))
	[ "$ns" -gt 0 ] || return
	res "$k.primary_busy" "$(calc %.3f "b * 8 / (r * 1e6 * ns / 1e9)" b=$((p1 - p0)) r=$RATE1 ns=$ns)"
	res "$k.secondary_busy" "$(calc %.3f "b * 8 / (r * 1e6 * ns / 1e9)" b=$((s1 - s0)) r=$RATE2 ns=$ns)"
	res "$k.payload_per_wire_byte" "$(calc %.3f "w > 0 ? g * 1e6 / 8 * ns / 1e9 / w : 0" \
		g="$(get $k.goodput_mbps)" w=$((p1 - p0 + s1 - s0)) ns=$ns)"
}

# The namespace whose TCP sends over the shaped links in SETUP's DIR: the
# gateway whose subflows carry the data, or the end host in plain routing.
eff_sender() { # SETUP DIR
	case $1/$2 in
	plain/down) echo "$NS_S" ;;
	plain/up) echo "$NS_H" ;;
	*/down) echo "$NS_HAG" ;;
	*) echo "$NS_CPE" ;;
	esac
}

retrans_segs() { # NS
	nsx "$1" nstat -asz TcpRetransSegs 2>/dev/null | awk '$1 == "TcpRetransSegs" { print $2; f = 1 } END { if (!f) print 0 }'
}

# The slowest whole second at the receiver of an iperf3 run (Mbit/s): its
# own intervals in a download (-R), the server's text in an upload
# (--get-server-output; the server does not write JSON). Omitted and
# short tail intervals do not count.
worst_second() { # IPERF_JSON
	local text
	text=$(jq -r '.server_output_text // empty' "$1" 2>/dev/null)
	if [ -n "$text" ]; then
		awk '/bits\/sec/ && !/omitted|sender|receiver/ {
			split($3, t, "-"); if (t[2] - t[1] < 0.5) next
			for (i = 1; i < NF; i++) if ($(i + 1) ~ /bits\/sec$/) { v = $i; u = $(i + 1) }
			v *= u ~ /^K/ ? 1e-3 : u ~ /^G/ ? 1e3 : u ~ /^M/ ? 1 : 1e-6
			if (n++ == 0 || v < m) m = v }
		     END { printf "%.1f\n", n ? m : 0 }' <<<"$text"
	else
		jq -r '[.intervals[].sum | select((.omitted | not) and .seconds >= 0.5) | .bits_per_second / 1e6] | if length > 0 then min * 10 | floor / 10 else 0 end' "$1" 2>/dev/null || echo 0
	fi
}

# Shape both links, both ways, at RATE1 / RATE2 with the token bucket of
# BUCKET: line (two frames), 10ms (topo_shape's default), or delay and
# deep (the line bucket behind netem's EFF_DELAY1 / EFF_DELAY2 of one-way
# delay; a queue of 50 ms, as the others, shorter than the secondary's
# round trip, or of 200 ms).
shape_all() { # BUCKET
	local burst= x q=50ms
	if [ "$1" = delay ] || [ "$1" = deep ]; then
		[ "$1" = deep ] && q=200ms
		for x in "$NS_CPE pri0 $RATE1 $EFF_DELAY1" "$NS_HAG acc0 $RATE1 $EFF_DELAY1" \
			"$NS_CPE sec0 $RATE2 $EFF_DELAY2" "$NS_HAG sec0 $RATE2 $EFF_DELAY2"; do
			set -- $x
			nsx "$1" tc qdisc replace dev "$2" root handle 1: netem \
				delay "$4" limit 10000
			nsx "$1" tc qdisc replace dev "$2" parent 1:1 handle 10: tbf \
				rate "$3mbit" burst 3200 latency $q
		done
		return
	fi
	[ "$1" = line ] && burst=3200
	topo_shape "$NS_CPE" pri0 $RATE1 $burst
	topo_shape "$NS_HAG" acc0 $RATE1 $burst
	topo_shape "$NS_CPE" sec0 $RATE2 $burst
	topo_shape "$NS_HAG" sec0 $RATE2 $burst
}

# ---- 5. port churn -------------------------------------------------------------------
# A port-keeping proxy's TIME_WAIT meets a host that reuses ports soon
# (README, "Port churn"); tests/netns/port_churn.sh counts what that costs,
# this measures the rate. One run against a server port, then
# CHURN_REPEATS more against the same port; plain routing shows the noise.
section_churn() {
	local setups="plain hybond hybond_af" setup i rps done failed non2xx rates med port
	say ""
	say "== port churn: H has 500 source ports; ab -n $NREQ -c 8 (1 KiB), once and then $CHURN_REPEATS times more against the same server port"
	web_testbed "20000 20499" || return 1
	port=80
	for setup in $setups; do
		use_setup $setup || { res "churn.$setup.error" "did not start"; end_setup $setup; continue; }
		# hybond and hybond_af use different server ports, so that the
		# first run of each meets no TIME_WAIT of the other's proxies.
		read -r rps done failed non2xx <<<"$(ab_run "churn-$setup-0" 8 "$NREQ" "$AB_SECS" ":$port/1k")"
		res "churn.$setup.first_conn_per_s" "$rps"
		res "churn.$setup.failed" "$((failed + non2xx + NREQ - done))"
		rates=
		for ((i = 1; i <= CHURN_REPEATS; i++)); do
			read -r rps done failed non2xx <<<"$(ab_run "churn-$setup-$i" 8 "$NREQ" "$AB_SECS" ":$port/1k")"
			rates="$rates $rps"
			res "churn.$setup.failed" "$(($(get churn.$setup.failed) + failed + non2xx + NREQ - done))"
		done
		med=$(median $rates)
		res "churn.$setup.repeat_conn_per_s" "$med"
		res "churn.$setup.repeats" "${rates# }"
		res "churn.$setup.ratio" "$(calc %.2f 'f > 0 ? r / f : 0' r="$med" f="$(get churn.$setup.first_conn_per_s)")"
		end_setup $setup
		keep_logs "churn-$setup"
		port=$((port == 80 ? 8080 : 80))
	done
	topo_down
	printf '%-24s %12s %15s %7s %7s\n' setup "first conn/s" "repeats median" ratio failed
	for setup in $setups; do
		printf '%-24s %12s %15s %7s %7s\n' "$(setup_label $setup)" "$(get churn.$setup.first_conn_per_s)" \
			"$(get churn.$setup.repeat_conn_per_s)" "$(get churn.$setup.ratio)" "$(get churn.$setup.failed)"
	done
	say "repeats: $(for s in $setups; do printf '%s [%s] ' "$s" "$(get churn.$s.repeats)"; done)"
	say "target: repeats within 10% of the first run (ratio >= 0.90) for hybond, as for plain routing"
}

# ---- 6. relay mechanisms ---------------------------------------------------------------
# Which way of moving bytes costs least, measured outside hybond so each
# way gets the same simple forwarder: relaymech (bench/relaymech.c, one
# thread) in the CPE (TCP in, MPTCP out to the HAG's primary address) and
# in the HAG (MPTCP in, TCP out to S), no transparency, no second subflow.
section_mechanisms() {
	local m t args b0 b1 bps bytes k j cpe hag zs zcp
	if [ "$HAVE_MECH" = 0 ]; then
		warn "relaymech not built: section mechanisms skipped"
		return 0
	fi
	say ""
	say "== relay mechanisms: relaymech at the CPE (TCP -> MPTCP) and the HAG (MPTCP -> TCP), iperf3 ${SECS}s, unshaped"
	topo_up || { warn "topology failed"; return 1; }
	topo_spawn "$NS_S" "$TOPO_DIR/iperf3-server.log" iperf3 -s -p 5201
	wait_port "$NS_S" 5201 5 || { warn "iperf3 server did not start"; topo_down; return 1; }
	for m in plain rw splice zerocopy uring; do
		for t in up_1 down_1 up_4 down_4; do
			args=$(iperf_args $t)
			k=mechanisms.$m.$t
			local tgt=$S4 port=5201 cp= hp=
			if [ $m != plain ]; then
				ip netns exec "$NS_HAG" "$MECH" -m $m $HAG_P4 5302 $S4 5201 $((SECS + 40)) \
					>"$TOPO_DIR/mech-hag.out" 2>&1 &
				hp=$!
				ip netns exec "$NS_CPE" "$MECH" -M $m $CPE_LAN4 5301 $HAG_P4 5302 $((SECS + 40)) \
					>"$TOPO_DIR/mech-cpe.out" 2>&1 &
				cp=$!
				wait_port "$NS_CPE" 5301 5 && wait_port "$NS_HAG" 5302 5 ||
					warn "relaymech $m did not start"
				tgt=$CPE_LAN4 port=5301
			fi
			j=$TOPO_DIR/iperf-mech-$m-$t.json
			b0=$(box_usec)
			bounded $((SECS + 30)) ip netns exec "$NS_H" iperf3 -c "$tgt" -p $port \
				-t "$SECS" $args -J >"$j" 2>&1
			b1=$(box_usec)
			read -r bps bytes <<<"$(jq -r '"\(.end.sum_received.bits_per_second // 0) \(.end.sum_received.bytes // 0)"' "$j" 2>/dev/null || echo "0 0")"
			if [ -n "$cp" ]; then
				kill -TERM "$cp" "$hp" 2>/dev/null
				wait "$cp" "$hp" 2>/dev/null
			fi
			res "$k.gbps" "$(calc %.2f 'b / 1e9' b="${bps:-0}")"
			res "$k.box_cpu_s_per_gib" "$(calc %.2f 'by ? u / 1e6 / (by / 2^30) : 0' u=$((b1 - b0)) by="${bytes:-0}")"
			if [ -n "$cp" ]; then
				cpe=$(awk '$1 == "mode" { print $8 }' "$TOPO_DIR/mech-cpe.out")
				hag=$(awk '$1 == "mode" { print $8 }' "$TOPO_DIR/mech-hag.out")
				read -r zs zcp <<<"$(awk '$1 == "mode" { print $10, $12 }' "$TOPO_DIR/mech-cpe.out" "$TOPO_DIR/mech-hag.out" |
					awk '{ s += $1; c += $2 } END { print s + 0, c + 0 }')"
				res "$k.relay_cpu_s_per_gib" "$(calc %.2f 'by ? (c + h) / 1e6 / (by / 2^30) : 0' c="${cpe:-0}" h="${hag:-0}" by="${bytes:-0}")"
				res "$k.zerocopy_sends" "$zs"
				res "$k.zerocopy_copied" "$zcp"
				res mechanisms.mptcp_so_zerocopy "$(awk '$1 == "mode" { print $14 }' "$TOPO_DIR/mech-cpe.out")"
				grep -v -e '^listening' -e '^mode ' "$TOPO_DIR/mech-cpe.out" "$TOPO_DIR/mech-hag.out" | head -3 >&2
			fi
		done
	done
	topo_down
	printf '%-9s %-9s %8s %9s %16s %14s %12s\n' way test Gbit/s "vs plain" "relays CPU s/GiB" "box CPU s/GiB" "zc copied"
	for m in plain rw splice zerocopy uring; do
		for t in up_1 down_1 up_4 down_4; do
			k=mechanisms.$m.$t
			res "$k.ratio" "$(calc %.2f 'p > 0 ? g / p : 0' g="$(get $k.gbps)" p="$(get mechanisms.plain.$t.gbps)")"
			local zc=-
			[ $m = zerocopy ] && zc="$(get $k.zerocopy_copied)/$(get $k.zerocopy_sends)"
			printf '%-9s %-9s %8s %9s %16s %14s %12s\n' $m "${t%_*} x${t#*_}" "$(get $k.gbps)" "$(get $k.ratio)" \
				"$(get $k.relay_cpu_s_per_gib)" "$(get $k.box_cpu_s_per_gib)" "$zc"
		done
	done
	say "rw is what hybond's relay does; an MPTCP socket takes SO_ZEROCOPY: $(get mechanisms.mptcp_so_zerocopy) (zerocopy sends go to the TCP legs only)"
}

# ---- JSON ------------------------------------------------------------------------------
write_json() {
	local commit dirty flat
	commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
	# GIT_OPTIONAL_LOCKS=0: status must not refresh (write) the index.
	if [ -n "$(GIT_OPTIONAL_LOCKS=0 git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		dirty=true
	else
		dirty=false
	fi
	flat=$(for k in "${!R[@]}"; do printf '%s\t%s\n' "$k" "${R[$k]}"; done | sort)
	jq -n --arg date "$(date -Iseconds)" --arg kernel "$(uname -r)" \
		--argjson nproc "$(nproc)" --arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
		--arg load_start "$LOAD_START" --arg load_end "$(cut -d' ' -f1-3 /proc/loadavg)" \
		--arg commit "$commit" --argjson dirty "$dirty" \
		--argjson quick "$([ "$QUICK" = 1 ] && echo true || echo false)" \
		--arg sections "${SECTIONS[*]}" --arg cc "$TCP_CC" \
		--arg iperf3 "$(iperf3 --version 2>/dev/null | head -1)" \
		--arg socat "$(socat -V 2>/dev/null | awk '/socat version/ { print $3; exit }')" \
		--argjson secs "$SECS" --argjson nreq "$NREQ" --arg concs "$CONCS" \
		--argjson ttfb_n "$TTFB_N" --arg memn "$MEMN" --argjson eff_secs "$EFF_SECS" \
		--argjson naive_buf "$NAIVE_BUF" --argjson ab_secs "$AB_SECS" --arg flat "$flat" \
		--argjson churn_repeats "$CHURN_REPEATS" '
		def num: (tonumber? // .);
		{
			schema: 1,
			date: $date,
			machine: { nproc: $nproc, cpu: $cpu, kernel: $kernel,
				loadavg_start: $load_start, loadavg_end: $load_end,
				tcp_congestion_control: $cc },
			git: { commit: $commit, dirty: $dirty },
			quick: $quick,
			sections: ($sections | split(" ")),
			params: { throughput_secs: $secs, connrate_requests: $nreq, connrate_max_secs: $ab_secs,
				connrate_concurrency: ($concs | split(" ") | map(tonumber)),
				ttfb_requests: $ttfb_n,
				memory_connections: ($memn | split(" ") | map(tonumber)),
				efficiency_secs: $eff_secs, naive_socat_buffer: $naive_buf,
				churn_repeats: $churn_repeats },
			tools: { iperf3: $iperf3, socat: $socat },
			results: ($flat | split("\n") | map(select(length > 0) | split("\t"))
				| reduce .[] as $e ({}; setpath($e[0] | split("."); $e[1] | num)))
		}' >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
TCP_CC=$(sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null || echo ?)
say "hybond bench$([ "$QUICK" = 1 ] && echo ' (quick)'): $(nproc) CPUs, kernel $(uname -r), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?), load $LOAD_START"
say "sections: ${SECTIONS[*]}; figures are from one run on a shared machine: expect noise"
for s in "${SECTIONS[@]}"; do
	"section_$s"
	write_json # after each section: a partial run keeps what it measured
done
cp "$OUT" build/bench/latest.json
say ""
say "results: $OUT (and build/bench/latest.json)"
