#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# bench/ab.sh - connection rate of two hybond builds (or two sets of
# options) in interleaved pairs: figures, never a pass/fail verdict.
#
#   bench/ab.sh [-n PAIRS] [-c CONC] [-t SECS] BIN_A BIN_B      (as root)
#
# Both runs of a pair share one namespaced testbed and take turns (A then
# B, B then A in the next pair: the box's speed drifts, and the second run
# of a pair tends to differ from the first). A run: both daemons started
# from BIN, `ab -c CONC` for SECS seconds against nginx in S (1 KiB,
# keep-alive off), each binary on its own server port, no TIME_WAIT socket
# left anywhere from the run before, and H's whole port range (a SYN that
# meets a gateway's own TIME_WAIT takes a slower path; bench/README.md,
# Connection rate). Prints every run's rate and the whole box's CPU per
# connection, then the median of the pairs' B/A ratios of both, and in how
# many pairs B was faster.
#
# Extra options of the daemons, from the environment: CPE_ARGS_A,
# HAG_ARGS_A, CPE_ARGS_B, HAG_ARGS_B (e.g. CPE_ARGS_B=--accept-first).
# Defaults: 5 pairs, 8 at a time, 5 s.
set -u
cd "$(dirname "$0")/.."

usage() {
	awk 'NR > 2 && !/^#/ { exit } NR > 2' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

PAIRS=5 CONC=8 SECS=5
while getopts n:c:t:h o; do
	case $o in
	n) PAIRS=$OPTARG ;;
	c) CONC=$OPTARG ;;
	t) SECS=$OPTARG ;;
	h) usage 0 ;;
	*) usage 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 2 ] || usage 2
for n in "$PAIRS" "$CONC" "$SECS"; do
	case $n in '' | *[!0-9]* | 0) echo "ab: -n, -c and -t take a positive number, not '$n'" >&2; exit 2 ;; esac
done
BIN_A=$1 BIN_B=$2
for b in "$BIN_A" "$BIN_B"; do
	[ -x "$b" ] || { echo "ab: $b is not an executable (build it, or give its path)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "ab: run as root (network namespaces, BPF)" >&2; exit 2; }
command -v ab >/dev/null || { echo "ab: ab missing (apt-get install apache2-utils)" >&2; exit 2; }

TOPO_ID=hbab$$
. tests/lib/topo.sh
. bench/lib.sh
trap 'hybond_down >/dev/null 2>&1; topo_down >/dev/null 2>&1' EXIT
declare -A PORT=([A]=8081 [B]=8082)
NGINX_EXTRA_PORTS="8081 8082"
web_testbed "1024 65535" >/dev/null || exit 1

# run A|B PAIR -> prints "RATE BOX_US_PER_CONN"
run() {
	local v=$1 p=$2 rps done failed non2xx b0 b1 ns lost
	local bin=BIN_$v cpe=CPE_ARGS_$v hag=HAG_ARGS_$v
	export HYBOND=${!bin}
	read -r -a CPE_ARGS <<<"${!cpe:-}"
	read -r -a HAG_ARGS <<<"${!hag:-}"
	hybond_up || return 1
	for ns in $TOPO_NS; do nsx "$ns" ss -K state time-wait >/dev/null 2>&1; done
	b0=$(box_usec)
	read -r rps done failed non2xx <<<"$(ab_run "$v$p" "$CONC" 1000000 "$SECS" ":${PORT[$v]}/1k")"
	b1=$(box_usec)
	# A path manager that lost events (--announce-after, hybond's own on
	# the CPE) served some connections worse: say so beside the figure.
	for ns in "$NS_CPE" "$NS_HAG"; do
		lost=$(HB=$HYBOND hybond_stats "$ns" | jq '.path_manager.events_lost // 0')
		[ "${lost:-0}" = 0 ] || warn "run $v$p: the path manager in $ns lost events ($lost overflows)"
	done
	hybond_down
	[ "$failed" = 0 ] && [ "$non2xx" = 0 ] ||
		warn "run $v$p: $failed failed, $non2xx not 2xx of $done"
	echo "$rps $(calc %.0f 'n ? u / n : 0' u=$((b1 - b0)) n="$done")"
}

say "A: $BIN_A ${CPE_ARGS_A:+(CPE $CPE_ARGS_A) }${HAG_ARGS_A:+(HAG $HAG_ARGS_A)}"
say "B: $BIN_B ${CPE_ARGS_B:+(CPE $CPE_ARGS_B) }${HAG_ARGS_B:+(HAG $HAG_ARGS_B)}"
say "$PAIRS pairs, ab -c $CONC for ${SECS}s each"
ratios=() cpu=() wins=0
for ((p = 1; p <= PAIRS; p++)); do
	declare -A rate=() us=()
	order="A B"
	[ $((p % 2)) = 0 ] && order="B A"
	for v in $order; do
		read -r rate[$v] us[$v] <<<"$(run $v $p)" || exit 1
		[ -n "${rate[$v]}" ] || { warn "run $v$p did not start"; exit 1; }
	done
	ratios+=("$(calc %.0f 'a ? b * 1000 / a : 0' a="${rate[A]}" b="${rate[B]}")")
	cpu+=("$(calc %.0f 'a ? b * 1000 / a : 0' a="${us[A]}" b="${us[B]}")")
	[ "${rate[B]}" -gt "${rate[A]}" ] && wins=$((wins + 1))
	say "pair $p ($order): A ${rate[A]}/s ${us[A]} us, B ${rate[B]}/s ${us[B]} us (box CPU per connection)"
	unset rate us
done
say "B/A: $(calc %.3f 'm / 1000' m="$(median "${ratios[@]}")") times the rate (median of the pairs), $(calc %.3f 'm / 1000' m="$(median "${cpu[@]}")") times the box CPU per connection; B faster in $wins of $PAIRS pairs"
