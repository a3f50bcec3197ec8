#!/bin/sh
# SPDX-License-Identifier: MIT
#
# What mmulab writes for programs: the JSON report of each built-in and
# example scenario, plain and seeded, and of a failing run, the scenario
# list, and the Chrome trace (whose spans must nest on every thread)
# against their schemas in docs/; and ftrace lines in the kernel's shape.
set -u

mmulab=${MMULAB:?}
check=${JSON_CHECK:?}
docs=${SRCDIR:?}/docs
. "$(dirname "$0")/cli_lib.sh"

# valid SCHEMA FILE WHAT
valid() {
	"$check" "$docs/$1" "$2" >"$tmp/why" 2>&1 || {
		fail "$3 does not match $1"
		cat "$tmp/why"
	}
}

# report STATUS WHAT ARGS...: run with --json, validate the report.
report() {
	want=$1
	what=$2
	shift 2
	"$mmulab" run --json "$@" >"$tmp/r.json" 2>"$tmp/err"
	got=$?
	[ "$got" = "$want" ] || fail "$what: exit $got, want $want"
	valid report.schema.json "$tmp/r.json" "$what"
}

# Seeded (no wall-clock times) and not (elapsed times, workloads).
report 0 "run default --seed 3" default --seed 3
for name in $("$mmulab" list --quiet); do
	report 0 "run $name" "$name"
