#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Every host setting and the reclaim hints, from the scenario language:
# MADV_COLD and MADV_PAGEOUT, swap, kswapd and its watermarks, the OOM
# killer, KSM's max_page_sharing; what host_create() refuses, reported at
# the host line; several hosts in one file; records, and the built-ins'
# headline numbers as report fields (swap-guest, ksm-change-pte).
set -u

mmulab=${MMULAB:?}
. "$(dirname "$0")/cli_lib.sh"

# MADV_COLD ages the pages (the next aging pass finds them old);
# MADV_PAGEOUT writes every one to swap, and they read back from it.
cat >"$tmp/pageout.mmu" <<'MMU'
host frames=512 swap=1024
process p
mmap r p len=256K
write p r 7 count=64
madvise p r advice=cold
age p r len=4K expect=old
madvise p r advice=pageout
expect host.pswpout == 64
read p r expect=7 count=64
expect host.pswpin == 64
MMU
passes "$tmp/pageout.mmu"

# kswapd wakes below wmark_low and scans; the data survives swap.
cat >"$tmp/kswapd.mmu" <<'MMU'
host frames=256 swap=1024 kswapd wmark_low=32 wmark_high=64
process p
mmap r p len=2M
write p r 7 count=300
read p r expect=7 count=300
expect host.pageoutrun > 0
expect host.pgscan_kswapd > 0
MMU
passes "$tmp/kswapd.mmu" --seed 1
passes "$tmp/kswapd.mmu" --seed 2
# Without kswapd the same run reclaims directly, and never wakes it.
sed 's/ kswapd wmark_low=32 wmark_high=64//' "$tmp/kswapd.mmu" |
	sed 's/pageoutrun > 0/pageoutrun == 0/; s/pgscan_kswapd > 0/allocstall > 0/' \
	>"$tmp/direct.mmu"
passes "$tmp/direct.mmu" --seed 1

# The OOM killer reaps the biggest process to let a smaller one run;
# without it, the smaller one's store fails instead.
cat >"$tmp/oom.mmu" <<'MMU'
host frames=64 oom_kill
process big
mmap r big len=1M
write big r 7 count=40
process small
mmap s small len=1M
write small s 7 count=30
read big r expect=fault
expect host.oom_kill == 1
MMU
passes "$tmp/oom.mmu"
sed 's/^host frames=64 oom_kill$/host frames=64/' "$tmp/oom.mmu" >"$tmp/nooom.mmu"
"$mmulab" run "$tmp/nooom.mmu" >"$tmp/out" 2>&1
[ $? = 1 ] || fail "no oom_kill: the run should fail"
grep -q 'line 7: write .*ENOMEM' "$tmp/out" ||
	fail "no oom_kill: the small process's store should fail: $(cat "$tmp/out")"

# The report shows the settings the host ran with.
"$mmulab" run --json "$tmp/kswapd.mmu" --seed 1 >"$tmp/json" ||
	fail "kswapd --json"
for f in '"kswapd": *true' '"oom_kill": *false' '"swap_slots": *1024' \
	 '"wmark_low": *32' '"wmark_high": *64'; do
	grep -q "$f" "$tmp/json" || fail "kswapd --json: no $f"
done

# KSM's max_page_sharing: 16 identical pages under a limit of 4 make a
# chain of 4 KSM pages; the chain loses a dup when one's mappings go, and
# is a plain KSM page again when one is left.
cat >"$tmp/mps.mmu" <<'MMU'
host frames=1024 ksm_max_page_sharing=4
process p
mmap r p len=64K
madvise p r advice=mergeable
write p r 7 count=16 inc=0
ksm scan=16
ksm scan=16
ksm scan=16
ksm scan=16
expect host.pages_sharing == 12
expect host.pages_shared == 4
expect host.stable_node_chains == 1
expect host.stable_node_dups == 4
read p r expect=7 count=16 inc=0
write p r 8
ksm scan=16
expect host.stable_node_dups == 4
munmap p r len=16K
ksm scan=16
ksm scan=16
expect host.stable_node_dups == 3
munmap p r+16K len=32K
ksm scan=16
ksm scan=16
expect host.stable_node_chains == 0
expect host.stable_node_dups == 0
expect host.stable_nodes == 1
MMU
passes "$tmp/mps.mmu"
# Without the limit (the default, 256), one KSM page takes all 16.
sed 's/ ksm_max_page_sharing=4//; s/pages_sharing == 12/pages_sharing == 15/; s/pages_shared == 4/pages_shared == 1/' \
	"$tmp/mps.mmu" | sed '/stable_node/d; /^munmap/,$d' >"$tmp/mps256.mmu"
