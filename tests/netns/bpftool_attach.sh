#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The README's "bpftool and tc without the daemon", run as written: with no
# hybond daemon anywhere, the stock tools load the steering programs, set
# their configuration and attach them at the CPE, and a transparent
# listener of our own (tcptool on port 12345, as the example says) gets the
# LAN host's connection to a server port where nothing listens, from H@ to
# S@ unchanged. Taken off again with tc, the connection is refused as
# before. The commands come from the README itself (its interface names
# lan0 and wan0 are this testbed's lan0 and pri0), so the test fails when
# the README's example stops working.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT

OBJ=build/bpf/tc_steer.bpf.o
for f in "$TCPTOOL" "$OBJ"; do
	[ -e "$f" ] || { fail "$f is built (make all build/tests/tcptool)"; exit 1; }
done

# The example: from its `bpftool prog loadall` line to its last `ip -6
# rule`, continuation lines joined.
example=$(awk '/^## bpftool and tc without the daemon/ { s = 1 }
	s && /^    bpftool prog loadall/ { c = 1 }
	c && /^    / { sub(/^    /, ""); print }
	c && /^    ip -6 rule/ { exit }' README.md | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
check "the README has the example (bpftool prog loadall ... ip -6 rule)" \
	test "$(grep -c '^bpftool prog loadall\|^ip -6 rule' <<<"$example")" = 2
example=${example//wan0/pri0}
note "the README's commands, run in the CPE's namespace:"
while IFS= read -r l; do note "  $l"; done <<<"$example"

topo_up
head -c 200000 /dev/urandom >"$TOPO_DIR/reply.bin"
head -c 3000 /dev/urandom >"$TOPO_DIR/request.bin"

# H -> S@:80 (IPv4 or IPv6), nothing listening there (no nginx here).
connect() { # ADDR
	nsx "$NS_H" "$TCPTOOL" connect "$1" 80 --send "$TOPO_DIR/request.bin" --timeout 5
}
for s in "$S4" "$S6"; do
	check_eq "before: H's connection to $s port 80 is refused (nothing listens)" \
		"$(connect "$s")" "error ECONNREFUSED"
done

# `ip netns exec` gives each command a fresh /sys without a BPF file
# system: mount one where the README's paths expect it, in the same shell
# (the pins go with that mount; tc keeps the programs it attached).
out=$(nsx "$NS_CPE" sh -ec "mount -t bpf bpf /sys/fs/bpf; cd '$PWD'; $example" 2>&1)
rc=$?
check_eq "the README's commands succeed (exit status)" "$rc" 0
[ "$rc" = 0 ] || note "$out"
check "tc shows hybond_steer on lan0's ingress" \
	grep -q "hybond_steer" <<<"$(nsx "$NS_CPE" tc filter show dev lan0 ingress)"
check "tc shows hybond_return on pri0's ingress" \
	grep -q "hybond_return" <<<"$(nsx "$NS_CPE" tc filter show dev pri0 ingress)"

# Our own transparent proxy: one connection each, answered with reply.bin.
for fam in 4 6; do
	if [ $fam = 4 ]; then h=$H4 s=$S4; else h=$H6 s=$S6; fi
	topo_spawn "$NS_CPE" "$TOPO_DIR/proxy$fam.out" "$TCPTOOL" serve 12345 \
		sink-reply "$TOPO_DIR/reply.bin" --addresses --transparent
	proxy=$TOPO_LAST_PID
	wait_port "$NS_CPE" 12345 5 || fail "IPv$fam: the listener on port 12345 starts"
	res=$(connect "$s")
	wait "$proxy" 2>/dev/null
	note "IPv$fam: H: $res; the listener: $(tr '\n' ';' <"$TOPO_DIR/proxy$fam.out")"
	check_eq "IPv$fam: H got the listener's reply (size, sha256)" \
		"$(grep -oE 'received=[0-9]+ sha256=[0-9a-f]+' <<<"$res")" \
		"received=200000 sha256=$(sha_of "$TOPO_DIR/reply.bin")"
	check_eq "IPv$fam: the listener got the whole request (size, sha256)" \
		"$(grep -oE 'received=[0-9]+ sha256=[0-9a-f]+' "$TOPO_DIR/proxy$fam.out")" \
		"received=3000 sha256=$(sha_of "$TOPO_DIR/request.bin")"
	check_eq "IPv$fam: the listener saw H@ and the original destination S@ port 80" \
		"$(awk '/^accepted/ { print $3, $6, $7 }' "$TOPO_DIR/proxy$fam.out")" "$h $s 80"
done

# The program's own count: one SYN steered per family. Its map is found
# from the filter tc attached (program id, its maps, the one named
# hybond_stats: names are not unique on a machine that runs hybond too), at
# hybond_stat_idx(HYBOND_DIR_STEER, family, HYBOND_CTR_SYN_STEERED).
ctr_index() { # NAME: its value in enum hybond_ctr
	awk -v name="$1" '/^enum hybond_ctr/ { e = 1; n = 0; next }
		e && $1 ~ /^HYBOND_CTR_/ { sub(/,$/, "", $1); if ($1 == name) { print n; exit } n++ }' include/hybond_abi.h
}
ctr=$(ctr_index HYBOND_CTR_SYN_STEERED) nctr=$(ctr_index HYBOND_CTR_MAX)
prog=$(nsx "$NS_CPE" tc filter show dev lan0 ingress | grep -oE 'hybond_steer.* id [0-9]+' | grep -oE '[0-9]+$')
map=
for id in $(bpftool prog show id "${prog:-0}" -j 2>/dev/null | jq -r '.map_ids[]?'); do
	[ "$(bpftool map show id "$id" -j | jq -r .name)" = hybond_stats ] && map=$id
done
check "the attached program's hybond_stats map is found (program id ${prog:-none}, map id ${map:-none})" test -n "$map"
dump=$(bpftool map dump id "${map:-0}" -j 2>/dev/null)
for fam in 0 1; do
	steered=$(jq --argjson k $((fam * nctr + ctr)) \
		'[.[] | select(.formatted.key == $k) | .formatted.values[].value] | add' <<<"$dump")
	check_eq "hybond_stats (bpftool): IPv$((fam ? 6 : 4)) SYNs steered" "$steered" 1
done

# Off again with the stock tools: refused as before.
nsx "$NS_CPE" tc filter del dev lan0 ingress
check_eq "after tc filter del: refused again" "$(connect "$S4")" "error ECONNREFUSED"

t_finish
