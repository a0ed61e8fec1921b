#!/usr/bin/python3
"""Runs every test of newsroom and ends with one line "N passed, N failed".

Usage: tests/run.py UNIT_BINARY...
Unit binaries (tests/unit/, built by make) print one "ok - ..." or
"not ok - ..." line per check. Before them a throwaway PostgreSQL server
is started with scripts/pg.sh (stopped after them and the end-to-end
tests) and its URL given to the tests as NEWSROOM_TEST_PG, so the test_store*
binaries run the store contract on PostgreSQL as well as SQLite; a server that cannot be started is a
failure, not a skip (an already set NEWSROOM_TEST_PG is used as it is).
The unit binaries run one per core at once. The end-to-end suite in
tests/e2e/ runs under pytest (four files at a time with pytest-xdist;
NEWSROOM_TEST_WORKERS=0 for one at a time; the files in SERIAL alone
afterwards), and the browser
suite in tests/browser/ under node's test runner with Debian's Chromium,
and the Content API suite in tests/api/ (Ghost's own npm client) under
node's test runner too (NEWSROOM_TEST_WORKERS files at once), all
against the real binary ($NEWSROOM_BIN,
default build/newsroom);
each test there counts once.
Under `make asan` every process (unit tests, servers, CLI runs) writes its
sanitizer reports to files under $NEWSROOM_SANITIZER_LOGS instead of a
stderr nobody reads (a server's leak report comes at its exit, after its
test passed): each report found there at the end is one failure, printed.
Run from the repository root. Exit status 0 only when nothing failed.
"""
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

passed = failed = skipped = 0


def run_unit(binary):
    """Runs one unit binary; returns (name, process or None if it timed
    out)."""
    try:
        return binary, subprocess.run([binary], capture_output=True,
                                      text=True, errors="replace",
                                      timeout=600)
    except subprocess.TimeoutExpired:
        return binary, None


