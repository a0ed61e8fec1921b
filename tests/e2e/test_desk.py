"""The editorial desk over HTTP: sign-in, sessions, CSRF, the role x action
matrix, publishing, scheduling, corrections, revisions, picks, live
updates, staff links and the audit log. Each test runs the real binary on a
fresh demo site and checks what a journalist or a reader would see, and
that a refused action changed nothing in the database."""
import os
import re
import time

import pytest
import requests
from bs4 import BeautifulSoup

from conftest import Server
from deskclient import PASSWORD, ROLES, Desk, db, desk_as, q1


@pytest.fixture()
def srv(site):
    env_tick = os.environ.get("NEWSROOM_JOB_TICK_MS")
    os.environ["NEWSROOM_JOB_TICK_MS"] = "200"
    s = Server(site)
    if env_tick is None:
        del os.environ["NEWSROOM_JOB_TICK_MS"]
    else:
        os.environ["NEWSROOM_JOB_TICK_MS"] = env_tick
    yield s
    s.stop()


def new_post(d, title, action="save", **fields):
    data = {"title": title, "body": fields.pop("body", "Body of " + title),
            "action": action}
    data.update(fields)
    return d.post("/desk/posts/", data)


def post_id(r):
    m = re.search(r"/desk/posts/(\d+)/", r.headers.get("Location", ""))
    assert m, (r.status_code, r.text[:500])
    return int(m.group(1))


def demo_post(site):
    """A published demo article nobody on the test staff wrote."""
    return q1(site, "SELECT id, slug, title FROM posts WHERE status = "
                    "'published' ORDER BY id LIMIT 1")


# ---- sign-in ---------------------------------------------------------------

def test_signin_form_labels_and_success(srv):
    d = Desk(srv)
    r = d.get("/desk")
    assert r.status_code == 200
    soup = BeautifulSoup(r.text, "html.parser")
    form = soup.find("form", action="/desk/signin")
    labels = {l.get_text(strip=True): l["for"] for l in form.find_all("label")}
    assert form.find(id=labels["Email"])["type"] == "email"
    assert form.find(id=labels["Password"])["type"] == "password"
    assert form.find("button").get_text(strip=True) == "Sign in"
    r = d.post("/desk/signin", {"email": "Editor@Example.org",
                                "password": PASSWORD})
    assert r.status_code == 303
    cookie = r.headers["Set-Cookie"]
    assert "nr_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Secure" not in cookie
    token = d.s.cookies.get("nr_session")
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    # only a hash of the token is stored
    assert q1(srv.dir, "SELECT count(*) FROM sessions WHERE token_hash = ?",
              token)[0] == 0
    assert q1(srv.dir, "SELECT count(*) FROM sessions")[0] == 1
    page = d.get("/desk/")
    assert "Editor Person" in page.text and "Sign out" in page.text


def test_secure_cookie_behind_tls(srv):
    d = Desk(srv)
    d.get("/desk")
    r = d.s.post(srv.base + "/desk/signin",
                 data={"email": "author@example.org", "password": PASSWORD,
                       "csrf": d.s.cookies.get("nr_signin")},
                 headers={"X-Forwarded-Proto": "https"},
                 allow_redirects=False, timeout=20)
    assert r.status_code == 303
    assert "Secure" in r.headers["Set-Cookie"]


def test_wrong_password_then_rate_limit(srv):
    d = Desk(srv)
    for i in range(5):
        d.get("/desk")
        r = d.post("/desk/signin", {"email": "author@example.org",
                                    "password": "wrong password " + str(i)})
        assert r.status_code == 401
        assert "Wrong email or password" in r.text
        assert "nr_session" not in d.s.cookies
    # locked now, even with the right password
    d.get("/desk")
    r = d.post("/desk/signin", {"email": "author@example.org",
                                "password": PASSWORD})
    assert r.status_code == 429
    assert "Too many failed sign-ins" in r.text
    assert "try again in 15 minutes" in r.text
    # another account from the same address is not locked yet
    other = Desk(srv)
    assert other.sign_in("editor@example.org").status_code == 303


def test_unknown_email_same_message(srv):
    d = Desk(srv)
    d.get("/desk")
    r = d.post("/desk/signin", {"email": "nobody@example.org",
                                "password": PASSWORD})
    assert r.status_code == 401
    assert "Wrong email or password" in r.text


