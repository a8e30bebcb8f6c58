#!/usr/bin/env bash
# docs/distributed.md on one machine: N generators (`speedup bench --rate R/N
# --hdr-log`) run at once against one server, `speedup merge` adds their
# interval logs, and the result is compared with one generator at the full
# rate R. The merged percentiles should match the single run's within noise;
# the average of the generators' own p99s is shown too, as what NOT to do.
# A demonstration, not a test.
#
# Usage: bench/distributed.sh [rate=2000] [seconds=10] [generators=4] [path=/async/sleep/0.01]
set -euo pipefail

RATE=${1:-2000}
SECS=${2:-10}
N=${3:-4}
URL_PATH=${4:-/async/sleep/0.01}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

(cd "$ROOT" && cargo build --release -q -p speedup)
SPEEDUP="$ROOT/target/release/speedup"
DIR=$(mktemp -d)

. "$ROOT/bench/peers.sh"
peers_start_speedup "$DIR"
URL="$BASE$URL_PATH"

# Connections: enough for the rate at the path's latency, split over the generators.
CONNS=${CONNS:-100}
SHARE=$(awk -v r="$RATE" -v n="$N" 'BEGIN {printf "%g", r / n}')
echo "server $BASE, $URL_PATH, ${SECS}s; $N generators at $SHARE req/s each vs 1 at $RATE req/s"

echo "== $N generators at once"
PIDS=()
# One start for all, a second ahead: their schedules overlap exactly.
START=$(python3 -c 'import time; print(f"{time.time() + 1:.3f}")')
for i in $(seq 1 "$N"); do
    "$SPEEDUP" bench --rate "$SHARE" -c $((CONNS / N)) --threads 1 -d "${SECS}s" --start-at "$START" \
        --hdr-log "$DIR/gen-$i.hlog" --json "$DIR/gen-$i.json" "$URL" >"$DIR/gen-$i.txt" &
    PIDS+=($!)
done
wait "${PIDS[@]}"
"$SPEEDUP" merge --json "$DIR/merged.json" "$DIR"/gen-*.hlog

echo
echo "== 1 generator at the full rate"
"$SPEEDUP" bench --rate "$RATE" -c "$CONNS" -d "${SECS}s" --hdr-log "$DIR/single.hlog" \
    --json "$DIR/single.json" "$URL" >"$DIR/single.txt"
"$SPEEDUP" merge --json "$DIR/single-merged.json" "$DIR/single.hlog" >/dev/null

echo
python3 - "$DIR" "$N" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
merged = json.load(open(f"{d}/merged.json"))
single = json.load(open(f"{d}/single-merged.json"))
gens = [json.load(open(f"{d}/gen-{i}.json")) for i in range(1, n + 1)]
rows = ["p50", "p90", "p99", "p99.9", "max"]
print(f"corrected latency, ms     {'merged ' + str(n) + ' logs':>16} {'1 generator':>14} {'mean of ' + str(n) + ' gens':>14}")
for k in rows:
    avg = sum(g["latency_ms"]["corrected"][k] for g in gens) / n
    print(f"  {k:<24}{merged['latency_ms']['corrected'][k]:>16.3f} {single['latency_ms']['corrected'][k]:>14.3f} {avg:>14.3f}")
print(f"  {'requests':<24}{merged['requests']['total']:>16} {single['requests']['total']:>14}")
print(f"  {'req/s':<24}{merged['rate']['achieved']:>16.1f} {single['rate']['achieved']:>14.1f}")
print("(the last column averages percentiles, which is not a percentile of anything)")
PY
