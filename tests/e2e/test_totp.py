"""End-to-end: TOTP sign-in codes for staff (RFC 6238), on a real server.

Codes are computed here with hmac/hashlib, independently of the C code:
a person turns codes on at /desk/security/, then signing in takes the
password and a code; codes cannot be replayed, wrong codes count towards
the sign-in limits, and when the site requires codes of administrators an
administrator without them is sent to set them up first."""
import base64
import hashlib
import hmac
import os
import re
import shutil
import struct
import tempfile
import time

import pytest

from conftest import Server, run
from deskclient import PASSWORD, Desk, add_user, desk_as, q1


def totp(secret_b32, step, digits=6):
    """RFC 6238 / RFC 4226 with HMAC-SHA1."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    n = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return str(n % 10 ** digits).zfill(digits)


def test_python_totp_matches_rfc6238():
    # RFC 6238 Appendix B, SHA1, 8 digits: checks the test's own helper
    key = base64.b32encode(b"12345678901234567890").decode()
    assert totp(key, 59 // 30, 8) == "94287082"
    assert totp(key, 1111111109 // 30, 8) == "07081804"
    assert totp(key, 20000000000 // 30, 8) == "65353130"


def now_step():
    return int(time.time()) // 30


@pytest.fixture(scope="module")
def template_site():
    tmp = tempfile.mkdtemp(prefix="newsroom-totp-")
    d = os.path.join(tmp, "site")
    r = run("init", d)
    assert r.returncode == 0, r.stderr
    for role in ("editor", "administrator"):
        add_user(d, role + "@example.org", role)
    yield d
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture()
def srv(template_site, tmpdir_path):
    d = os.path.join(tmpdir_path, "site")
    shutil.copytree(template_site, d)
    s = Server(d)
    yield s
    s.stop()


def enrol(d):
    """Turns codes on for the signed-in client; returns the secret and
    the step whose code was used."""
    page = d.get("/desk/security/")
    assert page.status_code == 200
    secret = re.search(r'id="secret-text">([A-Z2-7]{32})<', page.text).group(1)
    uri = re.search(r'href="(otpauth://[^"]+)"', page.text).group(1)
    assert uri.startswith("otpauth://totp/")
    assert "secret=" + secret in uri and "period=30" in uri
    bad = d.post("/desk/security/", {"action": "enable", "secret": secret,
                                     "code": "000000" if totp(secret, now_step()) != "000000" else "111111"})
    assert bad.status_code == 400 and "does not match" in bad.text
    step = now_step()
    r = d.post("/desk/security/", {"action": "enable", "secret": secret,
                                   "code": totp(secret, step)})
    assert r.status_code == 303 and r.headers["Location"].endswith("done=on")
    return secret, step


def password_step(srv, email):
    """A fresh browser that typed the right password: (client, response)."""
    d = Desk(srv)
    d.get("/desk")
    r = d.post("/desk/signin", {"email": email, "password": PASSWORD})
    return d, r


def pending_of(text):
    return re.search(r'name="pending" value="([^"]+)"', text).group(1)


def test_code_sign_in(srv):
    ed = desk_as(srv, "editor")
    secret, used = enrol(ed)
    assert q1(srv.dir, "SELECT totp_secret FROM staff WHERE email = ?",
              "editor@example.org")[0] == secret

    # the password alone no longer signs in: the code form comes instead
    d, r = password_step(srv, "editor@example.org")
    assert r.status_code == 200 and 'action="/desk/signin/code"' in r.text
    assert "nr_session" not in d.s.cookies
    assert d.get("/desk/posts/new/", follow=False).status_code == 303
    pending = pending_of(r.text)
    form_cookie = d.s.cookies.get("nr_signin")

    wrong = d.post("/desk/signin/code", {"pending": pending, "code": "12345x"})
    assert wrong.status_code == 401 and "attempts left" in wrong.text

    # the code the app shows next (the enrolment's own code is used up)
    step = max(used + 1, now_step())
    code = totp(secret, step)
    ok = d.post("/desk/signin/code", {"pending": pending, "code": code})
    assert ok.status_code == 303, ok.text
    assert "nr_session" in d.s.cookies
    assert d.get("/desk/posts/new/", follow=False).status_code == 200

    # the same pending token does not sign in twice, even for someone who
    # copied the browser's sign-in cookie and a later code
    assert d.post("/desk/signin/code", {
        "pending": pending, "code": totp(secret, step + 1)}).status_code == 403
    thief = Desk(srv)
    thief.s.cookies.set("nr_signin", form_cookie)
    again = thief.post("/desk/signin/code", {"pending": pending,
                                             "code": totp(secret, step + 1)},
                       csrf=form_cookie)
    assert again.status_code == 401 and "Sign in again" in again.text
    assert "nr_session" not in thief.s.cookies

    # the same code does not sign in twice (replay), in another browser
    d2, r2 = password_step(srv, "editor@example.org")
    replay = d2.post("/desk/signin/code", {"pending": pending_of(r2.text),
                                           "code": code})
    assert replay.status_code == 401 and "nr_session" not in d2.s.cookies

    # a pending token is bound to the browser that typed the password
    d3 = Desk(srv)
    d3.get("/desk")
    stolen = d3.post("/desk/signin/code", {"pending": pending_of(r2.text),
                                           "code": totp(secret, step + 1)})
    assert stolen.status_code == 401 and "nr_session" not in d3.s.cookies


def test_wrong_codes_are_rate_limited(srv):
    ed = desk_as(srv, "editor")
    secret, used = enrol(ed)
    d, r = password_step(srv, "editor@example.org")
    pending = pending_of(r.text)
    for _ in range(5):
        d.post("/desk/signin/code", {"pending": pending, "code": "999999"
                                     if totp(secret, now_step()) != "999999"
                                     else "888888"})
    right = d.post("/desk/signin/code",
                   {"pending": pending,
                    "code": totp(secret, max(used + 1, now_step()))})
    assert right.status_code == 429 and "paused" in right.text
    assert "nr_session" not in d.s.cookies


def test_turn_off_needs_a_code(srv):
    ed = desk_as(srv, "editor")
    secret, used = enrol(ed)
    bad = ed.post("/desk/security/", {"action": "disable", "code": "000000"
                                      if totp(secret, now_step()) != "000000"
                                      else "111111"})
    assert bad.status_code == 400
    r = ed.post("/desk/security/", {"action": "disable",
                                    "code": totp(secret, max(used + 1,
                                                             now_step()))})
    assert r.status_code == 303
    assert q1(srv.dir, "SELECT totp_secret FROM staff WHERE email = ?",
              "editor@example.org")[0] is None
    d, r = password_step(srv, "editor@example.org")
    assert r.status_code == 303, "the password alone signs in again"


def test_required_for_administrators(srv):
    admin = desk_as(srv, "administrator")
    ed = desk_as(srv, "editor")
    assert ed.post("/desk/security/", {"action": "require",
                                       "require": "on"}).status_code == 403
    r = admin.post("/desk/security/", {"action": "require", "require": "on"})
    assert r.status_code == 303
    # the administrator is now held at the security page
    home = admin.get("/desk/", follow=False)
    assert home.status_code == 303
    assert home.headers["Location"] == "/desk/security/"
    assert admin.get("/desk/staff/", follow=False).headers["Location"] == \
        "/desk/security/"
    page = admin.get("/desk/security/")
    assert "requires administrators" in page.text
    # a fresh sign-in goes to enrolment too
    d, r = password_step(srv, "administrator@example.org")
    assert r.status_code == 303
    assert r.headers["Location"] == "/desk/security/"
    # editors are not held
    assert ed.get("/desk/", follow=False).status_code == 200

    secret, used = enrol(admin)
    assert admin.get("/desk/staff/", follow=False).status_code == 200
    off = admin.post("/desk/security/", {"action": "disable",
                                         "code": totp(secret, used + 1)})
    assert off.status_code == 403, "required codes cannot be turned off"
    audit = admin.get("/desk/audit/").text
    assert "site.totp_required" in audit and "staff.totp_on" in audit


def test_lost_authenticator_reset_from_the_command_line(srv):
    ed = desk_as(srv, "editor")
    enrol(ed)
    d, r = password_step(srv, "editor@example.org")
    assert 'action="/desk/signin/code"' in r.text, "codes are on"

    out = run("user", "totp-reset", srv.dir, "Editor@Example.org")
    assert out.returncode == 0, out.stderr
    assert "removed the sign-in codes of editor@example.org" in out.stdout
    assert q1(srv.dir, "SELECT totp_secret FROM staff WHERE email = ?",
              "editor@example.org")[0] is None
    # the password alone signs in again, and a new device can be set up
    d, r = password_step(srv, "editor@example.org")
    assert r.status_code == 303, r.text
    d.get("/desk/")
    enrol(d)
    # the command line's reset is in the audit log
    admin = desk_as(srv, "administrator")
    assert "staff.totp_reset" in admin.get("/desk/audit/").text

    again = run("user", "totp-reset", srv.dir, "nobody@example.org")
    assert again.returncode != 0
    assert again.stderr.strip().count("\n") == 0
    assert "no desk account 'nobody@example.org'" in again.stderr
    assert run("user", "totp-reset", srv.dir).returncode == 2


def test_lost_authenticator_reset_by_an_administrator(srv):
    admin = desk_as(srv, "administrator")
    ed = desk_as(srv, "editor")
    enrol(ed)
    ed_id = q1(srv.dir, "SELECT id FROM staff WHERE email = ?",
               "editor@example.org")[0]
    admin_id = q1(srv.dir, "SELECT id FROM staff WHERE email = ?",
                  "administrator@example.org")[0]

    page = admin.get("/desk/staff/")
    assert 'value="totp-reset"' in page.text
    # CSRF-protected like every desk form
    forged = admin.post(f"/desk/staff/{ed_id}/", {"action": "totp-reset"},
                        csrf="0" * 64)
    assert forged.status_code == 403
    # an editor cannot
    assert ed.post(f"/desk/staff/{ed_id}/",
                   {"action": "totp-reset"}).status_code == 403
    assert q1(srv.dir, "SELECT totp_secret FROM staff WHERE id = ?",
              ed_id)[0] is not None

    admin.get("/desk/staff/")
    r = admin.post(f"/desk/staff/{ed_id}/", {"action": "totp-reset"})
    assert r.status_code == 200 and "Sign-in codes removed" in r.text
    assert q1(srv.dir, "SELECT totp_secret FROM staff WHERE id = ?",
              ed_id)[0] is None
    d, r = password_step(srv, "editor@example.org")
    assert r.status_code == 303, "the password alone signs in again"
    audit = admin.get("/desk/audit/").text
    assert "staff.totp_reset" in audit and "editor@example.org" in audit

    # an administrator's own codes come off only under Security, with a code
    secret, used = enrol(admin)
    admin.get("/desk/staff/")
    own = admin.post(f"/desk/staff/{admin_id}/", {"action": "totp-reset"})
    assert own.status_code == 403 and "/desk/security/" in own.text
    assert q1(srv.dir, "SELECT totp_secret FROM staff WHERE id = ?",
              admin_id)[0] == secret
