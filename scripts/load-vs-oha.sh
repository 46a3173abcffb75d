#!/usr/bin/env bash
# bearing load vs oha (and stock goose), side by side in one run, against the same API route
# of a local `bearing serve` on 127.0.0.1 (issue 7's performance targets):
#   1. maximum rate: 32 connections/users, closed model, DURATION seconds each;
#   2. fixed 2,000 req/s: oha -q 2000 vs bearing's even pacer (rate: 2000/s).
# Prints requests/s and p50 for each tool and the ratios (targets, issue 15: bearing >= 1.0x oha's
# req/s at max rate; bearing's p50 <= 1.0x oha's at 2,000 req/s). bearing's p50 is its
# uncorrected figure (from the actual send, as oha measures), its corrected one is shown too.
#
# SCHEMES="http https" (the default) runs every comparison once over plain http and once over
# https (issue 15): a second `bearing serve` with a CA-signed leaf made with openssl, bearing
# given the CA as tls.ca_bundle and oha as --cacert; rounds alternate the schemes and tools.
# Stock goose runs on http only (its client trusts the system roots only).
# SCHEMES="h2" (or "http https h2") adds HTTP/2 over TLS: a third `bearing serve` with the same
# leaf (the sandbox offers ALPN h2 and http/1.1), oha with --http2 (one stream at a time on each
# of its connections, its default -p 1), bearing with `http2: true` in the target (each user's
# own h2 connection).
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
SCHEMES=${SCHEMES:-http https}

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
"$BEARING" keygen --client-id LoadClient --out "$WORK/keys" >/dev/null
SECRET=load-vs-oha-admin-secret

# A CA and a leaf for 127.0.0.1 (the https sandbox's certificate).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ca.key" \
  -out "$WORK/ca.pem" -days 2 -subj /CN=load-vs-oha-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/leaf.key" \
  -out "$WORK/leaf.csr" -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$WORK/leaf.ext"
openssl x509 -req -in "$WORK/leaf.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
  -out "$WORK/leaf.pem" -days 2 -extfile "$WORK/leaf.ext" 2>/dev/null

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

declare -A URL TOKEN OHA_TLS
for scheme in $SCHEMES; do
  case $scheme in
    http) port=$PORT; proto=http; tls_args=(); tls_yaml=""; h2_yaml=""; OHA_TLS[$scheme]="" ;;
    https) port=$((PORT + 1)); proto=https; tls_args=(--tls-cert "$WORK/leaf.pem" --tls-key "$WORK/leaf.key")
      tls_yaml="tls: { ca_bundle: $WORK/ca.pem }"; h2_yaml=""; OHA_TLS[$scheme]="--cacert $WORK/ca.pem" ;;
    h2) port=$((PORT + 2)); proto=https; tls_args=(--tls-cert "$WORK/leaf.pem" --tls-key "$WORK/leaf.key")
      tls_yaml="tls: { ca_bundle: $WORK/ca.pem }"; h2_yaml="http2: true"; OHA_TLS[$scheme]="--cacert $WORK/ca.pem --http2" ;;
    *) echo "unknown scheme $scheme (http, https, h2)" >&2; exit 2 ;;
  esac
  "$BEARING" serve --listen "127.0.0.1:$port" --client "LoadClient=$WORK/keys/cert.pem" \
    --token-lifetime 3600s --admin-secret "$SECRET" "${tls_args[@]}" -q >"$WORK/serve-$scheme.log" 2>&1 &
  PIDS+=($!)
  base="$proto://127.0.0.1:$port"
  for _ in $(seq 1 100); do curl -fsS --cacert "$WORK/ca.pem" "$base/health" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS --cacert "$WORK/ca.pem" "$base/health" >/dev/null
  URL[$scheme]="$base/bnpapi/v1/store/inventory"
  cat >"$WORK/target-$scheme.yaml" <<YAML
token_url: $base/oauth/token
client_id: LoadClient
private_key: $WORK/keys/private.pem
certificate: $WORK/keys/cert.pem
$tls_yaml
$h2_yaml
apis:
  - { name: inventory, method: GET, url: ${URL[$scheme]} }
YAML
  TOKEN[$scheme]=$("$BEARING" token --target "$WORK/target-$scheme.yaml" --show-token --output json | jq -r '.access_token')
  [ -n "${TOKEN[$scheme]}" ] && [ "${TOKEN[$scheme]}" != null ]
done

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

