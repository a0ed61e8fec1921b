"""The sitemaps and robots.txt (docs/sitemaps.md): the real binary on a copy
of the demo site, fetched over HTTP and parsed with xml.etree as a crawler
would read them. Posts a test needs in bulk or at a set time are inserted
with SQL into the site's SQLite database."""
import os
import shutil
import sqlite3
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from conftest import Server, run
from deskclient import add_user, desk_as, q1, qall

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
IMAGE = "{http://www.google.com/schemas/sitemap-image/1.1}"


@pytest.fixture(scope="module")
def site(demo_dir, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("sitemaps") / "site")
    shutil.copytree(demo_dir, d, ignore=shutil.ignore_patterns("server.log"))
    add_user(d, "editor@example.org", "editor")
    s = Server(d)
    yield s
    s.stop()


def base_url(srv):
    """The site's url setting: what every <loc> starts with."""
    with open(os.path.join(srv.dir, "site.conf")) as f:
        for line in f:
            k, _, v = line.partition("=")
            if k.strip() == "url":
                return v.strip().rstrip("/")
    raise AssertionError("no url in site.conf")


def fetch_xml(srv, path, status=200):
    """GET path; the parsed document's root (after checking the type)."""
    code, headers, body = srv.get(path)
    assert code == status, (path, code, body[:300])
    assert headers["Content-Type"] == "application/xml; charset=utf-8"
    assert headers["ETag"]
    return ET.fromstring(body)


def local(srv, loc):
    """The path of an absolute <loc> of this site."""
    base = base_url(srv)
    assert loc.startswith(base + "/"), loc
    return loc[len(base):]


def index(srv):
    """{path: lastmod or None} of /sitemap.xml, in document order."""
    root = fetch_xml(srv, "/sitemap.xml")
    assert root.tag == SM + "sitemapindex"
    out = {}
    for sm in root.findall(SM + "sitemap"):
        lm = sm.find(SM + "lastmod")
        out[local(srv, sm.find(SM + "loc").text)] = (
            lm.text if lm is not None else None)
    return out


def urls(srv, path):
    """{page path: <url> element} of a <urlset>; no page listed twice."""
    root = fetch_xml(srv, path)
    assert root.tag == SM + "urlset"
    out = {}
    for u in root.findall(SM + "url"):
        p = local(srv, u.find(SM + "loc").text)
        assert p not in out, ("listed twice", p)
        out[p] = u
    return out


def post_paths(srv):
    """Every page listed by the post sitemaps the index names, counting
    duplicates across files."""
    seen = []
    for p in index(srv):
        if p.startswith("/sitemap-posts-"):
            seen += list(urls(srv, p))
    return seen


def public_slugs(site_dir):
    now = int(time.time())
    return {r[0] for r in qall(site_dir, "SELECT slug FROM posts WHERE status "
                               "= 'published' AND published_at <= ?", now)}


def insert_post(site_dir, slug, status="published", published_at=None,
                updated_at=0, title=None):
    con = sqlite3.connect(os.path.join(site_dir, "newsroom.db"))
    try:
        now = int(time.time())
        con.execute(
            "INSERT INTO posts (slug, title, status, created_at, published_at,"
            " updated_at, language) VALUES (?, ?, ?, ?, ?, ?, 'en')",
            (slug, title or slug.replace("-", " "), status, now,
             now if published_at is None else published_at, updated_at))
        con.commit()
    finally:
        con.close()


def w3c(s):
    """Unix seconds of a W3C datetime with a numeric offset."""
    from datetime import datetime
    return int(datetime.fromisoformat(s).timestamp())


def test_robots_txt_names_the_sitemaps_and_keeps_out_desk_and_search(site):
    code, headers, body = site.get("/robots.txt")
    assert code == 200
    assert headers["Content-Type"].startswith("text/plain")
    lines = body.decode().splitlines()
    base = base_url(site)
    assert f"Sitemap: {base}/sitemap.xml" in lines
    assert f"Sitemap: {base}/news-sitemap.xml" in lines
    assert "User-agent: *" in lines
    assert "Disallow: /desk/" in lines
    assert "Disallow: /search?" in lines
    assert "Disallow: /" not in lines  # the public site stays crawlable


