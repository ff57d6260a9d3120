# SPDX-License-Identifier: GPL-2.0-only
# check.sh - tiny TAP-like assertions for the shell integration tests.
# A test script sources this and topo.sh, then calls t_finish at the end.

T_PASS=0
T_FAIL=0
T_SKIP=0
T_NAME=${T_NAME:-$(basename "$0" .sh)}

ok() { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL - $*"; }
skip() { T_SKIP=$((T_SKIP + 1)); echo "skip - $*"; }
note() { echo "# $*"; }
# The sha256 of a file, hex (empty when it cannot be read). sha_of FILE
sha_of() { local h _; read -r h _ < <(sha256sum 2>/dev/null <"$1"); echo "$h"; }

# check DESCRIPTION CMD...: ok if CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}

# check_eq DESCRIPTION GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1 (got '$2', want '$3')"; fi
}

# check_ge DESCRIPTION GOT MIN (integers)
check_ge() {
	if [ "$2" -ge "$3" ] 2>/dev/null; then ok "$1 ($2 >= $3)"; else fail "$1 (got '$2', want >= $3)"; fi
}

# check_le DESCRIPTION GOT MAX (integers)
check_le() {
	if [ "$2" -le "$3" ] 2>/dev/null; then ok "$1 ($2 <= $3)"; else fail "$1 (got '$2', want <= $3)"; fi
}

# anon_kib PID: the process's anonymous resident memory (RssAnon, KiB): its
# heap, stacks and buffers, where a leak shows. VmRSS also counts the pages of
# its executable, libraries and BPF maps that happen to be resident: the
# kernel drops and faults those back as it likes (a 6.12 guest once showed
# 2 MiB more VmRSS after a test than before it), so a leak check on VmRSS
# can fail without a leak.
anon_kib() { awk '$1 == "RssAnon:" {print $2}' "/proc/$1/status"; }
# mem_desc PID: "RssAnon A KiB (VmRSS V KiB)", for notes.
mem_desc() {
	awk '$1 == "RssAnon:" {a = $2} $1 == "VmRSS:" {v = $2}
	     END {printf "RssAnon %s KiB (VmRSS %s KiB)", a, v}' "/proc/$1/status"
}

# Must be root with the tools the integration tests use.
t_require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "$T_NAME: needs root (network namespaces, BPF)" >&2
		exit 2
	fi
}

# On failure, show the daemons' logs; always clean up the testbed. Under
# sanitizers (make check-asan sets HYBOND_ASAN) the daemons are stopped
# first, since LeakSanitizer reports at exit, and any report fails the test.
t_cleanup() {
	local f pid san=0
	# What the daemons still running counted, before anything stops them:
	# the steering and hold counters tell a failure's path after the fact.
	if [ "$T_FAIL" -gt 0 ] && [ -n "${TOPO_DIR:-}" ]; then
		for f in "CPE ${CPE_PID:-} ${NS_CPE:-}" "HAG ${HAG_PID:-} ${NS_HAG:-}"; do
			set -- $f
			[ $# = 3 ] && kill -0 "$2" 2>/dev/null || continue
			echo "# ---- hybond stats in the $1 at the end"
			timeout 10 ip netns exec "$3" "${HYBOND:-build/hybond}" stats 2>&1 | head -n 80 | sed 's/^/#   /'
		done
	fi
	if [ -n "${HYBOND_ASAN:-}" ] && [ -n "${TOPO_DIR:-}" ]; then
		for pid in ${HAG_PID:-} ${CPE_PID:-}; do
			stop_pid "$pid" >/dev/null 2>&1
		done
		for f in "$TOPO_DIR"/*.log; do
			grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$f" 2>/dev/null || continue
			echo "FAIL - sanitizer report in $(basename "$f"):"
			grep -E -A25 "ERROR: (Address|Leak)Sanitizer|runtime error:" "$f" | head -60 | sed 's/^/#   /'
			san=1
		done
		[ $san = 0 ] && echo "ok - no sanitizer report in the daemons' logs"
	fi
	if [ "$T_FAIL" -gt 0 ] && [ -n "${TOPO_DIR:-}" ]; then
		for f in "$TOPO_DIR"/*.log; do
			[ -f "$f" ] || continue
			echo "# ---- $f"
			tail -n 40 "$f" | sed 's/^/#   /'
		done
	fi
	topo_down
	[ $san = 0 ] || exit 1
}

t_finish() {
	echo "# $T_NAME: $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	[ "$T_FAIL" -eq 0 ]
}
