#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The scale scenarios (tests/scale/*.mmu), plain and seeded: a 1 TiB host
# under a 64 GiB memslot, and a workload of 416 vCPU threads.
set -u

mmulab=${MMULAB:?}
. "$(dirname "$0")/cli_lib.sh"

for f in "${SRCDIR:?}"/tests/scale/*.mmu; do
	for seed in "" "--seed 9"; do
		# shellcheck disable=SC2086 # no seed is no argument
		"$mmulab" -q $seed run "$f" >"$tmp/out" 2>&1 ||
			fail "run $seed $f: exit $?: $(cat "$tmp/out")"
		grep -q ': ok, ' "$tmp/out" || fail "run $seed $f: not ok"
	done
done

[ "$failures" = 0 ] || exit 1
