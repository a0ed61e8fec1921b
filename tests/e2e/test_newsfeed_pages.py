"""The News Feed's own pages and feeds: /news-feed/ (every update, paged by
time, with LiveBlogPosting JSON-LD), one permalink page per update, and the
stream as JSON Feed 1.1 and RSS 2.0."""
import email.utils
import http.client
import json
import re
import shutil
import sqlite3
import time
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from bs4 import BeautifulSoup

from conftest import Server

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
ATOM = "{http://www.w3.org/2005/Atom}"
DEMO_UPDATES = 15
NASTY = "Prices <rise> & \"fall\" at O'Brien's <b>stall</b>"
SCRIPTY = "Breaking </script><script>alert(1)</script> <!-- x"
CONTROL = "Bell\x07 and\x01 escape\x1b removed"


def soup(server, path, status=200):
    code, headers, body = server.get(path)
    assert code == status, (path, code)
    assert headers["Content-Type"].startswith("text/html")
    return BeautifulSoup(body.decode("utf-8"), "html.parser")


def check_common(doc):
    """Skip link first, exactly one h1, and no script but deferred files
    and JSON-LD data."""
    first = next(el for el in doc.body.descendants
                 if getattr(el, "name", None) in ("a", "button", "input"))
    assert first.name == "a" and first.get_text(strip=True) == "Skip to content"
    assert doc.find(id=first["href"].lstrip("#")) is not None
    assert len(doc.find_all("h1")) == 1
    for s in doc.find_all("script"):
        assert s.get("type") == "application/ld+json" or \
            (s.get("src") and s.has_attr("defer")), s


def items(doc):
    """(id, headline, datetime, permalink) of each update on a feed page."""
    out = []
    for li in doc.find("main").select("li.update"):
        t = li.find("time")
        link = li.find("a", class_="update-permalink")
        out.append((int(li["data-id"]), li.find(class_="update-title")
                    .get_text(strip=True), t["datetime"], link["href"]))
    return out


def epoch(iso):
    return int(datetime.fromisoformat(iso).timestamp())


def jsonld(doc):
    blocks = doc.find_all("script", type="application/ld+json")
    assert len(blocks) == 1
    return json.loads(blocks[0].string)


