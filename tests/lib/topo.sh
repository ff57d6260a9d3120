# SPDX-License-Identifier: GPL-2.0-only
# topo.sh - the namespaced testbed shared by tests, demo and benchmarks.
# Source it, then call topo_up; topo_down (also from a trap) removes exactly
# the namespaces and processes it created.
#
#   H ---- lan0 [CPE] pri0 ==== primary (tbf) ==== acc0 [HAG] core0 ---- S
#                     sec0 ==== secondary (tbf) === sec0
#
# Addresses (documentation prefixes):
#   LAN        192.0.2.0/24      2001:db8:1::/64    H .10/::10, CPE .1/::1
#   primary    198.51.100.0/25   2001:db8:a1::/64   CPE .2/::2, HAG .1/::1
#   secondary  198.51.100.128/25 2001:db8:a2::/64   CPE .130/::2, HAG .129/::1
#   core       203.0.113.0/24    2001:db8:5::/64    HAG .1/::1, S .10/::10
# The HAG routes the LAN prefixes to the CPE over the primary (the draft's
# "HAG on the path"); the secondary network reaches only the HAG.

TOPO_ID=${TOPO_ID:-hb$$}
NS_H=$TOPO_ID-h
NS_CPE=$TOPO_ID-cpe
NS_HAG=$TOPO_ID-hag
NS_S=$TOPO_ID-s
TOPO_NS="$NS_H $NS_CPE $NS_HAG $NS_S"

H4=192.0.2.10 H6=2001:db8:1::10
CPE_LAN4=192.0.2.1 CPE_LAN6=2001:db8:1::1
CPE_P4=198.51.100.2 CPE_P6=2001:db8:a1::2
HAG_P4=198.51.100.1 HAG_P6=2001:db8:a1::1
CPE_S4=198.51.100.130 CPE_S6=2001:db8:a2::2
HAG_S4=198.51.100.129 HAG_S6=2001:db8:a2::1
HAG_C4=203.0.113.1 HAG_C6=2001:db8:5::1
S4=203.0.113.10 S6=2001:db8:5::10

TOPO_PIDS=()
TOPO_DIR=

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Shape one direction: egress of ns/if at rate, with a queue of ~50 ms
# and a token bucket of 10 ms of the rate, or BURST bytes (at least two
# full frames; a line's own burst is one frame at a time).
topo_shape() { # ns if rate(mbit) [burst(bytes)]
	local burst=${4:-$(( $3 * 1000000 / 8 / 100 ))}
	[ "$burst" -lt 3200 ] && burst=3200
	tc -n "$1" qdisc replace dev "$2" root tbf rate "$3mbit" \
		burst "$burst" latency 50ms
}

# Shape with netem (rate, delay, jitter, loss): topo_netem NS IF ARGS...
# e.g. topo_netem "$NS_CPE" pri0 rate 20mbit delay 10ms
topo_netem() {
	local ns=$1 ifc=$2
	shift 2
	tc -n "$ns" qdisc replace dev "$ifc" root netem limit 1000 "$@"
}

# Does this kernel have netem? (The host of this project has not.)
have_netem() {
	ip netns add "$TOPO_ID-probe" 2>/dev/null || return 1
	nsx "$TOPO_ID-probe" ip link add p0 type veth peer name p1 &&
		nsx "$TOPO_ID-probe" tc qdisc add dev p0 root netem delay 1ms 2>/dev/null
	local rc=$?
	ip netns del "$TOPO_ID-probe"
	return $rc
}

# For the scenarios that need netem: true when this kernel has it;
# otherwise says so (a skip, or a failure when HYBOND_REQUIRE_NETEM=1, as
# CI's vmtest sets) and returns 1.
netem_or_skip() {
	have_netem && return 0
	if [ -n "${HYBOND_REQUIRE_NETEM:-}" ]; then
		fail "netem is required here (HYBOND_REQUIRE_NETEM) but this kernel has none"
	else
		skip "netem is not available on this kernel ($(uname -r)); vmtest runs these scenarios"
	fi
	return 1
}

