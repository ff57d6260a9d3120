#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Path MTU discovery through the gateways: a hop narrower than every link
# answers full-sized segments with ICMP "fragmentation needed" / ICMPv6
# "packet too big" (1400 bytes for IPv4, 1280 for IPv6), addressed to the
# segment's source. A gateway's sockets send from addresses not their own
# (H@ upstream of the HAG, H@ and S@ on the primary), so the error is
# addressed to the host or the server; it must reach the gateway's own
# socket (which then sends smaller segments), not be routed on to an end
# whose kernel would ignore it: the transfer would stall for good.
#  1. Beyond the HAG: a server F one router (S) behind it, S's routes to F
#     and back to the LAN narrow (a tunnel on the server's side).
#  2. On the primary: a router R between the CPE and the HAG (the primary
#     link cut in two, R answering ARP/ND for both ends so that neither
#     gateway's configuration changes), its routes narrowed after phase 1
#     (a DSL access network's PPPoE hop, behind a 1500-byte CPE link). The
#     CPE makes no second subflow here, so the primary subflow must carry
#     the data itself.
# Checked in each: an upload and a download hash equal, IPv4 and IPv6; the
# router sent the errors; the gateway's kernel holds the smaller path MTU.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
[ -x "$TCPTOOL" ] || { echo "pmtu: $TCPTOOL missing (make build/tests/tcptool)" >&2; exit 2; }

NS_F=$TOPO_ID-f NS_R=$TOPO_ID-r
F4=203.0.113.200 F6=2001:db8:6::10
S_F4=203.0.113.193 S_F6=2001:db8:6::1
R4=198.51.100.3 R6=2001:db8:a1::3
MTU4=1400 MTU6=1280

topo_up
# topo_down deletes every namespace in TOPO_NS.
TOPO_NS="$TOPO_NS $NS_F $NS_R"
ip netns add "$NS_F"
ip netns add "$NS_R"
for ns in "$NS_F" "$NS_R"; do
	nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
for ns in "$NS_S" "$NS_R"; do
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
done

# F behind S. S's links are 1500 bytes; only its routes are narrower.
# F's own link is 1500 too, so F offers a full MSS and nothing but the
# ICMP errors can tell a sender to send less.
ip link add f0 netns "$NS_S" type veth peer name eth0 netns "$NS_F"
ip -n "$NS_S" -batch - <<-EOF
	link set f0 up
	addr add $S_F4/26 dev f0
	addr add $S_F6/64 dev f0 nodad
	route add $F4/32 dev f0 mtu $MTU4
	route add $F6/128 dev f0 mtu $MTU6
	route add 192.0.2.0/24 via $HAG_C4 dev eth0 mtu $MTU4
	route add 2001:db8:1::/64 via $HAG_C6 dev eth0 mtu $MTU6
EOF
ip -n "$NS_F" -batch - <<-EOF
	link set lo up
	link set eth0 up
	addr add $F4/26 dev eth0
	addr add $F6/64 dev eth0 nodad
	route add default via $S_F4
	route add default via $S_F6
EOF
# The HAG's core link holds 203.0.113.0/24: F's address goes via S.
ip -n "$NS_HAG" route add "$F4/32" via "$S4" dev core0

# R on the primary: the CPE's pri0 and the HAG's acc0 keep their addresses
# and routes, now on links to R, which answers ARP and neighbour
# solicitations for the other end (at once: proxy_delay 0) and routes
# between them. Its own addresses are the source of its ICMP errors.
ip -n "$NS_CPE" link del pri0
ip -batch - <<-EOF
	link add pri0 netns $NS_CPE type veth peer name r0 netns $NS_R
	link add acc0 netns $NS_HAG type veth peer name r1 netns $NS_R
EOF
for ifc in r0 r1; do
	nsx "$NS_R" sysctl -qw net.ipv4.conf.$ifc.proxy_arp=1 net.ipv6.conf.$ifc.proxy_ndp=1 \
		net.ipv4.neigh.$ifc.proxy_delay=0 net.ipv6.neigh.$ifc.proxy_delay=0
done
ip -n "$NS_R" -batch - <<-EOF
	link set lo up
	link set r0 up
	link set r1 up
	addr add $R4/32 dev r0
	addr add $R6/128 dev r0 nodad
	route add $CPE_P4/32 dev r0
	route add $HAG_P4/32 dev r1
	route add $CPE_P6/128 dev r0
	route add $HAG_P6/128 dev r1
	route add 192.0.2.0/24 via $CPE_P4 dev r0
	route add 2001:db8:1::/64 via $CPE_P6 dev r0
	route add default via $HAG_P4 dev r1
	route add default via $HAG_P6 dev r1
	neigh add proxy $HAG_P6 dev r0
	neigh add proxy $CPE_P6 dev r1
EOF
ip -n "$NS_CPE" -batch - <<-EOF
	link set pri0 up
	addr add $CPE_P4/25 dev pri0
	addr add $CPE_P6/64 dev pri0 nodad
	route add default via $HAG_P4 dev pri0
	route add default via $HAG_P6 dev pri0
