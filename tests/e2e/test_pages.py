"""The reader's pages, checked with a real HTML parser (BeautifulSoup) for
every element DESIGN.md lists under "What a reader sees"."""
import math
import re
import urllib.parse

import pytest
from bs4 import BeautifulSoup

DATE_RE = re.compile(
    r"^(January|February|March|April|May|June|July|August|September|October|"
    r"November|December) [1-9]\d?, 20\d\d [1-9]\d?:\d\d (AM|PM)$")


def soup(server, path, status=200):
    code, headers, body = server.get(path)
    assert code == status, (path, code)
    assert headers["Content-Type"].startswith("text/html")
    return BeautifulSoup(body.decode("utf-8"), "html.parser")


def article_paths(server):
    """Every article linked from the archive pages."""
    paths, page = [], 1
    while True:
        doc = soup(server, "/archive/" + (f"?page={page}" if page > 1 else ""))
        for a in doc.select("main a[href]"):
            h = a["href"]
            if re.fullmatch(r"/[a-z0-9-]+/", h) and h not in paths \
                    and h not in ("/archive/",):
                paths.append(h)
        nxt = doc.find("a", rel="next")
        if not nxt:
            return paths
        page += 1


@pytest.fixture(scope="module")
def articles(server):
    paths = article_paths(server)
    return {p: soup(server, p) for p in paths}


def first_focusable(doc):
    for el in doc.body.descendants:
        if getattr(el, "name", None) in ("a", "button", "input", "select",
                                         "textarea") and el.get("href", "x"):
            if el.name == "input" and el.get("type") == "hidden":
                continue
            return el
    return None


def check_common(doc):
    """What every page has: skip link first, one h1, landmarks, one
    stylesheet, labels for inputs, alt on images."""
    first = first_focusable(doc)
    assert first is not None and first.name == "a"
    assert first.get_text(strip=True) == "Skip to content"
    target = first["href"].lstrip("#")
    assert doc.find(id=target) is not None
    assert len(doc.find_all("h1")) == 1
    for landmark in ("header", "nav", "main", "footer"):
        assert doc.find(landmark) is not None, landmark
    assert doc.html.get("lang") == "en"
    sheets = doc.find_all("link", rel="stylesheet")
    assert len(sheets) == 1
    for img in doc.find_all("img"):
        assert img.has_attr("alt")
        assert img.get("width") and img.get("height"), img
    for inp in doc.find_all("input"):
        if inp.get("type") == "hidden":
            continue
        assert doc.find("label", attrs={"for": inp.get("id")}) or \
            inp.find_parent("label"), inp
    for s in doc.find_all("script"):
        if s.get("type") == "application/ld+json":
            continue  # structured data, not code
        assert s.get("src") and s.has_attr("defer"), "no blocking or inline script"
    # no external resources: fonts, CDNs, trackers
    for tag, attr in (("link", "href"), ("script", "src"), ("img", "src")):
        for el in doc.find_all(tag):
            url = el.get(attr, "")
            assert not url.startswith(("http://", "https://", "//")) or \
                el.get("rel") == ["canonical"], url


def test_home_page(server):
    doc = soup(server, "/")
    check_common(doc)
    main = doc.find("main")
    text = main.get_text(" ", strip=True)
    assert "News Feed" in doc.get_text()
    assert "Editors" in doc.get_text() and "Picks" in doc.get_text()
    # a lead story with an image and a dozen links to articles
    links = {a["href"] for a in main.find_all("a", href=True)
             if re.fullmatch(r"/[a-z0-9-]+/", a["href"])}
    assert len(links) >= 8
    assert main.find("img") is not None
    assert len(text) > 500
    nav = doc.find("nav")
    assert len([a for a in nav.find_all("a") if a["href"].startswith("/section/")]) >= 2


