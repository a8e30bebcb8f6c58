#!/usr/bin/env bash
# The keep-alive row of bench/server-vs-nginx.sh (`ab -k -c100 /async/sleep/0`,
# server CPU per request from /proc/PID/stat utime+stime over the requests ab
# completed), for several `speedup` binaries at once: every binary's server
# runs for the whole measurement and the runs are interleaved round by round,
# so each binary sees the same machine load. Compares builds (before/after a
# change) on a shared machine, where one run of each drifts by ±10 %.
#
# Usage: bench/keepalive-interleaved.sh [rounds=10] [requests=200000] BINARY...
# Prints one line per round: the load average, then each binary's µs/req.
set -euo pipefail
ROUNDS=${1:-10}
N=${2:-200000}
shift 2 || true
[ $# -gt 0 ] || { echo "usage: $0 [rounds] [requests] BINARY..." >&2; exit 1; }
command -v ab >/dev/null || { echo "error: needs ab (apt-get install apache2-utils)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
TICK=$(getconf CLK_TCK)
DIR=$(mktemp -d)
PIDS=()
URLS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; rm -rf "$DIR"' EXIT

# CPU time in clock ticks (utime + stime) of process $1.
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

i=0
for bin in "$@"; do
    "$bin" serve --host 127.0.0.1 --port 0 >"$DIR/out.$i" 2>/dev/null &
    PIDS+=($!)
    url=
    for _ in $(seq 100); do
        url=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1|p' "$DIR/out.$i")
        [ -n "$url" ] && break
        sleep 0.1
    done
    [ -n "$url" ] || { echo "error: $bin did not print its address" >&2; exit 1; }
    URLS+=("$url/async/sleep/0")
    i=$((i + 1))
done
for url in "${URLS[@]}"; do ab -q -k -n 20000 -c 100 "$url" >/dev/null; done # warm-up

echo "binaries: $*"
for r in $(seq "$ROUNDS"); do
    line="round $r (load $(cut -d' ' -f1 /proc/loadavg)):"
    for i in "${!URLS[@]}"; do
        before=$(ticks "${PIDS[$i]}")
        done_=$(ab -q -k -n "$N" -c 100 "${URLS[$i]}" | awk '/^Complete requests/ {print $3}')
        after=$(ticks "${PIDS[$i]}")
        line="$line $(awk -v a="$after" -v b="$before" -v n="$done_" -v t="$TICK" \
            'BEGIN {printf "%.2f", (a - b) * 1e6 / t / n}')"
    done
    echo "$line"
done
