# SPDX-License-Identifier: MIT
#
# Sourced by the command-line test scripts: a scratch directory removed on
# exit, and fail(), which reports one failure and counts it in $failures.

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
