#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Bad scenario files: each line of scenario_errors.txt is an input (with
# printf %b escapes: \n, \t, \xHH) and, after a tab, the exact message
# mmulab must print for it.  Every one must exit 2, print that message
# alone on stderr, and print nothing on stdout.  Then the command line's
# errors (cli_errors.txt) and its answer to a full standard output.
set -u

mmulab=${MMULAB:?}
table=${SRCDIR:?}/tests/scenario_errors.txt
. "$(dirname "$0")/cli_lib.sh"
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

# Command-line errors: cli_errors.txt has the arguments, the exit status
# and the first line of stderr; stdout must stay empty.
while IFS= read -r line; do
	case $line in
	'' | '##'*) continue ;;
	esac
	args=${line%%"$tab"*}
	rest=${line#*"$tab"}
	want_status=${rest%%"$tab"*}
	want=${rest#*"$tab"}
	cases=$((cases + 1))
	# shellcheck disable=SC2086 # the arguments are split at spaces
	"$mmulab" $args >out 2>err </dev/null
	status=$?
	got=$(head -n 1 err)
	if [ "$status" != "$want_status" ] || [ "$got" != "$want" ] ||
	   [ -s out ]; then
		echo "FAIL: mmulab $args"
		echo "  status $status, want $want_status"
		echo "  got:  $got"
		echo "  want: $want"
		failures=$((failures + 1))
	fi
done <"$SRCDIR/tests/cli_errors.txt"

# Standard output on a full device: every command fails with exit 1 and
# says so, instead of exiting 0 having written nothing.
if [ -w /dev/full ]; then
	printf 'host frames=64\nprocess p\n' >ok.mmu
	for args in "run" "run --json" "run --quiet" "run ok.mmu" "list" \
	    "list --json" "show fault-race" "check --seeds 1" \
	    "check --help" "--help" "--version"; do
		cases=$((cases + 1))
		# shellcheck disable=SC2086
		"$mmulab" $args >/dev/full 2>err
		status=$?
		if [ "$status" != 1 ] ||
		   ! grep -q '^mmulab: writing standard output failed' err; then
			echo "FAIL: mmulab $args >/dev/full: status $status"
			cat err
			failures=$((failures + 1))
		fi
	done
	cases=$((cases + 1))
	"$mmulab" run --trace /dev/full >/dev/null 2>err
	[ $? = 1 ] && grep -q 'writing the trace failed' err ||
		{ echo "FAIL: --trace /dev/full"; failures=$((failures + 1)); }
fi

echo "$cases cases, $failures failures"
[ "$failures" = 0 ]
