"""`newsroom backup` and `newsroom restore` (docs/backup.md): a backup taken
while the site serves and another process keeps publishing restores to a
site that serves exactly the posts of the backup's database, with identical
media; hostile or damaged archives are refused and nothing is written
outside the target directory."""
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import tarfile
import threading
import time

import pytest

from conftest import ROOT, Server, run


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def tree_hashes(root, sub):
    out = {}
    base = os.path.join(root, sub)
    for d, _, files in os.walk(base):
        for name in files:
            p = os.path.join(d, name)
            out[os.path.relpath(p, root)] = sha256(p)
    return out


@pytest.fixture()
def site(demo_dir, tmpdir_path):
    """A copy of the demo site with a theme override and a narration."""
    path = os.path.join(tmpdir_path, "site")
    shutil.copytree(demo_dir, path, ignore=shutil.ignore_patterns("server.log"))
    os.makedirs(os.path.join(path, "theme", "assets"), exist_ok=True)
    with open(os.path.join(ROOT, "themes", "default", "assets",
                           "site.css")) as f:
        css = f.read()
    with open(os.path.join(path, "theme", "assets", "site.css"), "w") as f:
        f.write(css + "\n.backup-marker { color: #123456 }\n")
    os.makedirs(os.path.join(path, "media", "audio"), exist_ok=True)
    with open(os.path.join(path, "media", "audio", "story-abc.mp3"), "wb") as f:
        f.write(os.urandom(70000))
    return path


class Writer(threading.Thread):
    """Publishes a post every few milliseconds through its own SQLite
    connection, as a desk or another process would, until stopped."""

    def __init__(self, site_dir):
        super().__init__(daemon=True)
        self.db = os.path.join(site_dir, "newsroom.db")
        self.stop = threading.Event()
        self.written = 0
        self.error = None

    def run(self):
        db = sqlite3.connect(self.db, timeout=10)
        try:
            author = db.execute("SELECT min(id) FROM authors").fetchone()[0]
            now = int(time.time())
            while not self.stop.is_set():
                i = self.written
                cur = db.execute(
                    "INSERT INTO posts (slug, title, excerpt, status, "
                    "created_at, published_at, updated_at, markdown, html, "
                    "plaintext) VALUES (?, ?, 'x', 'published', ?, ?, ?, ?, "
                    "?, ?)",
                    (f"backup-run-{i}", f"Backup run story {i}", now - 60,
                     now - 60, now - 60, f"Body {i}", f"<p>Body {i}</p>",
                     f"Body {i}"))
                db.execute("INSERT INTO post_authors (post_id, author_id) "
                           "VALUES (?, ?)", (cur.lastrowid, author))
                db.commit()
                self.written += 1
                time.sleep(0.003)
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            db.close()


