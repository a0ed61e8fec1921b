"""The desk's newsletter pages over HTTP: newsletters (create, edit, the
administrators-only rule), subscriber CSV import and export, sending an
issue and following its delivery to .eml files, and the subscribers page
(search, filters, the confirmations chart). Each test runs the real binary
on a fresh demo site, reads the pages as a journalist would, and checks
that a refused action changed nothing in the database."""
import csv
import glob
import io
import json
import os
import re
import shutil
import tempfile
import time

import pytest
from bs4 import BeautifulSoup

from conftest import Server, staff_site
from deskclient import db, desk_as, q1, qall

@pytest.fixture(scope="module")
def template_site():
    """A demo site (with its two newsletters) and one account per role,
    made once and copied per test."""
    tmp = tempfile.mkdtemp(prefix="newsroom-deskmail-")
    d = staff_site(tmp)
    # mail links must be https (RFC 8058 one-click unsubscribe)
    conf = os.path.join(d, "site.conf")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(re.sub(r"(?m)^url = .*$", "url = https://news.example.org",
                       text))
    yield d
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture()
def site(template_site, tmpdir_path):
    d = os.path.join(tmpdir_path, "site")
    shutil.copytree(template_site, d)
    return d


@pytest.fixture()
def srv(site):
    s = Server(site, env={"NEWSROOM_JOB_TICK_MS": "200"})
    yield s
    s.stop()


def soup(r):
    return BeautifulSoup(r.text, "html.parser")


def newsletter_form(**over):
    data = {"name": "Evening Edition", "slug": "evening-edition",
            "description": "The day in five stories.",
            "sender_name": "The Evening Desk",
            "sender_email": "evening@example.org", "author": "",
            "active": "1", "position": "3"}
    data.update(over)
    return data


def newsletter_row(site, slug):
    return q1(site, "SELECT id, name, sender_name, sender_email, active, "
                    "position, description FROM newsletters WHERE slug = ?",
              slug)


def import_csv(d, text, newsletter="", confirm=False):
    d.get("/desk/subscribers/")
    data = {"newsletter": newsletter}
    if confirm:
        data["confirm"] = "1"
    return d.post("/desk/subscribers/import", data,
                  files={"csv": ("list.csv", text.encode(), "text/csv")})


# ---- newsletters ------------------------------------------------------------

def test_admin_creates_and_edits_newsletter(srv):
    d = desk_as(srv, "administrator")
    page = d.get("/desk/newsletters/")
    assert page.status_code == 200
    rows = {tr["data-slug"] for tr in soup(page).select("table.newsletters "
                                                        "tr[data-slug]")}
    assert rows == {"morning-brief", "explaining-the-war"}
    authors = soup(page).select("#nl0-author option")
    talia = [o for o in authors if "Talia" in o.get_text()]
    assert talia, "the author select offers the demo's authors"
    r = d.post("/desk/newsletters/",
               newsletter_form(author=talia[0]["value"]))
    assert r.status_code == 303
    assert r.headers["Location"] == "/desk/newsletters/?done=saved"
    row = newsletter_row(srv.dir, "evening-edition")
    assert row[1:6] == ("Evening Edition", "The Evening Desk",
                        "evening@example.org", 1, 3)
    assert q1(srv.dir, "SELECT author_id FROM newsletters WHERE id = ?",
              row[0])[0] == int(talia[0]["value"])
    page = d.get(r.headers["Location"])
    assert "Newsletter saved." in page.text
    tr = soup(page).select_one('table.newsletters tr[data-slug="evening-edition"]')
    assert tr.select_one(".pending").get_text() == "0"
    # edit: rename, hide from readers (checkbox left out)
    form = newsletter_form(id=str(row[0]), name="Evening Brief")
    del form["active"]
    r = d.post("/desk/newsletters/", form)
    assert r.status_code == 303
    row2 = newsletter_row(srv.dir, "evening-edition")
    assert row2[0] == row[0] and row2[1] == "Evening Brief" and row2[4] == 0
    assert q1(srv.dir, "SELECT count(*) FROM newsletters")[0] == 3


