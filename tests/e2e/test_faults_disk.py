"""Storage faults (issue 11, item 6): the disk filling up under the
database, the media folder and the mail folder, and the database becoming
read-only. Each test makes the fault for real on a running server - a small
tmpfs filled to the last byte, an immutable database file, a read-only bind
mount - and checks what a journalist, a reader and the operator would see:
a message that says what is wrong (not "Something went wrong"), nothing
half-written, nothing already accepted lost, and the same action working
again once the fault clears, without restarting the server. With
NEWSROOM_TEST_PG set, a PostgreSQL database turning read-only too.
docs/faults.md describes the behaviour these tests pin down.

Needs root (mount, chattr); skipped otherwise."""
import contextlib
import email
import email.policy
import errno
import glob
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import requests
from bs4 import BeautifulSoup

from conftest import BIN, free_port, integrity, run, Server
import pgdb as pg
from deskclient import desk_as, q1

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="making a full or read-only disk needs root "
                              "(mount -t tmpfs, chattr)")

ENV = {"NEWSROOM_JOB_TICK_MS": "200", "NEWSROOM_MAIL_LEASE_S": "2"}
BODY = ("The harbour reopened at dawn after three days of shelling. " * 40
        + "\n\n") * 20  # ~50 KB: the write needs fresh pages of disk


# ---- making faults ---------------------------------------------------------

