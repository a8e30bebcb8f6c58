#!/usr/bin/env bash
# HTTP/2 load generators side by side against nginx (`return 200 "hello"`,
# 1 worker): h2c (`listen ... http2`, prior knowledge) and h2 over TLS
# (`ssl http2`, a self-signed certificate made here), -c 50 connections
# with 1 and 10 streams each, same duration, several rounds:
#   speedup bench --http2 -c 50 --streams M
#   h2load -c 50 -m M -t 1            (Debian's nghttp2-client)
#   oha --http2 -c 50 -p M            (if installed: cargo install oha --locked)
# For each run, /usr/bin/time gives the generator's user+sys CPU and peak RSS;
# the tool's own output its request count and latencies (h2load's per-request
# --log-file for its p50/p99). On a 2-core machine nginx saturates before any
# client does, so CPU per request ((user+sys)/requests) is the efficiency
# figure. Prints every run, then the median per tool and setting and each
# tool's CPU/request against h2load's. A benchmark, not a test.
#
# Usage: bench/h2-vs-peers.sh [seconds=5] [rounds=3]
# Env: SPEEDUP=path (default: a release build of this checkout), OHA=path.
set -euo pipefail

SECS=${1:-5}
ROUNDS=${2:-3}
C=50
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OHA=${OHA:-$(command -v oha || true)}

need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v h2load >/dev/null 2>&1 || need+=(nghttp2-client)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "error: install ${need[*]} (apt-get install -y ${need[*]})" >&2; exit 1; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -z "${SPEEDUP:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p speedup)
    SPEEDUP="$ROOT/target/release/speedup"
fi

DIR=$(mktemp -d)
trap 'kill "$(cat "$DIR/nginx.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$DIR"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
H2C=$(port)
H2=$(port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null
cat >"$DIR/nginx.conf" <<CONF
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $DIR; proxy_temp_path $DIR; fastcgi_temp_path $DIR;
  uwsgi_temp_path $DIR; scgi_temp_path $DIR;
  server { listen 127.0.0.1:$H2C http2; location / { return 200 "hello"; } }
  server {
    listen 127.0.0.1:$H2 ssl http2;
    ssl_certificate $DIR/cert.pem; ssl_certificate_key $DIR/key.pem;
    location / { return 200 "hello"; }
  }
}
CONF
nginx -p "$DIR" -c "$DIR/nginx.conf" 2>/dev/null
for p in "$H2C" "$H2"; do
    for _ in $(seq 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1',$p)).close()" 2>/dev/null && break
        sleep 0.1
    done
done

# One run: prints "requests user sys rss_kb p50_ms p99_ms".
measure() {
    local tool=$1 scheme=$2 m=$3 port url log="$DIR/run.out" timing="$DIR/run.time"
    port=$([ "$scheme" = h2c ] && echo "$H2C" || echo "$H2")
    url=$([ "$scheme" = h2c ] && echo "http" || echo "https")://127.0.0.1:$port/
    case "$tool" in
        speedup)
            /usr/bin/time -f "%U %S %M" -o "$timing" "$SPEEDUP" bench --http2 -k -c "$C" --streams "$m" \
                -d "${SECS}s" --json "$log" "$url" >/dev/null 2>&1
            python3 - "$log" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); u = d["latency_ms"]["uncorrected"]
print(d["requests"]["total"], u["p50"], u["p99"])
PY
            ;;
        h2load)
            # h2load appends to its --log-file: start each run from an empty one.
            rm -f "$DIR/h2load.log"
            /usr/bin/time -f "%U %S %M" -o "$timing" h2load -c "$C" -m "$m" -t 1 -D "$SECS" \
                --log-file="$DIR/h2load.log" "$url" >/dev/null 2>&1
            python3 - "$DIR/h2load.log" <<'PY'
import sys
# start time (µs since epoch), status, duration (µs), one request per line
d = sorted(int(l.split()[2]) for l in open(sys.argv[1]) if l.strip())
p = lambda q: d[min(len(d) - 1, int(q * len(d)))] / 1000
print(len(d), p(0.5), p(0.99))
PY
            ;;
        oha)
            /usr/bin/time -f "%U %S %M" -o "$timing" "$OHA" --http2 --insecure --no-tui \
                --output-format json -c "$C" -p "$m" -z "${SECS}s" "$url" >"$log" 2>/dev/null
            python3 - "$log" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); p = d["latencyPercentiles"]
print(sum(d["statusCodeDistribution"].values()), p["p50"] * 1000, p["p99"] * 1000)
PY
            ;;
    esac | { read -r n p50 p99; read -r u s r <"$timing"; echo "$n $u $s $r $p50 $p99"; }
}

TOOLS=(h2load speedup)
[ -n "$OHA" ] && TOOLS+=(oha)
echo "nginx 1 worker (h2c :$H2C, h2 over TLS :$H2), -c $C, ${SECS}s per run, $ROUNDS rounds; cores: $(nproc)"
printf '%-5s %-4s %-3s %-8s %9s %9s %13s %9s %9s %9s\n' round tls m tool requests "req/s" "CPU/req(us)" "RSS(MB)" "p50(ms)" "p99(ms)"
: >"$DIR/all"
for round in $(seq "$ROUNDS"); do
    for scheme in h2c h2; do
        for m in 1 10; do
            for tool in "${TOOLS[@]}"; do
                read -r n u s r p50 p99 < <(measure "$tool" "$scheme" "$m")
                rps=$(awk -v n="$n" -v t="$SECS" 'BEGIN {printf "%.0f", n / t}')
                cpu=$(awk -v n="$n" -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", (u + s) * 1e6 / n}')
                rss=$(awk -v r="$r" 'BEGIN {printf "%.1f", r / 1024}')
                printf '%-5s %-4s %-3s %-8s %9s %9s %13s %9s %9.2f %9.2f\n' \
                    "$round" "$scheme" "$m" "$tool" "$n" "$rps" "$cpu" "$rss" "$p50" "$p99"
                echo "$scheme $m $tool $rps $cpu $rss $p50 $p99" >>"$DIR/all"
            done
        done
    done
done

echo
echo "medians of $ROUNDS rounds:"
python3 - "$DIR/all" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = lambda xs: statistics.median(float(x) for x in xs)
print("| tls | m | tool | req/s | CPU/req (us) | vs h2load | peak RSS (MB) | p50 (ms) | p99 (ms) |")
print("|---|---|---|---|---|---|---|---|---|")
for scheme in ("h2c", "h2"):
    for m in ("1", "10"):
        sel = lambda tool: [r for r in rows if r[0] == scheme and r[1] == m and r[2] == tool]
        base = med(r[4] for r in sel("h2load"))
        for tool in ("h2load", "speedup", "oha"):
            rs = sel(tool)
            if not rs:
                continue
            cpu = med(r[4] for r in rs)
            print(f"| {scheme} | {m} | {tool} | {med(r[3] for r in rs):.0f} | {cpu:.2f} | {cpu / base:.2f}x | "
                  f"{med(r[5] for r in rs):.1f} | {med(r[6] for r in rs):.2f} | {med(r[7] for r in rs):.2f} |")
PY