def test_every_article_has_reader_elements(server, articles):
    assert len(articles) >= 12
    names = set()
    for path, doc in articles.items():
        check_common(doc)
        h1 = doc.find("h1")
        assert h1.get_text(strip=True)
        names.add(h1.get_text(strip=True))
        # byline: each author links to their page
        bylinks = [a for a in doc.find_all("a", href=True)
                   if a["href"].startswith("/author/")]
        assert bylinks, path
        # publication time in the site's zone, as a <time> element
        times = [t for t in doc.find_all("time") if DATE_RE.match(t.get_text(strip=True))]
        assert times, path
        assert times[0].get("datetime", "").startswith("20")
        # "N min read", at least 1
        m = re.search(r"(\d+) min read", doc.get_text())
        assert m and int(m.group(1)) >= 1, path
        # feature image: responsive, alt text, caption and credit
        fig = doc.find("figure")
        assert fig is not None, path
        img = fig.find("img")
        assert img["alt"].strip()
        assert "w," in (img.get("srcset") or fig.find("source")["srcset"])
        cap = fig.find("figcaption")
        assert cap and "Illustration" in cap.get_text(), path
        # body from Markdown with anchored subheadings
        body = doc.find(class_="article-body")
        assert body is not None
        h2s = body.find_all("h2")
        assert h2s and all(h.get("id") for h in h2s), path
        for h in h2s:
            assert body.find("a", href="#" + h["id"]) is not None
        assert len(body.find_all("p")) >= 5
        # no audio player until a narration exists; no edit link for readers
        assert doc.find("audio") is None
        assert "This audio is created with AI assistance" not in doc.get_text()
        assert "Edit post" not in doc.get_text()
        # News Feed, More news, Editors' Picks, newsletter forms
        feed = doc.find(id="newsfeed")
        assert feed is not None and feed.get("aria-live") == "polite"
        assert len(feed.find_all("time")) >= 5
        txt = doc.get_text(" ")
        assert "More news" in txt and "Picks" in txt
        forms = [f for f in doc.find_all("form") if f.find("input", type="email")]
        assert len(forms) >= 2, path
        for f in forms:
            assert f.get("method", "").lower() == "post"
            email = f.find("input", type="email")
            assert email.has_attr("required")
            assert "* indicates required" in f.get_text(" ")
    assert len(names) == len(articles)


def test_article_extras_somewhere(server, articles):
    """Block quotes, lists, related cards, corrections and "Updated" each
    appear on the demo articles."""
    docs = list(articles.values())
    assert any(d.find(class_="article-body").find("blockquote") for d in docs)
    assert any(d.find(class_="article-body").find(["ul", "ol"]) for d in docs)
    cards = [c for d in docs for c in d.select(".article-body .related-card")]
    assert len(cards) >= 4
    for c in cards:
        a = c.find("a", href=True)
        assert a["href"] in articles, a["href"]
        target = articles[a["href"]]
        assert c.find(class_="related-title").get_text(strip=True) == \
            target.find("h1").get_text(strip=True)
        assert c.find(class_="related-summary").get_text(strip=True)
    corrected = [d for d in docs if re.search(r"\bCorrections?\b", " ".join(
        h.get_text() for h in d.find_all(["h2", "h3"])))]
    assert len(corrected) >= 2
    assert any("Updated" in d.get_text() for d in docs)


def test_author_section_tag_archive(server, articles):
    home = soup(server, "/")
    sec = next(a["href"] for a in home.find("nav").find_all("a")
               if a["href"].startswith("/section/"))
    doc = soup(server, sec)
    check_common(doc)
    assert doc.find("main").find("a", href=re.compile(r"^/[a-z0-9-]+/$"))
    some = next(iter(articles.values()))
    author = next(a["href"] for a in some.find_all("a", href=True)
                  if a["href"].startswith("/author/"))
    doc = soup(server, author)
    check_common(doc)
    assert len(doc.find("main").get_text(strip=True)) > 200  # bio and posts
    tag = next((a["href"] for d in articles.values()
                for a in d.find_all("a", href=True)
                if a["href"].startswith("/tag/")), None)
    assert tag, "articles link their tags"
    check_common(soup(server, tag))
    # the archive is paginated: page 2 exists, a page past the end is 404
    doc = soup(server, "/archive/")
    nxt = doc.find("a", rel="next")
    assert nxt is not None
    check_common(soup(server, nxt["href"]))
    assert server.get("/archive/?page=999")[0] == 404
    assert server.get("/archive/?page=abc")[0] == 400
    assert server.get("/archive/?page=0")[0] == 400


def test_404_page(server):
    doc = soup(server, "/no-such-story-here/", status=404)
    check_common(doc)
    assert "not find" in doc.get_text() or "not found" in doc.get_text().lower()
    assert doc.find("a", href="/")


def test_section_and_tag_urls_redirect_to_their_kind(server, articles):
    home = soup(server, "/")
    sec = next(a["href"] for a in home.find("nav").find_all("a")
               if a["href"].startswith("/section/"))
    code, headers, _ = server.get(sec.replace("/section/", "/tag/"))
    assert code == 301 and headers["Location"] == sec
    code, headers, _ = server.get(sec.rstrip("/"))
    assert code == 301 and headers["Location"] == sec