def test_author_cannot_manage_newsletters(srv):
    before = qall(srv.dir, "SELECT * FROM newsletters ORDER BY id")
    d = desk_as(srv, "author")
    assert d.get("/desk/newsletters/").status_code == 403
    r = d.post("/desk/newsletters/", newsletter_form())
    assert r.status_code == 403
    assert "Only administrators manage newsletters" in r.text
    mb = newsletter_row(srv.dir, "morning-brief")
    r = d.post("/desk/newsletters/", newsletter_form(
        id=str(mb[0]), slug="morning-brief", name="Hijacked"))
    assert r.status_code == 403
    assert qall(srv.dir, "SELECT * FROM newsletters ORDER BY id") == before
    # an editor neither
    e = desk_as(srv, "editor")
    assert e.get("/desk/newsletters/").status_code == 403
    assert e.post("/desk/newsletters/", newsletter_form()).status_code == 403
    assert qall(srv.dir, "SELECT * FROM newsletters ORDER BY id") == before


def test_bad_sender_address_is_refused_with_message(srv):
    d = desk_as(srv, "administrator")
    d.get("/desk/newsletters/")
    r = d.post("/desk/newsletters/", newsletter_form(
        sender_email="evening at example"))
    assert r.status_code == 400
    page = soup(r)
    err = page.select_one("#form-error")
    assert err and "sender address is not valid" in err.get_text()
    # what was typed is still there, in the create form
    assert page.select_one("#nl-new #nl0-name")["value"] == "Evening Edition"
    assert page.select_one("#nl-new #nl0-semail")["value"] == \
        "evening at example"
    assert newsletter_row(srv.dir, "evening-edition") is None


def test_slug_clash_is_reported(srv):
    d = desk_as(srv, "administrator")
    d.get("/desk/newsletters/")
    r = d.post("/desk/newsletters/", newsletter_form(slug="morning-brief"))
    assert r.status_code == 400
    assert "The slug 'morning-brief' is taken" in \
        soup(r).select_one("#form-error").get_text()
    assert q1(srv.dir, "SELECT name FROM newsletters WHERE slug = "
                       "'morning-brief'")[0] == "The Courier Morning Brief"
    assert q1(srv.dir, "SELECT count(*) FROM newsletters")[0] == 2
    # renaming the second one onto the first's slug fails too, in place
    ew = newsletter_row(srv.dir, "explaining-the-war")
    r = d.post("/desk/newsletters/", newsletter_form(
        id=str(ew[0]), slug="morning-brief", name="Explaining"))
    assert r.status_code == 400
    details = [x for x in soup(r).select("details.nl-item")
               if x.has_attr("open")]
    assert len(details) == 1
    assert details[0].select_one('input[name="name"]')["value"] == "Explaining"
    assert newsletter_row(srv.dir, "explaining-the-war")[1] == \
        "Explaining the War with Talia Renvik"


# ---- CSV import and export ----------------------------------------------------

BAD_CSV = (
    "email,newsletter\r\n"
    "ann@example.org,morning-brief\r\n"            # line 2: good
    "not-an-email,morning-brief\r\n"               # line 3: bad email
    "bob@example.org,no-such-letter\r\n"           # line 4: unknown newsletter
    "=cmd(),morning-brief\r\n"                     # line 5: formula, not email
    "\"carl@example.org\r\nx@example.org\",morning-brief\r\n"  # lines 6-7
    "=sum@example.org,morning-brief\r\n"           # line 8: good, formula-like
    "dora@example.org,\r\n"                        # line 9: good, default
)


