#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Realistic access networks (needs netem: runs in the vmtest guests; on a
# kernel without netem it says so and skips, and fails when
# HYBOND_REQUIRE_NETEM=1, as CI's vmtest sets):
#   dsl+lte      primary 20 Mbit/s, 10 ms one-way; secondary 30 Mbit/s,
#                30 ms one-way, 5 ms jitter, 0.5% loss
#   lossy-dsl    the same with 1% loss on the primary
# Bonded goodput down and up against the sum of the link rates (the figure
# is printed against the 85% target; the test fails only when, in three
# tries, the secondary adds less than 6 Mbit/s to the primary's 20: a
# timed threshold near the measurement flaked in the guests, 60-92% from
# run to run; and one TCP flow cannot fill the secondary, 0.5% loss at
# 60 ms, by the usual loss-rate estimate, so "above the faster link alone"
# failed on 6.1 at 31 Mbit/s), and the time
# to first byte of a small HTTP request through the proxies
# against the direct path.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT

netem_or_skip || { t_finish; exit $?; }

ttfb_ms() { # median of 9 curl time_starttransfer, milliseconds
	local i
	for i in 1 2 3 4 5 6 7 8 9; do
		nsx "$NS_H" curl -s -o /dev/null -w '%{time_starttransfer}\n' --max-time 10 "http://$S4/1k"
	done | sort -n | awk 'NR == 5 { printf "%.1f", $1 * 1000 }'
}

for scenario in dsl+lte lossy-dsl; do
	topo_up
	mkdir -p "$TOPO_DIR/www"
	head -c 1024 /dev/urandom >"$TOPO_DIR/www/1k"
	ploss=""
	[ $scenario = lossy-dsl ] && ploss="loss 1%"
	for end in "$NS_CPE pri0" "$NS_HAG acc0"; do
		topo_netem $end rate 20mbit delay 10ms $ploss
	done
	for end in "$NS_CPE sec0" "$NS_HAG sec0"; do
		topo_netem $end rate 30mbit delay 30ms 5ms loss 0.5%
	done
	topo_start_nginx || { fail "$scenario: nginx starts"; break; }
	direct=$(ttfb_ms)
	topo_start_hybond || { fail "$scenario: daemons log ready"; break; }
	proxied=$(ttfb_ms)
	note "$scenario: time to first byte, 1 KiB over HTTP: direct $direct ms, through both gateways $proxied ms"
	topo_spawn "$NS_S" "$TOPO_DIR/iperf3.log" iperf3 -s -p 5201
	wait_port "$NS_S" 5201 5
	floor=26; [ $scenario = lossy-dsl ] && floor=21
	for dir in down up; do
		flag=; [ $dir = down ] && flag=-R
		# A 12 s run in a guest dips now and then (60-62% of the sum in
		# two CI runs, 82-92% in the next ones): the floor asks whether
		# bonding works, so a run under it is tried again, up to three.
		mbps=0 runs=
		for attempt in 1 2 3; do
			m=$(nsx "$NS_H" iperf3 -c "$S4" -p 5201 $flag -t 12 -O 2 -J |
				jq '.end.sum_received.bits_per_second / 1e6 | floor')
			runs="$runs ${m:-0}"
			[ "${m:-0}" -gt "$mbps" ] && mbps=${m:-0}
			[ "$mbps" -ge $floor ] && break
		done
		note "$scenario $dir: $mbps Mbit/s bonded of 50 ($(( mbps * 2 ))% of the sum; target 85%; runs:$runs)"
		if [ $scenario = dsl+lte ]; then
			check_ge "$scenario $dir: the secondary adds to the primary's 20 Mbit/s (bonded goodput)" "$mbps" $floor
		else
			check_ge "$scenario $dir: the lossy primary still bonds above the primary alone" "$mbps" $floor
		fi
		# Seen once (6.12 guest, lossy-dsl down: 16 Mbit/s): keep what
		# tells a missing join (a lost ADD_ADDR?) from a slow one.
		if [ "$mbps" -lt 32 ]; then
			for ns in "$NS_CPE" "$NS_HAG"; do
				note "$scenario $dir: $ns: $(nsx "$ns" nstat -az 'MPTcpExt*Join*' 'MPTcpExt*AddAddr*' 'MPTcpExtEcho*' |
					awk 'NR > 1 && $2 != 0 { printf "%s=%s ", $1, $2 }')"
			done
		fi
	done
	topo_down
done

t_finish
