# SPDX-License-Identifier: MIT
#
# Sourced by the command-line test scripts: a scratch directory removed on
# exit, fail(), which reports one failure and counts it in $failures,
# passes() and status_is().

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# passes ARGS...: $mmulab run --quiet ARGS must exit 0 and say ok.
passes() {
	"$mmulab" run --quiet "$@" >"$tmp/out" 2>"$tmp/err"
	status=$?
	if [ "$status" != 0 ] || ! grep -q ': ok, ' "$tmp/out"; then
		fail "run $*: exit $status"
		cat "$tmp/out" "$tmp/err"
	fi
}

# status_is STATUS ARGS...: run $mmulab ARGS (output in $tmp/out and
# $tmp/err) and fail unless it exits with STATUS; returns 0 when it did.
status_is() {
	want=$1
	shift
	"$mmulab" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" = "$want" ] && return 0
	fail "mmulab $*: exit $got, want $want"
	return 1
}
