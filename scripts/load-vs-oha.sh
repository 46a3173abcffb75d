#!/usr/bin/env bash
# bearing load vs oha (and stock goose), side by side in one run, against the same API route
# of a local `bearing serve` on 127.0.0.1 (issue 7's performance targets):
#   1. maximum rate: 32 connections/users, closed model, DURATION seconds each;
#   2. fixed 2,000 req/s: oha -q 2000 vs bearing's even pacer (rate: 2000/s).
# Prints requests/s and p50 for each tool and the ratios (targets: bearing >= 0.7x oha's
# req/s at max rate; bearing's p50 within 1.25x oha's at 2,000 req/s). bearing's p50 is its
# uncorrected figure (from the actual send, as oha measures), its corrected one is shown too.
#
# Usage: scripts/load-vs-oha.sh            (DURATION=10 CONNS=32 ROUNDS=1 by default)
# Only ever talks to 127.0.0.1. Needs: cargo, jq (installed with apt-get when missing and root).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-1}
FIXED_RATE=${FIXED_RATE:-2000}
PORT=${PORT:-18080}

if ! command -v oha >/dev/null 2>&1; then
  echo "== installing oha (cargo install oha --locked)" >&2
  cargo install oha --locked >&2
fi
if ! command -v jq >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq jq >/dev/null; else echo "jq missing" >&2; exit 3; fi
fi
echo "== building bearing and the stock-goose example (release)" >&2
cargo build --release --quiet
cargo build --release --quiet -p bearing-load --example stock_goose
BEARING=target/release/bearing
GOOSE=target/release/examples/stock_goose

WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

"$BEARING" keygen --client-id LoadClient --out "$WORK/keys" >/dev/null
SECRET=load-vs-oha-admin-secret
"$BEARING" serve --listen "127.0.0.1:$PORT" --client "LoadClient=$WORK/keys/cert.pem" \
  --token-lifetime 3600s --admin-secret "$SECRET" -q >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -fsS "$BASE/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$BASE/health" >/dev/null
URL="$BASE/bnpapi/v1/store/inventory"

cat >"$WORK/target.yaml" <<YAML
token_url: $BASE/oauth/token
client_id: LoadClient
private_key: $WORK/keys/private.pem
certificate: $WORK/keys/cert.pem
apis:
  - { name: inventory, method: GET, url: $URL }
YAML
TOKEN=$("$BEARING" token --target "$WORK/target.yaml" --show-token --output json | jq -r '.access_token')
[ -n "$TOKEN" ] && [ "$TOKEN" != null ]

cat >"$WORK/max.yaml" <<YAML
name: max-rate
duration: ${DURATION}s
users: $CONNS
scenarios: [{ name: api, kind: api, api: inventory }]
YAML
cat >"$WORK/fixed.yaml" <<YAML
name: fixed-rate
duration: ${DURATION}s
users: $CONNS
rate: ${FIXED_RATE}/s
scenarios: [{ name: api, kind: api, api: inventory }]
YAML

cpu() { /usr/bin/time -f "%U %S" -o "$1" "${@:2}"; }
cpu_us_per_req() { awk -v n="$2" '{ printf "%.1f", ($1 + $2) * 1e6 / n }' "$1"; }

oha_run() { # extra args...
  cpu "$WORK/oha.cpu" oha --no-tui --output-format json -z "${DURATION}s" -c "$CONNS" -H "Authorization: Bearer $TOKEN" "$@" "$URL" >"$WORK/oha.json"
  local rps p50 n
  rps=$(jq '.summary.requestsPerSec' "$WORK/oha.json")
  p50=$(jq '.latencyPercentiles.p50 * 1e6' "$WORK/oha.json")
  n=$(jq '[.statusCodeDistribution[]] | add' "$WORK/oha.json")
  echo "$rps $p50 $(cpu_us_per_req "$WORK/oha.cpu" "$n")"
}
bearing_run() { # profile
  rm -rf "$WORK/r"
  cpu "$WORK/b.cpu" "$BEARING" -q load "$1" --target "$WORK/target.yaml" --report-dir "$WORK/r" >/dev/null
  local s="$WORK/r/summary.json" n
  n=$(jq '.scenarios[0].phases.api.count' "$s")
  echo "$(jq '.scenarios[0].phases.api.rate' "$s") $(jq '.scenarios[0].phases.api.latency_us.uncorrected.p50' "$s") $(cpu_us_per_req "$WORK/b.cpu" "$n") $(jq '.scenarios[0].phases.api.latency_us.corrected.p50' "$s")"
}
goose_run() { # users seconds [throttle]
  cpu "$WORK/g.cpu" "$GOOSE" "$URL" "$TOKEN" "$@" >"$WORK/g.json" 2>/dev/null
  echo "$(jq '.rps' "$WORK/g.json") $(jq '.p50_us' "$WORK/g.json") $(cpu_us_per_req "$WORK/g.cpu" "$(jq '.requests' "$WORK/g.json")")"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); oha $(oha --version | awk '{print $2}'); $(date -u +%FT%TZ)"
printf '%-28s %12s %10s %14s\n' "run" "req/s" "p50 µs" "CPU µs/req"
for round in $(seq 1 "$ROUNDS"); do
  read -r o_rps o_p50 o_cpu < <(oha_run)
  read -r b_rps b_p50 b_cpu b_p50c < <(bearing_run "$WORK/max.yaml")
  read -r g_rps g_p50 g_cpu < <(goose_run "$CONNS" "$DURATION")
  printf '%-28s %12.0f %10.0f %14s\n' "max: oha -c $CONNS" "$o_rps" "$o_p50" "$o_cpu" "max: bearing load ($CONNS users)" "$b_rps" "$b_p50" "$b_cpu" "max: stock goose ($CONNS users)" "$g_rps" "$g_p50" "$g_cpu"
  read -r of_rps of_p50 of_cpu < <(oha_run -q "$FIXED_RATE")
  read -r bf_rps bf_p50 bf_cpu bf_p50c < <(bearing_run "$WORK/fixed.yaml")
  read -r gf_rps gf_p50 gf_cpu < <(goose_run "$CONNS" "$DURATION" "$FIXED_RATE")
  printf '%-28s %12.0f %10.0f %14s\n' "$FIXED_RATE/s: oha -q" "$of_rps" "$of_p50" "$of_cpu" "$FIXED_RATE/s: bearing (paced)" "$bf_rps" "$bf_p50" "$bf_cpu" "$FIXED_RATE/s: stock goose throttle" "$gf_rps" "$gf_p50" "$gf_cpu"
  echo "round $round: max req/s bearing/oha = $(awk -v a="$b_rps" -v b="$o_rps" 'BEGIN{printf "%.2f", a/b}') (target >= 0.70), goose/oha = $(awk -v a="$g_rps" -v b="$o_rps" 'BEGIN{printf "%.2f", a/b}')"
  echo "round $round: p50 at $FIXED_RATE/s bearing/oha = $(awk -v a="$bf_p50" -v b="$of_p50" 'BEGIN{printf "%.2f", a/b}') (target <= 1.25; bearing corrected p50 ${bf_p50c} µs), goose/oha = $(awk -v a="$gf_p50" -v b="$of_p50" 'BEGIN{printf "%.2f", a/b}')"
done
