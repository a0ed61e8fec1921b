"""The Ghost-compatible Content API (/ghost/api/content/, docs/content-api.md)
against a running server: response shapes member by member against what
Ghost 5 sends, pagination, filters, errors, headers, and the key commands.

The expected shapes below are written down from Ghost's documentation
(https://docs.ghost.org/content-api/ - posts, authors, tags, settings,
pagination, errors) and from Ghost 5's answers: the key sets must match
exactly, so a Ghost client that reads a member finds it."""
import json
import os
import re
import shutil
import tempfile
import urllib.parse

import pytest

from conftest import Server, run

# Ghost 5's post, without html/plaintext (formats) and the relations
# (include=authors,tags adds authors, tags, primary_author, primary_tag).
POST_KEYS = {
    "id", "uuid", "title", "slug", "comment_id", "feature_image",
    "feature_image_alt", "feature_image_caption", "featured", "visibility",
    "created_at", "updated_at", "published_at", "custom_excerpt",
    "codeinjection_head", "codeinjection_foot", "custom_template",
    "canonical_url", "url", "excerpt", "reading_time", "access", "comments",
    "og_image", "og_title", "og_description", "twitter_image",
    "twitter_title", "twitter_description", "meta_title", "meta_description",
    "email_subject", "frontmatter",
}
AUTHOR_KEYS = {
    "id", "name", "slug", "profile_image", "cover_image", "bio", "website",
    "location", "facebook", "twitter", "meta_title", "meta_description", "url",
}
TAG_KEYS = {
    "id", "name", "slug", "description", "feature_image", "visibility",
    "og_image", "og_title", "og_description", "twitter_image",
    "twitter_title", "twitter_description", "meta_title", "meta_description",
    "codeinjection_head", "codeinjection_foot", "canonical_url",
    "accent_color", "url",
}
SETTINGS_KEYS = {
    "title", "description", "logo", "icon", "accent_color", "cover_image",
    "facebook", "twitter", "lang", "locale", "timezone", "codeinjection_head",
    "codeinjection_foot", "navigation", "secondary_navigation", "meta_title",
    "meta_description", "og_image", "og_title", "og_description",
    "twitter_image", "twitter_title", "twitter_description",
    "members_support_address", "url",
}
PAGINATION_KEYS = {"page", "limit", "pages", "total", "next", "prev"}
# @tryghost/errors as Ghost 5 serialises them
ERROR_KEYS = {"message", "context", "type", "details", "property", "help",
              "code", "id", "ghostErrorCode"}
GHOST_ID = re.compile(r"^[0-9a-f]{24}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                  r"[0-9a-f]{12}$")
GHOST_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


@pytest.fixture(scope="module")
def api():
    tmp = tempfile.mkdtemp(prefix="newsroom-api-")
    site = os.path.join(tmp, "site")
    r = run("init", site, "--demo")
    assert r.returncode == 0, r.stderr
    r = run("key", "add", site, "Test front-end")
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    srv = Server(site)
    srv.key = key
    srv.site = site
    yield srv
    srv.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def get(api, path, auth=True, headers=None, **params):
    """(status, headers, JSON) of a Content API request; auth=False sends
    no key, a key=... parameter replaces the test's key."""
    if auth:
        params.setdefault("key", api.key)
    q = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    status, hdrs, body = api.get(f"/ghost/api/content/{path}" +
                                 (f"?{q}" if q else ""), headers=headers)
    return status, hdrs, json.loads(body) if body else None


def test_key_commands(api):
    assert re.fullmatch(r"[0-9a-f]{26}", api.key), api.key
    r = run("key", "list", api.site)
    assert r.returncode == 0
    name, key, created = r.stdout.strip().split("\n")[0].split("\t")
    assert (name, key) == ("Test front-end", api.key)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created)
    r = run("key", "add", api.site)
    assert r.returncode == 2 and r.stderr.startswith("newsroom: ")
    assert len(r.stderr.strip().split("\n")) == 1
    r = run("key", "--help")
    assert r.returncode == 0 and "usage: newsroom key add DIR NAME" in r.stdout
    r = run("key", "delete", api.site, "ffffffffffffffffffffffffff")
    assert r.returncode == 1 and "no key" in r.stderr


