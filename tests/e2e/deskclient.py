"""Shared by the desk's end-to-end tests: staff accounts made with the CLI,
a browser-like client (cookies, and the CSRF token of the last page it
read), and small database readers."""
import os
import re
import sqlite3
import subprocess

import requests

from conftest import BIN

PASSWORD = "correct horse battery staple"
ROLES = ["contributor", "author", "editor", "administrator"]


def db(site):
    return sqlite3.connect(os.path.join(site, "newsroom.db"))


def q1(site, sql, *args):
    con = db(site)
    try:
        return con.execute(sql, args).fetchone()
    finally:
        con.close()


def qall(site, sql, *args):
    con = db(site)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def add_user(site, email, role, name=None):
    r = subprocess.run([BIN, "user", "add", site, "--email", email, "--name",
                        name or role.title() + " Person", "--role", role],
                       input=(PASSWORD + "\n").encode(), capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr


class Desk:
    """A browser-like client: cookies, and the CSRF token of the last page."""

    def __init__(self, server):
        self.s = requests.Session()
        self.base = server.base
        self.csrf = None

    def get(self, path, **kw):
        r = self.s.get(self.base + path, allow_redirects=kw.pop("follow", True),
                       timeout=20, **kw)
        m = re.search(r'name="csrf" value="([0-9a-f]{64})"', r.text)
        if m:
            self.csrf = m.group(1)
        return r

    def post(self, path, data=None, files=None, csrf=True, follow=False):
        data = dict(data or {})
        if csrf is True:
            data.setdefault("csrf", self.csrf)
        elif csrf:
            data["csrf"] = csrf
        return self.s.post(self.base + path, data=data, files=files,
                           allow_redirects=follow, timeout=60)

    def sign_in(self, email, password=PASSWORD):
        self.get("/desk")
        r = self.post("/desk/signin", {"email": email, "password": password})
        if r.status_code == 303:
            self.get("/desk/")
        return r


def desk_as(srv, role):
    """A client signed in as ROLE@example.org (made with add_user)."""
    d = Desk(srv)
    r = d.sign_in(role + "@example.org")
    assert r.status_code == 303, r.text
    return d
