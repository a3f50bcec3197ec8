#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Every built-in and every example scenario runs and passes, plain and
# seeded.
set -u

mmulab=${MMULAB:?}
. "$(dirname "$0")/cli_lib.sh"

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
