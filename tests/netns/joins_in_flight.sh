#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Primary-first bonding when the secondary is switched on while a bulk
# transfer's MP_JOINs are still on their way (needs netem: runs in the
# vmtest guests; on a kernel without netem it says so and skips, and
# fails when HYBOND_REQUIRE_NETEM=1, as CI's vmtest sets).
#
# Links: primary 20 Mbit/s, 10 ms one way; secondary 30 Mbit/s, 150 ms one
# way, so a join takes 300 ms or more, and the primary fills (and the
# switch turns) while it is connecting. The kernel will not change the
# backup flag of a subflow that is still connecting (SET_FLAGS answers
# EINVAL); before hybond retried it, such a join stayed a backup, and the
# secondary carried nothing in a transfer that needed it (8 of 50 guest
# runs with 30 ms on the secondary). Each run here asks what a user sees:
# the secondary carried a real share of the bytes. Both path managers:
# hybond's own (--join-after 200, the default) and the kernel's
# (--join-after 0).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/check.sh
. tests/lib/topo.sh
t_require_root
trap t_cleanup EXIT
HB=${HYBOND:-$PWD/build/hybond}

netem_or_skip || { t_finish; exit $?; }

topo_up
for end in "$NS_CPE pri0" "$NS_HAG acc0"; do
	topo_netem $end rate 20mbit delay 10ms limit 10000
done
for end in "$NS_CPE sec0" "$NS_HAG sec0"; do
	topo_netem $end rate 30mbit delay 150ms limit 10000
done
topo_spawn "$NS_S" "$TOPO_DIR/iperf3.log" iperf3 -s -p 5201
wait_port "$NS_S" 5201 5

prio_mib() {
	nsx "$NS_CPE" nstat -az MPTcpExtMPPrioTx MPTcpExtMPJoinSynAckRx |
		awk 'NR > 1 {printf "%s=%s ", $1, $2}'
}

for pm in own kernel; do
	after=200; [ $pm = kernel ] && after=0
	CPE_ARGS=(--primary-rate 20 --join-after $after)
	topo_start_hybond || { fail "$pm PM: daemons log ready"; break; }
	for dir in down up; do
		check "$pm PM: the secondary on standby before the $dir run" bond_standby
		# The race is in a transfer's first second: a run each.
		bond_run $dir -t 8
		share=$((100 * SEC / (PRI + SEC + 1)))
		note "$pm PM, $dir: $MBPS Mbit/s (each second: $PERSEC), primary $PRI bytes, secondary $SEC bytes ($share%)"
		note "$pm PM, $dir: CPE $(prio_mib)$(nsx "$NS_CPE" "$HB" stats -j | jq -c '{bonding: .bonding | {activations, flags_resent}, path_manager}')"
		check_ge "$pm PM, bulk $dir: the secondary, switched on while joining, carried a real share (%)" "$share" 10
	done
	stop_pid "$CPE_PID"; stop_pid "$HAG_PID"
done

t_finish
