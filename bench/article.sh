#!/bin/sh
# Article-page throughput: newsroom against nginx serving the same bytes.
#
# Creates a demo site, starts `newsroom serve` on a free loopback port,
# saves the article page it renders, and starts nginx (Debian's package)
# serving that saved file from disk on another loopback port, with one
# worker per core like newsroom. Then runs wrk against each, interleaved
# (newsroom, nginx, newsroom, nginx, ...), and prints both req/s and the
# ratio. Everything stays on 127.0.0.1 and stops by itself.
#
# Usage: bench/article.sh [ROUNDS] [SECONDS] [CONNECTIONS]
set -eu
ROUNDS=${1:-3}
SECS=${2:-5}
CONNS=${3:-50}
BIN=$(cd "$(dirname "$0")/.." && pwd)/build/newsroom
WORK=$(mktemp -d /tmp/newsroom-bench.XXXXXX)
NR_PID="" NGX_PID=""
cleanup() {
    [ -n "$NR_PID" ] && kill "$NR_PID" 2>/dev/null || true
    [ -n "$NGX_PID" ] && kill "$NGX_PID" 2>/dev/null || true
    sleep 0.3
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

"$BIN" init "$WORK/site" --demo >/dev/null
P1=$(free_port)
"$BIN" serve "$WORK/site" --listen "127.0.0.1:$P1" >"$WORK/newsroom.log" 2>&1 &
NR_PID=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$P1/" >/dev/null && break; sleep 0.1; done

# the lead article of the front page
SLUG=$(curl -fs "http://127.0.0.1:$P1/archive/" | grep -o 'href="/[a-z0-9-]*/"' |
       grep -v -e '"/archive/"' | head -1 | sed 's/href="\/\(.*\)\/"/\1/')
mkdir -p "$WORK/www/$SLUG"
curl -fs "http://127.0.0.1:$P1/$SLUG/" >"$WORK/www/$SLUG/index.html"
BYTES=$(wc -c <"$WORK/www/$SLUG/index.html")

P2=$(free_port)
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes $(nproc);
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    default_type text/html;
    server {
        listen 127.0.0.1:$P2;
        root $WORK/www;
        index index.html;
    }
}
CONF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
NGX_PID=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$P2/$SLUG/" >/dev/null && break; sleep 0.1; done

rps() {
    wrk -t2 -c"$CONNS" -d"${SECS}s" "$1" | awk '/Requests\/sec/ {print $2}'
}
echo "article /$SLUG/ ($BYTES bytes), wrk -t2 -c$CONNS -d${SECS}s, $ROUNDS rounds, $(nproc) cores"
SUM_N=0 SUM_X=0
for r in $(seq "$ROUNDS"); do
    N=$(rps "http://127.0.0.1:$P1/$SLUG/")
    X=$(rps "http://127.0.0.1:$P2/$SLUG/")
    echo "round $r: newsroom $N req/s, nginx $X req/s"
    SUM_N=$(echo "$SUM_N + $N" | bc -l)
    SUM_X=$(echo "$SUM_X + $X" | bc -l)
done
printf 'mean: newsroom %.0f req/s, nginx %.0f req/s, ratio newsroom/nginx %.2f\n' \
    "$(echo "$SUM_N / $ROUNDS" | bc -l)" "$(echo "$SUM_X / $ROUNDS" | bc -l)" \
    "$(echo "$SUM_N / $SUM_X" | bc -l)"
