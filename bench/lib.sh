# SPDX-License-Identifier: GPL-2.0-only
# bench/lib.sh - helpers of bench/run.sh: the results table, CPU accounting
# (cgroup v2), iperf3/ab/curl wrappers and the naive baseline relay.
# Source it after tests/lib/topo.sh.

# ---- results ---------------------------------------------------------------
# R holds every figure under a dotted key (section.setup.test.figure); the
# JSON written at the end nests along the dots.
declare -A R
res() { R[$1]=$2; }
get() { printf '%s' "${R[$1]:-}"; }

say() { printf '%s\n' "$*"; }
# Median of integers: median 3 1 2 -> 2 (two middle ones: their mean).
median() {
	printf '%s\n' "$@" | grep . | sort -n |
		awk '{ a[++n] = $1 } END { print n ? (n % 2 ? a[(n + 1) / 2] : int((a[n / 2] + a[n / 2 + 1]) / 2)) : 0 }'
}
warn() { printf 'bench: %s\n' "$*" >&2; }

# awk arithmetic printed with a format: calc FMT EXPR [VAR=VALUE...]
calc() {
	local fmt=$1 expr=$2
	shift 2
	local a=()
	local kv
	for kv in "$@"; do a+=(-v "$kv"); done
	awk "${a[@]}" "BEGIN { printf \"$fmt\", ($expr) }"
}

# Run a command with a time limit (every external step is bounded).
bounded() { # bounded SECS CMD...
	local s=$1
	shift
	timeout --kill-after=5 "$s" "$@"
}

# ---- CPU accounting ----------------------------------------------------------
# Each measured group of processes (hybond-cpe, naive-hag, ...) gets its own
# cgroup v2 directory under $BENCH_CG; cpu.stat's usage_usec counts every
# process in it, including the children socat forks per connection and
# those that already exited. Without a writable cgroup v2 hierarchy we fall
# back to /proc/PID/stat of the processes we started (utime + stime, plus
# cutime + cstime: the children they reaped).
BENCH_CG=
HZ=$(getconf CLK_TCK)
declare -A ACCT_PIDS

cg_init() {
	local mnt
	mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	[ -n "$mnt" ] || { warn "no cgroup v2 mount: CPU from /proc/PID/stat"; return 0; }
	if mkdir "$mnt/$TOPO_ID" 2>/dev/null; then
		BENCH_CG=$mnt/$TOPO_ID
	else
		warn "cannot create a cgroup under $mnt: CPU from /proc/PID/stat"
	fi
}

# acct_add GROUP PID: account PID (and what it forks from now on) to GROUP.
acct_add() {
	local g=$1 pid=$2
	ACCT_PIDS[$g]="${ACCT_PIDS[$g]:-} $pid"
	[ -n "$BENCH_CG" ] || return 0
	mkdir -p "$BENCH_CG/$g"
	echo "$pid" >"$BENCH_CG/$g/cgroup.procs" 2>/dev/null ||
		warn "could not move pid $pid into $BENCH_CG/$g"
}

# acct_usec GROUP: CPU microseconds used by the group so far.
acct_usec() {
	local g=$1 p t=0
	if [ -n "$BENCH_CG" ] && [ -r "$BENCH_CG/$g/cpu.stat" ]; then
		awk '$1 == "usage_usec" { print $2 }' "$BENCH_CG/$g/cpu.stat"
		return
	fi
	for p in ${ACCT_PIDS[$g]:-}; do
		t=$((t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo $((t * 1000000 / HZ))
}

# thread_ticks PID: the CPU ticks so far of a hybond daemon's threads, by
# kind: "MAIN HOLD WORKERS" (the main thread runs the path manager's events
# and the primary-first controller; hybond-hold the held SYNs; hybond-wN
# the relay).
thread_ticks() {
	local t c s m=0 h=0 w=0
	for t in /proc/"$1"/task/[0-9]*; do
		read -r s 2>/dev/null <"$t/stat" || continue
		c=${s#*(}
		c=${c%%)*}
		set -- ${s##*)}
		case $c in
		hybond-hold) h=$((h + ${12} + ${13})) ;;
		hybond-w*) w=$((w + ${12} + ${13})) ;;
		*) m=$((m + ${12} + ${13})) ;;
		esac
	done
	echo "$m $h $w"
}