def test_signin_without_form_token_refused(srv):
    s = requests.Session()
    r = s.post(srv.base + "/desk/signin",
               data={"email": "author@example.org", "password": PASSWORD},
               allow_redirects=False, timeout=20)
    assert r.status_code == 403
    assert "nr_session" not in s.cookies


def test_expired_session_gets_signin_page(srv):
    d = desk_as(srv, "editor")
    con = db(srv.dir)
    con.execute("UPDATE sessions SET expires_at = 1")
    con.commit()
    con.close()
    r = d.get("/desk/posts/new/", follow=False)
    assert r.status_code == 303
    assert r.headers["Location"].startswith("/desk/?next=/desk/posts/new/")
    r = d.get("/desk/posts/new/")
    assert 'action="/desk/signin"' in r.text
    assert q1(srv.dir, "SELECT count(*) FROM sessions")[0] == 0
    # a form sent with the dead session is answered with the sign-in page
    r = new_post(d, "Lost")
    assert r.status_code == 401 and "session has ended" in r.text
    assert q1(srv.dir, "SELECT count(*) FROM posts WHERE title='Lost'")[0] == 0


def test_idle_session_expires(srv):
    d = desk_as(srv, "editor")
    con = db(srv.dir)
    con.execute("UPDATE sessions SET last_seen_at = last_seen_at - 13*3600")
    con.commit()
    con.close()
    r = d.get("/desk/")
    assert 'action="/desk/signin"' in r.text


def test_sign_out_everywhere(srv):
    a = desk_as(srv, "author")
    b = desk_as(srv, "author")
    r = a.post("/desk/signout", {"everywhere": "1"})
    assert r.status_code == 303
    for d in (a, b):
        assert 'action="/desk/signin"' in d.get("/desk/").text
    assert q1(srv.dir, "SELECT count(*) FROM sessions")[0] == 0


# ---- CSRF ------------------------------------------------------------------

@pytest.mark.parametrize("token", [None, "0" * 64, "zz"])
def test_csrf_missing_or_wrong(srv, token):
    d = desk_as(srv, "editor")
    before = q1(srv.dir, "SELECT count(*) FROM posts")[0]
    data = {"title": "Forged", "body": "x", "action": "publish"}
    if token:
        data["csrf"] = token
    r = d.post("/desk/posts/", data, csrf=False)
    assert r.status_code == 403
    assert "security token" in r.text
    assert q1(srv.dir, "SELECT count(*) FROM posts")[0] == before


def test_cross_site_origin_refused(srv):
    d = desk_as(srv, "editor")
    r = d.s.post(srv.base + "/desk/live/",
                 data={"csrf": d.csrf, "headline": "Forged update"},
                 headers={"Origin": "https://evil.example"},
                 allow_redirects=False, timeout=20)
    assert r.status_code == 403
    assert q1(srv.dir, "SELECT count(*) FROM live_updates WHERE "
                       "headline = 'Forged update'")[0] == 0


# ---- the role x action matrix ------------------------------------------------

def snapshot(site):
    con = db(site)
    try:
        out = {}
        for t in ["posts", "post_tags", "post_authors", "corrections",
                  "live_updates", "tags", "staff", "post_revisions"]:
            out[t] = con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
        return out
    finally:
        con.close()


def act_create(d, site, ctx):
    return new_post(d, "A draft by " + ctx["role"])


def act_publish_own(d, site, ctx):
    r = new_post(d, "Own draft of " + ctx["role"])
    assert r.status_code == 303
    pid = post_id(r)
    ctx["snap"] = snapshot(site)
    return d.post(f"/desk/posts/{pid}/", {
        "title": "Own draft of " + ctx["role"], "body": "Body",
        "action": "publish"})


def act_edit_other(d, site, ctx):
    pid, slug, title = demo_post(site)
    return d.post(f"/desk/posts/{pid}/", {"title": title + " (changed)",
                                          "body": "Changed", "action": "save"})


def act_unpublish_other(d, site, ctx):
    pid, slug, title = demo_post(site)
    return d.post(f"/desk/posts/{pid}/", {"title": title, "body": "x",
                                          "action": "unpublish"})


def act_delete_other(d, site, ctx):
    pid, slug, title = demo_post(site)
    return d.post(f"/desk/posts/{pid}/delete")


