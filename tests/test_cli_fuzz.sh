#!/bin/sh
# SPDX-License-Identifier: MIT
#
# No input crashes or hangs the mmulab command: a few prefixes of an
# example scenario (cut between lines and inside one), pseudo-random bytes
# and mixtures of the language's words, and inputs at the language's
# limits must exit 0, 1 or 2 within the time limit, and a 2 always comes
# with a message.  test_scenario_fuzz.c does the same by the thousand,
# in-process.
set -u

mmulab=${MMULAB:?}
. "$(dirname "$0")/cli_lib.sh"
runs=0

# try FILE: run it, judge how it ended.
try() {
	runs=$((runs + 1))
	timeout 20 "$mmulab" run "$1" --quiet >/dev/null 2>"$tmp/err"
	status=$?
	case $status in
	0 | 1) ;;
	2) [ -s "$tmp/err" ] || { echo "FAIL: exit 2, no message"; failures=$((failures + 1)); } ;;
	*)
		echo "FAIL: exit $status for:"
		od -c "$1" | head -20
		head -5 "$tmp/err"
		failures=$((failures + 1))
		;;
	esac
}

# Prefixes: whole lines, and lines cut at a third and two thirds.
for f in "$SRCDIR"/examples/scenarios/tour.mmu; do
	n=$(wc -l <"$f")
	i=17
	while [ $i -le "$n" ]; do
		head -n $i "$f" >"$tmp/p.mmu"
		try "$tmp/p.mmu"
		sed -n "${i}p" "$f" >"$tmp/line"
		len=$(wc -c <"$tmp/line")
		head -n $((i - 1)) "$f" >"$tmp/p.mmu"
		head -c $((len / 3)) "$tmp/line" >>"$tmp/p.mmu"
		try "$tmp/p.mmu"
		i=$((i + 31))
	done
done

# Pseudo-random bytes and word salads, from a fixed seed.
awk -v seed=7 -v dir="$tmp" 'BEGIN {
	srand(seed)
	split("host process mmap munmap mprotect madvise mremap fork exit " \
	      "write read age vm memslot vcpu gwrite gread verify expect " \
	      "workload end guest cpu churn p b v c len=4K len=0 gpa=0 " \
	      "hva=b prot=rw count=3 expect=fault ops=5 == > 1 0x10 " \
	      "99999999999999999999999 b+4K # = + . v.pf_fixed warnings " \
	      "slot=1 pinned shared fixed at=b data allow_stale", w, " ")
	for (k = 0; k < 2; k++) {
		f = dir "/r" k ".mmu"
		if (k % 2) {
			n = int(rand() * 300)
			for (i = 0; i < n; i++)
				printf "%c", int(rand() * 255) + 1 > f
		} else {
			printf "process p\nmmap b p len=64K\nvm v p\n" > f
			printf "memslot v gpa=0 len=64K hva=b\nvcpu c v\n" > f
			for (l = 0; l < 12; l++) {
				n = int(rand() * 6) + 1
				for (i = 0; i < n; i++)
					printf "%s ", w[int(rand() * length(w)) + 1] > f
				printf "\n" > f
			}
		}
		close(f)
	}
}'
for f in "$tmp"/r*.mmu; do
	try "$f"
done

# Limits: a huge line, too many words, huge numbers.
awk 'BEGIN { printf "process p"; for (i = 0; i < 5000; i++) printf " "; print "x" }' >"$tmp/l.mmu"
try "$tmp/l.mmu"
awk 'BEGIN { printf "process p"; for (i = 0; i < 40; i++) printf " x"; print "" }' >"$tmp/l.mmu"
try "$tmp/l.mmu"
printf 'host frames=64K content=tag\nprocess p\nmmap b p len=64G\nwrite p b+0xfffffffffffff000 1\n' >"$tmp/l.mmu"
try "$tmp/l.mmu"

echo "$runs runs, $failures failures"
[ "$failures" = 0 ]
