"""/metrics (docs/metrics.md): a second server on metrics_listen answers a
Prometheus scrape with the public server's request counts and latency, the
page cache's figures, open live streams and the job queue; the public port
never shows them. Also: the access log follows access_log."""
import os
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import Server, free_port, run
from sse import SSE

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def scrape(port):
    """{(sample name, ((label, value), ...)): value} and the families."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == CONTENT_TYPE
        assert r.headers["Cache-Control"] == "no-store"
        text = r.read().decode("utf-8")
    families = list(text_string_to_metric_families(text))
    samples = {}
    for f in families:
        for s in f.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, families, text


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def wait_for(port, pred, timeout=5):
    """Scrapes until pred(samples) holds; the last samples."""
    end = time.time() + timeout
    while True:
        samples = scrape(port)[0]
        if pred(samples) or time.time() > end:
            return samples
        time.sleep(0.05)


def refused(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def site():
    tmp = tempfile.mkdtemp(prefix="newsroom-metrics-")
    d = os.path.join(tmp, "site")
    r = run("init", d, "--demo")
    assert r.returncode == 0, r.stderr
    yield d
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def srv(site):
    mport = free_port()
    with open(os.path.join(site, "site.conf"), "a") as f:
        f.write(f"\nmetrics_listen = 127.0.0.1:{mport}\naccess_log = yes\n")
    s = Server(site)
    s.mport = mport
    end = time.time() + 10
    while refused(mport) and time.time() < end:
        time.sleep(0.05)
    yield s
    s.stop()


def test_scrape_parses_with_help_and_type(srv):
    samples, families, text = scrape(srv.mport)
    names = {f.name for f in families}
    for want in ("newsroom_http_requests", "newsroom_http_request_duration_seconds",
                 "newsroom_http_response_bytes", "newsroom_http_connections",
                 "newsroom_live_streams", "newsroom_cache_hits",
                 "newsroom_cache_misses", "newsroom_cache_waits",
                 "newsroom_cache_evictions", "newsroom_cache_entries",
                 "newsroom_cache_bytes", "newsroom_cache_hit_ratio",
                 "newsroom_jobs", "newsroom_store_up",
                 "newsroom_start_time_seconds", "process_resident_memory_bytes"):
        assert want in names, want
    for f in families:
        assert f.documentation, f.name
        assert f.type in ("counter", "gauge", "histogram"), f.name
    # every family has its HELP and TYPE lines in the text itself
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            assert f"# HELP {line.split()[2]} " in text
    assert value(samples, "newsroom_store_up") == 1
    for state in ("queued", "running", "failed"):
        assert value(samples, "newsroom_jobs", state=state) >= 0
    assert value(samples, "process_resident_memory_bytes") > 1024 * 1024
    started = value(samples, "newsroom_start_time_seconds")
    assert time.time() - 120 < started <= time.time() + 1


def test_requests_and_latency_histogram(srv):
    n = 25
    before = scrape(srv.mport)[0]
    for _ in range(n):
        assert srv.get("/")[0] == 200
    assert srv.get("/no-such-story-at-all/")[0] == 404
    after = wait_for(srv.mport, lambda s: value(
        s, "newsroom_http_requests_total", code="4xx") > value(
        before, "newsroom_http_requests_total", code="4xx"))
    ok = "newsroom_http_requests_total"
    assert value(after, ok, code="2xx") - value(before, ok, code="2xx") >= n
    assert value(after, ok, code="4xx") - value(before, ok, code="4xx") >= 1
    assert value(after, ok, code="5xx") == value(before, ok, code="5xx")

    h = "newsroom_http_request_duration_seconds"
    count = value(after, h + "_count")
    assert count - value(before, h + "_count") >= n + 1
    buckets = sorted(((float(dict(lbl)["le"]), v)
                      for (name, lbl), v in after.items()
                      if name == h + "_bucket"))
    les = [le for le, _ in buckets]
    assert les == [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                   0.25, 0.5, 1, 2.5, 5, float("inf")]
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "buckets must be cumulative"
    assert counts[-1] == count  # +Inf bucket == _count
    assert value(after, h + "_sum") > value(before, h + "_sum")
    bytes_out = "newsroom_http_response_bytes_total"
    assert value(after, bytes_out) - value(before, bytes_out) > n * 1000


def test_cache_hits_grow_on_a_second_fetch(srv):
    before = scrape(srv.mport)[0]
    assert srv.get("/archive/")[0] == 200
    assert srv.get("/archive/")[0] == 200
    after = scrape(srv.mport)[0]
    assert (value(after, "newsroom_cache_hits_total")
            > value(before, "newsroom_cache_hits_total"))
    assert value(after, "newsroom_cache_entries") >= 1
    assert value(after, "newsroom_cache_bytes") > 0
    ratio = value(after, "newsroom_cache_hit_ratio")
    hits = value(after, "newsroom_cache_hits_total")
    misses = value(after, "newsroom_cache_misses_total")
    assert ratio > 0
    assert abs(ratio - hits / (hits + misses)) < 1e-3


def test_live_stream_gauge(srv):
    base = value(scrape(srv.mport)[0], "newsroom_live_streams")
    s = SSE(srv.port)
    try:
        assert s.status == 200
        opened = wait_for(srv.mport, lambda x: value(
            x, "newsroom_live_streams") == base + 1)
        assert value(opened, "newsroom_live_streams") == base + 1
        assert value(opened, "newsroom_http_connections") >= 1
    finally:
        s.close()
    closed = wait_for(srv.mport, lambda x: value(
        x, "newsroom_live_streams") == base, timeout=10)
    assert value(closed, "newsroom_live_streams") == base


def test_public_port_has_no_metrics(srv):
    for path in ("/metrics", "/metrics/"):
        status, _, body = srv.get(path)
        assert status in (301, 404), (path, status)
        assert b"newsroom_http_requests_total" not in body
    assert srv.get("/metrics/")[0] == 404
    # and the metrics port serves nothing else
    req = urllib.request.Request(f"http://127.0.0.1:{srv.mport}/")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 404


def test_access_log_on(srv):
    srv.get("/archive/?logged=1")
    end = time.time() + 5
    while "GET /archive/?logged=1 200" not in srv.logtext():
        assert time.time() < end, srv.logtext()
        time.sleep(0.05)


def test_metrics_off_when_empty_and_access_log_off(tmpdir_path):
    d = os.path.join(tmpdir_path, "site")
    assert run("init", d).returncode == 0
    mport = free_port()
    with open(os.path.join(d, "site.conf"), "a") as f:
        # a later empty value turns it off again; access_log stays default
        f.write(f"\nmetrics_listen = 127.0.0.1:{mport}\nmetrics_listen =\n")
    s = Server(d)
    try:
        assert s.get("/")[0] == 200
        time.sleep(0.3)
        assert refused(mport)
        log = s.logtext()
        assert "metrics on" not in log
        assert "GET / 200" not in log
    finally:
        s.stop()


@pytest.mark.parametrize("bad", ["nonsense", "127.0.0.1:99999", "127.0.0.1:"])
def test_bad_metrics_listen_is_one_line_error(tmpdir_path, bad):
    d = os.path.join(tmpdir_path, "site")
    assert run("init", d).returncode == 0
    with open(os.path.join(d, "site.conf"), "a") as f:
        f.write(f"\nmetrics_listen = {bad}\n")
    r = run("serve", d, "--listen", f"127.0.0.1:{free_port()}", timeout=20)
    assert r.returncode != 0
    err = r.stderr.strip()
    assert "metrics_listen" in err and "ADDRESS:PORT" in err, err
    assert len(err.splitlines()) == 1, err


def test_metrics_port_taken_is_an_error(tmpdir_path):
    d = os.path.join(tmpdir_path, "site")
    assert run("init", d).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with open(os.path.join(d, "site.conf"), "a") as f:
            f.write(f"\nmetrics_listen = 127.0.0.1:{port}\n")
        r = run("serve", d, "--listen", f"127.0.0.1:{free_port()}",
                timeout=20)
    assert r.returncode != 0
    assert f"cannot listen on '127.0.0.1:{port}'" in r.stderr, r.stderr
