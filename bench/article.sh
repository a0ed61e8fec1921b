#!/bin/sh
# Article-page throughput and tail latency: newsroom against nginx serving
# the same bytes, uncompressed and gzipped.
#
# Creates a demo site, starts `newsroom serve` on a free loopback port,
# saves the article page it renders, and starts nginx (Debian's package)
# serving that saved file from disk on another loopback port, with one
# worker per core like newsroom. A .gz of the same bytes (gzip -6, the
# level newsroom's cache uses) sits beside it for nginx's gzip_static.
# Then runs wrk --latency against each, interleaved (newsroom, nginx,
# newsroom gzip, nginx gzip, ...; the gzip runs send
# "Accept-Encoding: gzip"), and prints req/s, p99 latency and the ratios.
# Everything stays on 127.0.0.1 and stops by itself.
#
# Usage: bench/article.sh [ROUNDS] [SECONDS] [CONNECTIONS]
# (BIN=path/to/newsroom to measure another build)
set -eu
ROUNDS=${1:-3}
SECS=${2:-5}
CONNS=${3:-50}
BIN=${BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/newsroom}
WORK=$(mktemp -d /tmp/newsroom-bench.XXXXXX)
# nginx's workers run as nobody when started by root: they must be able to
# read the files, or every answer is a 403 (and fast)
chmod 755 "$WORK"
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

"$BIN" init "$WORK/site" --demo >"$WORK/init.log" 2>&1 || {
    cat "$WORK/init.log" >&2
    exit 1
}
# narration would compete with the server for the CPU while it measures
echo "narration_engine = off" >>"$WORK/site/site.conf"
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
gzip -6 -n -k "$WORK/www/$SLUG/index.html"
GZ_NGX=$(wc -c <"$WORK/www/$SLUG/index.html.gz")
GZ_NR=$(curl -fs -H 'Accept-Encoding: gzip' "http://127.0.0.1:$P1/$SLUG/" | wc -c)

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
    gzip_static on;
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

# both must really answer gzip when asked, or the comparison is void
for p in "$P1" "$P2"; do
    curl -fs -o /dev/null -D - -H 'Accept-Encoding: gzip' "http://127.0.0.1:$p/$SLUG/" |
        grep -qi '^content-encoding: *gzip' || {
        echo "article.sh: port $p does not answer gzip" >&2
        exit 1
    }
done

# prints "REQ/S P99_MS" for URL [extra wrk args]
measure() {
    url=$1
    shift
    wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$@" "$url" | awk '
        /Non-2xx|Socket errors/ { bad = bad $0 }
        /Requests\/sec/ { rps = $2 }
        /^ +99%/ {
            v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
            p99 = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v
        }
        END {
            if (bad != "") { print "wrk: " bad > "/dev/stderr"; exit 1 }
            printf "%s %.2f\n", rps, p99
        }' || { echo "article.sh: errors from $url" >&2; exit 1; }
}
echo "article /$SLUG/ ($BYTES bytes; gzip: newsroom $GZ_NR, nginx $GZ_NGX bytes)," \
     "wrk -t2 -c$CONNS -d${SECS}s --latency, $ROUNDS rounds, $(nproc) cores"
: >"$WORK/runs"
for r in $(seq "$ROUNDS"); do
    N=$(measure "http://127.0.0.1:$P1/$SLUG/")
    X=$(measure "http://127.0.0.1:$P2/$SLUG/")
    NG=$(measure "http://127.0.0.1:$P1/$SLUG/" -H 'Accept-Encoding: gzip')
    XG=$(measure "http://127.0.0.1:$P2/$SLUG/" -H 'Accept-Encoding: gzip')
    echo "$N $X $NG $XG" >>"$WORK/runs"
    echo "round $r: identity newsroom ${N% *} req/s p99 ${N#* } ms," \
         "nginx ${X% *} req/s p99 ${X#* } ms;" \
         "gzip newsroom ${NG% *} req/s p99 ${NG#* } ms, nginx ${XG% *} req/s p99 ${XG#* } ms"
done
awk '
    { for (i = 1; i <= 8; i++) s[i] += $i }
    END {
        for (i = 1; i <= 8; i++) m[i] = s[i] / NR
        printf "mean identity: newsroom %.0f req/s (p99 %.2f ms), nginx %.0f req/s (p99 %.2f ms), ratio newsroom/nginx %.2f\n",
            m[1], m[2], m[3], m[4], m[1] / m[3]
        printf "mean gzip:     newsroom %.0f req/s (p99 %.2f ms), nginx %.0f req/s (p99 %.2f ms), ratio newsroom/nginx %.2f\n",
            m[5], m[6], m[7], m[8], m[5] / m[7]
    }' "$WORK/runs"
