#!/bin/sh
# SPDX-License-Identifier: MIT
#
# SIGINT: a long run (a workload of 10^9 operations, plain and seeded;
# stress; check) stops at the first ^C, prints a partial report that says
# so, and exits 1.
set -u

mmulab=${MMULAB:?}
. "$(dirname "$0")/cli_lib.sh"

# interrupt NAME PATTERN ARGS...: run mmulab ARGS, send SIGINT 2 s later,
# and expect exit 1 within 30 s and PATTERN in its output.
interrupt() {
	name=$1 pattern=$2
	shift 2
	"$mmulab" "$@" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	sleep 2
	kill -INT "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		fail "$name: still running 30 s after SIGINT"
	fi
	wait "$pid"
	status=$?
	[ "$status" = 1 ] || fail "$name: exit $status, want 1"
	grep -q "$pattern" "$tmp/out" || fail "$name: no '$pattern' in output"
	if [ "$status" != 1 ] || ! grep -q "$pattern" "$tmp/out"; then
		cat "$tmp/out" "$tmp/err"
	fi
}

cat >"$tmp/long.mmu" <<'MMU'
process vmm
mmap ram vmm len=256K
vm vm0 vmm
memslot vm0 gpa=0 len=256K hva=ram
vcpu v vm0 count=2
workload ops=1000000000
  guest v0
  cpu vmm ram
  churn vmm ram
end
verify vm0
MMU

interrupt "run" 'interrupted     by SIGINT' run "$tmp/long.mmu"
grep -q 'interrupted (SIGINT) before line 11' "$tmp/out" ||
	fail "run: the steps do not say where it stopped"
grep -q '^workload  *line 6' "$tmp/out" ||
	fail "run: no workload in the partial report"
grep -q '^result  *FAIL' "$tmp/out" || fail "run: result is not FAIL"
interrupt "run --seed" ', interrupted, seed 4' run --quiet --seed 4 \
	"$tmp/long.mmu"
interrupt "run --json" '"interrupted": *true' run --json "$tmp/long.mmu"
"${JSON_CHECK:?}" "${SRCDIR:?}/docs/report.schema.json" "$tmp/out" ||
	fail "run --json: the partial report does not fit the schema"
interrupt "stress" 'stress: interrupted by SIGINT' stress --seconds 600
grep -q '^violation' "$tmp/out" &&
	fail "stress: stopped on a violation of its own before the SIGINT"
grep -q '^stress: [0-9]* operations' "$tmp/out" ||
	fail "stress: no partial figures"
interrupt "check" 'interrupted by SIGINT after [0-9]* of 100000000 seeds' \
	check --seeds 100000000

# Not interrupted, the same run ends normally: the report says nothing.
sed 's/ops=1000000000/ops=200/' "$tmp/long.mmu" >"$tmp/short.mmu"
"$mmulab" run "$tmp/short.mmu" >"$tmp/out" 2>&1 ||
	fail "short run: exit $?"
grep -q interrupted "$tmp/out" && fail "short run: says interrupted"
"$mmulab" run --json "$tmp/short.mmu" >"$tmp/out" 2>&1
grep -q '"interrupted": *false' "$tmp/out" ||
	fail "short run --json: interrupted is not false"

if [ "$failures" != 0 ]; then
	echo "$failures failures"
	exit 1
fi
echo "all passed"