# topo_up [--rate1 MBIT] [--rate2 MBIT] [--sec-family 4|6]: rates shape both
# directions of the primary and secondary links (omitted: unshaped veth);
# --sec-family leaves the secondary network single-stack.
topo_up() {
	local rate1= rate2= secfam= ns fwd c4= c6=
	while [ $# -gt 0 ]; do
		case $1 in
		--rate1) rate1=$2; shift 2 ;;
		--rate2) rate2=$2; shift 2 ;;
		--sec-family) secfam=$2; shift 2 ;;
		*) echo "topo_up: unknown option $1" >&2; return 2 ;;
		esac
	done
	TOPO_DIR=$(mktemp -d "/tmp/$TOPO_ID.XXXXXX")
	# nstat keeps a history file shared by every namespace: keep ours apart.
	export NSTAT_HISTORY=$TOPO_DIR/nstat.history
	# A process costs a tenth of a second in a vmtest guest, so the
	# testbed is built by one `ip -batch` per namespace, not a command each
	# (ip stops at the first command that fails and names it).
	ip -batch - <<-EOF
		netns add $NS_H
		netns add $NS_CPE
		netns add $NS_HAG
		netns add $NS_S
	EOF
	for ns in $TOPO_NS; do
		fwd=
		[ "$ns" = "$NS_CPE" ] || [ "$ns" = "$NS_HAG" ] &&
			fwd="net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1"
		nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 $fwd
	done
	# The links after the sysctls: a link takes default.accept_dad as it
	# is made, and DAD on its link-local address delays IPv6 by seconds.
	ip -batch - <<-EOF
		link add eth0 netns $NS_H type veth peer name lan0 netns $NS_CPE
		link add pri0 netns $NS_CPE type veth peer name acc0 netns $NS_HAG
		link add sec0 netns $NS_CPE type veth peer name sec0 netns $NS_HAG
		link add core0 netns $NS_HAG type veth peer name eth0 netns $NS_S
	EOF
	# The family of each address and gateway is its own (no -6 needed);
	# --sec-family comments out (#) the secondary's other family.
	case $secfam in 4) c6='#' ;; 6) c4='#' ;; esac
	ip -n "$NS_H" -batch - <<-EOF
		link set lo up
		link set eth0 up
		addr add $H4/24 dev eth0
		addr add $H6/64 dev eth0 nodad
		route add default via $CPE_LAN4
		route add default via $CPE_LAN6
	EOF
	ip -n "$NS_CPE" -batch - <<-EOF
		link set lo up
		link set lan0 up
		link set pri0 up
		link set sec0 up
		addr add $CPE_LAN4/24 dev lan0
		addr add $CPE_LAN6/64 dev lan0 nodad
		addr add $CPE_P4/25 dev pri0
		addr add $CPE_P6/64 dev pri0 nodad
		${c4}addr add $CPE_S4/25 dev sec0
		${c6}addr add $CPE_S6/64 dev sec0 nodad
		route add default via $HAG_P4 dev pri0
		route add default via $HAG_P6 dev pri0
	EOF
	ip -n "$NS_HAG" -batch - <<-EOF
		link set lo up
		link set acc0 up
		link set sec0 up
		link set core0 up
		${c4}addr add $HAG_S4/25 dev sec0
		${c6}addr add $HAG_S6/64 dev sec0 nodad
		addr add $HAG_P4/25 dev acc0
		addr add $HAG_P6/64 dev acc0 nodad
		addr add $HAG_C4/24 dev core0
		addr add $HAG_C6/64 dev core0 nodad
		route add 192.0.2.0/24 via $CPE_P4 dev acc0
		route add 2001:db8:1::/64 via $CPE_P6 dev acc0
		route add default via $S4 dev core0
		route add default via $S6 dev core0
	EOF
	ip -n "$NS_S" -batch - <<-EOF
		link set lo up
		link set eth0 up
		addr add $S4/24 dev eth0
		addr add $S6/64 dev eth0 nodad
		route add default via $HAG_C4
		route add default via $HAG_C6
	EOF

	if [ -n "$rate1" ]; then
		topo_shape "$NS_CPE" pri0 "$rate1"
		topo_shape "$NS_HAG" acc0 "$rate1"
	fi
	if [ -n "$rate2" ]; then
		topo_shape "$NS_CPE" sec0 "$rate2"
		topo_shape "$NS_HAG" sec0 "$rate2"
	fi
}

