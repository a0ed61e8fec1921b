"""The site's article feeds (docs/feeds.md): RSS 2.0, Atom 1.0 and JSON
Feed 1.1 for the whole site, each section, each tag and each author, read
the way a feed reader reads them (python3-feedparser, json) from the real
binary serving a copy of the demo site. What the feeds list is compared
with the database and with the HTML pages, never with a hard-coded list."""
import email.utils
import json
import os
import re
import shutil
import sqlite3
import time
from datetime import datetime

import feedparser
import pytest
from bs4 import BeautifulSoup

from conftest import Server, run

FORMATS = ["rss.xml", "atom.xml", "feed.json"]
SCOPES = ["", "/section/war", "/tag/railways", "/author/oskar-belan"]
TRICKY = '<script>alert(1)</script> & "quotes" & Привіт, Київ — «лапки»'
NOW = int(time.time())


def sql(site, query, *args):
    con = sqlite3.connect(os.path.join(site, "newsroom.db"))
    try:
        rows = con.execute(query, args).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def add_post(site, slug, title, status, published_at, created_at,
             section="war", tags=("railways",), author="oskar-belan",
             markdown="A body.", standfirst=None):
    """Inserts a post with its byline and tags; returns its id."""
    sql(site, "INSERT INTO posts (slug, title, standfirst, excerpt, status, "
        "created_at, published_at, updated_at, markdown, plaintext) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", slug, title, standfirst,
        "Excerpt of " + slug, status, created_at, published_at, published_at,
        markdown, markdown)
    pid = sql(site, "SELECT id FROM posts WHERE slug = ?", slug)[0][0]
    sql(site, "INSERT INTO post_authors (post_id, author_id, position) "
        "SELECT ?, id, 0 FROM authors WHERE slug = ?", pid, author)
    for i, t in enumerate((section,) + tuple(tags)):
        sql(site, "INSERT INTO post_tags (post_id, tag_id, position) "
            "SELECT ?, id, ? FROM tags WHERE slug = ?", pid, i, t)
    return pid


def prepare(site, extra_conf=""):
    """The demo plus: a newest post with a tricky title and relative links,
    a draft, a scheduled post, a 'published' post dated in the future, and
    an empty section."""
    add_post(site, "tricky-title", TRICKY, "published", NOW - 60, NOW - 3600,
             markdown="See [the ferrymen](/ferrymen-of-the-tesslin/) and "
             "[the news feed](/news-feed/).\n\nSecond paragraph here.",
             standfirst="A standfirst with <b> & ünïcödé")
    add_post(site, "secret-draft", "Secret draft", "draft", NOW - 30,
             NOW - 30)
    add_post(site, "scheduled-later", "Scheduled later", "scheduled",
             NOW + 86400, NOW - 30)
    add_post(site, "future-published", "Future published", "published",
             NOW + 86400, NOW - 30)
    sql(site, "INSERT INTO tags (slug, name, kind, position) "
        "VALUES ('empty-desk', 'Empty Desk', 'section', 9)")
    with open(os.path.join(site, "site.conf"), "a") as f:
        f.write("\n" + extra_conf)


@pytest.fixture(scope="module")
def site(demo_dir, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("feeds") / "site")
    shutil.copytree(demo_dir, d, ignore=shutil.ignore_patterns("server.log"))
    prepare(d)
    s = Server(d)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def excerpt_site(demo_dir, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("feeds-excerpt") / "site")
    shutil.copytree(demo_dir, d, ignore=shutil.ignore_patterns("server.log"))
    prepare(d, "feed_content = excerpt\nfeed_items = 3\n")
    s = Server(d)
    yield s
    s.stop()


def site_url(srv):
    with open(os.path.join(srv.dir, "site.conf")) as f:
        return re.search(r"^url\s*=\s*(\S+)", f.read(), re.M).group(1)


def fetch(srv, path, status=200):
    code, headers, body = srv.get(path)
    assert code == status, (path, code, body[:300])
    return headers, body


def parse(srv, path):
    """(kind, parsed) for a feed path: kind 'json' with the dict, or 'xml'
    with the feedparser result (checked well-formed)."""
    headers, body = fetch(srv, path)
    if path.endswith(".json"):
        assert headers["Content-Type"] == "application/feed+json"
        return "json", json.loads(body)
    d = feedparser.parse(body)
    assert d.bozo == 0, (path, d.get("bozo_exception"))
    return "xml", d


