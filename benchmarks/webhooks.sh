#!/usr/bin/env bash
# Webhook delivery rate: a local host (the Release build) delivers N feed events to a receiver on
# loopback (Python's threaded HTTP server answering 200), counted at the receiver; then checks that
# each was delivered once. Usage: benchmarks/webhooks.sh [events]  (after ./test.sh or a Release build)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
WORK=$(mktemp -d)
KEY=bench-admin-key-0123456789abcdef0123
HOST_PORT=$((20000 + RANDOM % 10000)); RECEIVER_PORT=$((HOST_PORT + 1))
cleanup() { kill "${HOST_PID:-}" "${RECEIVER_PID:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
cat > "$WORK/receiver.py" <<'PY'
import http.server, socketserver, sys, threading
count, lock = 0, threading.Lock()
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        global count
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock: count += 1
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        body = str(count).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
PY
/usr/bin/python3 "$WORK/receiver.py" "$RECEIVER_PORT" & RECEIVER_PID=$!
mkdir -p "$WORK/media"
APEX_BOOTSTRAP_ADMIN_KEY=$KEY dotnet src/Apex.Silo/bin/Release/net10.0/Apex.Silo.dll --urls "http://127.0.0.1:$HOST_PORT" --Apex:DataDir="$WORK/data" \
    --Apex:MediaRoot="$WORK/media" --Apex:SyntheticDemo=false --Apex:Webhooks:AllowLoopback=true --Logging:LogLevel:Default=Warning > "$WORK/host.log" 2>&1 & HOST_PID=$!
for _ in $(seq 1 90); do curl -sf "http://127.0.0.1:$HOST_PORT/health" > /dev/null && break; sleep 1; done
curl -sf -H "X-Api-Key: $KEY" -H 'Content-Type: application/json' -d "{\"url\":\"http://127.0.0.1:$RECEIVER_PORT/hook\",\"types\":[\"scored\"]}" \
    "http://127.0.0.1:$HOST_PORT/subscriptions" > /dev/null
# The events go straight into the feed (as its writer records them), so that only delivery is timed.
/usr/bin/python3 - "$WORK/data/scores.db" "$N" <<'PY'
import json, sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
now = int(time.time() * 1000)
rows = [("scored", f"scored:bench-{i}:m1", "suno", f"bench-{i}", now, json.dumps({"track_id": f"bench-{i}", "model_version": "m1"})) for i in range(n)]
connection = sqlite3.connect(db, timeout=30)
connection.executemany("INSERT INTO apex_signals (type, key, platform, track_id, at, data) VALUES (?, ?, ?, ?, ?, ?)", rows)
connection.commit()
PY
start=$(date +%s.%N)
until [ "$(curl -s "http://127.0.0.1:$RECEIVER_PORT/")" -ge "$N" ]; do sleep 0.2; done
end=$(date +%s.%N)
sleep 3
received=$(curl -s "http://127.0.0.1:$RECEIVER_PORT/")
awk -v n="$N" -v s="$start" -v e="$end" -v r="$received" 'BEGIN { printf "delivered %d events in %.1f s: %.0f deliveries/s; requests received %d (%d repeated)\n", n, e - s, n / (e - s), r, r - n }'
