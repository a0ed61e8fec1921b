"""Background jobs: a scheduled post goes live on time, published by the
job workers of `newsroom serve`, or of a separate `newsroom jobs` process
next to `serve --no-jobs` (docs/jobs.md)."""
import os
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import BIN, free_port, run

TICK_ENV = dict(os.environ, NEWSROOM_JOB_TICK_MS="500")


def schedule_one(site, delay):
    """Makes one published post of the site scheduled `delay` s from now;
    returns its slug."""
    db = sqlite3.connect(os.path.join(site, "newsroom.db"))
    try:
        slug = db.execute("SELECT slug FROM posts WHERE status = 'published' "
                          "ORDER BY id LIMIT 1").fetchone()[0]
        db.execute("UPDATE posts SET status = 'scheduled', published_at = ? "
                   "WHERE slug = ?", (int(time.time()) + delay, slug))
        db.commit()
    finally:
        db.close()
    return slug


def status_of(site, slug):
    db = sqlite3.connect(os.path.join(site, "newsroom.db"))
    try:
        return db.execute("SELECT status FROM posts WHERE slug = ?",
                          (slug,)).fetchone()[0]
    finally:
        db.close()


def get_status(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                    timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def start(args, log):
    return subprocess.Popen([BIN, *args], stdout=log,
                            stderr=subprocess.STDOUT, env=TICK_ENV)


def wait_port(proc, port, logpath):
    deadline = time.time() + 20
    while time.time() < deadline:
        assert proc.poll() is None, open(logpath).read()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("server did not start: " + open(logpath).read())


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@pytest.mark.parametrize("separate", [False, True],
                         ids=["serve", "serve --no-jobs + jobs"])
def test_scheduled_post_goes_live(tmpdir_path, separate):
    site = os.path.join(tmpdir_path, "site")
    r = run("init", site, "--demo")
    assert r.returncode == 0, r.stderr
    slug = schedule_one(site, 2)
    port = free_port()
    logpath = os.path.join(tmpdir_path, "serve.log")
    with open(logpath, "w") as log:
        args = ["serve", site, "--listen", f"127.0.0.1:{port}"]
        procs = [start(args + (["--no-jobs"] if separate else []), log)]
        try:
            wait_port(procs[0], port, logpath)
            assert get_status(port, f"/{slug}/") == 404, "not yet public"
            if separate:
                procs.append(start(["jobs", site], log))
            deadline = time.time() + 20
            while time.time() < deadline:
                if (get_status(port, f"/{slug}/") == 200 and
                        status_of(site, slug) == "published"):
                    break
                time.sleep(0.25)
            text = open(logpath).read()
            assert get_status(port, f"/{slug}/") == 200, text
            assert status_of(site, slug) == "published", text
            assert "published 1 scheduled post" in text
        finally:
            codes = [stop(p) for p in reversed(procs)]
    assert codes == [0] * len(codes), open(logpath).read()


def test_jobs_command_usage():
    r = run("jobs", "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: newsroom jobs")
    r = run("jobs")
    assert r.returncode == 2 and "missing DIR" in r.stderr
    r = run("jobs", "/nonexistent", "--threads", "0")
    assert r.returncode == 2 and "bad --threads" in r.stderr
