#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Soak, bounded: connections opened and closed at a steady rate for
# SOAK_SECS seconds (90 by default; longer by setting it), a mix of sizes
# both ways (1 KiB to 2 MiB downloads, 256 KiB uploads) over IPv4 and IPv6,
# every body checked. Afterwards both daemons' file descriptors are back at
# their baseline, their memory has not grown past the plateau it reached in
# the first seconds, and their logs hold no error or warning.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
HB=$PWD/build/hybond
SECS=${SOAK_SECS:-90}
CLIENTS=${SOAK_CLIENTS:-4}

topo_up --rate1 50 --rate2 50
topo_mkfile 2m.bin 2
head -c 1024 /dev/urandom >"$TOPO_DIR/www/1k.bin"
head -c 65536 /dev/urandom >"$TOPO_DIR/www/64k.bin"
head -c 262144 /dev/urandom >"$TOPO_DIR/up.bin"
mkdir -p "$TOPO_DIR/www/upload"
topo_start_nginx || { fail "nginx starts"; exit 1; }
topo_start_hybond || { fail "daemons log ready"; exit 1; }

declare -A want
for f in 1k 64k 2m; do
	want[$f]=$(sha_of "$TOPO_DIR/www/$f.bin")
done
want[up]=$(sha_of "$TOPO_DIR/up.bin")
export TOPO_DIR S4 S6 NS_H
fds() { ls "/proc/$1/fd" | wc -l; }
active() { nsx "$1" "$HB" stats -j | jq .relay.active; }
settle() { # wait until neither relay holds a connection (at most 30 s)
	for _ in $(seq 60); do
		[ "$(active "$NS_CPE")" = 0 ] && [ "$(active "$NS_HAG")" = 0 ] && return 0
		sleep 0.5
	done
	return 1
}

# One client: requests in a loop until the deadline (and at most 5000),
# one line per request: "ok" or what went wrong.
client() { # ID DEADLINE
	local id=$1 end=$2 i=0 f s out got
	while [ "$(date +%s)" -lt "$end" ] && [ $i -lt 5000 ]; do
		i=$((i + 1))
		if [ $((i % 2)) = 0 ]; then s=$S4; else s="[$S6]"; fi
		case $((RANDOM % 8)) in
		0 | 1 | 2) f=1k ;;
		3 | 4) f=64k ;;
		5 | 6) f=2m ;;
		7) f=up ;;
		esac
		out=$TOPO_DIR/c$id.body
		if [ $f = up ]; then
			# Upload, then fetch it back: both legs of the stream.
			ip netns exec "$NS_H" curl -gsf --max-time 20 -T "$TOPO_DIR/up.bin" \
				"http://$s/upload/c$id-$i" -o /dev/null &&
				ip netns exec "$NS_H" curl -gsf --max-time 20 -o "$out" \
					"http://$s/upload/c$id-$i"
		else
			ip netns exec "$NS_H" curl -gsf --max-time 20 -o "$out" "http://$s/$f.bin"
		fi
		rc=$?
		got=$(sha_of "$out")
		rm -f "$TOPO_DIR/www/upload/c$id-$i"
		if [ $rc = 0 ] && [ "$got" = "${want[$f]}" ]; then
			echo ok
		else
			echo "$f over $s: curl exit $rc"
		fi
	done >"$TOPO_DIR/client$id.log"
}

# Warm up at the soak's own concurrency for 10 s (the relays keep a pool of
# warm buffers, sized by how many connections ran at once), then the
# baseline.
wend=$(( $(date +%s) + 10 ))
wpids=()
for c in $(seq "$CLIENTS"); do
	client "w$c" "$wend" &
	wpids+=($!)
done
wait "${wpids[@]}"
rm -f "$TOPO_DIR"/clientw*.log
settle || note "connections still open before the baseline"
sleep 1
cpe_fd0=$(fds "$CPE_PID") hag_fd0=$(fds "$HAG_PID")
cpe_mem0=$(anon_kib "$CPE_PID") hag_mem0=$(anon_kib "$HAG_PID")
cpe_l0=$(wc -l <"$TOPO_DIR/cpe.log") hag_l0=$(wc -l <"$TOPO_DIR/hag.log")

end=$(( $(date +%s) + SECS ))
pids=()
for c in $(seq "$CLIENTS"); do
	client "$c" "$end" &
	pids+=($!)
done
peak_cpe=0 peak_hag=0 series= n=0
while [ "$(date +%s)" -lt "$end" ]; do
	a=$(active "$NS_CPE") b=$(active "$NS_HAG")
	[ "${a:-0}" -gt $peak_cpe ] && peak_cpe=$a
	[ "${b:-0}" -gt $peak_hag ] && peak_hag=$b
	n=$((n + 1))
	if [ $((n % 5)) = 0 ]; then
		series="$series $(anon_kib "$CPE_PID")/$(anon_kib "$HAG_PID")"
		# The plateau: the first sample, 10 s in, once the buffer pools
		# and the allocator's arenas have grown to the load.
		[ -n "${cpe_mem_p:-}" ] || cpe_mem_p=$(anon_kib "$CPE_PID") hag_mem_p=$(anon_kib "$HAG_PID")
	fi
	sleep 2
done
note "RssAnon (KiB, CPE/HAG) every 10 s:$series"
wait "${pids[@]}"

total=$(cat "$TOPO_DIR"/client*.log | wc -l)
bad=$(grep -vc '^ok$' "$TOPO_DIR"/client*.log | awk -F: '{s += $NF} END {print s}')
note "soak: ${SECS}s, $CLIENTS clients, $total requests ($(( total / SECS ))/s), peak active $peak_cpe (CPE) $peak_hag (HAG)"
grep -hv '^ok$' "$TOPO_DIR"/client*.log | sort | uniq -c | head -5 | while read -r l; do note "failed: $l"; done
check_ge "the soak made requests at a steady rate (>= 2/s)" "$total" $(( SECS * 2 ))
check_eq "every request and upload completed, bodies intact" "$bad" 0

check "both relays drained: no connection left" settle
sleep 2
cpe_fd1=$(fds "$CPE_PID") hag_fd1=$(fds "$HAG_PID")
cpe_mem1=$(anon_kib "$CPE_PID") hag_mem1=$(anon_kib "$HAG_PID")
note "CPE: fds $cpe_fd0 -> $cpe_fd1, RssAnon $cpe_mem0 -> $cpe_mem1 KiB; HAG: fds $hag_fd0 -> $hag_fd1, RssAnon $hag_mem0 -> $hag_mem1 KiB"
check_le "the CPE's file descriptors are back at the baseline" "$cpe_fd1" "$cpe_fd0"
check_le "the HAG's file descriptors are back at the baseline" "$hag_fd1" "$hag_fd0"
# A leak grows with the requests; pools and arenas do not. After the soak's
# thousands of requests, each daemon's memory is within 1 MiB of what it
# was 10 s in (a leak of 500 bytes a request would exceed that).
check_le "the CPE's memory stayed at its plateau (KiB, +1 MiB)" "$cpe_mem1" $(( cpe_mem_p + 1024 ))
check_le "the HAG's memory stayed at its plateau (KiB, +1 MiB)" "$hag_mem1" $(( hag_mem_p + 1024 ))
errs=$( { tail -n +$(( cpe_l0 + 1 )) "$TOPO_DIR/cpe.log"; tail -n +$(( hag_l0 + 1 )) "$TOPO_DIR/hag.log"; } |
	grep -ciE 'error|warning')
check_eq "no error or warning in the daemons' logs during the soak" "$errs" 0

t_finish
