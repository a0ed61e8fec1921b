"""PostgreSQL restarting under load (issue 9): two nodes on one database
keep answering while it is down - 503 with Retry-After: 5 and a clear
message, never a 500, never a crash - and recover by themselves within
10 s of its return; a post published afterwards shows on both nodes.

Needs PostgreSQL: runs only when NEWSROOM_TEST_PG is set (as
test_migrate.py; under CI it must be), but starts a server of its own
with scripts/pg.sh so that it can stop and start it (`pg.sh down/up`)."""
import os
import re
import shutil
import subprocess
import threading
import time

import pytest
import requests

from conftest import BIN, ROOT, Server, run

PG = os.environ.get("NEWSROOM_TEST_PG")

if not PG and not os.environ.get("CI"):
    pytest.skip("NEWSROOM_TEST_PG unset (tests/run.py sets it)",
                allow_module_level=True)

PG_SH = os.path.join(ROOT, "scripts", "pg.sh")
OUTAGE_TEXT = "The site is briefly unavailable; try again in a few seconds."


def pg_sh(*args):
    r = subprocess.run(["sh", PG_SH, *args], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.fixture()
def own_pg(tmp_path):
    """A PostgreSQL server of this test's own: (url, datadir)."""
    d = f"/tmp/newsroom-pgout-{os.getpid()}-{time.time_ns() % 10**9}"
    url = pg_sh("start", d)
    yield url, d
    subprocess.run(["sh", PG_SH, "stop", d], capture_output=True, timeout=120)


def use_database(site_dir, url):
    conf = os.path.join(site_dir, "site.conf")
    with open(conf) as f:
        text = f.read()
    text, n = re.subn(r"(?m)^database = .*$", f"database = {url}", text)
    assert n == 1
    with open(conf, "w") as f:
        f.write(text)


def two_sites(demo_dir, tmp_path, url):
    a = str(tmp_path / "site-a")
    shutil.copytree(demo_dir, a, ignore=shutil.ignore_patterns("server.log"))
    r = run("migrate", a, "--to", url)
    assert r.returncode == 0, r.stderr
    use_database(a, url)
    b = str(tmp_path / "site-b")
    shutil.copytree(a, b, ignore=shutil.ignore_patterns("server.log",
                                                        "newsroom.db*"))
    return a, b


def articles(srv, n):
    body = srv.get("/archive/")[2].decode()
    seen = []
    for h in re.findall(r'href="(/[a-z0-9-]+/)"', body):
        if h not in ("/archive/",) and h not in seen:
            seen.append(h)
    return seen[:n]


class Load(threading.Thread):
    """Requests in a loop on every node until stopped; keeps every answer
    as (time, port, path, status or the exception's name)."""

    def __init__(self, nodes, paths):
        super().__init__(daemon=True)
        self.nodes, self.paths = nodes, paths
        self.results = []
        self.halt = threading.Event()

    def run(self):
        s = requests.Session()
        while not self.halt.is_set():
            for n in self.nodes:
                for p in self.paths:
                    try:
                        r = s.get(n.base + p, timeout=10,
                                  allow_redirects=False)
                        st = r.status_code
                    except requests.RequestException as e:
                        st = type(e).__name__
                    self.results.append((time.time(), n.port, p, st))

    def stop(self):
        self.halt.set()
        self.join(30)


def sign_in(srv, site_dir):
    pw = "outage drill password"
    r = subprocess.run([BIN, "user", "add", site_dir, "--email",
                        "ed@example.org", "--name", "Ed Itor", "--role",
                        "editor"], input=(pw + "\n").encode(),
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    s = requests.Session()
    s.get(srv.base + "/desk")
    r = s.post(srv.base + "/desk/signin",
               data={"email": "ed@example.org", "password": pw,
                     "csrf": s.cookies.get("nr_signin")},
               allow_redirects=False, timeout=20)
    assert r.status_code == 303
    return s


def test_restart_under_load(demo_dir, tmp_path, own_pg):
    url, datadir = own_pg
    site_a, site_b = two_sites(demo_dir, tmp_path, url)
    a, b = Server(site_a), Server(site_b)
    load = None
    try:
        ed = sign_in(a, site_a)
        paths = articles(a, 6)
        assert len(paths) == 6
        warm, cold = paths[:3], paths[3:]  # cold: never asked before
        for n in (a, b):
            for p in ["/", "/archive/"] + warm:
                assert n.get(p)[0] == 200, p
        load = Load([a, b], ["/", "/archive/", "/desk/"] + warm)
        load.start()
        time.sleep(1)

        pg_sh("down", datadir)
        down_at = time.time()
        time.sleep(1.5)
        for n in (a, b):
            for p in cold + ["/desk/", "/desk/posts/new/"]:
                st, hdr, body = n.get(p)
                assert st == 503, (n.port, p, st)
                assert hdr["Retry-After"] == "5", (n.port, p)
                assert OUTAGE_TEXT in body.decode(), (n.port, p)
            # the signed-in desk too: an outage, not "signed out"
            r = ed.get(n.base + "/desk/posts/new/", allow_redirects=False,
                       timeout=10)
            assert r.status_code == 503 and r.headers["Retry-After"] == "5"
            assert n.alive(), n.logtext()[-2000:]
        time.sleep(1.5)

        pg_sh("up", datadir)
        up_at = time.time()
        everything = ["/", "/archive/", "/desk/"] + warm + cold
        while True:
            bad = [(n.port, p, n.get(p)[0]) for n in (a, b)
                   for p in everything if n.get(p)[0] != 200]
            if not bad:
                break
            assert time.time() - up_at < 10, f"not back after 10 s: {bad}"
            time.sleep(0.2)
        time.sleep(1)
        load.stop()

        during = [r for r in load.results if down_at + 0.5 < r[0] < up_at]
        after = [r for r in load.results if r[0] > up_at + 10]
        statuses = {r[3] for r in load.results}
        assert during, "the load loop made no request during the outage"
        assert 500 not in statuses, [r for r in load.results if r[3] == 500]
        assert all(isinstance(s, int) for s in statuses), statuses
        assert {r[3] for r in during} <= {503}, {r[3] for r in during}
        assert all(r[3] == 200 for r in after)
        assert a.alive() and b.alive()

        # the desk works again, and what it publishes shows on both nodes
        page = ed.get(a.base + "/desk/posts/new/", timeout=20)
        assert page.status_code == 200
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"',
                         page.text).group(1)
        r = ed.post(a.base + "/desk/posts/", timeout=20,
                    data={"csrf": csrf, "title": "After the outage",
                          "body": "Back on both nodes.", "action": "publish"},
                    allow_redirects=False)
        assert r.status_code == 303, r.text[:300]
        deadline = time.time() + 2
        for n in (a, b):
            while n.get("/after-the-outage/")[0] != 200:
                assert time.time() < deadline, f"node {n.port} lacks it"
                time.sleep(0.05)
            assert b"Back on both nodes." in n.get("/after-the-outage/")[2]
    finally:
        if load and load.is_alive():
            load.stop()
        a.stop()
        b.stop()
