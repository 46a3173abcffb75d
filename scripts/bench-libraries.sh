#!/usr/bin/env bash
# JWT libraries side by side, sign and verify, per algorithm, next to `openssl speed` in one
# run (issue 20): bearing, stock jsonwebtoken encode/decode, aws-lc-rs raw, ring raw, each as
# a ratio to openssl on one core, rounds alternating with openssl, allocations per operation
# from a counting allocator. Prints one Markdown table; keeps the JSON.
#
# Usage: scripts/bench-libraries.sh         (release build; ~2 minutes)
#   BENCH_SECONDS=3   seconds per figure and per openssl test
#   ROUNDS=2          rounds (openssl and every library once per round); medians
#   OUT=bench-libraries.json   where the JSON goes
# Needs: cargo, openssl.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v openssl >/dev/null || echo "bench-libraries.sh: openssl is not on the PATH: no reference column" >&2
export BENCH_SECONDS=${BENCH_SECONDS:-3} ROUNDS=${ROUNDS:-2}
export BENCH_JSON=${OUT:-$PWD/bench-libraries.json}
cargo bench -p bearing-bench --bench libraries
echo "JSON: $BENCH_JSON" >&2
