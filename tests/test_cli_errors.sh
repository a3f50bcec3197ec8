#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Bad scenario files: each line of scenario_errors.txt is an input (with
# printf %b escapes: \n, \t, \xHH) and, after a tab, the exact message
# mmulab must print for it.  Every one must exit 2, print that message
# alone on stderr, and print nothing on stdout.
set -u

mmulab=${MMULAB:?}
table=${SRCDIR:?}/tests/scenario_errors.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
cases=0
tab=$(printf '\t')

cd "$tmp" || exit 1
while IFS= read -r line; do
	case $line in
	'' | '##'*) continue ;;
	esac
	input=${line%%"$tab"*}
	want=${line#*"$tab"}
	cases=$((cases + 1))
	printf '%b' "$input" >s.mmu
	"$mmulab" run s.mmu >out 2>err
	status=$?
	got=$(cat err)
	if [ "$status" != 2 ] || [ "$got" != "$want" ] || [ -s out ]; then
		echo "FAIL: input: $input"
		echo "  status $status, want 2"
		echo "  got:  $got"
		echo "  want: $want"
		failures=$((failures + 1))
	fi
done <"$table"

# A NUL byte cannot be written in the table.
printf 'process p\000\n' >s.mmu
"$mmulab" run s.mmu 2>err
[ $? = 2 ] && [ "$(cat err)" = "s.mmu:1:10: error: unexpected byte 0x00; a scenario is printable ASCII" ] ||
	{ echo "FAIL: NUL byte"; failures=$((failures + 1)); }

echo "$cases cases, $failures failures"
[ "$failures" = 0 ]
