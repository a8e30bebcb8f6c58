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

need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v ab >/dev/null 2>&1 || need+=(apache2-utils)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --release -q -p speedup-load --example hammer
HAMMER=target/release/examples/hammer

# A free loopback port: bind 0, read it back, release it.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
trap 'kill "$(cat "$DIR/nginx.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$DIR"' EXIT
cat >"$DIR/nginx.conf" <<CONF
worker_processes $WORKERS;
pid $DIR/nginx.pid;
error_log $DIR/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_timeout 65;
  keepalive_requests 100000000;
  client_body_temp_path $DIR;
  server {
    listen 127.0.0.1:$PORT;
    location / { return 200 "hello"; }
  }
}
CONF
nginx -p "$DIR" -c "$DIR/nginx.conf"
URL="http://127.0.0.1:$PORT/"
for _ in $(seq 50); do
  curl -fs "$URL" >/dev/null 2>&1 && break
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT)).close()" 2>/dev/null && break
  sleep 0.1
done

ab_rps()  { ab -q -k -c "$C" -t "$SECS" -n 100000000 "$URL" 2>/dev/null | awk '/^Requests per second/ {print $4}'; }
wrk_rps() { wrk -t"$1" -c "$C" -d"${SECS}s" "$URL" | awk '/^Requests\/sec/ {print $2}'; }
# shellcheck disable=SC2086
our_rps() { "$HAMMER" "$URL" -c "$C" -d "$SECS" -k ${HAMMER_ARGS:-} | awk '{print $1}'; }

echo "nginx workers=$WORKERS, c=$C, ${SECS}s, $ROUNDS rounds; cores: $(nproc)"
printf '%-6s %12s %12s %12s %12s   %s\n' round "ab -k" "wrk -t1" "wrk -t2" engine "engine/ab engine/wrk1 engine/wrk2"
for r in $(seq "$ROUNDS"); do
  a=$(ab_rps); w1=$(wrk_rps 1); w2=$(wrk_rps 2); e=$(our_rps)
  printf '%-6s %12.0f %12.0f %12.0f %12.0f   %.2f %.2f %.2f\n' "$r" "$a" "$w1" "$w2" "$e" \
    "$(echo "$e / $a" | bc -l)" "$(echo "$e / $w1" | bc -l)" "$(echo "$e / $w2" | bc -l)"
done