done
for f in "$SRCDIR"/examples/scenarios/*.mmu; do
	report 0 "$f" "$f"
done

# The GRU sections: both contexts faulted, dropped racing fills, flushed,
# and were unbound by the exit.
report 0 "run gru-tlb --seed 2" gru-tlb --seed 2
for want in '"name": *"g0"' '"name": *"g1"' '"released": *1' \
	'"kind": *"gru"'; do
	grep -q "$want" "$tmp/r.json" || fail "gru-tlb report: no $want"
done
grep -q '"valid_end": *[1-9]' "$tmp/r.json" &&
	fail "gru-tlb report: a TLB entry survived release"
grep -q '"fills": *[1-9]' "$tmp/r.json" || fail "gru-tlb report: no fill"
grep -q '"flushed": *[1-9]' "$tmp/r.json" || fail "gru-tlb report: no flush"

# The XPMEM section: every message was acknowledged, remote faults ran.
report 0 "run xpmem-attach --seed 2" xpmem-attach --seed 2
grep -q '"kind": *"xpmem"' "$tmp/r.json" || fail "xpmem-attach: no thread"
msgs=$(grep -o '"messages": *[0-9]*' "$tmp/r.json" | grep -o '[0-9]*$')
acks=$(grep -o '"acks": *[0-9]*' "$tmp/r.json" | grep -o '[0-9]*$')
[ -n "$msgs" ] && [ "$msgs" -gt 0 ] && [ "$msgs" = "$acks" ] ||
	fail "xpmem-attach: $msgs messages, $acks acks"

# Both secondaries ran under every kind of host change: each churn
# operation ran, KSM merged pages and stores broke COW on them, and
# reclaim swapped pages out.  (Churn operations are the only counts
# named so in the report.)
for scn in gru-tlb xpmem-attach; do
	"$mmulab" run --json "$scn" --seed 1 >"$tmp/c.json" 2>&1 ||
		fail "run $scn --seed 1"
	for op in munmap mprotect madvise fork migrate ksm reclaim cow_ksm \
		  pswpout; do
		sum=0
		for n in $(grep -o "\"$op\": *[0-9]*" "$tmp/c.json" |
			   grep -o '[0-9]*$'); do
			sum=$((sum + n))
		done
		[ "$sum" -gt 0 ] || fail "$scn --seed 1: no $op"
	done
done
# The THP guest: 2 MiB SPTEs counted in the JSON report (pages_2m).
report 0 "run thp-guest --seed 2" thp-guest --seed 2
printf 'host thp=madvise\nprocess p\nmmap b p len=4M\nvm v p\nmemslot v gpa=0 len=4M hva=b\nvcpu c v\nmadvise p b len=2M advice=hugepage\ngwrite c 0 1\ngwrite c 0x200000 2\n' >"$tmp/t.mmu"
report 0 "a THP-madvise guest" "$tmp/t.mmu"
grep -q '"pages_2m": *1' "$tmp/r.json" || fail "THP guest: pages_2m is not 1"
grep -q '"pages_4k": *1' "$tmp/r.json" || fail "THP guest: pages_4k is not 1"

# A failing run is still a valid report, with the failures listed.
printf 'process p\nmmap b p len=4K\nread p b expect=7\n' >"$tmp/f.mmu"
report 1 "a failing scenario" "$tmp/f.mmu"
grep -q '"result": *"fail"' "$tmp/r.json" || fail "failing run: result"
grep -q 'line 3: read 0x[0-9a-f]*: 0 0, expected 0x7' "$tmp/r.json" ||
	fail "failing run: no failure line"

"$mmulab" list --json >"$tmp/l.json" || fail "list --json"
valid scenarios.schema.json "$tmp/l.json" "list --json"

# Traces: both at once; a seeded trace replays byte for byte.
"$mmulab" run default --quiet --seed 5 --trace "$tmp/t1.json" \
	--ftrace="$tmp/f1.txt" >/dev/null || fail "default with traces"
valid trace.schema.json "$tmp/t1.json" "the Chrome trace"
"$check" --spans "$tmp/t1.json" || fail "trace spans do not nest"
"$mmulab" run default --quiet --seed 5 --trace "$tmp/t2.json" >"$tmp/q1"
cmp -s "$tmp/t1.json" "$tmp/t2.json" || fail "seeded trace did not replay"
# Tracing does not change the run: the same seed, the same log hash.
"$mmulab" run default --quiet --seed 5 >"$tmp/q2"
cmp -s "$tmp/q1" "$tmp/q2" || fail "a traced run is another run"
"$mmulab" run fault-race --quiet --trace "$tmp/t3.json" >/dev/null ||
	fail "fault-race with a trace"
valid trace.schema.json "$tmp/t3.json" "the fault-race trace"
"$check" --spans "$tmp/t3.json" || fail "fault-race spans do not nest"

# ftrace: kernel event lines for the VM's process, and page faults.
"$mmulab" run --ftrace default >"$tmp/ft" || fail "--ftrace default"
head -1 "$tmp/ft" | grep -q '^# tracer: nop$' || fail "ftrace: no header"
for ev in kvm_unmap_hva_range kvm_age_hva kvm_test_age_hva kvm_page_fault \
	  tlb_flush tracing_mark_write; do
	grep -q "^ *[^ ]*-[0-9]* *\[[0-9]*\] \.\.\.\.\. *[0-9]*\.[0-9]\{6\}: $ev: " \
		"$tmp/ft" || fail "ftrace: no $ev line"
done
grep -q 'kvm_unmap_hva_range: mmu notifier unmap range: 0x0000[0-9a-f]* -- 0x0000[0-9a-f]*$' \
	"$tmp/ft" || fail "ftrace: kvm_unmap_hva_range format"
grep -q 'kvm_page_fault: vcpu [0-9]* rip 0x0 address 0x[0-9a-f]\{16\} error_code 0x[02]$' \
	"$tmp/ft" || fail "ftrace: kvm_page_fault format"
grep -q '^result  *ok$' "$tmp/ft" || fail "ftrace: the report follows"
printf 'host change_pte=bookended\nprocess p\nmmap b p len=4K\nvm v p\nmemslot v gpa=0 len=4K hva=b\nvcpu c v\ngwrite c 0 1\nfork p q\nwrite p b 2\ngread c 0 expect=2\nexpect v.change_pte_calls == 1\nexpect v.change_pte_hits == 0\n' >"$tmp/cp.mmu"
"$mmulab" run --ftrace="$tmp/ft2" "$tmp/cp.mmu" >/dev/null || fail "change_pte scenario"
grep -q 'kvm_set_spte_hva: mmu notifier set spte hva: 0x' "$tmp/ft2" ||
	fail "ftrace: no kvm_set_spte_hva line"

if [ "$failures" != 0 ]; then
	echo "$failures failures"
	exit 1
fi
echo "all passed"
