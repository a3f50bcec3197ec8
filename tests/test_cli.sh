#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The mmulab command: exit statuses, usage errors, the JSON report, and
# replay of seeded runs.
#
#	test_cli.sh PATH-TO-MMULAB
set -u

mmulab=${MMULAB:-$1}
. "$(dirname "$0")/cli_lib.sh"

# expect STATUS ARGS...: run mmulab, compare the exit status.
expect() {
	status_is "$@"
	if [ "$1" = 2 ] && ! [ -s "$tmp/err" ]; then
		shift
		fail "mmulab $*: usage error without a message on stderr"
	fi
}

expect 0 --version
grep -q '^mmulab [0-9]' "$tmp/out" || fail "--version prints no version"
expect 0 --help
grep -q 'usage: mmulab' "$tmp/out" || fail "--help prints no usage"

expect 2
expect 2 frobnicate
expect 2 --frobnicate run
expect 2 run no-such-scenario
expect 2 run default extra
expect 2 --seed run
expect 2 --seed abc run
expect 2 --seed -1 run
expect 2 --seed 12x run
expect 2 list --seed 1
expect 2 list extra
expect 2 run --json --ftrace
expect 2 run --trace
expect 2 run --trace "$tmp/no/such/dir/t.json"
expect 2 list --trace "$tmp/t.json"
expect 2 show
expect 2 show no-such-scenario
expect 2 run "$tmp/no-such-file.mmu"
grep -q "cannot open '.*no-such-file.mmu': No such file" "$tmp/err" ||
	fail "run of a missing file: message"
expect 2 run "$tmp"
grep -q "cannot read '$tmp': Is a directory" "$tmp/err" ||
	fail "run of a directory: message"
expect 0 --help
grep -q '^  check ' "$tmp/out" || fail "--help does not list check"
grep -q '^  show ' "$tmp/out" || fail "--help does not list show"

expect 0 list
grep -q '^default ' "$tmp/out" || fail "list does not show default"
grep -q '^fault-race ' "$tmp/out" || fail "list does not show fault-race"
expect 0 list --json
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "mmulab-scenarios/1"
assert "default" in [s["name"] for s in d["scenarios"]]
' "$tmp/out" || fail "list --json"

expect 0 run
grep -q '^result  *ok$' "$tmp/out" || fail "run: no 'result ok' line"
expect 0 run default --quiet
[ "$(wc -l <"$tmp/out")" = 1 ] || fail "--quiet printed more than a line"
grep -q '^default: ok, ' "$tmp/out" || fail "--quiet summary"

expect 0 run --json
python3 - "$tmp/out" <<'PY' || fail "run --json: bad report"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "mmulab-report/1", d["schema"]
assert d["scenario"] == "default" and d["result"] == "ok"
assert d["source"] == {"kind": "builtin", "name": "default"}
vm = d["vms"][0]
assert vm["name"] == "vm0" and len(vm["vcpus"]) == 4 and vm["stale_sptes"] == 0
assert vm["verify_points"] >= 4 and vm["stat"]["mmu_invalidations"] > 0
assert vm["stat"]["age_young"] >= 2 and vm["stat"]["pages_4k"] == 0
assert sum(v["stat"]["pf_fixed"] for v in vm["vcpus"]) > 0
assert d["deterministic"] is None
assert d["data_errors"] == 0 and d["warnings"] == 0 and d["checks"] > 0
f = d["host"]["frames"]
# Two hosts (the tour's and the pressure run's), each keeps its zero page.
assert f["free_end"] == f["total"] - 2 and 0 < f["used_peak"] < f["total"]
assert d["vm_events"]["pgalloc"] == d["vm_events"]["pgfree"]
assert d["vm_events"]["mmu_notify_start"] == d["vm_events"]["mmu_notify_end"]
for ev in ("UNMAP", "CLEAR", "PROTECTION_VMA", "PROTECTION_PAGE"):
    assert d["invalidations"][ev] > 0, ev
subs = {s["name"]: s for s in d["subscribers"]}
c = subs["counter"]["callbacks"]
assert c["invalidate_range_start"] == c["invalidate_range_end"] > 0
assert c["release"] == 1
rec = d["records"]
assert rec["fork_protection_page"] >= 2 and rec["munmap_unmap"] == 2
assert rec["starts_without_end"] == 0 and rec["ends_without_start"] == 0
assert rec["pressure_pswpout"] > 0 and rec["pressure_ksm_sharing"] > 0
assert len(d["steps"]) > 0 and d["failures"] == []
PY

# A seed replays: same hash, same report, byte for byte.
expect 0 run --json --seed 7
cp "$tmp/out" "$tmp/seed7.a"
expect 0 --seed 0x7 run --json
cmp -s "$tmp/seed7.a" "$tmp/out" || fail "--seed 7 did not replay"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["deterministic"]
assert d["seed"] == 7 and len(d["log_hash"]) == 16 and d["tasks"] == 16
' "$tmp/seed7.a" || fail "--seed: no deterministic section"
expect 0 run --quiet --seed 8
grep -q 'seed 8 log hash [0-9a-f]\{16\}$' "$tmp/out" || fail "--seed: no hash"

for seed in 1 2 3 4 5 6; do
	expect 0 run --quiet --seed $seed
done

if [ "$failures" != 0 ]; then
	echo "$failures failures"
	exit 1
fi
echo "all passed"
