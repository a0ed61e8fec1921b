"""`newsroom migrate` and several nodes on one PostgreSQL database: a demo
site moved from SQLite serves the same pages from PostgreSQL; a second
migrate into the same database is refused without --force; two servers on
the database see each other's writes at once (live updates over SSE, page
caches); bad targets fail with one line.

Needs a PostgreSQL server: NEWSROOM_TEST_PG (tests/run.py starts one with
scripts/pg.sh). Unset, the tests are skipped, except under CI (CI set),
where they fail. Each test makes a database of its own with psql."""
import os
import re
import shutil
import subprocess
import time
import urllib.parse
import uuid

import pytest
import requests
from bs4 import BeautifulSoup

from conftest import BIN, Server, run
from sse import SSE

from pgdb import PG, pg_db, psql, url_for  # noqa: F401 (pg_db: a fixture)

if not PG and not os.environ.get("CI"):
    pytest.skip("NEWSROOM_TEST_PG unset (tests/run.py sets it)",
                allow_module_level=True)


@pytest.fixture()
def site(demo_dir, tmp_path):
    """A copy of the demo site (SQLite)."""
    d = str(tmp_path / "site")
    shutil.copytree(demo_dir, d, ignore=shutil.ignore_patterns("server.log"))
    return d


def use_database(site_dir, url):
    conf = os.path.join(site_dir, "site.conf")
    with open(conf) as f:
        text = f.read()
    text, n = re.subn(r"(?m)^database = .*$", f"database = {url}", text)
    assert n == 1
    with open(conf, "w") as f:
        f.write(text)


def migrate(site_dir, url, *extra):
    return run("migrate", site_dir, "--to", url, *extra)


def main_of(srv, path):
    status, _, body = srv.get(path)
    assert status == 200, path
    main = BeautifulSoup(body, "html.parser").find("main")
    assert main is not None, path
    return str(main)


def article_paths(srv, n=3):
    doc = BeautifulSoup(srv.get("/archive/")[2], "html.parser")
    paths = []
    for a in doc.find("main").find_all("a", href=True):
        h = a["href"]
        if re.fullmatch(r"/[a-z0-9-]+/", h) and h != "/archive/" and h not in paths:
            paths.append(h)
    return paths[:n]


def test_migrate_then_serve_the_same_pages(site, pg_db):
    sq = Server(site)
    try:
        paths = ["/", "/archive/"] + article_paths(sq)
        before = {p: main_of(sq, p) for p in paths}
    finally:
        sq.stop()
    assert len(paths) >= 4
    r = migrate(site, pg_db)
    assert r.returncode == 0, r.stderr
    # the count table: every table, equal counts, no mismatch
    rows = {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"(?m)^(\w+)\s+(\d+)\s+(\d+)\s*$", r.stdout)}
    assert rows["posts"][0] > 0 and rows["live_updates"][0] > 0
    assert all(a == b for a, b in rows.values()), r.stdout
    assert "MISMATCH" not in r.stdout
    assert f"database = {pg_db}" in r.stdout
    assert int(psql(pg_db, "SELECT count(*) FROM posts")) == rows["posts"][0]
    # ids kept, and new ids come after them
    top = int(psql(pg_db, "SELECT max(id) FROM live_updates"))
    use_database(site, pg_db)
    r = run("live", "post", site, "--headline", "After the move")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) == top + 1
    psql(pg_db, "DELETE FROM live_updates WHERE headline = 'After the move'")
    psql(pg_db, "DELETE FROM live_events WHERE live_id = %d" % (top + 1))
    pg = Server(site)
    try:
        for p in paths:
            assert main_of(pg, p) == before[p], p
    finally:
        pg.stop()


def test_second_migrate_is_refused_without_force(site, pg_db):
    r = migrate(site, pg_db)
    assert r.returncode == 0, r.stderr
    r = migrate(site, pg_db)
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert "--force" in lines[0] and "already holds data" in lines[0]
    r = migrate(site, pg_db, "--force")
    assert r.returncode == 0, r.stderr
    assert "MISMATCH" not in r.stdout


def test_password_is_not_printed_and_env_is_advised(site, pg_db):
    u = urllib.parse.urlsplit(pg_db)
    user = u.username or "newsroom"
    host = u.netloc.split("@")[-1]
    with_pw = urllib.parse.urlunsplit(
        (u.scheme, f"{user}:s3cret-pw@{host}", u.path, u.query, ""))
    r = migrate(site, with_pw)  # trust auth: the password is not checked
    assert r.returncode == 0, r.stderr
    assert "s3cret-pw" not in r.stdout + r.stderr
    assert "NEWSROOM_DB_PASSWORD" in r.stdout
    assert f"database = {pg_db}" in r.stdout


