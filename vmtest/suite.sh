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
