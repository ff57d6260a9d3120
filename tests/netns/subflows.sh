#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The second subflow made three ways (draft section 5):
#  A. the CPE joins a configured HAG@2 without waiting for ADD_ADDR
#     (--hag-secondary). The HAG keeps timestamps, so it cannot send the
#     IPv6 ADD_ADDR with a port at all: IPv6 bonds anyway.
#  B. the HAG opens the subflow itself towards the CPE@2 its map names
#     (Figure 6, --initiate-subflows --cpe-secondary), IPv4 and IPv6.
#  C. the same HAG announces HAG@2 (ADD_ADDR) to a subscriber its map does
#     not cover, and that CPE joins as usual.
#  D. --max-subflows 0 on the CPE: the kernel PM's limits, set while the
#     daemon runs (no join at all then) and restored after.
# Each: curl in H downloads from nginx in S; the hash, H@ at the server, a
# real share of the bytes on the secondary, and on the wire who sent the
# MP_JOIN SYN to whom.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT

topo_up --rate1 20 --rate2 30
topo_mkfile big.bin 6
topo_mkfile big40.bin 40
topo_start_nginx || { fail "nginx starts"; exit 1; }
want=$(sha_of "$TOPO_DIR/www/big.bin")

# download LABEL FAMILY: checks hash, H@, secondary share (HAG sec0 tx).
download() {
	local label=$1 fam=$2 url hostaddr code got last p0 p1 s0 s1 share
	if [ "$fam" = 4 ]; then url=http://$S4 hostaddr=$H4; else url="http://[$S6]" hostaddr=$H6; fi
	read -r p0 s0 < <(if_bytes "$NS_HAG" acc0 tx sec0 tx)
	code=$(nsx "$NS_H" curl -s -o "$TOPO_DIR/down" -w '%{http_code}' --max-time 30 "$url/big.bin")
	read -r p1 s1 < <(if_bytes "$NS_HAG" acc0 tx sec0 tx)
	check_eq "$label IPv$fam: HTTP status" "$code" 200
	got=$(sha_of "$TOPO_DIR/down")
	check_eq "$label IPv$fam: sha256 of the received file" "$got" "$want"
	last=$(nginx_client ' "GET /big.bin ')
	check_eq "$label IPv$fam: nginx saw H@" "$last" "$hostaddr"
	share=$((100 * (s1 - s0) / (p1 - p0 + s1 - s0 + 1)))
	note "$label IPv$fam: primary $((p1 - p0)) bytes, secondary $((s1 - s0)) bytes ($share%)"
	check_ge "$label IPv$fam: the secondary carried a real share (%)" "$share" 20
}

# Stop both daemons (SIGTERM) and the captures, keep the namespaces.
restart_clean() {
	stop_pid "$CPE_PID"; stop_pid "$HAG_PID"
}

pm_json() { nsx "$1" build/hybond stats --name "$2" -j | jq -c '.path_manager'; }

# Bad values are refused before anything is touched, with the cause.
out=$(nsx "$NS_CPE" build/hybond cpe --lan lan0 --primary pri0 --secondary sec0 \
	--hag-secondary $HAG_S4 2>&1); rc=$?
check "--hag-secondary without a port is refused" test $rc -ne 0
check "... saying what form it wants" grep -q "expected ADDR:PORT" <<<"$out"
out=$(nsx "$NS_HAG" build/hybond hag --access acc0 --core core0 --secondary sec0 \
	--initiate-subflows 2>&1); rc=$?
check "--initiate-subflows without a map is refused" test $rc -ne 0
check "... naming --cpe-secondary" grep -q -- "--cpe-secondary" <<<"$out"
check_eq "the refused starts left the kernel PM in place" \
	"$(nsx "$NS_CPE" cat /proc/sys/net/mptcp/pm_type)$(nsx "$NS_HAG" cat /proc/sys/net/mptcp/pm_type)" 00

