#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs inside a vmtest guest: each integration test, one line per test in
# RESULTS ("NAME pass|fail|skip SECONDS REASON"), its output in RESULTS.d/.
#   [VMTEST_APPEND=1] vmtest/suite.sh RESULTS TEST...
set -u
cd "$(dirname "$0")/.."
out=$1
shift
mkdir -p "$out.d"
# VMTEST_APPEND=1 (the matrix, booting a guest again after it died) keeps
# the results of the tests the first boot ran.
[ -n "${VMTEST_APPEND:-}" ] || : >"$out"
# Under emulation the guest can die where the kernel patches its own code
# while another CPU runs it ("Oops: int3", README, Kernel behaviour): a
# static key flips each time the first netfilter hook, or tc ingress or
# egress hook, of any namespace comes or the last goes, as the tests add
# and remove theirs (nft tables in primary_first and handshake_order,
# clsact qdiscs everywhere). One of each in the guest's own namespace,
# kept for the whole suite, holds those keys on, so the tests flip none.
# (The guest's namespace carries no test traffic.)
nft -f - <<'NFT' || echo "vmtest-suite: could not hold the netfilter hooks' keys on"
table inet vmtest_keys {
	chain k_pre { type filter hook prerouting priority 0; }
	chain k_in { type filter hook input priority 0; }
	chain k_fwd { type filter hook forward priority 0; }
	chain k_out { type filter hook output priority 0; }
	chain k_post { type filter hook postrouting priority 0; }
}
NFT
tc qdisc add dev lo clsact 2>/dev/null ||
	echo "vmtest-suite: could not hold the tc hooks' keys on"
for t in "$@"; do
	start=$(date +%s)
	bash "tests/netns/$t.sh" >"$out.d/$t.log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	reason=
	if [ $rc -ne 0 ]; then
		res=fail
		# The check's name, cut, and its end whole: the value it got.
		reason=$(grep -m1 '^FAIL' "$out.d/$t.log" | cut -c8- |
			sed -E 's/^(.{50}).{4,}(.{40})$/\1 ... \2/')
	elif grep -q '^skip' "$out.d/$t.log" && ! grep -q '^ok' "$out.d/$t.log"; then
		res=skip
		reason=$(grep -m1 '^skip' "$out.d/$t.log" | cut -c8-100)
	else
		res=pass
	fi
	echo "$t $res $secs $reason" >>"$out"
	echo "vmtest-suite: $t $res (${secs}s) $reason"
done