def test_import_reports_bad_rows_and_export_round_trips(srv):
    d = desk_as(srv, "administrator")
    r = import_csv(d, BAD_CSV, newsletter="morning-brief")
    assert r.status_code == 200, r.text[:500]
    page = soup(r)
    assert page.select_one("#import-message").get_text() == "3 rows imported."
    report = [li.get_text() for li in page.select("#import-report li")]
    assert any(l.startswith("line 3: not an email address 'not-an-email'")
               for l in report), report
    assert "line 4: no newsletter 'no-such-letter'" in report
    assert any(l.startswith("line 5: not an email address '=cmd()'")
               for l in report), report
    assert any(l.startswith("line 6: not an email address") and
               "carl@example.org" in l for l in report), report
    assert len(report) == 4
    rows = qall(srv.dir, "SELECT s.email, n.slug, x.state FROM subscriptions x "
                         "JOIN subscribers s ON s.id = x.subscriber_id "
                         "JOIN newsletters n ON n.id = x.newsletter_id "
                         "ORDER BY s.email")
    assert rows == [("=sum@example.org", "morning-brief", "active"),
                    ("ann@example.org", "morning-brief", "active"),
                    ("dora@example.org", "morning-brief", "active")]
    # the counts on the page follow
    tr = page.select_one('table.nl-counts tr[data-slug="morning-brief"]')
    assert tr.select_one(".active").get_text() == "3"

    nl_id = newsletter_row(srv.dir, "morning-brief")[0]
    r = d.get(f"/desk/subscribers.csv?newsletter={nl_id}")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert "no-store" in r.headers["Cache-Control"]
    got = list(csv.reader(io.StringIO(r.content.decode("utf-8"))))
    assert got[0] == ["email", "newsletter", "state", "subscribed_at",
                      "confirmed_at"]
    emails = sorted(row[0] for row in got[1:])
    # a cell a spreadsheet would run as a formula gets a leading '
    assert emails == ["'=sum@example.org", "ann@example.org",
                      "dora@example.org"]
    assert all(row[1] == "morning-brief" and row[2] == "active"
               for row in got[1:])

    # the export imports again into another newsletter: same addresses
    again = "\r\n".join(",".join(row[:1]) for row in got).replace("'=", "=")
    r = import_csv(d, again, newsletter="explaining-the-war")
    assert soup(r).select_one("#import-message").get_text() == \
        "3 rows imported."
    ew = newsletter_row(srv.dir, "explaining-the-war")[0]
    r = d.get(f"/desk/subscribers.csv?newsletter={ew}")
    emails2 = sorted(row[0] for row in
                     csv.reader(io.StringIO(r.content.decode()))
                     if row[0] != "email")
    assert emails2 == emails


def test_import_needs_admin_and_a_file(srv):
    d = desk_as(srv, "administrator")
    d.get("/desk/subscribers/")
    r = d.post("/desk/subscribers/import", {"newsletter": "morning-brief"},
               files={"csv": ("", b"", "application/octet-stream")})
    assert r.status_code == 400
    assert "Choose a CSV file" in soup(r).select_one("#form-error").get_text()
    e = desk_as(srv, "editor")
    assert e.get("/desk/subscribers/").status_code == 403
    assert e.get("/desk/subscribers.csv").status_code == 403
    e.get("/desk/")
    r = e.post("/desk/subscribers/import", {"newsletter": "morning-brief"},
               files={"csv": ("a.csv", b"email\nzed@example.org\n",
                              "text/csv")})
    assert r.status_code == 403
    assert q1(srv.dir, "SELECT count(*) FROM subscribers")[0] == 0


# ---- sending ------------------------------------------------------------------

def demo_article(site):
    return q1(site, "SELECT id, slug, title FROM posts WHERE status = "
                    "'published' ORDER BY published_at DESC, id DESC LIMIT 1")