def count_unit(binary, proc):
    """Prints and counts what one unit binary said."""
    global passed, failed
    name = os.path.basename(binary)
    if proc is None:
        print(f"FAIL {name}: timed out")
        failed += 1
        return
    ok = len(re.findall(r"^ok - ", proc.stdout, re.M))
    bad = re.findall(r"^not ok - .*(?:\n#.*)*", proc.stdout, re.M)
    for line in bad:
        print(f"FAIL {name}: {line}")
    if proc.returncode != 0 and not bad:
        print(f"FAIL {name}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
        bad = [1]
    print(f"{name}: {ok} passed, {len(bad)} failed")
    passed += ok
    failed += len(bad)


def start_postgresql():
    """Starts scripts/pg.sh; returns its data directory, or None."""
    global failed
    if os.environ.get("NEWSROOM_TEST_PG"):
        return None
    if not shutil.which("pg_ctl") and not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        print("FAIL postgresql: pg_ctl not found (install the postgresql "
              "package: scripts/deps.sh test); the store contract runs on "
              "SQLite only")
        failed += 1
        return None
    # in /tmp, not $TMPDIR: the server's user (postgres, when we are root)
    # must reach it
    datadir = tempfile.mkdtemp(prefix="newsroom-pg-", dir="/tmp")
    try:
        proc = subprocess.run(["sh", "scripts/pg.sh", "start", datadir],
                              capture_output=True, text=True, errors="replace",
                              timeout=120)
    except subprocess.TimeoutExpired:
        proc = None
    url = proc.stdout.strip().splitlines()[-1] if proc and proc.stdout.strip() else ""
    if not proc or proc.returncode != 0 or not url.startswith("postgresql://"):
        why = proc.stderr[-2000:] if proc else "scripts/pg.sh timed out"
        print(f"FAIL postgresql: cannot start a test server\n{why}")
        failed += 1
        stop_postgresql(datadir)
        return None
    os.environ["NEWSROOM_TEST_PG"] = url
    return datadir


def stop_postgresql(datadir):
    if datadir and os.path.isdir(datadir):
        subprocess.run(["sh", "scripts/pg.sh", "stop", datadir],
                       capture_output=True, timeout=60)
        shutil.rmtree(datadir, ignore_errors=True)


# End-to-end files that measure latency or timing under load: they run
# alone, after the others, so parallel tests do not load the machine under
# them (test_pg_outage.py: readers get 503 within half a second of the
# database going away, which a loaded machine under ASan can miss).
SERIAL = ["tests/e2e/test_abuse.py", "tests/e2e/test_pg_outage.py"]
# Parallel pytest workers (pytest-xdist, --dist loadfile: a file's tests
# share one worker and its session fixtures). Most of the suite waits on
# servers, timers and mail, so more workers than cores pays; 0 = serial.
WORKERS = int(os.environ.get("NEWSROOM_TEST_WORKERS", "4"))


def pytest_once(tmp, name, targets, extra):
    """Runs pytest over targets; adds its junit counts to the totals."""
    global passed, failed, skipped
    xml = os.path.join(tmp, name + ".xml")
    args = ["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "--durations=12", f"--junitxml={xml}", *extra, *targets]
    proc = subprocess.run(args)
    if not os.path.exists(xml):
        print(f"FAIL pytest ({name}): no report")
        failed += 1
        return
    root = ET.parse(xml).getroot()
    for suite in root.iter("testsuite"):
        t = int(suite.get("tests", 0))
        f = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        s = int(suite.get("skipped", 0))
        passed += t - f - s
        failed += f
        skipped += s
    if proc.returncode not in (0, 1, 5):
        print(f"FAIL pytest ({name}): exit {proc.returncode}")
        failed += 1


def run_pytest():
    try:
        import xdist  # noqa: F401  (python3-pytest-xdist)
        workers = WORKERS
    except ImportError:
        workers = 0
    parallel = ["-n", str(workers), "--dist", "loadfile"] if workers else []
    ignore = [f"--ignore={f}" for f in SERIAL]
    with tempfile.TemporaryDirectory() as tmp:
        pytest_once(tmp, "e2e", ["tests/e2e"], parallel + ignore)
        pytest_once(tmp, "e2e-serial", [f for f in SERIAL if os.path.exists(f)], [])


def run_node(folder, label, timeout):
    """node's test runner over FOLDER/*.test.mjs (TAP summary), counted
    under LABEL: tests/browser (the pages in Debian's Chromium) and
    tests/api (Ghost's official @tryghost/content-api client against our
    Content API)."""
    global passed, failed
    tests = sorted(f for f in os.listdir(folder) if f.endswith(".test.mjs"))
    # files at once: each starts its own server (and browser), and most of
    # their time is waiting on pages and timers
    concurrency = [f"--test-concurrency={WORKERS}"] if WORKERS else []
    proc = subprocess.run(["node", "--test", "--test-reporter=tap",
                           *concurrency,
                           *[os.path.join(folder, t) for t in tests]],
                          capture_output=True, text=True, errors="replace",
                          timeout=timeout)
    for line in re.findall(r"^\s*not ok \d+ - .*", proc.stdout, re.M):
        print(f"FAIL {label}: {line.strip()}")
    p = re.search(r"^# pass (\d+)", proc.stdout, re.M)
    f = re.search(r"^# fail (\d+)", proc.stdout, re.M)
    if not p or not f:
        print(f"FAIL {label}: no summary\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
        failed += 1
        return
    if int(f.group(1)):
        print(proc.stdout[-6000:])
    print(f"{label}: {p.group(1)} passed, {f.group(1)} failed")
    passed += int(p.group(1))
    failed += int(f.group(1))


def check_sanitizer_logs():
    """One failure per sanitizer report left in $NEWSROOM_SANITIZER_LOGS
    (ASAN_OPTIONS / UBSAN_OPTIONS log_path, set by make asan)."""
    global failed
    folder = os.environ.get("NEWSROOM_SANITIZER_LOGS")
    if not folder or not os.path.isdir(folder):
        return
    reports = sorted(glob.glob(os.path.join(folder, "*")))
    for path in reports:
        with open(path, errors="replace") as f:
            text = f.read()
        if not text.strip():
            continue
        print(f"FAIL sanitizer report {os.path.basename(path)}:\n"
              + "\n".join(text.splitlines()[:60]))
        failed += 1
    print(f"sanitizers: {len(reports)} report(s)")


def main():
    pgdata = start_postgresql()
    try:
        # the binaries are independent (each its own temporary folders
        # and PostgreSQL databases): as many at once as there are cores,
        # reported in the order given
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as ex:
            for b, proc in ex.map(run_unit, sys.argv[1:]):
                count_unit(b, proc)
        # the end-to-end tests use SQLite, except those that take
        # NEWSROOM_TEST_PG (tests/e2e/test_migrate.py: migrate, two nodes)
        if os.path.isdir("tests/e2e"):
            run_pytest()
    finally:
        stop_postgresql(pgdata)
        if pgdata:
            os.environ.pop("NEWSROOM_TEST_PG", None)
    if os.path.isdir("tests/browser"):
        run_node("tests/browser", "browser", 900)
    if os.path.isdir("tests/api"):
        run_node("tests/api", "api", 300)
    check_sanitizer_logs()
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{passed} passed, {failed} failed{tail}")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
