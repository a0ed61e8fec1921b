"""Fixtures for the end-to-end tests: the real newsroom binary, a fresh site
directory and a server on a free loopback port, stopped by PID afterwards."""
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("NEWSROOM_BIN") or os.path.join(ROOT, "build", "newsroom"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, **kw):
    """Runs newsroom with args; returns the CompletedProcess (text).
    A site made with `init` gets narration_engine = off (narrating the
    demo's articles would load the CPU under unrelated timing tests);
    tests of narration turn it back on with narrate_on()."""
    r = subprocess.run([BIN, *args], capture_output=True, text=True,
                       timeout=kw.pop("timeout", 120), **kw)
    if (args and args[0] == "init" and r.returncode == 0 and len(args) > 1
            and os.path.isfile(os.path.join(args[1], "site.conf"))):
        with open(os.path.join(args[1], "site.conf"), "a") as f:
            f.write("\nnarration_engine = off\n")
    return r


def narrate_on(site_dir, extra=""):
    """Lets a test site narrate its articles again (see run)."""
    with open(os.path.join(site_dir, "site.conf"), "a") as f:
        f.write("\nnarration_engine = espeak\n" + extra)


class Server:
    """A running `newsroom serve DIR` on 127.0.0.1:PORT."""

    def __init__(self, site_dir, port=None, env=None):
        self.dir = site_dir
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(site_dir, "server.log"), "w")
        self.proc = subprocess.Popen(
            [BIN, "serve", site_dir, "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT,
            env=dict(os.environ, **(env or {})))
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.logtext())
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start: " + self.logtext())

    def logtext(self):
        self.log.flush()
        with open(os.path.join(self.dir, "server.log")) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def get(self, path, headers=None, method="GET"):
        """(status, headers, body bytes) without following redirects."""
        req = urllib.request.Request(self.base + path, headers=headers or {},
                                     method=method)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def kill9(self):
        """Kills the server with SIGKILL (no clean shutdown) and waits."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


@pytest.fixture(scope="session")
def demo_dir():
    tmp = tempfile.mkdtemp(prefix="newsroom-e2e-")
    site = os.path.join(tmp, "site")
    r = run("init", site, "--demo")
    assert r.returncode == 0, r.stderr
    yield site
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def server(demo_dir):
    s = Server(demo_dir)
    yield s
    s.stop()


@pytest.fixture()
def tmpdir_path():
    tmp = tempfile.mkdtemp(prefix="newsroom-t-")
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def staff_site(tmp):
    """Makes TMP/site, the demo site with one desk account per role
    (ROLE@example.org, see deskclient.add_user); returns its path."""
    from deskclient import ROLES, add_user  # deskclient imports this file
    d = os.path.join(tmp, "site")
    r = run("init", d, "--demo")
    assert r.returncode == 0, r.stderr
    for role in ROLES:
        add_user(d, role + "@example.org", role)
    return d


@pytest.fixture(scope="module")
def template_site():
    """staff_site, made once per test file (the demo's images take a
    while) and copied for each test by `site`. A file that needs another
    starting point defines its own."""
    tmp = tempfile.mkdtemp(prefix="newsroom-site-")
    yield staff_site(tmp)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture()
def site(template_site, tmpdir_path):
    """A fresh copy of template_site for one test."""
    d = os.path.join(tmpdir_path, "site")
    shutil.copytree(template_site, d)
    return d


def integrity(site):
    """PRAGMA integrity_check of the site's SQLite database, read with the
    system's sqlite3 module (not the server's code)."""
    con = sqlite3.connect(os.path.join(site, "newsroom.db"))
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def png(width, height, seed):
    """A small valid PNG (RGB, a gradient from seed) made without
    libraries, so tests need no image tools."""
    import struct
    import zlib
    rows = b"".join(
        b"\0" + bytes((x * 7 + seed) % 256 for x in range(width)
                      for _ in range(3))
        for _ in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0,
                                       0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