def act_correct(d, site, ctx):
    pid, slug, title = demo_post(site)
    return d.post(f"/desk/posts/{pid}/corrections",
                  {"text": "An earlier version misspelt a name."})


def act_picks(d, site, ctx):
    pid, slug, title = demo_post(site)
    return d.post("/desk/picks/", {"add": str(pid)})


def act_live(d, site, ctx):
    return d.post("/desk/live/", {"headline": "Matrix update by " +
                                  ctx["role"]})


def act_tag(d, site, ctx):
    return d.post("/desk/tags/", {"name": "Matrix tag " + ctx["role"]})


def act_invite(d, site, ctx):
    return d.post("/desk/staff/", {"email": ctx["role"] + "-new@example.org",
                                   "name": "New Person", "role": "author"})


def act_role(d, site, ctx):
    sid = q1(site, "SELECT id FROM staff WHERE email = "
                   "'contributor@example.org'")[0]
    if ctx["role"] == "contributor":
        sid = q1(site, "SELECT id FROM staff WHERE email = "
                       "'author@example.org'")[0]
    return d.post(f"/desk/staff/{sid}/", {"role": "editor", "action": "save"})


def act_audit(d, site, ctx):
    return d.get("/desk/audit/")


ACTIONS = {
    # action: roles allowed
    "create": (act_create, {"contributor", "author", "editor",
                            "administrator"}),
    "publish_own": (act_publish_own, {"author", "editor", "administrator"}),
    "edit_other": (act_edit_other, {"editor", "administrator"}),
    "unpublish_other": (act_unpublish_other, {"editor", "administrator"}),
    "delete_other": (act_delete_other, {"editor", "administrator"}),
    "correct": (act_correct, {"editor", "administrator"}),
    "picks": (act_picks, {"editor", "administrator"}),
    "live": (act_live, {"editor", "administrator"}),
    "tag": (act_tag, {"editor", "administrator"}),
    "invite": (act_invite, {"administrator"}),
    "change_role": (act_role, {"administrator"}),
    "audit": (act_audit, {"administrator"}),
}


@pytest.mark.parametrize("role", ROLES)
def test_role_action_matrix(srv, role):
    for name, (fn, allowed) in ACTIONS.items():
        d = desk_as(srv, role)
        ctx = {"role": role, "snap": snapshot(srv.dir)}
        r = fn(d, srv.dir, ctx)
        if role in allowed:
            assert r.status_code in (200, 303), (name, role, r.status_code,
                                                 r.text[:400])
        else:
            assert r.status_code == 403, (name, role, r.status_code)
            assert "not allow" in r.text or "Only" in r.text, (name, role)
            assert snapshot(srv.dir) == ctx["snap"], (name, role)


def test_contributor_cannot_edit_once_published(srv):
    c = desk_as(srv, "contributor")
    pid = post_id(new_post(c, "Contributor story"))
    e = desk_as(srv, "editor")
    r = e.get(f"/desk/posts/{pid}/")
    assert r.status_code == 200
    r = e.post(f"/desk/posts/{pid}/", {"title": "Contributor story",
                                       "body": "Edited", "action": "publish",
                                       "author": q1(srv.dir,
                                                    "SELECT author_id FROM "
                                                    "post_authors WHERE "
                                                    "post_id = ?", pid)[0]})
    assert r.status_code == 303
    before = snapshot(srv.dir)
    r = c.post(f"/desk/posts/{pid}/", {"title": "Sneaky", "body": "x"})
    assert r.status_code == 403
    assert snapshot(srv.dir) == before


def test_pick_toggle_refused_for_author(srv):
    a = desk_as(srv, "author")
    r = new_post(a, "Author wants a pick", pick_shown="1", pick="1")
    assert r.status_code == 403
    assert q1(srv.dir, "SELECT count(*) FROM posts WHERE title = "
                       "'Author wants a pick'")[0] == 0


# ---- publishing --------------------------------------------------------------

