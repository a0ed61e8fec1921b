"""The search page, /search: the real binary on a fresh copy of the demo
site, queried over HTTP and read with an HTML parser, as a reader without
JavaScript would use it (type words, pick filters, follow page links)."""
import shutil
import urllib.parse

import pytest
from bs4 import BeautifulSoup

from conftest import Server
from deskclient import add_user, desk_as


@pytest.fixture(scope="module")
def site(demo_dir, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("search") / "site")
    shutil.copytree(demo_dir, d, ignore=shutil.ignore_patterns("server.log"))
    add_user(d, "editor@example.org", "editor")
    s = Server(d)
    yield s
    s.stop()


def search(srv, status=200, **params):
    """GET /search?params; the parsed page."""
    code, headers, body = srv.get("/search?" + urllib.parse.urlencode(params))
    assert code == status, (params, code, body[:300])
    assert headers["Content-Type"].startswith("text/html")
    return BeautifulSoup(body.decode("utf-8"), "html.parser")


def result_slugs(doc):
    """The article slugs of the result cards, in order."""
    return [a["href"].strip("/") for a in doc.select(
        ".search-results .card-title a")]


def heading(doc):
    h = doc.find(id="results-title")
    return h.get_text(" ", strip=True) if h else None


def test_body_word_finds_the_article_with_a_highlighted_snippet(site):
    doc = search(site, q="flatbed")  # only in the body of the Dornik story
    assert result_slugs(doc) == ["dornik-rail-junction-strike"]
    assert heading(doc) == "1 result for “flatbed”"
    marks = doc.select(".search-snippet mark")
    assert marks and all(m.get_text().lower() == "flatbed" for m in marks)
    assert doc.title.get_text() == "Search: flatbed - The Halvany Courier"
    assert doc.find("meta", attrs={"name": "robots"})["content"] == "noindex"


def test_headline_word_ranks_that_article_first(site):
    # "ferrymen" is in the headline of one article and in passing in the
    # body of an opinion piece
    slugs = result_slugs(search(site, q="ferrymen"))
    assert "evacuees-deserve-more-than-a-train-seat" in slugs
    assert slugs[0] == "ferrymen-of-the-tesslin"


def test_stemming_singular_finds_plural(site):
    # the body says "relay cabinets" and "new sleepers", never the singular
    assert result_slugs(search(site, q="cabinet")) == [
        "dornik-rail-junction-strike"]
    assert result_slugs(search(site, q="sleeper")) == [
        "dornik-rail-junction-strike"]


def test_drafts_are_not_found_published_posts_are(site):
    d = desk_as(site, "editor")
    r = d.post("/desk/posts/", {"title": "Zorbulax draft headline",
                                "body": "Quixotrel appears only here.",
                                "action": "save"})
    assert r.status_code == 303, r.text[:300]
    r = d.post("/desk/posts/", {"title": "Published plumbago note",
                                "body": "Vantablorp is a published word.",
                                "action": "publish"})
    assert r.status_code == 303, r.text[:300]
    for word in ("quixotrel", "zorbulax"):
        doc = search(site, q=word)
        assert result_slugs(doc) == []
        assert "No results" in doc.select_one(".search-empty").get_text()
    assert len(result_slugs(search(site, q="vantablorp"))) == 1


def test_filters_narrow_results(site):
    everything = set(result_slugs(search(site, q="Tesslin")))
    assert len(everything) >= 7
    doc = search(site, q="Tesslin", section="economy")
    economy = result_slugs(doc)
    assert {"explaining-the-winter-grid",
            "grocery-prices-city-by-city"} <= set(economy)
    assert set(economy) < everything
    assert {k.get_text() for k in doc.select(".search-results .kicker")} == {
        "Economy & Energy"}
    emil = result_slugs(search(site, q="war", author="emil-harasz"))
    assert set(emil) == {"vessa-basement-theatre", "night-train-to-halvany",
                         "frontline-radio-volunteers"}
    late = result_slugs(search(site, q="war", **{"from": "2026-11-25"}))
    assert set(late) == {"dornik-rail-junction-strike",
                         "evacuees-deserve-more-than-a-train-seat"}
    # "to" includes the whole day
    early = result_slugs(search(site, q="war", to="2026-11-16"))
    assert set(early) == {"night-train-to-halvany",
                          "frontline-radio-volunteers"}
    # the form keeps what was chosen
    doc = search(site, q="Tesslin", section="economy")
    assert doc.select_one("#search-q")["value"] == "Tesslin"
    assert doc.select_one("#search-section option[selected]")["value"] == \
        "economy"