def test_posts_browse_shape(api):
    status, h, d = get(api, "posts/")
    assert status == 200
    assert set(d) == {"posts", "meta"}
    assert set(d["meta"]) == {"pagination"}
    pg = d["meta"]["pagination"]
    assert set(pg) == PAGINATION_KEYS
    assert pg["page"] == 1 and pg["limit"] == 15 and pg["prev"] is None
    assert pg["total"] == 12 and pg["pages"] == 1 and pg["next"] is None
    assert len(d["posts"]) == 12
    p = d["posts"][0]
    assert set(p) == POST_KEYS | {"html"}
    assert GHOST_ID.match(p["id"]) and UUID.match(p["uuid"])
    assert p["comment_id"] == p["id"]
    for k in ("created_at", "updated_at", "published_at"):
        assert GHOST_DATE.match(p[k]), (k, p[k])
    assert isinstance(p["featured"], bool) and p["visibility"] == "public"
    assert isinstance(p["reading_time"], int) and p["access"] is True
    assert p["url"].endswith(f"/{p['slug']}/") and p["url"].startswith("http")
    assert p["html"].startswith("<")
    # newest first, as Ghost's default order "published_at desc"
    dates = [x["published_at"] for x in d["posts"]]
    assert dates == sorted(dates, reverse=True)


def test_headers_cors_etag(api):
    status, h, _ = get(api, "posts/", limit=1)
    assert h["Access-Control-Allow-Origin"] == "*"
    assert h["Content-Type"] == "application/json; charset=utf-8"
    assert h["Cache-Control"] == "public, max-age=0"
    etag = h["ETag"]
    assert etag
    status, _, _ = api.get(f"/ghost/api/content/posts/?key={api.key}&limit=1",
                           headers={"If-None-Match": etag})
    assert status == 304
    status, h, body = api.get(f"/ghost/api/content/posts/?key={api.key}",
                              method="OPTIONS",
                              headers={"Origin": "https://front.example",
                                       "Access-Control-Request-Method": "GET",
                                       "Access-Control-Request-Headers":
                                       "accept-version"})
    assert status == 204
    assert h["Access-Control-Allow-Origin"] == "*"
    assert "GET" in h["Access-Control-Allow-Methods"]
    assert "accept-version" in h["Access-Control-Allow-Headers"].lower()
    # Accept-Version of any v5.x (and the client's default v6.0) is served
    for v in ("v5.0", "v5.87", "v6.0"):
        status, _, _ = get(api, "posts/", headers={"Accept-Version": v})
        assert status == 200, v


def test_include_fields_formats(api):
    _, _, d = get(api, "posts/", include="authors,tags", limit=2,
                  formats="html,plaintext")
    p = d["posts"][0]
    assert set(p) == POST_KEYS | {"html", "plaintext", "authors", "tags",
                                  "primary_author", "primary_tag"}
    assert set(p["authors"][0]) == AUTHOR_KEYS
    assert set(p["tags"][0]) == TAG_KEYS
    assert p["primary_author"] == p["authors"][0]
    assert p["primary_tag"] == p["tags"][0]
    assert "<" not in p["plaintext"][:200]
    _, _, d = get(api, "posts/", fields="title,slug,url", limit=3)
    assert [set(p) for p in d["posts"]] == [{"title", "slug", "url"}] * 3
    _, _, d = get(api, "posts/", formats="plaintext", limit=1)
    assert "html" not in d["posts"][0] and "plaintext" in d["posts"][0]


def test_limit_page_order(api):
    _, _, d = get(api, "posts/", limit=5, page=2)
    pg = d["meta"]["pagination"]
    assert (pg["page"], pg["limit"], pg["pages"], pg["total"]) == (2, 5, 3, 12)
    assert (pg["prev"], pg["next"]) == (1, 3)
    assert len(d["posts"]) == 5
    _, _, all_ = get(api, "posts/", limit="all", fields="slug")
    slugs = [p["slug"] for p in all_["posts"]]
    assert [p["slug"] for p in d["posts"]] == slugs[5:10]
    assert all_["meta"]["pagination"]["pages"] == 1
    _, _, big = get(api, "posts/", limit=1000)
    assert big["meta"]["pagination"]["limit"] == 100
    _, _, d = get(api, "posts/", order="title asc", limit="all",
                  fields="title")
    titles = [p["title"] for p in d["posts"]]
    assert titles == sorted(titles, key=str.lower)
    _, _, d = get(api, "posts/", order="published_at asc", fields="slug",
                  limit="all")
    assert [p["slug"] for p in d["posts"]] == slugs[::-1]
    status, _, d = get(api, "posts/", limit="ten")
    assert status == 422 and d["errors"][0]["type"] == "ValidationError"
    status, _, d = get(api, "posts/", order="nonsense desc")
    assert status == 400 and d["errors"][0]["type"] == "BadRequestError"


