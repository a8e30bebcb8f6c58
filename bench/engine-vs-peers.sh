#!/usr/bin/env bash
# Measures the load engine (crates/load, via its `hammer` example) against
# ab -k and wrk on the same nginx answering `return 200 "hello"` on loopback.
# Not a test: prints req/s per tool and round, and our ratio to each peer.
#
# Usage: bench/engine-vs-peers.sh [concurrency=50] [seconds=5] [rounds=3] [nginx workers=1]
# Env: HAMMER_ARGS (extra flags for hammer, e.g. "--threads 2").
set -euo pipefail
cd "$(dirname "$0")/.."

C=${1:-50}
SECS=${2:-5}
ROUNDS=${3:-3}
WORKERS=${4:-1}

. bench/peers.sh
peers_install

cargo build --release -q -p speedup-load --example hammer
HAMMER=target/release/examples/hammer

peers_start_nginx "$WORKERS"

# shellcheck disable=SC2086
our_rps() { "$HAMMER" "$URL" -c "$C" -d "$SECS" -k ${HAMMER_ARGS:-} | awk '{print $1}'; }

echo "nginx workers=$WORKERS, c=$C, ${SECS}s, $ROUNDS rounds; cores: $(nproc)"
printf '%-6s %12s %12s %12s %12s   %s\n' round "ab -k" "wrk -t1" "wrk -t2" engine "engine/ab engine/wrk1 engine/wrk2"
for r in $(seq "$ROUNDS"); do
  a=$(ab_rps); w1=$(wrk_rps 1); w2=$(wrk_rps 2); e=$(our_rps)
  printf '%-6s %12.0f %12.0f %12.0f %12.0f   %.2f %.2f %.2f\n' "$r" "$a" "$w1" "$w2" "$e" \
    "$(echo "$e / $a" | bc -l)" "$(echo "$e / $w1" | bc -l)" "$(echo "$e / $w2" | bc -l)"
done
