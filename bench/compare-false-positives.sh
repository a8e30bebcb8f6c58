#!/usr/bin/env bash
# How often `speedup compare` cries wolf: PAIRS pairs of identical runs
# (`speedup bench --rate R -d S --hdr-log` on the same endpoint of `speedup
# serve`, one run after the other), each pair compared; a pair is a false
# positive when any metric's verdict is not `same`. Prints each pair's
# verdicts, then the rate per metric and over all metrics, at the default
# noise band (--noise 1) and, from the same logs, at --noise 0, 2 and 5.
# Before that, the
# two purpose-made pairs of issue 18: the same endpoint twice (`same`
# expected) and /async/sleep/0.01 against /async/sleep/0.012 (`slower` at
# p50 by about +2 ms expected). A measurement, not a test.
#
# Usage: bench/compare-false-positives.sh [pairs=20] [seconds=10] [rate=200] [path=/async/sleep/0.01]
#        SPEEDUP=path/to/speedup to use a binary already built.
set -euo pipefail

PAIRS=${1:-20}
SECS=${2:-10}
RATE=${3:-200}
URL_PATH=${4:-/async/sleep/0.01}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${SPEEDUP:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p speedup)
    SPEEDUP="$ROOT/target/release/speedup"
fi
DIR=$(mktemp -d)

. "$ROOT/bench/peers.sh"
peers_start_speedup "$DIR"

# One open-loop run of PATH into LOG.
run() {
    "$SPEEDUP" bench --rate "$RATE" -c 50 --warmup 1s -d "${SECS}s" --hdr-log "$2" "$BASE$1" >/dev/null
}

# The verdicts of compare BASE NEW [FLAGS], as `p50=same p90=slower ...`;
# the changes in % (p50, p99) go to $DIR/changes.
verdicts() {
    "$SPEEDUP" compare --json - "$@" 2>/dev/null >"$DIR/c.json"
    jq -r '[.metrics[] | "\(.name)=\(.verdict)"] | join(" ")' "$DIR/c.json"
    jq -r '[.metrics[] | select(.name == "p50" or .name == "p99") |
        "\(.name) \(.change_pct)% [\(.ci_ms[0]), \(.ci_ms[1])] ms"] | join("; ")' "$DIR/c.json" >>"$DIR/changes"
}

echo "server $BASE; runs of ${SECS}s at $RATE req/s (open loop, 1 s warm-up); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== the same endpoint twice: $URL_PATH"
run "$URL_PATH" "$DIR/same-a.hlog"
run "$URL_PATH" "$DIR/same-b.hlog"
"$SPEEDUP" compare "$DIR/same-a.hlog" "$DIR/same-b.hlog"

echo "== /async/sleep/0.01 against /async/sleep/0.012"
run /async/sleep/0.01 "$DIR/fast.hlog"
run /async/sleep/0.012 "$DIR/slow.hlog"
"$SPEEDUP" compare "$DIR/fast.hlog" "$DIR/slow.hlog"

echo "== $PAIRS pairs of identical runs of $URL_PATH"
: >"$DIR/verdicts"
for i in $(seq 1 "$PAIRS"); do
    run "$URL_PATH" "$DIR/a$i.hlog"
    run "$URL_PATH" "$DIR/b$i.hlog"
    v=$(verdicts "$DIR/a$i.hlog" "$DIR/b$i.hlog")
    echo "$v" >>"$DIR/verdicts"
    printf 'pair %2d: %s  (%s)\n' "$i" "$v" "$(tail -1 "$DIR/changes")"
done

# The false positives in FILE of verdicts, per metric and over any.
summary() {
    for metric in p50 p90 p99 p99.9 max mean throughput; do
        n=$(grep -c -E "(^| )$metric=(slower|faster)( |$)" "$1" || true)
        printf '  %-10s %2d of %d\n' "$metric" "$n" "$PAIRS"
    done
    any=$(grep -c -E '=(slower|faster)' "$1" || true)
    echo "  any metric: $any of $PAIRS pairs"
}

echo "== false positives (verdict not 'same') over $PAIRS pairs, --noise 1 (the default)"
summary "$DIR/verdicts"
for noise in 0 2 5; do
    : >"$DIR/verdicts-$noise"
    for i in $(seq 1 "$PAIRS"); do
        verdicts --noise "$noise" "$DIR/a$i.hlog" "$DIR/b$i.hlog" >>"$DIR/verdicts-$noise"
    done
    echo "== the same logs at --noise $noise"
    summary "$DIR/verdicts-$noise"
done
