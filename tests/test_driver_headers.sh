#!/usr/bin/env bash
# The in-tree secondary MMUs are drivers like any other: each compiles
# against the public headers (include/mmulab/) and its own directories
# alone, never against mm/'s private ones.  Every driver source is
# preprocessed with only include/ on the path, and every header it pulls
# in, directly or not (quoted relative paths included), must lie in
# include/mmulab/ or in the driver's own directories.
#
# Usage: test_driver_headers.sh CC SRCDIR
# A second run checks a planted tree in which a driver includes
# mm/internal.h, so the check is seen to fire.
set -u
cc=$1
src=$2
fail=0

# driver name, its own directories (relative to the root), its sources
drivers() {
	echo "kvm virt/kvm,arch/x86/kvm virt/kvm arch/x86/kvm"
	echo "hmm drivers/hmm drivers/hmm"
	echo "gru drivers/misc/sgi-gru drivers/misc/sgi-gru"
	echo "xpmem drivers/misc/xpmem drivers/misc/xpmem"
}

# check ROOT NAME OWN FILE: print each header FILE uses that is neither
# public nor the driver's own; fail when it cannot be preprocessed.
check_file() {
	local root=$1 name=$2 own=$3 file=$4 deps dep ok d
	if ! deps=$(cd "$root" && "$cc" -std=gnu11 -D_GNU_SOURCE -MM \
			-Iinclude "$file" 2>&1); then
		echo "$name: $file does not preprocess against include/ alone:"
		echo "$deps" | head -5
		return 1
	fi
	# make-style dependency list: drop the target and the line breaks.
	deps=$(sed -e 's/^[^:]*://' -e 's/\\$//' <<<"$deps" | tr -s ' \n' '\n')
	for dep in $deps; do
		dep=$(cd "$root" && realpath -m --relative-to=. "$dep")
		[ "$dep" = "$file" ] && continue
		ok=0
		case $dep in include/mmulab/*) ok=1 ;; esac
		for d in ${own//,/ }; do
			case $dep in "$d"/*) ok=1 ;; esac
		done
		if [ "$ok" -eq 0 ]; then
			echo "$name: $file includes $dep, a private header"
			return 1
		fi
	done
	return 0
}

# check_tree ROOT: 0 if every driver of ROOT is clean.
check_tree() {
	local root=$1 bad=0 name own dirs f n
	while read -r name own dirs; do
		n=0
		for f in $(cd "$root" && find $dirs -name '*.c' | sort); do
			check_file "$root" "$name" "$own" "$f" || bad=1
			n=$((n + 1))
		done
		if [ "$n" -eq 0 ]; then
			echo "$name: no sources under $dirs"
			bad=1
		fi
	done < <(drivers)
	return $bad
}

if check_tree "$src"; then
	echo "ok: every driver compiles against include/mmulab/ and its own" \
	     "headers"
else
	echo "FAIL: a driver uses a private header"
	fail=1
fi

# The check must fire: a copy of the public headers and the drivers, in
# which one driver reaches into mm/.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/mm"
(cd "$src" && cp -r --parents include virt/kvm arch/x86/kvm drivers "$tmp")
printf '/* private */\n' >"$tmp/mm/internal.h"
printf '#include "../../mm/internal.h"\n' >>"$tmp/drivers/hmm/dmirror.c"
if out=$(check_tree "$tmp"); then
	echo "FAIL: a driver including mm/internal.h was not caught"
	fail=1
elif ! grep -q '^hmm: drivers/hmm/dmirror.c includes mm/internal.h' \
	     <<<"$out"; then
	echo "FAIL: the planted include was reported as: $out"
	fail=1
else
	echo "ok: a driver including mm/internal.h is caught"
fi
exit $fail