def collect_links(doc):
    urls = set()
    for tag, attr in (("a", "href"), ("link", "href"), ("img", "src"),
                      ("script", "src"), ("source", "srcset"),
                      ("img", "srcset"), ("form", "action")):
        for el in doc.find_all(tag):
            v = el.get(attr)
            if not v:
                continue
            if attr == "srcset":
                urls.update(p.strip().split(" ")[0] for p in v.split(","))
            elif tag != "form":
                urls.add(v)
    return {u for u in urls if u.startswith("/") and not u.startswith("//")}


def test_no_broken_links(server, articles):
    """Every same-site link, image, stylesheet and script on every page
    answers 200 (following at most one redirect)."""
    pages = {"/": soup(server, "/"), **articles}
    seen, todo = set(pages), []
    for doc in list(pages.values()):
        todo.extend(collect_links(doc))
    checked = 0
    while todo:
        url = urllib.parse.urldefrag(todo.pop())[0]
        if url in seen:
            continue
        seen.add(url)
        code, headers, body = server.get(url)
        if code in (301, 302, 308):
            code, headers, body = server.get(headers["Location"])
        assert code == 200, url
        checked += 1
        if headers["Content-Type"].startswith("text/html"):
            todo.extend(collect_links(BeautifulSoup(body, "html.parser")))
    assert checked > 30


def test_assets_are_fingerprinted_and_cached(server):
    doc = soup(server, "/")
    css = doc.find("link", rel="stylesheet")["href"]
    assert re.fullmatch(r"/assets/site\.[0-9a-f]{8}\.css", css)
    code, headers, body = server.get(css)
    assert code == 200 and headers["Content-Type"].startswith("text/css")
    assert "immutable" in headers["Cache-Control"]
    assert "max-age=31536000" in headers["Cache-Control"]
    img = doc.find("img")["src"]
    code, headers, _ = server.get(img)
    assert code == 200 and headers["Content-Type"] == "image/jpeg"
    assert "immutable" in headers["Cache-Control"]


def test_dates_follow_site_time_zone(demo_dir, tmpdir_path):
    """Changing `timezone` in site.conf moves the printed times."""
    import shutil
    from conftest import Server
    copies = {}
    for zone in ("UTC", "Asia/Tokyo"):
        site = f"{tmpdir_path}/{zone.replace('/', '-')}"
        shutil.copytree(demo_dir, site, ignore=shutil.ignore_patterns("server.log"))
        conf = open(f"{site}/site.conf").read()
        conf = re.sub(r"(?m)^timezone = .*$", f"timezone = {zone}", conf)
        open(f"{site}/site.conf", "w").write(conf)
        srv = Server(site)
        try:
            doc = soup(srv, "/archive/")
            path = next(a["href"] for a in doc.find("main").find_all("a", href=True)
                        if re.fullmatch(r"/[a-z0-9-]+/", a["href"]) and a["href"] != "/archive/")
            art = soup(srv, path)
            copies[zone] = [t for t in art.find_all("time")
                            if DATE_RE.match(t.get_text(strip=True))][0]
        finally:
            srv.stop()
    assert copies["UTC"].get_text() != copies["Asia/Tokyo"].get_text()
    assert copies["UTC"]["datetime"].endswith(("Z", "+00:00"))
    assert copies["Asia/Tokyo"]["datetime"].endswith("+09:00")


def test_theme_override(demo_dir, tmpdir_path):
    """A file in DIR/theme/ replaces the default template of that name."""
    import os
    import shutil
    from conftest import Server
    site = f"{tmpdir_path}/s"
    shutil.copytree(demo_dir, site, ignore=shutil.ignore_patterns("server.log"))
    os.makedirs(f"{site}/theme")
    open(f"{site}/theme/error.mustache", "w").write(
        "<!doctype html><title>x</title><p>Custom {{error.status}} page</p>")
    srv = Server(site)
    try:
        code, _, body = srv.get("/missing-thing/")
        assert code == 404 and b"Custom 404 page" in body
        assert srv.get("/")[0] == 200
    finally:
        srv.stop()


def test_article_page_weight_budget(server, articles):
    """DESIGN.md's budget: HTML + CSS + JS of an article under 30 KB
    compressed (gzip here), and no render-blocking script."""
    import gzip
    for path in list(articles)[:3]:
        _, _, html = server.get(path)
        doc = BeautifulSoup(html, "html.parser")
        total = len(gzip.compress(html, 9))
        for el in doc.find_all("link", rel="stylesheet") + doc.find_all("script", src=True):
            url = el.get("href") or el.get("src")
            total += len(gzip.compress(server.get(url)[2], 9))
        assert total < 30 * 1024, (path, total)
        head_scripts = [s for s in doc.head.find_all("script")
                        if s.get("type") != "application/ld+json"]
        assert all(s.has_attr("defer") or s.has_attr("async") for s in head_scripts)
