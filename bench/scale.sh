#!/bin/sh
# Scale-out: article-page req/s of one node against two nodes behind nginx,
# on one PostgreSQL, with the page cache on and off; and how long a change
# published through node A takes to show on node B.
#
# Starts a throwaway PostgreSQL (scripts/pg.sh), moves a demo site into it
# (`newsroom migrate`), runs node A and node B (`newsroom serve`, two site
# directories with the same site.conf) and nginx (a config written in the
# temp dir: an upstream with both nodes, on a free loopback port). wrk
# measures, interleaved:
#   one node    wrk -> A
#   two nodes   wrk -> nginx -> A, B
# "cache on" asks for the same article again and again (served from each
# node's page cache); "cache off" asks for /SLUG/?v=N with a new N on every
# request (bench/scale.lua for wrk): the cache keys pages by target, so
# every request misses and renders from PostgreSQL. There is no switch to
# turn the cache off; this is the same work a cold page costs.
# Publish latency: `newsroom live post` through A's site directory, then
# B's /news-feed/ polled until the headline shows (N times; median, max).
# Everything stays on 127.0.0.1 and stops by itself.
#
# Usage: bench/scale.sh [SECONDS] [CONNECTIONS] [PUBLISHES]
set -eu
SECS=${1:-5}
CONNS=${2:-50}
PUBS=${3:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${NEWSROOM_BIN:-$ROOT/build/newsroom}
WORK=$(mktemp -d /tmp/newsroom-scale.XXXXXX)
PGDIR=$WORK-pg
A_PID="" B_PID="" NGX_PID=""
cleanup() {
    for p in $A_PID $B_PID $NGX_PID; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    [ -d "$PGDIR" ] && sh "$ROOT/scripts/pg.sh" stop "$PGDIR" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_up() {
    for _ in $(seq 100); do curl -fs "$1" >/dev/null && return 0; sleep 0.1; done
    echo "scale.sh: $1 does not answer" >&2
    exit 1
}

URL=$(sh "$ROOT/scripts/pg.sh" start "$PGDIR" 2>/dev/null)
"$BIN" init "$WORK/a" --demo >/dev/null 2>&1
"$BIN" migrate "$WORK/a" --to "$URL" >/dev/null 2>&1
sed -i "s#^database = .*#database = $URL#" "$WORK/a/site.conf"
# node B: another machine's copy of the site (media on shared storage)
mkdir "$WORK/b"
cp -r "$WORK/a/site.conf" "$WORK/a/media" "$WORK/b/"

PA=$(free_port)
PB=$(free_port)
"$BIN" serve "$WORK/a" --listen "127.0.0.1:$PA" >"$WORK/a.log" 2>&1 &
A_PID=$!
"$BIN" serve "$WORK/b" --listen "127.0.0.1:$PB" >"$WORK/b.log" 2>&1 &
B_PID=$!
wait_up "http://127.0.0.1:$PA/"
wait_up "http://127.0.0.1:$PB/"

PN=$(free_port)
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    upstream nodes {
        server 127.0.0.1:$PA;
        server 127.0.0.1:$PB;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$PN;
        location / {
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
NGX_PID=$!
wait_up "http://127.0.0.1:$PN/"

cat >"$WORK/scale.lua" <<'LUA'
-- a new query string per request: every request misses the page cache
local n = 0
request = function()
    n = n + 1
    return wrk.format(nil, wrk.path .. "?v=" .. n .. "-" .. math.random(1e9))
end
LUA

SLUG=$(curl -fs "http://127.0.0.1:$PA/archive/" | grep -o 'href="/[a-z0-9-]*/"' |
       grep -v -e '"/archive/"' | head -1 | sed 's/href="\/\(.*\)\/"/\1/')
rps() { # URL [lua]
    if [ -n "${2:-}" ]; then
        wrk -t2 -c"$CONNS" -d"${SECS}s" -s "$2" "$1"
    else
        wrk -t2 -c"$CONNS" -d"${SECS}s" "$1"
    fi | awk '/Requests\/sec/ {print $2}'
}
ratio() { echo "scale=2; $2 / $1" | bc -l; }

echo "article /$SLUG/, wrk -t2 -c$CONNS -d${SECS}s, $(nproc) cores, PostgreSQL on loopback"
ONE_ON=$(rps "http://127.0.0.1:$PA/$SLUG/")
TWO_ON=$(rps "http://127.0.0.1:$PN/$SLUG/")
ONE_OFF=$(rps "http://127.0.0.1:$PA/$SLUG/" "$WORK/scale.lua")
TWO_OFF=$(rps "http://127.0.0.1:$PN/$SLUG/" "$WORK/scale.lua")
echo "(one machine: both nodes, nginx, wrk and PostgreSQL share its cores)"
printf 'cache on:  one node %s req/s, two nodes (nginx) %s req/s, two/one %s\n' \
    "$ONE_ON" "$TWO_ON" "$(ratio "$ONE_ON" "$TWO_ON")"
printf 'cache off: one node %s req/s, two nodes (nginx) %s req/s, two/one %s\n' \
    "$ONE_OFF" "$TWO_OFF" "$(ratio "$ONE_OFF" "$TWO_OFF")"

# publish on A (CLI), visible on B
: >"$WORK/lat"
for i in $(seq "$PUBS"); do
    H="scale probe $i $$"
    T0=$(date +%s%N)
    "$BIN" live post "$WORK/a" --headline "$H" >/dev/null
    while ! curl -fs "http://127.0.0.1:$PB/news-feed/" | grep -q "$H"; do :; done
    T1=$(date +%s%N)
    echo $(( (T1 - T0) / 1000 )) >>"$WORK/lat"
done
sort -n "$WORK/lat" | awk -v n="$PUBS" '
    { v[NR] = $1 }
    END { printf "publish on A -> visible on B (%d times, incl. the CLI start): median %.1f ms, max %.1f ms\n",
          n, v[int((n + 1) / 2)] / 1000, v[n] / 1000 }'
