#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# A CPE whose IPv4 LAN is private (`--nat`): its connections leave from the
# CPE's primary address instead of H@, so nothing upstream needs a route to
# the LAN. Here the HAG has none (removed), and a bonded IPv4 download and
# upload through both gateways hash equal, nginx sees the CPE's primary
# address, the MP_CAPABLE SYN on the primary comes from it (no SYN from H@
# leaks out), and the secondary carries a share. IPv6 is not translated:
# nginx still sees H@.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT

topo_up --rate1 20 --rate2 30
topo_mkfile big.bin 8
head -c $((4 * 1048576)) /dev/urandom >"$TOPO_DIR/up.bin"
# A private LAN is not routed upstream: the HAG loses its route to it (its
# default route points at S, so a reply to H@ would go there).
ip -n "$NS_HAG" route del 192.0.2.0/24
check_eq "the HAG has no route to the IPv4 LAN (its way to H@ is S's link)" \
	"$(ip -n "$NS_HAG" route get "$H4" | grep -oE 'dev [a-z0-9]+' | head -n 1)" "dev core0"
topo_start_nginx || { fail "nginx starts"; exit 1; }
CPE_ARGS=(--nat)
topo_start_hybond || { fail "daemons log ready"; exit 1; }
ok "both daemons log ready, the CPE with --nat"

topo_capture "$NS_CPE" pri0 pri "$TOPO_SYNS" || fail "capture on primary"
CAP_PRI=$TOPO_LAST_PID

want=$(sha_of "$TOPO_DIR/www/big.bin")
read -r p0 s0 < <(if_bytes "$NS_HAG" acc0 tx sec0 tx)
code=$(nsx "$NS_H" curl -s -o "$TOPO_DIR/down4" -w '%{http_code}' --max-time 30 "http://$S4/big.bin")
read -r p1 s1 < <(if_bytes "$NS_HAG" acc0 tx sec0 tx)
check_eq "IPv4 download: HTTP status" "$code" 200
check_eq "IPv4 download: sha256 of the received file" "$(sha_of "$TOPO_DIR/down4")" "$want"
check_eq "IPv4 download: nginx saw the CPE's primary address" \
	"$(nginx_client ' "GET /big.bin ')" "$CPE_P4"
prim=$((p1 - p0)) sec=$((s1 - s0))
share=$((100 * sec / (prim + sec)))
note "IPv4 download: primary $prim bytes, secondary $sec bytes ($share%)"
check_ge "IPv4 download: the secondary carried a share (%)" "$share" 20

code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
	-T "$TOPO_DIR/up.bin" "http://$S4/upload/up4.bin")
check_eq "IPv4 upload: HTTP status" "$code" 201
check_eq "IPv4 upload: sha256 of the stored file" \
	"$(sha_of "$TOPO_DIR/www/upload/up4.bin")" "$(sha_of "$TOPO_DIR/up.bin")"
check_eq "IPv4 upload: nginx saw the CPE's primary address" \
	"$(nginx_client ' "PUT /upload/up4.bin ')" "$CPE_P4"

code=$(nsx "$NS_H" curl -s -o "$TOPO_DIR/down6" -w '%{http_code}' --max-time 30 "http://[$S6]/big.bin")
check_eq "IPv6 download: HTTP status" "$code" 200
check_eq "IPv6 download: sha256 of the received file" "$(sha_of "$TOPO_DIR/down6")" "$want"
check_eq "IPv6 download: nginx saw H@ (IPv6 is not translated)" \
	"$(tail -n 1 "$TOPO_DIR/nginx/access.log" | awk '{ print $1 }')" "$H6"

capture_text pri $CAP_PRI >"$TOPO_DIR/pri.txt"
check "IPv4: SYN with MP_CAPABLE from the CPE's primary address to S@ on the primary" \
	grep -qE "IP $CPE_P4\.[0-9]+ > $S4\.80: Flags \[S\].*mptcp [0-9]+ capable" "$TOPO_DIR/pri.txt"
check_eq "IPv4: no SYN from H@ on the primary" \
	"$(grep -cE "IP $H4\.[0-9]+ > .*Flags \[S\]" "$TOPO_DIR/pri.txt")" 0
check "IPv6: SYN with MP_CAPABLE from H@ on the primary" \
	grep -qE "IP6 $H6\.[0-9]+ > $S6\.80: Flags \[S\].*mptcp [0-9]+ capable" "$TOPO_DIR/pri.txt"

t_finish
