# Set-up shared by the benchmarks (article.sh, cold.sh, publish.sh,
# startup.sh). Not run by itself: a benchmark sources it, after its own
# `set -eu`, with
#     . "$(dirname "$0")/lib.sh"
# Sourcing sets ROOT (the checkout), BIN (the newsroom binary,
# $ROOT/build/newsroom unless BIN is set already), PY (the system Python)
# and ME (the benchmark's file name, for messages), and defines:
#
#   bench_work NAME   makes the scratch directory WORK
#                     (/tmp/newsroom-NAME.XXXXXX) and sets a trap that, on
#                     exit, INT or TERM, kills the server ($PID) and any
#                     other processes listed in $MORE_PIDS, then removes WORK
#   free_port         prints a TCP port free on 127.0.0.1
#   demo_site         `newsroom init --demo` into $WORK/site (its log shown
#                     and the script ended if that fails), with narration
#                     turned off: it would compete with the server for the
#                     CPU while the benchmark measures
#   start_server      starts `newsroom serve` on $WORK/site on a free port,
#                     sets PORT and PID, appends its output to
#                     $WORK/server.log, and waits up to 10 s for "/" to
#                     answer (the script ends if it never does)
#   stop_server       stops that server, waits for it and clears PID
#   lead_slug PORT    prints the slug of the lead article of the archive
#                     served on PORT (the first article link on /archive/)
#   measure URL [WRK ARG...]
#                     runs wrk -t2 -c$CONNS -d${SECS}s --latency (and the
#                     extra args) on URL and prints "REQ/S P99_MS"; ends the
#                     script (or the $(...) it runs in) if wrk reports any
#                     non-2xx answer or socket error

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/newsroom}
PY=/usr/bin/python3
ME=${0##*/}
PID=""
MORE_PIDS=""

bench_work() {
    WORK=$(mktemp -d "/tmp/newsroom-$1.XXXXXX")
    trap bench_cleanup EXIT INT TERM
}

bench_cleanup() {
    for p in $PID $MORE_PIDS; do
        kill "$p" 2>/dev/null || true
    done
    sleep 0.3
    rm -rf "$WORK"
}

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

demo_site() {
    "$BIN" init "$WORK/site" --demo >"$WORK/init.log" 2>&1 || {
        cat "$WORK/init.log" >&2
        exit 1
    }
    echo "narration_engine = off" >>"$WORK/site/site.conf"
}

start_server() {
    PORT=$(free_port)
    "$BIN" serve "$WORK/site" --listen "127.0.0.1:$PORT" >>"$WORK/server.log" 2>&1 &
    PID=$!
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$PORT/" >/dev/null && return 0
        sleep 0.1
    done
    echo "$ME: the server does not answer" >&2
    exit 1
}

stop_server() {
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=""
}

lead_slug() {
    curl -fs "http://127.0.0.1:$1/archive/" | grep -o 'href="/[a-z0-9-]*/"' |
        grep -v -e '"/archive/"' | head -1 | sed 's/href="\/\(.*\)\/"/\1/'
}

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
        }' || { echo "$ME: errors from $url" >&2; exit 1; }
}