passes "$tmp/mps256.mmu"

# swap-guest is a script, and its claim is in named report fields: the
# notifier guest swapped, the pinned one could not.
"$mmulab" show swap-guest >"$tmp/sg.mmu" || fail "show swap-guest"
cmp -s "$tmp/sg.mmu" "$SRCDIR/tools/mmulab/scenarios/swap-guest.mmu" ||
	fail "show swap-guest: not the script"
"$mmulab" run --json swap-guest >"$tmp/sg.json" || fail "run swap-guest"
"${JSON_CHECK:?}" "$SRCDIR/docs/report.schema.json" "$tmp/sg.json" ||
	fail "swap-guest --json: not a valid report"
for f in '"notifiers_pswpout": *[1-9][0-9]*,' '"pinned_pswpout": *0,' \
	 '"pinned_reclaim_pinned": *[1-9]' '"pswpout": *[1-9]' \
	 '"notifiers_pswpin": *1024,'; do
	grep -q "$f" "$tmp/sg.json" || fail "swap-guest --json: no $f"
done

# ksm-change-pte is a script of three hosts, one per era; its numbers
# are records: direct saves the faults the other two take.
"$mmulab" show ksm-change-pte >"$tmp/k.mmu" || fail "show ksm-change-pte"
cmp -s "$tmp/k.mmu" "$SRCDIR/tools/mmulab/scenarios/ksm-change-pte.mmu" ||
	fail "show ksm-change-pte: not the script"
"$mmulab" run --json --seed 1 ksm-change-pte >"$tmp/k.json" ||
	fail "run ksm-change-pte"
"${JSON_CHECK:?}" "$SRCDIR/docs/report.schema.json" "$tmp/k.json" ||
	fail "ksm-change-pte --json: not a valid report"
for f in '"none_change_pte_calls": *0,' '"bookended_change_pte_calls": *128,' \
	 '"bookended_change_pte_hits": *0,' '"direct_change_pte_hits": *128,' \
	 '"direct_faults_after": *0,' '"direct_invalidations": *0,' \
	 '"none_faults_after": *1[0-9][0-9],' '"total": *3072,'; do
	grep -q "$f" "$tmp/k.json" || fail "ksm-change-pte --json: no $f"
done

# A later host replaces the host: its names go, the records stay, the
# report sums the hosts.
cat >"$tmp/hosts.mmu" <<'MMU'
host frames=64
process p
mmap r p len=16K
write p r 1 count=4
record a host.pgfault
host frames=128 change_pte=direct
process p
mmap r p len=16K
write p r 1 count=2
record b host.pgfault
expect a == 4
expect b == 2
MMU
passes "$tmp/hosts.mmu"
"$mmulab" run --json "$tmp/hosts.mmu" >"$tmp/hosts.json"
grep -q '"total": *192,' "$tmp/hosts.json" || fail "two hosts: frames not summed"
grep -q '"change_pte": *"mixed"' "$tmp/hosts.json" ||
	fail "two hosts: change_pte not mixed"

# record: a counter's value, less another's; expect reads it back.
cat >"$tmp/rec.mmu" <<'MMU'
host frames=64
process p
mmap r p len=64K
write p r 1 count=4
record four host.pgfault
write p r+16K 1 count=3
record three host.pgfault minus=four
expect three == 3
expect four == 4
MMU
passes "$tmp/rec.mmu"
"$mmulab" run --json "$tmp/rec.mmu" >"$tmp/rec.json"
grep -q '"three": *3' "$tmp/rec.json" || fail "record: no three"

# expect=nomem: stores until the host runs out, which must happen.
printf 'host frames=64\nprocess p\nmmap r p len=64K\nwrite p r 1 count=4 expect=nomem\n' \
	>"$tmp/nomem.mmu"
"$mmulab" run "$tmp/nomem.mmu" >"$tmp/out"
[ $? = 1 ] || fail "expect=nomem with room: the run should fail"
grep -q 'all 4 accesses were made, expected the host to run out of memory' \
	"$tmp/out" || fail "expect=nomem with room: message"

exit $((failures != 0))
