#!/bin/sh
# Narration speed: seconds of audio made per second of CPU for a
# 1,000-word article with the built-in engine (espeak-ng + LAME), and the
# time from publishing to playable audio (the job picks it up, speaks,
# encodes, and the article page shows the player). The reference, in the
# same run: the espeak-ng and lame command-line programs doing the same
# text, piped (espeak-ng --stdout | lame), which is what a newsroom would
# otherwise script.
#
# Usage: bench/narrate.sh
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/newsroom
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/newsroom-narr.XXXXXX)
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    sleep 0.3
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
command -v espeak-ng >/dev/null && command -v lame >/dev/null || {
    echo "the reference needs the espeak-ng and lame programs:" \
         "apt-get install espeak-ng lame" >&2
    exit 1
}
"$BIN" init "$WORK/site" >/dev/null 2>&1
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# a 1,000-word article of plain sentences
$PY - "$WORK/article.md" <<'PYEOF'
import sys
words = ("The harbour authority said on Tuesday that the northern quay "
         "would reopen after repairs to the flood wall were finished "
         "ahead of schedule and under budget.").split()
out, n = [], 0
while n < 1000:
    out.append(" ".join(words)); n += len(words)
open(sys.argv[1], "w").write("\n\n".join(out) + "\n")
PYEOF
printf 'correct horse battery staple\n' | "$BIN" user add "$WORK/site" --email bench@example.org --name "Bench Editor" --role editor >/dev/null 2>&1
NEWSROOM_JOB_TICK_MS=200 "$BIN" serve "$WORK/site" --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.1; done
echo "narration: a 1,000-word article, espeak-ng + LAME 48 kbps, $(nproc) cores"
CPU0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
$PY - "http://127.0.0.1:$PORT" "$WORK/article.md" "$WORK/site" <<'PYEOF'
import re, sqlite3, sys, time, requests
base, md, site = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
s = requests.Session()
s.get(base + "/desk")
s.post(base + "/desk/signin", data={"email": "bench@example.org",
       "password": "correct horse battery staple",
       "csrf": s.cookies.get("nr_signin")})
csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"',
                 s.get(base + "/desk/posts/new/").text).group(1)
t0 = time.time()
s.post(base + "/desk/posts/", data={"csrf": csrf, "title": "Harbour quay reopens",
       "body": md, "action": "publish"}, allow_redirects=False)
while "<audio" not in s.get(base + "/harbour-quay-reopens/").text:
    time.sleep(0.05)
    if time.time() - t0 > 300:
        sys.exit("no audio after 300 s")
row = sqlite3.connect(site + "/newsroom.db").execute(
    "SELECT duration_ms FROM narrations WHERE state = 'ready'").fetchone()
print(f"publish to playable: {time.time() - t0:.1f} s; audio {row[0] / 1000:.0f} s")
open(site + "/../audio_ms", "w").write(str(row[0]))
PYEOF
CPU1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
TCK=$(getconf CLK_TCK)
AUDIO_MS=$(cat "$WORK/audio_ms")
OURS=$($PY -c "print(f'{$AUDIO_MS / 1000 / max(($CPU1 - $CPU0) / $TCK, 0.01):.1f}')")
echo "newsroom: $OURS s of audio per CPU second (server process, whole publish)"
# the reference: the same text through the two programs
$PY -c "import sys; print(open('$WORK/article.md').read())" >"$WORK/text.txt"
REF=$($PY - "$WORK/text.txt" "$WORK/ref.mp3" <<'PYEOF'
import resource, subprocess, sys
txt, out = sys.argv[1], sys.argv[2]
p1 = subprocess.Popen(["espeak-ng", "-s", "165", "-v", "en", "-f", txt, "--stdout"],
                      stdout=subprocess.PIPE)
p2 = subprocess.run(["lame", "--quiet", "-m", "m", "-b", "48", "-", out],
                    stdin=p1.stdout)
p1.wait()
r = resource.getrusage(resource.RUSAGE_CHILDREN)
dur = float(subprocess.run(["sox", "--i", "-D", out], capture_output=True,
                           text=True).stdout)
print(f"{dur / (r.ru_utime + r.ru_stime):.1f}")
PYEOF
)
echo "reference (espeak-ng | lame programs): $REF s of audio per CPU second"
$PY -c "print(f'ratio newsroom/reference: {$OURS / $REF:.2f}')"
