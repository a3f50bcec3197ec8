#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Every built-in and every example scenario runs and passes, plain and
# seeded.
set -u

mmulab=${MMULAB:?}
. "$(dirname "$0")/cli_lib.sh"

# passes ARGS...: mmulab run --quiet ARGS must exit 0 and say ok.
passes() {
	"$mmulab" run --quiet "$@" >"$tmp/out" 2>"$tmp/err"
	status=$?
	if [ "$status" != 0 ] || ! grep -q ': ok, ' "$tmp/out"; then
		fail "run $*: exit $status"
		cat "$tmp/out" "$tmp/err"
	fi
}

for name in $("$mmulab" list --quiet); do
	passes "$name"
	passes "$name" --seed 1
done
for f in "$SRCDIR"/examples/scenarios/*.mmu; do
	passes "$f"
	case $f in
	*/soak.mmu | */xpmem-peer.mmu) ;; # timed; importer processes
	*) passes "$f" --seed 9 ;;
	esac
done

if [ "$failures" != 0 ]; then
	echo "$failures failures"
	exit 1
fi
echo "all passed"
