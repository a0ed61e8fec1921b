"""`newsroom import ghost` and `newsroom export`: every Ghost export under
../shared/fixtures/ghost-export/ imports with the counts the file holds,
broken files fail with line and column, a second run adds nothing,
imported posts are served at their old slugs, and export -> import into a
fresh site keeps titles, slugs, dates, bylines and tags."""
import glob
import json
import os
import shutil
import sqlite3
import tempfile

import pytest

from conftest import ROOT, Server, png, run

FIXTURES = os.path.join(ROOT, "..", "shared", "fixtures", "ghost-export")
BROKEN = os.path.join(FIXTURES, "ghost-4x-fixtures", "broken.json")


def good_fixtures():
    out = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "*", "*.json"))):
        if os.path.basename(path) != "broken.json":
            out.append(path)
    return out


def tables(path):
    """The data object of a Ghost export, however it is wrapped."""
    with open(path) as f:
        d = json.load(f)
    if "db" in d:
        d = d["db"][0]
    d = d["data"]
    if "data" in d and isinstance(d["data"], dict):
        d = d["data"]
    return d


@pytest.fixture
def tmp():
    t = tempfile.mkdtemp(prefix="newsroom-ghost-")
    yield t
    shutil.rmtree(t, ignore_errors=True)


def new_site(tmp, name="site"):
    site = os.path.join(tmp, name)
    r = run("init", site)
    assert r.returncode == 0, r.stderr
    return site


def db(site):
    return sqlite3.connect(os.path.join(site, "newsroom.db"))


def count(site, table):
    with db(site) as c:
        return c.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def all_counts(site):
    names = ["posts", "authors", "tags", "post_tags", "post_authors",
             "images", "newsletters", "subscribers", "subscriptions",
             "mail_outbox", "import_map"]
    return {n: count(site, n) for n in names}


def site_posts(site):
    """slug -> (title, status, published_at, [author slugs], [tag slugs])"""
    out = {}
    with db(site) as c:
        for pid, slug, title, status, pub in c.execute(
                "SELECT id, slug, title, status, published_at FROM posts"):
            authors = [r[0] for r in c.execute(
                "SELECT a.slug FROM post_authors pa JOIN authors a "
                "ON a.id = pa.author_id WHERE pa.post_id = ? "
                "ORDER BY pa.position", (pid,))]
            tags = [r[0] for r in c.execute(
                "SELECT t.slug FROM post_tags pt JOIN tags t "
                "ON t.id = pt.tag_id WHERE pt.post_id = ? "
                "ORDER BY pt.position", (pid,))]
            out[slug] = (title, status, pub, authors, tags)
    return out


