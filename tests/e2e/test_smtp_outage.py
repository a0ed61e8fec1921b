"""End-to-end: the SMTP server is down for longer than a message's whole
retry budget, then comes back (src/jobs/mail_job.c, docs/mail.md).

smtp_url points at a closed port while a newsletter goes to N subscribers
and a reader signs up (a confirmation mail). The outage lasts longer than
MAIL_MAX_ATTEMPTS probe intervals (NEWSROOM_MAIL_PROBE_S=1, 12 s): no
message is failed, none spends its attempts, and the desk says the mail
server is unreachable and since when. Then a real SMTP server (aiosmtpd)
starts on that port: every subscriber gets exactly one message, within a
few seconds, and nothing is marked failed."""
import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time

import pytest
import requests
from aiosmtpd.controller import Controller

from conftest import Server, free_port, run
from deskclient import Desk, add_user
from smtpsink import SmtpSink, _Handler

NL = "morning-brief"
N = 25
MAX_ATTEMPTS = 8  # MAIL_MAX_ATTEMPTS in src/jobs/mail_job.c
PROBE_S = 1
ENV = {"NEWSROOM_JOB_TICK_MS": "200", "NEWSROOM_MAIL_LEASE_S": "2",
       "NEWSROOM_MAIL_PROBE_S": str(PROBE_S)}


class SinkOn(SmtpSink):
    """SmtpSink on a given port (the one smtp_url has named all along)."""

    def __init__(self, port):
        self.messages = []
        self.refuse = {}
        self.lock = threading.Lock()
        self.port = port
        self.ctl = Controller(_Handler(self), hostname="127.0.0.1",
                              port=port)
        self.ctl.start()


def q1(site, sql, *args):
    con = sqlite3.connect(os.path.join(site, "newsroom.db"))
    try:
        return con.execute(sql, args).fetchone()
    finally:
        con.close()


@pytest.fixture()
def site(tmpdir_path):
    d = os.path.join(tmpdir_path, "site")
    r = run("init", d, "--demo")
    assert r.returncode == 0, r.stderr
    add_user(d, "editor@example.org", "editor")
    return d


def test_outage_longer_than_the_retry_budget(site):
    smtp_port, port = free_port(), free_port()
    with open(os.path.join(site, "site.conf"), "a") as f:
        f.write(f"\nurl = http://127.0.0.1:{port}\n"
                f"smtp_url = smtp://127.0.0.1:{smtp_port}\n"
                f"smtp_starttls = off\nmail_rate = 10000\n")
    con = sqlite3.connect(os.path.join(site, "newsroom.db"))
    nid = con.execute("SELECT id FROM newsletters WHERE slug = ?",
                      (NL,)).fetchone()[0]
    now = int(time.time())
    con.executemany("INSERT INTO subscribers (id, email, created_at) "
                    "VALUES (?, ?, ?)",
                    [(1000 + i, f"s{i}@example.org", now)
                     for i in range(N)])
    con.executemany(
        "INSERT INTO subscriptions (subscriber_id, newsletter_id, state, "
        "token, created_at, confirmed_at) VALUES (?, ?, 'active', ?, ?, ?)",
        [(1000 + i, nid, f"t{i}", now, now) for i in range(N)])
    con.commit()
    con.close()
    slug = q1(site, "SELECT slug FROM posts WHERE status = 'published' "
                    "LIMIT 1")[0]

    srv = Server(site, port=port, env=ENV)
    sink = None
    try:
        r = run("newsletter", "send", site, "--newsletter", NL, "--post", slug)
        assert r.returncode == 0 and f"to {N} subscribers" in r.stdout, \
            r.stdout + r.stderr
        send_id = q1(site, "SELECT max(id) FROM sends")[0]
        su = requests.post(f"{srv.base}/newsletters/{NL}/subscribe",
                           data={"newsletter": NL,
                                 "email": "newreader@example.org",
                                 "website": ""},
                           allow_redirects=False, timeout=20)
        assert su.status_code in (200, 303), su.text

        # the outage: longer than MAIL_MAX_ATTEMPTS probe intervals
        start = time.time()
        while time.time() - start < (MAX_ATTEMPTS + 4) * PROBE_S:
            time.sleep(0.5)
            failed = q1(site, "SELECT count(*) FROM mail_outbox WHERE "
                              "state = 'failed'")[0]
            assert failed == 0, "an outage failed a message"
        rows, top = q1(site, "SELECT count(*), max(attempts) FROM "
                             "mail_outbox")
        assert rows == N + 1
        assert top == 0, f"the outage spent {top} attempts of a message"
        assert q1(site, "SELECT count(*) FROM mail_outbox WHERE state = "
                        "'sent'")[0] == 0

        # the desk says what is going on
        d = Desk(srv)
        assert d.sign_in("editor@example.org").status_code == 303
        page = d.get(f"/desk/sends/{send_id}/")
        assert page.status_code == 200
        assert "Mail server unreachable since" in page.text
        assert f"retrying every {PROBE_S} s" in page.text
        prog = json.loads(d.get(f"/desk/sends/{send_id}/progress").text)
        assert prog["pending"] == N and prog["failed"] == 0
        assert "unreachable" in prog["mail_down"]

        # the server comes back on the same port
        sink = SinkOn(smtp_port)
        back = time.time()
        want = {f"s{i}@example.org" for i in range(N)} | \
            {"newreader@example.org"}
        while True:
            with sink.lock:
                got = {r for m in sink.messages for r in m["to"]}
            if want <= got:
                break
            assert time.time() - back < 10 * PROBE_S + 5, \
                f"delivery did not resume: {len(got)} of {len(want)}"
            time.sleep(0.1)
        took = time.time() - back
        time.sleep(1.5)  # anything extra would arrive now
        copies = {}
        with sink.lock:
            for m in sink.messages:
                for rcpt in m["to"]:
                    copies[rcpt] = copies.get(rcpt, 0) + 1
        assert set(copies) == want
        assert all(c == 1 for c in copies.values()), copies
        assert q1(site, "SELECT count(*) FROM mail_outbox WHERE state = "
                        "'sent'")[0] == N + 1
        assert q1(site, "SELECT count(*) FROM mail_outbox WHERE state = "
                        "'failed'")[0] == 0
        prog = json.loads(d.get(f"/desk/sends/{send_id}/progress").text)
        assert prog["sent"] == N and prog.get("mail_down") is None
        assert "unreachable" not in d.get(f"/desk/sends/{send_id}/").text
        print(f"delivery resumed {took:.1f} s after the server returned")
    finally:
        srv.stop()
        if sink:
            sink.stop()
