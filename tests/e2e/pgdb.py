"""PostgreSQL for the end-to-end tests that need it: psql, database URLs
and a fresh database per test. tests/run.py starts a throwaway server and
sets NEWSROOM_TEST_PG (scripts/pg.sh)."""
import os
import subprocess
import urllib.parse
import uuid

import pytest

PG = os.environ.get("NEWSROOM_TEST_PG")


def psql(url, sql):
    """Runs sql on the database at url; returns its output (unaligned)."""
    r = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                        "-d", url, "-c", sql],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def url_for(db):
    """NEWSROOM_TEST_PG with its database name replaced by db."""
    u = urllib.parse.urlsplit(PG)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + db, u.query, ""))


@pytest.fixture()
def pg_db():
    """A fresh empty database; its URL. Dropped afterwards."""
    assert PG, "CI must test PostgreSQL: set NEWSROOM_TEST_PG"
    name = "newsroom_e2e_" + uuid.uuid4().hex[:10]
    # not template1: CREATE DATABASE copies it, and refuses while another
    # session (a parallel test's) is connected to it
    admin = url_for("postgres")
    psql(admin, f"CREATE DATABASE {name}")
    yield url_for(name)
    subprocess.run(["psql", "-X", "-d", admin, "-c",
                    f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                   capture_output=True, timeout=60)
