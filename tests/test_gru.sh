#!/usr/bin/env bash
# examples/gru_tlb.c, a TLB-only secondary written as a third party would:
# flushing in invalidate_range_end is caught (INV-6) at the first
# invalidation that covers a page its TLB maps, under the deterministic
# scheduler and with real threads; flushing in start runs clean.
set -u
gru=$1
fail=0

check() { # expected-exit args...
	want=$1
	shift
	out=$("$gru" "$@" 2>&1)
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: gru_tlb $* exited $rc, expected $want"
		echo "$out" | head -20
		fail=1
		return
	fi
	if [ "$want" -eq 1 ] &&
	   { ! grep -q '^violation: INV-6 mapped-after-start' <<<"$out" ||
	     ! grep -q 'the first at covering invalidation 1$' <<<"$out"; }; then
		echo "FAIL: gru_tlb $*: not caught at the first covering invalidation"
		echo "$out" | head -20
		fail=1
		return
	fi
	echo "ok: gru_tlb $*: $(head -1 <<<"$out")"
}

for seed in 1 2 3; do
	check 0 "$seed"
	check 1 --at-end "$seed"
done
for run in 1 2 3; do
	check 0
	check 1 --at-end
done
exit $fail
