#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# In-kernel splicing in the relay, on the pairs kernels take in a sockmap
# today: a CPE relaying over plain TCP (--upstream tcp --splice) has TCP on
# both legs and hands each connection to bpf/splice.bpf.c. What a user checks:
# files arrive intact both ways, the server sees H@, a half-close each way
# and a reset cross as with the user-space relay, `hybond stats` says the
# kernel moved the bytes (data path "sockmap", connections spliced, bytes
# counted), and a download goes on to its end while the daemon is frozen
# (SIGSTOP): no byte passes through it. The splice has no back-pressure:
# a host that reads slowly must be reported (log, stats). Without --splice
# the same checks pass through user space, and the frozen download stalls.
# IPv4 and IPv6.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
HB=${HYBOND:-build/hybond}

topo_up
topo_mkfile big.bin 24
topo_mkfile huge.bin 96
# For the slow host (its content unread): 192 MiB, sparse.
truncate -s $((192 * 1048576)) "$TOPO_DIR/www/slow.bin"
head -c $((24 * 1048576)) /dev/urandom >"$TOPO_DIR/up.bin"
stream_files
topo_start_nginx || { fail "nginx starts"; exit 1; }
want=$(sha_of "$TOPO_DIR/www/big.bin") want_up=$(sha_of "$TOPO_DIR/up.bin")
want_huge=$(sha_of "$TOPO_DIR/www/huge.bin")

cpe_stat() { nsx "$NS_CPE" "$HB" stats -j | jq -r "$1"; }

# transfers LABEL FAM: a download and an upload with curl and nginx, and
# the three stream-semantics cases with tcptool, through the CPE.
port=7001
transfers() {
	local label=$1 fam=$2 url hostaddr s code got last
	if [ "$fam" = 4 ]; then url=http://$S4 hostaddr=$H4 s=$S4; else url="http://[$S6]" hostaddr=$H6 s=$S6; fi

	code=$(nsx "$NS_H" curl -s -o "$TOPO_DIR/down" -w '%{http_code}' --max-time 30 "$url/big.bin")
	check_eq "$label IPv$fam download: HTTP status" "$code" 200
	check_eq "$label IPv$fam download: sha256 of the received file" "$(sha_of "$TOPO_DIR/down")" "$want"
	last=$(nginx_client ' "GET /big.bin ')
	check_eq "$label IPv$fam download: nginx saw H@" "$last" "$hostaddr"

	code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
		-T "$TOPO_DIR/up.bin" "$url/upload/up.bin")
	check_eq "$label IPv$fam upload: HTTP status" "$code" 201
	got=$(sha_of "$TOPO_DIR/www/upload/up.bin" 2>/dev/null)
	check_eq "$label IPv$fam upload: sha256 of the stored file" "$got" "$want_up"
	rm -f "$TOPO_DIR/www/upload/up.bin"

	stream_cases "$label IPv$fam" "$s" $port
	port=$((port + 3))
}

# frozen_download: start a 96 MiB download (curl reads 32 MB/s: about 3
# s), freeze the CPE daemon once the relay has the connection, and see
# whether the download ends while it is frozen (what the buffers past the
# daemon hold, about 10 MB, cannot carry it to its end). Sets FROZEN_AT (bytes
# received when it froze), FROZEN_PEERS (entries of the pinned peer map
# then, read with bpftool), FROZEN_SIZE and FROZEN_SHA (when curl ended);
# the daemon is thawed before it returns.
frozen_download() {
	local i n0 pid
	n0=$(cpe_stat .relay.accepted)
	# curl opens its output only when bytes come: the last run's file
	# must not be read as this one's.
	rm -f "$TOPO_DIR/frozen"
	topo_spawn "$NS_H" "$TOPO_DIR/frozen.out" curl -s -o "$TOPO_DIR/frozen" \
		-w '%{http_code}' --limit-rate 32M --max-time 8 "http://$S4/huge.bin"
	pid=$TOPO_LAST_PID
	# Whichever comes first: the CPE counted it, or bytes arrived (a slow
	# guest's stats call can take longer than the whole download).
	for ((i = 0; i < 100; i++)); do
		[ "$(stat -c %s "$TOPO_DIR/frozen" 2>/dev/null || echo 0)" -gt 0 ] && break
		[ $((i % 4)) = 0 ] && [ "$(cpe_stat .relay.accepted)" -gt "$n0" ] && break
		sleep 0.05
	done
	kill -STOP "$CPE_PID"
	FROZEN_AT=$(stat -c %s "$TOPO_DIR/frozen" 2>/dev/null || echo 0)
	FROZEN_PEERS=$(nsenter -t "$CPE_PID" -m bpftool -j map dump \
		pinned /sys/fs/bpf/hybond/cpe/hybond_splice_peer 2>/dev/null | jq length)
	wait "$pid"
	FROZEN_SIZE=$(stat -c %s "$TOPO_DIR/frozen" 2>/dev/null || echo 0)
	FROZEN_SHA=$(sha_of "$TOPO_DIR/frozen")
	kill -CONT "$CPE_PID"
}

