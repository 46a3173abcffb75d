#!/usr/bin/env bash
# Soak (issues 7 and 9): runs the sandbox (`bearing serve`, release build) under sustained
# `bearing load` — token requests with fresh assertions and API calls — for SOAK_SECONDS,
# sampling every SAMPLE_SECONDS: the server's resident memory, open file descriptors, and
# token and jti (replay) store sizes from the admin counters, and the load generator's
# resident memory. Prints the table, whether each figure stayed bounded (its maximum over
# the second half within 25 % of the first half's, or under a small floor), and the load
# generator's RSS at the end over its RSS at 1 minute (issue 7: within 1.2x after 10 min).
#
# Usage: scripts/soak.sh                    (10 minutes)
#   SOAK_SECONDS=600     how long the load runs
#   SOAK_RATE=400        total arrival rate per second (1/4 token requests, 3/4 API calls)
#   TOKEN_LIFETIME=30s   sandbox token lifetime (the token store holds about rate × lifetime)
#   SAMPLE_SECONDS=10    sampling period
# Only ever talks to 127.0.0.1. Needs: cargo, curl, jq, Linux /proc.
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_RATE=${SOAK_RATE:-400}
TOKEN_LIFETIME=${TOKEN_LIFETIME:-30s}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-10}
for tool in cargo curl jq; do
    command -v "$tool" >/dev/null || { echo "soak.sh: $tool is not on the PATH" >&2; exit 3; }
done

echo "== building bearing (release)" >&2
cargo build --release --quiet --bin bearing
BEARING=$PWD/target/release/bearing
WORK=$(mktemp -d)
SERVE_PID=""
LOAD_PID=""
cleanup() {
    [[ -n "$LOAD_PID" ]] && kill "$LOAD_PID" 2>/dev/null || true
    [[ -n "$SERVE_PID" ]] && kill "$SERVE_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BEARING" keygen --client-id SampleConfId --out "$WORK/keys" >/dev/null
SECRET="soak-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
"$BEARING" serve --listen 127.0.0.1:0 --client "SampleConfId=$WORK/keys/cert.pem" \
    --token-lifetime "$TOKEN_LIFETIME" --admin-secret "$SECRET" -q >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
# Readiness: the server prints its URLs once it listens.
for _ in $(seq 1 200); do
    grep -q "press ctrl-c" "$WORK/serve.out" 2>/dev/null && break
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 3; }
    sleep 0.05
done
TOKEN_URL=$(sed -n 's/^token endpoint: *//p' "$WORK/serve.out")
API_URL=$(sed -n 's/^inventory API: *//p' "$WORK/serve.out")
ADMIN_URL=$(sed -n 's/^admin API: *\([^ ]*\).*/\1/p' "$WORK/serve.out")
[[ -n "$TOKEN_URL" && -n "$ADMIN_URL" ]] || { echo "soak.sh: serve printed no URLs" >&2; exit 3; }

cat >"$WORK/target.yaml" <<YAML
token_url: $TOKEN_URL
client_id: SampleConfId
private_key: keys/private.pem
certificate: keys/cert.pem
apis:
  - { name: inventory, method: GET, url: $API_URL }
YAML
cat >"$WORK/soak.yaml" <<YAML
name: soak
description: Soak - sustained token requests (fresh assertions) and API calls.
duration: ${SOAK_SECONDS}s
users: 40
rate: ${SOAK_RATE}/s
pool: { capacity: 5000, prefill: false }
scenarios:
  - { name: token, kind: token, weight: 1 }
  - { name: api, kind: api, weight: 3, api: inventory }
YAML

echo "== soak: ${SOAK_SECONDS}s at ${SOAK_RATE}/s against $TOKEN_URL (server pid $SERVE_PID)" >&2
"$BEARING" load "$WORK/soak.yaml" --target "$WORK/target.yaml" --report-dir "$WORK/report" -q \
    >"$WORK/load.out" 2>"$WORK/load.err" &