def test_publish_shows_at_once_and_edit_link(srv):
    a = desk_as(srv, "author")
    home = requests.get(srv.base + "/", timeout=10).text  # warm the cache
    assert "Dam gates reopen" not in home
    r = new_post(a, "Dam gates reopen after three days",
                 standfirst="Engineers say the river is back to normal.",
                 body="The gates opened at dawn.\n\n## What next\n\nMore.",
                 action="publish")
    assert r.status_code == 303, r.text[:500]
    pid = post_id(r)
    slug = q1(srv.dir, "SELECT slug FROM posts WHERE id = ?", pid)[0]
    assert slug == "dam-gates-reopen-after-three-days"
    page = requests.get(f"{srv.base}/{slug}/", timeout=10)
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.find("h1").get_text() == "Dam gates reopen after three days"
    assert "Author Person" in soup.find(class_="byline").get_text()
    assert "Dam gates reopen after three days" in requests.get(
        srv.base + "/", timeout=10).text
    # the cached page carries no edit link; the desk answers per person
    assert "Edit post" not in page.text
    j = a.get(f"/desk/edit-link?slug={slug}").json()
    assert j == {"edit_url": f"/desk/posts/{pid}/"}
    assert requests.get(f"{srv.base}/desk/edit-link?slug={slug}",
                        timeout=10).json() == {}
    c = desk_as(srv, "contributor")
    assert c.get(f"/desk/edit-link?slug={slug}").json() == {}
    # audited
    assert q1(srv.dir, "SELECT actor FROM audit_log WHERE action = "
                       "'post.publish'")[0].startswith("Author Person")


def test_unpublish_hides_article(srv):
    e = desk_as(srv, "editor")
    pid, slug, title = demo_post(srv.dir)
    assert requests.get(f"{srv.base}/{slug}/", timeout=10).status_code == 200
    body = q1(srv.dir, "SELECT markdown FROM posts WHERE id = ?", pid)[0]
    r = e.post(f"/desk/posts/{pid}/", {"title": title, "body": body,
                                       "action": "unpublish"})
    assert r.status_code == 303
    assert requests.get(f"{srv.base}/{slug}/", timeout=10).status_code == 404
    assert q1(srv.dir, "SELECT count(*) FROM audit_log WHERE action = "
                       "'post.unpublish'")[0] == 1


def test_scheduled_post_appears_on_time(srv):
    e = desk_as(srv, "editor")
    at = time.time() + 4
    when = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(at))
    r = new_post(e, "Night ferry timetable returns", action="schedule",
                 publish_at=when)
    assert r.status_code == 303, r.text[:400]
    slug = "night-ferry-timetable-returns"
    assert requests.get(f"{srv.base}/{slug}/", timeout=10).status_code == 404
    assert "Night ferry" not in requests.get(srv.base + "/", timeout=10).text
    while time.time() < at + 0.2:
        time.sleep(0.1)
    deadline = time.time() + 5
    while time.time() < deadline:
        if "Night ferry" in requests.get(srv.base + "/", timeout=10).text:
            break
        time.sleep(0.2)
    assert requests.get(f"{srv.base}/{slug}/", timeout=10).status_code == 200
    assert "Night ferry" in requests.get(srv.base + "/", timeout=10).text
    assert q1(srv.dir, "SELECT status FROM posts WHERE slug = ?",
              slug)[0] == "published"


def test_schedule_in_the_past_refused(srv):
    e = desk_as(srv, "editor")
    r = new_post(e, "Too late", action="schedule",
                 publish_at="2001-01-01T10:00")
    assert r.status_code == 400
    assert "in the future" in r.text


def test_slug_clash_clear_message(srv):
    e = desk_as(srv, "editor")
    pid, slug, title = demo_post(srv.dir)
    r = new_post(e, "Another story", slug=slug)
    assert r.status_code == 409
    text = BeautifulSoup(r.text, "html.parser").get_text()
    assert f"The slug '{slug}' is already used" in text
    # the form comes back with what was typed
    soup = BeautifulSoup(r.text, "html.parser")
    assert soup.find(id="title")["value"] == "Another story"
    # an automatic slug never clashes
    r1 = new_post(e, "Same headline")
    r2 = new_post(e, "Same headline")
    slugs = {q1(srv.dir, "SELECT slug FROM posts WHERE id = ?",
                post_id(r))[0] for r in (r1, r2)}
    assert slugs == {"same-headline", "same-headline-2"}


@pytest.mark.parametrize("slug", ["desk", "../etc", "Bad Slug", "a--b"])
def test_bad_or_reserved_slug(srv, slug):
    e = desk_as(srv, "editor")
    r = new_post(e, "Slug test", slug=slug)
    assert r.status_code == 400
    assert "slug" in r.text.lower()


