"""Graceful shutdown (docs/shutdown.md): on SIGTERM `newsroom serve` stops
accepting at once, lets a request in flight finish with its status, ends
live streams at once, cuts a request still running at the bound
(BOUND_DRAIN_S, 10 s) and exits 0 with a log line; `newsroom jobs` lets a
running job finish or hands it back, and it is done exactly once."""
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import BIN, Server, narrate_on
from deskclient import q1
from sse import SSE

BOUND_S = 10  # BOUND_DRAIN_S in src/core/bounds.h


BODY = b"q=" + b"x" * 4000


def slow_post(port, chunks, gap):
    """Sends a POST /search whose body arrives in chunks, gap seconds
    apart, on a new socket; returns (socket, sender thread). The thread
    stops quietly when the server hangs up."""
    c = socket.create_connection(("127.0.0.1", port), 5)
    c.sendall(b"POST /search HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/x-www-form-urlencoded\r\n"
              b"Content-Length: %d\r\n\r\n" % len(BODY))
    size = -(-len(BODY) // chunks)

    def send():
        try:
            for i in range(0, len(BODY), size):
                time.sleep(gap)
                c.sendall(BODY[i:i + size])
        except OSError:
            pass

    t = threading.Thread(target=send, daemon=True)
    t.start()
    return c, t


def read_status(c, timeout):
    """The status code of the response on c, or None if the connection
    ended without one."""
    c.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    if not data.startswith(b"HTTP/1.1 "):
        return None
    return int(data[9:12])


def refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), 1):
            return False
    except ConnectionRefusedError:
        return True


def wait_exit(s, timeout):
    t0 = time.time()
    rc = s.proc.wait(timeout)
    return rc, time.time() - t0


def test_in_flight_request_finishes_new_ones_refused(site):
    s = Server(site)
    try:
        # what the request answers without a shutdown
        c, t = slow_post(s.port, 1, 0)
        want = read_status(c, 10)
        c.close()
        assert want is not None
        # the same, its body sent over about 3 s, SIGTERM in the middle
        c, t = slow_post(s.port, 10, 0.3)
        time.sleep(0.5)
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert refused(s.port), "a new connection was accepted while stopping"
        assert read_status(c, 10) == want
        c.close()
        rc, took = wait_exit(s, BOUND_S + 5)
        assert rc == 0
        assert took < BOUND_S - 3, f"waited {took:.1f} s after the request"
        log = s.logtext()
        assert "stopping on signal 15" in log
        assert "1 request in flight finished" in log
        assert "stopped serving" in log
    finally:
        s.stop()


def test_idle_keepalive_does_not_hold_the_stop(site):
    s = Server(site)
    try:
        c = socket.create_connection(("127.0.0.1", s.port), 5)
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_status(c, 10) == 200
        # the connection stays open, idle, waiting for its next request
        t0 = time.time()
        s.proc.send_signal(signal.SIGTERM)
        rc = s.proc.wait(BOUND_S + 5)
        assert rc == 0 and time.time() - t0 < 3
        c.close()
    finally:
        s.stop()


def test_live_stream_ends_promptly(site):
    s = Server(site)
    try:
        stream = SSE(s.port)
        assert stream.status == 200
        time.sleep(0.3)
        t0 = time.time()
        s.proc.send_signal(signal.SIGTERM)
        assert stream.closed.wait(5), "the live stream was not ended"
        rc = s.proc.wait(BOUND_S + 5)
        took = time.time() - t0
        assert rc == 0
        assert took < 3, f"a live stream held the stop for {took:.1f} s"
    finally:
        s.stop()


def test_request_past_the_bound_is_cut(site):
    s = Server(site)
    try:
        # a body that would take 60 s to arrive
        c, t = slow_post(s.port, 60, 1.0)
        time.sleep(0.5)
        t0 = time.time()
        s.proc.send_signal(signal.SIGTERM)
        rc = s.proc.wait(BOUND_S + 10)
        took = time.time() - t0
        assert rc == 0
        assert BOUND_S - 1 < took < BOUND_S + 3, took
        assert read_status(c, 5) is None  # cut, no answer
        c.close()
        assert "still in flight: cut" in s.logtext()
    finally:
        s.stop()