LOAD_PID=$!

sample() {
    local t=$1 rss fds c lrss
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVE_PID/status")
    lrss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$LOAD_PID/status" 2>/dev/null || echo 0)
    fds=$(ls "/proc/$SERVE_PID/fd" | wc -l)
    c=$(curl -sf -H "X-Admin-Secret: $SECRET" "$ADMIN_URL/counters")
    printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$rss" "$fds" \
        "$(jq -r '[.tokens_active, .replay_entries, .tokens_issued, ([.token_errors[]] | add // 0), ([.api_calls[][]] | add // 0)] | @tsv' <<<"$c")" "${lrss:-0}"
}

START=$(date +%s)
sample 0 >"$WORK/samples.tsv"
while kill -0 "$LOAD_PID" 2>/dev/null; do
    sleep "$SAMPLE_SECONDS"
    kill -0 "$LOAD_PID" 2>/dev/null || break
    sample $(( $(date +%s) - START )) >>"$WORK/samples.tsv"
done
LOAD_RC=0
wait "$LOAD_PID" || LOAD_RC=$?
LOAD_PID=""
sample $(( $(date +%s) - START )) >>"$WORK/samples.tsv"
kill -0 "$SERVE_PID" 2>/dev/null || { echo "soak.sh: the server died" >&2; cat "$WORK/serve.err" >&2; exit 1; }

echo
echo "Soak: ${SOAK_SECONDS}s at ${SOAK_RATE}/s (token lifetime $TOKEN_LIFETIME), sandbox sampled every ${SAMPLE_SECONDS}s"
awk -F'\t' '
    BEGIN { printf "%7s %9s %6s %14s %12s %14s %12s %12s %14s\n", "t (s)", "RSS (MB)", "fds", "tokens active", "jti entries", "tokens issued", "token errors", "api calls", "load RSS (MB)" }
    { printf "%7d %9.1f %6d %14d %12d %14d %12d %12d %14.1f\n", $1, $2 / 1024, $3, $4, $5, $6, $7, $8, $9 / 1024 }' "$WORK/samples.tsv"
echo
awk -F'\t' '
    { t[NR] = $1; rss[NR] = $2; fds[NR] = $3; tok[NR] = $4; jti[NR] = $5; lrss[NR] = $9; n = NR }
    function maxr(a, from, to,   m, i) { m = 0; for (i = from; i <= to; i++) if (a[i] > m) m = a[i]; return m }
    function verdict(name, a, floor,   h, m1, m2) {
        h = int(n / 2)
        m1 = maxr(a, 2, h); m2 = maxr(a, h + 1, n)
        printf "%-14s first half max %10d, second half max %10d: %s\n", name, m1, m2, (m2 <= m1 * 1.25 || m2 <= floor) ? "bounded" : "GROWING"
    }
    END {
        if (n < 5) { print "too few samples for a verdict (run longer)"; exit }
        verdict("RSS (kB)", rss, 65536); verdict("fds", fds, 64); verdict("tokens active", tok, 1000); verdict("jti entries", jti, 1000)
        # The load generator at about 1 minute and at its last sample before it exited.
        for (i = 1; i <= n; i++) { if (t[i] >= 60 && at1 == "") at1 = i; if (lrss[i] > 0) last = i }
        if (at1 != "" && last > at1) printf "load RSS       at %ds %.1f MB, at %ds %.1f MB: %.2fx (target <= 1.2x)\n", t[at1], lrss[at1] / 1024, t[last], lrss[last] / 1024, lrss[last] / lrss[at1]
    }' "$WORK/samples.tsv"
echo
echo "bearing load exit code: $LOAD_RC (1 = a threshold missed); its summary:"
grep -v '^\s*$' "$WORK/load.out" | head -40
if [[ -s "$WORK/load.err" ]]; then
    echo "load stderr (last lines):"
    tail -5 "$WORK/load.err"
fi
