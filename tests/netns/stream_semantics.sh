#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# What a TCP stream means must survive the two proxies: a half-close in
# either direction lets the other direction finish, and a reset on one side
# arrives as a reset on the other. IPv4 and IPv6.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
TCPTOOL=$PWD/build/tests/tcptool

topo_up --rate1 20 --rate2 30
topo_start_hybond || { fail "daemons log ready"; exit 1; }
head -c 200000 /dev/urandom >"$TOPO_DIR/small.bin"
head -c $((3 * 1048576)) /dev/urandom >"$TOPO_DIR/large.bin"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
small=$(sha "$TOPO_DIR/small.bin") large=$(sha "$TOPO_DIR/large.bin")

# serve PORT MODE [FILE]: tcptool server in S, result in $TOPO_DIR/srv.out
serve() {
	topo_spawn "$NS_S" "$TOPO_DIR/srv.out" "$TCPTOOL" serve "$@"
	SRV=$TOPO_LAST_PID
	wait_port "$NS_S" "$1" 5
}
# Wait for the server to finish (not from a subshell: $SRV is our child).
server_done() { wait "$SRV" 2>/dev/null; SRV_OUT=$(grep -v listening "$TOPO_DIR/srv.out"); }

port=7000
for fam in 4 6; do
	if [ $fam = 4 ]; then s=$S4; else s=$S6; fi

	# Client closes its write side first; the server reads to EOF (which
	# only comes if the FIN crossed both proxies), then answers.
	port=$((port + 1))
	serve $port sink-reply "$TOPO_DIR/large.bin"
	out=$(nsx "$NS_H" "$TCPTOOL" connect "$s" $port --send "$TOPO_DIR/small.bin" --timeout 20)
	check_eq "IPv$fam client half-close: client got the whole response" \
		"$out" "eof sent=200000 received=3145728 sha256=$large"
	server_done
	check_eq "IPv$fam client half-close: server got the request and its EOF" \
		"$SRV_OUT" "eof sent=3145728 received=200000 sha256=$small"

	# Server closes its write side first while the client is still sending.
	port=$((port + 1))
	serve $port reply-sink "$TOPO_DIR/small.bin"
	out=$(nsx "$NS_H" "$TCPTOOL" connect "$s" $port --send "$TOPO_DIR/large.bin" --timeout 20)
	check_eq "IPv$fam server half-close: client got the response and EOF" \
		"$out" "eof sent=3145728 received=200000 sha256=$small"
	server_done
	check_eq "IPv$fam server half-close: server still received the whole upload" \
		"$SRV_OUT" "eof sent=200000 received=3145728 sha256=$large"

	# Server resets: the client must see a reset, not a clean end.
	port=$((port + 1))
	serve $port reset
	out=$(nsx "$NS_H" "$TCPTOOL" connect "$s" $port --send "$TOPO_DIR/small.bin" --timeout 20)
	check "IPv$fam server reset arrives as a reset at the client ($out)" \
		grep -q '^reset ' <<<"$out"
	server_done
done

t_finish
