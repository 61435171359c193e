#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test project.
set -euo pipefail
cd "$(dirname "$0")"
source tools/prerequisites.sh
apex_test_prerequisites

dotnet build ApexCluster.sln -c Release --nologo -v quiet -tl:off -clp:NoSummary
# --blame-hang-timeout: a stuck test fails the run with a dump instead of hanging CI.
dotnet test ApexCluster.sln -c Release --no-build --nologo --blame-hang-timeout 10m "$@"