def test_filters(api):
    _, _, d = get(api, "posts/", limit="all", include="tags,authors")
    posts = d["posts"]
    section = posts[0]["primary_tag"]["slug"]
    author = posts[0]["primary_author"]["slug"]

    def slugs(flt, **kw):
        status, _, r = get(api, "posts/", filter=flt, limit="all",
                           fields="slug", **kw)
        assert status == 200, r
        return [p["slug"] for p in r["posts"]]

    want = [p["slug"] for p in posts
            if section in [t["slug"] for t in p["tags"]]]
    assert slugs(f"tag:{section}") == want and want
    assert slugs(f"tags.slug:{section}") == want
    assert slugs(f"tag:-{section}") == [p["slug"] for p in posts
                                         if p["slug"] not in want]
    assert slugs(f"author:{author}") == [
        p["slug"] for p in posts
        if author in [a["slug"] for a in p["authors"]]]
    assert slugs("featured:true") == [p["slug"] for p in posts
                                      if p["featured"]]
    a, b = posts[1]["slug"], posts[3]["slug"]
    assert slugs(f"slug:[{a},{b}]") == [a, b]
    assert slugs(f"slug:-[{a},{b}]") == [p["slug"] for p in posts
                                         if p["slug"] not in (a, b)]
    mid = posts[5]["published_at"]
    assert slugs(f"published_at:>'{mid}'") == [p["slug"] for p in posts[:5]]
    assert slugs(f"published_at:<='{mid}'") == [p["slug"] for p in posts[5:]]
    assert slugs(f"slug:{a},slug:{b}+featured:{str(posts[3]['featured']).lower()}") \
        == [a, b]
    assert slugs(f"(slug:{a},slug:{b})+featured:true") == [
        s for s in (a, b) if next(p for p in posts if p["slug"] == s)["featured"]]
    # pagination counts the filtered posts
    _, _, d = get(api, "posts/", filter=f"tag:{section}", limit=1)
    assert d["meta"]["pagination"]["total"] == len(want)
    status, _, d = get(api, "posts/", filter="title:'unterminated")
    assert status == 400
    e = d["errors"][0]
    assert set(e) == ERROR_KEYS and e["type"] == "BadRequestError"
    assert "unterminated quote" in e["context"]
    status, _, d = get(api, "posts/", filter="(" * 50 + "slug:a" + ")" * 50)
    assert status == 400 and "nested" in d["errors"][0]["context"]
    status, _, d = get(api, "posts/", filter="nosuchfield:1")
    assert status == 400 and "unknown field" in d["errors"][0]["context"]


def test_read_by_id_and_slug(api):
    _, _, d = get(api, "posts/", limit=1, include="tags")
    p = d["posts"][0]
    status, _, r = get(api, f"posts/{p['id']}/", include="tags")
    assert status == 200 and set(r) == {"posts"}  # a read has no meta
    assert r["posts"][0] == p
    status, _, r = get(api, f"posts/slug/{p['slug']}/")
    assert status == 200 and r["posts"][0]["id"] == p["id"]
    status, h, r = get(api, "posts/slug/no-such-post/")
    assert status == 404
    assert set(r["errors"][0]) == ERROR_KEYS
    assert r["errors"][0]["type"] == "NotFoundError"
    assert h["Access-Control-Allow-Origin"] == "*"
    status, _, r = get(api, "posts/ffffffffffffffffffffffff/")
    assert status == 404
    tag = p["tags"][0]
    status, _, r = get(api, f"tags/slug/{tag['slug']}/",
                       include="count.posts")
    assert status == 200 and r["tags"][0]["count"]["posts"] >= 1
    assert set(r["tags"][0]) == TAG_KEYS | {"count"}
    status, _, r = get(api, f"tags/{tag['id']}/")
    assert r["tags"][0]["slug"] == tag["slug"]


