#!/bin/sh
# Publishing under load: is a new story on the front page as soon as the
# editor's publish returns, while the page is being served from the cache
# to many readers?
#
# A demo site with an editor (`newsroom user add`); the editor signs in to
# the desk (CSRF flow as a browser does it) and saves a draft. Then wrk
# drives CONNECTIONS keep-alive connections at "/" for SECONDS, a Python
# poller asks for "/" over one keep-alive connection as fast as it can,
# noting when each request went out, when its answer came and whether it
# shows the draft's headline, and half-way through the editor publishes
# the draft through the desk. Printed: how long the publish took, the time
# from the publish returning to the first answer showing the story, the
# answers to requests sent after it returned that did NOT show it (must be
# none), and wrk's non-2xx answers and socket errors (must be none).
# Everything stays on 127.0.0.1 and stops by itself.
#
# Usage: bench/publish.sh [SECONDS] [CONNECTIONS]
# (BIN=path/to/newsroom to measure another build)
set -eu
SECS=${1:-10}
CONNS=${2:-64}
. "$(dirname "$0")/lib.sh"
bench_work pub
demo_site
printf 'correct horse battery staple\n' | "$BIN" user add "$WORK/site" \
    --email bench@example.org --name "Bench Editor" --role editor >"$WORK/user.log" 2>&1 || {
    cat "$WORK/user.log" >&2
    exit 1
}
start_server

echo "publish under load: wrk -t2 -c$CONNS -d${SECS}s on /, one keep-alive poller on /," \
     "publish through the desk at $((SECS / 2)) s, $(nproc) cores"
$PY - "$PORT" "$SECS" "$CONNS" <<'PYEOF'
import http.client, re, subprocess, sys, threading, time
import requests

port, secs, conns = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
base = f"http://127.0.0.1:{port}"
title = f"Ferry service resumes after storm {int(time.time())}"
needle = title.encode()

# the editor signs in and saves a draft
s = requests.Session()
s.get(base + "/desk", timeout=30)
s.post(base + "/desk/signin", timeout=30, data={
    "email": "bench@example.org", "password": "correct horse battery staple",
    "csrf": s.cookies.get("nr_signin")})
csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"',
                 s.get(base + "/desk/posts/new/", timeout=30).text).group(1)
body = "The ferry sailed at dawn.\n\nCrews checked the pier overnight."
r = s.post(base + "/desk/posts/", timeout=30, allow_redirects=False, data={
    "csrf": csrf, "title": title, "body": body, "action": "save"})
m = re.search(r"/desk/posts/(\d+)/", r.headers.get("Location", ""))
if not m:
    sys.exit(f"publish.sh: saving the draft answered {r.status_code}")
edit = m.group(0)
csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"',
                 s.get(base + edit, timeout=30).text).group(1)
if needle in requests.get(base + "/", timeout=30).content:
    sys.exit("publish.sh: the draft shows on / before it is published")

seen = []  # (sent, received, shows the story, status)
stop = threading.Event()

def poll():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        t0 = time.monotonic()
        c.request("GET", "/")
        r = c.getresponse()
        data = r.read()
        seen.append((t0, time.monotonic(), needle in data, r.status))

wrk = subprocess.Popen(["wrk", "-t2", f"-c{conns}", f"-d{secs}s", base + "/"],
                       stdout=subprocess.PIPE, text=True)
poller = threading.Thread(target=poll)
poller.start()
time.sleep(secs / 2)
p0 = time.monotonic()
r = s.post(base + edit, timeout=60, allow_redirects=False, data={
    "csrf": csrf, "title": title, "body": body, "action": "publish"})
p1 = time.monotonic()
out = wrk.communicate()[0]
stop.set()
poller.join()
if r.status_code != 303:
    sys.exit(f"publish.sh: the publish answered {r.status_code}")

bad_status = sum(1 for x in seen if x[3] != 200)
early = [x for x in seen if x[1] < p0 and x[2]]
shown = [x for x in seen if x[2]]
stale = [x for x in seen if x[0] >= p1 and not x[2]]
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
sock = re.search(r"Socket errors: (.*)", out)
rps = re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)
print(f"  wrk: {rps} req/s on /; non-2xx: {non2xx.group(1) if non2xx else 0}; "
      f"socket errors: {sock.group(1) if sock else 'none'}")
print(f"  poller: {len(seen)} answers ({bad_status} not 200); "
      f"{len(early)} showed the story before the publish was sent (must be 0)")
print(f"  publish call (POST through the desk, under load): {(p1 - p0) * 1000:.1f} ms")
if shown:
    print(f"  publish returned -> first answer showing the story: "
          f"{(shown[0][1] - p1) * 1000:+.1f} ms (negative: it came before the "
          f"editor's own answer)")
else:
    print("  the story never showed on /")
if stale:
    print(f"  answers NOT showing it to requests sent after the publish returned: "
          f"{len(stale)}, the last sent {(stale[-1][0] - p1) * 1000:+.1f} ms after it (must be none)")
else:
    print("  answers NOT showing it to requests sent after the publish returned: none")
ok = not stale and not early and shown and not bad_status and not non2xx and not sock
sys.exit(0 if ok else 1)
PYEOF
