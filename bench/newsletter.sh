#!/bin/sh
# Newsletter delivery: one issue to 10,000 active subscribers, delivered by
# `newsroom serve`'s job workers over SMTP to a local sink (aiosmtpd), in
# messages per second; and, in the same run, the reference: Python's
# smtplib pushing the same number of ready-made messages of the same size to
# the same sink over one connection. Prints both and the ratio.
#
# Usage: bench/newsletter.sh [SUBSCRIBERS]
set -eu
N=${1:-10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/newsroom
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/newsroom-nl.XXXXXX)
PID=""
SINK=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    [ -n "$SINK" ] && kill "$SINK" 2>/dev/null || true
    sleep 0.3
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$BIN" init "$WORK/site" --demo >/dev/null 2>&1
SPORT=$(port)
WPORT=$(port)
$PY "$ROOT/bench/nl_sink.py" "$SPORT" "$WORK/count" &
SINK=$!
cat >>"$WORK/site/site.conf" <<CONF
url = http://127.0.0.1:$WPORT
smtp_url = smtp://127.0.0.1:$SPORT
smtp_starttls = off
mail_rate = 10000
CONF
$PY - "$WORK/site/newsroom.db" "$N" <<'PYEOF'
import sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db)
nid = con.execute("SELECT id FROM newsletters ORDER BY id LIMIT 1").fetchone()[0]
now = int(time.time())
con.executemany("INSERT INTO subscribers (id, email, created_at) VALUES (?, ?, ?)",
                [(i, f"s{i}@example.org", now) for i in range(1, n + 1)])
con.executemany("INSERT INTO subscriptions (subscriber_id, newsletter_id, state, token, "
                "created_at, confirmed_at) VALUES (?, ?, 'active', ?, ?, ?)",
                [(i, nid, f"t{i}", now, now) for i in range(1, n + 1)])
con.commit()
PYEOF
NL=$($PY -c "import sqlite3; print(sqlite3.connect('$WORK/site/newsroom.db').execute('SELECT slug FROM newsletters ORDER BY id LIMIT 1').fetchone()[0])")
POST=$($PY -c "import sqlite3; print(sqlite3.connect('$WORK/site/newsroom.db').execute(\"SELECT slug FROM posts WHERE status='published' LIMIT 1\").fetchone()[0])")
NEWSROOM_JOB_TICK_MS=200 "$BIN" serve "$WORK/site" --listen "127.0.0.1:$WPORT" >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$WPORT/" >/dev/null && break; sleep 0.1; done
echo "newsletter delivery: $N subscribers, $(nproc) cores, SQLite, sink aiosmtpd on loopback"
"$BIN" newsletter send "$WORK/site" --newsletter "$NL" --post "$POST" --wait >"$WORK/send.log"
tail -1 "$WORK/send.log"
sleep 0.5
read -r got first last bytes <"$WORK/count"
OURS=$($PY -c "print(f'{$got / max($last - $first, 1e-6):.0f}')")
SIZE=$((bytes / (got > 0 ? got : 1)))
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
REF=$($PY "$ROOT/bench/nl_ref.py" "$SPORT" "$N" "$SIZE")
echo "newsroom: $got messages, $OURS msg/s (first to last accepted)"
echo "reference (smtplib, ready-made ${SIZE}-byte messages, one connection): $REF msg/s"
$PY -c "print(f'ratio newsroom/reference: {$OURS / $REF:.2f}')"
