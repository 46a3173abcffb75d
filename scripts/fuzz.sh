#!/usr/bin/env bash
# Fuzzing (issue 9): runs every cargo-fuzz target in fuzz/ for FUZZ_SECONDS each, seeding
# its corpus from fuzz/seeds/<target>/, the bundled YAML files and freshly generated keys,
# certificates and assertions; then prints executions, speed and corpus size per target.
# Any crash, timeout or out-of-memory input is saved under fuzz/artifacts/<target>/ and
# makes the script exit 1.
#
# Usage: scripts/fuzz.sh [TARGET…]            (all targets, 60 s each)
#   FUZZ_SECONDS=60      seconds per target
#   FUZZ_SANITIZER=none  cargo-fuzz sanitizer (none, address, …); the crates forbid unsafe
#                        code, so `none` keeps the speed; debug assertions (overflow checks)
#                        are always on
#   FUZZ_JOBS=1          parallel libFuzzer workers per target
# The machine needs only the stable toolchain: cargo-fuzz's nightly flags are enabled with
# RUSTC_BOOTSTRAP=1. Needs: cargo (cargo-fuzz is installed when missing), openssl (key
# format seeds; optional).
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_SANITIZER=${FUZZ_SANITIZER:-none}
FUZZ_JOBS=${FUZZ_JOBS:-1}
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz (cargo install cargo-fuzz --locked)" >&2
    cargo install cargo-fuzz --locked >&2
fi
FUZZ=(cargo fuzz)
FLAGS=(-s "$FUZZ_SANITIZER" -a)

echo "== building the fuzz targets (release, debug assertions, sanitizer $FUZZ_SANITIZER)" >&2
(cd fuzz && "${FUZZ[@]}" build "${FLAGS[@]}" >&2)
if [[ $# -gt 0 ]]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(cd fuzz && "${FUZZ[@]}" list)
fi

# Seeds: committed ones, the repository's YAML, and generated key material.
SEEDS=$(mktemp -d)
trap 'rm -rf "$SEEDS"' EXIT
cargo build --quiet --bin bearing
BEARING=$PWD/target/debug/bearing
for alg in RS256 ES256 ES384 EdDSA; do
    "$BEARING" keygen --client-id SampleConfId --alg "$alg" --out "$SEEDS/keys-$alg" >"$SEEDS/keys-$alg.b64"
    if [[ "$alg" == RS256 ]]; then
        "$BEARING" sign --key "$SEEDS/keys-$alg/private.pem" --client-id SampleConfId \
            --aud https://gw.example.com/oauth/token >"$SEEDS/jwt-$alg" 2>/dev/null
    fi
done
seed() { # seed TARGET FILE…
    local dir=fuzz/corpus/$1
    shift
    mkdir -p "$dir"
    for f in "$@"; do
        [[ -f "$f" ]] && cp "$f" "$dir/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    return 0
}
for t in "${TARGETS[@]}"; do
    [[ -d "fuzz/seeds/$t" ]] && seed "$t" fuzz/seeds/"$t"/*
done
seed key_cert "$SEEDS"/keys-*/private.pem "$SEEDS"/keys-*/cert.pem "$SEEDS"/keys-*.b64
if command -v openssl >/dev/null; then
    for alg in RS256 ES256; do
        k=$SEEDS/keys-$alg/private.pem
        openssl pkey -in "$k" -outform DER -out "$SEEDS/keys-$alg/private.der" 2>/dev/null || true
        openssl x509 -in "$SEEDS/keys-$alg/cert.pem" -outform DER -out "$SEEDS/keys-$alg/cert.der" 2>/dev/null || true
    done
    openssl rsa -in "$SEEDS/keys-RS256/private.pem" -traditional -out "$SEEDS/keys-RS256/pkcs1.pem" 2>/dev/null || true
    openssl ec -in "$SEEDS/keys-ES256/private.pem" -out "$SEEDS/keys-ES256/sec1.pem" 2>/dev/null || true
    seed key_cert "$SEEDS"/keys-*/*.der "$SEEDS"/keys-RS256/pkcs1.pem "$SEEDS"/keys-ES256/sec1.pem
fi
seed jws "$SEEDS"/jwt-*
seed yaml_configs scenarios/targets/*.yaml scenarios/profiles/*.yaml
seed suite_yaml scenarios/conformance/*.yaml
seed load_profile_yaml scenarios/load/*.yaml

RESULTS=$SEEDS/results.tsv
: >"$RESULTS"
FAILED=0
for t in "${TARGETS[@]}"; do
    dir=fuzz/corpus/$t
    mkdir -p "$dir"
    before=$(find "$dir" -type f | wc -l)
    log=$SEEDS/$t.log
    echo "== $t: ${FUZZ_SECONDS}s (corpus $before files)" >&2
    status=ok
    if ! (cd fuzz && "${FUZZ[@]}" run "${FLAGS[@]}" "$t" -- -max_total_time="$FUZZ_SECONDS" \
        -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
        -jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS") >"$log" 2>&1; then
        status=CRASH
        FAILED=1
        grep -E "panicked|ERROR: libFuzzer|Test unit written|SUMMARY" "$log" | head -8 >&2 || true
    fi
    execs=$(grep -h "stat::number_of_executed_units" "$log" fuzz/fuzz-*.log 2>/dev/null | awk '{ s += $2 } END { print s + 0 }')
    after=$(find "$dir" -type f | wc -l)
    kbytes=$(find "$dir" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d", (s + 1023) / 1024 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$FUZZ_SECONDS" "$execs" "$before" "$after" "$kbytes" "$status" >>"$RESULTS"
    rm -f fuzz/fuzz-*.log
done

echo
echo "Fuzzing: ${FUZZ_SECONDS}s per target, sanitizer $FUZZ_SANITIZER, debug assertions on, $(nproc) cores"
awk -F'\t' '
    BEGIN { printf "%-20s %6s %12s %10s %14s %10s  %s\n", "target", "secs", "executions", "execs/s", "corpus (files)", "corpus KB", "result"
            printf "%-20s %6s %12s %10s %14s %10s  %s\n", "------", "----", "----------", "-------", "--------------", "---------", "------" }
    { printf "%-20s %6d %12d %10d %6d -> %5d %10d  %s\n", $1, $2, $3, $3 / $2, $4, $5, $6, $7 }' "$RESULTS"
if [[ $FAILED -ne 0 ]]; then
    echo "crash inputs are under fuzz/artifacts/; reproduce with: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -s $FUZZ_SANITIZER -a TARGET fuzz/artifacts/TARGET/FILE)" >&2
    exit 1
fi