# ---- spliced -------------------------------------------------------------
CPE_ARGS=(--upstream tcp --splice)
topo_start_hybond || { fail "daemons log ready"; exit 1; }
check_eq "stats: the data path is the kernel's splice" "$(cpe_stat .instance.datapath)" sockmap
check "the CPE logs its data path" grep -q "data path: in-kernel splicing (sockmap)" "$TOPO_DIR/cpe.log"
for fam in 4 6; do
	transfers spliced $fam
done
check_ge "stats: connections spliced (2 families x 5)" "$(cpe_stat .relay.spliced)" 10
frozen_download
check_le "spliced: the download was under way when the CPE daemon froze (bytes)" "$FROZEN_AT" $((96 * 1048576 - 1))
check_eq "spliced: it arrived whole while the daemon was frozen (sha256)" "$FROZEN_SHA" "$want_huge"
check_eq "bpftool: the pinned peer map held the pair's two legs meanwhile" "$FROZEN_PEERS" 2
wait_active_0() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(cpe_stat .relay.active)" = 0 ] && break
		sleep 0.1
	done
	cpe_stat .relay.active
}
check_eq "stats: no connection still open" "$(wait_active_0)" 0
up=$(cpe_stat .relay.bytes_up) down=$(cpe_stat .relay.bytes_down)
note "stats: $up bytes up, $down bytes down"
check_ge "stats: the spliced uploads were counted (bytes)" "$up" $((2 * (24 * 1048576 + 200000 + 3145728)))
check_ge "stats: the spliced downloads were counted (bytes)" "$down" $((2 * (24 * 1048576 + 200000 + 3145728)))
check_eq "the HAG proxied nothing (plain TCP is routed past it)" \
	"$(nsx "$NS_HAG" "$HB" stats -j | jq -r .relay.accepted)" 0

# A slow host: the server's 192 MiB pile up in the kernel (no
# back-pressure); the CPE must say so within seconds. What the sockets'
# buffers hold (the CPE's send buffer alone 16 MiB) is not counted, so the
# file is well over 64 MiB more than that; how fast it piles up depends on
# the box (and the housekeeping looks once a second), so the test waits
# for the count, 12 s at most, while the download runs.
topo_spawn "$NS_H" "$TOPO_DIR/slow.out" curl -s -o /dev/null --limit-rate 1M \
	--max-time 15 "http://$S4/slow.bin"
slow_pid=$TOPO_LAST_PID
for ((i = 0; i < 120; i++)); do
	[ "$(cpe_stat .relay.splice_overrun)" -ge 1 ] 2>/dev/null && break
	sleep 0.1
done
note "slow host: counted after $((i / 10)).$((i % 10)) s: $(grep -m1 -o '[0-9]* MiB received' "$TOPO_DIR/cpe.log")"
check_ge "stats: relay.splice_overrun" "$(cpe_stat .relay.splice_overrun)" 1
check "the CPE logs a connection that outran its receiver" \
	grep -q "kernel's splice has no back-pressure" "$TOPO_DIR/cpe.log"
kill "$slow_pid" 2>/dev/null
wait "$slow_pid" 2>/dev/null
stop_pid "$CPE_PID"
problems=$(awk '/info: ready:/ { r = 1; next } r && tolower($0) ~ /warn|error|fail/' "$TOPO_DIR/cpe.log" |
	grep -v "kernel's splice has no back-pressure")
check_eq "no warning or error in the CPE's log once it was ready" "$problems" ""

# ---- the same through user space (no --splice) -----------------------------------
CPE_ARGS=(--upstream tcp)
topo_spawn "$NS_CPE" "$TOPO_DIR/cpe2.log" "$HB" cpe --lan lan0 --primary pri0 \
	--secondary sec0 "${CPE_ARGS[@]}"
CPE_PID=$TOPO_LAST_PID
wait_for "$TOPO_DIR/cpe2.log" "info: ready:" 10 || { fail "CPE without --splice ready"; exit 1; }
check_eq "stats (no --splice): the data path is user space" "$(cpe_stat .instance.datapath)" userspace
transfers "user space" 4
check_eq "stats (no --splice): nothing spliced" "$(cpe_stat .relay.spliced)" 0
frozen_download
note "user space: $FROZEN_AT bytes when the daemon froze, $FROZEN_SIZE when curl gave up"
check_le "user space: a download stalls while the CPE daemon is frozen (bytes)" "$FROZEN_SIZE" $((96 * 1048576 - 1))

t_finish