# Start a background process in a namespace, remember its pid for cleanup.
# topo_spawn NS LOGFILE CMD...  (sets TOPO_LAST_PID)
topo_spawn() {
	local ns=$1 log=$2 n=1
	shift 2
	# Under sanitizers an earlier run's log is kept under another name
	# (NAME.1.log, ...), for t_cleanup to read: a daemon reports its leaks
	# when it exits, and a scenario that starts it again reuses the name.
	if [ -n "${HYBOND_ASAN:-}" ] && [ -s "$log" ]; then
		while [ -e "${log%.log}.$n.log" ]; do n=$((n + 1)); done
		mv "$log" "${log%.log}.$n.log"
	fi
	# Empty the log now: a reader must never see an earlier run's lines.
	: >"$log"
	ip netns exec "$ns" "$@" >>"$log" 2>&1 &
	TOPO_LAST_PID=$!
	TOPO_PIDS+=("$TOPO_LAST_PID")
}

# Wait until a file contains a pattern (or time out). wait_for FILE RE SECS
wait_for() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# Wait until a TCP port listens in a namespace. wait_port NS PORT SECS
wait_port() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		nsx "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

# Start hybond in both gateways; logs in $TOPO_DIR/{cpe,hag}.log.
# Extra arguments: CPE_ARGS=(...) HAG_ARGS=(...)
topo_start_hybond() {
	local bin=${HYBOND:-build/hybond}
	topo_spawn "$NS_HAG" "$TOPO_DIR/hag.log" "$bin" hag --access acc0 \
		--core core0 --secondary sec0 "${HAG_ARGS[@]}"
	HAG_PID=$TOPO_LAST_PID
	topo_spawn "$NS_CPE" "$TOPO_DIR/cpe.log" "$bin" cpe --lan lan0 \
		--primary pri0 --secondary sec0 "${CPE_ARGS[@]}"
	CPE_PID=$TOPO_LAST_PID
	# "info: ready:", not "ready": "already in use" contains it too.
	wait_for "$TOPO_DIR/hag.log" "info: ready:" 10 || { cat "$TOPO_DIR/hag.log"; return 1; }
	wait_for "$TOPO_DIR/cpe.log" "info: ready:" 10 || { cat "$TOPO_DIR/cpe.log"; return 1; }
}

# Wait (10 s at most) until the CPE's primary-first switch has put the
# secondary back on standby.
bond_standby() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(nsx "$NS_CPE" "${HYBOND:-build/hybond}" stats -j | jq .bonding.secondary_in_use)" = false ] && return 0
		sleep 0.1
	done
	return 1
}

# bond_run down|up ARGS...: an iperf3 run from H to the iperf3 server on S
# port 5201 (ARGS: iperf3's); sets MBPS, PERSEC (Mbit/s in each second),
# PRI, SEC (bytes on each access link in the data direction) and MS (the
# milliseconds between the two reads of those counters: the run with its
# set-up and its end).
bond_run() {
	local dir=$1 flag= a b p0 s0 p1 s1 t0
	shift
	if [ "$dir" = down ]; then flag=-R a="$NS_HAG acc0" b="$NS_HAG sec0"; else a="$NS_CPE pri0" b="$NS_CPE sec0"; fi
	p0=$(if_bytes $a tx); s0=$(if_bytes $b tx); t0=$(date +%s%N)
	OUT=$(nsx "$NS_H" iperf3 -c "$S4" -p 5201 $flag "$@" -J)
	MBPS=$(jq '.end.sum_received.bits_per_second / 1e6 | floor' <<<"$OUT")
	PERSEC=$(jq -r '[.intervals[].sum.bits_per_second / 1e6 | floor] | join(" ")' <<<"$OUT")
	p1=$(if_bytes $a tx); s1=$(if_bytes $b tx)
	MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	PRI=$((p1 - p0)) SEC=$((s1 - s0))
}

# Stop one daemon with SIGTERM and wait for it to exit. stop_pid PID
stop_pid() {
	local i
	kill -TERM "$1" 2>/dev/null || return 0
	for ((i = 0; i < 200; i++)); do
		kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
		sleep 0.05
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 1
}

