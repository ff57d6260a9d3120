#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# bench/compare.sh - compare two results of bench/run.sh, figure by figure.
#
#   bench/compare.sh A.json B.json [REGEX] [--min PCT]
#
# Prints where each run comes from (date, commit, kernel, CPUs, quick or
# not, load average), then one line per numeric figure present in either
# file: its key, A, B, and B's change against A in percent, with a marker
# when the change is larger than PCT (default 10) and the figure has a
# known direction: '+' better, '-' worse (higher is better for Gbit/s,
# ratios, connections per second and goodput; lower is better for CPU,
# memory, latency and failures). REGEX (jq syntax) keeps only the keys
# that match, e.g. 'throughput\.hybond' or 'cpu'. --min PCT also hides
# the figures that changed less than PCT.
# Figures from one run on a shared 2-CPU machine move by 10-30% on their
# own: compare several runs before believing a change.
set -u
usage() { sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

A= B= RE=. MIN=10 HIDE=0
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage 0 ;;
	--min) MIN=${2:?--min needs a percentage}; HIDE=1; shift 2 ;;
	*)
		if [ -z "$A" ]; then A=$1
		elif [ -z "$B" ]; then B=$1
		else RE=$1
		fi
		shift ;;
	esac
done
[ -n "$A" ] && [ -n "$B" ] || usage 2
command -v jq >/dev/null || { echo "compare: jq missing (apt-get install jq)" >&2; exit 2; }
for f in "$A" "$B"; do
	jq -e .results "$f" >/dev/null 2>&1 || { echo "compare: $f is not a bench/run.sh result" >&2; exit 2; }
done

origin() {
	jq -r --arg f "$1" --arg tag "$2" '"\($tag) \($f)\n    \(.date // "?"), commit \((.git.commit // .commit // "?")[0:12])\(if .git.dirty then " (dirty)" else "" end), kernel \(.machine.kernel // "?"), \(.machine.nproc // .machine.cpus // "?") CPUs, \(if .quick then "quick" else "full" end), load \(.machine.loadavg_start // "?")"' "$1"
}
origin "$A" A
origin "$B" B
echo

jq -n -r --slurpfile a "$A" --slurpfile b "$B" --arg re "$RE" \
	--argjson min "$MIN" --argjson hide "$HIDE" '
	def flat: [paths(numbers) as $p | {key: ($p | map(tostring) | join(".")), value: getpath($p)}] | from_entries;
	def dir($k):
		if ($k | test("gbps|ratio|conn_per_s|goodput|established$")) then 1
		elif ($k | test("cpu|bytes_per_conn|rss_kib\\.|ttfb|connect_|failed|lost|drain|problems|failures")) then -1
		else 0 end;
	($a[0].results | flat) as $fa | ($b[0].results | flat) as $fb
	| ([$fa, $fb | keys[]] | unique | map(select(test($re)))) as $keys
	| (["figure", "A", "B", "change"] | @tsv),
	  ($keys[] as $k
	   | $fa[$k] as $x | $fb[$k] as $y
	   | (if ($x != null and $y != null and $x != 0) then (($y - $x) / ($x | fabs) * 100) else null end) as $pc
	   | select($hide == 0 or $pc == null or ($pc | fabs) >= $min)
	   | (if $pc == null or ($pc | fabs) < $min or dir($k) == 0 then ""
	      elif ($pc * dir($k)) > 0 then "+" else "-" end) as $mark
	   | [$k, ($x // "-" | tostring), ($y // "-" | tostring),
	      (if $pc == null then "" else ((($pc * 10 | round) / 10 | tostring) + "% " + $mark) end)]
	   | @tsv)' | column -t -s $'\t'