EOF
ip -n "$NS_HAG" -batch - <<-EOF
	link set acc0 up
	addr add $HAG_P4/25 dev acc0
	addr add $HAG_P6/64 dev acc0 nodad
	route add 192.0.2.0/24 via $CPE_P4 dev acc0
	route add 2001:db8:1::/64 via $CPE_P6 dev acc0
EOF

stream_files
# No second subflow: the primary's must carry phase 2 itself.
CPE_ARGS=(--max-subflows 0)
topo_start_hybond || { fail "daemons log ready"; exit 1; }
ok "both daemons log ready (the primary through R)"

# ICMP errors a namespace sent: IPv4 unreachables, or IPv6 packet too big.
# icmp_out NS 4|6
icmp_out() {
	local c=IcmpOutDestUnreachs
	[ "$2" = 6 ] && c=Icmp6OutPktTooBigs
	nsx "$1" nstat -az "$c" | awk -v c="$c" '$1 == c { print $2 }'
}

# transfers LABEL NS_SRV ADDR PORT: a 3 MiB upload (to PORT), then a 3 MiB
# download (PORT+1), from H to a tcptool server in NS_SRV; both ends must
# see the whole stream and a clean end.
transfers() {
	local label=$1 a=$3 port=$4 out small="200000 sha256=$STREAM_SMALL" large="3145728 sha256=$STREAM_LARGE"
	local SRV_NS=$2

	stream_serve "$port" sink-reply "$TOPO_DIR/small.bin"
	out=$(nsx "$NS_H" "$TCPTOOL" connect "$a" "$port" --send "$TOPO_DIR/large.bin" --timeout 20)
	stream_served
	check_eq "$label upload: the host got the reply whole and a clean end" \
		"$out" "eof sent=3145728 received=$small"
	check_eq "$label upload: the server got the upload whole and its end" \
		"$SRV_OUT" "eof sent=200000 received=$large"

	port=$((port + 1))
	stream_serve "$port" reply-sink "$TOPO_DIR/large.bin"
	out=$(nsx "$NS_H" "$TCPTOOL" connect "$a" "$port" --send "$TOPO_DIR/small.bin" --timeout 20)
	stream_served
	check_eq "$label download: the host got it whole and a clean end" \
		"$out" "eof sent=200000 received=$large"
	check_eq "$label download: the server got the request whole and its end" \
		"$SRV_OUT" "eof sent=3145728 received=$small"
}

# holds_mtu LABEL NS ADDR MTU: the kernel of NS keeps a learnt path MTU
# toward ADDR (an exception on the route, which `ip route get` shows).
holds_mtu() {
	local route
	route=$(ip -n "$2" route get "$3" 2>&1)
	note "$1: ip route get $3: $(tr -s ' \n' ' ' <<<"$route")"
	check "$1: path MTU $4 toward $3" grep -qE "mtu $4\b" <<<"$route"
}

# Phase 1: beyond the HAG. The upload's segments from the HAG meet S's
# narrow route to F; the download's from F meet S's narrow route back.
for fam in 4 6; do
	if [ $fam = 4 ]; then f=$F4 mtu=$MTU4; else f=$F6 mtu=$MTU6; fi
	icmp0=$(icmp_out "$NS_S" $fam)
	transfers "beyond the HAG, IPv$fam:" "$NS_F" "$f" $((7000 + fam * 10))
	check_ge "beyond the HAG, IPv$fam: S sent ICMP errors" $(($(icmp_out "$NS_S" $fam) - icmp0)) 1
	holds_mtu "beyond the HAG, IPv$fam: the HAG's kernel" "$NS_HAG" "$f" "$mtu"
done

# Phase 2: on the primary. The upload's segments from the CPE (H@ -> S@)
# and the download's from the HAG (S@ -> H@) meet R's narrow routes.
ip -n "$NS_R" -batch - <<-EOF
	route change $CPE_P4/32 dev r0 mtu $MTU4
	route change $HAG_P4/32 dev r1 mtu $MTU4
	route change $CPE_P6/128 dev r0 mtu $MTU6
	route change $HAG_P6/128 dev r1 mtu $MTU6
	route change 192.0.2.0/24 via $CPE_P4 dev r0 mtu $MTU4
	route change 2001:db8:1::/64 via $CPE_P6 dev r0 mtu $MTU6
	route change default via $HAG_P4 dev r1 mtu $MTU4
	route change default via $HAG_P6 dev r1 mtu $MTU6
EOF
for fam in 4 6; do
	if [ $fam = 4 ]; then s=$S4 h=$H4 mtu=$MTU4; else s=$S6 h=$H6 mtu=$MTU6; fi
	icmp0=$(icmp_out "$NS_R" $fam)
	transfers "on the primary, IPv$fam:" "$NS_S" "$s" $((7100 + fam * 10))
	# One error to each gateway at least: the upload's and the download's.
	check_ge "on the primary, IPv$fam: R sent ICMP errors" $(($(icmp_out "$NS_R" $fam) - icmp0)) 2
	holds_mtu "on the primary, IPv$fam: the CPE's kernel" "$NS_CPE" "$s" "$mtu"
	holds_mtu "on the primary, IPv$fam: the HAG's kernel" "$NS_HAG" "$h" "$mtu"
done

t_finish