# nginx in S serving $TOPO_DIR/www on ports 80 and 8080 and any in
# NGINX_EXTRA_PORTS (both families), also under /slow/ at 10 KB/s; access log
# in $TOPO_DIR/nginx/access.log with the client address first.
topo_start_nginx() {
	local d=$TOPO_DIR/nginx
	mkdir -p "$d" "$TOPO_DIR/www"
	cat >"$d/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 1024; }
http {
	access_log $d/access.log;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fastcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
	server {
$(for p in 80 8080 ${NGINX_EXTRA_PORTS:-}; do
		printf '\t\tlisten %s reuseport;\n\t\tlisten [::]:%s reuseport;\n' "$p" "$p"
	done)
		root $TOPO_DIR/www;
		# The same files at 10 KB/s: a connection that stays open (8 MiB: 14 min).
		location /slow/ {
			alias $TOPO_DIR/www/;
			limit_rate 10k;
		}
		# ... and at 512 KB/s (8 MiB: 16 s), as nginx paces it.
		location /paced/ {
			alias $TOPO_DIR/www/;
			limit_rate 512k;
		}
		location /upload/ {
			dav_methods PUT;
			create_full_put_path on;
			client_max_body_size 0;
		}
	}
}
EOF
	topo_spawn "$NS_S" "$d/stderr.log" nginx -c "$d/nginx.conf" -p "$d"
	NGINX_PID=$TOPO_LAST_PID
	wait_port "$NS_S" 80 10
}

# The client address nginx logged for the last request whose log line
# contains TEXT (a fixed string). nginx_client TEXT
nginx_client() {
	awk -v t="$1" 'index($0, t) { a = $1 } END { print a }' "$TOPO_DIR/nginx/access.log"
}

# Random file of N MiB in www. topo_mkfile NAME MIB
topo_mkfile() {
	mkdir -p "$TOPO_DIR/www"
	head -c "$(( $2 * 1048576 ))" /dev/urandom >"$TOPO_DIR/www/$1"
}

# ---- stream semantics through the proxies (tcptool) -----------------------------
# What a TCP stream means must survive the proxies: a half-close in either
# direction lets the other direction finish, and a reset on one side
# arrives as a reset on the other. Needs check.sh, and build/tests/tcptool.
TCPTOOL=${TCPTOOL:-$PWD/build/tests/tcptool}

# stream_files: a 200000-byte and a 3 MiB file of random bytes in
# $TOPO_DIR, their sha256 in STREAM_SMALL and STREAM_LARGE.
stream_files() {
	head -c 200000 /dev/urandom >"$TOPO_DIR/small.bin"
	head -c $((3 * 1048576)) /dev/urandom >"$TOPO_DIR/large.bin"
	STREAM_SMALL=$(sha_of "$TOPO_DIR/small.bin")
	STREAM_LARGE=$(sha_of "$TOPO_DIR/large.bin")
}

# stream_serve PORT MODE [FILE]: a tcptool server in S, or in the namespace
# SRV_NS names (one connection); stream_served waits for it and puts its
# result line in SRV_OUT (not from a subshell: the server is our child).
stream_serve() {
	topo_spawn "${SRV_NS:-$NS_S}" "$TOPO_DIR/srv.out" "$TCPTOOL" serve "$@"
	SRV=$TOPO_LAST_PID
	wait_port "${SRV_NS:-$NS_S}" "$1" 5
}
stream_served() { wait "$SRV" 2>/dev/null; SRV_OUT=$(grep -v listening "$TOPO_DIR/srv.out"); }

