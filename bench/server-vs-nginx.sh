#!/usr/bin/env bash
# Measures `speedup serve` against nginx (1 worker, `return 200 "hello"`) and
# a plain axum server with `tokio::time::sleep` (crates/server/examples/
# plain_axum.rs), with real ab as the client: issue 10's table.
#
# Server CPU per request comes from /proc/PID/stat (utime + stime of the whole
# process, all threads) read before and after each run, divided by the
# requests ab completed; that is steadier on a shared machine than req/s.
# Not a test: prints one table per round; compare ratios within a round.
#
# Usage: bench/server-vs-nginx.sh [rounds=3] [requests=50000]
# Env: SPEEDUP (binary to measure, default target/release/speedup, built here),
#      SERVE_ARGS (extra `speedup serve` flags, e.g. "--workers 1"),
#      BIG=0 to skip the c=10000 row (it needs ~10,000 free fds per process).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
N=${2:-50000}
C=50
SECS=5

. bench/peers.sh
peers_install
ulimit -n "$(ulimit -Hn)"

if [ -z "${SPEEDUP:-}" ]; then
    cargo build --release -q -p speedup
    SPEEDUP=target/release/speedup
fi
cargo build --release -q -p speedup-server --example plain_axum
AXUM=target/release/examples/plain_axum

peers_start_nginx 1
NGINX_URL=$URL
NGINX_PIDS="$(cat "$PEERS_DIR/nginx.pid") $(pgrep -P "$(cat "$PEERS_DIR/nginx.pid")" | tr '\n' ' ')"

# Starts "$@" (a server printing `listening on http://ADDR` on stdout) in the
# background; sets SERVER_PID and SERVER_URL.
start_server() {
    local out=$PEERS_DIR/out.$RANDOM
    "$@" >"$out" 2>>"$PEERS_DIR/servers.log" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        # The file may not exist yet: the server's shell creates it.
        SERVER_URL=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1/|p' "$out" 2>/dev/null || true)
        [ -n "$SERVER_URL" ] && return 0
        sleep 0.1
    done
    echo "error: $1 did not print its address; see $PEERS_DIR/servers.log" >&2
    exit 1
}
# shellcheck disable=SC2086
start_server "$SPEEDUP" serve --host 127.0.0.1 --port 0 ${SERVE_ARGS:-}
SPEEDUP_PID=$SERVER_PID
SPEEDUP_URL=$SERVER_URL
start_server "$AXUM"
AXUM_PID=$SERVER_PID
AXUM_URL=$SERVER_URL
trap 'kill $SPEEDUP_PID $AXUM_PID 2>/dev/null; kill "$(cat "$PEERS_DIR/nginx.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$PEERS_DIR"' EXIT