def sh(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stderr.strip()


@contextlib.contextmanager
def tmpfs(path, size):
    """A tmpfs of size (e.g. "24m") mounted on path for the block; what
    path held is copied in first. Unmounted afterwards whatever happens."""
    keep = None
    if os.path.isdir(path) and os.listdir(path):
        keep = tempfile.mkdtemp(prefix="newsroom-keep-")
        shutil.rmtree(keep)
        shutil.copytree(path, keep, symlinks=True)
    os.makedirs(path, exist_ok=True)
    rc, err = sh("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path)
    if rc != 0:
        if keep:
            shutil.rmtree(keep, ignore_errors=True)
        pytest.skip("cannot mount a tmpfs here: " + err)
    try:
        if keep:
            shutil.copytree(keep, path, symlinks=True, dirs_exist_ok=True)
            shutil.rmtree(keep, ignore_errors=True)
        yield path
    finally:
        unmount(path)


@contextlib.contextmanager
def read_only(path):
    """path bind-mounted on itself and remounted read-only for the block,
    as a disk error remounts a file system; yields a function that makes
    it writable again. Unmounted afterwards whatever happens."""
    rc, err = sh("mount", "--bind", path, path)
    if rc != 0:
        pytest.skip("cannot bind-mount here: " + err)
    try:
        rc, err = sh("mount", "-o", "remount,ro,bind", path)
        assert rc == 0, err

        def writable():
            rc, err = sh("mount", "-o", "remount,rw,bind", path)
            assert rc == 0, err
        yield writable
    finally:
        unmount(path)


def unmount(path):
    if sh("umount", path)[0] != 0:
        sh("umount", "-l", path)


def fill(folder):
    """Fills folder's file system to the last byte with one file; returns
    its path. Deleting it is "the fault clears"."""
    path = os.path.join(folder, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    chunk = b"\0" * (1 << 20)
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                if len(chunk) == 1:
                    break
                chunk = chunk[:len(chunk) // 16 or 1]
    finally:
        os.close(fd)
    st = os.statvfs(folder)
    assert st.f_bavail == 0
    return path


# ---- sites -----------------------------------------------------------------


def start(site, log_dir, **env):
    """The server on site, its log kept in log_dir, outside the folder the
    test fills or makes read-only (site/server.log is a link to it), so the
    log shows what happened."""
    link = os.path.join(site, "server.log")
    if not os.path.islink(link):
        if os.path.exists(link):
            os.unlink(link)
        os.symlink(os.path.join(log_dir, "server.log"), link)
    return Server(site, env=dict(ENV, **env))


def reader_ok(srv, n=0):
    """A reader's front page and the n-th published article answer 200 with
    the article (a different n: a page not in the page cache yet)."""
    slug, title = q1(srv.dir, "SELECT slug, title FROM posts WHERE status = "
                              "'published' ORDER BY id LIMIT 1 OFFSET ?", n)
    assert srv.get("/")[0] == 200
    st, _, body = srv.get(f"/{slug}/")
    assert st == 200 and title.encode() in body.replace(b"&#39;", b"'")


def editor_text(r):
    """(title, body) as the editor form shows them again."""
    soup = BeautifulSoup(r.text, "html.parser")
    title = soup.find("input", attrs={"name": "title"})
    body = soup.find("textarea", attrs={"name": "body"})
    return (title.get("value") if title else None,
            body.get_text() if body else None)


def page_text(r):
    return " ".join(BeautifulSoup(r.text, "html.parser").get_text().split())


def save(d, title, body=BODY, action="publish", files=None, **more):
    data = {"title": title, "body": body, "action": action}
    data.update(more)
    return d.post("/desk/posts/", data, files=files)


def signup(srv, addr, json_api=False):
    """A reader's newsletter sign-up form sent to the Morning Brief."""
    return requests.post(f"{srv.base}/newsletters/morning-brief/subscribe",
                         data={"email": addr, "website": ""},
                         headers={"Accept": "application/json"}
                         if json_api else {},
                         allow_redirects=False, timeout=20)


def count(site, sql, *args):
    return q1(site, sql, *args)[0]


# ---- the database's disk is full -------------------------------------------

def test_database_disk_full(site, tmpdir_path):
    live = os.path.join(tmpdir_path, "live")
    with tmpfs(live, "24m"):
        shutil.copytree(site, os.path.join(live, "site"))
        d_site = os.path.join(live, "site")
        srv = start(d_site, tmpdir_path)
        try:
            ed = desk_as(srv, "editor")
            r = save(ed, "Accepted before the fault", "Kept.", action="save")
            assert r.status_code == 303, r.text[:300]
            reader_ok(srv)

            filler = fill(live)
            r = save(ed, "Shelling stops at dawn")
            assert r.status_code == 507, (r.status_code,
                                          srv.logtext()[-2000:])
            text = page_text(r)
            assert "disk is full" in text and "nothing was saved" in text
            assert "Something went wrong" not in text
            # the journalist's text comes back in the form
            title, body = editor_text(r)
            assert title == "Shelling stops at dawn"
            assert body.strip() == BODY.strip()
            # nothing half-saved, nothing accepted lost
            assert count(d_site, "SELECT count(*) FROM posts WHERE title = ?",
                         "Shelling stops at dawn") == 0
            assert count(d_site, "SELECT count(*) FROM posts WHERE title = ?",
                         "Accepted before the fault") == 1
            # any other desk write says so too (a News Feed update goes
            # through the layer's error page, not the editor's)
            ed.get("/desk/live/")
            r = ed.post("/desk/live/", {"headline": "Convoy reaches port",
                                        "body": "Unloading has begun."})
            assert r.status_code == 507, (r.status_code, r.text[:300])
            assert "disk is full" in page_text(r)
            assert "Something went wrong" not in page_text(r)
            assert count(d_site, "SELECT count(*) FROM live_updates WHERE "
                                 "headline = ?", "Convoy reaches port") == 0
            # readers are still served during the fault, pages the cache
            # did not have too
            reader_ok(srv, 1)
            reader_ok(srv, 2)
            assert srv.alive()
            # a reader signing up is told to come back, the address kept
            r = signup(srv, "reader@example.org")
            assert r.status_code == 503, (r.status_code, r.text[:300])
            assert "disk is full" in page_text(r)
            assert "Something went wrong" not in page_text(r)
            box = BeautifulSoup(r.text, "html.parser").find(
                "input", attrs={"type": "email"})
            assert box is not None and box.get("value") == "reader@example.org"
            r = signup(srv, "reader@example.org", json_api=True)
            assert r.status_code == 503 and r.json()["ok"] is False
            assert "disk is full" in r.json()["error"]

            # the fault clears: the same save works, no restart
            os.unlink(filler)
            r = save(ed, "Shelling stops at dawn")
            assert r.status_code == 303, (r.status_code, r.text[:300])
            st, _, page = srv.get("/shelling-stops-at-dawn/")
            assert st == 200 and b"Shelling stops at dawn" in page
            r = signup(srv, "reader@example.org")
            assert r.status_code == 200
            assert "Successfully subscribed" in page_text(r)
        finally:
            srv.stop()
        assert integrity(d_site) == "ok"
        assert count(d_site, "SELECT count(*) FROM posts WHERE title IN "
                             "(?, ?)", "Accepted before the fault",
                     "Shelling stops at dawn") == 2


# ---- the media folder's disk is full ---------------------------------------

def a_jpeg(site):
    d = os.path.join(site, "media", "images")
    name = next(n for n in sorted(os.listdir(d)) if n.endswith("-960.jpg"))
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


def files_under(folder):
    return sorted(os.path.relpath(os.path.join(dp, f), folder)
                  for dp, _, fs in os.walk(folder) for f in fs)


def test_media_disk_full(site, tmpdir_path):
    jpeg = a_jpeg(site)
    media = os.path.join(site, "media")
    with tmpfs(media, "16m"):
        srv = start(site, tmpdir_path)
        try:
            au = desk_as(srv, "author")
            filler = fill(media)
            before = files_under(media)
            r = save(au, "Cranes over the harbour", "Text kept.",
                     action="save", alt="Cranes",
                     files={"image": ("cranes.jpg", jpeg, "image/jpeg")})
            text = page_text(r)
            assert r.status_code == 507, r.status_code
            assert "disk is full" in text and "image was not saved" in text
            assert "Your text is still in the form below" in text
            assert "filler" not in text and media not in text  # no paths
            assert editor_text(r) == ("Cranes over the harbour", "Text kept.")
            # no partial variant, temporary file or original left behind
            assert files_under(media) == before
            assert not os.path.isdir(os.path.join(site, "originals")) or \
                os.listdir(os.path.join(site, "originals")) == []
            assert count(site, "SELECT count(*) FROM posts WHERE title = ?",
                         "Cranes over the harbour") == 0
            reader_ok(srv)

            os.unlink(filler)
            au.get("/desk/posts/new/")
            r = save(au, "Cranes over the harbour", "Text kept.",
                     action="publish", alt="Cranes",
                     files={"image": ("cranes.jpg", jpeg, "image/jpeg")})
            assert r.status_code == 303, (r.status_code, r.text[:300])
            page = BeautifulSoup(srv.get("/cranes-over-the-harbour/")[2],
                                 "html.parser")
            src = page.select_one("figure.feature img")["src"]
            st, _, got = srv.get(src)
            assert st == 200 and got[:3] == b"\xff\xd8\xff"
        finally:
            srv.stop()


def test_media_read_only(site, tmpdir_path):
    """The media folder turns read-only under a running server (a bind
    mount remounted ro, as after a disk error): an upload answers 503 with
    what to ask the operator, the journalist's text stays in the form, and
    once it is writable again the same upload works."""
    jpeg = a_jpeg(site)
    media = os.path.join(site, "media")
    srv = start(site, tmpdir_path)
    try:
        au = desk_as(srv, "author")
        with read_only(media) as writable:
            r = save(au, "Ferry timetable", "Kept while read-only.",
                     action="save", alt="Ferry",
                     files={"image": ("ferry.jpg", jpeg, "image/jpeg")})
            text = page_text(r)
            assert r.status_code == 503, r.status_code
            assert "read-only" in text and "image was not saved" in text
            assert media not in text  # no paths
            assert editor_text(r) == ("Ferry timetable",
                                      "Kept while read-only.")
            assert count(site, "SELECT count(*) FROM posts WHERE title = ?",
                         "Ferry timetable") == 0
            reader_ok(srv)
            writable()
            au.get("/desk/posts/new/")
            r = save(au, "Ferry timetable", "Kept while read-only.",
                     action="save", alt="Ferry",
                     files={"image": ("ferry.jpg", jpeg, "image/jpeg")})
            assert r.status_code == 303, (r.status_code, r.text[:300])
    finally:
        srv.stop()


# ---- the mail folder's disk is full ----------------------------------------

def test_mail_disk_full_confirmation_written_later(site, tmpdir_path):
    mail = os.path.join(site, "mail")
    os.makedirs(mail, exist_ok=True)
    with tmpfs(mail, "256k"):
        filler = fill(mail)
        srv = start(site, tmpdir_path, NEWSROOM_MAIL_PROBE_S="1")
        try:
            addr = "reader-in-kyiv@example.org"
            r = signup(srv, addr)
            assert r.status_code == 200, r.text[:300]
            assert "Successfully subscribed" in page_text(r)
            # the worker tries, cannot write, keeps the message queued
            deadline = time.time() + 20
            while time.time() < deadline:
                row = q1(site, "SELECT attempts, last_error FROM mail_outbox "
                               "ORDER BY id DESC LIMIT 1")
                if row and row[1]:
                    break
                time.sleep(0.2)
            assert row and "No space left on device" in (row[1] or ""), row
            assert sorted(os.listdir(mail)) == ["filler"]  # nothing partial
            reader_ok(srv)
            # a long outage (here twelve probe intervals) does not use up
            # the message's attempts: the job probes the folder instead
            time.sleep(12)
            state, attempts = q1(site, "SELECT state, attempts FROM "
                                       "mail_outbox ORDER BY id DESC LIMIT 1")
            assert state != "failed" and attempts == 0, (state, attempts)
            assert sorted(os.listdir(mail)) == ["filler"]

            os.unlink(filler)  # the fault clears; the retry writes it
            deadline = time.time() + 30
            emls = []
            while time.time() < deadline and not emls:
                emls = glob.glob(os.path.join(mail, "*.eml"))
                time.sleep(0.5)
            assert len(emls) == 1, os.listdir(mail)
            assert [n for n in os.listdir(mail) if n.startswith(".tmp")] == []
            with open(emls[0], "rb") as f:
                msg = email.message_from_binary_file(
                    f, policy=email.policy.default)
            assert addr in msg["To"]
            text = msg.get_body(preferencelist=("plain",)).get_content()
            assert "/newsletters/confirm/" in text
        finally:
            srv.stop()


# ---- the database is read-only ---------------------------------------------

def chattr(flag, *paths):
    rc, err = sh("chattr", flag, *paths)
    if rc != 0:
        pytest.skip("cannot chattr here: " + err)


def test_database_read_only_while_serving(site, tmpdir_path):
    """The database file turns read-only under a running server (here: made
    immutable, which refuses writes through descriptors already open, as a
    file system remounted read-only after an error does)."""
    srv = start(site, tmpdir_path)
    db_files = []
    try:
        ed = desk_as(srv, "editor")
        assert save(ed, "Accepted before", "Kept.",
                    action="save").status_code == 303
        db_files = [p for p in glob.glob(os.path.join(site, "newsroom.db*"))
                    if not p.endswith("-shm")]
        chattr("+i", *db_files)
        r = save(ed, "Ceasefire talks resume")
        assert r.status_code == 503, (r.status_code, srv.logtext()[-2000:])
        text = page_text(r)
        assert "database is read-only" in text and "nothing was saved" in text
        assert "Something went wrong" not in text
        assert editor_text(r)[0] == "Ceasefire talks resume"
        reader_ok(srv, 1)

        chattr("-i", *db_files)
        db_files = []
        r = save(ed, "Ceasefire talks resume")
        assert r.status_code == 303, (r.status_code, r.text[:300])
        assert srv.get("/ceasefire-talks-resume/")[0] == 200
    finally:
        if db_files:
            sh("chattr", "-i", *db_files)
        srv.stop()
    assert integrity(site) == "ok"
    assert count(site, "SELECT count(*) FROM posts WHERE title IN (?, ?)",
                 "Accepted before", "Ceasefire talks resume") == 2


@pytest.mark.parametrize("crashed", [False, True])
def test_serve_on_read_only_site_dir_refused(site, tmpdir_path, crashed):
    """`newsroom serve` on a read-only site folder (a bind mount remounted
    ro) refuses at once with one line saying what to fix: SQLite would open
    the database read-only and keep that (its shared -shm) until every
    connection closed, so edits could not resume without a restart anyway.
    Made writable again, the same command serves and saves."""
    srv = start(site, tmpdir_path)
    ed = desk_as(srv, "editor")
    if crashed:
        srv.kill9()  # leaves the -wal and -shm files behind
    else:
        srv.stop()
    with read_only(site) as writable:
        r = subprocess.run([BIN, "serve", site, "--listen",
                            "127.0.0.1:%d" % free_port()],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 1
        lines = (r.stdout + r.stderr).strip().splitlines()
        assert len(lines) == 1, lines
        assert "is read-only" in lines[0] and "make it" in lines[0]
        assert "newsroom.db" in lines[0]

        writable()
        srv = start(site, tmpdir_path)
        try:
            reader_ok(srv)
            ed.base = srv.base
            ed.get("/desk/posts/new/")
            r = save(ed, "Written after the fix")
            assert r.status_code == 303, (r.status_code, r.text[:300])
            assert srv.get("/written-after-the-fix/")[0] == 200
        finally:
            srv.stop()
    assert integrity(site) == "ok"


# ---- PostgreSQL: the database turns read-only ------------------------------

@pytest.mark.skipif(not pg.PG, reason="NEWSROOM_TEST_PG unset (tests/run.py "
                                      "sets it)")
def test_postgresql_read_only(site, tmpdir_path):
    """A PostgreSQL database that turns read-only (a standby after a
    failover, or default_transaction_read_only set by the operator) answers
    writes with SQLSTATE 25006: the desk says the database is read-only,
    readers are served, and saving works again once it is writable."""
    name = "newsroom_faults_" + os.urandom(5).hex()
    admin = pg.url_for("postgres")
    pg.psql(admin, f"CREATE DATABASE {name}")
    url = pg.url_for(name)

    def readonly(on):
        pg.psql(admin, f"ALTER DATABASE {name} "
                       + ("SET default_transaction_read_only = on" if on
                          else "RESET default_transaction_read_only"))
        # sessions take the setting when they connect: make them reconnect
        pg.psql(admin, "SELECT pg_terminate_backend(pid) FROM "
                       f"pg_stat_activity WHERE datname = '{name}'")

    def save_until(title, seconds=15):
        """Saves; again while the answer is the brief outage page of the
        server reconnecting (test_pg_outage.py tests that one)."""
        deadline = time.time() + seconds
        while True:
            ed.get("/desk/posts/new/")
            r = save(ed, title)
            if "Briefly unavailable" not in r.text or time.time() > deadline:
                return r
            time.sleep(0.5)

    srv = None
    try:
        r = run("migrate", site, "--to", url)
        assert r.returncode == 0, r.stderr
        with open(os.path.join(site, "site.conf"), "a") as f:
            f.write(f"\ndatabase = {url}\n")
        srv = start(site, tmpdir_path)
        ed = desk_as(srv, "editor")
        readonly(True)
        r = save_until("Standby answers")
        assert r.status_code == 503, (r.status_code, srv.logtext()[-1500:])
        assert "database is read-only" in page_text(r)
        assert editor_text(r)[0] == "Standby answers"
        reader_ok(srv, 1)

        readonly(False)
        r = save_until("Standby answers")
        assert r.status_code == 303, (r.status_code, srv.logtext()[-1500:])
        assert srv.get("/standby-answers/")[0] == 200
    finally:
        if srv:
            srv.stop()
        subprocess.run(["psql", "-X", "-d", admin, "-c",
                        f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                       capture_output=True, timeout=60)
