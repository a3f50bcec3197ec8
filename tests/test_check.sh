#!/usr/bin/env bash
# The checker finds every protocol mutant within its documented budget of
# seeds, and finds nothing in the real protocol (a fast version of the
# 10,000-seed runs documented in docs/checker.md).
set -u
mmulab=$1
fail=0

expect_found() { # scenario mutant budget
	out=$("$mmulab" check "$1" --mutant "$2" --seeds "$3" 2>&1)
	rc=$?
	if [ $rc -ne 1 ] || ! grep -q '^violation: ' <<<"$out" ||
	   ! grep -q "^replay: mmulab check $1 --replay [0-9]* --strategy [a-z]* --mutant $2\$" <<<"$out"; then
		echo "FAIL: $2 not caught in $3 seeds of $1 (exit $rc)"
		echo "$out" | tail -5
		fail=1
		return
	fi
	# The replay line reproduces the same violation.
	replay=$(grep '^replay: ' <<<"$out" | sed 's/^replay: mmulab //')
	first=$(grep '^violation: ' <<<"$out")
	again=$($mmulab $replay 2>&1 | grep '^violation: ')
	if [ "$first" != "$again" ]; then
		echo "FAIL: replay of $2 gave '$again', expected '$first'"
		fail=1
		return
	fi
	echo "ok: $2 caught ($(grep 'found after' <<<"$out"))"
}

expect_clean() { # scenario seeds
	out=$("$mmulab" check "$1" --seeds "$2" 2>&1)
	if [ $? -ne 0 ]; then
		echo "FAIL: the real protocol violated something in $1"
		echo "$out" | head -20
		fail=1
		return
	fi
	echo "ok: $out"
}

expect_found fault-race skip-seq-check 1000
expect_found fault-race skip-in-progress-check 200
expect_found fault-race range-off-by-one 200
expect_found fault-race seq-after-count 2000
expect_found fault-race skip-tlb-flush 50
expect_found fault-race free-before-start 10
expect_found fault-race keep-gup-ref 10
expect_found mirror-race interval-no-seq-bump 1000
expect_found register-race register-no-exclusion 200
expect_found change-pte-race change-pte-unbookended 10
expect_found fault-race flush-at-end 10
expect_found fault-race primary-no-notifier 20
expect_found fault-race end-before-zap 10
expect_found fault-race flush-no-wait 1000
expect_found fault-race release-leaves-mappings 10

for s in fault-race mirror-race register-race change-pte-race pressure-race; do
	expect_clean "$s" 200
done

# The bounded search: complete and clean on small scenarios, and it finds
# the mutants its bound reaches, with a replay line that reproduces them.
for s in register-race change-pte-race pressure-race; do
	out=$("$mmulab" check "$s" --strategy bounded --bound 0 2>&1)
	if [ $? -ne 0 ] || ! grep -q "bounded search complete" <<<"$out"; then
		echo "FAIL: bounded search of $s"; echo "$out" | tail -3; fail=1
	else
		echo "ok: $out"
	fi
done
for m in "register-race register-no-exclusion" "change-pte-race change-pte-unbookended"; do
	set -- $m
	out=$("$mmulab" check "$1" --mutant "$2" --strategy bounded --bound 0 2>&1)
	replay=$(grep '^replay: ' <<<"$out" | sed 's/^replay: mmulab //')
	first=$(grep '^violation: ' <<<"$out")
	again=$($mmulab $replay 2>&1 | grep '^violation: ')
	if [ -z "$first" ] || [ "$first" != "$again" ]; then
		echo "FAIL: bounded search on $2: '$first' then '$again'"; fail=1
	else
		echo "ok: $2 caught by the bounded search ($(grep 'found after' <<<"$out"))"
	fi
done

# Bad usage is an error, not a run.
"$mmulab" check no-such-scenario >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: unknown scenario not rejected"; fail=1; }
"$mmulab" check fault-race --mutant no-such-mutant >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: unknown mutant not rejected"; fail=1; }
"$mmulab" check fault-race --seeds -3 >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: bad seed count not rejected"; fail=1; }
exit $fail
