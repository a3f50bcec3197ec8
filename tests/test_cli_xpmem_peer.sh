#!/bin/sh
# SPDX-License-Identifier: MIT
#
# XPMEM importers as processes of their own, from the command line: a run
# with peers= starts `mmulab xpmem-peer` processes, they reach the frames
# through the memfd, every mapping they were granted is dropped by the
# end and each exits cleanly; --seed refuses them; xpmem-peer's usage.
set -u

mmulab=${MMULAB:?}
. "$(dirname "$0")/cli_lib.sh"
scn=$SRCDIR/examples/scenarios/xpmem-peer.mmu

# stat NAME: the xpmem stats counter NAME of $tmp/out.
stat() {
	sed -n "/^  xpmem stats/,/^[a-z]/p" "$tmp/out" |
		tr -s ' ' '\n' | grep -A1 -x "$1" | tail -1
}

for run in 1 2 3; do
	if ! "$mmulab" run "$scn" >"$tmp/out" 2>"$tmp/err"; then
		fail "run xpmem-peer.mmu (run $run): exit $?"
		cat "$tmp/out" "$tmp/err"
		continue
	fi
	attaches=$(stat attaches)
	faults=$(stat faults)
	dropped=$(stat dropped)
	accesses=$(stat accesses)
	[ "$attaches" = 3 ] || fail "run $run: $attaches attaches, not 3"
	[ "$(stat peers_lost)" = 0 ] || fail "run $run: a peer was lost"
	[ "$faults" = "$dropped" ] ||
		fail "run $run: $faults mappings granted, $dropped dropped"
	# The in-process importer makes 400 at most; the peers the rest.
	[ "$accesses" -gt 400 ] ||
		fail "run $run: $accesses accesses: the peers made none"
	echo "ok: run $run: $accesses accesses, $faults faults, all dropped"
done

if "$mmulab" run --seed 1 "$scn" >"$tmp/out" 2>&1 ||
   ! grep -q 'peers= starts importer processes' "$tmp/out"; then
	fail "run --seed with peers= was not refused"
	cat "$tmp/out"
fi

usage() { # expected-message args...
	want=$1
	shift
	"$mmulab" xpmem-peer "$@" >"$tmp/out" 2>&1
	status=$?
	if [ "$status" != 2 ] || ! grep -q -- "$want" "$tmp/out"; then
		fail "xpmem-peer $*: exit $status"
		cat "$tmp/out"
	fi
}
usage '--fd is required'
usage '--writes needs an integer from 0 to 100' --fd 0 --writes 101
usage "unexpected argument 'x'" --fd 0 x
"$mmulab" xpmem-peer --fd 0 </dev/null >"$tmp/out" 2>&1
status=$?
if [ "$status" != 1 ] || ! grep -q 'the exporter went away' "$tmp/out"; then
	fail "xpmem-peer on a non-socket: exit $status"
	cat "$tmp/out"
fi
"$mmulab" xpmem-peer --help | grep -q '^usage: mmulab xpmem-peer' ||
	fail "xpmem-peer --help"

[ "$failures" = 0 ] && echo "all xpmem-peer checks passed"
exit "$failures"