def test_hostile_text_is_escaped(srv):
    e = desk_as(srv, "editor")
    r = new_post(e, "<script>alert(1)</script> headline", action="publish",
                 body="<script>alert(2)</script>\n\nText <img src=x "
                      "onerror=alert(3)>")
    assert r.status_code == 303
    slug = q1(srv.dir, "SELECT slug FROM posts WHERE id = ?", post_id(r))[0]
    page = requests.get(f"{srv.base}/{slug}/", timeout=10).text
    assert "<script>alert" not in page and "onerror=alert" not in page
    assert "&lt;script&gt;alert(1)" in page
    r = new_post(e, "Line\r\nbreak headline")
    assert r.status_code == 400 and "one line" in r.text
    r = e.post("/desk/posts/", files={"title": (None, b"\xff\xfe bad"),
                                      "csrf": (None, e.csrf)})
    assert r.status_code == 400


def test_oversized_body_refused(srv):
    e = desk_as(srv, "editor")
    r = new_post(e, "Huge", body="x" * (600 * 1024))
    assert r.status_code == 400
    assert "too long" in r.text


# ---- corrections, revisions ----------------------------------------------------

def test_correction_shows_and_updates_time(srv):
    e = desk_as(srv, "editor")
    pid, slug, title = demo_post(srv.dir)
    before = q1(srv.dir, "SELECT updated_at FROM posts WHERE id = ?", pid)[0]
    r = e.post(f"/desk/posts/{pid}/corrections",
               {"text": "An earlier version gave the wrong **date**."})
    assert r.status_code == 303
    page = requests.get(f"{srv.base}/{slug}/", timeout=10).text
    soup = BeautifulSoup(page, "html.parser")
    assert "gave the wrong" in soup.get_text()
    assert soup.find(class_="updated") is not None
    after = q1(srv.dir, "SELECT updated_at FROM posts WHERE id = ?", pid)[0]
    assert after > before and after >= time.time() - 60


def test_revisions_kept_and_restored(srv):
    a = desk_as(srv, "author")
    pid = post_id(new_post(a, "Bridge story", body="First text."))
    for text in ["Second text.", "Third text."]:
        r = a.post(f"/desk/posts/{pid}/", {"title": "Bridge story",
                                           "body": text})
        assert r.status_code == 303
    revs = db(srv.dir).execute(
        "SELECT id, markdown FROM post_revisions WHERE post_id = ? "
        "ORDER BY id", (pid,)).fetchall()
    assert [m for _, m in revs] == ["First text.", "Second text.",
                                    "Third text."]
    page = a.get(f"/desk/posts/{pid}/revisions/{revs[0][0]}/")
    assert page.status_code == 200 and "First text." in page.text
    r = a.post(f"/desk/posts/{pid}/revisions/{revs[0][0]}/restore")
    assert r.status_code == 303
    assert q1(srv.dir, "SELECT markdown FROM posts WHERE id = ?",
              pid)[0] == "First text."
    assert q1(srv.dir, "SELECT count(*) FROM post_revisions WHERE "
                       "post_id = ?", pid)[0] == 4


# ---- picks, live updates, list -----------------------------------------------------

def test_picks_choose_and_order(srv):
    e = desk_as(srv, "editor")
    ids = [r[0] for r in db(srv.dir).execute(
        "SELECT id FROM posts WHERE status='published' ORDER BY id LIMIT 3")]
    assert e.post("/desk/picks/", {"add": str(ids[0])}).status_code == 303
    form = [("csrf", e.csrf), ("pick", str(ids[0])), ("add", str(ids[1]))]
    r = e.s.post(srv.base + "/desk/picks/", data=form, allow_redirects=False)
    assert r.status_code == 303
    picks = db(srv.dir).execute("SELECT id FROM posts WHERE pick_order > 0 "
                                "ORDER BY pick_order").fetchall()
    first = [p[0] for p in picks]
    # move the second up
    form = [("csrf", e.csrf)] + [("pick", str(i)) for i in first] + \
        [("move", f"up:{first[1]}")]
    assert e.s.post(srv.base + "/desk/picks/", data=form,
                    allow_redirects=False).status_code == 303
    now = [p[0] for p in db(srv.dir).execute(
        "SELECT id FROM posts WHERE pick_order > 0 ORDER BY pick_order")]
    assert now == [first[1], first[0]] + first[2:]
    home = BeautifulSoup(requests.get(srv.base + "/", timeout=10).text,
                         "html.parser")
    rail = home.find(class_="picks") or home
    title0 = q1(srv.dir, "SELECT title FROM posts WHERE id = ?", now[0])[0]
    assert title0 in rail.get_text()


