#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# An IPv6-only secondary network: the HAG's ADD_ADDR for an IPv6 address
# with a port takes 30 option bytes, which a subflow with TCP timestamps
# cannot fit (the kernel drops it silently). hybond blanks the timestamps of
# the MP_CAPABLE SYN at the HAG, so the announcement goes out and the CPE
# joins over IPv6 for IPv4 and IPv6 connections alike.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT

topo_up --rate1 20 --rate2 30 --sec-family 6
topo_mkfile big.bin 6
topo_start_nginx || { fail "nginx starts"; exit 1; }
topo_start_hybond || { fail "daemons log ready"; exit 1; }
topo_capture "$NS_CPE" sec0 sec "$TOPO_SYNS" || fail "capture on the secondary"
CAP=$TOPO_LAST_PID
want=$(sha_of "$TOPO_DIR/www/big.bin")

for fam in 4 6; do
	if [ $fam = 4 ]; then url=http://$S4; else url="http://[$S6]"; fi
	read -r s0 p0 < <(if_bytes "$NS_HAG" sec0 tx acc0 tx)
	nsx "$NS_H" curl -s -o "$TOPO_DIR/out$fam" --max-time 30 "$url/big.bin"
	read -r s1 p1 < <(if_bytes "$NS_HAG" sec0 tx acc0 tx)
	check_eq "IPv$fam connection over an IPv6 secondary: data intact" \
		"$(sha_of "$TOPO_DIR/out$fam")" "$want"
	share=$((100 * (s1 - s0) / (s1 - s0 + p1 - p0)))
	check_ge "IPv$fam connection: the IPv6 secondary carried a share (%)" "$share" 20
done
capture_text sec $CAP >"$TOPO_DIR/sec.txt"
check "MP_JOIN from HCPE@2 to HAG@2 over IPv6" \
	grep -qE "IP6 $CPE_S6\.[0-9]+ > $HAG_S6\.9300: Flags \[S\].*mptcp [0-9]+ join" "$TOPO_DIR/sec.txt"
# (The ADD_ADDR transmit counters exist since Linux 6.2.)
drops=$(nsx "$NS_HAG" nstat -az MPTcpExtAddAddrTxDrop | awk '/AddAddrTxDrop/ {print $2}')
sent=$(nsx "$NS_HAG" nstat -az MPTcpExtAddAddrTx | awk '/AddAddrTx / {print $2}')
if [ -n "$sent" ]; then
	check_eq "no ADD_ADDR dropped for lack of option space" "${drops:-0}" 0
	check_ge "the HAG sent its IPv6 ADD_ADDRs" "$sent" 2
else
	note "this kernel has no ADD_ADDR transmit counters; the joins above prove the announcements"
fi
stripped=$(nsx "$NS_HAG" build/hybond stats -j | jq '[.steering[].steer.syn_timestamps_stripped] | add')
check_ge "stats count the SYNs whose timestamps were blanked" "$stripped" 2

t_finish
