# Shared by the bench/*.sh scripts (source it, don't run it): the
# peers installed if missing, nginx answering `return 200 "hello"` on a free
# loopback port, `speedup serve` on one, and ab/wrk runs that print their req/s.
#
# Expects C (concurrency) and SECS (duration) to be set by the caller.

# Installs nginx-light, wrk and apache2-utils if any is missing (needs root).
peers_install() {
    local need=()
    command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
    command -v ab >/dev/null 2>&1 || need+=(apache2-utils)
    command -v wrk >/dev/null 2>&1 || need+=(wrk)
    [ ${#need[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "error: missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
}

# Starts nginx with $1 worker processes (default 1) on a free loopback port,
# stopped when the calling script exits; sets URL once it answers.
peers_start_nginx() {
    local workers=${1:-1}
    PEERS_DIR=$(mktemp -d)
    # A free loopback port: bind 0, read it back, release it.
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    trap 'kill "$(cat "$PEERS_DIR/nginx.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$PEERS_DIR"' EXIT
    cat >"$PEERS_DIR/nginx.conf" <<CONF
worker_processes $workers;
pid $PEERS_DIR/nginx.pid;
error_log $PEERS_DIR/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_timeout 65;
  keepalive_requests 100000000;
  client_body_temp_path $PEERS_DIR;
  proxy_temp_path $PEERS_DIR;
  fastcgi_temp_path $PEERS_DIR;
  uwsgi_temp_path $PEERS_DIR;
  scgi_temp_path $PEERS_DIR;
  server {
    listen 127.0.0.1:$port;
    location / { return 200 "hello"; }
  }
}
CONF
    nginx -p "$PEERS_DIR" -c "$PEERS_DIR/nginx.conf"
    URL="http://127.0.0.1:$port/"
    for _ in $(seq 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1',$port)).close()" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "error: nginx did not start on port $port" >&2
    exit 1
}

# req/s of an ab-style keep-alive run of SECS at C: `ab_rps [binary [args]]`
# (default: real ab); `speedup ab` prints the same report line.
ab_rps() {
    "${@:-ab}" -q -k -c "$C" -t "$SECS" -n 100000000 "$URL" 2>/dev/null |
        awk '/^Requests per second/ {print $4}'
}

# req/s of wrk with $1 threads.
wrk_rps() { wrk -t"$1" -c "$C" -d "${SECS}s" "$URL" | awk '/^Requests\/sec/ {print $2}'; }

# Starts `$SPEEDUP serve` on a free loopback port, its output in folder $1,
# stopped (and $1 removed) when the calling script exits; sets BASE.
peers_start_speedup() {
    PEERS_DIR=$1
    "$SPEEDUP" serve --host 127.0.0.1 --port 0 >"$PEERS_DIR/serve.out" 2>/dev/null &
    PEERS_SERVER=$!
    trap 'kill "$PEERS_SERVER" 2>/dev/null || true; rm -rf "$PEERS_DIR"' EXIT
    # Its first line says where it listens.
    for _ in $(seq 100); do
        grep -q '^listening on ' "$PEERS_DIR/serve.out" 2>/dev/null && break
        sleep 0.1
    done
    BASE=$(sed -n 's/^listening on //p' "$PEERS_DIR/serve.out" | head -1)
    [ -n "$BASE" ] || { echo "error: speedup serve did not start" >&2; exit 1; }
}
