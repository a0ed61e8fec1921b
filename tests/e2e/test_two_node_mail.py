"""A newsletter send of 10,000 messages on PostgreSQL with job workers on
two nodes, one of them killed with SIGKILL halfway (issue 9): every active
subscriber gets one Message-ID, nobody else is mailed, and node B finishes
the send. A message is repeated only if node A was delivering it at the
kill (then with the same Message-ID): at most one per mail run, so one per
job thread of A. test_newsletter.py::test_kill9_mid_send_every_subscriber_once
is the one-node SQLite twin.

Needs a PostgreSQL server: NEWSROOM_TEST_PG (tests/run.py starts one with
scripts/pg.sh); the test makes a database of its own with psql."""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import Server, free_port, run
from smtpsink import SmtpSink

from pgdb import PG, pg_db, psql, url_for  # noqa: F401 (pg_db: a fixture)

if not PG and not os.environ.get("CI"):
    pytest.skip("NEWSROOM_TEST_PG unset (tests/run.py sets it)",
                allow_module_level=True)

NL = "morning-brief"
ENV = {"NEWSROOM_JOB_TICK_MS": "200", "NEWSROOM_MAIL_LEASE_S": "2"}
A_JOB_THREADS = 3  # job worker threads of `newsroom serve`


@pytest.fixture()
def sink():
    s = SmtpSink()
    yield s
    s.stop()


def two_sites(demo_dir, tmp_path, url, sink_port):
    """Node A's and node B's copies of one site on url, mailing sink."""
    a = str(tmp_path / "site-a")
    shutil.copytree(demo_dir, a, ignore=shutil.ignore_patterns("server.log"))
    r = run("migrate", a, "--to", url)
    assert r.returncode == 0, r.stderr
    conf = os.path.join(a, "site.conf")
    with open(conf) as f:
        text = f.read()
    text, n = re.subn(r"(?m)^database = .*$", f"database = {url}", text)
    assert n == 1
    text += (f"\nurl = http://127.0.0.1:{free_port()}\n"
             f"smtp_url = smtp://127.0.0.1:{sink_port}\n"
             "smtp_starttls = off\nmail_rate = 10000\n")
    with open(conf, "w") as f:
        f.write(text)
    b = str(tmp_path / "site-b")
    shutil.copytree(a, b, ignore=shutil.ignore_patterns("server.log",
                                                        "newsroom.db*"))
    return a, b


def test_kill9_one_of_two_nodes_mid_send(demo_dir, tmp_path, pg_db, sink):
    n_active, n_other = 10000, 200
    site_a, site_b = two_sites(demo_dir, tmp_path, pg_db, sink.port)
    assert psql(pg_db, "SELECT count(*) FROM subscribers") == "0"
    nid = psql(pg_db, f"SELECT id FROM newsletters WHERE slug = '{NL}'")
    now = int(time.time())
    total = n_active + n_other
    psql(pg_db, "INSERT INTO subscribers (email, created_at) "
                f"SELECT 's' || i || '@example.org', {now} "
                f"FROM generate_series(1, {total}) AS i")
    psql(pg_db, "INSERT INTO subscriptions (subscriber_id, newsletter_id, "
                "state, token, created_at, confirmed_at) "
                f"SELECT s.id, {nid}, CASE WHEN g.i <= {n_active} THEN "
                "'active' WHEN g.i % 2 = 1 THEN 'pending' ELSE "
                f"'unsubscribed' END, 't' || g.i, {now}, {now} "
                f"FROM generate_series(1, {total}) AS g(i) "
                "JOIN subscribers s ON s.email = 's' || g.i || '@example.org'")
    slug = psql(pg_db, "SELECT slug FROM posts WHERE status = 'published' "
                       "ORDER BY id LIMIT 1")
    a = Server(site_a, env=ENV)
    b = Server(site_b, env=ENV)
    try:
        r = run("newsletter", "send", site_a, "--newsletter", NL, "--post",
                slug)
        assert r.returncode == 0 and "to 10000 subscribers" in r.stdout, \
            r.stdout + r.stderr
        deadline = time.time() + 120
        while sink.count() < n_active // 2:
            assert time.time() < deadline, "the send does not progress"
            time.sleep(0.05)
        a.kill9()
        at_kill = sink.count()
        assert at_kill < n_active, "finished before the kill: test not valid"
        deadline = time.time() + 300
        while True:
            left = int(psql(pg_db, "SELECT count(*) FROM mail_outbox WHERE "
                                   "state IN ('pending', 'sending')"))
            if left == 0:
                break
            assert time.time() < deadline, f"{left} messages still queued"
            assert b.alive(), b.logtext()[-2000:]
            time.sleep(0.2)
        after_kill = sink.count() - at_kill
        assert after_kill > 0, "node B sent nothing after the kill"
    finally:
        a.kill9()
        b.stop()
    time.sleep(0.5)
    per, copies = {}, {}
    for m in sink.messages:
        for rcpt in m["to"]:
            per.setdefault(rcpt, set()).add(m["msg"]["Message-ID"])
            copies[rcpt] = copies.get(rcpt, 0) + 1
    wanted = {f"s{i}@example.org" for i in range(1, n_active + 1)}
    assert set(per) == wanted, "someone missed it, or others got it"
    assert all(len(ids) == 1 for ids in per.values())
    # at most the message in flight in each of node A's mail runs at the
    # kill is repeated: a node runs its own mail_outbox job and may hold
    # the send's "mail_outbox:queued" one too, one run per job thread
    # (SERVE_JOB_THREADS, 3, in src/main.c)
    repeated = [r for r, c in copies.items() if c > 1]
    assert len(repeated) <= A_JOB_THREADS, repeated
    assert all(copies[r] == 2 for r in repeated), repeated
    assert psql(pg_db, "SELECT count(*) FROM mail_outbox WHERE "
                       "state = 'sent'") == str(n_active)
