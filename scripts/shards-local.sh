#!/usr/bin/env bash
# A sharded load run simulated on one machine (issue 8): one `bearing serve` sandbox on
# 127.0.0.1, N `bearing load PROFILE --shard i/N` processes in parallel against it (each with
# its own report directory, as N pods of the Kubernetes Indexed Job would have), then
# `bearing report merge` of the N shard reports. Prints each shard's result and the merged
# one; exits with the merge's exit code (0 merged and thresholds held, 1 a shard missing or
# failed or a threshold missed, 2 the shards are not one run).
#
# Usage: scripts/shards-local.sh [PROFILE]      (default: a 5 s, 300/s API + token profile)
#   SHARDS=3           N
#   DURATION=5s        overrides the profile's duration (every shard gets the same)
#   OUT=reports/<UTC>-shards-local   where shard-<i>/ and merged/ go
#   BEARING=target/release/bearing   the binary (built with cargo when it is the default)
#   STAGGER=5          shard 2 starts this many seconds late (as a slow pod would; issue 19);
#                      the start barrier (--barrier-dir) still starts every shard's clock at
#                      the same wall-clock second, so the merged rate is flat
# Only ever talks to 127.0.0.1. Needs: cargo (unless BEARING is given), Linux.
set -euo pipefail
cd "$(dirname "$0")/.."

SHARDS=${SHARDS:-3}
DURATION=${DURATION:-5s}
STAGGER=${STAGGER:-5}
OUT=${OUT:-reports/$(date -u +%Y%m%dT%H%M%SZ)-shards-local}
if [[ -z "${BEARING:-}" ]]; then
    echo "== building bearing (release)" >&2
    cargo build --release --quiet --bin bearing
    BEARING=$PWD/target/release/bearing
fi

WORK=$(mktemp -d)
SERVE_PID=""
LOAD_PIDS=()
cleanup() {
    for p in "${LOAD_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    [[ -n "$SERVE_PID" ]] && kill "$SERVE_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

PROFILE=${1:-}
if [[ -z "$PROFILE" ]]; then
    PROFILE=$WORK/sharded.yaml
    cat >"$PROFILE" <<'YAML'
name: sharded
description: API calls and token requests at 300/s in all, split across the shards.
duration: 5s
users: 24
rate: 300/s
thresholds:
  - "p99 < 500ms"
  - "error_rate < 1%"
  - "rate >= 250/s"
scenarios:
  - { name: api, kind: api, weight: 2, api: inventory }
  - { name: token, kind: token, weight: 1 }
YAML
fi

"$BEARING" keygen --client-id SampleConfId --out "$WORK/keys" >/dev/null
"$BEARING" serve --listen 127.0.0.1:0 --client "SampleConfId=$WORK/keys/cert.pem" \
    --token-lifetime 300s >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
# Readiness: the server prints its URLs once it listens.
for _ in $(seq 1 200); do
    grep -q "press ctrl-c" "$WORK/serve.out" 2>/dev/null && break
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 3; }
    sleep 0.05
done
TOKEN_URL=$(sed -n 's/^token endpoint: *//p' "$WORK/serve.out")
API_URL=$(sed -n 's/^inventory API: *//p' "$WORK/serve.out")
[[ -n "$TOKEN_URL" && -n "$API_URL" ]] || { echo "shards-local.sh: serve printed no URLs" >&2; exit 3; }

cat >"$WORK/target.yaml" <<YAML
token_url: $TOKEN_URL
client_id: SampleConfId
private_key: keys/private.pem
certificate: keys/cert.pem
apis:
  - { name: inventory, method: GET, url: $API_URL }
YAML

mkdir -p "$OUT"
echo "== $SHARDS shards of $PROFILE for $DURATION against $TOKEN_URL, reports in $OUT" >&2
for ((i = 0; i < SHARDS; i++)); do
    delay=0
    ((i == 2)) && delay=$STAGGER
    (sleep "$delay" && exec "$BEARING" load "$PROFILE" --target "$WORK/target.yaml" \
        --shard "$i/$SHARDS" --barrier-dir "$WORK/barrier" --barrier-timeout 60s \
        --duration "$DURATION" --threads 1 --report-dir "$OUT/shard-$i" -q \
        >"$OUT/shard-$i.out" 2>"$OUT/shard-$i.err") &
    LOAD_PIDS+=($!)
done
# A shard's own exit code is informative only (its thresholds judge its 1/N share);
# the merge decides, and flags a shard that did not finish.
for i in "${!LOAD_PIDS[@]}"; do
    rc=0
    wait "${LOAD_PIDS[$i]}" || rc=$?
    echo "== shard $i/$SHARDS exited $rc" >&2
    sed 's/^/   /' "$OUT/shard-$i.out" >&2
done
LOAD_PIDS=()

DIRS=()
for ((i = 0; i < SHARDS; i++)); do DIRS+=("$OUT/shard-$i"); done
echo "== bearing report merge ${DIRS[*]} --out $OUT/merged" >&2
rc=0
"$BEARING" report merge "${DIRS[@]}" --out "$OUT/merged" || rc=$?
exit "$rc"
