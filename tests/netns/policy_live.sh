#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Map-driven policy: a rule that bypasses one port keeps that port's
# connections off MPTCP while the other port is bonded; `hybond policy
# apply` flips it live while a long bonded transfer keeps running intact;
# a bad file is refused and changes nothing; an operator's bpftool edit of
# a pinned rule takes effect. Before the daemons start, `hybond policy
# check` (nothing running needed) on the shipped example and a bad file.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
HB=$PWD/build/hybond

topo_up --rate1 20 --rate2 30
topo_mkfile small.bin 1
topo_mkfile long.bin 24
topo_start_nginx || { fail "nginx starts"; exit 1; }
cat >"$TOPO_DIR/a.policy" <<'POL'
# bond everything but port 8080
default bond
bypass port 8080
POL
cat >"$TOPO_DIR/b.policy" <<'POL'
default bond
bypass port 80
POL
printf 'default bond\nbypass port 80-\n' >"$TOPO_DIR/bad.policy"
chmod 600 "$TOPO_DIR"/*.policy

# `policy check`, with no daemon running yet: the shipped example prints
# as policy/README.md (Output) shows it, a bad file is refused as it
# says (Errors).
out=$("$HB" policy check policy/cpe.policy)
check_eq "policy check of the shipped example: exit status 0" "$?" 0
check "its first line says it is good ($(head -n 1 <<<"$out"))" \
	grep -q '^policy/cpe.policy: ok, 5 rules, default bond' <<<"$(head -n 1 <<<"$out")"
doc=$(awk '/^`hybond policy check policy\/cpe.policy` prints/ { s = 1 }
	s && /^    / { sub(/^    /, ""); print; p = 1; next }
	p { exit }' policy/README.md)
check "policy/README.md shows the rendering (Output)" test -n "$doc"
check_eq "the rules as policy/README.md shows them (in the order tried, lines)" \
	"$(tail -n +2 <<<"$out")" "$doc"
check_eq "policy check -j: the rules, the first tried from line 20" \
	"$("$HB" policy check -j policy/cpe.policy | jq -c '[(.rules | length), .rules[0].line]')" "[5,20]"
out=$("$HB" policy check "$TOPO_DIR/bad.policy" 2>&1)
check_eq "policy check of a bad file: exit status 1" "$?" 1
check "the error names file, line, column, cause and fix ($out)" \
	grep -qF "bad.policy:2:13: unknown port range '80-'; expected N or N-M" <<<"$out"
check_eq "policy check -j of a bad file: the error as JSON" \
	"$("$HB" policy check -j "$TOPO_DIR/bad.policy" | jq -r '.error | test("bad.policy:2:13: unknown port range")')" true
out=$("$HB" policy check "$TOPO_DIR/none.policy" 2>&1)
check_eq "policy check of a missing file: exit status 1" "$?" 1
check "the error names the file and the cause ($out)" \
	grep -q "none.policy: No such file or directory" <<<"$out"

CPE_ARGS=(--policy "$TOPO_DIR/a.policy")
topo_start_hybond || { fail "daemons log ready"; exit 1; }

# Which of two requests went out with MP_CAPABLE? A capture on the primary.
# probe PORT -> prints "mptcp" or "plain" for the SYN of one curl to S.
probe() {
	local port=$1 cap out
	topo_capture "$NS_CPE" pri0 "probe$port" tcp dst port "$port" || return 1
	cap=$TOPO_LAST_PID
	out=$(nsx "$NS_H" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$S4:$port/small.bin")
	capture_text "probe$port" "$cap" >"$TOPO_DIR/probe$port.txt"
	[ "$out" = 200 ] || { echo "http-$out"; return; }
	if grep -qE "Flags \[S\].*mptcp [0-9]+ capable" "$TOPO_DIR/probe$port.txt"; then
		echo mptcp
	elif grep -qE "Flags \[S\]," "$TOPO_DIR/probe$port.txt"; then
		echo plain
	else
		echo none
	fi
}

check_eq "policy a: port 80 is bonded (MP_CAPABLE on the primary)" "$(probe 80)" mptcp
check_eq "policy a: port 8080 is bypassed (plain TCP from H@ on the primary)" "$(probe 8080)" plain
last=$(nginx_client ' "GET /small.bin ')
check_eq "bypassed connection reached S from H@" "$last" "$H4"
out=$(nsx "$NS_CPE" "$HB" policy show)
check "policy show prints the rule in force" grep -q "bypass port 8080" <<<"$out"
check_eq "policy show -j: default" "$(nsx "$NS_CPE" "$HB" policy show -j | jq -r .default)" bond

# A long bonded transfer on port 80 while the policy flips under it.
want=$(sha_of "$TOPO_DIR/www/long.bin")
nsx "$NS_H" curl -s -o "$TOPO_DIR/long.out" --max-time 60 "http://$S4/long.bin" &
long=$!
sleep 1
out=$(nsx "$NS_CPE" "$HB" policy apply "$TOPO_DIR/bad.policy" 2>&1)
rc=$?
check_eq "a bad policy is refused with exit status 1" "$rc" 1
check "the error names file, line and column ($out)" grep -q "bad.policy:2:" <<<"$out"
check "the previous policy stays in force" \
	grep -q "bypass port 8080" <<<"$(nsx "$NS_CPE" "$HB" policy show)"
out=$(nsx "$NS_CPE" "$HB" policy apply "$TOPO_DIR/b.policy")
check_eq "policy b applied while the transfer runs" "$?" 0
note "$out"
check_eq "policy b: port 80 now bypassed" "$(probe 80)" plain
check_eq "policy b: port 8080 now bonded" "$(probe 8080)" mptcp
wait $long
check_eq "the long bonded transfer finished intact across the flip" \
	"$(sha_of "$TOPO_DIR/long.out")" "$want"

# An operator edits the pinned rule with bpftool: bypass port 80 -> bond.
pin=/sys/fs/bpf/hybond/cpe
bank=$(nsenter -t "$CPE_PID" -m bpftool map dump pinned $pin/hybond_cfg -j | jq '.[0].formatted.value.policy / 2147483648 | floor')
slot=$((bank * 256))
rule=$(nsenter -t "$CPE_PID" -m bpftool map lookup pinned $pin/hybond_rules key $((slot & 255)) $((slot >> 8)) 0 0 -j)
check_eq "the rule in force is readable with bpftool (BTF)" "$(jq -r '.formatted.value.port_lo' <<<"$rule")" 80
bytes=$(jq -r '.formatted.value | [.family, 0, .src_len, .dst_len] | map(tostring) | join(" ")' <<<"$rule")
check "bpftool map update changes the action to bond" \
	nsenter -t "$CPE_PID" -m bpftool map update pinned $pin/hybond_rules \
	key $((slot & 255)) $((slot >> 8)) 0 0 value $bytes 80 0 80 0 \
	0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
check_eq "after the bpftool edit port 80 is bonded again" "$(probe 80)" mptcp
check "policy show reflects the edit" grep -q "bond port 80" <<<"$(nsx "$NS_CPE" "$HB" policy show)"

t_finish