def test_pagination_keeps_every_parameter(site):
    # "war" is in all twelve demo articles: two pages of ten
    doc = search(site, q="war", to="2026-11-30")
    assert len(result_slugs(doc)) == 10
    nxt = doc.find("a", rel="next")["href"]
    u = urllib.parse.urlsplit(nxt)
    assert u.path == "/search"
    assert urllib.parse.parse_qs(u.query) == {
        "q": ["war"], "to": ["2026-11-30"], "page": ["2"]}
    code, _, body = site.get(nxt)
    assert code == 200
    page2 = BeautifulSoup(body.decode(), "html.parser")
    assert len(result_slugs(page2)) == 2
    assert not set(result_slugs(page2)) & set(result_slugs(doc))
    prev = urllib.parse.urlsplit(page2.find("a", rel="prev")["href"])
    assert urllib.parse.parse_qs(prev.query) == {
        "q": ["war"], "to": ["2026-11-30"]}
    # a query with spaces and symbols survives the round trip
    doc = search(site, q="war & the")
    nxt = doc.find("a", rel="next")["href"]
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(nxt).query)["q"] == [
        "war & the"]


@pytest.mark.parametrize("q", ['"', "*", "NEAR(a b)", "a OR", '"unclosed',
                               "col:war", "(((", "-war", "^",
                               "<script>alert(1)</script>"])
def test_hostile_queries_are_searched_and_echoed_escaped(site, q):
    code, _, body = site.get("/search?" + urllib.parse.urlencode({"q": q}))
    assert code == 200
    assert b"<script>alert" not in body
    doc = BeautifulSoup(body.decode(), "html.parser")
    assert doc.select_one("#search-q")["value"] == q
    assert f"for “{q}”" in heading(doc)


def test_broken_utf8_is_searched_not_refused(site):
    # a broken byte reads as U+FFFD, as a browser would show it: the
    # reader gets a page (no results here), never a 400 or a 500
    for q in ("%FF", "flatbed%C3%28", "%ED%A0%80"):
        code, _, body = site.get("/search?q=" + q)
        assert code == 200, q
        assert "\ufffd" in body.decode()
    assert site.alive()
    assert search(site, q="flatbed")  # and the server still answers


def test_bad_input_is_a_400_with_a_message(site):
    doc = search(site, 400, q="a" * 301)
    assert "Search for at most 300 characters." in doc.get_text()
    assert search(site, q="é" * 150)  # 300 bytes is fine
    for params, words in (
            ({"q": "war", "section": "no-such"}, "no such section"),
            ({"q": "war", "section": "dornik"}, "no such section"),  # a tag
            ({"q": "war", "author": "nobody"}, "no such author"),
            ({"q": "war", "from": "2026-02-30"}, "from date"),
            ({"q": "war", "to": "yesterday"}, "to date"),
            ({"q": "war", "from": "2026-11-20", "to": "2026-11-10"},
             "not be after"),
            ({"q": "war", "page": "0"}, "page number"),
            ({"q": "war", "page": "x"}, "page number"),
            ({"q": "war", "page": "3"}, "no such page")):
        assert words in search(site, 400, **params).get_text(), params


def test_empty_query_shows_the_form_only(site):
    for q in ("", "   "):
        doc = search(site, q=q)
        assert doc.select_one("form.search-form #search-q") is not None
        assert heading(doc) is None and not result_slugs(doc)
    assert search(site).select_one("form.search-form") is not None


def test_no_results_gives_hints(site):
    doc = search(site, q="xylophonic", section="war")
    text = doc.select_one(".search-empty").get_text(" ", strip=True)
    assert "No results" in text and "spelling" in text
    again = doc.select_one(".search-empty a[href^='/search']")["href"]
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(again).query) == {
        "q": ["xylophonic"]}


@pytest.mark.parametrize("path", ["/", "/archive/", "/dornik-rail-junction-strike/",
                                  "/section/war/", "/search?q=war",
                                  "/no-such-page/"])
def test_masthead_search_form_on_every_page(site, path):
    code, _, body = site.get(path)
    doc = BeautifulSoup(body.decode(), "html.parser")
    form = doc.select_one("header.masthead form[role=search]")
    assert form is not None, path
    assert form["action"] == "/search" and form["method"].lower() == "get"
    inp = form.find("input", attrs={"name": "q"})
    label = form.find("label", attrs={"for": inp["id"]})
    assert label is not None and label.get_text(strip=True)
    assert len(doc.find_all(id=inp["id"])) == 1