TICK=$(getconf CLK_TCK)
# CPU time in clock ticks (utime + stime) of the given processes.
ticks() {
    local total=0 pid
    for pid in "$@"; do
        # Fields after the command name, which may hold spaces: state is 1st.
        total=$((total + $(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}

# Runs an ab command ("$@", the URL last) against processes $PIDS; prints
# "µs-of-server-CPU-per-request p50 p95 max" (ms, from ab's -e CSV).
measure() {
    local csv=$PEERS_DIR/ab.csv before after done failed out
    before=$(ticks $PIDS)
    out=$("${@:1:$#-1}" -e "$csv" "${@: -1}" 2>&1) || { echo "error: $* failed: $out" >&2; exit 1; }
    after=$(ticks $PIDS)
    done=$(awk '/^Complete requests/ {print $3}' <<<"$out")
    failed=$(awk '/^Failed requests/ {print $3}' <<<"$out")
    [ "${failed:-0}" = 0 ] || echo "warning: $failed failed requests in: $*" >&2
    awk -F, -v b="$before" -v a="$after" -v n="$done" -v t="$TICK" '
        $1 == 50 {p50 = $2} $1 == 95 {p95 = $2} $1 == 100 {max = $2}
        END {printf "%.1f %.1f %.1f %.1f\n", (a - b) * 1e6 / t / n, p50, p95, max}' "$csv"
}

# Column $1 of a measure line.
col() { awk -v c="$1" '{print $c}' <<<"$2"; }

# Resident set size now and at peak of a process, in MiB.
rss() { awk '/^VmRSS|^VmHWM/ {printf "%s %.0f MiB  ", $1, $2 / 1024}' "/proc/$1/status"; }

echo "cores: $(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg); speedup: $SPEEDUP ${SERVE_ARGS:-}; $N requests per row"
for r in $(seq "$ROUNDS"); do
    echo
    echo "## round $r"
    echo "| measure | nginx 1 worker | plain axum | speedup serve | speedup / nginx |"
    echo "|---|---|---|---|---|"
    PIDS=$NGINX_PIDS n=$(measure ab -q -n "$N" -c 100 "${NGINX_URL}async/sleep/0")
    PIDS=$AXUM_PID a=$(measure ab -q -n "$N" -c 100 "${AXUM_URL}async/sleep/0")
    PIDS=$SPEEDUP_PID s=$(measure ab -q -n "$N" -c 100 "${SPEEDUP_URL}async/sleep/0")
    printf '| CPU µs/req, new connection (ab -c100 /async/sleep/0) | %s | %s | %s | %.2f |\n' \
        "$(col 1 "$n")" "$(col 1 "$a")" "$(col 1 "$s")" "$(echo "$(col 1 "$s") / $(col 1 "$n")" | bc -l)"

    PIDS=$NGINX_PIDS n=$(measure ab -q -k -n "$N" -c 100 "${NGINX_URL}async/sleep/0")
    PIDS=$AXUM_PID a=$(measure ab -q -k -n "$N" -c 100 "${AXUM_URL}async/sleep/0")
    PIDS=$SPEEDUP_PID s=$(measure ab -q -k -n "$N" -c 100 "${SPEEDUP_URL}async/sleep/0")
    printf '| CPU µs/req, keep-alive (ab -k -c100 /async/sleep/0) | %s | %s | %s | %.2f |\n' \
        "$(col 1 "$n")" "$(col 1 "$a")" "$(col 1 "$s")" "$(echo "$(col 1 "$s") / $(col 1 "$n")" | bc -l)"

    URL="${NGINX_URL}async/sleep/0" n=$(wrk_rps 1)
    URL="${AXUM_URL}async/sleep/0" a=$(wrk_rps 1)
    URL="${SPEEDUP_URL}async/sleep/0" s=$(wrk_rps 1)
    printf '| req/s, wrk -t1 -c%s -d%ss keep-alive | %.0f | %.0f | %.0f | %.2f |\n' "$C" "$SECS" "$n" "$a" "$s" \
        "$(echo "$s / $n" | bc -l)"

    PIDS=$AXUM_PID a=$(measure ab -q -n 5000 -c 1000 "${AXUM_URL}async/sleep/0.1")
    PIDS=$SPEEDUP_PID s=$(measure ab -q -n 5000 -c 1000 "${SPEEDUP_URL}async/sleep/0.1")
    printf '| CPU µs/req, ab -n5000 -c1000 /async/sleep/0.1 | – | %s | %s | – |\n' "$(col 1 "$a")" "$(col 1 "$s")"
    printf '| ab -n5000 -c1000 /async/sleep/0.1: p95 / max ms | – | %s / %s | %s / %s | – |\n' \
        "$(col 3 "$a")" "$(col 4 "$a")" "$(col 3 "$s")" "$(col 4 "$s")"

    PIDS=$SPEEDUP_PID s=$(measure ab -q -n 200 -c 1 "${SPEEDUP_URL}async/sleep/0.1")
    PIDS=$AXUM_PID a=$(measure ab -q -n 200 -c 1 "${AXUM_URL}async/sleep/0.1")
    printf '| ab -n200 -c1 /async/sleep/0.1: p50 ms | – | %s | %s | – |\n' "$(col 2 "$a")" "$(col 2 "$s")"

    PIDS=$SPEEDUP_PID s=$(measure "$SPEEDUP" ab -q -k -n 10000 -c 1000 "${SPEEDUP_URL}async/sleep/0.1")
    printf '| speedup ab -k -n10000 -c1000 /async/sleep/0.1: p95 ms (CPU µs/req) | – | – | %s (%s) | – |\n' \
        "$(col 3 "$s")" "$(col 1 "$s")"

    if [ "${BIG:-1}" != 0 ]; then
        PIDS=$SPEEDUP_PID s=$(measure "$SPEEDUP" ab -q -k -n 50000 -c 10000 "${SPEEDUP_URL}async/sleep/0.1")
        printf '| speedup ab -k -n50000 -c10000 /async/sleep/0.1: p95 ms (CPU µs/req) | – | – | %s (%s) | – |\n' \
            "$(col 3 "$s")" "$(col 1 "$s")"
        echo "speedup serve memory after c=10000: $(rss "$SPEEDUP_PID")"
    fi
done
