#!/usr/bin/env bash
# The main job on the embedded default (CPU): embeds the bundled sample recordings with the bundled
# encoder fixture and prints a summary. Extra arguments go to `apex embed`.
set -euo pipefail
cd "$(dirname "$0")"
source tools/prerequisites.sh
apex_prerequisites

dotnet build src/Apex.Cli/Apex.Cli.csproj -c Release --nologo -v quiet -tl:off -clp:NoSummary
exec dotnet src/Apex.Cli/bin/Release/net10.0/apex.dll embed src/Apex.Cli/samples --format table "$@"
