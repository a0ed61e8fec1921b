"""Structured data and link previews of article pages: the schema.org
NewsArticle and BreadcrumbList JSON-LD, OpenGraph and Twitter card tags,
canonical URLs, and the per-article meta title/description set in the
desk. Each test publishes through the desk of a real server, then reads the
public page the way a crawler or a link-preview bot does (html.parser,
json.loads of every application/ld+json script) and follows the URLs it
finds."""
import json
import os
import re
import shutil
import struct
import tempfile
from html.parser import HTMLParser

import pytest
import requests

from conftest import Server, free_port, run
from deskclient import ROLES, add_user, desk_as


@pytest.fixture(scope="module")
def srv():
    """A demo site whose configured url is the test server's own address,
    so the absolute URLs in the pages can be fetched."""
    tmp = tempfile.mkdtemp(prefix="newsroom-seo-")
    d = os.path.join(tmp, "site")
    r = run("init", d, "--demo")
    assert r.returncode == 0, r.stderr
    for role in ROLES:
        add_user(d, role + "@example.org", role)
    port = free_port()
    conf = os.path.join(d, "site.conf")
    with open(conf) as f:
        text = f.read()
    text = re.sub(r"(?m)^url = .*$", f"url = http://127.0.0.1:{port}", text)
    text = re.sub(r"(?m)^page_size = .*$", "page_size = 3", text)
    with open(conf, "w") as f:
        f.write(text)
    s = Server(d, port=port)
    yield s
    s.stop()
    shutil.rmtree(tmp, ignore_errors=True)