def test_backup_of_a_live_site_restores_and_serves(site, tmpdir_path):
    archive = os.path.join(tmpdir_path, "site.tar.gz")
    target = os.path.join(tmpdir_path, "restored")
    media_before = tree_hashes(site, "media")
    theme_before = tree_hashes(site, "theme")
    conf_before = sha256(os.path.join(site, "site.conf"))
    srv = Server(site)
    writer = Writer(site)
    try:
        writer.start()
        while writer.written < 30 and writer.is_alive():
            time.sleep(0.01)
        before = writer.written
        r = run("backup", site, archive)
        after = writer.written
        # the server keeps serving while and after the backup runs
        assert srv.get("/")[0] == 200
    finally:
        writer.stop.set()
        writer.join(10)
        srv.stop()
    assert writer.error is None, writer.error
    assert r.returncode == 0, r.stderr
    assert "backed up" in r.stdout and "schema" in r.stdout
    # the writer kept publishing during the backup
    assert after > before

    r = run("restore", target, archive)
    assert r.returncode == 0, r.stderr
    assert f"newsroom serve {target}" in r.stdout

    db = sqlite3.connect(os.path.join(target, "newsroom.db"))
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        posts = db.execute("SELECT slug, title FROM posts WHERE status = "
                           "'published'").fetchall()
        runs = {s for s, _ in posts if s.startswith("backup-run-")}
    finally:
        db.close()
    # a snapshot at one commit: the posts written before the backup started,
    # numbered without a gap, and none written after it finished
    assert len(runs) >= before
    assert len(runs) <= after
    assert runs == {f"backup-run-{i}" for i in range(len(runs))}

    # media, theme overrides and site.conf are byte for byte the same
    assert tree_hashes(target, "media") == media_before
    assert tree_hashes(target, "theme") == theme_before
    assert sha256(os.path.join(target, "site.conf")) == conf_before

    srv = Server(target)
    try:
        for slug, title in posts:
            code, _, body = srv.get(f"/{slug}/")
            assert code == 200, slug
            if slug.startswith("backup-run-"):
                assert title.encode() in body
        # a post written after the snapshot is not on the restored site
        code, _, _ = srv.get(f"/backup-run-{writer.written - 1}/")
        assert code == 404
        # the theme override is in use again
        home = srv.get("/")[2].decode()
        css = re.search(r'href="(/assets/site\.[^"]+\.css)"', home).group(1)
        code, _, body = srv.get(css)
        assert code == 200 and b".backup-marker { color: #123456 }" in body
    finally:
        srv.stop()


def test_manifest_lists_every_file_with_its_checksum(site, tmpdir_path):
    archive = os.path.join(tmpdir_path, "b.tar.gz")
    r = run("backup", site, archive)
    assert r.returncode == 0, r.stderr
    with tarfile.open(archive) as t:
        names = t.getnames()
        assert names[-1] == "manifest.json"
        m = json.load(t.extractfile("manifest.json"))
        assert m["format"] == "newsroom-backup"
        assert m["newsroom_version"] and m["schema_version"] >= 10
        assert m["database"] == "newsroom.db"
        listed = {f["path"]: f for f in m["files"]}
        for f in m["files"]:
            data = t.extractfile(f["path"]).read()
            assert len(data) == f["size"]
            assert hashlib.sha256(data).hexdigest() == f["sha256"]
    assert "media/audio/story-abc.mp3" in listed
    assert "theme/assets/site.css" in listed and "site.conf" in listed
    assert listed["media/audio/story-abc.mp3"]["sha256"] == sha256(
        os.path.join(site, "media", "audio", "story-abc.mp3"))


def test_restore_refuses_a_non_empty_directory(site, tmpdir_path):
    archive = os.path.join(tmpdir_path, "b.tar.gz")
    assert run("backup", site, archive).returncode == 0
    busy = os.path.join(tmpdir_path, "busy")
    os.makedirs(busy)
    with open(os.path.join(busy, "keep.txt"), "w") as f:
        f.write("mine")
    r = run("restore", busy, archive)
    assert r.returncode == 1
    assert "not empty" in r.stderr and "--force" in r.stderr
    assert os.listdir(busy) == ["keep.txt"]
    # --force replaces the site there and keeps unrelated files
    r = run("restore", busy, archive, "--force")
    assert r.returncode == 0, r.stderr
    assert os.path.isfile(os.path.join(busy, "newsroom.db"))
    assert os.path.isfile(os.path.join(busy, "keep.txt"))
    assert not [n for n in os.listdir(busy) if n.startswith(".restore")]


def tar_with(path, entries):
    """Writes a .tar.gz of (TarInfo, bytes or None) entries."""
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as t:
        for info, data in entries:
            t.addfile(info, io.BytesIO(data) if data is not None else None)


