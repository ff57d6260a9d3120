#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Failover: the secondary going down mid-transfer, the primary going down
# after both subflows exist, and both going down for longer than the stall
# timeout. Data must arrive intact (sha256) or, when nothing can carry it,
# both ends must see a reset and nothing may be left behind.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
HB=$PWD/build/hybond

topo_up --rate1 20 --rate2 30
topo_mkfile big.bin 40
topo_start_nginx || { fail "nginx starts"; exit 1; }
CPE_ARGS=(--bonding always --stall-timeout 4)
HAG_ARGS=(--stall-timeout 4)
topo_start_hybond || { fail "daemons log ready"; exit 1; }
want=$(sha_of "$TOPO_DIR/www/big.bin")

setlink() { # setlink primary|secondary up|down
	if [ "$1" = primary ]; then
		nsx "$NS_CPE" ip link set pri0 "$2"; nsx "$NS_HAG" ip link set acc0 "$2"
	else
		nsx "$NS_CPE" ip link set sec0 "$2"; nsx "$NS_HAG" ip link set sec0 "$2"
	fi
}
routes_back() { # veth down/up drops the routes via it: put them back
	nsx "$NS_CPE" ip route replace default via $HAG_P4 dev pri0 2>/dev/null
	nsx "$NS_CPE" ip -6 route replace default via $HAG_P6 dev pri0 2>/dev/null
	nsx "$NS_HAG" ip route replace 192.0.2.0/24 via $CPE_P4 dev acc0 2>/dev/null
	nsx "$NS_HAG" ip -6 route replace 2001:db8:1::/64 via $CPE_P6 dev acc0 2>/dev/null
}
# Rate of bytes the HAG sends on the secondary over one second.
sec_rate() {
	local a b
	a=$(if_bytes "$NS_HAG" sec0 tx); sleep 1; b=$(if_bytes "$NS_HAG" sec0 tx)
	echo $(( (b - a) * 8 / 1000000 ))
}

# 1. Secondary down for 3 s in the middle of a download.
nsx "$NS_H" curl -s -o "$TOPO_DIR/out1" --max-time 60 "http://$S4/big.bin" &
dl=$!
sleep 2
setlink secondary down
note "secondary down"
sleep 3
setlink secondary up
note "secondary up"
back=0
for i in 1 2 3 4 5 6 7 8; do
	r=$(sec_rate)
	if [ "$r" -ge 5 ]; then back=$i; break; fi
done
wait $dl
check_eq "secondary down mid-transfer: the download is intact" \
	"$(sha_of "$TOPO_DIR/out1")" "$want"
check "the secondary carries traffic again within 8 s of its return (after ${back}s)" test "$back" -gt 0

# 2. Primary down after both subflows exist.
nsx "$NS_H" curl -s -o "$TOPO_DIR/out2" --max-time 60 "http://$S4/big.bin" &
dl=$!
sleep 2
setlink primary down
note "primary down"
wait $dl
rc=$?
check_eq "primary down mid-transfer: curl finished" "$rc" 0
check_eq "primary down mid-transfer: the download is intact (over the secondary)" \
	"$(sha_of "$TOPO_DIR/out2")" "$want"
setlink primary up
routes_back

# 3. Both down longer than the stall timeout: both ends reset, nothing left.
mem0=$(anon_kib "$HAG_PID") desc0=$(mem_desc "$HAG_PID")
nsx "$NS_H" curl -s -o "$TOPO_DIR/out3" --max-time 60 "http://$S4/big.bin" &
dl=$!
sleep 2
setlink primary down
setlink secondary down
note "both links down"
t0=$(date +%s)
wait $dl
rc=$?
t1=$(date +%s)
check "both down: the host's transfer ended in an error (curl exit $rc), not a clean end" test "$rc" -ne 0
check_le "both down: the host learned it within the stall timeout plus margin (s)" $((t1 - t0)) 15
sleep 1
check_eq "both down: the CPE holds no proxied socket" \
	"$(nsx "$NS_CPE" ss -Htn state established "( sport = :80 or dport = :80 )" | wc -l)" 0
check_eq "both down: the HAG holds no proxied socket" \
	"$(nsx "$NS_HAG" ss -Htn state established "( sport = :80 or dport = :80 )" | wc -l)" 0
check_eq "both down: the server's connection was reset too" \
	"$(nsx "$NS_S" ss -Htn state established "( sport = :80 )" | wc -l)" 0
check_eq "the CPE has no active connection left" "$(nsx "$NS_CPE" "$HB" stats -j | jq .relay.active)" 0
check_eq "the HAG has no active connection left" "$(nsx "$NS_HAG" "$HB" stats -j | jq .relay.active)" 0
mem1=$(anon_kib "$HAG_PID")
note "HAG memory before: $desc0; after: $(mem_desc "$HAG_PID")"
check_le "the HAG's anonymous memory came back (KiB, within 1 MiB of before)" "$mem1" $((mem0 + 1024))

t_finish
