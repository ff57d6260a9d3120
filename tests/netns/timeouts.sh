#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The relay's timeouts for connections that stopped moving: `--idle-timeout`
# closes one quiet both ways, `--half-open-timeout` one closed in one
# direction and quiet, each with a reset to both ends, counted in
# relay.idle_closed; 0 turns each off. Both daemons get 2 s here. A download
# that outlasts the timeout while moving bytes all along is not cut.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT

topo_up
topo_mkfile mid.bin 2
head -c 100000 /dev/urandom >"$TOPO_DIR/small.bin"
topo_start_nginx || { fail "nginx starts"; exit 1; }

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
closed() { # the relay's idle_closed, both daemons
	echo $(( $(nsx "$NS_CPE" "$HYBOND" stats -j | jq .relay.idle_closed) +
		$(nsx "$NS_HAG" "$HYBOND" stats -j | jq .relay.idle_closed) ))
}
HYBOND=${HYBOND:-build/hybond}

# ---- A: --idle-timeout 2 -------------------------------------------------
CPE_ARGS=(--idle-timeout 2) HAG_ARGS=(--idle-timeout 2)
topo_start_hybond || { fail "A: daemons log ready"; exit 1; }

# 2 MiB at nginx's 512 KB/s: about 4 s, never 2 s quiet.
code=$(nsx "$NS_H" curl -s -o "$TOPO_DIR/paced.out" -w '%{http_code} %{time_total}' \
	--max-time 30 "http://$S4/paced/mid.bin")
note "A: paced download: HTTP status and seconds: $code"
check_eq "A: a download longer than the idle timeout, moving all along: HTTP status" "${code% *}" 200
check_eq "A: ... sha256 of the received file" "$(sha_of "$TOPO_DIR/paced.out")" "$(sha_of "$TOPO_DIR/www/mid.bin")"
check_eq "A: ... none closed as idle" "$(closed)" 0

# An idle connection: the host opens it and sends nothing; the server
# waits for its request.
topo_spawn "$NS_S" "$TOPO_DIR/srv-idle.out" "$TCPTOOL" serve 7002 sink-reply "$TOPO_DIR/small.bin"
srv=$TOPO_LAST_PID
wait_port "$NS_S" 7002 5 || fail "A: the server on port 7002 starts"
t0=$(date +%s%N)
rc=$(nsx "$NS_H" timeout 30 bash -c "exec 3<>/dev/tcp/$S4/7002; read -t 20 -u 3 x 2>/dev/null; echo \$?")
ms=$(ms_since "$t0")
wait "$srv" 2>/dev/null
note "A: the idle connection ended after $ms ms (read's status $rc); the server: $(grep -v listening "$TOPO_DIR/srv-idle.out")"
check_eq "A: the idle connection was closed under the host (read ended, not timed out)" "$rc" 1
check_ge "A: ... not before the timeout (ms)" "$ms" 1500
check_le "A: ... nor long after it (ms)" "$ms" 10000
check_eq "A: ... and reset at the server" "$(grep -v listening "$TOPO_DIR/srv-idle.out")" "reset sent=0 received=0"
check_ge "A: relay.idle_closed counted it" "$(closed)" 1
stop_pid "$CPE_PID"
stop_pid "$HAG_PID"

# ---- B: --idle-timeout 0 --half-open-timeout 2 ---------------------------
CPE_ARGS=(--idle-timeout 0 --half-open-timeout 2) HAG_ARGS=("${CPE_ARGS[@]}")
topo_start_hybond || { fail "B: daemons log ready"; exit 1; }

# Half-open: the server sends its file and ends its side, the host reads it
# all and keeps its own side open, quiet.
topo_spawn "$NS_S" "$TOPO_DIR/srv-half.out" "$TCPTOOL" serve 7003 reply-sink "$TOPO_DIR/small.bin"
srv=$TOPO_LAST_PID
# And an idle one next to it, which no timeout covers now.
topo_spawn "$NS_S" "$TOPO_DIR/srv-idle2.out" "$TCPTOOL" serve 7004 sink-reply "$TOPO_DIR/small.bin"
srv2=$TOPO_LAST_PID
wait_port "$NS_S" 7003 5 && wait_port "$NS_S" 7004 5 || fail "B: the servers start"
topo_spawn "$NS_H" "$TOPO_DIR/h-idle.out" timeout 30 bash -c "exec 3<>/dev/tcp/$S4/7004; exec sleep 25"
idle=$TOPO_LAST_PID
t0=$(date +%s%N)
topo_spawn "$NS_H" "$TOPO_DIR/h-half.out" timeout 30 \
	bash -c "exec 3<>/dev/tcp/$S4/7003; cat <&3 >'$TOPO_DIR/half.got'; exec sleep 25"
half=$TOPO_LAST_PID
for _ in $(seq 200); do
	kill -0 "$srv" 2>/dev/null || break
	sleep 0.1
done
ms=$(ms_since "$t0")
wait "$srv" 2>/dev/null
note "B: the half-open connection ended after $ms ms; the server: $(grep -v listening "$TOPO_DIR/srv-half.out")"
check_eq "B: the host got the server's file before its end (sha256)" \
	"$(sha_of "$TOPO_DIR/half.got")" "$(sha_of "$TOPO_DIR/small.bin")"
check_eq "B: the half-open connection was reset at the server" \
	"$(grep -v listening "$TOPO_DIR/srv-half.out")" "reset sent=100000 received=0"
check_ge "B: ... not before the timeout (ms)" "$ms" 1500
check_le "B: ... nor long after it (ms)" "$ms" 10000
check_ge "B: relay.idle_closed counted it" "$(closed)" 1
check_eq "B: the idle connection beside it is still open (--idle-timeout 0)" \
	"$(nsx "$NS_H" ss -Htn state established "( dport = :7004 )" | wc -l)" 1
kill "$idle" "$half" "$srv2" 2>/dev/null
wait "$idle" "$half" "$srv2" 2>/dev/null

t_finish