def test_two_nodes_share_one_database(site, pg_db, tmp_path):
    r = migrate(site, pg_db)
    assert r.returncode == 0, r.stderr
    use_database(site, pg_db)
    # node B: another machine's copy of the site directory (same
    # site.conf; media would be on shared storage)
    site_b = str(tmp_path / "site-b")
    shutil.copytree(site, site_b, ignore=shutil.ignore_patterns("server.log", "newsroom.db*"))
    a = Server(site)
    b = Server(site_b)
    try:
        assert a.get("/")[0] == 200 and b.get("/")[0] == 200
        # live: posted through node A's site, read from node B
        s = SSE(b.port)
        try:
            assert s.status == 200
            time.sleep(0.3)
            t0 = time.time()
            r = run("live", "post", site, "--headline", "Two nodes, one feed")
            t1 = time.time()
            assert r.returncode == 0, r.stderr
            ev = s.next(timeout=3)
            assert ev is not None, "node B pushed nothing within 3 s"
            assert "Two nodes, one feed" in ev["data"]
            assert ev["t"] - t1 < 1.0, ev["t"] - t0
        finally:
            s.close()
        # page cache: B caches an article, the database changes, B shows it
        path = article_paths(b, 1)[0]
        slug = path.strip("/")
        for _ in range(2):
            assert b.get(path)[0] == 200  # now cached on B
        title = psql(pg_db, f"SELECT title FROM posts WHERE slug = '{slug}'")
        assert title
        psql(pg_db, "UPDATE posts SET title = 'Edited on another node', "
                    f"updated_at = updated_at + 1 WHERE slug = '{slug}'")
        deadline = time.time() + 1.0
        while True:
            if b"Edited on another node" in b.get(path)[2]:
                break
            assert time.time() < deadline, "node B serves a stale page"
            time.sleep(0.02)
        assert b"Edited on another node" in a.get(path)[2]

        # the desk: a session made on A works on B (it lives in the
        # database), and a post published on A is served by B at once
        pw = "two nodes one password"
        r = subprocess.run([BIN, "user", "add", site, "--email",
                            "ed@example.org", "--name", "Ed Itor", "--role",
                            "editor"], input=(pw + "\n").encode(),
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        sa = requests.Session()
        sa.get(a.base + "/desk")
        r = sa.post(a.base + "/desk/signin",
                    data={"email": "ed@example.org", "password": pw,
                          "csrf": sa.cookies.get("nr_signin")},
                    allow_redirects=False, timeout=20)
        assert r.status_code == 303
        page = requests.get(b.base + "/desk/posts/new/", timeout=20,
                            cookies={"nr_session": sa.cookies["nr_session"]})
        assert page.status_code == 200 and "Ed Itor" in page.text
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"',
                         page.text).group(1)
        r = requests.post(b.base + "/desk/posts/", timeout=20,
                          cookies={"nr_session": sa.cookies["nr_session"]},
                          data={"csrf": csrf, "title": "Published on B",
                                "body": "Read on A.", "action": "publish"},
                          allow_redirects=False)
        assert r.status_code == 303, r.text[:300]
        deadline = time.time() + 1.0
        while a.get("/published-on-b/")[0] != 200:
            assert time.time() < deadline, "node A does not serve it"
            time.sleep(0.02)
        assert b"Published on B" in a.get("/")[2]
    finally:
        a.stop()
        b.stop()


@pytest.mark.parametrize("url,why", [
    ("mysql://x@127.0.0.1/db", "bad --to"),
    ("postgresql://newsroom:hunter2@127.0.0.1:1/nowhere", "cannot connect"),
])
def test_bad_target_fails_with_one_line(site, url, why):
    r = migrate(site, url)
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert why in lines[0]
    assert "hunter2" not in r.stderr + r.stdout


def test_missing_database_fails_with_one_line(site):
    assert PG, "CI must test PostgreSQL: set NEWSROOM_TEST_PG"
    r = migrate(site, url_for("no_such_db_" + uuid.uuid4().hex[:6]))
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr


def test_help():
    r = run("migrate", "--help")
    assert r.returncode == 0 and "--force" in r.stdout
    assert "NEWSROOM_DB_PASSWORD" in r.stdout
