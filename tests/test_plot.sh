#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Pictures of a run: the sampled series in --json, as counter tracks in
# --trace, and drawn by --plot (mmulab run and mmulab check) with gnuplot:
# the SVG has the panels and the series it should.  Without gnuplot the
# drawing tests are skipped (CI installs it), but the clear error is
# checked either way: MMULAB_GNUPLOT names a program that is not there.
set -u

mmulab=${MMULAB:?}
check=${JSON_CHECK:?}
docs=${SRCDIR:?}/docs
. "$(dirname "$0")/cli_lib.sh"

# has FILE WHAT STRING...: FILE contains every STRING.
has() {
	f=$1
	what=$2
	shift 2
	for s in "$@"; do
		grep -qF -- "$s" "$f" || fail "$what: no '$s'"
	done
}

# The series in the report, seeded and not; a seeded run's replay.
"$mmulab" run swap-guest --json >"$tmp/r.json" || fail "swap-guest --json"
"$check" "$docs/report.schema.json" "$tmp/r.json" >"$tmp/why" ||
	{ fail "swap-guest's series do not fit the schema"; cat "$tmp/why"; }
has "$tmp/r.json" "swap-guest --json" '"clock":"us"' '"kind":"vm"' \
	'"name":"notifiers"' '"name":"baseline"' '"pages_4k":[' '"swapped":['
"$mmulab" run fault-race --seed 3 --json >"$tmp/s1.json" &&
	"$mmulab" run fault-race --seed 3 --json >"$tmp/s2.json" ||
	fail "fault-race --seed 3 --json"
has "$tmp/s1.json" "seeded series" '"clock":"scheduling_points"' \
	'"name":"vm0"' '"pf_retry_seq":['
cmp -s "$tmp/s1.json" "$tmp/s2.json" || fail "seeded series did not replay"

# Counter tracks beside the task tracks, well formed, plain and seeded.
for seed in "" "--seed 4"; do
	"$mmulab" run fault-race --quiet $seed --trace "$tmp/t.json" \
		>/dev/null || fail "fault-race $seed --trace"
	"$check" "$docs/trace.schema.json" "$tmp/t.json" >"$tmp/why" ||
		{ fail "trace $seed: schema"; cat "$tmp/why"; }
	"$check" --counters "$tmp/t.json" >"$tmp/why" ||
		{ fail "trace $seed: counter tracks"; cat "$tmp/why"; }
	has "$tmp/t.json" "trace $seed" '"ph":"C"' \
		'"name":"vm vm0: SPTEs present' '"pf_taken":' '"thread_name"'
done
# The counter check fires on a track whose time goes back.
printf '%s\n' '{"traceEvents":[' \
	'{"ph":"C","pid":1,"ts":2,"name":"n","args":{"a":1}},' \
	'{"ph":"C","pid":1,"ts":1,"name":"n","args":{"a":2}}]}' >"$tmp/bad.json"
"$check" --counters "$tmp/bad.json" >/dev/null &&
	fail "json_check --counters passed a track going back in time"

# No gnuplot: a clear message, exit 2, and nothing run.
MMULAB_GNUPLOT=/nonexistent/gnuplot "$mmulab" run fault-race \
	--plot "$tmp/x.svg" >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] || fail "--plot without gnuplot: exit status"
has "$tmp/err" "--plot without gnuplot" "gnuplot, which is not installed" \
	"gnuplot-nox"
[ -s "$tmp/out" ] && fail "--plot without gnuplot ran the scenario"
MMULAB_GNUPLOT=/nonexistent/gnuplot "$mmulab" check fault-race --seeds 2 \
	--plot "$tmp/x.svg" >/dev/null 2>"$tmp/err"
[ $? = 2 ] || fail "check --plot without gnuplot: exit status"
has "$tmp/err" "check --plot without gnuplot" "gnuplot-nox"
"$mmulab" list --plot "$tmp/x.svg" >/dev/null 2>&1
[ $? = 2 ] || fail "list --plot was not refused"

# A picture that cannot be written: said before anything runs.
"$mmulab" run fault-race --plot "$tmp/no/such/dir/x.svg" >"$tmp/out" \
	2>"$tmp/err"
[ $? = 2 ] || fail "--plot into a missing directory: exit status"
has "$tmp/err" "--plot into a missing directory" "cannot write"
[ -s "$tmp/out" ] && fail "--plot into a missing directory wrote output"

if ! command -v gnuplot >/dev/null; then
	echo "SKIP: gnuplot is not installed (apt-get install gnuplot-nox)"
	[ "$failures" = 0 ] || exit 1
	exit 0
fi

# swap-guest: a panel for its host and for the VM of each phase (the
# notifier guest, then the pinned baseline), named series.
"$mmulab" run swap-guest --quiet --plot "$tmp/swap.svg" >/dev/null ||
	fail "swap-guest --plot"
has "$tmp/swap.svg" "swap-guest's SVG" \
	"host host: frames, swap and KSM" \
	"host host: invalidations started" \
	"vm notifiers: SPTEs present, faults, retries by reason, TLB flushes" \
	"vm baseline: SPTEs present" \
	">frames_used<" ">frames_free<" ">swapped<" ">pages_4k<" \
	">pf_taken<" ">pf_fixed<" ">CLEAR<" ">time (ms)<"

# A directory: one SVG per panel; a seeded run's clock.
mkdir "$tmp/d"
"$mmulab" run fault-race --seed 3 --quiet --plot "$tmp/d" >/dev/null ||
	fail "fault-race --plot DIR"
for f in host-host-0 host-host-1 vm-vm0-0; do
	[ -s "$tmp/d/$f.svg" ] || fail "fault-race --plot DIR: no $f.svg"
done
has "$tmp/d/vm-vm0-0.svg" "vm0's SVG" ">scheduling points<" \
	">pf_retry_in_progress<"
for s in gru-tlb xpmem-attach; do
	"$mmulab" run $s --quiet --plot "$tmp/$s.svg" >/dev/null ||
		fail "$s --plot"
done
has "$tmp/gru-tlb.svg" "gru-tlb's SVG" "gru " ">valid<" ">tlb_faults<"
has "$tmp/xpmem-attach.svg" "xpmem-attach's SVG" "xpmem " ">faults<"

# mmulab check --plot: a panel per strategy (seeds alternate random and
# PCT), merged over --jobs.
"$mmulab" check fault-race --seeds 10 --jobs 2 --plot "$tmp/c.svg" \
	>/dev/null || fail "check --plot"
has "$tmp/c.svg" "check's SVG" "strategy random: 5 runs" \
	"strategy pct: 5 runs" ">violations<" ">distinct_schedules<" \
	">seeds run<"
# (Three schedules without preemption: the host's replace maps the page
# back into one VMA with its neighbours, as Linux merges it.)
"$mmulab" check register-race --strategy bounded --bound 0 \
	--plot "$tmp/b.svg" >/dev/null || fail "check --strategy bounded --plot"
has "$tmp/b.svg" "bounded check's SVG" "strategy bounded: 3 runs" \
	"3 distinct schedules"
# With a mutant the search goes on past the first violation.
"$mmulab" check fault-race --mutant skip-seq-check --seeds 120 --jobs 2 \
	--plot "$tmp/m.svg" >/dev/null
[ $? = 1 ] || fail "check --mutant --plot: exit status"
grep -qE 'strategy (random|pct): 60 runs, [1-9][0-9]* violations' \
	"$tmp/m.svg" || fail "check --mutant --plot: no violation counted"

[ "$failures" = 0 ] || exit 1
echo "ok"
