#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test project.
set -euo pipefail
cd "$(dirname "$0")"
source tools/prerequisites.sh
apex_test_prerequisites
# libtorch's MKL picks its thread count by itself unless told not to; a count that follows the machine's
# load changes how sums are split, and the tests compare live and offline training to the bit.
export MKL_DYNAMIC=FALSE
# One libtorch thread per process: the two lanes below keep both cores busy, and libtorch's second
# thread then waits on a core the other lane holds. Measured with the other core busy: a training test
# took 83 s with the default two threads and 21 s with one (25 s alone with two). Every process of the
# run (tests, hosts they start) inherits it, so live and offline training still sum alike.
export OMP_NUM_THREADS=1

dotnet build ApexCluster.sln -c Release --nologo -v quiet -tl:off -clp:NoSummary

# Two lanes, one per core, so that the run ends about when half the work is done. The two heaviest
# projects (Cluster and Silo, both starting many silos) go to different lanes but not side by side from
# the start: run together they slowed each other by a third (minutes on a 2-core machine, alone or
# beside the other lane: Cluster 9-11, Silo 8-12, Cli 6.5, Training 1-2.5, Arena 1.5, the rest under 1).
# --blame-hang-timeout: a stuck test fails the run with a dump instead of hanging CI; every test's
# duration is printed, to size the suite. Arguments (e.g. --filter) go to every project.
# Each lane also keeps its output, so that a failed run ends with its failures, not somewhere in the
# middle of two interleaved lanes.
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
lane() {
    local failed=0 project
    for project in "$@"; do
        dotnet test "tests/$project" -c Release --no-build --nologo --blame-hang-timeout 10m --logger "console;verbosity=normal" "${TEST_ARGS[@]}" 2>&1 \
            | tee "$LOGS/$project.log" || failed=1
    done
    return "$failed"
}

TEST_ARGS=("$@")
FIRST=(Apex.Cluster.Tests Apex.Training.Tests Apex.Web.Tests Apex.Arena.Tests Apex.Embedding.Tests Apex.Core.Tests)
SECOND=(Apex.Cli.Tests Apex.Silo.Tests Apex.Audio.Tests)
lane "${FIRST[@]}" &
first=$!
lane "${SECOND[@]}" &
second=$!
status=0
wait "$first" || status=1
wait "$second" || status=1
# Every test project runs in one lane or the other.
missing=$(comm -23 <(ls tests | grep -E '^Apex\..*\.Tests$' | sort) <(printf '%s\n' "${FIRST[@]}" "${SECOND[@]}" | sort))
if [ -n "$missing" ]; then
    echo "test.sh: these test projects are in no lane: $missing" >&2
    status=1
fi
if [ "$status" -ne 0 ]; then
    echo
    echo "test.sh: FAILED. The failures, by project:"
    for log in "$LOGS"/*.log; do
        if grep -qE '^\s+Failed |\[FAIL\]|The active test run was aborted|Test host process crashed' "$log"; then
            echo "== $(basename "$log" .log)"
            grep -E -A 25 '^\s+Failed |The active test run was aborted|Test host process crashed' "$log" | head -200
        fi
    done
fi
exit "$status"