# ---- newsroom jobs ----------------------------------------------------------

def one_post_narrated_by(site, command):
    """Leaves one published post and narrates with command."""
    con_sql = ("UPDATE posts SET status = 'draft' WHERE id != (SELECT id "
               "FROM posts WHERE status = 'published' ORDER BY words LIMIT 1)")
    import sqlite3
    con = sqlite3.connect(os.path.join(site, "newsroom.db"))
    con.execute(con_sql)
    con.commit()
    con.close()
    narrate_on(site, "narration_engine = command\n"
                     f"narration_command = {command}\n")
    return q1(site, "SELECT id FROM posts WHERE status = 'published'")[0]


# a synthesiser that takes SECS seconds: a WAV of one second of tone
SLOW = ("cat >/dev/null; sleep {secs}; "
        "sox -n -r 16000 -b 16 -c 1 -t wav - synth 1 sine 440")


def start_jobs(site, env):
    log = open(os.path.join(site, "jobs.log"), "a")
    p = subprocess.Popen([BIN, "jobs", site], stdout=log,
                         stderr=subprocess.STDOUT,
                         env=dict(os.environ, **env))
    return p, log


def wait_running(site, kind, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if q1(site, "SELECT count(*) FROM jobs WHERE kind = ? AND state = "
                    "'running'", kind)[0]:
            return
        time.sleep(0.1)
    raise AssertionError(f"no {kind} job started")


def narrate_jobs(site):
    return q1(site, "SELECT count(*), sum(state = 'done'), "
                    "sum(state = 'running'), sum(state = 'queued') "
                    "FROM jobs WHERE kind = 'narrate'")


def ready_narrations(site, pid):
    return q1(site, "SELECT count(*) FROM narrations WHERE post_id = ? AND "
                    "state = 'ready'", pid)[0]


@pytest.mark.parametrize("secs,finishes", [(3, True), (40, False)])
def test_jobs_sigterm_finishes_or_hands_back(site, secs, finishes):
    pid = one_post_narrated_by(site, SLOW.format(secs=secs))
    env = {"NEWSROOM_JOB_TICK_MS": "300", "NEWSROOM_JOB_LEASE_S": "4"}
    p, log = start_jobs(site, env)
    try:
        wait_running(site, "narrate")
        time.sleep(0.5)
        t0 = time.time()
        p.send_signal(signal.SIGTERM)
        rc = p.wait(BOUND_S + 5)
        took = time.time() - t0
        assert rc == 0
        log.flush()
        text = open(os.path.join(site, "jobs.log")).read()
        assert "stopping on signal 15" in text
        if finishes:
            # finished before the bound: done once, audio ready
            assert took < secs + 3
            assert narrate_jobs(site)[:3] == (1, 1, 0)
            assert ready_narrations(site, pid) == 1
            assert "job workers stopped" in text
        else:
            # handed back at the bound: queued again, not done, not running
            assert BOUND_S - 1 < took < BOUND_S + 3, took
            assert narrate_jobs(site) == (1, 0, 0, 1)
            assert "handed back" in text
            assert ready_narrations(site, pid) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if finishes:
        log.close()
        return
    # a worker started again does it, once (a fast synthesiser this time)
    with open(os.path.join(site, "site.conf"), "a") as f:
        f.write("\nnarration_command = " + SLOW.format(secs=0) + "\n")
    p, _ = start_jobs(site, env)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and ready_narrations(site, pid) == 0:
            time.sleep(0.2)
        assert ready_narrations(site, pid) == 1
        time.sleep(1)
        assert narrate_jobs(site)[:3] == (1, 1, 0)
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(BOUND_S + 5) == 0
        log.close()
