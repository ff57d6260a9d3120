#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# run.sh - run integration test scripts one after another, keep each one's
# output in build/test-logs/, print a summary table, fail if any failed.
set -u
cd "$(dirname "$0")/.."
mkdir -p build/test-logs
declare -a rows
failed=0
for t in "$@"; do
	name=$(basename "$t" .sh)
	log=build/test-logs/$name.log
	start=$(date +%s)
	echo "=== $name"
	bash "$t" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	secs=$(( $(date +%s) - start ))
	if [ "$rc" -eq 0 ]; then res=pass; else res=FAIL; failed=$((failed + 1)); fi
	rows+=("$(printf '%-28s %-5s %4ss' "$name" "$res" "$secs")")
done
echo
echo "=== summary"
printf '%s\n' "${rows[@]}"
[ "$failed" -eq 0 ] && echo "all $# test files passed" || echo "$failed of $# test files FAILED"
[ "$failed" -eq 0 ]
