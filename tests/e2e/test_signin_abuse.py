"""End-to-end: credential stuffing against the desk's sign-in, on a real
server (content/session.h).

An attacker spread over 59 loopback addresses (127.0.0.2 .. 127.0.0.60:
all of 127/8 is loopback on Linux) guesses the editor's password and the
passwords of many other addresses. The account is paused for browsers it
has not been used from, the number of guesses the attacker gets is
bounded, yet the editor, whose browser signed in before (it holds the
device cookie nr_device), still signs in. One address guessing many
accounts is stopped too, and a forged X-Forwarded-For changes nothing: the
client address is the socket's peer. A session cookie planted before sign-in
is never the session after it (no session fixation)."""
import http.client
import os
import re
import secrets
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
import requests

from conftest import Server, run
from deskclient import PASSWORD, Desk, add_user

EDITOR = "editor@example.org"
MAX_ACCOUNT = 5   # SIGNIN_MAX_ACCOUNT in src/core/bounds.h
MAX_DEVICE = 5    # SIGNIN_MAX_DEVICE
MAX_ADDRESS = 20  # SIGNIN_MAX_ADDRESS


@pytest.fixture()
def srv(tmpdir_path):
    d = os.path.join(tmpdir_path, "site")
    r = run("init", d)
    assert r.returncode == 0, r.stderr
    add_user(d, EDITOR, "editor")
    s = Server(d)
    yield s
    s.stop()


def attempt(srv, ip, email, password, headers=None, cookies=""):
    """One sign-in POST from source address ip, as a script would send it
    (it makes up its own double-submit token): (status, body, headers)."""
    tok = secrets.token_hex(32)
    body = urlencode({"email": email, "password": password, "csrf": tok})
    h = {"Content-Type": "application/x-www-form-urlencoded",
         "Cookie": f"nr_signin={tok}" + (f"; {cookies}" if cookies else "")}
    h.update(headers or {})
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30,
                                   source_address=(ip, 0))
    try:
        c.request("POST", "/desk/signin", body, h)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace"), r.getheaders()
    finally:
        c.close()


def set_cookies(headers):
    """The Set-Cookie values of a list of (name, value) headers or of a
    requests response."""
    if hasattr(headers, "raw"):
        return headers.raw.headers.getlist("Set-Cookie")
    return [v for k, v in headers if k.lower() == "set-cookie"]


def test_stuffing_pauses_strangers_not_the_owner(srv):
    # the owner signs in from their browser before the attack
    owner = Desk(srv)
    assert owner.sign_in(EDITOR).status_code == 303
    device = owner.s.cookies.get("nr_device")
    assert device, "a successful sign-in leaves a device cookie"

    # the attack: 59 addresses, three wrong passwords each for the editor
    # and one guess each at another account
    ips = [f"127.0.0.{i}" for i in range(2, 61)]
    jobs = []
    for ip in ips:
        for k in range(3):
            jobs.append((ip, EDITOR, f"guess-{ip}-{k}"))
        jobs.append((ip, f"someone{ip.split('.')[-1]}@example.org",
                     "password123456"))
    with ThreadPoolExecutor(8) as pool:
        res = list(pool.map(lambda j: (j, attempt(srv, *j)), jobs))

    on_editor = [r for (j, r) in res if j[1] == EDITOR]
    checked = [r for r in on_editor if r[0] == 401]
    paused = [r for r in on_editor if r[0] == 429]
    # the password was really tried at most SIGNIN_MAX_ACCOUNT times;
    # every other guess was refused unread
    assert 1 <= len(checked) <= MAX_ACCOUNT, len(checked)
    assert len(paused) == len(on_editor) - len(checked)
    assert all("browsers it has not been used from" in r[1] for r in paused)
    assert all(s != 303 for (s, _, _) in (r for (_, r) in res))

    # during the attack: the owner's browser signs in with the password
    back = Desk(srv)  # the same browser, its session since ended
    back.s.cookies.set("nr_device", device, path="/desk")
    again = back.sign_in(EDITOR)
    assert again.status_code == 303, again.text
    assert back.get("/desk/posts/new/", follow=False).status_code == 200

    # a browser the account was never used from is paused, right password
    # or not, and told why
    stranger = Desk(srv)
    r = stranger.sign_in(EDITOR)
    assert r.status_code == 429
    assert re.search(r"paused for \d+ minutes for browsers it has not been "
                     r"used from", r.text)
    assert "nr_session" not in stranger.s.cookies

    # a cookie of the right form but forged (wrong MAC) is no device cookie
    forged = device.rsplit(".", 1)[0] + "." + "0" * 64
    s, body, _ = attempt(srv, "127.0.0.70", EDITOR, PASSWORD,
                         cookies=f"nr_device={forged}")
    assert s == 429 and "not been used from" in body

    # the attack goes on: still nothing but pauses
    for ip in ips[:10]:
        assert attempt(srv, ip, EDITOR, "still-guessing")[0] == 429