def entry_links(kind, d):
    if kind == "json":
        return [it["url"] for it in d["items"]]
    return [e.link for e in d.entries]


def entry_ids(kind, d):
    if kind == "json":
        return [it["id"] for it in d["items"]]
    return [e.id for e in d.entries]


def expected_slugs(srv, scope, limit=20):
    """Published posts of scope, newest first, as the store orders them."""
    where, args = "", []
    if scope.startswith("/author/"):
        where = ("AND p.id IN (SELECT pa.post_id FROM post_authors pa JOIN "
                 "authors a ON a.id = pa.author_id WHERE a.slug = ?)")
        args = [scope.split("/")[2]]
    elif scope:
        where = ("AND p.id IN (SELECT pt.post_id FROM post_tags pt JOIN tags "
                 "t ON t.id = pt.tag_id WHERE t.slug = ?)")
        args = [scope.split("/")[2]]
    rows = sql(srv.dir, "SELECT p.slug FROM posts p WHERE p.status = "
               "'published' AND p.published_at <= ? " + where +
               " ORDER BY p.published_at DESC, p.id DESC LIMIT ?",
               int(time.time()), *args, limit)
    return [r[0] for r in rows]


def html_slugs(srv, path):
    """Article slugs of the cards on an HTML list page, in order."""
    _, body = fetch(srv, path)
    doc = BeautifulSoup(body.decode(), "html.parser")
    main = doc.find("main")
    out = []
    for a in main.select(".card-title a"):
        slug = a["href"].strip("/")
        if slug not in out:
            out.append(slug)
    return out


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_each_feed_lists_the_published_posts_newest_first(site, scope, fmt):
    base = site_url(site)
    kind, d = parse(site, f"{scope}/{fmt}")
    want = expected_slugs(site, scope)
    assert want, "the scope should have posts"
    assert entry_links(kind, d) == [f"{base}/{s}/" for s in want]
    # the same order as the HTML page of that scope shows
    # (list pages show a 'published' post dated in the future; feeds wait
    # for its date)
    page = [s for s in html_slugs(site, f"{scope}/" if scope else "/archive/")
            if s != "future-published"]
    assert want[:len(page)] == page
    for bad in ("secret-draft", "scheduled-later", "future-published"):
        assert f"{base}/{bad}/" not in entry_links(kind, d)
    ids = entry_ids(kind, d)
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"tag:127\.0\.0\.1,\d{4}-\d\d-\d\d:post-\d+", i)
               for i in ids)


@pytest.mark.parametrize("scope", SCOPES)
def test_feed_metadata_self_links_and_titles(site, scope):
    base = site_url(site)
    kind, rss = parse(site, f"{scope}/rss.xml")
    self_links = [l.href for l in rss.feed.links if l.rel == "self"]
    assert self_links == [f"{base}{scope}/rss.xml"]
    assert rss.feed.link == f"{base}{scope}/"
    kind, atom = parse(site, f"{scope}/atom.xml")
    rels = {l.rel: l.href for l in atom.feed.links}
    assert rels["self"] == f"{base}{scope}/atom.xml"
    assert rels["alternate"] == f"{base}{scope}/"
    kind, js = parse(site, f"{scope}/feed.json")
    assert js["version"] == "https://jsonfeed.org/version/1.1"
    assert js["feed_url"] == f"{base}{scope}/feed.json"
    assert js["home_page_url"] == f"{base}{scope}/"
    assert js["language"] == "en"
    assert rss.feed.title == atom.feed.title == js["title"]
    if scope == "/section/war":
        assert js["title"].startswith("War - ")
    if scope == "/author/oskar-belan":
        assert js["title"].startswith("Oskar Belan - ")
        assert js["authors"][0]["name"] == "Oskar Belan"
        assert js["authors"][0]["url"] == f"{base}/author/oskar-belan/"


def test_json_feed_structure_follows_version_1_1(site):
    _, js = parse(site, "/feed.json")
    assert isinstance(js["title"], str) and js["items"]
    for it in js["items"]:
        assert isinstance(it["id"], str) and it["id"]
        assert "content_html" in it or "content_text" in it
        for k in ("date_published", "date_modified"):
            # RFC 3339: a full date-time with an offset
            assert re.fullmatch(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)", it[k])
            assert datetime.fromisoformat(it[k]).tzinfo is not None
        assert isinstance(it["authors"], list) and it["authors"]
        assert all(isinstance(a["name"], str) for a in it["authors"])
        assert isinstance(it["tags"], list)


