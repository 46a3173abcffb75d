#!/usr/bin/env bash
# Protected-API throughput of the sandbox gateway with an external load tool (issue 3:
# >= 30,000 requests/s on the 2-core dev machine). Starts examples/api_server (release), then
# runs wrk (or oha when wrk is absent) for DURATION against GET /bnpapi/v1/store/inventory with
# a valid bearer token, and prints the tool's summary plus the gateway's own counters.
#
# Usage: crates/gateway/scripts/api-throughput.sh [DURATION=10s] [CONNECTIONS=32]
set -euo pipefail
DURATION="${1:-10s}"
CONNS="${2:-32}"
cd "$(dirname "$0")/../../.."
cargo build --release -q -p bearing-gateway --example api_server
BIN=target/release/examples/api_server
OUT="$(mktemp)"
"$BIN" > "$OUT" &
SERVER_PID=$!
trap 'kill -INT "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; rm -f "$OUT"' EXIT
for _ in $(seq 1 100); do grep -q '^ADMIN_SECRET=' "$OUT" && break; sleep 0.1; done
API_URL="$(sed -n 's/^API_URL=//p' "$OUT")"
TOKEN="$(sed -n 's/^TOKEN=//p' "$OUT")"
ADMIN_URL="$(sed -n 's/^ADMIN_URL=//p' "$OUT")"
ADMIN_SECRET="$(sed -n 's/^ADMIN_SECRET=//p' "$OUT")"
[ -n "$TOKEN" ] || { echo "gateway did not start" >&2; exit 1; }
curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" "$API_URL"
if command -v wrk >/dev/null; then
  wrk -t1 -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$API_URL"
else
  oha -c "$CONNS" -z "$DURATION" -H "Authorization: Bearer $TOKEN" "$API_URL"
fi
curl -fsS -H "X-Admin-Secret: $ADMIN_SECRET" "$ADMIN_URL/counters"; echo
