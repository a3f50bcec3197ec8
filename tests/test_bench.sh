#!/bin/sh
# SPDX-License-Identifier: MIT
#
# mmulab bench --quick: it runs (its numbers are not checked: a timed unit
# test would fail on a loaded machine), prints every figure beside its
# baseline, and its JSON matches docs/bench.schema.json.
set -u

mmulab=${MMULAB:?}
check=${JSON_CHECK:?}
schema=${SRCDIR:?}/docs/bench.schema.json
. "$(dirname "$0")/cli_lib.sh"

"$mmulab" bench --quick >"$tmp/out" 2>"$tmp/err" ||
	fail "bench --quick: exit $?: $(cat "$tmp/err")"
for fig in 'guest read, batched .*plain load' \
	'guest read, one call .*plain load' 'secondary fault .*GUP alone' \
	'DONTNEED, SPTEs .*no SPTEs' 'DONTNEED, SPTEs .*no VM' \
	'faults, 2 vCPUs .*1 vCPU' '^load average [0-9.]* at the start'; do
	grep -q "$fig" "$tmp/out" || fail "bench --quick: no line '$fig'"
done

"$mmulab" bench --quick --json --reps 2 >"$tmp/json" 2>"$tmp/err" ||
	fail "bench --quick --json: exit $?: $(cat "$tmp/err")"
"$check" "$schema" "$tmp/json" || fail "bench --json: not mmulab-bench/1"
grep -q '"repetitions":2' "$tmp/json" || fail "bench --reps 2: not 2"
# The schema catches a figure without its baseline.
grep -v '"baseline":' "$tmp/json" >"$tmp/bad"
"$check" "$schema" "$tmp/bad" >/dev/null &&
	fail "json_check accepts a figure without a baseline"

for bad in '--reps 0' '--reps 1000' '--pages 8' '--pages x' 'extra' \
	'--nosuch'; do
	# shellcheck disable=SC2086 # the words are the arguments
	"$mmulab" bench $bad >/dev/null 2>"$tmp/err"
	rc=$?
	[ "$rc" = 2 ] || fail "bench $bad: exit $rc, want 2"
	[ -s "$tmp/err" ] || fail "bench $bad: no message"
done

[ "$failures" = 0 ] || exit 1