def test_index_lists_every_child_and_each_fetches(site):
    idx = index(site)
    assert list(idx) == ["/sitemap-posts-1.xml", "/sitemap-authors.xml",
                         "/sitemap-sections.xml", "/news-sitemap.xml"]
    for path, lastmod in idx.items():
        assert lastmod, path  # the demo has posts for each
        root = fetch_xml(site, path)
        assert root.tag == SM + "urlset"
        assert root.findall(SM + "url"), path
    # the children's lastmod is the newest entry in each
    posts = urls(site, "/sitemap-posts-1.xml")
    newest = max(w3c(u.find(SM + "lastmod").text) for u in posts.values())
    assert w3c(idx["/sitemap-posts-1.xml"]) == newest
    # a conditional GET of an unchanged sitemap is a 304
    _, headers, _ = site.get("/sitemap.xml")
    code, _, body = site.get("/sitemap.xml",
                             headers={"If-None-Match": headers["ETag"]})
    assert code == 304 and body == b""


def test_every_public_post_once_and_no_draft_or_scheduled(site):
    d = desk_as(site, "editor")
    r = d.post("/desk/posts/", {"title": "Sitemap draft only",
                                "body": "Not public.", "action": "save"})
    assert r.status_code == 303, r.text[:300]
    r = d.post("/desk/posts/", {"title": "Sitemap fresh story",
                                "body": "Public now.", "action": "publish"})
    assert r.status_code == 303, r.text[:300]
    insert_post(site.dir, "sitemap-scheduled-story", status="scheduled",
                published_at=int(time.time()) + 86400)
    # published with a time still to come: not public yet either
    insert_post(site.dir, "sitemap-future-story",
                published_at=int(time.time()) + 86400)
    seen = post_paths(site)
    assert len(seen) == len(set(seen))
    assert set(seen) == {f"/{s}/" for s in public_slugs(site.dir)}
    assert "/sitemap-fresh-story/" in seen
    for slug in ("sitemap-draft-only", "sitemap-scheduled-story",
                 "sitemap-future-story"):
        assert f"/{slug}/" not in seen
    # every listed article is really there
    for p in seen[:5]:
        assert site.get(p)[0] == 200, p


def test_feature_images_are_listed_with_the_post(site):
    posts = urls(site, "/sitemap-posts-1.xml")
    slug, name = q1(site.dir, "SELECT p.slug, i.name FROM posts p JOIN "
                              "images i ON i.id = p.feature_image_id WHERE "
                              "p.status = 'published' LIMIT 1")
    img = posts[f"/{slug}/"].find(f"{IMAGE}image/{IMAGE}loc")
    assert img is not None
    path = local(site, img.text)
    assert path.startswith(f"/media/{name}-") and path.endswith(".jpg")
    assert site.get(path)[0] == 200


def test_lastmod_follows_an_edit(site):
    pid, slug = q1(site.dir, "SELECT id, slug FROM posts WHERE status = "
                             "'published' AND updated_at < ? ORDER BY "
                             "published_at LIMIT 1", int(time.time()) - 3600)
    before = urls(site, "/sitemap-posts-1.xml")[f"/{slug}/"]
    before = before.find(SM + "lastmod").text
    d = desk_as(site, "editor")
    title = q1(site.dir, "SELECT title FROM posts WHERE id = ?", pid)[0]
    r = d.post(f"/desk/posts/{pid}/", {"title": title, "action": "save",
                                       "body": "A corrected body."})
    assert r.status_code == 303, r.text[:300]
    after = urls(site, "/sitemap-posts-1.xml")[f"/{slug}/"]
    after = after.find(SM + "lastmod").text
    assert w3c(after) > w3c(before)
    assert abs(w3c(after) - time.time()) < 60
    assert abs(w3c(index(site)["/sitemap-posts-1.xml"]) - time.time()) < 60


