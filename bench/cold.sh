#!/bin/sh
# Cold rendering: what a page costs when the page cache is off
# (cache_mb = 0), so every request reads the store, renders Markdown and
# the template. Two demo sites' worth of servers, one at a time:
#   1. cache off: every published article of the demo site, fetched PASSES
#      times (default 20) over one keep-alive connection by a small Python client; the
#      time to the first byte of each response is the render time plus the
#      loopback round trip (p50, p99, max);
#   2. cache off: wrk on the lead article (req/s, p99);
#   3. cache on (the default 256 MB): wrk on the same article, for
#      reference.
# Everything stays on 127.0.0.1 and stops by itself.
#
# Usage: bench/cold.sh [PASSES] [SECONDS] [CONNECTIONS]
# (BIN=path/to/newsroom to measure another build)
set -eu
PASSES=${1:-20}
SECS=${2:-5}
CONNS=${3:-50}
. "$(dirname "$0")/lib.sh"
bench_work cold

# start CACHE_MB: serves the site with that page-cache budget on $PORT
start() {
    sed -i '/^cache_mb *=/d' "$WORK/site/site.conf"
    echo "cache_mb = $1" >>"$WORK/site/site.conf"
    start_server
}

demo_site
SLUGS=$($PY -c 'import sqlite3, sys
for (s,) in sqlite3.connect(sys.argv[1]).execute(
        "SELECT slug FROM posts WHERE status = '"'published'"' ORDER BY id"):
    print(s)' "$WORK/site/newsroom.db")
N=$(echo "$SLUGS" | wc -l)

start 0
echo "cold render, cache_mb = 0: $N articles x $PASSES passes, one keep-alive client, $(nproc) cores"
echo "$SLUGS" >"$WORK/slugs"
$PY - "$PORT" "$PASSES" "$WORK/slugs" <<'PYEOF'
import http.client, sys, time
port, passes = int(sys.argv[1]), int(sys.argv[2])
slugs = open(sys.argv[3]).read().split()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
ttfb = []
for _ in range(passes):
    for s in slugs:
        t0 = time.perf_counter()
        c.request("GET", f"/{s}/")
        r = c.getresponse()          # status line and headers are in
        t1 = time.perf_counter()
        body = r.read()
        if r.status != 200 or r.getheader("X-Cache") == "hit" or b"<h1" not in body:
            sys.exit(f"cold.sh: /{s}/ answered {r.status} ({r.getheader('X-Cache')})")
        ttfb.append((t1 - t0) * 1000)
ttfb.sort()
pick = lambda p: ttfb[min(len(ttfb) - 1, int(p * len(ttfb)))]
print(f"  per article (time to first byte): p50 {pick(0.5):.2f} ms, "
      f"p99 {pick(0.99):.2f} ms, max {ttfb[-1]:.2f} ms over {len(ttfb)} requests")
PYEOF
# the lead article of the archive, as bench/article.sh picks it
LEAD=$(lead_slug "$PORT")
OFF=$(measure "http://127.0.0.1:$PORT/$LEAD/")
stop_server
start 256
ON=$(measure "http://127.0.0.1:$PORT/$LEAD/")
stop_server
echo "wrk -t2 -c$CONNS -d${SECS}s --latency on /$LEAD/:"
echo "  cache off: ${OFF% *} req/s, p99 ${OFF#* } ms"
echo "  cache on:  ${ON% *} req/s, p99 ${ON#* } ms"
awk -v a="${ON% *}" -v b="${OFF% *}" 'BEGIN { printf "  cache on/off: %.0fx\n", a / b }'