class Head(HTMLParser):
    """Collects <title>, <meta>, <link rel=canonical>, the JSON-LD
    scripts, the <h1> and the <time> elements of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.h1 = ""
        self.meta = []          # (key, content) in document order
        self.canonical = []
        self.jsonld = []        # raw script texts
        self.times = {}         # class -> datetime
        self.corr_times = []
        self._in = None
        self._buf = ""
        self._in_corr = False
        self._in_updated = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "title":
            self._in, self._buf = "title", ""
        elif tag == "h1":
            self._in, self._buf = "h1", ""
        elif tag == "script" and a.get("type") == "application/ld+json":
            self._in, self._buf = "ld", ""
        elif tag == "meta" and ("property" in a or "name" in a):
            self.meta.append((a.get("property") or a.get("name"),
                              a.get("content")))
        elif tag == "link" and a.get("rel") == "canonical":
            self.canonical.append(a.get("href"))
        elif tag == "section" and "corrections" in (a.get("class") or ""):
            self._in_corr = True
        elif tag == "time":
            if self._in_corr:
                self.corr_times.append(a.get("datetime"))
            elif a.get("class") == "published":
                self.times["published"] = a.get("datetime")
            elif self._in_updated:
                self.times["updated"] = a.get("datetime")
        elif tag == "span" and a.get("class") == "updated":
            self._in_updated = True

    def handle_endtag(self, tag):
        if tag == "section":
            self._in_corr = False
        if tag == "span":
            self._in_updated = False
        if self._in == "title" and tag == "title":
            self.title, self._in = self._buf, None
        elif self._in == "h1" and tag == "h1":
            self.h1, self._in = self._buf, None
        elif self._in == "ld" and tag == "script":
            self.jsonld.append(self._buf)
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._buf += data

    def one(self, key):
        vals = [v for k, v in self.meta if k == key]
        assert len(vals) == 1, (key, vals)
        return vals[0]

    def all(self, key):
        return [v for k, v in self.meta if k == key]

    def ld(self, kind):
        """The one node of type kind in the page's JSON-LD (top-level
        objects, arrays and @graph members), with the @context in force."""
        nodes = []
        for t in self.jsonld:
            doc = json.loads(t)
            for o in doc if isinstance(doc, list) else [doc]:
                ctx = o.get("@context")
                for n in o.get("@graph", [o]):
                    nodes.append(dict(n, **{"@context":
                                            n.get("@context", ctx)}))
        found = [o for o in nodes if o.get("@type") == kind]
        assert len(found) == 1, (kind, nodes)
        return found[0]


def page(srv, path):
    r = requests.get(srv.base + path, timeout=10)
    assert r.status_code == 200, (path, r.status_code)
    h = Head()
    h.feed(r.text)
    h.close()
    return h


def local(srv, url):
    """The path of an absolute URL of this site (asserting it is one)."""
    assert url.startswith(srv.base + "/"), url
    return url[len(srv.base):]


def fetch(srv, url):
    r = requests.get(srv.base + local(srv, url), timeout=10)
    assert r.status_code == 200, (url, r.status_code)
    return r


def publish(d, title, **fields):
    files = fields.pop("files", None)
    data = {"title": title, "body": fields.pop("body", "Body of the story."),
            "action": "publish"}
    data.update(fields)
    r = d.post("/desk/posts/", data, files=files)
    assert r.status_code == 303, r.text[:800]
    m = re.search(r"/desk/posts/(\d+)/", r.headers["Location"])
    return int(m.group(1))


def slug_of(srv, pid):
    from deskclient import q1
    return q1(srv.dir, "SELECT slug FROM posts WHERE id = ?", pid)[0]


def a_section(srv):
    from deskclient import q1
    return q1(srv.dir, "SELECT slug, name FROM tags WHERE kind = 'section' "
                       "ORDER BY id LIMIT 1")


def a_jpeg(srv):
    d = os.path.join(srv.dir, "media", "images")
    name = next(n for n in sorted(os.listdir(d)) if n.endswith("-960.jpg"))
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


# ---- NewsArticle, BreadcrumbList, OpenGraph, Twitter ------------------------

def test_article_structured_data_matches_the_page(srv):
    e = desk_as(srv, "editor")
    sec_slug, sec_name = a_section(srv)
    body = "Crews worked through the night.\n\nThe road reopened at six."
    pid = publish(e, "Night crews reopen the coast road",
                  standfirst="Repairs finished hours early.", body=body,
                  section=sec_slug, tags="Roads, Weather",
                  alt="Workers on the coast road",
                  files={"image": ("road.jpg", a_jpeg(srv), "image/jpeg")})
    slug = slug_of(srv, pid)
    h = page(srv, f"/{slug}/")
    canonical = f"{srv.base}/{slug}/"
    assert h.canonical == [canonical]
    art = h.ld("NewsArticle")
    assert art["@context"] == "https://schema.org"
    assert art["headline"] == "Night crews reopen the coast road" == h.h1
    assert art["description"] == "Repairs finished hours early."
    assert art["mainEntityOfPage"]["@id"] == canonical
    assert art["datePublished"] == h.times["published"]
    assert art["dateModified"] == h.times.get("updated",
                                              h.times["published"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d",
                        art["datePublished"])
    assert art["articleSection"] == sec_name
    assert art["keywords"] == ["Roads", "Weather"]
    assert art["inLanguage"] == "en"
    assert art["wordCount"] == len(body.split())
    assert art["isAccessibleForFree"] is True
    assert "correction" not in art
    # the byline: a Person whose page exists
    assert [a["@type"] for a in art["author"]] == ["Person"]
    assert art["author"][0]["name"] == "Editor Person"
    author_page = fetch(srv, art["author"][0]["url"])
    assert "Editor Person" in author_page.text
    # the feature image: absolute, a large JPEG that is served
    assert len(art["image"]) == 1
    img = fetch(srv, art["image"][0])
    assert img.content[:3] == b"\xff\xd8\xff"
    # the publisher, with a raster logo of the stated size
    pub = art["publisher"]
    assert pub["@type"] in ("NewsMediaOrganization", "Organization")
    assert pub["name"] == "The Halvany Courier"
    assert pub["url"] == srv.base + "/"
    logo = fetch(srv, pub["logo"]["url"])
    assert logo.content[:8] == b"\x89PNG\r\n\x1a\n"
    w, hgt = struct.unpack(">II", logo.content[16:24])
    assert (pub["logo"]["width"], pub["logo"]["height"]) == (w, hgt)
    assert pub["logo"]["@type"] == "ImageObject"

    bl = h.ld("BreadcrumbList")
    assert bl["@context"] == "https://schema.org"
    crumbs = bl["itemListElement"]
    assert [c["position"] for c in crumbs] == [1, 2, 3]
    assert [c["name"] for c in crumbs] == [
        "The Halvany Courier", sec_name, "Night crews reopen the coast road"]
    assert crumbs[0]["item"] == srv.base + "/"
    assert crumbs[1]["item"] == f"{srv.base}/section/{sec_slug}/"
    assert crumbs[2]["item"] == canonical
    for c in crumbs:
        fetch(srv, c["item"])

    # OpenGraph and Twitter cards
    assert h.one("og:title") == "Night crews reopen the coast road"
    assert h.one("og:description") == "Repairs finished hours early."
    assert h.one("description") == "Repairs finished hours early."
    assert h.one("og:type") == "article"
    assert h.one("og:url") == canonical
    assert h.one("og:site_name") == "The Halvany Courier"
    assert h.one("og:locale") == "en"
    assert h.one("og:image") == art["image"][0]
    assert h.one("og:image:alt") == "Workers on the coast road"
    assert h.one("article:published_time") == art["datePublished"]
    assert h.one("article:modified_time") == art["dateModified"]
    assert h.one("article:section") == sec_name
    assert h.all("article:tag") == ["Roads", "Weather"]
    assert h.all("article:author") == [art["author"][0]["url"]]
    assert h.one("twitter:card") == "summary_large_image"
    assert h.one("twitter:title") == "Night crews reopen the coast road"
    assert h.one("twitter:description") == "Repairs finished hours early."
    assert h.one("twitter:image") == art["image"][0]
    assert h.one("twitter:image:alt") == "Workers on the coast road"


def test_article_without_image_gets_a_summary_card(srv):
    e = desk_as(srv, "editor")
    pid = publish(e, "Council meets on Tuesday", body="Short item.")
    h = page(srv, f"/{slug_of(srv, pid)}/")
    assert h.one("twitter:card") == "summary"
    assert h.all("og:image") == [] and h.all("twitter:image") == []
    art = h.ld("NewsArticle")
    assert "image" not in art
    crumbs = h.ld("BreadcrumbList")["itemListElement"]
    assert [c["position"] for c in crumbs] == [1, 2]  # no section


def test_correction_appears_in_the_structured_data(srv):
    e = desk_as(srv, "editor")
    pid = publish(e, "Bridge toll rises", body="The toll rises in May.")
    slug = slug_of(srv, pid)
    r = e.post(f"/desk/posts/{pid}/corrections",
               {"text": "An earlier version gave the wrong month."})
    assert r.status_code == 303
    h = page(srv, f"/{slug}/")
    art = h.ld("NewsArticle")
    assert len(art["correction"]) == 1
    c = art["correction"][0]
    assert c["@type"] == "CorrectionComment"
    assert c["text"] == "An earlier version gave the wrong month."
    assert [c["datePublished"]] == h.corr_times
    # the page shows "Updated" only a minute after publication; the
    # structured data says what the page says
    assert art["dateModified"] == h.times.get("updated",
                                              h.times["published"])
    assert art["dateModified"] >= art["datePublished"]


# ---- meta overrides -----------------------------------------------------------

def test_meta_overrides_change_title_and_description_not_headline(srv):
    e = desk_as(srv, "editor")
    pid = publish(e, "Harbour dredging begins", body="Dredgers arrived.",
                  standfirst="Work lasts a month.")
    slug = slug_of(srv, pid)
    form = {"title": "Harbour dredging begins", "body": "Dredgers arrived.",
            "standfirst": "Work lasts a month.",
            "meta_title": "  Dredging starts in the harbour  ",
            "meta_description": "What the month of dredging means for "
                                "ferries."}
    r = e.post(f"/desk/posts/{pid}/", form)
    assert r.status_code == 303, r.text[:800]
    h = page(srv, f"/{slug}/")
    assert h.title.startswith("Dredging starts in the harbour")
    assert h.one("og:title") == "Dredging starts in the harbour"
    assert h.one("twitter:title") == "Dredging starts in the harbour"
    want = "What the month of dredging means for ferries."
    assert h.one("description") == want
    assert h.one("og:description") == want
    assert h.one("twitter:description") == want
    assert h.h1 == "Harbour dredging begins"
    assert h.ld("NewsArticle")["headline"] == "Harbour dredging begins"
    # the editor shows what was saved, trimmed
    edit = e.get(f"/desk/posts/{pid}/").text
    assert 'value="Dredging starts in the harbour"' in edit
    assert 'name="meta_description"' in edit
    # clearing them brings the headline and standfirst back
    form.update(meta_title="", meta_description="")
    assert e.post(f"/desk/posts/{pid}/", form).status_code == 303
    h = page(srv, f"/{slug}/")
    assert h.one("og:title") == "Harbour dredging begins"
    assert h.one("description") == "Work lasts a month."


@pytest.mark.parametrize("field,value,message", [
    ("meta_title", "x" * 301, "too long"),
    ("meta_description", "y" * 501, "too long"),
    ("meta_title", "two\nlines", "one line"),
    ("meta_description", "tab\there", "one line"),
])
def test_meta_override_validation(srv, field, value, message):
    e = desk_as(srv, "editor")
    pid = publish(e, f"Validation {field} {len(value)}", body="Text.")
    r = e.post(f"/desk/posts/{pid}/", {"title": "Changed headline",
                                       "body": "Text.", field: value})
    assert r.status_code != 303
    assert message in r.text
    from deskclient import q1
    assert q1(srv.dir, "SELECT title, meta_title, meta_description FROM "
                       "posts WHERE id = ?", pid)[0] != "Changed headline"


def test_meta_title_counts_characters_not_bytes(srv):
    e = desk_as(srv, "editor")
    title = "ї" * 300  # 600 bytes
    pid = publish(e, "Ukrainian meta title", body="Text.", meta_title=title)
    h = page(srv, f"/{slug_of(srv, pid)}/")
    assert h.one("og:title") == title


# ---- escaping ------------------------------------------------------------------

def test_hostile_headline_stays_inside_its_script(srv):
    e = desk_as(srv, "editor")
    title = ('Він сказав "ні" </script><script>alert(1)</script> & '
             '<!-- Київ')
    meta = 'Заголовок "</script><b>" & більше'
    pid = publish(e, title, body="Text.", standfirst="Lede <i>& more",
                  meta_title=meta)
    r = requests.get(f"{srv.base}/{slug_of(srv, pid)}/", timeout=10)
    assert "<script>alert(1)" not in r.text
    h = Head()
    h.feed(r.text)
    assert len(h.jsonld) == 1
    for t in h.jsonld:
        assert "</script" not in t.lower() and "<!--" not in t
    art = h.ld("NewsArticle")
    assert art["headline"] == title
    assert art["description"] == "Lede <i>& more"
    assert h.ld("BreadcrumbList")["itemListElement"][-1]["name"] == title
    assert h.h1 == title
    assert h.one("og:title") == meta
    assert h.title.startswith(meta)
    assert h.one("og:description") == "Lede <i>& more"


def test_long_headline_is_cut_at_a_word(srv):
    e = desk_as(srv, "editor")
    words = ["Reservoir"] + ["levels"] * 10 + ["fall"] * 20
    title = " ".join(words)
    assert len(title) > 110
    pid = publish(e, title, body="Text.")
    h = page(srv, f"/{slug_of(srv, pid)}/")
    head = h.ld("NewsArticle")["headline"]
    assert len(head) <= 110
    assert head.endswith("\u2026")
    kept = head[:-1]
    assert title.startswith(kept + " ")
    assert h.h1 == title


# ---- canonical URLs ------------------------------------------------------------

def test_canonical_of_paginated_lists_keeps_the_page(srv):
    h1 = page(srv, "/archive/")
    assert h1.canonical == [srv.base + "/archive/"]
    h2 = page(srv, "/archive/?page=2")
    assert h2.canonical == [srv.base + "/archive/?page=2"]
    assert h2.one("og:url") == srv.base + "/archive/?page=2"
    sec_slug, _ = a_section(srv)
    hs = page(srv, f"/section/{sec_slug}/")
    assert hs.canonical == [f"{srv.base}/section/{sec_slug}/"]
    home = page(srv, "/")
    assert home.canonical == [srv.base + "/"]
    assert home.one("og:type") == "website"
    assert home.jsonld == [] or all(json.loads(t) for t in home.jsonld)