def test_dates_match_the_store(site):
    base = site_url(site)
    rows = dict(sql(site.dir, "SELECT slug, published_at FROM posts"))
    upd = dict(sql(site.dir, "SELECT slug, max(updated_at, published_at) "
                   "FROM posts"))
    _, rss = parse(site, "/rss.xml")
    _, atom = parse(site, "/atom.xml")
    _, js = parse(site, "/feed.json")
    for e in rss.entries:
        slug = e.link[len(base) + 1:-1]
        assert email.utils.parsedate_to_datetime(
            e.published).timestamp() == rows[slug]
    for e in atom.entries:
        slug = e.link[len(base) + 1:-1]
        assert datetime.fromisoformat(e.published).timestamp() == rows[slug]
        assert datetime.fromisoformat(e.updated).timestamp() == upd[slug]
    for it in js["items"]:
        slug = it["url"][len(base) + 1:-1]
        assert datetime.fromisoformat(
            it["date_published"]).timestamp() == rows[slug]
    newest = max(upd[e.link[len(base) + 1:-1]] for e in rss.entries)
    assert email.utils.parsedate_to_datetime(
        rss.feed.updated).timestamp() == newest
    assert datetime.fromisoformat(atom.feed.updated).timestamp() == newest


def test_authors_and_categories(site):
    base = site_url(site)
    _, rss = parse(site, "/rss.xml")
    _, atom = parse(site, "/atom.xml")
    _, js = parse(site, "/feed.json")
    for i, e in enumerate(rss.entries):
        slug = e.link[len(base) + 1:-1]
        names = [r[0] for r in sql(
            site.dir, "SELECT a.name FROM post_authors pa JOIN authors a ON "
            "a.id = pa.author_id JOIN posts p ON p.id = pa.post_id WHERE "
            "p.slug = ? ORDER BY pa.position", slug)]
        tags = [r[0] for r in sql(
            site.dir, "SELECT t.name FROM post_tags pt JOIN tags t ON "
            "t.id = pt.tag_id JOIN posts p ON p.id = pt.post_id WHERE "
            "p.slug = ? ORDER BY pt.position", slug)]
        assert e.get("author") in names
        assert [t.term for t in e.tags] == tags
        assert [a.name for a in atom.entries[i].authors] == names
        assert [t.label for t in atom.entries[i].tags] == tags
        assert [a["name"] for a in js["items"][i]["authors"]] == names
        assert js["items"][i]["tags"] == tags
        assert atom.entries[i].authors[0].href.startswith(base + "/author/")


def wait_for_link(srv, path, url, present=True):
    """Polls the feed at path until url is (or is not) among its entry
    links: the server notices another process's commit within a moment
    (its page cache follows the store's version). The last parse."""
    deadline = time.time() + 5
    while True:
        kind, d = parse(srv, path)
        if (url in entry_links(kind, d)) == present or time.time() > deadline:
            return kind, d
        time.sleep(0.05)


def test_guids_survive_slug_and_title_edits(site):
    base = site_url(site)
    before = {}
    for fmt in FORMATS:
        kind, d = parse(site, "/" + fmt)
        before[fmt] = entry_ids(kind, d)
    pid = sql(site.dir, "SELECT id FROM posts WHERE slug = "
              "'ferrymen-of-the-tesslin'")[0][0]
    sql(site.dir, "UPDATE posts SET slug = 'ferrymen-renamed', title = "
        "'A new headline' WHERE id = ?", pid)
    try:
        for fmt in FORMATS:
            kind, d = wait_for_link(site, "/" + fmt,
                                    f"{base}/ferrymen-renamed/")
            assert f"{base}/ferrymen-renamed/" in entry_links(kind, d)
            assert f"{base}/ferrymen-of-the-tesslin/" not in entry_links(
                kind, d)
            assert entry_ids(kind, d) == before[fmt]
    finally:
        sql(site.dir, "UPDATE posts SET slug = 'ferrymen-of-the-tesslin', "
            "title = 'The ferrymen of the Tesslin' WHERE id = ?", pid)
        for fmt in FORMATS:
            wait_for_link(site, "/" + fmt, f"{base}/ferrymen-renamed/",
                          present=False)