def test_live_updates_post_edit_delete(srv):
    e = desk_as(srv, "editor")
    r = e.post("/desk/live/", {"headline": "Power restored in the east",
                               "body": "Crews worked *overnight*.",
                               "key": "1"})
    assert r.status_code == 303
    lid = q1(srv.dir, "SELECT id FROM live_updates WHERE headline = ?",
             "Power restored in the east")[0]
    feed = requests.get(srv.base + "/news-feed/", timeout=10).text
    assert "Power restored in the east" in feed
    r = e.post(f"/desk/live/{lid}/", {"headline": "Power restored in the "
                                      "east and north", "action": "save"})
    assert r.status_code == 303
    assert "east and north" in requests.get(srv.base + "/news-feed/",
                                            timeout=10).text
    r = e.post(f"/desk/live/{lid}/", {"action": "delete"})
    assert r.status_code == 303
    assert q1(srv.dir, "SELECT count(*) FROM live_updates WHERE id = ?",
              lid)[0] == 0
    r = e.post("/desk/live/", {"headline": ""})
    assert r.status_code == 400 and "headline" in r.text


def test_post_list_filters(srv):
    a = desk_as(srv, "author")
    new_post(a, "Zebra crossing repainted")
    r = a.get("/desk/?status=draft&q=zebra")
    soup = BeautifulSoup(r.text, "html.parser")
    rows = [t.get_text() for t in soup.select("table.posts tbody tr")]
    assert len(rows) == 1 and "Zebra crossing repainted" in rows[0]
    r = a.get("/desk/?status=published")
    soup = BeautifulSoup(r.text, "html.parser")
    assert "Zebra" not in soup.get_text()
    n_pub = q1(srv.dir, "SELECT count(*) FROM posts WHERE "
                        "status='published'")[0]
    assert f"{n_pub} posts" in soup.get_text()
    sec = q1(srv.dir, "SELECT slug FROM tags WHERE kind='section' LIMIT 1")[0]
    r = a.get(f"/desk/?section={sec}")
    n_sec = q1(srv.dir, "SELECT count(*) FROM post_tags pt JOIN tags t ON "
                        "t.id = pt.tag_id WHERE t.slug = ?", sec)[0]
    assert f"{n_sec} posts" in r.text
    assert a.get("/desk/?status=bogus").status_code == 400
    assert a.get("/desk/?section=../x").status_code == 400


def desk_titles(d, query):
    r = d.get("/desk/?" + query)
    assert r.status_code == 200, r.text[:300]
    soup = BeautifulSoup(r.text, "html.parser")
    return [t.select_one("a").get_text()
            for t in soup.select("table.posts tbody tr")]


def test_desk_search_uses_the_full_text_index(srv):
    a = desk_as(srv, "author")
    new_post(a, "Harbour cranes idle",
             body="Dockers say the gantries have not moved since the "
                  "quarantines began.")
    new_post(a, "Weather outlook", body="Mild, with one passing mention of "
             "a quarantine in the port.")
    # a word of the body of a draft, stemmed, best match first
    titles = desk_titles(a, "q=quarantine")
    assert titles[:2] == ["Harbour cranes idle", "Weather outlook"] or \
        set(titles[:2]) == {"Harbour cranes idle", "Weather outlook"}
    assert desk_titles(a, "q=gantry") == ["Harbour cranes idle"]
    assert desk_titles(a, "q=cranes&status=published") == []
    assert desk_titles(a, "q=cranes&status=draft") == ["Harbour cranes idle"]
    # published articles too, and the reader's /search never shows drafts
    pub = q1(srv.dir, "SELECT title FROM posts WHERE status = 'published' "
                      "ORDER BY id LIMIT 1")[0]
    word = max(pub.split(), key=len).strip(".,:;'\"")
    assert pub in desk_titles(a, "q=" + word)
    reader = requests.get(srv.base + "/search?q=gantry", timeout=10).text
    assert "Harbour cranes idle" not in reader
    # hostile text is searched, never an error
    for q in ('"', "NEAR(a", "*", "%FF", "x%C3%28"):
        assert a.get("/desk/?q=" + q).status_code == 200