def test_authors_tags_settings_pages(api):
    _, _, d = get(api, "authors/", include="count.posts")
    assert set(d) == {"authors", "meta"}
    a = d["authors"][0]
    assert set(a) == AUTHOR_KEYS | {"count"}
    assert isinstance(a["count"]["posts"], int)
    names = [x["name"] for x in d["authors"]]
    assert names == sorted(names, key=str.lower)
    status, _, r = get(api, f"authors/slug/{a['slug']}/")
    assert status == 200 and set(r["authors"][0]) == AUTHOR_KEYS
    _, _, d = get(api, "tags/", limit=3, order="count.posts desc",
                  include="count.posts")
    counts = [t["count"]["posts"] for t in d["tags"]]
    assert counts == sorted(counts, reverse=True)
    _, _, d = get(api, "settings/")
    assert set(d) == {"settings", "meta"} and d["meta"] == {}
    assert set(d["settings"]) == SETTINGS_KEYS
    assert d["settings"]["title"] == "The Halvany Courier"
    assert all(set(n) == {"label", "url"} for n in d["settings"]["navigation"])
    # no pages in newsroom: an empty list with the right meta
    status, _, d = get(api, "pages/")
    assert status == 200 and d["pages"] == []
    assert d["meta"]["pagination"] == {"page": 1, "limit": 15, "pages": 1,
                                       "total": 0, "next": None, "prev": None}
    status, _, d = get(api, "pages/slug/about/")
    assert status == 404 and d["errors"][0]["type"] == "NotFoundError"
    _, _, d = get(api, "newsletters/")
    assert len(d["newsletters"]) >= 1 and GHOST_ID.match(d["newsletters"][0]["id"])
    _, _, d = get(api, "tiers/")
    assert d["tiers"][0]["type"] == "free"


def test_keys_and_errors(api):
    status, h, d = get(api, "posts/", auth=False)
    assert status == 403
    e = d["errors"][0]
    assert set(e) == ERROR_KEYS
    assert e["type"] == "NoPermissionError"
    assert e["message"] == "Authorization failed"
    assert h["Access-Control-Allow-Origin"] == "*"
    status, _, d = get(api, "posts/", key="0123456789abcdef0123456789")
    assert status == 401
    assert d["errors"][0]["type"] == "UnauthorizedError"
    assert d["errors"][0]["message"] == "Unknown Content API Key"
    status, _, d = get(api, "nothing-here/")
    assert status == 404 and d["errors"][0]["type"] == "NotFoundError"
    # a deleted key stops working at once
    r = run("key", "add", api.site, "Short-lived")
    k = r.stdout.strip()
    assert get(api, "posts/", key=k)[0] == 200
    assert run("key", "delete", api.site, k).returncode == 0
    assert get(api, "posts/", key=k)[0] == 401


def test_drafts_are_not_public(api):
    _, _, d = get(api, "posts/", limit="all", filter="status:draft")
    assert d["posts"] == []
    # versioned URL prefix of v2-v4 clients
    status, _, d = api.get(f"/ghost/api/v4/content/posts/?key={api.key}&limit=1")
    assert status == 200


def test_desk_keys_page(api):
    from deskclient import add_user, desk_as
    add_user(api.site, "administrator@example.org", "administrator")
    add_user(api.site, "editor@example.org", "editor")
    ed = desk_as(api, "editor")
    assert ed.get("/desk/keys/").status_code == 403
    assert "API keys" not in ed.get("/desk/").text
    d = desk_as(api, "administrator")
    r = d.get("/desk/keys/")
    assert r.status_code == 200 and api.key in r.text  # keys are shown
    assert 'href="/desk/keys/"' in d.get("/desk/").text
    r = d.post("/desk/keys/", {"action": "add", "name": "Desk-made app"})
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/desk/keys/?done=added")
    page = d.get(r.headers["Location"]).text
    assert "Key added." in page and "Desk-made app" in page
    listed = run("key", "list", api.site).stdout
    line = next(ln for ln in listed.splitlines() if ln.startswith("Desk-made app\t"))
    new_key = line.split("\t")[1]
    assert new_key in page
    assert get(api, "posts/", key=new_key, limit=1)[0] == 200
    # no CSRF token, no change
    r = d.post("/desk/keys/", {"action": "add", "name": "Forged"}, csrf="0" * 64)
    assert r.status_code == 403 and "Forged" not in run("key", "list", api.site).stdout
    r = d.post("/desk/keys/", {"action": "add", "name": ""})
    assert r.status_code in (400, 422)
    ids = re.findall(r'name="id" value="(\d+)"', page)
    r = d.post("/desk/keys/", {"action": "delete", "id": ids[-1]})
    assert r.status_code == 303
    assert get(api, "posts/", key=new_key)[0] == 401
    assert "Key deleted." in d.get("/desk/keys/?done=deleted").text
