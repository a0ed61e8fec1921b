"""The page cache: pages are served from memory (compressed once, with
validators a CDN and a browser can use), a change a reader can see shows on
the next request, bookkeeping writes keep pages, memory stays within its
budget, and a cold page hit by many readers at once is rendered once."""
import gzip
import shutil
import sqlite3
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import brotli
import pytest

from conftest import Server
from deskclient import add_user, desk_as


@pytest.fixture
def site(demo_dir, tmpdir_path):
    path = f"{tmpdir_path}/s"
    shutil.copytree(demo_dir, path, ignore=shutil.ignore_patterns("server.log"))
    return path


def first_slug(site):
    db = sqlite3.connect(f"{site}/newsroom.db")
    try:
        return db.execute("SELECT slug, title FROM posts WHERE status = "
                          "'published' ORDER BY id LIMIT 1").fetchone()
    finally:
        db.close()


def test_cached_page_follows_database_changes(site):
    slug, title = first_slug(site)
    db = sqlite3.connect(f"{site}/newsroom.db")
    srv = Server(site)
    try:
        code, h1, first = srv.get(f"/{slug}/")
        assert code == 200 and title.encode() in first
        code, h2, second = srv.get(f"/{slug}/")
        assert code == 200 and h2.get("X-Cache") == "hit" and second == first
        assert h1["ETag"] == h2["ETag"]
        # another process (a CLI command) changes the post: it shows within
        # the store's look interval (100 ms)
        new_title = "Ferry service restored after storm <b>test</b>"
        db.execute("UPDATE posts SET title = ? WHERE slug = ?", (new_title, slug))
        db.commit()
        time.sleep(0.2)
        code, h3, third = srv.get(f"/{slug}/")
        assert code == 200 and h3.get("X-Cache") != "hit"
        assert b"Ferry service restored after storm &lt;b&gt;test&lt;/b&gt;" in third
        assert h3["ETag"] != h1["ETag"]
        # the front page and archive list it too, not a stale copy
        assert b"Ferry service restored" in srv.get("/archive/")[2]
        # the old ETag no longer yields 304
        code, _, _ = srv.get(f"/{slug}/", headers={"If-None-Match": h1["ETag"]})
        assert code == 200
    finally:
        srv.stop()
        db.close()


def test_bookkeeping_writes_keep_pages(site):
    slug, _ = first_slug(site)
    srv = Server(site)
    db = sqlite3.connect(f"{site}/newsroom.db")
    try:
        srv.get(f"/{slug}/")
        assert srv.get(f"/{slug}/")[1].get("X-Cache") == "hit"
        # the job queue and sign-in bookkeeping are not content
        db.execute("INSERT INTO jobs (kind, payload, run_at, created_at) "
                   "VALUES ('noop', '', 0, 0)")
        db.execute("INSERT INTO rate_limits (key, window_start, count) "
                   "VALUES ('test', 0, 1)")
        db.commit()
        time.sleep(0.25)
        assert srv.get(f"/{slug}/")[1].get("X-Cache") == "hit"
        # a setting readers see is content
        db.execute("INSERT OR REPLACE INTO settings (key, value) "
                   "VALUES ('probe', '1')")
        db.commit()
        time.sleep(0.25)
        assert srv.get(f"/{slug}/")[1].get("X-Cache") != "hit"
    finally:
        srv.stop()
        db.close()


def test_an_editors_change_shows_on_the_next_request(site):
    add_user(site, "editor@example.org", "editor")
    srv = Server(site)
    try:
        for _ in range(2):
            code, h, body = srv.get("/")
        assert h.get("X-Cache") == "hit"
        e = desk_as(srv, "editor")
        e.get("/desk/live/")
        r = e.post("/desk/live/", {"headline": "Bridge reopens at dawn",
                                   "body": "Traffic is moving."})
        assert r.status_code == 303
        # no wait: the save has returned, so no reader may get the old page
        code, h, body = srv.get("/")
        assert code == 200 and h.get("X-Cache") != "hit"
        assert b"Bridge reopens at dawn" in body
    finally:
        srv.stop()