def test_stolen_device_cookie_buys_few_guesses(srv):
    owner = Desk(srv)
    assert owner.sign_in(EDITOR).status_code == 303
    device = owner.s.cookies.get("nr_device")
    statuses = [attempt(srv, "127.0.0.80", EDITOR, f"wrong-{i}",
                        cookies=f"nr_device={device}")[0]
                for i in range(MAX_DEVICE + 3)]
    assert statuses[:MAX_DEVICE] == [401] * MAX_DEVICE
    assert set(statuses[MAX_DEVICE:]) == {429}
    s, body, _ = attempt(srv, "127.0.0.81", EDITOR, PASSWORD,
                         cookies=f"nr_device={device}")
    assert s == 429 and "from this browser" in body
    # the device's guesses did not pause the account for everybody else
    fresh = Desk(srv)
    assert fresh.sign_in(EDITOR).status_code == 303


def test_one_address_many_accounts_and_forged_forwarded_for(srv):
    ip = "127.0.0.90"
    got = [attempt(srv, ip, f"victim{i}@example.org", "password123456")[0]
           for i in range(MAX_ADDRESS + 3)]
    assert got[:MAX_ADDRESS] == [401] * MAX_ADDRESS
    assert set(got[MAX_ADDRESS:]) == {429}
    # claiming to be someone else behind a proxy resets nothing
    for fake in ("10.9.9.9", "127.0.0.91", "10.1.1.1, 10.2.2.2"):
        s, body, _ = attempt(srv, ip, f"other@example.org", "password123456",
                             headers={"X-Forwarded-For": fake,
                                      "X-Real-IP": fake,
                                      "Forwarded": f"for={fake}"})
        assert s == 429 and "from your network address" in body
    # the right password from that address is refused too, but the same
    # account from another address is not
    assert attempt(srv, ip, EDITOR, PASSWORD)[0] == 429
    assert attempt(srv, "127.0.0.92", EDITOR, PASSWORD)[0] == 303


def test_no_session_fixation(srv):
    planted = secrets.token_hex(32)
    d = Desk(srv)
    d.get("/desk")
    d.s.cookies.set("nr_session", planted, path="/desk")
    r = d.post("/desk/signin", {"email": EDITOR, "password": PASSWORD})
    assert r.status_code == 303
    new = [c for c in set_cookies(r)
           if c.startswith("nr_session=")]
    assert len(new) == 1
    token = new[0].split(";")[0].split("=", 1)[1]
    assert re.fullmatch(r"[0-9a-f]{64}", token) and token != planted
    # the planted value is no session; the issued one is
    v = Desk(srv)
    v.s.cookies.set("nr_session", planted, path="/desk")
    assert v.get("/desk/posts/new/", follow=False).status_code == 303
    w = Desk(srv)
    w.s.cookies.set("nr_session", token, path="/desk")
    assert w.get("/desk/posts/new/", follow=False).status_code == 200
    # a second sign-in in the same (signed-in) browser gets yet another
    # token: the one it holds is not kept
    form = secrets.token_hex(32)
    d.s.cookies.set("nr_signin", form, path="/desk")
    r2 = d.post("/desk/signin", {"email": EDITOR, "password": PASSWORD},
                csrf=form)
    assert r2.status_code == 303
    tok2 = [c for c in set_cookies(r2)
            if c.startswith("nr_session=")][0].split(";")[0].split("=", 1)[1]
    assert tok2 not in (token, planted)


def test_device_cookie_attributes(srv):
    d = Desk(srv)
    d.get("/desk")
    r = d.post("/desk/signin", {"email": EDITOR, "password": PASSWORD})
    assert r.status_code == 303
    dev = [c for c in set_cookies(r)
           if c.startswith("nr_device=")]
    assert len(dev) == 1
    attrs = dev[0].lower()
    assert "httponly" in attrs and "samesite=strict" in attrs
    assert "path=/desk" in attrs and "max-age=" in attrs
    # behind TLS (a proxy says so) it is Secure
    tok = secrets.token_hex(32)
    r2 = requests.post(srv.base + "/desk/signin",
                       data={"email": EDITOR, "password": PASSWORD,
                             "csrf": tok},
                       headers={"X-Forwarded-Proto": "https",
                                "Cookie": f"nr_signin={tok}"},
                       allow_redirects=False, timeout=20)
    assert r2.status_code == 303
    assert any(c.startswith("nr_device=") and "; secure" in c.lower()
               for c in set_cookies(r2))
