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

# is_own DEP OWN: is header DEP public or in one of the driver's own
# directories (OWN, comma-separated)?
is_own() {
	local d
	case $1 in include/mmulab/*) return 0 ;; esac
	for d in ${2//,/ }; do
		case $1 in "$d"/*) return 0 ;; esac
	done
	return 1
}

# check_driver ROOT NAME OWN FILE...: print each header the files use
# that is neither public nor the driver's own (one preprocessor run for
# all of them); fail also when they cannot be preprocessed.
check_driver() {
	local root=$1 name=$2 own=$3 deps dep file bad=0
	shift 3
	if ! deps=$(cd "$root" && "$cc" -std=gnu11 -D_GNU_SOURCE -MM \
			-Iinclude "$@" 2>&1); then
		echo "$name: does not preprocess against include/ alone:"
		echo "$deps" | head -5
		return 1
	fi
	# make-style rules, "file.o: file.c headers...": a line per header,
	# "file header", the header's path made relative to the root.
	local pairs
	pairs=$(sed -e 's/\\$//' <<<"$deps" | tr -s ' \t' '\n\n' |
		awk '/\.o:$/ { next } /\.c$/ { f = $0; next } NF { print f, $0 }')
	[ -n "$pairs" ] || return 0
	while read -r file dep; do
		if ! is_own "$dep" "$own"; then
			echo "$name: $file includes $dep, a private header"
			bad=1
		fi
	done < <(paste -d ' ' <(cut -d ' ' -f 1 <<<"$pairs") \
		<(cut -d ' ' -f 2 <<<"$pairs" |
		  (cd "$root" && xargs realpath -m --relative-to=.)))
	return $bad
}

# check_tree ROOT: 0 if every driver of ROOT is clean.
check_tree() {
	local root=$1 bad=0 name own dirs files
	while read -r name own dirs; do
		# shellcheck disable=SC2086
		files=$(cd "$root" && find $dirs -name '*.c' | sort)
		if [ -z "$files" ]; then
			echo "$name: no sources under $dirs"
			bad=1
			continue
		fi
		# shellcheck disable=SC2086
		check_driver "$root" "$name" "$own" $files || bad=1
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