# kworker_ticks: CPU ticks so far of the kernel's workqueue threads (where
# MPTCP's per-connection worker, its path manager's ADD_ADDRs and the
# closing of its subflows run).
kworker_ticks() {
	local t s c n=0
	for t in /proc/[0-9]*/task/[0-9]*; do
		read -r s 2>/dev/null <"$t/stat" || continue
		c=${s#*(}
		case $c in kworker*) ;; *) continue ;; esac
		set -- ${s##*)}
		n=$((n + ${12} + ${13}))
	done
	echo "$n"
}

# Processes left in a group (children of a relay we started).
acct_pids() {
	local g=$1
	if [ -n "$BENCH_CG" ] && [ -r "$BENCH_CG/$g/cgroup.procs" ]; then
		cat "$BENCH_CG/$g/cgroup.procs"
	else
		local p
		for p in ${ACCT_PIDS[$g]:-}; do pgrep -P "$p"; done
	fi
}

# Kill what is left in a group, by pid (they are all ours), then forget it.
acct_drop() {
	local g=$1 p i
	for p in $(acct_pids "$g"); do kill -TERM "$p" 2>/dev/null; done
	for ((i = 0; i < 40; i++)); do
		[ -z "$(acct_pids "$g")" ] && break
		sleep 0.05
	done
	for p in $(acct_pids "$g"); do kill -KILL "$p" 2>/dev/null; done
	unset "ACCT_PIDS[$g]"
	[ -n "$BENCH_CG" ] && [ -d "$BENCH_CG/$g" ] && {
		for ((i = 0; i < 40; i++)); do
			rmdir "$BENCH_CG/$g" 2>/dev/null && break
			sleep 0.05
		done
	}
	return 0
}

