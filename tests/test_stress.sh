#!/bin/sh
# SPDX-License-Identifier: MIT
#
# mmulab stress's own checks: its usage errors, a WARN that fires fails the
# run, and the watchdog turns a stalled task into a violation that names
# every task and what it waits on.
#
#	test_stress.sh PATH-TO-MMULAB
set -u

mmulab=${MMULAB:-$1}
. "$(dirname "$0")/cli_lib.sh"

# expect STATUS ARGS...: run mmulab stress, compare the exit status.
expect() {
	want=$1
	shift
	status_is "$want" stress "$@"
	if [ "$want" = 2 ] && ! grep -q 'usage: mmulab stress' "$tmp/err"; then
		fail "mmulab stress $*: usage error without the usage"
	fi
}

for bad in "--seconds nan" "--seconds 0" "--seconds -1" "--seconds inf" \
	"--watchdog 0" "--watchdog nan" "--watchdog x" "--inject" \
	"--inject nothing" "--ops 0" "--vcpus 0" "--soak extra"; do
	# shellcheck disable=SC2086
	expect 2 $bad
done

expect 0 --help
grep -q -- '--soak' "$tmp/out" || fail "--help does not name --soak"

# A WARN fails the run and is counted.
expect 1 --ops 2000 --inject warn
grep -q ', 1 warnings$' "$tmp/out" || fail "--inject warn: no warning counted"

# The watchdog: the injected task holds the mmap_lock for writing; every
# other task of the process waits on it and is reported.
expect 1 --soak --seconds 60 --watchdog 1 --inject stall
grep -q '^violation: watchdog: task [0-9]* (.*) finished no operation for 1 s$' \
	"$tmp/out" || fail "--inject stall: no watchdog violation"
grep -q '(inject): holding mmap_lock forever .*running$' "$tmp/out" ||
	fail "--inject stall: the stalling task is not shown running"
grep -q '): .*, last one .* ago, waiting on rw_semaphore 0x' "$tmp/out" ||
	fail "--inject stall: no task shown waiting on the lock"
for name in vcpu device churn soak; do
	grep -q "^  task [0-9]* ($name): " "$tmp/out" ||
		fail "--inject stall: no $name task shown"
done

# INV-5 explains itself: whose value the read returned, the provenance
# of the frame KVM mapped, and what maps the address after the run.
expect 1 --seconds 20 --inject stale
grep -q '^stress: INV-5: the .* read of page 0 (0x[0-9a-f]*) at .* s returned 0x8100000000000000: the value --inject stale writes, as a forked child would$' \
	"$tmp/out" || fail "--inject stale: the bad read is not explained"
grep -q '^stress: what maps it now:$' "$tmp/out" ||
	fail "--inject stale: no provenance after the run"
# The frame's provenance: the one KVM mapped when a vCPU read first, else
# what page 0 maps after the run (a frame, or a swap slot).  Churn may
# also leave page 0 unmapped at the end (pte 0) when the first bad read
# was not a vCPU's; then there is no frame to explain.
if ! grep -q '^  contents: \(cleared\|copied from frame\|read from slot\|not filled here\)' "$tmp/out" &&
	! grep -q '^  slot [0-9]*: [0-9]* writes, last by' "$tmp/out" &&
	! grep -q '^  0x[0-9a-f]*: pte 0$' "$tmp/out"; then
	fail "--inject stale: no frame or slot provenance"
fi
grep -q '^  read of location 0 at 0x[0-9a-f]* returned 0x8100000000000000' \
	"$tmp/out" || fail "--inject stale: no INV-5 violation"

# A clean soak reports zero of everything.
expect 0 --soak --seconds 2
grep -q ' 0 violations, 0 errors, 0 warnings$' "$tmp/out" ||
	fail "--soak: not clean: $(head -1 "$tmp/out")"

[ "$failures" = 0 ] || exit 1
echo "stress: all checks passed"
