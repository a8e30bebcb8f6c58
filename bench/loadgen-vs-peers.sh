#!/usr/bin/env bash
# Load generators side by side: ab -k, wrk -t1, wrk -t2 and `speedup ab -k`
# against nginx answering `return 200 "hello"` on loopback, same concurrency
# and duration, several rounds. Prints req/s per run, the median per tool
# and the ratio of ours to each peer. A benchmark, not a test.
#
# Usage: bench/loadgen-vs-peers.sh [concurrency=50] [seconds=5] [rounds=3]
set -euo pipefail

C=${1:-50}
SECS=${2:-5}
ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

. "$ROOT/bench/peers.sh"
peers_install

(cd "$ROOT" && cargo build --release -q -p speedup)
SPEEDUP="$ROOT/target/release/speedup"

peers_start_nginx 1

run_tool() {
    case "$1" in
        ab-k) ab_rps ;;
        wrk-t1) wrk_rps 1 ;;
        wrk-t2) wrk_rps 2 ;;
        speedup-ab-k) ab_rps "$SPEEDUP" ab ;;
    esac
}

TOOLS=(ab-k wrk-t1 wrk-t2 speedup-ab-k)
declare -A RESULTS
for round in $(seq 1 "$ROUNDS"); do
    for tool in "${TOOLS[@]}"; do
        rps=$(run_tool "$tool")
        printf 'round %d  %-13s %12s req/s\n' "$round" "$tool" "$rps"
        RESULTS[$tool]="${RESULTS[$tool]:-} $rps"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "median of $ROUNDS rounds, c=$C, ${SECS}s each:"
ours=$(echo "${RESULTS[speedup-ab-k]}" | median)
for tool in "${TOOLS[@]}"; do
    m=$(echo "${RESULTS[$tool]}" | median)
    ratio=$(awk -v a="$ours" -v b="$m" 'BEGIN { printf "%.2f", a / b }')
    printf '  %-13s %12s req/s   speedup-ab-k / this = %s\n' "$tool" "$m" "$ratio"
done
