#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The draft's transparent bonded path end to end (Figures 4 and 5): curl in H
# downloads from and uploads to nginx in S through both gateways, over IPv4
# and IPv6. The server must see H@, the data must hash equal, the secondary
# link must carry a real share, and the wire must show MP_CAPABLE on the
# primary and MP_JOIN on the secondary.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT

topo_up --rate1 20 --rate2 30
topo_mkfile big.bin 8
head -c $((6 * 1048576)) /dev/urandom >"$TOPO_DIR/up.bin"
topo_start_nginx || { fail "nginx starts"; exit 1; }
topo_start_hybond || { fail "daemons log ready"; exit 1; }
ok "both daemons log ready"

topo_capture "$NS_CPE" pri0 pri "$TOPO_SYNS" || fail "capture on primary"
CAP_PRI=$TOPO_LAST_PID
topo_capture "$NS_CPE" sec0 sec "$TOPO_SYNS" || fail "capture on secondary"
CAP_SEC=$TOPO_LAST_PID

want=$(sha_of "$TOPO_DIR/www/big.bin")
want_up=$(sha_of "$TOPO_DIR/up.bin")

for fam in 4 6; do
	if [ $fam = 4 ]; then url=http://$S4 hostaddr=$H4; else url="http://[$S6]" hostaddr=$H6; fi

	# Download.
	read -r p0 s0 < <(if_bytes "$NS_HAG" acc0 tx sec0 tx)
	code=$(nsx "$NS_H" curl -s -o "$TOPO_DIR/down$fam" -w '%{http_code}' \
		--max-time 30 "$url/big.bin")
	read -r p1 s1 < <(if_bytes "$NS_HAG" acc0 tx sec0 tx)
	check_eq "IPv$fam download: HTTP status" "$code" 200
	got=$(sha_of "$TOPO_DIR/down$fam")
	check_eq "IPv$fam download: sha256 of the received file" "$got" "$want"
	last=$(nginx_client ' "GET /big.bin ')
	check_eq "IPv$fam download: nginx saw the host's own address H@" "$last" "$hostaddr"
	prim=$((p1 - p0)) sec=$((s1 - s0))
	share=$((100 * sec / (prim + sec)))
	note "IPv$fam download: primary $prim bytes, secondary $sec bytes ($share%)"
	check_ge "IPv$fam download: secondary carried a substantial share (%)" "$share" 20

	# Upload (H -> S) with nginx's PUT.
	read -r p0 s0 < <(if_bytes "$NS_CPE" pri0 tx sec0 tx)
	code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
		-T "$TOPO_DIR/up.bin" "$url/upload/up$fam.bin")
	read -r p1 s1 < <(if_bytes "$NS_CPE" pri0 tx sec0 tx)
	check_eq "IPv$fam upload: HTTP status" "$code" 201
	got=$(sha_of "$TOPO_DIR/www/upload/up$fam.bin")
	check_eq "IPv$fam upload: sha256 of the stored file" "$got" "$want_up"
	last=$(nginx_client ' "PUT /upload/up'$fam'.bin ')
	check_eq "IPv$fam upload: nginx saw H@" "$last" "$hostaddr"
	prim=$((p1 - p0)) sec=$((s1 - s0))
	share=$((100 * sec / (prim + sec)))
	note "IPv$fam upload: primary $prim bytes, secondary $sec bytes ($share%)"
	check_ge "IPv$fam upload: secondary carried a substantial share (%)" "$share" 20
done

# An idle connection: the MPTCP leg keeps alive on both gateways (the HAG's
# from its listener, the CPE's set on its upstream socket once the
# connection has lived a second, checked once a second), so a dead path
# shows as a subflow gone.
nsx "$NS_H" timeout 10 bash -c "exec 3<>/dev/tcp/$S4/80; sleep 5" &
idle=$!
sleep 0.5
ka_hag=0 ka_cpe=0
for _ in $(seq 30); do
	ka_hag=$(nsx "$NS_HAG" ss -tnoH state established "( sport = :80 )" | grep -F "$H4" | grep -c 'timer:(keepalive')
	ka_cpe=$(nsx "$NS_CPE" ss -tnoH state established "( dport = :80 )" | grep -F "$H4" | grep -c 'timer:(keepalive')
	[ "$ka_hag" -ge 1 ] && [ "$ka_cpe" -ge 1 ] && break
	sleep 0.1
done
check_ge "idle connection: its subflow at the HAG has a keepalive timer" "$ka_hag" 1
check_ge "idle connection: its subflow at the CPE has a keepalive timer" "$ka_cpe" 1
kill "$idle" 2>/dev/null
wait "$idle" 2>/dev/null

capture_text pri $CAP_PRI >"$TOPO_DIR/pri.txt"
capture_text sec $CAP_SEC >"$TOPO_DIR/sec.txt"
for fam in 4 6; do
	if [ $fam = 4 ]; then h=$H4 s=$S4; else h=$H6 s=$S6; fi
	check "IPv$fam: SYN with MP_CAPABLE from H@ to S@ on the primary" \
		grep -qE "IP6? $h\.[0-9]+ > $s\.80: Flags \[S\].*mptcp [0-9]+ capable" "$TOPO_DIR/pri.txt"
done
check "MP_JOIN SYN from HCPE@2 on the secondary" \
	grep -qE "IP $CPE_S4\.[0-9]+ > $HAG_S4\.9300: Flags \[S\].*mptcp [0-9]+ join" "$TOPO_DIR/sec.txt"
check_eq "no MP_JOIN on the primary" "$(grep -cE 'mptcp [0-9]+ join' "$TOPO_DIR/pri.txt")" 0

t_finish
