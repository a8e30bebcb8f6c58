#!/usr/bin/env bash
# Profiles `speedup serve` with `perf record -g` under each of issue 10's
# loads (real ab: new connection per request, keep-alive, the c=1000 burst
# of 100 ms sleeps) and prints the top entries of each report (self time).
# Needs perf and root (or perf_event_paranoid <= 1).
#
# Usage: bench/profile-server.sh [out dir=target/profile] [top=25]
# Env: SPEEDUP (binary, default target/release/speedup, built here),
#      SERVE_ARGS (extra `speedup serve` flags).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-target/profile}
TOP=${2:-25}
mkdir -p "$OUT"
command -v perf >/dev/null || { echo "error: perf not found (apt-get install linux-perf)" >&2; exit 1; }
command -v ab >/dev/null || { echo "error: ab not found (apt-get install apache2-utils)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"

if [ -z "${SPEEDUP:-}" ]; then
    cargo build --release -q -p speedup
    SPEEDUP=target/release/speedup
fi

log=$(mktemp)
# shellcheck disable=SC2086
"$SPEEDUP" serve --host 127.0.0.1 --port 0 ${SERVE_ARGS:-} >"$log" 2>/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
    URL=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1|p' "$log")
    [ -n "$URL" ] && break
    sleep 0.1
done
[ -n "$URL" ] || { echo "error: the server did not start" >&2; exit 1; }

# profile NAME REQUESTS ab-args...: records the server while ab runs, prints
# syscalls and context switches per request, the share of CPU per binary or
# library, and the top symbols by self time.
profile() {
    local name=$1 n=$2
    shift 2
    perf stat -x, -e raw_syscalls:sys_enter,context-switches -p "$SERVER" -o "$OUT/$name.stat" &
    local stat=$!
    perf record -q -F 1999 --call-graph dwarf,16384 -p "$SERVER" -o "$OUT/$name.data" 2>/dev/null &
    local perf=$!
    sleep 0.5
    ab -q -n "$n" "$@" >/dev/null
    kill -INT "$perf" "$stat"
    wait "$perf" "$stat" || true
    echo "### $name: ab -n $n $*"
    awk -F, -v n="$n" '$3 ~ /sys_enter|context-switches/ {printf "%s per request: %.1f\n", $3, $1 / n}' "$OUT/$name.stat"
    perf report -i "$OUT/$name.data" --no-children --sort dso --stdio 2>/dev/null |
        grep -E '^ +[0-9]' | sed -E 's/[ -]*$//' | head -n 6 || true
    echo
    perf report -i "$OUT/$name.data" --no-children -g none --sort dso,symbol --stdio 2>/dev/null |
        grep -E '^ +[0-9]' | sed -E 's/[ -]*$//' | head -n "$TOP" || true
    echo
}

ab -q -n 2000 -c 100 "$URL/async/sleep/0" >/dev/null # warm-up
profile new-connection 30000 -c 100 "$URL/async/sleep/0"
profile keep-alive 100000 -k -c 100 "$URL/async/sleep/0"
profile burst-c1000 5000 -c 1000 "$URL/async/sleep/0.1"
