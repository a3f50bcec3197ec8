# SPDX-License-Identifier: MIT
#
# Sourced by the command-line test scripts: a scratch directory removed on
# exit, fail(), which reports one failure and counts it in $failures, and
# passes().

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
