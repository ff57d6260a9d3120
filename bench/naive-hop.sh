#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The per-connection half of the naive baseline relay (bench/lib.sh).
#
# A socat listener (TCP4-LISTEN,ip-transparent,fork) that nft tproxy feeds
# execs this script for each accepted connection, with EXEC:...,nofork: the
# accepted socket is our stdin and stdout, and socat has put the
# connection's addresses in the environment (SOCAT_SOCKADDR/SOCKPORT: the
# local address of the accepted socket, i.e. the original destination S@
# under tproxy; SOCAT_PEERADDR/PEERPORT: the host H@ and its port). We
# replace ourselves with a second socat that connects from H@:port to S@
# (IP_TRANSPARENT) and copies both ways: one process per connection.
#
#   naive-hop.sh mptcp|tcp BUFSIZE
# mptcp: the upstream socket is MPTCP (mptcpize, LD_PRELOAD of mptcpd's
# libmptcpwrap); tcp: plain TCP (LD_PRELOAD inherited from an mptcpized
# listener is dropped first).
mode=$1 buf=$2
unset LD_PRELOAD
# NAIVE_UP_OPTS / NAIVE_DOWN_OPTS (environment, for experiments): more socat
# options for the upstream and the accepted socket, e.g. nodelay.
up="TCP4:$SOCAT_SOCKADDR:$SOCAT_SOCKPORT,bind=$SOCAT_PEERADDR:$SOCAT_PEERPORT,ip-transparent,reuseaddr${NAIVE_UP_OPTS:+,$NAIVE_UP_OPTS}"
down="FD:0,shut-down${NAIVE_DOWN_OPTS:+,$NAIVE_DOWN_OPTS}"
# FD:0,shut-down: the accepted socket as one bidirectional address, shut
# down for writing (FIN, DATA_FIN) as soon as the other direction ended.
# socat's default for an FD address is to leave it alone until it exits
# (-t, 0.5 s later): that added 0.5 s per hop to every HTTP/1.0 response.
# The duplicate of the socket on fd 1 is not needed.
exec 1>&-
if [ "$mode" = mptcp ]; then
	exec mptcpize run socat -b "$buf" "$down" "$up"
fi
exec socat -b "$buf" "$down" "$up"
