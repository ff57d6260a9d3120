#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The daemon options no other test sets, each checked where an operator
# would look. The CPE: --name edge, --workers 3, --buffer-size 4096 (every
# byte through 4 KiB buffers: the relay's partial reads and writes), a pin
# root of its own and --rule-pref 200. The HAG: --no-pin, --no-guard, -v.
# Bonded transfers still hash equal; then a pin root that is not a BPF file
# system is refused with a message that names it and the fix, and leaves
# nothing behind.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
HB=$PWD/build/hybond

topo_up --rate1 20 --rate2 30
topo_mkfile big.bin 8
head -c $((6 * 1048576)) /dev/urandom >"$TOPO_DIR/up.bin"
topo_start_nginx || { fail "nginx starts"; exit 1; }
PIN=/sys/fs/bpf/hbtest
CPE_ARGS=(--name edge --workers 3 --buffer-size 4096 --pin-root "$PIN" --rule-pref 200)
HAG_ARGS=(--no-pin --no-guard -v)
topo_start_hybond || { fail "daemons log ready"; exit 1; }
ok "both daemons log ready (CPE ${CPE_ARGS[*]}; HAG ${HAG_ARGS[*]})"

# Bonded transfers through 4 KiB buffers.
read -r s0 < <(if_bytes "$NS_CPE" sec0 rx)
code=$(nsx "$NS_H" curl -s -o "$TOPO_DIR/down" -w '%{http_code}' --max-time 30 "http://$S4/big.bin")
read -r s1 < <(if_bytes "$NS_CPE" sec0 rx)
check_eq "download: HTTP status" "$code" 200
check_eq "download: sha256 of the received file" "$(sha_of "$TOPO_DIR/down")" "$(sha_of "$TOPO_DIR/www/big.bin")"
check_eq "download: nginx saw H@" "$(nginx_client ' "GET /big.bin ')" "$H4"
check_ge "download: the secondary carried bytes" $((s1 - s0)) 1000000
code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
	-T "$TOPO_DIR/up.bin" "http://[$S6]/upload/up.bin")
check_eq "IPv6 upload: HTTP status" "$code" 201
check_eq "IPv6 upload: sha256 of the stored file" \
	"$(sha_of "$TOPO_DIR/www/upload/up.bin")" "$(sha_of "$TOPO_DIR/up.bin")"

# --workers 3: three relay threads; --name edge: stats answer to that name.
check_eq "CPE --workers 3: relay threads" \
	"$(cat /proc/"$CPE_PID"/task/*/comm | grep -c '^hybond-w')" 3
check_eq "CPE --name edge: hybond stats --name edge answers" \
	"$(nsx "$NS_CPE" "$HB" stats -j --name edge | jq -r '.relay.accepted >= 2')" true
check_eq "CPE --name edge: hybond stats without --name finds the one instance" \
	"$(nsx "$NS_CPE" "$HB" stats -j | jq -r '.relay.accepted >= 2')" true
out=$(nsx "$NS_CPE" "$HB" stats --name other 2>&1)
check_eq "CPE --name edge: hybond stats --name other fails" "$?" 1
check "... saying none by that name runs here ($out)" grep -q "no hybond instance named 'other'" <<<"$out"
# --pin-root: the pins under it, by name.
pins=$(nsenter -t "$CPE_PID" -m ls "$PIN/edge" 2>&1 | tr '\n' ' ')
note "CPE pins in $PIN/edge: $pins"
for p in hybond_steer hybond_return hybond_cfg hybond_stats hybond_rules; do
	check "CPE --pin-root: $p pinned under $PIN/edge" grep -qw "$p" <<<"$pins"
done
check "CPE --pin-root: bpftool reads the pinned config" \
	nsenter -t "$CPE_PID" -m bpftool map dump pinned "$PIN/edge/hybond_cfg"
# --rule-pref 200: the fwmark rules at that preference.
check_eq "CPE --rule-pref 200: IPv4 fwmark rule at 200" \
	"$(nsx "$NS_CPE" ip rule show | grep fwmark | cut -d: -f1)" 200
check_eq "CPE --rule-pref 200: IPv6 fwmark rule at 200" \
	"$(nsx "$NS_CPE" ip -6 rule show | grep fwmark | cut -d: -f1)" 200
# The HAG: no pins, no XDP guard, debug lines.
check_eq "HAG --no-pin: nothing pinned" \
	"$(nsenter -t "$HAG_PID" -m sh -c 'ls /sys/fs/bpf/hybond 2>/dev/null' | wc -w)" 0
check_eq "HAG --no-guard: no XDP program on its secondary" \
	"$(nsx "$NS_HAG" ip -d link show sec0 | grep -c 'prog/xdp')" 0
check "HAG -v: debug lines in its log" grep -q "debug:" "$TOPO_DIR/hag.log"
check_eq "CPE without -v: no debug line" "$(grep -c "debug:" "$TOPO_DIR/cpe.log")" 0

check "SIGTERM stops the CPE" stop_pid "$CPE_PID"
check_eq "after it: no fwmark rule left" "$(nsx "$NS_CPE" ip rule show | grep -c fwmark)" 0

# A pin root on no BPF file system: refused, named, nothing left behind.
out=$(nsx "$NS_CPE" timeout 20 "$HB" cpe --lan lan0 --primary pri0 --secondary sec0 \
	--pin-root "$TOPO_DIR/pins" 2>&1)
rc=$?
note "a pin root in $TOPO_DIR/pins: exit $rc: $(grep -m1 -E 'error|pin root' <<<"$out")"
check_eq "a pin root on no bpffs: exit status 1" "$rc" 1
check "the error names the directory, the cause and the fix" \
	grep -qF "pin root $TOPO_DIR/pins: not on a bpffs; mount one (mount -t bpf bpf DIR) or use --no-pin" <<<"$out"
check_eq "it left no tc filter on lan0" "$(nsx "$NS_CPE" tc filter show dev lan0 ingress)" ""
check_eq "it left no fwmark rule" "$(nsx "$NS_CPE" ip rule show | grep -c fwmark)" 0
code=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$S4/big.bin")
check_eq "plain routing works afterwards (HTTP status)" "$code" 200

t_finish
