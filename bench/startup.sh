#!/bin/sh
# Start-up and memory: how long `newsroom serve` takes from being launched
# to the first byte of "/" (median of STARTS starts of the demo site, each
# a new process on the same site directory), and its resident memory
# (VmRSS in /proc/PID/status) idle after start-up, then at the end of a
# wrk run that requests every published article and "/" in turn with the
# page cache on (the default cache_mb), and the peak (VmHWM).
# Everything stays on 127.0.0.1 and stops by itself.
#
# Usage: bench/startup.sh [STARTS] [SECONDS] [CONNECTIONS]
# (BIN=path/to/newsroom to measure another build)
set -eu
STARTS=${1:-5}
SECS=${2:-5}
CONNS=${3:-50}
. "$(dirname "$0")/lib.sh"
bench_work start
demo_site
echo "start-up: launch of 'newsroom serve' to the first byte of /, $STARTS starts, $(nproc) cores"
# Python launches the server, then polls / as fast as it can; the last
# start is left running for the memory figures (its PID on stdout's last
# line, the port in $WORK/port)
$PY - "$BIN" "$WORK/site" "$STARTS" "$WORK" <<'PYEOF' >"$WORK/startup.out"
import http.client, os, signal, socket, subprocess, sys, time
binary, site, starts, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    return p
times = []
for i in range(starts):
    port = free_port()
    log = open(os.path.join(work, "server.log"), "a")
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "serve", site, "--listen", f"127.0.0.1:{port}"],
                         stdout=log, stderr=log)
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/")
            r = c.getresponse()
            t1 = time.perf_counter()
            r.read(); c.close()
            if r.status != 200:
                p.kill()
                sys.exit(f"startup.sh: / answered {r.status}")
            break
        except ConnectionRefusedError:
            if time.perf_counter() - t0 > 10:
                p.kill()
                sys.exit("startup.sh: no answer in 10 s")
            time.sleep(0.0005)
    times.append((t1 - t0) * 1000)
    if i < starts - 1:
        p.send_signal(signal.SIGTERM); p.wait(timeout=10)
times.sort()
print("times " + " ".join(f"{t:.1f}" for t in times))
print(f"median {times[len(times) // 2]:.1f}")
open(os.path.join(work, "port"), "w").write(str(port))
print(f"pid {p.pid}")
PYEOF
PID=$(awk '/^pid/ {print $2}' "$WORK/startup.out")
PORT=$(cat "$WORK/port")
echo "  launch to first byte of /: median $(awk '/^median/ {print $2}' "$WORK/startup.out") ms" \
     "(all: $(sed -n 's/^times //p' "$WORK/startup.out") ms)"

rss() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }
sleep 2
IDLE=$(rss VmRSS)
# wrk walks "/" and every published article, so the cache holds them all
$PY -c 'import sqlite3, sys
paths = ["/"] + ["/%s/" % s for (s,) in sqlite3.connect(sys.argv[1]).execute(
    "SELECT slug FROM posts WHERE status = '"'published'"' ORDER BY id")]
print("local paths = {" + ", ".join("\"%s\"" % p for p in paths) + "}")
print("local n = 0")
print("request = function() n = n + 1; return wrk.format(nil, paths[n % #paths + 1]) end")
' "$WORK/site/newsroom.db" >"$WORK/walk.lua"
wrk -t2 -c"$CONNS" -d"${SECS}s" -s "$WORK/walk.lua" "http://127.0.0.1:$PORT/" >"$WORK/wrk.out" &
WRK=$!
# sample just before wrk ends, with its connections still open
sleep $((SECS - 1))
sleep 0.8
LOAD=$(rss VmRSS)
wait "$WRK"
PEAK=$(rss VmHWM)
RPS=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
if grep -q -e Non-2xx -e 'Socket errors' "$WORK/wrk.out"; then
    echo "startup.sh: wrk saw errors:" >&2
    cat "$WORK/wrk.out" >&2
    exit 1
fi
echo "  resident memory: idle $IDLE MB; under wrk -t2 -c$CONNS (\"/\" and every article, $RPS req/s)" \
     "$LOAD MB; peak $PEAK MB"
