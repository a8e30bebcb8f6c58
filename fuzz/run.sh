#!/usr/bin/env bash
# Runs each fuzz target for 60 s (or $1 seconds): the engine's response
# parser and certificate walk, the URL parser, the plot CSV reader, ab's
# flag parser, merge's interval-log reader and histogram decoder, bench's
# targets-file parser. Needs cargo-fuzz
# (`cargo install cargo-fuzz --locked`) and a nightly toolchain; on a stable
# toolchain RUSTC_BOOTSTRAP=1 lets cargo-fuzz use the nightly flags it needs.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi
for target in response certificate url cdf_csv ab_flags interval_log histogram targets; do
  echo "== $target ($secs s)"
  cargo "${toolchain[@]}" fuzz run "$target" -- -max_total_time="$secs" -rss_limit_mb=2048
done