def reg(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def assert_refused(tmpdir_path, archive, words):
    target = os.path.join(tmpdir_path, "target")
    before = sorted(os.listdir(tmpdir_path))
    r = run("restore", target, archive)
    assert r.returncode == 1, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsroom: restore: ")
    for w in words:
        assert w in r.stderr
    # nothing left behind: not the target, nothing next to it
    assert not os.path.exists(target)
    assert sorted(os.listdir(tmpdir_path)) == before
    return r


def test_hostile_archives_are_refused(tmpdir_path):
    archive = os.path.join(tmpdir_path, "evil.tar.gz")
    escape = os.path.join(tmpdir_path, "escaped.txt")

    tar_with(archive, [reg("site.conf", b"title = x\n"),
                       reg("../escaped.txt", b"gotcha")])
    assert_refused(tmpdir_path, archive, ["'../escaped.txt'", ".."])
    assert not os.path.exists(escape)

    absolute = os.path.join(tmpdir_path, "absolute.txt")
    tar_with(archive, [reg(absolute, b"gotcha")])
    assert_refused(tmpdir_path, archive, ["absolute path"])
    assert not os.path.exists(absolute)

    link = tarfile.TarInfo("media/link")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    tar_with(archive, [(link, None), reg("media/link", b"through the link")])
    assert_refused(tmpdir_path, archive, ["'media/link'", "symbolic link"])

    dev = tarfile.TarInfo("media/null")
    dev.type = tarfile.CHRTYPE
    dev.devmajor, dev.devminor = 1, 3
    tar_with(archive, [(dev, None)])
    assert_refused(tmpdir_path, archive, ["device"])

    tar_with(archive, [reg("site.conf", b"title = x\n")])
    assert_refused(tmpdir_path, archive, ["manifest.json"])


def test_damaged_archives_are_refused(site, tmpdir_path):
    good = os.path.join(tmpdir_path, "good.tar.gz")
    assert run("backup", site, good).returncode == 0
    archives = os.path.join(tmpdir_path, "archives")
    os.makedirs(archives)

    # one flipped byte in the compressed stream
    data = bytearray(open(good, "rb").read())
    data[len(data) // 2] ^= 0x55
    flipped = os.path.join(archives, "flipped.tar.gz")
    with open(flipped, "wb") as f:
        f.write(data)
    r = assert_refused(tmpdir_path, flipped, ["'" + flipped + "'"])
    assert "damaged" in r.stderr or "checksum" in r.stderr

    # a valid gzip whose media file was changed after the manifest: the
    # SHA-256 check catches it
    tampered = os.path.join(archives, "tampered.tar.gz")
    with tarfile.open(good) as src, \
            tarfile.open(tampered, "w:gz", format=tarfile.PAX_FORMAT) as dst:
        for info in src.getmembers():
            body = src.extractfile(info).read() if info.isfile() else None
            if info.name == "media/audio/story-abc.mp3":
                body = bytes([body[0] ^ 1]) + body[1:]
            dst.addfile(info, io.BytesIO(body) if body is not None else None)
    assert_refused(tmpdir_path, tampered,
                   ["'media/audio/story-abc.mp3'", "SHA-256 checksum"])


def test_postgresql_site_points_to_pg_dump(site, tmpdir_path):
    with open(os.path.join(site, "site.conf"), "a") as f:
        f.write("\ndatabase = postgresql://127.0.0.1:1/none\n")
    archive = os.path.join(tmpdir_path, "pg.tar.gz")
    r = run("backup", site, archive)
    assert r.returncode == 1
    assert "pg_dump" in r.stderr and "--media-only" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not os.path.exists(archive)
    r = run("backup", site, archive, "--media-only")
    assert r.returncode == 0, r.stderr
    assert "pg_dump" in r.stdout
    with tarfile.open(archive) as t:
        m = json.load(t.extractfile("manifest.json"))
        assert m["database"] is None
        assert "newsroom.db" not in t.getnames()
        assert "media/audio/story-abc.mp3" in t.getnames()


def test_usage():
    r = run("backup", "--help")
    assert r.returncode == 0 and "usage: newsroom backup" in r.stdout
    r = run("restore", "--help")
    assert r.returncode == 0 and "usage: newsroom restore" in r.stdout
    r = run("backup", "onlydir")
    assert r.returncode == 2 and r.stderr.startswith("newsroom: backup:")
    r = run("restore", "x", "y", "--bogus")
    assert r.returncode == 2