# A Ghost 5 export written the way a big site's would be: posts before the
# users and tags they point to, HTML-only bodies, posts_meta, newsletters
# and members with their newsletter choices.
SYNTHETIC = {"db": [{
    "meta": {"exported_on": 1700000000000, "version": "5.70.0"},
    "data": {
        "posts": [
            {"id": "p1", "title": "Rates & <Rivers>", "slug": "rates-rivers",
             "html": "<p>First <strong>bold</strong> and "
                     "<a href=\"https://example.org/x\">a link</a>.</p>"
                     "<figure class=\"kg-card kg-image-card\"><img "
                     "src=\"https://cdn.example.org/a.jpg\" alt=\"A river\">"
                     "<figcaption>The river at dawn</figcaption></figure>"
                     "<h2>Second part</h2><ul><li>one</li><li>two</li></ul>"
                     "<script>alert(1)</script>",
             "mobiledoc": None, "lexical": None,
             "feature_image": "https://cdn.example.org/lead.jpg",
             "featured": True, "type": "post", "status": "published",
             "visibility": "public",
             "created_at": "2023-05-01T09:00:00.000+02:00",
             "published_at": "2023-05-01T10:30:00.000+02:00",
             "updated_at": "2023-05-02T08:00:00.000Z",
             "custom_excerpt": "The dek.", "locale": None},
            {"id": "p2", "title": "Draft thing", "slug": "draft-thing",
             "lexical": json.dumps({"root": {"children": [
                 {"type": "markdown", "markdown": "Just *markdown*."}]}}),
             "html": "<p>ignored</p>", "featured": False, "type": "post",
             "status": "draft", "visibility": "public",
             "created_at": "2023-06-01T00:00:00.000Z",
             "published_at": None, "updated_at": None},
            {"id": "p3", "title": "About us", "slug": "about-us",
             "html": "<p>We are a paper.</p>", "type": "page",
             "status": "published", "visibility": "public",
             "created_at": "2022-01-01T00:00:00.000Z",
             "published_at": "2022-01-01T00:00:00.000Z"},
        ],
        "posts_meta": [
            {"id": "m1", "post_id": "p1", "feature_image_alt": "Lead alt",
             "feature_image_caption": "<span>Photo: <b>Ann</b></span>"},
        ],
        "users": [
            {"id": "u1", "name": "Ann Writer", "slug": "ann",
             "email": "ann@example.org", "bio": "Writes."},
            {"id": "u2", "name": "Bob Editor", "slug": "bob",
             "email": "bob@example.org"},
        ],
        "tags": [
            {"id": "t1", "name": "Economy", "slug": "economy"},
            {"id": "t2", "name": "Rivers", "slug": "rivers"},
        ],
        "posts_authors": [
            {"id": "pa2", "post_id": "p1", "author_id": "u1",
             "sort_order": 1},
            {"id": "pa1", "post_id": "p1", "author_id": "u2",
             "sort_order": 0},
            {"id": "pa3", "post_id": "p2", "author_id": "u1",
             "sort_order": 0},
        ],
        "posts_tags": [
            {"id": "pt1", "post_id": "p1", "tag_id": "t2", "sort_order": 0},
            {"id": "pt2", "post_id": "p1", "tag_id": "t1", "sort_order": 1},
        ],
        "newsletters": [
            {"id": "n1", "name": "Morning Brief", "slug": "morning-brief",
             "status": "active", "sort_order": 0,
             "sender_email": "brief@example.org"},
            {"id": "n2", "name": "Weekly", "slug": "weekly",
             "status": "active", "sort_order": 1},
        ],
        "members": [
            {"id": "mb1", "email": "Reader.One@Example.org",
             "created_at": "2023-01-01T00:00:00.000Z"},
            {"id": "mb2", "email": "two@example.org"},
            {"id": "mb3", "email": "not-an-address"},
            {"id": "mb4", "email": "left@example.org"},
        ],
        "members_newsletters": [
            {"id": "x1", "member_id": "mb1", "newsletter_id": "n1"},
            {"id": "x2", "member_id": "mb1", "newsletter_id": "n2"},
            {"id": "x3", "member_id": "mb2", "newsletter_id": "n2"},
        ],
    }}]}


def write_synthetic(tmp):
    path = os.path.join(tmp, "synthetic.json")
    with open(path, "w") as f:
        json.dump(SYNTHETIC, f, indent=1)
    return path


@pytest.mark.parametrize("path", good_fixtures(),
                         ids=lambda p: os.path.basename(p))
def test_fixture_counts_match_the_file(tmp, path):
    data = tables(path)
    site = new_site(tmp)
    r = run("import", "ghost", site, path)
    assert r.returncode == 0, r.stderr
    assert "imported" in r.stdout
    assert count(site, "posts") == len(data.get("posts", []))
    assert count(site, "authors") == len(data.get("users", []))
    # pages become posts tagged "page", as in the WordPress import
    pages = [p for p in data.get("posts", [])
             if p.get("type") == "page" or p.get("page") in (1, True)]
    assert count(site, "tags") == len(data.get("tags", [])) + bool(pages)
    assert count(site, "post_tags") == (len(data.get("posts_tags", []))
                                        + len(pages))
    if data.get("posts_authors"):
        assert count(site, "post_authors") == len(data["posts_authors"])
    # slugs and publication dates are those of the file
    posts = site_posts(site)
    for p in data.get("posts", []):
        assert p["slug"] in posts
        assert posts[p["slug"]][0] == p["title"]


def test_broken_file_is_a_clear_error(tmp):
    site = new_site(tmp)
    r = run("import", "ghost", site, BROKEN)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("newsroom: ")
    assert "line 1, column 2" in lines[0]
    assert "not a Ghost export" in lines[0]
    assert count(site, "posts") == 0