def raw_get(server, target):
    """Status of a GET sent exactly as target (no client normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_feed_page_lists_updates_newest_first(server):
    doc = soup(server, "/news-feed/")
    check_common(doc)
    assert doc.find("h1").get_text(strip=True) == "News Feed"
    assert doc.find("meta", property="og:type")["content"] == "website"
    canonical = doc.find("link", rel="canonical")["href"]
    assert re.fullmatch(r"https?://.+/news-feed/", canonical)
    got = items(doc)
    assert len(got) == DEMO_UPDATES
    times = [epoch(t) for _, _, t, _ in got]
    assert times == sorted(times, reverse=True)
    assert all(RFC3339.match(t) for _, _, t, _ in got)
    # the first page is not older than anything: no "before", no next
    assert doc.find("a", rel="next") is None
    for uid, headline, iso, link in got:
        assert link == f"/news-feed/{uid}/"
        page = soup(server, link)
        check_common(page)
        assert page.find("h1").get_text(strip=True) == headline
        t = page.find("main").find("time")
        assert t["datetime"] == iso
        assert page.find("main").find("a", href="/news-feed/")
        assert page.find("link", rel="canonical")["href"].endswith(link)
    # a related article linked from an update is there on its page too
    linked = [s for s in (soup(server, link) for *_, link in got)
              if s.find(class_="update-link")]
    assert linked
    href = linked[0].find(class_="update-link").find("a")["href"]
    assert server.get(href)[0] == 200


def test_feed_page_paginates_by_time(server):
    first = items(soup(server, "/news-feed/"))
    # cut the stream after the 8th update: ?before= its time
    cut = epoch(first[7][2])
    doc = soup(server, f"/news-feed/?before={cut}")
    check_common(doc)
    rest = items(doc)
    assert rest and all(epoch(t) < cut for _, _, t, _ in rest)
    ids = [i for i, *_ in first[:8]] + [i for i, *_ in rest]
    assert len(ids) == len(set(ids)) == DEMO_UPDATES
    assert doc.find("a", href="/news-feed/") is not None
    # before the oldest update: a page that says so and links back
    oldest = epoch(first[-1][2])
    for before in (oldest, 1, 0):
        doc = soup(server, f"/news-feed/?before={before}")
        check_common(doc)
        assert items(doc) == []
        assert "No older updates" in doc.find("main").get_text()
        assert doc.find("main").find("a", href="/news-feed/")
        assert doc.find("a", rel="next") is None


def test_bad_addresses(server):
    for q in ("abc", "12x", "-5", "1.5", "", "1" * 19, "%2B5"):
        code, _, body = server.get(f"/news-feed/?before={q}")
        assert code == 400, q
        assert b"digits only" in body, q
    assert server.get("/news-feed/?before=%00")[0] == 400
    for path in ("/news-feed/999999/", "/news-feed/1abc/", "/news-feed/01/",
                 "/news-feed/0/", "/news-feed/-1/", "/news-feed/" + "1" * 19 + "/",
                 "/news-feed/feed.json/"):
        doc = soup(server, path, status=404)
        check_common(doc)
    assert raw_get(server, "/news-feed/../1/") in (400, 404)
    assert raw_get(server, "/news-feed/%2e%2e/1/") in (400, 404)


def test_json_feed(server):
    code, headers, body = server.get("/news-feed/feed.json")
    assert code == 200
    assert headers["Content-Type"].startswith("application/feed+json")
    feed = json.loads(body)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"].endswith("News Feed")
    assert re.fullmatch(r"https?://.+/news-feed/", feed["home_page_url"])
    assert feed["feed_url"].endswith("/news-feed/feed.json")
    page = items(soup(server, "/news-feed/"))
    assert len(feed["items"]) == DEMO_UPDATES
    assert [it["title"] for it in feed["items"]] == [h for _, h, _, _ in page]
    for it, (uid, _, iso, link) in zip(feed["items"], page):
        assert isinstance(it["id"], str) and it["id"] == it["url"]
        assert it["url"].startswith(feed["home_page_url"])
        assert it["url"].endswith(link)
        assert RFC3339.match(it["date_published"])
        assert epoch(it["date_published"]) == epoch(iso)
        assert it["content_html"].startswith("<p>")
    assert len({it["id"] for it in feed["items"]}) == DEMO_UPDATES
    # cacheable, and revalidated with the ETag
    assert "max-age" in headers["Cache-Control"]
    code, _, _ = server.get("/news-feed/feed.json",
                            headers={"If-None-Match": headers["ETag"]})
    assert code == 304


def test_rss_feed(server):
    code, headers, body = server.get("/news-feed/rss.xml")
    assert code == 200
    assert headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    root = ET.fromstring(body)
    assert root.tag == "rss" and root.get("version") == "2.0"
    ch = root.find("channel")
    assert ch.findtext("title").endswith("News Feed")
    assert re.fullmatch(r"https?://.+/news-feed/", ch.findtext("link"))
    assert ch.findtext("description")
    assert ch.findtext("language") == "en"
    assert email.utils.parsedate_to_datetime(ch.findtext("lastBuildDate"))
    self_link = ch.find(ATOM + "link")
    assert self_link.get("rel") == "self"
    assert self_link.get("href").endswith("/news-feed/rss.xml")
    page = items(soup(server, "/news-feed/"))
    its = ch.findall("item")
    assert len(its) == DEMO_UPDATES
    for it, (uid, headline, iso, link) in zip(its, page):
        assert it.findtext("title") == headline
        assert it.findtext("link").endswith(link)
        guid = it.find("guid")
        assert guid.get("isPermaLink") == "true"
        assert guid.text == it.findtext("link")
        when = email.utils.parsedate_to_datetime(it.findtext("pubDate"))
        assert int(when.timestamp()) == epoch(iso)
        assert it.findtext("description").startswith("<p>")
    code, _, _ = server.get("/news-feed/rss.xml",
                            headers={"If-None-Match": headers["ETag"]})
    assert code == 304


def test_live_blog_posting(server):
    doc = soup(server, "/news-feed/")
    ld = jsonld(doc)
    assert ld["@context"] == "https://schema.org"
    assert ld["@type"] == "LiveBlogPosting"
    title = doc.find("meta", property="og:site_name")["content"]
    assert ld["headline"] == f"{title} News Feed"
    page = items(doc)
    ups = ld["liveBlogUpdate"]
    assert [u["headline"] for u in ups] == [h for _, h, _, _ in page]
    for u, (_, _, iso, link) in zip(ups, page):
        assert u["@type"] == "BlogPosting"
        assert u["url"].endswith(link) and u["url"].startswith("http")
        assert RFC3339.match(u["datePublished"])
        assert epoch(u["datePublished"]) == epoch(iso)
        assert u["articleBody"] and "<" not in u["articleBody"]
    assert epoch(ld["coverageEndTime"]) == epoch(page[0][2])
    assert epoch(ld["coverageStartTime"]) == epoch(page[-1][2])


def test_feeds_are_discoverable(server):
    for path in ("/", "/archive/", "/news-feed/"):
        doc = soup(server, path)
        alt = {}
        for link in doc.find_all("link", rel="alternate"):
            alt.setdefault(link["type"], []).append(link["href"])
        assert "/news-feed/feed.json" in alt["application/feed+json"]
        # the News Feed's RSS, and the podcast's
        assert "/news-feed/rss.xml" in alt["application/rss+xml"]
        assert "/podcast.xml" in alt["application/rss+xml"]
    # the News Feed box links to the permalinks
    home = soup(server, "/")
    links = [a["href"] for a in home.find_all("a", class_="update-permalink")]
    assert links and all(re.fullmatch(r"/news-feed/\d+/", h) for h in links)


@pytest.fixture(scope="module")
def crowded(demo_dir, tmp_path_factory):
    """A copy of the demo with awkward headlines on top and 40 older
    updates below, three of them in one second across a page boundary."""
    site = str(tmp_path_factory.mktemp("nf") / "s")
    shutil.copytree(demo_dir, site, ignore=shutil.ignore_patterns("server.log"))
    db = sqlite3.connect(f"{site}/newsroom.db")
    top, bottom = db.execute("SELECT max(at), min(at) FROM live_updates").fetchone()
    add = "INSERT INTO live_updates (at, updated_at, headline, body, html) " \
          "VALUES (?, ?, ?, ?, ?)"
    db.execute(add, (top + 40, top + 400, NASTY, "Body & <more>",
                     "<p>Body &amp; &lt;more&gt; \"q\"</p>"))
    db.execute(add, (top + 30, 0, SCRIPTY, "x", "<p>x</p>"))
    db.execute(add, (top + 20, 0, CONTROL, "y", "<p>y\x02</p>"))
    db.execute(add, (top + 10, 0, "Plain one", "z", "<p>z</p>"))
    # 4 new + 15 demo = 19 rows; rows 20..22 share one second
    for k in range(40):
        at = bottom - 600 * (k + 1) if k > 2 else bottom - 600
        db.execute(add, (at, 0, f"Older update {k}", "o", f"<p>o{k}</p>"))
    db.commit()
    ids = [r[0] for r in db.execute(
        "SELECT id FROM live_updates ORDER BY at DESC, id DESC")]
    db.close()
    srv = Server(site)
    yield srv, ids
    srv.stop()


def test_pages_walk_the_whole_stream(crowded):
    srv, ids = crowded
    seen, path, sizes = [], "/news-feed/", []
    while path:
        doc = soup(srv, path)
        check_common(doc)
        got = [i for i, *_ in items(doc)]
        sizes.append(len(got))
        seen.extend(got)
        nxt = doc.find("a", rel="next")
        assert nxt is None or nxt.get_text(strip=True).startswith("Older updates")
        path = nxt["href"] if nxt else None
        assert len(sizes) < 10
    assert seen == ids  # every update once, newest first
    # 20 a page, but the first one takes the two that share its last second
    assert sizes[0] == 22 and all(s <= 20 for s in sizes[1:-1])
    assert server_cache_hit(srv, "/news-feed/")


def server_cache_hit(srv, path):
    srv.get(path)
    return srv.get(path)[1].get("X-Cache") == "hit"


def test_awkward_text_is_escaped_everywhere(crowded):
    srv, ids = crowded
    code, _, raw = srv.get("/news-feed/")
    html = raw.decode()
    assert "<rise>" not in html and "</script><script>alert" not in html
    doc = BeautifulSoup(html, "html.parser")
    heads = [h for _, h, _, _ in items(doc)]
    assert heads[0] == NASTY and heads[1] == SCRIPTY
    # the JSON-LD survives a headline that tries to close its element
    assert len(doc.find_all("script")) == 2  # site.js and the JSON-LD
    ld = jsonld(doc)
    assert [u["headline"] for u in ld["liveBlogUpdate"][:2]] == [NASTY, SCRIPTY]
    assert "dateModified" in ld["liveBlogUpdate"][0]
    # the permalink page: headline, body and the "Updated" label
    page = soup(srv, f"/news-feed/{ids[0]}/")
    check_common(page)
    assert page.find("h1").get_text(strip=True) == NASTY
    assert "Body & <more>" in page.find(class_="article-body").get_text()
    assert "Updated" in page.find("main").get_text()
    assert page.find("title").get_text().startswith(NASTY)
    # JSON Feed: the same strings, 50 newest, the edit dated
    feed = json.loads(srv.get("/news-feed/feed.json")[2])
    assert len(feed["items"]) == 50
    assert [it["title"] for it in feed["items"][:2]] == [NASTY, SCRIPTY]
    assert RFC3339.match(feed["items"][0]["date_modified"])
    assert "date_modified" not in feed["items"][1]
    assert '&lt;more&gt; "q"' in feed["items"][0]["content_html"]
    # RSS: well-formed XML in spite of control characters, same strings
    rss = ET.fromstring(srv.get("/news-feed/rss.xml")[2])
    its = rss.find("channel").findall("item")
    assert len(its) == 50
    titles = [it.findtext("title") for it in its[:3]]
    assert titles == [NASTY, SCRIPTY, re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", CONTROL)]
    assert its[0].findtext("description") == '<p>Body &amp; &lt;more&gt; "q"</p>'
    assert its[2].findtext("description") == "<p>y</p>"