def test_compressed_copies_and_validators(site):
    slug, _ = first_slug(site)
    srv = Server(site)
    try:
        code, plain_h, plain = srv.get(f"/{slug}/")
        assert code == 200 and "Content-Encoding" not in plain_h
        assert plain_h["Vary"] == "Accept-Encoding"
        cc = plain_h["Cache-Control"]
        for part in ("public", "max-age=0", "s-maxage=", "stale-while-revalidate=",
                     "stale-if-error="):
            assert part in cc, cc
        assert "newsroom" in plain_h["Surrogate-Key"].split()
        assert plain_h["Last-Modified"].endswith(" GMT")
        seen = {plain_h["ETag"]}
        for coding, decode in (("gzip", gzip.decompress), ("br", brotli.decompress)):
            code, h, body = srv.get(f"/{slug}/", headers={"Accept-Encoding": coding})
            assert code == 200 and h["Content-Encoding"] == coding
            assert len(body) < len(plain) / 2
            assert decode(body) == plain
            assert h["ETag"] not in seen  # strong ETags differ per coding
            seen.add(h["ETag"])
            # the validators of that copy give 304, with no body
            code, h304, body = srv.get(f"/{slug}/", headers={
                "Accept-Encoding": coding, "If-None-Match": h["ETag"]})
            assert code == 304 and body == b"" and h304["ETag"] == h["ETag"]
        # brotli is preferred; a refused coding (q=0) is never sent
        h = srv.get(f"/{slug}/", headers={"Accept-Encoding": "gzip, br"})[1]
        assert h["Content-Encoding"] == "br"
        h = srv.get(f"/{slug}/", headers={"Accept-Encoding": "br;q=0, gzip"})[1]
        assert h["Content-Encoding"] == "gzip"
        h = srv.get(f"/{slug}/", headers={"Accept-Encoding": "gzip;q=0.000"})[1]
        assert "Content-Encoding" not in h
        # If-Modified-Since with the page's own date is a 304 too
        code, _, _ = srv.get(f"/{slug}/", headers={
            "If-Modified-Since": plain_h["Last-Modified"]})
        assert code == 304
        # HEAD: the headers of the page, no body
        req = urllib.request.Request(srv.base + f"/{slug}/", method="HEAD")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200 and r.read() == b""
            assert int(r.headers["Content-Length"]) == len(plain)
        # feeds are cached and compressed the same way
        code, h, body = srv.get("/news-feed/rss.xml", headers={"Accept-Encoding": "gzip"})
        assert code == 200 and h["Content-Encoding"] == "gzip"
        assert gzip.decompress(body).startswith(b"<?xml")
    finally:
        srv.stop()


def test_memory_stays_within_the_budget(site):
    with open(f"{site}/site.conf", "a") as f:
        f.write("cache_mb = 1\n")
    srv = Server(site)
    try:
        # each front page copy is some 60 KB with its gzip and brotli forms:
        # 40 of them cannot all fit in 1 MB
        for i in range(40):
            assert srv.get(f"/?v={i}")[0] == 200
        assert srv.get("/?v=39")[1].get("X-Cache") == "hit"
        assert srv.get("/?v=0")[1].get("X-Cache") != "hit"  # evicted
        assert srv.get("/?v=0")[1].get("X-Cache") == "hit"  # and back
    finally:
        srv.stop()


def test_cache_off(site):
    with open(f"{site}/site.conf", "a") as f:
        f.write("cache_mb = 0\n")
    srv = Server(site)
    try:
        for _ in range(3):
            code, h, _ = srv.get("/")
            assert code == 200 and h.get("X-Cache") != "hit"
            assert "ETag" in h
    finally:
        srv.stop()


def test_a_cold_page_wanted_by_many_is_rendered_once(site):
    slug, _ = first_slug(site)
    srv = Server(site)
    try:
        def fetch(_):
            return srv.get(f"/{slug}/")
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(fetch, range(64)))
        assert all(code == 200 for code, _, _ in results)
        bodies = {body for _, _, body in results}
        assert len(bodies) == 1
        rendered = [h for _, h, _ in results if h.get("X-Cache") != "hit"]
        assert len(rendered) == 1, len(rendered)
    finally:
        srv.stop()


class PurgeSink:
    """A stand-in for Varnish or a CDN: records PURGE requests."""

    def __init__(self):
        import http.server
        import threading
        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PURGE(self):
                seen.append((time.monotonic(), self.path,
                             self.headers.get("Surrogate-Key")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def wait_for(pred, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_changes_purge_the_cdn(site):
    sink = PurgeSink()
    with open(f"{site}/site.conf", "a") as f:
        f.write(f"purge_url = http://127.0.0.1:{sink.port}/purge\n")
    srv = Server(site)
    db = sqlite3.connect(f"{site}/newsroom.db")
    try:
        assert "newsroom" in srv.get("/")[1]["Surrogate-Key"].split()
        time.sleep(1.2)
        sink.seen.clear()
        # bookkeeping is not a change a CDN needs to hear about
        db.execute("INSERT INTO jobs (kind, payload, run_at, created_at) "
                   "VALUES ('noop', '', 0, 0)")
        db.commit()
        assert not wait_for(lambda: sink.seen, 1.0)
        # a change readers see is purged within a second or so
        db.execute("UPDATE posts SET title = 'Purged headline' WHERE id = "
                   "(SELECT min(id) FROM posts)")
        db.commit()
        assert wait_for(lambda: sink.seen, 3.0)
        _, path, key = sink.seen[0]
        assert path == "/purge" and key == "newsroom"
    finally:
        srv.stop()
        db.close()
        sink.close()


def test_an_unreachable_purge_url_is_logged_not_fatal(site, tmpdir_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with open(f"{site}/site.conf", "a") as f:
        f.write(f"purge_url = http://127.0.0.1:{port}/\n")
    srv = Server(site)
    db = sqlite3.connect(f"{site}/newsroom.db")
    try:
        db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('p', '2')")
        db.commit()
        assert wait_for(lambda: "purge: PURGE" in srv.logtext(), 3.0)
        assert srv.get("/")[0] == 200
    finally:
        srv.stop()
        db.close()


def test_a_bad_purge_url_is_refused_at_start(site):
    import subprocess
    from conftest import BIN
    with open(f"{site}/site.conf", "a") as f:
        f.write("purge_url = ftp://cdn.example/\n")
    p = subprocess.run([BIN, "serve", site, "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    assert "purge_url" in p.stderr and "http://" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
