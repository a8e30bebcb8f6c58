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

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need wrk || ! need ab; then
    echo "installing nginx-light, wrk, apache2-utils" >&2
    SUDO=$(need sudo && echo sudo || true)
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq nginx-light wrk apache2-utils >/dev/null
fi

(cd "$ROOT" && cargo build --release -q -p speedup)
SPEEDUP="$ROOT/target/release/speedup"

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    client_body_temp_path $WORK;
    proxy_temp_path $WORK;
    fastcgi_temp_path $WORK;
    uwsgi_temp_path $WORK;
    scgi_temp_path $WORK;
    server {
        listen 127.0.0.1:$PORT;
        location / { return 200 "hello"; }
    }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK" &
NGINX=$!
trap 'kill $NGINX 2>/dev/null; wait $NGINX 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT)).close()" 2>/dev/null && break
    sleep 0.05
done
URL="http://127.0.0.1:$PORT/"

run_tool() {
    case "$1" in
        ab-k) ab -q -k -c "$C" -t "$SECS" -n 100000000 "$URL" 2>/dev/null |
            awk '/^Requests per second/ {print $4}' ;;
        wrk-t1) wrk -t1 -c "$C" -d "${SECS}s" "$URL" | awk '/^Requests\/sec/ {print $2}' ;;
        wrk-t2) wrk -t2 -c "$C" -d "${SECS}s" "$URL" | awk '/^Requests\/sec/ {print $2}' ;;
        speedup-ab-k) "$SPEEDUP" ab -q -k -c "$C" -t "$SECS" -n 100000000 "$URL" 2>/dev/null |
            awk '/^Requests per second/ {print $4}' ;;
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
