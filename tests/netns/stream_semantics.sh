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

topo_up --rate1 20 --rate2 30
topo_start_hybond || { fail "daemons log ready"; exit 1; }
stream_files
stream_cases IPv4 "$S4" 7001
stream_cases IPv6 "$S6" 7004

t_finish
