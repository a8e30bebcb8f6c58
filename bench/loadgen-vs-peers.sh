#!/usr/bin/env bash
# Load generators side by side against nginx (`return 200 "hello"`, 1 worker)
# on loopback, keep-alive, same concurrency and duration, several rounds:
# ab -k, wrk -t1, wrk -t2, oha (if installed), `speedup ab -k`, and
# `speedup bench` (closed loop, default threads and --threads 2).
#
# For each run, /usr/bin/time -v gives the generator's user+sys CPU time and
# peak RSS; the tool's own output gives its request count. On a 2-core
# machine nginx saturates before any client does, so req/s alone cannot rank
# clients: CPU per request ((user+sys)/requests) is the efficiency figure.
# Prints every run, then the median per tool and the ratio of each tool's
# CPU/request to wrk -t1's. A benchmark, not a test.
#
# Usage: bench/loadgen-vs-peers.sh [concurrency=50] [seconds=5] [rounds=3]
# Env: OHA=path/to/oha (default: oha on PATH; `cargo install oha --locked`).
set -euo pipefail

C=${1:-50}
SECS=${2:-5}
ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OHA=${OHA:-$(command -v oha || true)}

. "$ROOT/bench/peers.sh"
peers_install

(cd "$ROOT" && cargo build --release -q -p speedup)
SPEEDUP="$ROOT/target/release/speedup"

peers_start_nginx 1
OUT=$(mktemp -d)
trap 'kill "$(cat "$PEERS_DIR/nginx.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$PEERS_DIR" "$OUT"' EXIT

# Runs one tool under /usr/bin/time -v; prints "requests user sys rss_kb".
measure() {
    local tool=$1 log="$OUT/$1.out" timing="$OUT/$1.time" n
    case "$tool" in
        ab-k) /usr/bin/time -v -o "$timing" ab -q -k -c "$C" -t "$SECS" -n 100000000 "$URL" >"$log" 2>/dev/null ;;
        wrk-t1) /usr/bin/time -v -o "$timing" wrk -t1 -c "$C" -d "${SECS}s" "$URL" >"$log" ;;
        wrk-t2) /usr/bin/time -v -o "$timing" wrk -t2 -c "$C" -d "${SECS}s" "$URL" >"$log" ;;
        oha) /usr/bin/time -v -o "$timing" "$OHA" --no-tui --output-format json -c "$C" -z "${SECS}s" "$URL" >"$log" ;;
        speedup-ab-k) /usr/bin/time -v -o "$timing" "$SPEEDUP" ab -q -k -c "$C" -t "$SECS" -n 100000000 "$URL" >"$log" 2>/dev/null ;;
        speedup-bench-t2) /usr/bin/time -v -o "$timing" "$SPEEDUP" bench --threads 2 -c "$C" -d "${SECS}s" --json - "$URL" >"$log" 2>/dev/null ;;
        speedup-bench) /usr/bin/time -v -o "$timing" "$SPEEDUP" bench -c "$C" -d "${SECS}s" --json - "$URL" >"$log" 2>/dev/null ;;
    esac
    case "$tool" in
        ab-k|speedup-ab-k) n=$(awk '/^Complete requests/ {print $3}' "$log") ;;
        wrk-*) n=$(awk '/requests in/ {print $1}' "$log") ;;
        oha) n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(d["statusCodeDistribution"].values()))' "$log") ;;
        speedup-bench*) n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"]["total"])' "$log") ;;
    esac
    awk -v n="$n" -F': ' '
        /User time/ {u=$2} /System time/ {s=$2} /Maximum resident/ {r=$2}
        END {print n, u, s, r}' "$timing"
}

TOOLS=(wrk-t1 wrk-t2 ab-k speedup-ab-k speedup-bench speedup-bench-t2)
[ -n "$OHA" ] && TOOLS+=(oha)
declare -A RPS CPU RSS
echo "nginx 1 worker, c=$C keep-alive, ${SECS}s per run, $ROUNDS rounds; cores: $(nproc)"
printf '%-6s %-17s %10s %12s %14s %10s\n' round tool requests "req/s" "CPU/req (us)" "RSS (MB)"
for round in $(seq 1 "$ROUNDS"); do
    for tool in "${TOOLS[@]}"; do
        read -r n u s r < <(measure "$tool")
        rps=$(awk -v n="$n" -v t="$SECS" 'BEGIN {printf "%.0f", n / t}')
        cpu=$(awk -v n="$n" -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", (u + s) * 1e6 / n}')
        rss=$(awk -v r="$r" 'BEGIN {printf "%.1f", r / 1024}')
        printf '%-6s %-17s %10s %12s %14s %10s\n' "$round" "$tool" "$n" "$rps" "$cpu" "$rss"
        RPS[$tool]="${RPS[$tool]:-} $rps"; CPU[$tool]="${CPU[$tool]:-} $cpu"; RSS[$tool]="${RSS[$tool]:-} $rss"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "median of $ROUNDS rounds (req/s counts requests over the nominal ${SECS}s):"
printf '| %-17s | %10s | %14s | %18s | %10s |\n' tool "req/s" "CPU/req (us)" "CPU/req vs wrk -t1" "peak RSS (MB)"
printf '|%s|%s|%s|%s|%s|\n' "-------------------" "------------" "----------------" "--------------------" "------------"
base=$(echo "${CPU[wrk-t1]}" | median)
for tool in "${TOOLS[@]}"; do
    cpu=$(echo "${CPU[$tool]}" | median)
    printf '| %-17s | %10s | %14s | %18s | %10s |\n' "$tool" "$(echo "${RPS[$tool]}" | median)" "$cpu" \
        "$(awk -v a="$cpu" -v b="$base" 'BEGIN {printf "%.2fx", a / b}')" "$(echo "${RSS[$tool]}" | median)"
done
