#!/usr/bin/env bash
# How fast `speedup merge` reads an interval log: a real 2 s `speedup bench
# --hdr-log` run against `speedup serve`, its busiest interval repeated N
# times (one interval a second, as a run of N seconds would write), then
# `speedup merge` timed on it (wall time and peak RSS from /usr/bin/time).
# Prints the time per interval. A measurement, not a test.
#
# Usage: bench/merge-speed.sh [intervals=100000] [path=/async/sleep/0.001]
# (a slower path widens each histogram: /async/sleep/1 spans up to a second)
# SPEEDUP=path/to/speedup measures that binary instead of building target/release;
# BEFORE=path/to/other/speedup also times that one on the same log, first.
set -euo pipefail

N=${1:-100000}
URL_PATH=${2:-/async/sleep/0.001}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${SPEEDUP:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p speedup)
    SPEEDUP="$ROOT/target/release/speedup"
fi
DIR=$(mktemp -d)

. "$ROOT/bench/peers.sh"
peers_start_speedup "$DIR"

"$SPEEDUP" bench -c 10 -d 2s --hdr-log "$DIR/one.hlog" "$BASE$URL_PATH" >/dev/null
# The header as written, then the longest interval line (the most values) N times.
awk -F, -v n="$N" '
    /^#/ || /^"/ { print; next }
    length($4) > length(best) { best = $4; max = $3 }
    END { for (i = 0; i < n; i++) printf "%d.000,1.000,%s,%s\n", i, max, best }
' "$DIR/one.hlog" >"$DIR/big.hlog"
echo "log: $N intervals, $(du -h "$DIR/big.hlog" | cut -f1)"

# Each binary merges the same log: BEFORE=path/to/old/speedup adds a comparison.
for BIN in ${BEFORE:+"$BEFORE"} "$SPEEDUP"; do
    echo "== $BIN"
    /usr/bin/time -f '%e s wall, %M KB peak RSS' "$BIN" merge "$DIR/big.hlog" 2>"$DIR/time" \
        | sed -n '1,2p'
    cat "$DIR/time"
    awk -v n="$N" '{ printf "%.1f us per interval\n", $1 * 1e6 / n }' "$DIR/time"
done
