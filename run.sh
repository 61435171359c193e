#!/usr/bin/env bash
# The main job on the embedded default (local profile: one silo, SQLite under ./data, CPU):
#  1. embeds the bundled sample recordings with the bundled encoder fixture and prints a summary;
#  2. starts the host (HTTP API + Orleans silo) on 127.0.0.1:${APEX_PORT:-5000};
#  3. registers simulated tracks on the sample audio and replays a short synthetic stream of
#     streams/likes events (with duplicates and retries), checking the counts; plants two breakouts
#     (young tracks that take off twenty times as fast) and waits until the host reports them;
#  4. the host scores every track by itself (decode, embed with dynamic batching, head); with no
#     trained model yet it serves a head trained on synthetic data, labelled synthetic-demo;
#     prints predicted vs actual (calibration over mature tracks, emerging hits) once they are scored;
#  5. leaves the API running and prints its address and admin key. Ctrl+C stops it.
set -euo pipefail
cd "$(dirname "$0")"
source tools/prerequisites.sh
apex_prerequisites
# A fixed BLAS thread count whatever the load, so live training and `apex train` agree to the bit.
export MKL_DYNAMIC=FALSE

dotnet build src/Apex.Cli/Apex.Cli.csproj -c Release --nologo -v quiet -tl:off -clp:NoSummary
apex() { dotnet src/Apex.Cli/bin/Release/net10.0/apex.dll "$@"; }

apex embed src/Apex.Cli/samples --format table

data=./data
port=${APEX_PORT:-5000}
mkdir -p "$data"
if [ ! -s "$data/admin.key" ]; then
  # A fresh data folder: the host stores this key as its bootstrap admin key (hashed).
  head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | cut -c1-40 | sed 's/^/apex_admin_/' > "$data/admin.key"
  chmod 600 "$data/admin.key"
fi
key=$(cat "$data/admin.key")

APEX_BOOTSTRAP_ADMIN_KEY="$key" apex serve --urls "http://127.0.0.1:$port" --Apex:DataDir="$data" \
  --Apex:MediaRoot=src/Apex.Cli/samples --Logging:LogLevel:Default=Warning &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT INT TERM

apex simulate --url "http://127.0.0.1:$port" --key "$key" --tracks 40 --events 20000 --batch 500 \
  --audio brahms-hungarian-dance-5.ogg,macleod-sugar-plum-fairy.ogg,macleod-vibe-ace.ogg,sorohan-solo-trumpet-06.ogg \
  --seed "$(date +%s)" --start "$(date -u -d '30 days ago' +%Y-%m-%dT00:00:00Z)" --days 30 --breakouts 2

# Scoring runs in the background: wait (at most two minutes) until no track is queued, then show predicted vs actual.
apex report --url "http://127.0.0.1:$port" --key "$key" --platform suno --window 14d --limit 8 --wait 120

cat <<INFO

ApexCluster is running at http://127.0.0.1:$port (local profile, data in $data).
Web console: http://127.0.0.1:$port/console   (sign in with the admin key below)
Admin API key: $key   (send it as the X-Api-Key header; it is also in $data/admin.key)
Try:  curl -H "X-Api-Key: $key" http://127.0.0.1:$port/platforms/suno/tracks?sort=streams\\&limit=5
      curl -H "X-Api-Key: $key" http://127.0.0.1:$port/platforms/suno/breakouts
      apex report --url http://127.0.0.1:$port --key $key --platform udio
      curl http://127.0.0.1:$port/openapi/v1.json
Press Ctrl+C to stop.
INFO
wait $server
