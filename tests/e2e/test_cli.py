"""The newsroom command line: help, site creation, and one-line errors."""
import os

from conftest import Server, run


def test_help_for_every_command():
    for args in (["--help"], ["init", "--help"], ["serve", "--help"]):
        r = run(*args)
        assert r.returncode == 0
        assert r.stdout.startswith("usage: newsroom")


def test_unknown_command_is_one_line_and_nonzero():
    r = run("publsh")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "unknown command 'publsh'" in r.stderr


def test_missing_dir_and_unknown_option():
    r = run("init")
    assert r.returncode == 2 and "missing DIR" in r.stderr
    r = run("serve", "/nonexistent", "--fast")
    assert r.returncode == 2 and "unknown option '--fast'" in r.stderr


def test_init_creates_site_files(tmpdir_path):
    site = os.path.join(tmpdir_path, "paper")
    r = run("init", site, "--title", "The Test Gazette")
    assert r.returncode == 0, r.stderr
    assert os.path.isfile(os.path.join(site, "site.conf"))
    assert os.path.isfile(os.path.join(site, "newsroom.db"))
    assert os.path.isdir(os.path.join(site, "media"))
    conf = open(os.path.join(site, "site.conf")).read()
    assert "title = The Test Gazette" in conf
    # every key is documented with a comment in the written file
    assert conf.count("\n# ") >= 8


def test_init_refuses_non_empty_dir(tmpdir_path):
    open(os.path.join(tmpdir_path, "precious.txt"), "w").write("keep me")
    r = run("init", tmpdir_path)
    assert r.returncode == 1
    assert "not empty" in r.stderr and r.stderr.count("\n") == 1
    assert open(os.path.join(tmpdir_path, "precious.txt")).read() == "keep me"


def test_serve_missing_site_is_one_line(tmpdir_path):
    r = run("serve", os.path.join(tmpdir_path, "nope"), "--listen",
            "127.0.0.1:0")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "site.conf" in r.stderr


def test_bad_listen_is_refused(tmpdir_path):
    site = os.path.join(tmpdir_path, "s")
    assert run("init", site).returncode == 0
    for bad in ("nonsense", "127.0.0.1:99999", "127.0.0.1:\r\nx"):
        r = run("serve", site, "--listen", bad)
        assert r.returncode == 2 and "bad --listen" in r.stderr


def broken_conf(tmpdir_path, text):
    site = os.path.join(tmpdir_path, "s")
    assert run("init", site).returncode == 0
    with open(os.path.join(site, "site.conf"), "a") as f:
        f.write(text)
    lines = open(os.path.join(site, "site.conf")).read().count("\n")
    return site, lines


def test_broken_conf_key_names_file_line_and_key(tmpdir_path):
    site, line = broken_conf(tmpdir_path, "titel = Oops\n")
    r = run("serve", site, "--listen", "127.0.0.1:0")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1
    assert f"site.conf:{line}: unknown key 'titel'" in r.stderr


def test_bad_conf_values(tmpdir_path):
    cases = {
        "reading_speed = fast\n": "reading_speed",
        "timezone = Mars/Olympus\n": "timezone",
        "timezone = ../../etc/passwd\n": "timezone",
        "url = javascript:alert(1)\n": "url",
        "language = !!\n": "language",
        "no equals sign here\n": "expected 'key = value'",
        "title = \xff\xfe\n": "invalid UTF-8",
    }
    for i, (text, word) in enumerate(cases.items()):
        sub = os.path.join(tmpdir_path, str(i))
        os.mkdir(sub)
        site, line = broken_conf(sub, "")
        with open(os.path.join(site, "site.conf"), "ab") as f:
            f.write(text.encode("latin-1"))
        r = run("serve", site, "--listen", "127.0.0.1:0")
        assert r.returncode == 1, text
        assert f"site.conf:{line + 1}:" in r.stderr and word in r.stderr, r.stderr


def test_conf_defaults_when_keys_missing(tmpdir_path):
    """Every key is optional: an empty site.conf serves with defaults."""
    site = os.path.join(tmpdir_path, "s")
    assert run("init", site).returncode == 0
    open(os.path.join(site, "site.conf"), "w").write("# nothing set\n")
    srv = Server(site)
    try:
        status, _, body = srv.get("/")
        assert status == 200
        assert b"The Newsroom" in body
    finally:
        srv.stop()