# stream_cases LABEL ADDR PORT: from H to ADDR (S4 or S6) on ports PORT,
# PORT+1 and PORT+2: the client closes its write side first, the server
# does, the server resets. Checks both ends of each.
stream_cases() {
	local label=$1 s=$2 port=$3 out
	local small=$STREAM_SMALL large=$STREAM_LARGE

	# Client closes its write side first; the server reads to EOF (which
	# only comes if the FIN crossed both proxies), then answers.
	stream_serve "$port" sink-reply "$TOPO_DIR/large.bin"
	out=$(nsx "$NS_H" "$TCPTOOL" connect "$s" "$port" --send "$TOPO_DIR/small.bin" --timeout 20)
	check_eq "$label client half-close: client got the whole response" \
		"$out" "eof sent=200000 received=3145728 sha256=$large"
	stream_served
	check_eq "$label client half-close: server got the request and its EOF" \
		"$SRV_OUT" "eof sent=3145728 received=200000 sha256=$small"

	# Server closes its write side first while the client is still sending.
	stream_serve $((port + 1)) reply-sink "$TOPO_DIR/small.bin"
	out=$(nsx "$NS_H" "$TCPTOOL" connect "$s" $((port + 1)) --send "$TOPO_DIR/large.bin" --timeout 20)
	check_eq "$label server half-close: client got the response and EOF" \
		"$out" "eof sent=3145728 received=200000 sha256=$small"
	stream_served
	check_eq "$label server half-close: server still received the whole upload" \
		"$SRV_OUT" "eof sent=200000 received=3145728 sha256=$large"

	# Server resets: the client must see a reset, not a clean end.
	stream_serve $((port + 2)) reset
	out=$(nsx "$NS_H" "$TCPTOOL" connect "$s" $((port + 2)) --send "$TOPO_DIR/small.bin" --timeout 20)
	check "$label server reset arrives as a reset at the client ($out)" \
		grep -q '^reset ' <<<"$out"
	stream_served
}

# A capture filter for the SYNs and SYN-ACKs only, IPv4 and IPv6 (libpcap's
# tcp[] reads IPv4 only; the testbed sends no IPv6 extension headers, so
# the TCP flags of an IPv6 packet are at byte 40 + 13). A test that checks
# only handshakes uses it: a capture of every segment of a bulk transfer
# costs seconds to print under the guests' emulation.
TOPO_SYNS='(tcp[tcpflags] & tcp-syn != 0) or (ip6 and ip6[6] == 6 and ip6[53] & 2 != 0)'

# Capture on an interface in the background (pcap in $TOPO_DIR/NAME.pcap).
# topo_capture NS IF NAME [FILTER...]
topo_capture() {
	local ns=$1 ifc=$2 name=$3
	shift 3
	topo_spawn "$ns" "$TOPO_DIR/$name.tcpdump.log" tcpdump -i "$ifc" -s 200 --immediate-mode \
		-U -nn -w "$TOPO_DIR/$name.pcap" "$@"
	wait_for "$TOPO_DIR/$name.tcpdump.log" "listening on" 10
}

# Stop a capture started with topo_capture (by its pid) and print it as text.
# capture_text NAME PID
capture_text() {
	stop_pid "$2"
	tcpdump -r "$TOPO_DIR/$1.pcap" -nn 2>/dev/null
}

# Bytes counted on interfaces of one namespace, read in one process (a
# process costs a tenth of a second in a vmtest guest):
#   if_bytes NS IF rx|tx [IF rx|tx ...]   -> the counts, space-separated
# (the counters of `ip -s link`, which /sys/class/net/IF/statistics shows).
if_bytes() {
	local ns=$1 line name= next= out=()
	local -A n
	shift
	while read -r line; do
		case $line in
		[0-9]*:*) name=${line#*: } name=${name%%[@:]*} ;;
		RX:*) next=rx ;;
		TX:*) next=tx ;;
		*) [ -n "$next" ] && n[$name.$next]=${line%% *} next= ;;
		esac
	done < <(ip -n "$ns" -s link show)
	while [ $# -ge 2 ]; do
		[ -n "${n[$1.$2]:-}" ] || echo "if_bytes: no $2 count of $1 in namespace $ns" >&2
		out+=("${n[$1.$2]:-}")
		shift 2
	done
	echo "${out[*]}"
}

topo_down() {
	local pid ns
	for pid in "${TOPO_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${TOPO_PIDS[@]}"; do
		stop_pid "$pid" >/dev/null 2>&1
	done
	TOPO_PIDS=()
	for ns in $TOPO_NS; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$TOPO_DIR" ] && [ -z "${TOPO_KEEP:-}" ]; then
		rm -rf "$TOPO_DIR"
	fi
	TOPO_DIR=
}