def test_absolute_urls_everywhere(site):
    base = site_url(site)
    for fmt in FORMATS:
        kind, d = parse(site, "/" + fmt)
        if kind == "json":
            htmls = [it["content_html"] for it in d["items"]]
            urls = [u for it in d["items"] for u in (it["url"],
                    it.get("image")) if u]
        else:
            htmls = [e.content[0].value for e in d.entries]
            urls = [l.href for e in d.entries for l in e.links]
        assert all(u.startswith(base + "/") for u in urls), urls
        assert any(h for h in htmls)
        for h in htmls:
            doc = BeautifulSoup(h, "html.parser")
            for tag, attr in (("a", "href"), ("img", "src")):
                for el in doc.find_all(tag):
                    v = el.get(attr, "")
                    assert not v.startswith("/"), (fmt, v)
    # the tricky post's relative links came out absolute
    _, js = parse(site, "/feed.json")
    html = js["items"][0]["content_html"]
    assert f'href="{base}/ferrymen-of-the-tesslin/"' in html
    assert f'href="{base}/news-feed/"' in html


def test_enclosures_point_at_the_image_with_its_size(site):
    base = site_url(site)
    _, rss = parse(site, "/rss.xml")
    _, atom = parse(site, "/atom.xml")
    _, js = parse(site, "/feed.json")
    with_image = {r[0] for r in sql(
        site.dir, "SELECT slug FROM posts WHERE feature_image_id IS NOT NULL")}
    seen = 0
    for e, a, it in zip(rss.entries, atom.entries, js["items"]):
        slug = e.link[len(base) + 1:-1]
        encl = [l for l in e.links if l.rel == "enclosure"]
        if slug not in with_image:
            assert not encl and "image" not in it
            continue
        seen += 1
        assert len(encl) == 1
        url = encl[0].href
        assert url.startswith(base + "/media/") and url.endswith(".jpg")
        path = os.path.join(site.dir, "media", url[len(base) + 7:])
        assert int(encl[0].length) == os.path.getsize(path)
        assert encl[0].type == "image/jpeg"
        aencl = [l for l in a.links if l.rel == "enclosure"]
        assert aencl[0].href == url and int(aencl[0].length) == int(
            encl[0].length)
        assert it["image"] == url
        code, _, body = site.get(url[len(base):])
        assert code == 200 and len(body) == os.path.getsize(path)
    assert seen > 0


def test_full_content_by_default(site):
    _, rss = parse(site, "/rss.xml")
    _, js = parse(site, "/feed.json")
    e = rss.entries[0]
    assert "Second paragraph here." in e.content[0].value
    assert e.summary == "A standfirst with <b> & ünïcödé"
    assert "Second paragraph here." in js["items"][0]["content_html"]
    # a demo article: a sentence from deep in its body is there
    plain = sql(site.dir, "SELECT plaintext FROM posts WHERE slug = "
                "'dornik-rail-junction-strike'")[0][0]
    words = plain.split()[200:206]
    item = next(it for it in js["items"]
                if it["url"].endswith("/dornik-rail-junction-strike/"))
    text = BeautifulSoup(item["content_html"], "html.parser").get_text(" ")
    assert " ".join(words) in " ".join(text.split())


def test_excerpt_setting_and_item_count(excerpt_site):
    srv = excerpt_site
    want = expected_slugs(srv, "", limit=3)
    base = site_url(srv)
    for fmt in FORMATS:
        kind, d = parse(srv, "/" + fmt)
        assert entry_links(kind, d) == [f"{base}/{s}/" for s in want]
    _, rss = parse(srv, "/rss.xml")
    _, atom = parse(srv, "/atom.xml")
    _, js = parse(srv, "/feed.json")
    assert all("content" not in e for e in rss.entries)
    assert all("content" not in e for e in atom.entries)
    assert rss.entries[0].summary == "A standfirst with <b> & ünïcödé"
    assert "Second paragraph" not in fetch(srv, "/rss.xml")[1].decode()
    for it in js["items"]:
        assert "content_html" not in it and it["content_text"]
    assert js["items"][0]["content_text"] == "A standfirst with <b> & ünïcödé"