oha_run() { # scheme extra args...
  local scheme=$1; shift
  # shellcheck disable=SC2086 # OHA_TLS holds several words on purpose
  cpu "$WORK/oha.cpu" oha --no-tui --output-format json -z "${DURATION}s" -c "$CONNS" -H "Authorization: Bearer ${TOKEN[$scheme]}" ${OHA_TLS[$scheme]} "$@" "${URL[$scheme]}" >"$WORK/oha.json"
  local rps p50 n
  rps=$(jq '.summary.requestsPerSec' "$WORK/oha.json")
  p50=$(jq '.latencyPercentiles.p50 * 1e6' "$WORK/oha.json")
  n=$(jq '[.statusCodeDistribution[]] | add' "$WORK/oha.json")
  echo "$rps $p50 $(cpu_us_per_req "$WORK/oha.cpu" "$n")"
}
bearing_run() { # scheme profile
  rm -rf "$WORK/r"
  # Exit 1 (a threshold failed, e.g. generator-limited on busy cores) still wrote its figures;
  # say so on stderr and read them. Anything else stops the script.
  cpu "$WORK/b.cpu" "$BEARING" -q load "$2" --target "$WORK/target-$1.yaml" --report-dir "$WORK/r" >/dev/null \
    || { [ $? = 1 ] && echo "note: bearing load $1 $(basename "$2") exited 1 (FAIL verdict); figures read anyway" >&2; }
  local s="$WORK/r/summary.json" n
  n=$(jq '.scenarios[0].phases.api.count' "$s")
  echo "$(jq '.scenarios[0].phases.api.rate' "$s") $(jq '.scenarios[0].phases.api.latency_us.uncorrected.p50' "$s") $(cpu_us_per_req "$WORK/b.cpu" "$n") $(jq '.scenarios[0].phases.api.latency_us.corrected.p50' "$s")"
}
goose_run() { # users seconds [throttle]
  cpu "$WORK/g.cpu" "$GOOSE" "${URL[http]}" "${TOKEN[http]}" "$@" >"$WORK/g.json" 2>/dev/null
  echo "$(jq '.rps' "$WORK/g.json") $(jq '.p50_us' "$WORK/g.json") $(cpu_us_per_req "$WORK/g.cpu" "$(jq '.requests' "$WORK/g.json")")"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average $(cut -d' ' -f1-3 /proc/loadavg); oha $(oha --version | awk '{print $2}'); $(date -u +%FT%TZ)"
printf '%-34s %12s %10s %14s\n' "run" "req/s" "p50 µs" "CPU µs/req"
for round in $(seq 1 "$ROUNDS"); do
  for scheme in $SCHEMES; do
    # Alternate which tool goes first from round to round.
    if [ $((round % 2)) = 1 ]; then
      read -r o_rps o_p50 o_cpu < <(oha_run "$scheme")
      read -r b_rps b_p50 b_cpu b_p50c < <(bearing_run "$scheme" "$WORK/max.yaml")
    else
      read -r b_rps b_p50 b_cpu b_p50c < <(bearing_run "$scheme" "$WORK/max.yaml")
      read -r o_rps o_p50 o_cpu < <(oha_run "$scheme")
    fi
    printf '%-34s %12.0f %10.0f %14s\n' "$scheme max: oha -c $CONNS" "$o_rps" "$o_p50" "$o_cpu" "$scheme max: bearing load ($CONNS users)" "$b_rps" "$b_p50" "$b_cpu"
    if [ "$scheme" = http ]; then
      read -r g_rps g_p50 g_cpu < <(goose_run "$CONNS" "$DURATION")
      printf '%-34s %12.0f %10.0f %14s\n' "$scheme max: stock goose ($CONNS users)" "$g_rps" "$g_p50" "$g_cpu"
    fi
    if [ $((round % 2)) = 1 ]; then
      read -r of_rps of_p50 of_cpu < <(oha_run "$scheme" -q "$FIXED_RATE")
      read -r bf_rps bf_p50 bf_cpu bf_p50c < <(bearing_run "$scheme" "$WORK/fixed.yaml")
    else
      read -r bf_rps bf_p50 bf_cpu bf_p50c < <(bearing_run "$scheme" "$WORK/fixed.yaml")
      read -r of_rps of_p50 of_cpu < <(oha_run "$scheme" -q "$FIXED_RATE")
    fi
    printf '%-34s %12.0f %10.0f %14s\n' "$scheme $FIXED_RATE/s: oha -q" "$of_rps" "$of_p50" "$of_cpu" "$scheme $FIXED_RATE/s: bearing (paced)" "$bf_rps" "$bf_p50" "$bf_cpu"
    echo "round $round $scheme: max req/s bearing/oha = $(ratio "$b_rps" "$o_rps") (target >= 1.0)"
    echo "round $round $scheme: p50 at $FIXED_RATE/s bearing/oha = $(ratio "$bf_p50" "$of_p50") (target <= 1.0; bearing corrected p50 ${bf_p50c} µs)"
  done
done
