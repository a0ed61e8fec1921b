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
. "$(dirname "$0")/lib.sh"
bench_work bench
# nginx's workers run as nobody when started by root: they must be able to
# read the files, or every answer is a 403 (and fast)
chmod 755 "$WORK"
demo_site
start_server
P1=$PORT

# the lead article of the front page
SLUG=$(lead_slug "$P1")
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
MORE_PIDS=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$P2/$SLUG/" >/dev/null && break; sleep 0.1; done

# both must really answer gzip when asked, or the comparison is void
for p in "$P1" "$P2"; do
    curl -fs -o /dev/null -D - -H 'Accept-Encoding: gzip' "http://127.0.0.1:$p/$SLUG/" |
        grep -qi '^content-encoding: *gzip' || {
        echo "article.sh: port $p does not answer gzip" >&2
        exit 1
    }
done

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