def test_authors_and_sections_with_public_posts(site):
    authors = urls(site, "/sitemap-authors.xml")
    want = {f"/author/{r[0]}/" for r in qall(
        site.dir, "SELECT DISTINCT a.slug FROM authors a JOIN post_authors "
        "pa ON pa.author_id = a.id JOIN posts p ON p.id = pa.post_id WHERE "
        "p.status = 'published'")}
    assert set(authors) == want and want
    secs = urls(site, "/sitemap-sections.xml")
    assert "/section/war/" in secs
    assert any(p.startswith("/tag/") for p in secs)
    for p in list(authors)[:2] + list(secs)[:2]:
        assert site.get(p)[0] == 200, p
    # lastmod: the newest post of that section
    newest = q1(site.dir, "SELECT max(max(p.updated_at, p.published_at)) "
                          "FROM posts p JOIN post_tags pt ON pt.post_id = "
                          "p.id JOIN tags t ON t.id = pt.tag_id WHERE "
                          "t.slug = 'war' AND p.status = 'published'")[0]
    assert w3c(secs["/section/war/"].find(SM + "lastmod").text) == newest


def test_news_sitemap_holds_the_last_48_hours(site):
    now = int(time.time())
    insert_post(site.dir, "sitemap-old-news", published_at=now - 49 * 3600,
                title="Old news")
    insert_post(site.dir, "sitemap-hot-news", published_at=now - 3600,
                title="Hot news & <markup>")
    root = fetch_xml(site, "/news-sitemap.xml")
    assert root.tag == SM + "urlset"
    items = {}
    for u in root.findall(SM + "url"):
        items[local(site, u.find(SM + "loc").text)] = u.find(NEWS + "news")
    assert "/sitemap-hot-news/" in items
    assert "/sitemap-old-news/" not in items
    want = {f"/{r[0]}/" for r in qall(
        site.dir, "SELECT slug FROM posts WHERE status = 'published' AND "
        "published_at BETWEEN ? AND ?", now - 48 * 3600 + 5, now)}
    assert want <= set(items)
    for n in items.values():
        when = w3c(n.find(NEWS + "publication_date").text)
        assert now - 48 * 3600 - 60 <= when <= now + 60
        pub = n.find(NEWS + "publication")
        assert pub.find(NEWS + "name").text == "The Halvany Courier"
        assert pub.find(NEWS + "language").text == "en"
        assert n.find(NEWS + "title").text
    hot = items["/sitemap-hot-news/"]
    assert hot.find(NEWS + "title").text == "Hot news & <markup>"
    assert "/news-sitemap.xml" in index(site)


def test_unknown_names_keep_the_old_answers(site):
    assert site.get("/sitemap-posts-2.xml")[0] == 404
    assert site.get("/sitemap-posts-0.xml")[0] == 404
    assert site.get("/sitemap-posts-01.xml")[0] == 404
    assert site.get("/favicon.ico")[0] == 404
    code, headers, _ = site.get("/archive")
    assert code == 301 and headers["Location"] == "/archive/"
    assert site.get("/sitemap-posts-1.xml", method="POST")[0] == 404


def test_posts_split_past_50000(tmpdir_path):
    d = os.path.join(tmpdir_path, "site")
    r = run("init", d)
    assert r.returncode == 0, r.stderr
    started = time.time()
    con = sqlite3.connect(os.path.join(d, "newsroom.db"))
    now = int(time.time()) - 10
    with con:
        con.executemany(
            "INSERT INTO posts (slug, title, status, created_at, published_at,"
            " updated_at) VALUES (?, ?, 'published', ?, ?, 0)",
            ((f"bulk-{i}", f"Bulk {i}", now, now - i) for i in range(50001)))
        con.execute("INSERT INTO posts (slug, title, status) VALUES "
                    "('bulk-draft', 'Bulk draft', 'draft')")
    con.close()
    srv = Server(d)
    try:
        idx = index(srv)
        assert [p for p in idx if p.startswith("/sitemap-posts-")] == [
            "/sitemap-posts-1.xml", "/sitemap-posts-2.xml"]
        first = urls(srv, "/sitemap-posts-1.xml")
        second = urls(srv, "/sitemap-posts-2.xml")
        assert len(first) == 50000 and len(second) == 1
        # newest first: the oldest post is the one left for page 2
        assert list(second) == ["/bulk-50000/"]
        assert "/bulk-0/" in first and "/bulk-draft/" not in first
        assert w3c(idx["/sitemap-posts-2.xml"]) == now - 50000
        assert w3c(idx["/sitemap-posts-1.xml"]) == now
        assert srv.get("/sitemap-posts-3.xml")[0] == 404
    finally:
        srv.stop()
    assert time.time() - started < 20