def test_editor_sends_article_and_delivery_completes(srv):
    admin = desk_as(srv, "administrator")
    people = ["reader%d@example.org" % i for i in range(1, 4)]
    r = import_csv(admin, "email\n" + "\n".join(people) + "\n",
                   newsletter="morning-brief")
    assert soup(r).select_one("#import-message").get_text() == \
        "3 rows imported."

    # an author may not send
    author = desk_as(srv, "author")
    assert author.get("/desk/newsletters/send").status_code == 403
    author.get("/desk/")
    art = demo_article(srv.dir)
    r = author.post("/desk/newsletters/send", {
        "newsletter": "morning-brief", "what": "article", "post": art[1]})
    assert r.status_code == 403
    assert q1(srv.dir, "SELECT count(*) FROM sends")[0] == 0
    assert q1(srv.dir, "SELECT count(*) FROM mail_outbox")[0] == 0

    ed = desk_as(srv, "editor")
    page = ed.get("/desk/newsletters/send")
    assert page.status_code == 200
    options = [o["value"] for o in soup(page).select("#s-post option")]
    assert art[1] in options and len(options) <= 51
    r = ed.post("/desk/newsletters/send", {
        "newsletter": "morning-brief", "what": "article", "post": art[1]})
    assert r.status_code == 303, r.text[:500]
    m = re.fullmatch(r"/desk/sends/(\d+)/", r.headers["Location"])
    assert m
    send_id = int(m.group(1))
    page = ed.get(r.headers["Location"])
    assert page.status_code == 200
    s = soup(page)
    assert s.find("h1").get_text() == art[2]
    assert s.select_one("#send-total").get_text() == "3"
    assert s.select_one('[data-count="total"]').get_text() == "3"
    assert s.select_one("progress#send-bar")["max"] == "3"
    assert s.select_one(".refresh a")["href"] == f"/desk/sends/{send_id}/"
    assert "Editor Person" in page.text

    # delivery: one .eml per subscriber in DIR/mail/
    deadline = time.time() + 30
    files = []
    while time.time() < deadline:
        files = glob.glob(os.path.join(srv.dir, "mail", "*.eml"))
        if len(files) >= 3:
            break
        time.sleep(0.25)
    assert len(files) == 3, srv.logtext()[-2000:]
    rcpts = set()
    for f in files:
        with open(f, "rb") as fh:
            head = fh.read().decode("utf-8", "replace")
        rcpts |= {p for p in people if p in head}
    assert rcpts == set(people)

    prog = None
    while time.time() < deadline + 5:
        r = ed.get(f"/desk/sends/{send_id}/progress")
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("application/json")
        assert "no-store" in r.headers["Cache-Control"]
        prog = json.loads(r.text)
        if prog["pending"] == 0:
            break
        time.sleep(0.25)
    assert prog == {"total": 3, "sent": 3, "failed": 0, "pending": 0}
    s = soup(ed.get(f"/desk/sends/{send_id}/"))
    assert s.select_one('[data-count="sent"]').get_text() == "3"
    assert s.select_one('[data-count="pending"]').get_text() == "0"
    assert s.select_one("progress#send-bar")["value"] == "3"
    # the send is listed under the form
    recent = soup(ed.get("/desk/newsletters/send")).select("table.sends a")
    assert [a["href"] for a in recent] == [f"/desk/sends/{send_id}/"]
    # the author cannot follow it either
    assert author.get(f"/desk/sends/{send_id}/progress").status_code == 403


def test_send_form_errors(srv):
    ed = desk_as(srv, "editor")
    ed.get("/desk/newsletters/send")
    r = ed.post("/desk/newsletters/send", {"newsletter": "morning-brief",
                                           "what": "digest", "digest": "50"})
    assert r.status_code == 400
    assert "digest of 1 to 20" in soup(r).select_one("#form-error").get_text()
    r = ed.post("/desk/newsletters/send", {"newsletter": "morning-brief",
                                           "what": "article", "post": "nope"})
    assert r.status_code == 404
    assert "no published article 'nope'" in \
        soup(r).select_one("#form-error").get_text()
    assert q1(srv.dir, "SELECT count(*) FROM sends")[0] == 0
    # a digest to nobody is a send with 0 recipients, done at once
    r = ed.post("/desk/newsletters/send", {"newsletter": "explaining-the-war",
                                           "what": "digest", "digest": "3"})
    assert r.status_code == 303
    r = ed.get(r.headers["Location"] + "progress")
    assert json.loads(r.text) == {"total": 0, "sent": 0, "failed": 0,
                                  "pending": 0}
    assert ed.get("/desk/sends/999/").status_code == 404


