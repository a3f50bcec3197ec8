#!/bin/sh
# SPDX-License-Identifier: MIT
#
# shared-lines.sh: the cache lines that two vCPUs taking secondary faults
# at once both write, or that one writes and the other reads, counted
# under Valgrind's Lackey, which sees every load and store; a measure
# that does not depend on the machine's load
# (docs/bench.md, "Shared cache lines on the fault path").
#
#     shared-lines.sh FAULT-PAIR [PAGES]
#
# FAULT-PAIR is the fault-pair program of the build directory (ninja -C
# build fault-pair: linked statically, without PIE, for addr2line).  Prints
# each 64-byte line written by both vCPU threads: its writes (stores and
# read-modify-writes) from each, and the functions that wrote it; then
# the totals per fault.
set -eu
prog=${1:?usage: shared-lines.sh FAULT-PAIR [PAGES]}
pages=${2:-1024}
command -v valgrind >/dev/null || { echo "shared-lines.sh: needs valgrind" >&2; exit 2; }

# Lackey prints "I addr,size" for each instruction, then " S addr,size" /
# " M addr,size" for its stores and modifies; --trace-sched says which
# thread runs ("SCHED[n]:  acquired lock").  A thread is a vCPU from the
# first instruction it runs in fault_half() on; only threads the program
# started count (Valgrind's thread 1, the main thread, faults every page
# in first: it is never a vCPU), and so do neither the set-up's threads
# nor an SRCU callback worker; counting stops at fault_pair_done(), once
# both vCPUs have exited, so that no later thread given a vCPU's thread
# id is counted.  Each vCPU's entries into kvm_tdp_mmu_map()
# are counted too: each must install PAGES/2 SPTEs, or the run is not
# the one measured.
sym() { nm -S "$prog" | awk -v f="$1" '$4 == f { print $1, $2 }'; }
set -- $(sym fault_half)
[ $# -eq 2 ] || { echo "shared-lines.sh: no fault_half in $prog" >&2; exit 2; }
fstart=$(printf '%08x' $((0x$1)))
fend=$(printf '%08x' $((0x$1 + 0x$2)))
set -- $(sym kvm_tdp_mmu_map)
[ $# -eq 2 ] || { echo "shared-lines.sh: no kvm_tdp_mmu_map in $prog" >&2; exit 2; }
mapip=$(printf '%08x' $((0x$1)))
set -- $(sym fault_pair_done)
[ $# -eq 2 ] || { echo "shared-lines.sh: no fault_pair_done in $prog" >&2; exit 2; }
doneip=$(printf '%08x' $((0x$1)))
: >"${TMPDIR:-/tmp}/shared-lines.$$.ro"
valgrind --tool=lackey --trace-mem=yes --trace-sched=yes --log-fd=3 \
	"$prog" "$pages" 3>&1 >/dev/null 2>/dev/null |
awk -v pages="$pages" -v fstart="$fstart" -v fend="$fend" -v mapip="$mapip" \
	-v doneip="$doneip" -v ro="${TMPDIR:-/tmp}/shared-lines.$$.ro" '
BEGIN { X = "0123456789abcdef" }
/SCHED\[[0-9]+\]:  acquired lock/ {
	tid = substr($0, index($0, "SCHED[") + 6) + 0
	next
}
done { next }
/^I / {
	split($2, a, ",")
	ip = a[1]
	if (ip == doneip) {
		done = 1
		next
	}
	if (!(tid in vcpu) && tid != 1 && ip >= fstart && ip < fend &&
	    nvcpu < 2)
		vcpu[tid] = nvcpu++
	if (ip == mapip && (tid in vcpu))
		maps[vcpu[tid]]++
	next
}
/^ [SML] / {
	if (!(tid in vcpu))
		next
	v = vcpu[tid]
	split($2, a, ",")
	# The 64-byte line: all but the last two hex digits, and which
	# quarter of 256 bytes those two select.
	h = a[1]
	lo = tolower(substr(h, length(h) - 1))
	q = int((index(X, substr(lo, 1, 1)) - 1) / 4)
	line = substr(h, 1, length(h) - 2) ":" q
	if ($1 == "L") {
		r[line, v]++
		next
	}
	w[line, v]++
	at[line, ip]++
	ips[line] = index(ips[line] " ", " " ip " ") ? ips[line] : ips[line] " " ip
	next
}
END {
	for (line in ips) {
		if (!w[line, 0] || !w[line, 1])
			continue
		n = w[line, 0] + w[line, 1]
		printf "%s %d %d %d", line, n, w[line, 0], w[line, 1] > "/dev/stderr"
		k = split(ips[line], ip1, " ")
		for (i = 1; i <= k; i++)
			printf " %s:%d", ip1[i], at[line, ip1[i]] > "/dev/stderr"
		printf "\n" > "/dev/stderr"
		nlines++
		total += n
	}
	# Lines one vCPU writes and the other only reads, each at least
	# once per 8 of its faults: every read after the other'"'"'s write
	# misses, as a write would (false sharing of a read-mostly field).
	for (line in ips) {
		for (v = 0; v < 2; v++) {
			o = 1 - v
			if (w[line, v] >= pages / 16 && w[line, o] < pages / 16 &&
			    r[line, o] >= pages / 16)
				printf "%s %d %d %d %d\n", line, v, w[line, v],
				       o, r[line, o] > ro
		}
	}
	printf "SUMMARY %d %d %d %d %d\n", nlines, total, pages, maps[0], maps[1]
}' 2>"${TMPDIR:-/tmp}/shared-lines.$$" >"${TMPDIR:-/tmp}/shared-lines.$$.sum"

# Name the writing functions (the program is linked without PIE).
sort -k2,2nr "${TMPDIR:-/tmp}/shared-lines.$$" |
while read -r line n a b ipl; do
	q=${line#*:}
	addr=$(printf '0x%s%02x' "${line%:*}" $((q * 64)))
	fns=$(for ic in $ipl; do
		ip=${ic%:*}
		fn=$(addr2line -f -e "$prog" "0x$ip" | head -1)
		[ "$fn" = "??" ] && fn="0x$ip"
		echo "$fn ${ic#*:}"
	      done |
	      awk '{ n[$1] += $2 } END { for (f in n) print n[f], f }' |
	      sort -rn | awk '{printf "%s%s %d", s, $2, $1; s=", "}')
	printf '%s  %6d writes (vCPU0 %d, vCPU1 %d)  %s\n' "$addr" "$n" "$a" "$b" "$fns"
done | tee "${TMPDIR:-/tmp}/shared-lines.$$.out"
read -r _ nlines total p m0 m1 <"${TMPDIR:-/tmp}/shared-lines.$$.sum"
rm -f "${TMPDIR:-/tmp}/shared-lines.$$" "${TMPDIR:-/tmp}/shared-lines.$$.sum"
trap 'rm -f "${TMPDIR:-/tmp}/shared-lines.$$.out"' EXIT
awk -v l="$nlines" -v t="$total" -v p="$p" 'BEGIN {
	printf "%d faults; %d lines written by both vCPUs; %d writes to them, %.2f per fault\n", p, l, t, t / p }'
# The lines of the fault path: each vCPU writes them at least once per 8
# of its faults (the others are thread start-up, stacks and heap chunks
# that one thread had before the other).
awk -v p="$p" '$3 == "writes" {
	a = $5; sub(/,/, "", a); b = $7; sub(/\)/, "", b)
	if (a + 0 >= p / 16 && b + 0 >= p / 16) { n++; t += $2 }
} END {
	printf "written by each vCPU once per 8 faults or more: %d lines, %.2f writes per fault\n", n, t / p
}' "${TMPDIR:-/tmp}/shared-lines.$$.out"
# Lines written by one vCPU and read by the other, with the functions
# that wrote them.
nro=0
while read -r line v nw o nr; do
	q=${line#*:}
	addr=$(printf '0x%s%02x' "${line%:*}" $((q * 64)))
	printf '%s  written by vCPU%d (%d), read by vCPU%d (%d)\n' \
		"$addr" "$v" "$nw" "$o" "$nr"
	nro=$((nro + 1))
done <"${TMPDIR:-/tmp}/shared-lines.$$.ro"
rm -f "${TMPDIR:-/tmp}/shared-lines.$$.ro"
echo "written by one vCPU and read by the other once per 8 faults or more: $nro lines"
echo "SPTEs installed: vCPU0 $m0, vCPU1 $m1"
if [ "$m0" -ne $((p / 2)) ] || [ "$m1" -ne $((p / 2)) ]; then
	echo "shared-lines.sh: each vCPU should have installed $((p / 2))" >&2
	exit 1
fi
