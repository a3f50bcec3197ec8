#!/usr/bin/env bash
# The checker finds every protocol mutant within its documented budget of
# seeds, and finds nothing in the real protocol (a fast version of the
# 10,000-seed runs documented in docs/checker.md).  Then: a mutant alone
# runs the scenarios it concerns; a copied race file explores like the
# built-in; two shards and a merge give the result of one run; the JSON
# follows docs/check.schema.json; --exec searches a det_explore() program.
#
#	test_check.sh MMULAB EXPLORE_PROG JSON_CHECK CHECK_SCHEMA
set -u
mmulab=$1
prog=$2
json_check=$3
schema=$4
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect_found() { # scenario mutant budget [strategy]
	out=$("$mmulab" check "$1" --mutant "$2" --seeds "$3" ${4:+--strategy $4} 2>&1)
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
# The race file reaches it later than the C race did (287 seeds): PCT
# schedules find it at seed 676, alternating ones at 3,355.
expect_found fault-race seq-after-count 1500 pct
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
expect_found pressure-race sleep-in-nonblock 10
expect_found pressure-race lock-inversion 20
expect_found gru-race gru-fill-no-recheck 10
expect_found xpmem-race xpmem-end-only 10
expect_found xpmem-race xpmem-ack-before-drop 50
# End-only is caught by the contract query at the first covering
# invalidation, whatever it zaps: one page, or the whole segment.
for size in 4K 16K; do
	"$mmulab" show races/xpmem-race |
		awk -v keep="len=$size" '/^  task host/ { host = 1 }
			/^  task i0/ { host = 0 }
			host && /^    / && (index($0, keep) == 0 ||
					  /^    (cow|write) /) { next }
			{ print }' >"$tmp/xpmem-$size.mmu"
	expect_found "$tmp/xpmem-$size.mmu" xpmem-end-only 10
	grep -q '^violation: INV-6 mapped-after-start' <<<"$out" ||
		{ echo "FAIL: xpmem-end-only, $size zaps: not INV-6"; fail=1; }
done
expect_found thp-split-race thp-split-no-notify 10
expect_found hmm-race hmm-no-retry-check 100
expect_found mirror-race hmm-no-retry-check 1000
expect_found punch-race punch-free-before-start 10
expect_found migrate-race migrate-no-owner-check 10
# A fault that got its page by GUP-fast (no mm_users reference) installs
# its SPTE after the release unless the release marks the mm dead.
expect_found exit-vm-alive release-no-dead-mark 20
# A zap that frees before its TLB flush: INV-14 at the first such free.
expect_found fault-race zap-no-tlb-flush 10
grep -q '^violation: INV-14 unflushed-free' <<<"$out" ||
	{ echo "FAIL: zap-no-tlb-flush: not INV-14"; fail=1; }
# Permissions checked at every access: a fault that ignores the sequence
# installs a writable SPTE the write-protection already took away, and a
# guest store goes through while the page is read-only.
expect_found wrprotect-race skip-seq-check 3000
grep -q '^violation: INV-3 writable-secondary' <<<"$out" &&
	grep -q 'succeeded, but the page was read-only' <<<"$out" ||
	{ echo "FAIL: skip-seq-check in wrprotect-race not caught at the access"; fail=1; }

for s in fault-race mirror-race register-race change-pte-race pressure-race \
	 exit-vm-alive ksm-identical wrprotect-race gru-race mirror-overlap \
	 xpmem-race hmm-race punch-race migrate-race; do
	expect_clean "$s" 200
done
expect_clean thp-split-race 50
# The memfd guest scenario under the checker: clean, and the mutant that
# zaps a punched file's PTEs before invalidating is caught in it too.
"$mmulab" show memfd-guest >"$tmp/memfd-guest.mmu"
expect_clean "$tmp/memfd-guest.mmu" 3
out=$("$mmulab" check "$tmp/memfd-guest.mmu" --seeds 1 \
	--mutant punch-free-before-start 2>&1)
grep -q '^violation: INV-7' <<<"$out" ||
	{ echo "FAIL: punch-free-before-start not caught in memfd-guest"; fail=1; }

# The race shadow, not the protocol, was wrong in these schedules: seed 253,
# one task's replace committed the versions of another's begun meanwhile
# (a device read then looked stale); seed 2307, a wrprotect opened its
# read-only window while another wrprotect's restoring mprotect, which took
# effect after it, was in flight (a device store then looked forbidden).
# A vCPU that took its flush request and had not yet emptied its TLB looked,
# to the invalidation's contract query, like one that kept a translation
# (INV-6); it now empties the TLB before it clears the request.
for r in "fault-race --replay 106 --strategy random" \
	 "wrprotect-race --replay 22 --strategy random"; do
	out=$("$mmulab" check $r 2>&1)
	if [ $? -ne 0 ]; then
		echo "FAIL: check $r is a false positive"
		echo "$out" | head -5
		fail=1
	fi
done

for seed in 253 2307; do
	out=$("$mmulab" check mirror-overlap --replay $seed --strategy pct 2>&1)
	if [ $? -ne 0 ]; then
		echo "FAIL: mirror-overlap seed $seed is a false positive"
		echo "$out" | head -5
		fail=1
	fi
done

# --mutant alone runs the scenarios that mutant concerns.
out=$("$mmulab" check --mutant register-no-exclusion --seeds 200 2>&1)
if [ $? -ne 1 ] || ! grep -q '^replay: mmulab check register-race ' <<<"$out"; then
	echo "FAIL: --mutant without a scenario did not run register-race"
	echo "$out" | tail -3
	fail=1
fi
# No scenario: every built-in race, in order.
out=$("$mmulab" check --seeds 2 --strategy random 2>&1)
n=$(grep -c ': 2 seeds, no violation' <<<"$out")
races=$(ls "$(dirname "$schema")"/../tools/mmulab/races/*.mmu | wc -l)
[ "$n" -eq "$races" ] ||
	{ echo "FAIL: a run without a scenario ran $n of $races races"; echo "$out"; fail=1; }

# A user's copy of a built-in, one line changed, is a scenario like it.
"$mmulab" show races/fault-race | sed 's/task host repeat=6 pick/task host repeat=3 pick/' \
	>"$tmp/mine.mmu"
out=$("$mmulab" check "$tmp/mine.mmu" --mutant skip-tlb-flush --seeds 50 2>&1)
if [ $? -ne 1 ] || ! grep -q "^replay: mmulab check $tmp/mine.mmu --replay" <<<"$out"; then
	echo "FAIL: a copied race file did not catch skip-tlb-flush"
	fail=1
fi

# Two shards and a merge: the result of one run over the same seeds.
for m in "" "--mutant skip-seq-check"; do
	"$mmulab" check fault-race --seeds 300 --jobs 2 --json $m >"$tmp/one.json"
	one=$?
	"$mmulab" check fault-race --seeds 300 --shard 1/2 --jobs 1 --json $m >"$tmp/s1.json"
	"$mmulab" check fault-race --seeds 300 --shard 2/2 --jobs 1 --json $m >"$tmp/s2.json"
	"$mmulab" check --merge --json "$tmp/s2.json" "$tmp/s1.json" >"$tmp/merged.json"
	merged=$?
	for f in one s1 s2 merged; do
		"$json_check" "$schema" "$tmp/$f.json" ||
			{ echo "FAIL: $f.json does not follow check.schema.json"; fail=1; }
	done
	key() { # verdict, first violation's replay line, or seeds run if clean
		grep -E '"(result|replay)"' "$1" | tr -d ' '
		grep -q '"result":"clean"' "$1" && grep '"seeds_run"' "$1" | tr -d ' '
	}
	if [ "$one" != "$merged" ] || [ "$(key "$tmp/one.json")" != "$(key "$tmp/merged.json")" ]; then
		echo "FAIL: shards + merge ($merged) differ from one run ($one) ${m:-clean}"
		diff <(key "$tmp/one.json") <(key "$tmp/merged.json")
		fail=1
	else
		echo "ok: two shards + merge = one run (${m:-clean}): $(key "$tmp/merged.json" | head -1)"
	fi
done
"$mmulab" check --merge "$tmp/s1.json" >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: a merge with a shard missing was accepted"; fail=1; }
"$mmulab" check --merge "$tmp/s1.json" "$tmp/s1.json" >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: a merge of one shard twice was accepted"; fail=1; }

# --exec: a third party's det_explore() program, seed after seed.
out=$("$mmulab" check --exec "$prog" --seeds 50 2>&1)
if [ $? -ne 1 ] || ! grep -q "^replay: mmulab check --exec $prog --replay [0-9]* --strategy" <<<"$out"; then
	echo "FAIL: --exec did not find the lost update"
	echo "$out" | tail -3
	fail=1
else
	replay=$(grep '^replay: mmulab check' <<<"$out" | sed 's/^replay: mmulab //')
	$mmulab $replay >/dev/null 2>&1
	[ $? -eq 1 ] || { echo "FAIL: the --exec replay did not fail again"; fail=1; }
fi
out=$(EXPLORE_LOCKED=1 "$mmulab" check --exec "$prog" --seeds 50 2>&1)
[ $? -eq 0 ] || { echo "FAIL: --exec of the correct program: $out"; fail=1; }
"$mmulab" check --exec /nonexistent/prog --seeds 2 >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: --exec of a missing program not rejected"; fail=1; }
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
for bad in "--shard 3/2" "--shard 0/2" "--shard x" "--jobs 0"; do
	"$mmulab" check fault-race $bad >/dev/null 2>&1
	[ $? -eq 2 ] || { echo "FAIL: $bad not rejected"; fail=1; }
done
exit $fail
