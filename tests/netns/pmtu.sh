#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Path MTU discovery through the gateways. A server F sits one router (S)
# behind the HAG, and S's routes to F and back to the LAN carry a smaller
# MTU than every link (1400 bytes for IPv4, 1280 for IPv6), as a tunnel on
# the server's side of the Internet would. The HAG's connection to F
# leaves from H@ and sends full-sized segments; S answers them with ICMP
# "fragmentation needed" / "packet too big" addressed to H@. That error
# must reach the HAG's own socket (which then sends smaller segments), not
# be routed on to the host, whose kernel would ignore it: the upload would
# stall for good. Checked: an upload and a download through both gateways
# hash equal, IPv4 and IPv6; S sent the errors; the HAG's kernel holds the
# smaller path MTU toward F.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
[ -x "$TCPTOOL" ] || { echo "pmtu: $TCPTOOL missing (make build/tests/tcptool)" >&2; exit 2; }

NS_F=$TOPO_ID-f
F4=203.0.113.200 F6=2001:db8:6::10
S_F4=203.0.113.193 S_F6=2001:db8:6::1
MTU4=1400 MTU6=1280

topo_up
# F behind S. topo_down deletes every namespace in TOPO_NS.
TOPO_NS="$TOPO_NS $NS_F"
ip netns add "$NS_F"
nsx "$NS_F" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
nsx "$NS_S" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip link add f0 netns "$NS_S" type veth peer name eth0 netns "$NS_F"
# S's links are 1500 bytes; only its routes are narrower. F's own link is
# 1500 too, so F offers a full MSS and nothing but the ICMP errors can
# tell a sender to send less.
ip -n "$NS_S" -batch - <<EOF
link set f0 up
addr add $S_F4/26 dev f0
addr add $S_F6/64 dev f0 nodad
route add $F4/32 dev f0 mtu $MTU4
route add $F6/128 dev f0 mtu $MTU6
route add 192.0.2.0/24 via $HAG_C4 dev eth0 mtu $MTU4
route add 2001:db8:1::/64 via $HAG_C6 dev eth0 mtu $MTU6
EOF
ip -n "$NS_F" -batch - <<EOF
link set lo up
link set eth0 up
addr add $F4/26 dev eth0
addr add $F6/64 dev eth0 nodad
route add default via $S_F4
route add default via $S_F6
EOF
# The HAG's core link holds 203.0.113.0/24: F's address goes via S.
ip -n "$NS_HAG" route add "$F4/32" via "$S4" dev core0

stream_files
topo_start_hybond || { fail "daemons log ready"; exit 1; }
ok "both daemons log ready"
nstat_s() { nsx "$NS_S" nstat -az "$1" | awk -v c="$1" '$1 == c { print $2 }'; }

# serve_f PORT MODE FILE: a tcptool server in F (one connection).
serve_f() {
	topo_spawn "$NS_F" "$TOPO_DIR/srv.out" "$TCPTOOL" serve "$@"
	SRV=$TOPO_LAST_PID
	wait_port "$NS_F" "$1" 5
}

for fam in 4 6; do
	if [ $fam = 4 ]; then f=$F4 mtu=$MTU4 ctr=IcmpOutDestUnreachs; else f=$F6 mtu=$MTU6 ctr=Icmp6OutPktTooBigs; fi
	port=$((7000 + fam * 10))
	icmp0=$(nstat_s $ctr)

	# Upload: the HAG's segments toward F meet S's narrow route.
	serve_f $port sink-reply "$TOPO_DIR/small.bin"
	out=$(nsx "$NS_H" "$TCPTOOL" connect "$f" $port --send "$TOPO_DIR/large.bin" --timeout 20)
	check_eq "IPv$fam upload of 3 MiB: the host got the reply and a clean end" \
		"$out" "eof sent=3145728 received=200000 sha256=$STREAM_SMALL"
	stream_served
	check_eq "IPv$fam upload: F received the whole upload" \
		"$SRV_OUT" "eof sent=200000 received=3145728 sha256=$STREAM_LARGE"
	icmp1=$(nstat_s $ctr)
	check_ge "IPv$fam: S told H@ the path is narrower ($ctr)" $((icmp1 - icmp0)) 1
	# The kernel keeps a learnt path MTU as an exception on the route.
	route=$(ip -n "$NS_HAG" -$fam route get "$f" 2>&1)
	note "HAG: ip route get $f: $(tr -s ' \n' ' ' <<<"$route")"
	check "IPv$fam: the HAG's kernel holds path MTU $mtu toward F" \
		grep -qE "mtu $mtu\b" <<<"$route"

	# Download: F's segments toward H@ meet S's narrow route back; F is
	# told, and the proxies carry on as before.
	serve_f $((port + 1)) reply-sink "$TOPO_DIR/large.bin"
	out=$(nsx "$NS_H" "$TCPTOOL" connect "$f" $((port + 1)) --send "$TOPO_DIR/small.bin" --timeout 20)
	check_eq "IPv$fam download of 3 MiB: the host got it whole" \
		"$out" "eof sent=200000 received=3145728 sha256=$STREAM_LARGE"
	stream_served
	check_eq "IPv$fam download: F got the request and its end" \
		"$SRV_OUT" "eof sent=3145728 received=200000 sha256=$STREAM_SMALL"
done

t_finish
