#!/usr/bin/env bash
# Live percentiles of a fleet of generators, through a real Prometheus
# (Debian's `prometheus` package): two `speedup bench --metrics-addr` started
# together (--start-at) against `speedup serve`, scraped every second. While
# they run it prints the fleet's req/s and live p99 as Prometheus computes
# them (docs/distributed.md's query); at the end, Prometheus's request count
# and p99 of the whole run beside `speedup merge`'s exact ones. A
# demonstration, not a test.
#
# Usage: bench/prometheus-live.sh [rate=1000 (total)] [seconds=20] [path=/async/sleep/0.01]
# WINDOW=10s sets the live query's rate() window (docs: 30s for real runs).
# SPEEDUP=path/to/speedup uses that binary instead of building target/release.
set -euo pipefail

RATE=${1:-1000}
SECS=${2:-20}
URL_PATH=${3:-/async/sleep/0.01}
WINDOW=${WINDOW:-10s}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v prometheus >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "error: prometheus is missing: apt-get install --no-install-recommends prometheus" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
if [ -z "${SPEEDUP:-}" ]; then
    (cd "$ROOT" && cargo build --release --locked -q -p speedup)
    SPEEDUP="$ROOT/target/release/speedup"
fi
DIR=$(mktemp -d)

. "$ROOT/bench/peers.sh"
peers_start_speedup "$DIR"
URL="$BASE$URL_PATH"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(free_port)
P2=$(free_port)
PP=$(free_port)

cat >"$DIR/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: speedup-bench
    static_configs:
      - targets: ["127.0.0.1:$P1", "127.0.0.1:$P2"]
CONF
prometheus --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/tsdb" \
    --web.listen-address="127.0.0.1:$PP" --log.level=warn >"$DIR/prometheus.out" 2>&1 &
PROM=$!
GENS=()
trap 'kill "${GENS[@]}" "$PROM" "$PEERS_SERVER" 2>/dev/null || true; wait 2>/dev/null; rm -rf "$DIR"' EXIT

# promq QUERY [TIME]: the first value of an instant query, "-" if none.
promq() {
    python3 - "$PP" "$@" <<'PY'
import json, sys, urllib.parse, urllib.request
port, query = sys.argv[1], sys.argv[2]
args = {"query": query}
if len(sys.argv) > 3:
    args["time"] = sys.argv[3]
url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode(args)
result = json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]
print(result[0]["value"][1] if result else "-")
PY
}
for _ in $(seq 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PP/-/ready', timeout=1)" \
        2>/dev/null && break
    sleep 0.1
done

SHARE=$(awk -v r="$RATE" 'BEGIN {printf "%g", r / 2}')
START=$(python3 -c 'import time; print(f"{time.time() + 3:.3f}")')
echo "server $BASE$URL_PATH; 2 generators at $SHARE req/s for ${SECS}s (after a 2s warm-up), \
start at $START; Prometheus on 127.0.0.1:$PP scraping every 1s"
for i in 1 2; do
    port=$([ $i = 1 ] && echo "$P1" || echo "$P2")
    "$SPEEDUP" bench --rate "$SHARE" -c 50 --threads 1 -d "${SECS}s" --warmup 2s --start-at "$START" \
        --metrics-addr "127.0.0.1:$port" --metrics-linger 5s \
        --hdr-log "$DIR/gen-$i.hlog" --json "$DIR/gen-$i.json" "$URL" >"$DIR/gen-$i.txt" 2>&1 &
    GENS+=($!)
done

LIVE_P99="histogram_quantile(0.99, sum by (le) (rate(speedup_bench_latency_seconds_bucket[$WINDOW])))"
LIVE_RATE="sum(rate(speedup_bench_requests_total[$WINDOW]))"
echo "live, every 5 s: $LIVE_P99"
t=0
while [ ! -e "$DIR/gen-1.json" ] || [ ! -e "$DIR/gen-2.json" ]; do
    sleep 1
    t=$((t + 1))
    if [ $((t % 5)) = 0 ]; then
        printf '  t=%3ss  fleet %8s req/s  p99 %s s\n' "$t" "$(promq "$LIVE_RATE" | cut -c1-8)" \
            "$(promq "$LIVE_P99" | cut -c1-8)"
    fi
done
# The runs have ended and linger 5 s: two scrapes later Prometheus holds
# their final counts.
sleep 2.5
COUNT=$(promq 'sum(speedup_bench_requests_total)')
P99=$(promq 'histogram_quantile(0.99, sum by (le) (speedup_bench_latency_seconds_bucket))')
wait "${GENS[@]}"
GENS=()
"$SPEEDUP" merge --json "$DIR/merged.json" "$DIR"/gen-*.hlog >/dev/null
python3 - "$DIR/merged.json" "$COUNT" "$P99" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
count, p99 = sys.argv[2], sys.argv[3]
print("whole run                 requests   p99 ms")
print(f"  Prometheus (buckets)  {float(count):>10.0f}  {float(p99) * 1e3:7.2f}")
print(f"  speedup merge (exact) {m['requests']['total']:>10}  {m['latency_ms']['corrected']['p99']:7.2f}")
PY