# ---- subscribers page ---------------------------------------------------------

def test_subscribers_search_filter_and_chart(srv):
    d = desk_as(srv, "administrator")
    people = ["ann@example.org", "anna@example.net", "bob@example.org",
              "cleo@example.org"]
    import_csv(d, "email,newsletter\n" + "\n".join(
        p + ",morning-brief" for p in people) + "\n")
    # one more, pending, with a confirmation mail queued
    r = import_csv(d, "email\nzoe@example.org\n", newsletter="morning-brief",
                   confirm=True)
    assert soup(r).select_one("#import-message").get_text() == \
        "1 row imported."
    # move two confirmations back in time: 3 days and 10 days ago
    now = int(time.time())
    con = db(srv.dir)
    with con:
        for email, days in (("bob@example.org", 3), ("cleo@example.org", 10)):
            con.execute("UPDATE subscriptions SET confirmed_at = ? WHERE "
                        "subscriber_id = (SELECT id FROM subscribers WHERE "
                        "email = ?)", (now - days * 86400, email))
    con.close()

    page = d.get("/desk/subscribers/")
    assert page.status_code == 200
    s = soup(page)
    assert s.select_one("#sub-count").get_text() == "5 subscriptions"
    tr = s.select_one('table.nl-counts tr[data-slug="morning-brief"]')
    assert [tr.select_one("." + c).get_text()
            for c in ("pending", "active", "unsubscribed")] == ["1", "4", "0"]

    # the chart: 30 days, today's bar 2, 3 days ago 1, 10 days ago 1
    days = [(th.get_text(), int(td.get_text())) for th, td in
            ((row.th, row.td) for row in s.select("#chart-data tbody tr"))]
    assert len(days) == 30
    today = time.strftime("%Y-%m-%d", time.gmtime(now))
    assert days[-1] == (today, 2)
    assert days[-4] == (time.strftime("%Y-%m-%d",
                                      time.gmtime(now - 3 * 86400)), 1)
    assert days[-11][1] == 1
    assert sum(n for _, n in days) == 4
    svg = s.select_one("section.chart svg")
    assert svg["role"] == "img"
    assert svg.find("title").get_text().startswith("Confirmed subscriptions")
    assert "4 confirmations" in svg.find("desc").get_text()
    bars = svg.find_all("rect")
    assert len(bars) == 30
    heights = [float(b["height"]) for b in bars]
    assert heights[-1] > heights[-4] > 0 and heights[0] == 0

    # search by part of the address
    s = soup(d.get("/desk/subscribers/?q=ANN"))
    emails = [tr.td.get_text() for tr in s.select("table.subscriptions tbody tr")]
    assert sorted(emails) == ["ann@example.org", "anna@example.net"]
    # % is not a wildcard
    s = soup(d.get("/desk/subscribers/?q=%25"))
    assert s.select("table.subscriptions tbody tr") == []
    # state filter
    s = soup(d.get("/desk/subscribers/?state=pending"))
    rows = s.select("table.subscriptions tbody tr")
    assert [r.td.get_text() for r in rows] == ["zoe@example.org"]
    assert s.select_one('#f-state option[selected]')["value"] == "pending"
    # newsletter filter: nobody on the other one; its chart is empty
    ew = newsletter_row(srv.dir, "explaining-the-war")[0]
    s = soup(d.get(f"/desk/subscribers/?newsletter={ew}"))
    assert s.select("table.subscriptions tbody tr") == []
    assert sum(int(td.get_text()) for td in s.select("#chart-data td")) == 0
    assert s.select_one("header a[download]")["href"] == \
        f"/desk/subscribers.csv?newsletter={ew}"
    # bad filters are a clear 400
    assert d.get("/desk/subscribers/?state=gone").status_code == 400
    assert d.get("/desk/subscribers/?newsletter=x").status_code == 400