# ---- A: the CPE joins HAG@2 from its configuration --------------------------
HAG_ARGS=(--keep-timestamps)
CPE_ARGS=(--hag-secondary $HAG_S4:9300 --hag-secondary "[$HAG_S6]:9300")
topo_start_hybond || { fail "A: daemons log ready"; exit 1; }
ok "A: both daemons log ready"
check_eq "A: the CPE runs the userspace PM" "$(nsx "$NS_CPE" cat /proc/sys/net/mptcp/pm_type)" 1
topo_capture "$NS_CPE" sec0 seca "$TOPO_SYNS" || fail "capture on the secondary"
CAP=$TOPO_LAST_PID
download A 4
download A 6
capture_text seca $CAP >"$TOPO_DIR/seca.txt"
check "A: MP_JOIN SYN from HCPE@2 to HAG@2 (IPv4)" \
	grep -qE "IP $CPE_S4\.[0-9]+ > $HAG_S4\.9300: Flags \[S\].*mptcp [0-9]+ join" "$TOPO_DIR/seca.txt"
check "A: MP_JOIN SYN from HCPE@2 to HAG@2 (IPv6)" \
	grep -qE "IP6 $CPE_S6\.[0-9]+ > $HAG_S6\.9300: Flags \[S\].*mptcp [0-9]+ join" "$TOPO_DIR/seca.txt"
drops=$(nsx "$NS_HAG" nstat -az MPTcpExtAddAddrTxDrop | awk '/AddAddrTxDrop/ {print $2}')
note "A: IPv6 ADD_ADDRs the HAG could not send (timestamps kept): ${drops:-n/a}"
pm=$(pm_json "$NS_CPE" cpe)
note "A: CPE path manager: $pm"
check_ge "A: the CPE's path manager opened the subflows" "$(jq .subflows_created <<<"$pm")" 2
# The closed connections are forgotten (MPTCP_EVENT_CLOSED).
for i in $(seq 50); do
	[ "$(pm_json "$NS_CPE" cpe | jq .tracked)" = 0 ] && break
	sleep 0.2
done
check_eq "A: no connection left tracked once all closed" "$(pm_json "$NS_CPE" cpe | jq .tracked)" 0
restart_clean
check_eq "A: stopping restored the kernel PM (pm_type 0)" "$(nsx "$NS_CPE" cat /proc/sys/net/mptcp/pm_type)" 0

# ---- B: the HAG opens the subflow (Figure 6) --------------------------------
HAG_ARGS=(--initiate-subflows --cpe-secondary 192.0.2.0/24=$CPE_S4:9400
	--cpe-secondary "2001:db8:1::/64=[$CPE_S6]:9400")
CPE_ARGS=(--join-port 9400)
topo_start_hybond || { fail "B: daemons log ready"; exit 1; }
ok "B: both daemons log ready"
topo_capture "$NS_CPE" sec0 secb "$TOPO_SYNS" || fail "capture on the secondary"
CAP=$TOPO_LAST_PID
download B 4
download B 6
capture_text secb $CAP >"$TOPO_DIR/secb.txt"
check "B: MP_JOIN SYN from HAG@2 to HCPE@2 (IPv4)" \
	grep -qE "IP $HAG_S4\.[0-9]+ > $CPE_S4\.9400: Flags \[S\].*mptcp [0-9]+ join" "$TOPO_DIR/secb.txt"
check "B: MP_JOIN SYN from HAG@2 to HCPE@2 (IPv6)" \
	grep -qE "IP6 $HAG_S6\.[0-9]+ > $CPE_S6\.9400: Flags \[S\].*mptcp [0-9]+ join" "$TOPO_DIR/secb.txt"
check_eq "B: the CPE opened no subflow itself" \
	"$(grep -cE "> ($HAG_S4|$HAG_S6)\.9300: Flags \[S\]" "$TOPO_DIR/secb.txt")" 0
