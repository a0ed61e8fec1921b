"""`newsroom user add|passwd|list`: staff accounts from the command line.
Passwords come on standard input; the table never shows a hash; every
refusal is one line with exit 1 (failures) or 2 (usage)."""
import os
import sqlite3
import subprocess

import pytest

from conftest import BIN, run


@pytest.fixture()
def site(tmpdir_path):
    d = os.path.join(tmpdir_path, "site")
    r = run("init", d)
    assert r.returncode == 0, r.stderr
    return d


def user(*args, password=b"correct horse battery\n"):
    """Runs `newsroom user ARGS` with password on stdin (bytes)."""
    return subprocess.run([BIN, "user", *args], input=password,
                          capture_output=True, timeout=60)


def db_path(site):
    for name in os.listdir(site):
        if name.endswith((".db", ".sqlite")):
            return os.path.join(site, name)
    raise AssertionError("no database in " + site)


def staff_rows(site):
    con = sqlite3.connect(db_path(site))
    try:
        return con.execute("SELECT email, name, role, password_hash "
                           "FROM staff ORDER BY id").fetchall()
    finally:
        con.close()


def one_line(stderr):
    text = stderr.decode()
    assert text.startswith("newsroom: ")
    assert text.count("\n") == 1 and text.endswith("\n")
    return text


def test_add_and_list(site):
    r = user("add", site, "--email", " Amy@Example.ORG ", "--name",
             "Amy Lind", "--role", "editor")
    assert r.returncode == 0, r.stderr
    rows = staff_rows(site)
    assert len(rows) == 1
    email, name, role, hash_ = rows[0]
    assert (email, name, role) == ("amy@example.org", "Amy Lind", "editor")
    assert hash_.startswith("$argon2id$")
    assert "correct horse" not in hash_
    r = run("user", "list", site)
    assert r.returncode == 0, r.stderr
    assert "amy@example.org" in r.stdout and "Amy Lind" in r.stdout
    assert "editor" in r.stdout
    assert "argon2" not in r.stdout and "$" not in r.stdout
    assert "correct horse" not in r.stdout


def test_crlf_password_line(site):
    r = user("add", site, "--email", "w@example.org", "--name", "W",
             "--role", "author", password=b"windows line end\r\n")
    assert r.returncode == 0, r.stderr
    assert len(staff_rows(site)) == 1


def test_duplicate_email(site):
    args = ["--name", "Amy", "--role", "author"]
    assert user("add", site, "--email", "amy@example.org", *args).returncode == 0
    r = user("add", site, "--email", "AMY@EXAMPLE.org", *args)
    assert r.returncode == 1
    assert one_line(r.stderr) == ("newsroom: user add: an account with "
                                  "email 'amy@example.org' exists\n")
    assert len(staff_rows(site)) == 1


@pytest.mark.parametrize("args,code,words", [
    (["--email", "a@example.org", "--name", "A", "--role", "boss"], 2,
     "unknown role"),
    (["--email", "not-an-email", "--name", "A", "--role", "author"], 1,
     "'@'"),
    (["--email", "a b@example.org", "--name", "A", "--role", "author"], 1,
     "spaces"),
    (["--email", "x" * 65 + "@example.org", "--name", "A", "--role",
      "author"], 1, "before '@'"),
    (["--name", "A", "--role", "author"], 2, "--email is required"),
    (["--email", "a@example.org", "--role", "author"], 2,
     "--name is required"),
])
def test_bad_input(site, args, code, words):
    r = user("add", site, *args)
    assert r.returncode == code
    assert words in one_line(r.stderr)
    assert staff_rows(site) == []


def test_short_password(site):
    r = user("add", site, "--email", "a@example.org", "--name", "A",
             "--role", "author", password=b"short\n")
    assert r.returncode == 1
    assert one_line(r.stderr) == ("newsroom: user add: password too short: "
                                  "at least 12 characters\n")
    r = user("add", site, "--email", "a@example.org", "--name", "A",
             "--role", "author", password=b"")
    assert r.returncode == 1
    assert staff_rows(site) == []


def test_hostile_input(site):
    r = user("add", site, "--email", "a@example.org", "--name",
             "Amy\r\nX-Evil: 1", "--role", "author")
    assert r.returncode == 1
    one_line(r.stderr)
    r = subprocess.run([BIN, "user", "add", site, "--email", "a@example.org",
                        "--name", b"Amy \xc3(", "--role", "author"],
                       input=b"correct horse battery\n", capture_output=True,
                       timeout=60)
    assert r.returncode == 1
    one_line(r.stderr)
    r = user("add", site, "--email", "a@example.org", "--name", "A",
             "--role", "author", password=b"broken \xc3\x28 utf8 pass\n")
    assert r.returncode == 1
    assert "UTF-8" in one_line(r.stderr)
    r = user("add", site, "--email", "a@example.org", "--name", "A",
             "--role", "author", password=b"nul \x00 inside password\n")
    assert r.returncode == 1
    one_line(r.stderr)
    r = user("add", site, "--email", "a@example.org", "--name", "A",
             "--role", "author", password=b"p" * 5000 + b"\n")
    assert r.returncode == 1
    assert "too long" in one_line(r.stderr)
    assert staff_rows(site) == []


def test_passwd_changes_hash(site):
    assert user("add", site, "--email", "amy@example.org", "--name", "Amy",
                "--role", "author").returncode == 0
    before = staff_rows(site)[0][3]
    r = user("passwd", site, "--email", "amy@example.org",
             password=b"a brand new secret\n")
    assert r.returncode == 0, r.stderr
    after = staff_rows(site)[0][3]
    assert after != before and after.startswith("$argon2id$")
    r = user("passwd", site, "--email", "amy@example.org",
             password=b"tiny\n")
    assert r.returncode == 1
    assert "too short" in one_line(r.stderr)
    assert staff_rows(site)[0][3] == after
    r = user("passwd", site, "--email", "nobody@example.org")
    assert r.returncode == 1
    assert "no account" in one_line(r.stderr)


def test_help_and_usage(site):
    for verb in ("add", "passwd", "list"):
        r = run("user", verb, "--help")
        assert r.returncode == 0 and "usage: newsroom user" in r.stdout
    r = run("user")
    assert r.returncode == 2
    r = run("user", "frobnicate", site)
    assert r.returncode == 2
    assert "unknown action" in r.stderr
    r = run("--help")
    assert "user add|passwd|list" in r.stdout
