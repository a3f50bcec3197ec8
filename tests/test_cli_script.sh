#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Running scripts: show, standard input, seeded replay of a workload, a
# failed expectation (exit 1), a failed setup statement (the run stops,
# the teardown still frees everything), the progress bar, duration= under
# --seed (exit 2), the device-memory statements.
set -u

mmulab=${MMULAB:?}
. "$(dirname "$0")/cli_lib.sh"

# show prints a built-in's script as it is in the source tree.
"$mmulab" show fault-race >"$tmp/fr.mmu" || fail "show fault-race"
cmp -s "$tmp/fr.mmu" "$SRCDIR/tools/mmulab/scenarios/fault-race.mmu" ||
	fail "show fault-race: not the script"
# Every built-in is a script: show prints each as it is in the tree.
for name in $("$mmulab" list | cut -d' ' -f1); do
	"$mmulab" show "$name" >"$tmp/s.mmu" || fail "show $name"
	cmp -s "$tmp/s.mmu" "$SRCDIR/tools/mmulab/scenarios/$name.mmu" ||
		fail "show $name: not the script"
done

# A seeded workload replays: the same report, byte for byte.
cat >"$tmp/w.mmu" <<'MMU'
process p
mmap ram p len=64K
vm v p
memslot v gpa=0 len=64K hva=ram
vcpu c v count=2
workload ops=40
  guest c0 pattern=zipf reads=50
  guest c1 pattern=seq reads=50
  cpu p ram reads=50
  churn p ram ops=6
end
verify v data
MMU
"$mmulab" run --json --seed 11 "$tmp/w.mmu" >"$tmp/a" || fail "workload --seed 11"
"$mmulab" run --json --seed 11 "$tmp/w.mmu" >"$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || fail "a seeded workload did not replay"
grep -q '"elapsed_us": *null' "$tmp/a" || fail "seeded: elapsed_us not null"

# Scripts read from standard input.
printf 'process p\nmmap b p len=8K\nwrite p b+4K 5\nread p b+4K expect=5\n' |
	"$mmulab" run - --quiet >"$tmp/out" || fail "run -"
grep -q '^-: ok, ' "$tmp/out" || fail "run -: $(cat "$tmp/out")"

# A failed expectation: exit 1, the line named.
printf 'host frames=64\nprocess p\nexpect host.pgfault > 0\n' >"$tmp/x.mmu"
"$mmulab" run "$tmp/x.mmu" >"$tmp/out"
[ $? = 1 ] || fail "failed expect: exit status"
grep -q 'line 3: expect host.pgfault > 0: the counter is 0' "$tmp/out" ||
	fail "failed expect: message"
grep -q '^result  *FAIL$' "$tmp/out" || fail "failed expect: result"

# A setup failure stops the run, and the teardown still frees everything.
printf 'host frames=64\nprocess p\nmmap a p len=16K\nwrite p a 1\nmmap b p len=256T\nwrite p b 1\n' >"$tmp/x.mmu"
"$mmulab" run "$tmp/x.mmu" >"$tmp/out"
[ $? = 1 ] || fail "setup failure: exit status"
grep -q 'stopped: line 5 failed' "$tmp/out" || fail "setup failure: no stop"
grep -q 'line 5: mmap: ENOMEM' "$tmp/out" || fail "setup failure: message"
grep -q 'free at end 63$' "$tmp/out" || fail "setup failure: frames leaked"

# The progress bar: on a terminal after half a second, never elsewhere.
cat >"$tmp/slow.mmu" <<'MMU'
process p
mmap r p len=64K
workload duration=800ms
  cpu p r rate=2000/s
end
MMU
"$mmulab" run --quiet "$tmp/slow.mmu" >/dev/null 2>"$tmp/err" || fail "slow run"
[ -s "$tmp/err" ] && fail "progress drawn on a stderr that is no terminal"
if command -v script >/dev/null 2>&1; then
	script -qec "\"$mmulab\" run --quiet \"$tmp/slow.mmu\"" /dev/null \
		>"$tmp/tty" 2>&1
	grep -q 'line 3, ms *\[#*\.*\] *[0-9]*%' "$tmp/tty" ||
		fail "no progress bar on a terminal"
fi

# duration= needs the wall clock.
"$mmulab" run --seed 1 "$SRCDIR/examples/scenarios/soak.mmu" >/dev/null 2>"$tmp/err"
[ $? = 2 ] || fail "duration= under --seed: exit status"
grep -q 'soak.mmu:[0-9]*:[0-9]*: error: workload: duration= needs the wall clock' \
	"$tmp/err" || fail "duration= under --seed: message"

# Device memory: to the device and back (on request, and by a CPU fault),
# exclusive access revoked by a CPU access; the events counted.  Without
# `partial`, a range that cannot move (shared memory) is a failed check.
cat >"$tmp/dev.mmu" <<'MMU'
process p
mmap ram p len=16K
mirror dev p ram
write p ram 0x11 count=4 inc=1
mmigrate dev ram
mread dev ram expect=0x11 count=4 inc=1
mwrite dev ram+0x2000 0x99
read p ram+0x1000 expect=0x12
mevict dev ram
read p ram+0x2000 expect=0x99
mexclusive dev ram len=8K
read p ram expect=0x11
expect host.MIGRATE == 3
expect host.EXCLUSIVE == 3
MMU
passes "$tmp/dev.mmu"
cat >"$tmp/devsh.mmu" <<'MMU'
process p
mmap sh p len=8K shared
mirror dev p sh
write p sh 1 count=2
mmigrate dev sh partial
mmigrate dev sh
MMU
"$mmulab" run "$tmp/devsh.mmu" >"$tmp/out" 2>&1
[ $? = 1 ] && grep -q "line 6: mmigrate: ENOENT" "$tmp/out" ||
	{ fail "mmigrate of shared memory: not a failed check"; cat "$tmp/out"; }

if [ "$failures" != 0 ]; then
	echo "$failures failures"
	exit 1
fi
echo "all passed"
