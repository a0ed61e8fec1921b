#!/bin/sh
# Full-text search at archive scale: index build time, database size and
# /search latency over N articles, against a LIKE '%word%' scan of the
# same text as the reference.
#
# Creates a fresh site under /tmp, fills its SQLite database with N
# published articles (~600 words each; bench/search_gen.py writes the
# posts, authors and tags tables directly with the search triggers
# dropped, then rebuilds the post_search index from scratch and times
# that), starts `newsroom serve` on a free loopback port and runs a mix of
# one-word, multi-word and "phrase" queries through /search?q= one at a
# time (each query once, so no page cache hit). The reference runs a
# subset of the same queries as LIKE scans of posts.plaintext directly in
# SQLite (no HTTP, so the ratio flatters the reference). Prints p50/p99 of
# both and their ratio. The site is removed at the end.
#
# Usage: bench/search.sh [ARTICLES] [QUERIES] [REFERENCE_QUERIES]
set -eu
N=${1:-100000}
NQ=${2:-300}
NREF=${3:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${NEWSROOM_BIN:-$ROOT/build/newsroom}
GEN=$ROOT/bench/search_gen.py
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/newsroom-search-bench.XXXXXX)
NR_PID=""
cleanup() {
    [ -n "$NR_PID" ] && kill "$NR_PID" 2>/dev/null || true
    sleep 0.3
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# p50 and p99 of the numbers after the first word of a line
pct() {
    $PY -c 'import sys
v = sorted(float(x) for x in sys.stdin.read().split()[1:])
p = lambda q: v[min(len(v) - 1, int(q * len(v)))]
print("%.2f %.2f" % (p(0.50), p(0.99)))'
}

"$BIN" init "$WORK/site" >/dev/null 2>&1
DB=$WORK/site/newsroom.db
echo "generating $N articles into $DB ..."
T0=$(date +%s)
INDEX_S=$($PY "$GEN" gen "$DB" "$N" | sed -n 's/^index_s //p')
T1=$(date +%s)
SIZE=$(du -m "$DB" | cut -f1)
TEXT_MB=$(sqlite3 "$DB" "SELECT sum(length(plaintext)) / 1048576 FROM posts")

$PY "$GEN" queries "$NQ" >"$WORK/queries"
head -n "$NREF" "$WORK/queries" >"$WORK/ref_queries"

P=$(free_port)
"$BIN" serve "$WORK/site" --listen "127.0.0.1:$P" >"$WORK/serve.log" 2>&1 &
NR_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$P/" >/dev/null && break; sleep 0.1; done
if curl -fs "http://127.0.0.1:$P/search?q=warmup" >/dev/null; then
    VIA="GET /search?q= of newsroom serve"
    HTTP=$($PY "$GEN" http "$P" "$WORK/queries")
else
    echo "search.sh: /search is missing; this run cannot measure it" >&2
    exit 1
fi
HTTP_REF=$(echo "$HTTP" | $PY -c "import sys; v=sys.stdin.read().split(); print(' '.join(v[:$NREF + 1]))")
LIKE=$($PY "$GEN" like "$DB" "$WORK/ref_queries")

set -- $(echo "$HTTP" | pct)
S50=$1 S99=$2
set -- $(echo "$HTTP_REF" | pct)
R50=$1 R99=$2
set -- $(echo "$LIKE" | pct)
L50=$1 L99=$2

echo
echo "articles:            $N (${TEXT_MB} MB of body text; generated in $((T1 - T0)) s)"
echo "index build:         $INDEX_S s (FTS5 post_search from scratch, optimized)"
echo "database size:       $SIZE MB"
echo "queries:             $NQ via $VIA (1/3 one-word, 1/3 multi-word, 1/3 phrase)"
echo "search p50 / p99:    $S50 / $S99 ms"
echo "reference:           first $NREF queries as LIKE '%word%' scans in SQLite (no HTTP)"
echo "  search p50 / p99:  $R50 / $R99 ms (the same $NREF queries through /search)"
echo "  LIKE   p50 / p99:  $L50 / $L99 ms"
$PY -c "print('ratio (LIKE / search, p50): %.0fx' % ($L50 / max($R50, 0.001)))"
