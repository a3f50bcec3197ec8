#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The statements the built-in tour needs: a counting notifier and its
# counters, gup and pin, a mirror of part of a region, the three kinds of
# aging; each with a run that must pass and one that must fail.
set -u

mmulab=${MMULAB:?}
. "$(dirname "$0")/cli_lib.sh"

# runs STATUS FILE: mmulab run --quiet FILE must exit STATUS.
runs() {
	"$mmulab" run --quiet "$2" >"$tmp/out" 2>&1
	status=$?
	[ "$status" = "$1" ] || { fail "run $2: exit $status, want $1"; cat "$tmp/out"; }
}

cat >"$tmp/n.mmu" <<'MMU'
process p
notifier n p
mmap r p len=16K
write p r 1 count=4
munmap p r len=8K
mprotect p r+8K len=8K prot=r
age p r+8K len=8K
age p r+8K len=8K kind=clear
age p r+8K kind=test
expect n.UNMAP == 1
expect n.PROTECTION_VMA == 1
expect n.invalidate_range_start == 2
expect n.invalidate_range_end == 2
expect n.clear_flush_young == 1
expect n.clear_young == 1
expect n.test_young == 1
exit p
expect n.release == 1
MMU
runs 0 "$tmp/n.mmu"
"$mmulab" run --json "$tmp/n.mmu" >"$tmp/n.json"
grep -q '"name": *"n"' "$tmp/n.json" || fail "notifier: not in the report"
sed 's/n.UNMAP == 1/n.UNMAP == 2/' "$tmp/n.mmu" >"$tmp/n2.mmu"
runs 1 "$tmp/n2.mmu"

# gup reads through references; pin stores through long-term pins, after
# breaking COW: the child keeps its copy.
cat >"$tmp/g.mmu" <<'MMU'
process p
mmap r p len=16K
write p r 0x10 count=4
fork p c
gup p r count=4 expect=0x10
pin p r+4K 0x99 count=2 inc=0
read p r+4K expect=0x99 count=2 inc=0
read c r+4K expect=0x11 count=2
expect host.pin_pages == 2
MMU
runs 0 "$tmp/g.mmu"
sed 's/gup p r count=4 expect=0x10/gup p r count=4 expect=0x11/' "$tmp/g.mmu" >"$tmp/g2.mmu"
runs 1 "$tmp/g2.mmu"
grep -q 'gup: page 0 holds 0x10, want 0x11' "$tmp/out" ||
	"$mmulab" run "$tmp/g2.mmu" | grep -q 'gup: page 0 holds 0x10, want 0x11' ||
	fail "gup: message"
printf 'process p\nmmap r p len=8K\ngup p r count=3\n' >"$tmp/g3.mmu"
runs 1 "$tmp/g3.mmu"

# A mirror of part of a region (pages 2-3): an munmap of page 2 reaches
# it; one of page 0, outside, does not.
cat >"$tmp/m.mmu" <<'MMU'
process p
notifier n p
mmap r p len=32K
write p r 5 count=8
mirror d p r off=8K len=8K
mread d r+8K expect=7 count=2
munmap p r len=4K
munmap p r+8K len=4K
mread d r+8K expect=fault
mread d r+12K expect=8
MMU
runs 0 "$tmp/m.mmu"
sed 's/^mread d r+8K expect=fault$/mread d r+8K expect=7/' "$tmp/m.mmu" >"$tmp/m2.mmu"
runs 1 "$tmp/m2.mmu"

exit $((failures != 0))