# ---- staff links, audit ------------------------------------------------------------

def test_invitation_and_reset_links(srv):
    adm = desk_as(srv, "administrator")
    r = adm.post("/desk/staff/", {"email": "Newcomer@Example.org",
                                  "name": "New Comer", "role": "author"})
    assert r.status_code == 200
    link = BeautifulSoup(r.text, "html.parser").find(id="one-time-link")["value"]
    path = link[link.index("/desk/welcome/"):]
    # not usable before the password is set
    assert Desk(srv).sign_in("newcomer@example.org", "whatever-password-1")\
        .status_code == 401
    s = requests.Session()
    assert s.get(srv.base + path, timeout=10).status_code == 200
    r = s.post(srv.base + path, data={"password": "short",
                                      "password2": "short"},
               allow_redirects=False)
    assert r.status_code == 400 and "too short" in r.text
    r = s.post(srv.base + path, data={"password": "a new long password",
                                      "password2": "a new long password"},
               allow_redirects=False)
    assert r.status_code == 303
    assert s.get(srv.base + path, timeout=10).status_code == 404  # used up
    assert Desk(srv).sign_in("newcomer@example.org",
                             "a new long password").status_code == 303
    # reset: ends sessions, link sets a new password
    victim = desk_as(srv, "author")
    sid = q1(srv.dir, "SELECT id FROM staff WHERE email = "
                      "'author@example.org'")[0]
    r = adm.post(f"/desk/staff/{sid}/", {"action": "reset"})
    link = BeautifulSoup(r.text, "html.parser").find(id="one-time-link")["value"]
    assert 'action="/desk/signin"' in victim.get("/desk/").text
    path = link[link.index("/desk/welcome/"):]
    r = requests.post(srv.base + path, data={"password": "reset password 99",
                                             "password2": "reset password 99"},
                      allow_redirects=False, timeout=10)
    assert r.status_code == 303
    assert Desk(srv).sign_in("author@example.org",
                             "reset password 99").status_code == 303
    actions = [a for (a,) in db(srv.dir).execute(
        "SELECT action FROM audit_log ORDER BY id")]
    assert "staff.invite" in actions and "staff.reset" in actions


def test_admin_role_change_audited_and_self_lockout_refused(srv):
    adm = desk_as(srv, "administrator")
    sid = q1(srv.dir, "SELECT id FROM staff WHERE email = "
                      "'contributor@example.org'")[0]
    r = adm.post(f"/desk/staff/{sid}/", {"role": "editor", "action": "save"})
    assert r.status_code == 303
    assert q1(srv.dir, "SELECT role FROM staff WHERE id = ?",
              sid)[0] == "editor"
    page = adm.get("/desk/audit/").text
    assert "staff.role" in page and "contributor -&gt; editor" in page
    me = q1(srv.dir, "SELECT id FROM staff WHERE email = "
                     "'administrator@example.org'")[0]
    r = adm.post(f"/desk/staff/{me}/", {"role": "author", "action": "save"})
    assert r.status_code == 400 and "your own role" in r.text
    # disabling ends the account's sessions
    victim = desk_as(srv, "author")
    aid = q1(srv.dir, "SELECT id FROM staff WHERE email = "
                      "'author@example.org'")[0]
    adm.post(f"/desk/staff/{aid}/", {"role": "author", "disabled": "1",
                                     "action": "save"})
    assert 'action="/desk/signin"' in victim.get("/desk/").text
    r = Desk(srv).sign_in("author@example.org")
    assert r.status_code == 401 and "disabled" in r.text


def test_preview_renders_like_public_page(srv):
    e = desk_as(srv, "editor")
    pid, slug, title = demo_post(srv.dir)
    md = q1(srv.dir, "SELECT markdown FROM posts WHERE id = ?", pid)[0]
    r = e.post("/desk/preview", {"id": str(pid), "title": title, "body": md,
                                 "slug": slug})
    assert r.status_code == 200
    assert "no-store" in r.headers["Cache-Control"]
    pub = requests.get(f"{srv.base}/{slug}/", timeout=10).text
    body = lambda html: str(BeautifulSoup(html, "html.parser")
                            .find(class_="article-body"))
    assert body(r.text) == body(pub)
    # nothing was saved
    assert q1(srv.dir, "SELECT title FROM posts WHERE id = ?", pid)[0] == title