def test_tricky_title_round_trips(site):
    _, rss = parse(site, "/rss.xml")
    _, atom = parse(site, "/atom.xml")
    _, js = parse(site, "/feed.json")
    assert rss.entries[0].title == TRICKY
    assert atom.entries[0].title == TRICKY
    assert js["items"][0]["title"] == TRICKY
    raw = fetch(site, "/rss.xml")[1].decode("utf-8")
    assert "<script>" not in raw and "&lt;script&gt;" in raw
    assert "Привіт, Київ" in raw


def test_empty_section_is_a_valid_empty_feed(site):
    base = site_url(site)
    for fmt in FORMATS:
        kind, d = parse(site, "/section/empty-desk/" + fmt)
        assert entry_links(kind, d) == []
    _, js = parse(site, "/section/empty-desk/feed.json")
    assert js["items"] == [] and js["home_page_url"] == (
        base + "/section/empty-desk/")


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_slug_is_404_and_wrong_kind_redirects(site, fmt):
    for scope in ("/section/no-such", "/tag/no-such", "/author/no-such"):
        code, headers, body = site.get(f"{scope}/{fmt}")
        assert code == 404 and b"Page not found" in body
    code, headers, _ = site.get(f"/tag/war/{fmt}")
    assert code == 301 and headers["Location"].endswith(f"/section/war/{fmt}")
    code, headers, _ = site.get(f"/section/railways/{fmt}")
    assert code == 301 and headers["Location"].endswith(
        f"/tag/railways/{fmt}")


@pytest.mark.parametrize("fmt,ctype", [
    ("rss.xml", "application/rss+xml; charset=utf-8"),
    ("atom.xml", "application/atom+xml; charset=utf-8"),
    ("feed.json", "application/feed+json")])
def test_http_caching_and_head(site, fmt, ctype):
    code, headers, body = site.get("/" + fmt)
    assert code == 200 and headers["Content-Type"] == ctype
    assert "max-age" in headers["Cache-Control"]
    etag = headers["ETag"]
    code, _, _ = site.get("/" + fmt, headers={"If-None-Match": etag})
    assert code == 304
    code, h, b = site.get("/" + fmt, method="HEAD")
    assert code == 200 and b == b"" and h["ETag"] == etag


@pytest.mark.parametrize("page,own", [
    ("/", None), ("/section/war/", "/section/war/"),
    ("/tag/railways/", "/tag/railways/"),
    ("/author/oskar-belan/", "/author/oskar-belan/"),
    ("/dornik-rail-junction-strike/", None)])
def test_autodiscovery_links_point_at_working_feeds(site, page, own):
    _, body = fetch(site, page)
    head = BeautifulSoup(body.decode(), "html.parser").head
    links = [(l["type"], l["href"], l.get("title", ""))
             for l in head.find_all("link", rel="alternate")]
    hrefs = [h for _, h, _ in links]
    for f in FORMATS:
        assert "/" + f in hrefs
        if own:
            assert own + f in hrefs
            # the page's own feeds come first
            assert hrefs.index(own + f) < hrefs.index("/" + f)
    # the News Feed and the podcast stay advertised
    assert "/news-feed/rss.xml" in hrefs and "/podcast.xml" in hrefs
    if not own:
        assert not any(h.startswith(("/section/", "/tag/", "/author/"))
                       for h in hrefs)
    for typ, href, title in links:
        if href.startswith(("/news-feed/", "/podcast")):
            continue
        code, headers, _ = site.get(href)
        assert code == 200, href
        assert headers["Content-Type"].startswith(typ)
        kind, d = parse(site, href)
        ftitle = d["title"] if kind == "json" else d.feed.title
        assert ftitle.split(" - ")[0] in title


@pytest.mark.parametrize("line,key", [
    ("feed_content = summary", "feed_content"),
    ("feed_items = 0", "feed_items"), ("feed_items = 101", "feed_items")])
def test_bad_feed_settings_are_refused(demo_dir, tmp_path, line, key):
    d = str(tmp_path / "site")
    shutil.copytree(demo_dir, d, ignore=shutil.ignore_patterns("server.log"))
    with open(os.path.join(d, "site.conf"), "a") as f:
        f.write("\n" + line + "\n")
    r = run("serve", d, "--listen", "127.0.0.1:0", timeout=20)
    assert r.returncode != 0
    assert f"bad value for '{key}'" in r.stderr
