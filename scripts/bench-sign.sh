#!/usr/bin/env bash
# Signing speed against the hardware limit, in one run on this machine:
#   1. `openssl speed` rsa2048 / ecdsap256 / ed25519 (one core),
#   2. the criterion bench crates/bench/benches/signing.rs (stock jsonwebtoken::encode and bearing's signer),
#   3. `bearing bench sign --alg RS256 --threads 2` (1 and 2 threads, each next to
#      `openssl speed [-multi 2] rsa2048` run by bearing itself),
# then prints the ratio table against the targets of issue 4.
#
# Usage: scripts/bench-sign.sh            (release build; a few minutes)
#   SECONDS_PER=10   seconds per openssl test and per `bench sign` thread count
#   THREADS=2        highest thread count for `bearing bench sign`
#   ROUNDS=3         `bench sign` rounds per thread count (alternating with openssl; medians)
# Needs: cargo, openssl, jq.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER=${SECONDS_PER:-10}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
for tool in cargo openssl jq; do
    command -v "$tool" >/dev/null || { echo "bench-sign.sh: $tool is not on the PATH" >&2; exit 3; }
done
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "== building (release)" >&2
cargo bench -p bearing-bench --bench signing --no-run >&2
cargo build --release --bin bearing >&2

# sign/s column of `openssl speed` (3.0 and later table layouts). -elapsed: divide by wall
# time like criterion and bearing do (openssl's default divides by its user CPU time).
openssl_sign() {
    openssl speed -elapsed -seconds "$SECONDS_PER" "$@" 2>/dev/null | awk '
        found == 0 { for (i = 1; i <= NF; i++) if ($i == "sign/s") { col = i; n = NF; found = 1; next } }
        found == 1 { print $(NF - n + col); exit }'
}

echo "== openssl speed -elapsed (${SECONDS_PER}s per test, one core)" >&2
declare -A OSSL
for a in rsa2048 ecdsap256 ed25519; do
    OSSL[$a]=$(openssl_sign "$a")
    echo "   $a: ${OSSL[$a]} sign/s" >&2
done

echo "== criterion: cargo bench -p bearing-bench --bench signing -- 'RS256-2048|ES256|EdDSA'" >&2
cargo bench -p bearing-bench --bench signing -- 'RS256-2048|ES256|EdDSA' >&2

# Median ns per iteration -> per second.
rate() { jq -r '1e9 / .median.point_estimate' "$TARGET_DIR/criterion/$1/$2/new/estimates.json"; }

echo "== bearing bench sign --alg RS256 --threads $THREADS --duration ${SECONDS_PER}s --rounds $ROUNDS" >&2
"$TARGET_DIR/release/bearing" bench sign --alg RS256 --threads "$THREADS" --duration "${SECONDS_PER}s" --rounds "$ROUNDS" --json \
    >"$OUT/bench-sign.json"

echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(openssl version)"
echo
printf '| %-10s | %-9s | %14s | %21s | %6s | %17s | %6s | %-8s |\n' \
    alg openssl "openssl sign/s" "jsonwebtoken::encode/s" ratio "bearing sign()/s" ratio target
printf '|%s|\n' "------------|-----------|----------------|------------------------|--------|-------------------|--------|----------"
row() { # group openssl-name target
    local o jwt ours
    o=${OSSL[$2]}
    jwt=$(rate "$1" jsonwebtoken_encode)
    ours=$(rate "$1" bearing_sign)
    awk -v g="$1" -v a="$2" -v o="$o" -v j="$jwt" -v b="$ours" -v t="$3" 'BEGIN {
        r = b / o; printf "| %-10s | %-9s | %14.0f | %22.0f | %5.2fx | %17.0f | %5.2fx | >=%.2fx %s |\n",
            g, a, o, j, j / o, b, r, t, (r >= t ? "ok" : "MISSED") }'
}
row RS256-2048 rsa2048 0.95
row ES256 ecdsap256 1.0
row EdDSA ed25519 2.0

echo
echo "bearing bench sign, RS256 (2048-bit key), one signer per thread, openssl speed [-multi N] rsa2048 in the same run (median of $ROUNDS rounds each):"
printf '| %7s | %12s | %14s | %6s | %7s | %7s | %6s | %14s |\n' threads assertions/s "openssl sign/s" ratio p50µs p99µs "on CPU" "per CPU-second"
printf '|%s|\n' "---------|--------------|----------------|--------|---------|---------|--------|----------------"
jq -r '.steps[] | [.threads, .assertions_per_sec, (.openssl_sign_per_sec // 0), (.ratio_to_openssl // 0), .latency_us.p50, .latency_us.p99, ((.cpu_share // 0) * 100), (.assertions_per_cpu_sec // 0)] | @tsv' \
    "$OUT/bench-sign.json" | while IFS=$'\t' read -r n r o q p50 p99 c pc; do
    printf '| %7s | %12.0f | %14.0f | %5.2fx | %7.1f | %7.1f | %5.0f%% | %14.0f |\n' "$n" "$r" "$o" "$q" "$p50" "$p99" "$c" "$pc"
done
echo "(\"on CPU\": share of threads x wall time the signing threads actually ran; under 100% means"
echo " other processes competed for the cores during the run, and every rate in it is understated.)"
one=$(jq -r '.steps[0].openssl_sign_per_sec // empty' "$OUT/bench-sign.json")
two=$(jq -r --argjson n 2 '.steps[] | select(.threads == $n) | .assertions_per_sec' "$OUT/bench-sign.json")
if [[ -n "$one" && -n "$two" ]]; then
    awk -v o="$one" -v t="$two" 'BEGIN { r = t / o; printf "\nRS256 on 2 threads vs openssl rsa2048 on one core: %.2fx (target >=1.90x %s)\n", r, (r >= 1.9 ? "ok" : "MISSED") }'
fi
jq -e '.ok' "$OUT/bench-sign.json" >/dev/null || { echo "bench sign: sampled signatures did not verify" >&2; exit 1; }