cg_cleanup() {
	local d
	[ -n "$BENCH_CG" ] && [ -d "$BENCH_CG" ] || return 0
	for d in "$BENCH_CG"/*/; do
		[ -d "$d" ] && acct_drop "$(basename "$d")"
	done
	rmdir "$BENCH_CG" 2>/dev/null || warn "could not remove $BENCH_CG"
	BENCH_CG=
}

# Busy CPU time of the whole machine (all CPUs, user+nice+system+irq+
# softirq+steal), in microseconds: includes the kernel's forwarding and
# softirq work that no process is charged with, and the load generators.
box_usec() {
	awk -v hz="$HZ" '$1 == "cpu" { printf "%.0f", ($2 + $3 + $4 + $7 + $8 + $9) * 1e6 / hz; exit }' /proc/stat
}

# ---- load generators -----------------------------------------------------------
# iperf3 from H to S: iperf_run NAME ARGS... -> prints "BITS_PER_S BYTES",
# "0 0" on failure (the reason on stderr); JSON kept in $TOPO_DIR.
iperf_run() {
	local name=$1 secs=$2
	shift 2
	local j=$TOPO_DIR/iperf-$name.json
	bounded $((secs + 30)) ip netns exec "$NS_H" iperf3 -c "$S4" -p 5201 \
		-t "$secs" "$@" -J >"$j" 2>&1
	if ! jq -e '.end.sum_received.bytes > 0' "$j" >/dev/null 2>&1; then
		warn "iperf3 $name failed: $(jq -r '.error // empty' "$j" 2>/dev/null || head -c 200 "$j")"
		echo "0 0"
		return 1
	fi
	jq -r '"\(.end.sum_received.bits_per_second) \(.end.sum_received.bytes)"' "$j"
}

# ab from H against nginx in S, keep-alive off, at most N requests and at
# most SECS seconds (-t before -n: whichever comes first):
# ab_run NAME CONC N SECS PATH -> prints "REQ_PER_S COMPLETE FAILED NON2XX"
ab_run() {
	local name=$1 c=$2 n=$3 secs=$4 path=$5 out=$TOPO_DIR/ab-$1.txt
	bounded $((secs + 60)) ip netns exec "$NS_H" ab -q -r -t "$secs" -n "$n" -c "$c" -s 10 \
		"http://$S4$path" >"$out" 2>&1
	awk '/^Requests per second/ { rps = $4 }
	     /^Complete requests/ { done = $3 }
	     /^Failed requests/ { failed = $3 }
	     /^Non-2xx responses/ { non2xx = $3 }
	     END { printf "%d %d %d %d\n", rps, done, failed, non2xx }' "$out"
}

# Time to connect and to the first byte of one small request, COUNT times:
# ttfb_run NAME COUNT PATH -> prints "CONNECT_MEDIAN_US TTFB_MEDIAN_US
# TTFB_P90_US FAILURES"
ttfb_run() {
	local name=$1 count=$2 path=$3 i out=$TOPO_DIR/ttfb-$1.txt
	: >"$out"
	for ((i = 0; i < count; i++)); do
		bounded 10 ip netns exec "$NS_H" curl -s -o /dev/null --max-time 5 \
			-w '%{http_code} %{time_connect} %{time_starttransfer}\n' \
			"http://$S4$path" >>"$out" 2>/dev/null || echo "000 0 0" >>"$out"
	done
	awk '$1 == 200 { c[++n] = $2 * 1e6; t[n] = $3 * 1e6 } $1 != 200 { bad++ }
	     function med(a, n,   i, j, x) {
		for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return n ? a[int((n + 1) / 2)] : 0 }
	     function p90(a, n) { return n ? a[int(n * 0.9 + 0.5) > 0 ? int(n * 0.9 + 0.5) : 1] : 0 }
	     END { cm = med(c, n); tm = med(t, n); printf "%d %d %d %d\n", cm, tm, p90(t, n), bad + 0 }' "$out"
}

# ---- testbeds ------------------------------------------------------------------
# The testbed with nginx in S serving /1k, H's source ports limited to
# RANGE (H's namespace only): web_testbed "LOW HIGH"
web_testbed() {
	topo_up || { warn "topology failed"; return 1; }
	nsx "$NS_H" sysctl -qw net.ipv4.ip_local_port_range="$1"
	mkdir -p "$TOPO_DIR/www"
	head -c 1024 /dev/urandom >"$TOPO_DIR/www/1k"
	topo_start_nginx >/dev/null || { warn "nginx did not start"; topo_down; return 1; }
}

# ---- hybond --------------------------------------------------------------------
# Start both daemons (topo_start_hybond, with CPE_ARGS/HAG_ARGS) and account
# their CPU to the groups hybond-cpe and hybond-hag.
hybond_up() {
	topo_start_hybond >"$TOPO_DIR/hybond-start.log" 2>&1 || {
		warn "hybond did not start:"
		sed 's/^/    /' "$TOPO_DIR/hybond-start.log" >&2
		return 1
	}
	acct_add hybond-cpe "$CPE_PID"
	acct_add hybond-hag "$HAG_PID"
}

hybond_down() {
	[ -n "${CPE_PID:-}" ] && stop_pid "$CPE_PID"
	[ -n "${HAG_PID:-}" ] && stop_pid "$HAG_PID"
	acct_drop hybond-cpe
	acct_drop hybond-hag
	CPE_PID= HAG_PID=
}

# Relay counters of one daemon (JSON of `hybond stats -j`).
hybond_stats() { # NS
	bounded 10 ip netns exec "$1" "$HB" stats -j 2>/dev/null
}

# Warning and error lines in the daemons' logs once they were ready (the
# start-up notices about options, e.g. no --primary-rate, are not counted).
hybond_log_problems() {
	local f
	for f in "$TOPO_DIR/cpe.log" "$TOPO_DIR/hag.log"; do
		[ -r "$f" ] && awk '/info: ready:/ { ready = 1; next }
			ready && tolower($0) ~ /error|warn|fail/' "$f"
	done
	return 0
}

# ---- the naive baseline relay ---------------------------------------------------
# Stock parts only, both gateways, IPv4:
#  - nftables in prerouting: a SYN (tcp flags & (syn|ack) == syn) arriving on
#    the LAN (CPE) or an MP_CAPABLE SYN arriving on the access link (HAG),
#    to an address that is not the gateway's own, goes to a local socat
#    listener with `tproxy to 127.0.0.1:PORT` and gets a mark; every later
#    packet whose socket is transparent (`socket transparent 1`, either
#    direction, either leg) gets the mark too; `ip rule fwmark -> local
#    route table` delivers marked packets locally. The tproxy rule comes
#    first so that a SYN that meets the relay's own TIME_WAIT socket is
#    still handed to the listener (nft tproxy then drops the TIME_WAIT).
#  - socat TCP4-LISTEN:PORT,bind=127.0.0.1,ip-transparent,fork: one process
#    per connection, which execs bench/naive-hop.sh (EXEC ...,nofork): a
#    second socat on the same pid connecting from H@:port to the original
#    destination (IP_TRANSPARENT, bind). The CPE's upstream socket is made
#    MPTCP with `mptcpize run` (mptcpd's LD_PRELOAD wrapper); the HAG's
#    listener is mptcpized (so it accepts MP_CAPABLE), its upstream to S
#    is plain TCP.
#  - the kernel path manager: `ip mptcp endpoint add HAG@2 dev sec0 signal
#    port 9401` (9402, ... when set up again) on the HAG, `ip mptcp limits set subflow 2
#    add_addr_accepted 2` in both: the CPE joins from its secondary address
#    after the ADD_ADDR, as with hybond.
NAIVE_MARK=0x2b
NAIVE_TABLE=2731
NAIVE_PORT_CPE=7100
NAIVE_PORT_HAG=7200
NAIVE_JOIN_PORT=9400 # +1 at each naive_up
NAIVE_BUF=${NAIVE_BUF:-262144}

# naive_up [socat|haproxy]: the same nft rules, path manager and listener
# ports; the relay is socat (above, the default) or haproxy (stock_spawn).
naive_up() {
	local ns relay=${1:-socat}
	for ns in $NS_CPE $NS_HAG; do
		nsx "$ns" ip rule add fwmark $NAIVE_MARK lookup $NAIVE_TABLE pref 90 || return 1
		nsx "$ns" ip route add local 0.0.0.0/0 dev lo table $NAIVE_TABLE || return 1
		nsx "$ns" ip mptcp limits set subflow 2 add_addr_accepted 2 || return 1
	done
	nsx "$NS_CPE" nft -f - <<EOF || return 1
table ip hbbench_naive {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		iifname "lan0" tcp flags & (syn|ack) == syn fib daddr type != local tproxy to 127.0.0.1:$NAIVE_PORT_CPE meta mark set $NAIVE_MARK accept
		meta l4proto tcp socket transparent 1 meta mark set $NAIVE_MARK accept
	}
}
EOF
	nsx "$NS_HAG" nft -f - <<EOF || return 1
table ip hbbench_naive {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		iifname "acc0" tcp flags & (syn|ack) == syn tcp option mptcp subtype 0 fib daddr type != local tproxy to 127.0.0.1:$NAIVE_PORT_HAG meta mark set $NAIVE_MARK accept
		meta l4proto tcp socket transparent 1 meta mark set $NAIVE_MARK accept
	}
}
EOF
	# A new port each time: re-adding a port endpoint fails (EADDRINUSE)
	# while subflows of the previous one live (KERNEL-FACTS).
	NAIVE_JOIN_PORT=$((NAIVE_JOIN_PORT + 1))
	nsx "$NS_HAG" ip mptcp endpoint add "$HAG_S4" dev sec0 signal port $NAIVE_JOIN_PORT || return 1
	if [ "$relay" = haproxy ]; then
		stock_spawn || return 1
	else
		naive_spawn_socat
	fi
	wait_port "$NS_CPE" $NAIVE_PORT_CPE 5 && wait_port "$NS_HAG" $NAIVE_PORT_HAG 5 || {
		warn "the naive relay did not start:"
		cat "$TOPO_DIR/naive-cpe.log" "$TOPO_DIR/naive-hag.log" >&2
		return 1
	}
}

naive_spawn_socat() {
	local hop=$PWD/bench/naive-hop.sh
	topo_spawn "$NS_CPE" "$TOPO_DIR/naive-cpe.log" socat \
		TCP4-LISTEN:$NAIVE_PORT_CPE,bind=127.0.0.1,ip-transparent,fork,reuseaddr,backlog=1024 \
		"EXEC:$hop mptcp $NAIVE_BUF,nofork"
	NAIVE_CPE_PID=$TOPO_LAST_PID
	acct_add naive-cpe "$NAIVE_CPE_PID"
	topo_spawn "$NS_HAG" "$TOPO_DIR/naive-hag.log" mptcpize run socat \
		TCP4-LISTEN:$NAIVE_PORT_HAG,bind=127.0.0.1,ip-transparent,fork,reuseaddr,backlog=1024 \
		"EXEC:$hop tcp $NAIVE_BUF,nofork"
	NAIVE_HAG_PID=$TOPO_LAST_PID
	acct_add naive-hag "$NAIVE_HAG_PID"
}

# The stock relay the developers' guide measures hybond against: haproxy
# (Debian's, 2.6: no MPTCP of its own) in TCP mode, transparent on both
# sides (`bind ... transparent`: the nft tproxy listener; `source 0.0.0.0
# usesrc clientip`: from H@:port; `server ... 0.0.0.0:0`: to the original
# destination, the accepted socket's local address), made MPTCP with
# `mptcpize run` on both gateways (every socket it opens: the CPE's
# upstream, the HAG's listener; the HAG's upstream to S falls back to TCP).
# Its own defaults otherwise: a thread per CPU, as many connections as its
# file limit allows, no splice, no logs.
stock_conf() { # PORT
	cat <<EOF
defaults
	mode tcp
	timeout connect 5s
	timeout client 120s
	timeout server 120s
frontend in
	bind 127.0.0.1:$1 transparent
	default_backend out
backend out
	source 0.0.0.0 usesrc clientip
	server orig 0.0.0.0:0
EOF
}

stock_spawn() {
	stock_conf $NAIVE_PORT_CPE >"$TOPO_DIR/haproxy-cpe.cfg"
	stock_conf $NAIVE_PORT_HAG >"$TOPO_DIR/haproxy-hag.cfg"
	haproxy -c -q -f "$TOPO_DIR/haproxy-cpe.cfg" >"$TOPO_DIR/naive-cpe.log" 2>&1 || {
		warn "haproxy refuses its configuration:"
		cat "$TOPO_DIR/naive-cpe.log" >&2
		return 1
	}
	topo_spawn "$NS_CPE" "$TOPO_DIR/naive-cpe.log" mptcpize run haproxy -db -f "$TOPO_DIR/haproxy-cpe.cfg"
	NAIVE_CPE_PID=$TOPO_LAST_PID
	acct_add naive-cpe "$NAIVE_CPE_PID"
	topo_spawn "$NS_HAG" "$TOPO_DIR/naive-hag.log" mptcpize run haproxy -db -f "$TOPO_DIR/haproxy-hag.cfg"
	NAIVE_HAG_PID=$TOPO_LAST_PID
	acct_add naive-hag "$NAIVE_HAG_PID"
}

naive_down() {
	local ns
	[ -n "${NAIVE_CPE_PID:-}" ] && stop_pid "$NAIVE_CPE_PID"
	[ -n "${NAIVE_HAG_PID:-}" ] && stop_pid "$NAIVE_HAG_PID"
	acct_drop naive-cpe
	acct_drop naive-hag
	NAIVE_CPE_PID= NAIVE_HAG_PID=
	for ns in $NS_CPE $NS_HAG; do
		nsx "$ns" nft delete table ip hbbench_naive 2>/dev/null
		nsx "$ns" ip rule del fwmark $NAIVE_MARK lookup $NAIVE_TABLE pref 90 2>/dev/null
		nsx "$ns" ip route flush table $NAIVE_TABLE 2>/dev/null
		nsx "$ns" ip mptcp limits set subflow 0 add_addr_accepted 0 2>/dev/null
	done
	# hybond is stopped: the HAG's endpoints are the one we added.
	nsx "$NS_HAG" ip mptcp endpoint flush 2>/dev/null
	return 0
}

# Error lines of the naive relay (socat logs "E ..." on errors; haproxy
# "[ALERT]" and "[WARNING]" on its standard error).
naive_log_problems() {
	grep -hE ' E |\[ALERT\]|\[WARNING\]' "$TOPO_DIR/naive-cpe.log" "$TOPO_DIR/naive-hag.log" 2>/dev/null || true
}

# ---- setups ------------------------------------------------------------------
# setup_up plain|hybond|hybond_af|hybond_now|hybond_ovf|naive|stock
# setup_down SAME
# hybond_af: hybond with --accept-first on both daemons; hybond_now: the CPE
# with --join-after 0 (every connection joins at once, the kernel's PM).
setup_up() {
	case $1 in
	plain) return 0 ;;
	hybond) hybond_up ;;
	hybond_af) CPE_ARGS=(--accept-first); HAG_ARGS=(--accept-first); hybond_up ;;
	hybond_now) CPE_ARGS=(--join-after 0); HAG_ARGS=(); hybond_up ;;
	hybond_ovf) CPE_ARGS=(--primary-rate "$RATE1"); HAG_ARGS=(); hybond_up ;;
	hybond_tcp) CPE_ARGS=(--upstream tcp --splice); HAG_ARGS=(); hybond_up ;;
	hybond_tcpu) CPE_ARGS=(--upstream tcp); HAG_ARGS=(); hybond_up ;;
	naive) naive_up socat ;;
	stock) naive_up haproxy ;;
	esac
}
setup_down() {
	case $1 in
	plain) ;;
	hybond*) hybond_down ;;
	naive | stock) naive_down ;;
	esac
	CPE_ARGS=() HAG_ARGS=()
}
# CPU microseconds of the proxies of a setup: "CPE HAG"
setup_usec() {
	case $1 in
	plain) echo "0 0" ;;
	hybond*) echo "$(acct_usec hybond-cpe) $(acct_usec hybond-hag)" ;;
	naive | stock) echo "$(acct_usec naive-cpe) $(acct_usec naive-hag)" ;;
	esac
}
setup_label() {
	case $1 in
	plain) echo "plain routing" ;;
	hybond) echo "hybond" ;;
	hybond_af) echo "hybond --accept-first" ;;
	hybond_now) echo "hybond --join-after 0" ;;
	hybond_ovf) echo "hybond --primary-rate" ;;
	hybond_tcp) echo "CPE over TCP, spliced" ;;
	hybond_tcpu) echo "CPE over TCP, user space" ;;
	naive) echo "naive (nft+socat)" ;;
	stock) echo "stock (nft+haproxy)" ;;
	esac
}