# ---- uploads ---------------------------------------------------------------------

def files_under(path):
    out = set()
    for root, _, names in os.walk(path):
        out.update(os.path.join(root, n) for n in names)
    return out


def big_png(width, height):
    """A one-bit grey PNG: tiny on disk, width x height pixels decoded."""
    import struct
    import zlib

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    row = b"\0" + b"\0" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0,
                                       0)) +
            chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def a_jpeg(site):
    d = os.path.join(site, "media", "images")
    name = next(n for n in sorted(os.listdir(d)) if n.endswith("-960.jpg"))
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


def upload(d, title, name, data, mime="image/jpeg", action="save"):
    return d.post("/desk/posts/", {"title": title, "body": "Text.",
                                   "alt": "Alt text", "action": action},
                  files={"image": (name, data, mime)})


def test_upload_feature_image(srv):
    a = desk_as(srv, "author")
    jpeg = a_jpeg(srv.dir)
    r = upload(a, "Harbour cranes", "cranes.jpg", jpeg, action="publish")
    assert r.status_code == 303, r.text[:500]
    page = BeautifulSoup(requests.get(srv.base + "/harbour-cranes/",
                                      timeout=10).text, "html.parser")
    img = page.select_one("figure.feature img")
    assert img["alt"] == "Alt text"
    assert img.has_attr("srcset") and img.has_attr("sizes")
    src = img["src"]
    got = requests.get(srv.base + src, timeout=10)
    assert got.status_code == 200 and got.content[:3] == b"\xff\xd8\xff"
    webp = page.select_one("figure.feature source[type='image/webp']")
    assert webp is not None and ".webp" in webp["srcset"]
    # the original is kept, outside what is served
    originals = os.listdir(os.path.join(srv.dir, "originals"))
    assert len(originals) == 1
    with open(os.path.join(srv.dir, "originals", originals[0]), "rb") as f:
        assert f.read() == jpeg
    name = originals[0]
    assert requests.get(f"{srv.base}/media/../originals/{name}",
                        timeout=10).status_code in (400, 404)


HOSTILE = {
    "text named .jpg": ("photo.jpg", b"just some text, not a picture\n" * 10,
                        "image/jpeg", "not a JPEG, PNG, WebP or GIF"),
    "truncated JPEG": ("cut.jpg", None, "image/jpeg", "damaged or incomplete"),
    "100 megapixels": ("huge.png", None, "image/png", "too large"),
    "SVG with script": ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg">'
                        b'<script>alert(1)</script><rect width="10" '
                        b'height="10"/></svg>', "image/svg+xml",
                        "SVG images are not accepted"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_upload_refused_and_leaves_nothing(srv, case):
    a = desk_as(srv, "author")
    name, data, mime, message = HOSTILE[case]
    if case == "truncated JPEG":
        jpeg = a_jpeg(srv.dir)
        data = jpeg[:len(jpeg) * 6 // 10]
    elif case == "100 megapixels":
        data = big_png(10000, 10000)
    media_before = files_under(os.path.join(srv.dir, "media"))
    images_before = q1(srv.dir, "SELECT count(*) FROM images")[0]
    r = upload(a, "Hostile " + case, name, data, mime)
    assert r.status_code == 400
    text = BeautifulSoup(r.text, "html.parser").find(class_="error").get_text()
    assert message in text
    # the form comes back with what was typed; nothing was stored
    assert f'value="Hostile {case}"' in r.text
    assert files_under(os.path.join(srv.dir, "media")) == media_before
    assert not os.path.exists(os.path.join(srv.dir, "originals")) or \
        os.listdir(os.path.join(srv.dir, "originals")) == []
    assert q1(srv.dir, "SELECT count(*) FROM images")[0] == images_before
    assert q1(srv.dir, "SELECT count(*) FROM posts WHERE title = ?",
              "Hostile " + case)[0] == 0


def test_upload_too_big_for_the_route(srv):
    a = desk_as(srv, "author")
    r = upload(a, "Too big", "big.jpg", b"\xff" * (26 * 1024 * 1024))
    assert r.status_code == 413
    assert "25 MB" in r.text