pm=$(pm_json "$NS_HAG" hag)
note "B: HAG path manager: $pm"
check_ge "B: the HAG's path manager opened the subflows" "$(jq .subflows_created <<<"$pm")" 2
check_eq "B: mapped subscribers got no ADD_ADDR" "$(jq .announced <<<"$pm")" 0

# The HAG-opened subflow through a secondary outage (3 s) mid-download.
# (IPv6 addresses would go with the link: C needs them.)
for ns in "$NS_CPE" "$NS_HAG"; do nsx "$ns" sysctl -qw net.ipv6.conf.sec0.keep_addr_on_down=1; done
nsx "$NS_H" curl -s -o "$TOPO_DIR/out40" --max-time 60 "http://$S4/big40.bin" &
dl=$!
sleep 2
nsx "$NS_CPE" ip link set sec0 down; nsx "$NS_HAG" ip link set sec0 down
sleep 3
nsx "$NS_CPE" ip link set sec0 up; nsx "$NS_HAG" ip link set sec0 up
back=0
for i in 1 2 3 4 5 6 7 8; do
	a=$(if_bytes "$NS_HAG" sec0 tx); sleep 1; b=$(if_bytes "$NS_HAG" sec0 tx)
	if [ $(( (b - a) * 8 / 1000000 )) -ge 5 ]; then back=$i; break; fi
done
wait $dl
check_eq "B: secondary down mid-transfer: the download is intact" \
	"$(sha_of "$TOPO_DIR/out40")" "$(sha_of "$TOPO_DIR/www/big40.bin")"
check "B: the HAG's subflow carries traffic again within 8 s of the return (after ${back}s)" test "$back" -gt 0
note "B: after the outage: $(pm_json "$NS_HAG" hag)"
restart_clean

# ---- C: a subscriber outside the map gets the ADD_ADDR ----------------------
HAG_ARGS=(--initiate-subflows --cpe-secondary 192.0.2.0/24=$CPE_S4:9400)
CPE_ARGS=(--join-port 9400)
topo_start_hybond || { fail "C: daemons log ready"; exit 1; }
ok "C: both daemons log ready"
topo_capture "$NS_CPE" sec0 secc "$TOPO_SYNS" || fail "capture on the secondary"
CAP=$TOPO_LAST_PID
download C 6
capture_text secc $CAP >"$TOPO_DIR/secc.txt"
check "C: the CPE joined the announced HAG@2 (IPv6)" \
	grep -qE "IP6 $CPE_S6\.[0-9]+ > $HAG_S6\.9300: Flags \[S\].*mptcp [0-9]+ join" "$TOPO_DIR/secc.txt"
check_ge "C: the HAG announced to the unmapped subscriber" "$(pm_json "$NS_HAG" hag | jq .announced)" 1
restart_clean
check_eq "C: stopping restored the HAG's kernel PM" "$(nsx "$NS_HAG" cat /proc/sys/net/mptcp/pm_type)" 0

# ---- D: the limits are the operator's ----------------------------------------
before=$(nsx "$NS_CPE" ip mptcp limits show)
HAG_ARGS=()
CPE_ARGS=(--max-subflows 0)
topo_start_hybond || { fail "D: daemons log ready"; exit 1; }
check_eq "D: the CPE's limits while it runs" "$(nsx "$NS_CPE" ip mptcp limits show | tr -s ' \n' ' ')" \
	"add_addr_accepted 0 subflows 0 "
s0=$(if_bytes "$NS_HAG" sec0 tx)
code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 30 "http://$S4/big.bin")
s1=$(if_bytes "$NS_HAG" sec0 tx)
check_eq "D: download with no extra subflow" "$code" 200
check_le "D: the secondary carried nothing (bytes)" "$((s1 - s0))" 20000
restart_clean
check_eq "D: stopping restored the limits" "$(nsx "$NS_CPE" ip mptcp limits show)" "$before"

t_finish
