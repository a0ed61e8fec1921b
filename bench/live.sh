#!/bin/sh
# Live News Feed push: 10,000 open Server-Sent-Events streams on loopback,
# one update posted per second for a minute (by `newsroom live post`, as an
# editor's tool would), delivery latency p50/p99/max across all streams,
# the server's resident memory, and messages lost (must be 0).
#
# Usage: bench/live.sh [STREAMS] [SECONDS]
set -eu
STREAMS=${1:-10000}
SECS=${2:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/newsroom
WORK=$(mktemp -d /tmp/newsroom-live.XXXXXX)
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    sleep 0.3
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
ulimit -n "$(ulimit -Hn)"

"$BIN" init "$WORK/site" --demo >/dev/null 2>&1
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve "$WORK/site" --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.1; done
echo "newsroom live push: $STREAMS streams, $SECS updates, $(nproc) cores, ulimit -n $(ulimit -n)"
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$PID/status"; }
echo "server RSS before: $(rss)"
/usr/bin/python3 "$ROOT/bench/live_client.py" "$PORT" "$STREAMS" "$SECS" "$WORK/site" "$BIN" &
CLIENT=$!
sleep $((SECS / 2 + 10))
echo "server RSS with streams open: $(rss)"
wait "$CLIENT"