def test_invalid_json_names_line_and_column_and_changes_nothing(tmp):
    site = new_site(tmp)
    src = os.path.join(FIXTURES, "ghost-4x-fixtures", "v4_export.json")
    with open(src) as f:
        text = f.read()
    cut = os.path.join(tmp, "cut.json")
    with open(cut, "w") as f:  # ends in the middle of the file
        f.write(text[:len(text) // 2])
    r = run("import", "ghost", site, cut)
    assert r.returncode == 1
    nlines = text[:len(text) // 2].count("\n") + 1
    assert f"line {nlines}, column " in r.stderr, r.stderr
    assert "not valid JSON" in r.stderr
    bad = os.path.join(tmp, "bad.json")
    with open(bad, "w") as f:
        f.write('{"db":[{"meta":{},\n  "data":{"posts":[{"id":"1",}]}}]}')
    r = run("import", "ghost", site, bad)
    assert r.returncode == 1
    assert "line 2, column 31" in r.stderr, r.stderr
    assert all(v == 0 for v in all_counts(site).values())


def test_usage_and_missing_file(tmp):
    r = run("import", "ghost", "--help")
    assert r.returncode == 0 and "usage: newsroom import ghost" in r.stdout
    r = run("import", "ghost", "only-one-arg")
    assert r.returncode == 2 and r.stderr.startswith("newsroom: ")
    site = new_site(tmp)
    r = run("import", "ghost", site, os.path.join(tmp, "nope.json"))
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "nope.json" in r.stderr
    r = run("export", "--help")
    assert r.returncode == 0 and "usage: newsroom export" in r.stdout


def test_reimport_is_a_no_op(tmp):
    site = new_site(tmp)
    for path in good_fixtures()[:1] + [write_synthetic(tmp)]:
        r = run("import", "ghost", site, path)
        assert r.returncode == 0, r.stderr
    before = all_counts(site)
    for path in good_fixtures()[:1] + [write_synthetic(tmp)]:
        r = run("import", "ghost", site, path)
        assert r.returncode == 0, r.stderr
        assert "already imported" in r.stdout
        assert " 0 imported" in r.stdout
    assert all_counts(site) == before


def test_synthetic_export_in_any_order(tmp):
    site = new_site(tmp)
    r = run("import", "ghost", site, write_synthetic(tmp))
    assert r.returncode == 0, r.stderr
    # the member without an address is reported, not fatal
    assert "not-an-address" in r.stdout
    posts = site_posts(site)
    title, status, pub, authors, tags = posts["rates-rivers"]
    assert title == "Rates & <Rivers>"
    assert status == "published"
    # 10:30 at +02:00 is 08:30 UTC
    assert pub == 1682929800
    assert authors == ["bob", "ann"]  # sort_order, not file order
    assert tags == ["rivers", "economy"]
    assert posts["draft-thing"][1] == "draft"
    assert posts["about-us"][1] == "published"
    assert posts["about-us"][4] == ["page"]
    with db(site) as c:
        md, featured, alt, cap, standfirst = c.execute(
            "SELECT markdown, featured, feature_alt, feature_caption, "
            "standfirst FROM posts WHERE slug = 'rates-rivers'").fetchone()
        assert featured == 1
        assert alt == "Lead alt" and "Ann" in cap
        assert standfirst == "The dek."
        assert "**bold**" in md and "(<https://example.org/x>)" in md
        assert "## Second part" in md and "- one" in md
        assert "alert" not in md
        img = c.execute("SELECT i.name FROM posts p JOIN images i ON "
                        "i.id = p.feature_image_id WHERE p.slug = "
                        "'rates-rivers'").fetchone()[0]
        assert img == "https://cdn.example.org/lead.jpg"
        draft_md = c.execute("SELECT markdown FROM posts WHERE slug = "
                             "'draft-thing'").fetchone()[0]
        assert draft_md == "Just *markdown*."
        subs = sorted(c.execute(
            "SELECT s.email, n.slug, x.state FROM subscriptions x JOIN "
            "subscribers s ON s.id = x.subscriber_id JOIN newsletters n ON "
            "n.id = x.newsletter_id"))
    # a member who chose no newsletter is kept, receiving nothing
    assert subs == [("left@example.org", "morning-brief", "unsubscribed"),
                    ("reader.one@example.org", "morning-brief", "active"),
                    ("reader.one@example.org", "weekly", "active"),
                    ("two@example.org", "weekly", "active")]
    # members are imported without sending any mail
    assert count(site, "mail_outbox") == 0
    srv = Server(site)
    try:
        st, _, body = srv.get("/rates-rivers/")
        assert st == 200
        page = body.decode()
        assert "Rates &amp; &lt;Rivers&gt;" in page
        assert "<figcaption>The river at dawn</figcaption>" in page
        assert "<script>alert" not in page
        assert srv.get("/about-us/")[0] == 200
        assert srv.get("/draft-thing/")[0] == 404
    finally:
        srv.stop()


def test_imported_posts_are_served_at_their_old_slugs(tmp):
    path = os.path.join(FIXTURES, "ghost-4x-fixtures", "v4_export.json")
    data = tables(path)
    site = new_site(tmp)
    assert run("import", "ghost", site, path).returncode == 0
    srv = Server(site)
    try:
        for p in data["posts"]:
            if p["status"] != "published" or p.get("visibility") != "public":
                continue
            st, _, body = srv.get("/" + p["slug"] + "/")
            assert st == 200, p["slug"]
            assert p["title"].replace("'", "&#39;") in body.decode() or \
                p["title"] in body.decode()
    finally:
        srv.stop()


def test_export_then_import_round_trips(tmp):
    a = new_site(tmp, "a")
    for path in good_fixtures()[:1] + [write_synthetic(tmp)]:
        assert run("import", "ghost", a, path).returncode == 0
    out = os.path.join(tmp, "export.json")
    r = run("export", a, out)
    assert r.returncode == 0, r.stderr
    data = tables(out)
    with open(out) as f:
        meta = json.load(f)["db"][0]["meta"]
    assert meta["version"] and meta["exported_on"] > 0
    assert len(data["posts"]) == count(a, "posts")
    b = new_site(tmp, "b")
    r = run("import", "ghost", b, out)
    assert r.returncode == 0, r.stderr
    assert site_posts(b) == site_posts(a)
    with db(a) as ca, db(b) as cb:
        q = ("SELECT slug, markdown, featured, standfirst, feature_alt, "
             "feature_caption, created_at, updated_at FROM posts "
             "ORDER BY slug")
        assert ca.execute(q).fetchall() == cb.execute(q).fetchall()
        q = "SELECT slug, name, email, bio FROM authors ORDER BY slug"
        assert ca.execute(q).fetchall() == cb.execute(q).fetchall()
        q = "SELECT slug, name FROM tags ORDER BY slug"
        assert ca.execute(q).fetchall() == cb.execute(q).fetchall()
        q = ("SELECT s.email, n.slug, x.state FROM subscriptions x JOIN "
             "subscribers s ON s.id = x.subscriber_id JOIN newsletters n ON "
             "n.id = x.newsletter_id ORDER BY 1, 2")
        assert ca.execute(q).fetchall() == cb.execute(q).fetchall()
    # and a second export of the copy says the same about the posts
    out2 = os.path.join(tmp, "export2.json")
    assert run("export", b, out2).returncode == 0
    key = lambda p: p["slug"]
    strip = lambda ps: [{k: v for k, v in p.items() if k != "id"}
                        for p in sorted(ps, key=key)]
    assert strip(tables(out2)["posts"]) == strip(data["posts"])


def test_large_export_streams_in_bounded_memory(tmp):
    """An export far larger than what the import may keep in memory: 150 MB
    of a table we skip (Ghost's email_recipients) and posts of 300 KB
    each. The import's peak memory (about 50 MB, most of it the libraries
    and one post being converted) stays far under the file's size. Not
    measured under the sanitizers (make asan), whose shadow memory would
    count."""
    from conftest import BIN
    path = os.path.join(tmp, "big.json")
    para = ("<p>" + "word " * 60 + "<strong>bold</strong> and "
            "<a href='https://x.org/'>a link</a></p>\n")
    with open(path, "w") as f:
        f.write('{"db":[{"meta":{"exported_on":1,"version":"5.0.0"},'
                '"data":{"email_recipients":[')
        row = json.dumps({"id": "e", "member_email": "x" * 900})
        f.write(",".join([row] * 165000))
        f.write('],"posts":[')
        for i in range(20):
            if i:
                f.write(",")
            json.dump({"id": "p%d" % i, "title": "Post %d" % i,
                       "slug": "post-%d" % i, "html": para * 900,
                       "status": "published"}, f)
        f.write("]}}]}")
    size = os.path.getsize(path)
    assert size > 150 * 1024 * 1024
    site = new_site(tmp)
    code = ("import resource, subprocess, sys\n"
            "r = subprocess.run(sys.argv[1:], capture_output=True)\n"
            "print(r.returncode, resource.getrusage("
            "resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", code, BIN, "import", "ghost",
                          site, path], capture_output=True, text=True,
                         timeout=300).stdout.split()
    assert out[0] == "0"
    if "LSAN_OPTIONS" not in os.environ:
        assert int(out[1]) * 1024 < size * 0.5, f"peak {out[1]} KB"
    assert count(site, "posts") == 20


# ---- --images: Ghost's content/images folder -------------------------------

GHOST_IMG = "__GHOST_URL__/content/images"


def images_export(tmp):
    """An export whose posts use images from Ghost's content folder: a
    feature image shared by two posts, a resized body image (size/w1000/),
    one missing from the folder, one that is not an image, and a path
    that tries to leave the folder."""
    folder = os.path.join(tmp, "ghost", "content", "images")
    os.makedirs(os.path.join(folder, "2026", "03"))
    with open(os.path.join(folder, "2026", "03", "harbour.png"), "wb") as f:
        f.write(png(640, 400, 10))
    with open(os.path.join(folder, "2026", "03", "crane.png"), "wb") as f:
        f.write(png(320, 200, 90))
    with open(os.path.join(folder, "2026", "03", "notes.png"), "wb") as f:
        f.write(b"<svg onload=alert(1)></svg>")
    with open(os.path.join(tmp, "ghost", "secret.png"), "wb") as f:
        f.write(png(20, 20, 1))
    post = {"type": "post", "status": "published", "visibility": "public",
            "created_at": "2026-03-01T09:00:00.000Z",
            "published_at": "2026-03-01T09:00:00.000Z"}
    data = {"db": [{"meta": {"version": "5.80.0"}, "data": {"posts": [
        dict(post, id="g1", title="Harbour at dawn", slug="harbour-at-dawn",
             feature_image=GHOST_IMG + "/2026/03/harbour.png",
             html="<p>Intro.</p><figure><img src=\"" + GHOST_IMG +
                  "/size/w1000/2026/03/crane.png\" alt=\"A crane\">"
                  "<figcaption>Crane at work</figcaption></figure>"
                  "<p>Gone: <img src=\"" + GHOST_IMG +
                  "/2026/03/missing.png\" alt=\"m\"></p>"
                  "<p>Out: <img src=\"" + GHOST_IMG +
                  "/../secret.png\" alt=\"s\"></p>"),
        dict(post, id="g2", title="Second look", slug="second-look",
             feature_image="https://old.example.org/content/images/2026/03/"
                           "harbour.png?v=2",
             html="<p><img src=\"" + GHOST_IMG +
                  "/2026/03/notes.png\" alt=\"n\"></p>"),
    ]}}]}
    path = os.path.join(tmp, "images.json")
    with open(path, "w") as f:
        json.dump(data, f)
    return path, folder


def test_images_folder_shows_feature_and_body_images(tmp):
    path, folder = images_export(tmp)
    site = new_site(tmp)
    r = run("import", "ghost", site, path, "--images", folder)
    assert r.returncode == 0, r.stderr
    assert "images" in r.stdout and "2 taken from" in r.stdout, r.stdout
    assert "missing.png': not in the --images folder" in r.stdout, r.stdout
    assert "notes.png': SVG images are not accepted" in r.stdout, r.stdout
    assert "secret" not in r.stdout  # a path out of the folder is not read
    with db(site) as c:
        rows = c.execute("SELECT name, widths FROM images WHERE name LIKE "
                         "'images/%' ORDER BY name").fetchall()
        feats = c.execute("SELECT DISTINCT feature_image_id FROM posts "
                          "WHERE slug IN ('harbour-at-dawn', 'second-look')"
                          ).fetchall()
    assert [n.split("/")[1].rsplit("-", 1)[0] for n, _ in rows] == \
        ["crane", "harbour"], rows
    assert all(w for _, w in rows)
    assert len(feats) == 1  # the same image, taken once, for both posts

    srv = Server(site)
    try:
        from bs4 import BeautifulSoup
        st, _, body = srv.get("/harbour-at-dawn/")
        assert st == 200
        page = BeautifulSoup(body, "html.parser")
        feature = page.select_one("figure.feature img")
        assert feature is not None and "/media/images/harbour-" in \
            feature["src"], feature
        crane = [i for i in page.find_all("img")
                 if "/media/images/crane-" in i.get("src", "")]
        assert crane and crane[0].get("width") and crane[0].get("alt") == \
            "A crane", crane
        for src in (feature["src"], crane[0]["src"]):
            st, _, got = srv.get(src)
            assert st == 200 and got[:3] == b"\xff\xd8\xff", src
        assert "/media/images/secret" not in body.decode()  # not read
        st, _, body = srv.get("/second-look/")
        assert st == 200 and b"/media/images/harbour-" in body
    finally:
        srv.stop()

    before = all_counts(site)
    r = run("import", "ghost", site, path, "--images", folder)
    assert r.returncode == 0 and "0 taken from" in r.stdout, r.stdout
    assert all_counts(site) == before


def test_images_folder_errors(tmp):
    path, folder = images_export(tmp)
    site = new_site(tmp)
    for args in (["--images"], ["--images", os.path.join(tmp, "nope")],
                 ["--images", path]):
        r = run("import", "ghost", site, path, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1 and "--images" in r.stderr
    assert count(site, "posts") == 0
    r = run("import", "ghost", site, path)  # without it: URLs kept
    assert r.returncode == 0 and "taken from" not in r.stdout
    with db(site) as c:
        assert c.execute("SELECT count(*) FROM images WHERE name LIKE "
                         "'images/%'").fetchone()[0] == 0
