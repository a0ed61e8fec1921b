"""`newsroom import wxr DIR FILE`: every WordPress export under
../shared/fixtures/wxr/ imports with the counts the file holds (counted
here with Python's own XML parser), broken files stop with the line and
column and keep what came before, a second run creates nothing, the
imported posts are served at their slugs and the old WordPress addresses
answer 301 to them, comments are counted and not imported, and featured
images keep their URLs."""
import datetime
import glob
import os
import re
import sqlite3
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, Server, png, run

FIXTURES = os.path.join(ROOT, "..", "shared", "fixtures", "wxr")
FILES = sorted(glob.glob(os.path.join(FIXTURES, "**", "*.xml"),
                         recursive=True))
WP = re.compile(r"^\{https?://wordpress\.org/export/1\.\d/\}(.*)$")
KEPT = {"publish", "future", "draft", "pending", "private"}


def wp(tag):
    m = WP.match(tag)
    return m.group(1) if m else None


def expected(items):
    """What an import of these <item> elements must create."""
    e = {"posts": 0, "pages": 0, "comments": 0, "published": 0}
    for it in items:
        f = {wp(c.tag): (c.text or "").strip() for c in it if wp(c.tag)}
        e["comments"] += sum(1 for c in it if wp(c.tag) == "comment")
        kind = f.get("post_type", "post")
        status = f.get("status", "publish")
        if kind in ("post", "page") and status in KEPT:
            e["posts" if kind == "post" else "pages"] += 1
            e["published"] += status == "publish"
    return e


def read_until_break(path):
    """The complete <item>s before the first XML error, and the error's
    (line, column) or None."""
    parser = ET.XMLPullParser(events=("end",))
    items = []
    with open(path, "rb") as f:
        try:
            for line in f:
                parser.feed(line)
                for _, el in parser.read_events():
                    if el.tag == "item":
                        items.append(el)
            parser.close()
        except ET.ParseError as err:
            for _, el in parser.read_events():
                if el.tag == "item":
                    items.append(el)
            return items, err.position
    return items, None


def site(tmp, name="site"):
    d = os.path.join(tmp, name)
    r = run("init", d)
    assert r.returncode == 0, r.stderr
    return d


def db(d, sql, *args):
    with sqlite3.connect(os.path.join(d, "newsroom.db")) as c:
        return c.execute(sql, args).fetchall()


def counts(d):
    return {t: db(d, f"SELECT count(*) FROM {t}")[0][0]
            for t in ("posts", "authors", "tags", "images", "redirects",
                      "post_tags", "post_authors")}


def summary_number(out, pattern):
    m = re.search(pattern, out)
    assert m, out
    return int(m.group(1))


def test_fixtures_exist():
    assert len(FILES) >= 10, FIXTURES


@pytest.mark.parametrize("path", FILES,
                         ids=[os.path.relpath(p, FIXTURES) for p in FILES])
def test_fixture_imports_what_it_holds(tmpdir_path, path):
    d = site(tmpdir_path)
    items, broken = read_until_break(path)
    e = expected(items)
    r = run("import", "wxr", d, path)
    out = r.stdout
    if broken:
        line, col = broken
        assert r.returncode == 1, (r.stdout, r.stderr)
        err = [l for l in r.stderr.splitlines() if "broken XML" in l]
        assert len(err) == 1, r.stderr
        m = re.search(r"at line (\d+), column (\d+)", err[0])
        assert m, err[0]
        assert int(m.group(1)) == line
        # expat counts columns from 0, libxml2 from 1
        assert abs(int(m.group(2)) - (col + 1)) <= 1, (err[0], broken)
        assert os.path.basename(path) in err[0]
        assert "stopped at an error" in out
    else:
        assert r.returncode == 0, (r.stdout, r.stderr)
    assert summary_number(out, r"(\d+) posts,") == e["posts"], out
    assert summary_number(out, r"(\d+) pages") == e["pages"], out
    assert summary_number(out, r"(\d+) comments not imported") == \
        e["comments"], out
    assert db(d, "SELECT count(*) FROM posts")[0][0] == \
        e["posts"] + e["pages"]
    assert db(d, "SELECT count(*) FROM posts WHERE status = 'published'"
                 )[0][0] == e["published"]
    assert db(d, "SELECT count(*) FROM posts p JOIN post_tags pt ON "
                 "pt.post_id = p.id JOIN tags t ON t.id = pt.tag_id "
                 "WHERE t.slug = 'page'")[0][0] == e["pages"]

    # the same export again creates nothing
    before = counts(d)
    again = run("import", "wxr", d, path)
    assert again.returncode == r.returncode, again.stderr
    assert "0 posts, 0 pages" in again.stdout, again.stdout
    assert counts(d) == before


def test_theme_unit_test_data_served_with_redirects(tmpdir_path):
    path = os.path.join(FIXTURES, "wordpress-theme-test-data",
                        "themeunittestdata.wordpress.xml")
    d = site(tmpdir_path)
    r = run("import", "wxr", d, path)
    assert r.returncode == 0, r.stderr
    root = ET.parse(path).getroot()
    post = None
    for it in root.iter("item"):
        f = {wp(c.tag): (c.text or "").strip() for c in it if wp(c.tag)}
        if (f.get("post_type") == "post" and f.get("status") == "publish"
                and f.get("post_name") == "markup-html-tags-and-formatting"):
            post = (f, it.findtext("link"), it.findtext("title"))
    assert post, "fixture changed"
    f, link, title = post
    slug = f["post_name"]
    s = Server(d)
    try:
        st, _, body = s.get(f"/{slug}/")
        assert st == 200
        html = body.decode()
        assert title in html
        assert "<!-- wp:" not in html
        # the old address /2013/01/11/markup-html-tags-and-formatting/
        old = re.sub(r"^https?://[^/]+", "", link)
        assert old != f"/{slug}/"
        st, h, _ = s.get(old)
        assert st == 301 and h["Location"].endswith(f"/{slug}/"), (st, old)
        # without its trailing slash it still gets there
        st, h, _ = s.get(old.rstrip("/"))
        assert st == 301
        st, h, _ = s.get(h["Location"].replace(s.base, ""))
        assert st == 301 and h["Location"].endswith(f"/{slug}/")
        # WordPress's plain links /?p=ID, even with the front page cached
        assert s.get("/")[0] == 200 and s.get("/")[0] == 200
        st, h, _ = s.get(f"/?p={f['post_id']}")
        assert st == 301 and h["Location"].endswith(f"/{slug}/")
        st, _, _ = s.get("/?p=987654321")
        assert st == 200  # an unknown id is the front page, as before
        st, _, _ = s.get("/2001/01/01/never-there/")
        assert st == 404
        # the draft is kept but not public
        drafts = db(d, "SELECT slug FROM posts WHERE status = 'draft'")
        assert len(drafts) == 1
        st, _, _ = s.get(f"/{drafts[0][0]}/")
        assert st == 404
        # dates come from wp:post_date_gmt
        got = db(d, "SELECT published_at FROM posts WHERE slug = ?", slug)
        want = datetime.datetime.strptime(
            f["post_date_gmt"], "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        assert got[0][0] == int(want)
    finally:
        s.stop()


def test_comments_counted_not_imported(tmpdir_path):
    path = os.path.join(FIXTURES, "wordpress-theme-test-data",
                        "themeunittestdata.wordpress.xml")
    n = expected(ET.parse(path).getroot().iter("item"))["comments"]
    assert n > 0
    d = site(tmpdir_path)
    r = run("import", "wxr", d, path)
    assert f"{n} comments not imported" in r.stdout
    # no comment text became a post or part of one
    comment = None
    for c in ET.parse(path).getroot().iter():
        if wp(c.tag) == "comment_content" and c.text and len(c.text) > 30:
            comment = c.text.strip()[:30]
            break
    assert comment
    assert db(d, "SELECT count(*) FROM posts WHERE html LIKE ?",
              f"%{comment}%")[0][0] == 0


def test_featured_image_url_kept(tmpdir_path):
    path = os.path.join(FIXTURES, "tryghost-migrate",
                        "feature-image-captions.xml")
    root = ET.parse(path).getroot()
    urls, thumbs = {}, {}
    for it in root.iter("item"):
        f = {wp(c.tag): (c.text or "").strip() for c in it if wp(c.tag)}
        if f.get("post_type") == "attachment":
            urls[f["post_id"]] = f["attachment_url"]
        for m in it:
            if wp(m.tag) == "postmeta":
                k = {wp(x.tag): (x.text or "").strip() for x in m}
                if k.get("meta_key") == "_thumbnail_id":
                    thumbs[f["post_name"]] = k["meta_value"]
    assert thumbs
    d = site(tmpdir_path)
    r = run("import", "wxr", d, path)
    assert r.returncode == 0, r.stderr
    for slug, att in thumbs.items():
        got = db(d, "SELECT i.name FROM posts p JOIN images i ON "
                    "i.id = p.feature_image_id WHERE p.slug = ?", slug)
        assert got == [(urls[att],)], (slug, got)


HANDMADE = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.1/excerpt/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:wp="http://wordpress.org/export/1.1/">
<channel><title>Hand</title><link>https://old.example</link>
<wp:wxr_version>1.1</wp:wxr_version>
<wp:author><wp:author_login>ed</wp:author_login>
<wp:author_display_name>Ed Itor</wp:author_display_name></wp:author>
<item><title>Paragraphs</title>
<link>https://old.example/2020/02/paragraphs-old/</link>
<dc:creator>ed</dc:creator>
<content:encoded><![CDATA[<!-- wp:paragraph -->
First paragraph
with a line break.

Second <em>one</em>.
<!-- /wp:paragraph -->

<script>alert(1)</script><p onclick="x()">Third <a href="javascript:x()">link</a></p>]]></content:encoded>
<wp:post_id>41</wp:post_id><wp:post_date>2020-02-03 10:00:00</wp:post_date>
<wp:post_date_gmt>0000-00-00 00:00:00</wp:post_date_gmt>
<wp:post_name>paragraphs</wp:post_name><wp:status>publish</wp:status>
<wp:post_type>post</wp:post_type>
<category domain="category" nicename="news"><![CDATA[News]]></category>
<category domain="category" nicename="uncategorized"><![CDATA[Uncategorized]]></category>
<wp:comment><wp:comment_content>hi</wp:comment_content></wp:comment>
</item>
<item><title>Later</title><wp:post_id>42</wp:post_id>
<wp:post_date_gmt>2031-01-01 00:00:00</wp:post_date_gmt>
<wp:post_name>later</wp:post_name><wp:status>future</wp:status>
<wp:post_type>post</wp:post_type></item>
<item><title>Binned</title><wp:post_id>43</wp:post_id>
<wp:status>trash</wp:status><wp:post_type>post</wp:post_type></item>
</channel></rss>
"""


def test_body_dates_statuses_and_terms(tmpdir_path):
    d = site(tmpdir_path)
    with open(os.path.join(d, "site.conf"), "a") as f:
        f.write("\ntimezone = Europe/Paris\n")
    path = os.path.join(tmpdir_path, "hand.xml")
    with open(path, "w") as f:
        f.write(HANDMADE)
    r = run("import", "wxr", d, path)
    assert r.returncode == 0, r.stderr
    assert "1 status 'trash'" in r.stdout
    assert "1 comments not imported" in r.stdout
    rows = dict(db(d, "SELECT slug, status FROM posts"))
    assert rows == {"paragraphs": "published", "later": "scheduled"}
    # no GMT date: wp:post_date in the site's zone (Paris, UTC+1 in Feb)
    assert db(d, "SELECT published_at FROM posts WHERE slug = 'paragraphs'"
              )[0][0] == 1580720400
    tags = [t for (t,) in db(d, "SELECT t.slug FROM tags t JOIN post_tags "
                                "pt ON pt.tag_id = t.id")]
    assert tags == ["news"]
    assert db(d, "SELECT a.name FROM authors a JOIN post_authors pa ON "
                 "pa.author_id = a.id") == [("Ed Itor",)]
    s = Server(d)
    try:
        st, _, body = s.get("/paragraphs/")
        assert st == 200
        html = body.decode()
        assert re.search(r"<p>First paragraph<br ?/?>\s*with a line break\.</p>",
                         html)
        assert "<p>Second <em>one</em>.</p>" in html
        assert "wp:paragraph" not in html
        assert "alert(1)" not in html and "onclick" not in html
        # a javascript: link keeps its text, not its target
        assert "javascript:x()" not in html and "<p>Third link</p>" in html
        st, h, _ = s.get("/2020/02/paragraphs-old/")
        assert st == 301 and h["Location"].endswith("/paragraphs/")
        st, _, _ = s.get("/later/")
        assert st == 404  # scheduled for 2031
    finally:
        s.stop()


def test_not_a_wordpress_export(tmpdir_path):
    d = site(tmpdir_path)
    path = os.path.join(tmpdir_path, "feed.xml")
    with open(path, "w") as f:
        f.write('<?xml version="1.0"?><rss><channel><item><title>x</title>'
                '</item></channel></rss>')
    r = run("import", "wxr", d, path)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith(
        "newsroom: cannot import")
    assert "wxr_version" in r.stderr
    with open(path, "w") as f:
        f.write("<html><body>no</body></html>")
    r = run("import", "wxr", d, path)
    assert r.returncode == 1 and "root element is 'html'" in r.stderr


def test_cli_usage(tmpdir_path):
    r = run("import", "wxr", "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: newsroom import")
    r = run("import", "wxr", tmpdir_path)
    assert r.returncode == 2
    assert r.stderr.startswith("newsroom: ") and len(
        r.stderr.strip().splitlines()) == 1
    d = site(tmpdir_path)
    r = run("import", "wxr", d, os.path.join(tmpdir_path, "missing.xml"))
    assert r.returncode == 1
    assert r.stderr.strip() == ("newsroom: cannot open '%s': No such file or "
                                "directory" % os.path.join(tmpdir_path,
                                                           "missing.xml"))
    assert "no progress" not in r.stderr
    r = run("--help")
    assert "import wxr DIR FILE" in r.stdout


UPLOADS = "https://old.example/wp-content/uploads"
WITH_IMAGES = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>Pics</title><link>https://old.example</link>
<wp:wxr_version>1.2</wp:wxr_version>
<item><title>Bridge reopens</title><wp:post_id>7</wp:post_id>
<content:encoded><![CDATA[<p>Traffic is back.</p>
<figure><img src="{u}/2025/02/bridge-300x188.png" alt="The bridge"></figure>
<p><img src="{u}/2025/02/gone.png" alt="g"></p>]]></content:encoded>
<wp:post_date_gmt>2025-02-03 10:00:00</wp:post_date_gmt>
<wp:post_name>bridge-reopens</wp:post_name><wp:status>publish</wp:status>
<wp:post_type>post</wp:post_type>
<wp:postmeta><wp:meta_key>_thumbnail_id</wp:meta_key>
<wp:meta_value>8</wp:meta_value></wp:postmeta></item>
<item><title>bridge</title><wp:post_id>8</wp:post_id>
<wp:post_type>attachment</wp:post_type><wp:status>inherit</wp:status>
<wp:attachment_url>{u}/2025/02/bridge.png</wp:attachment_url>
<wp:postmeta><wp:meta_key>_wp_attachment_image_alt</wp:meta_key>
<wp:meta_value>Cars on the bridge</wp:meta_value></wp:postmeta></item>
<item><title>missing</title><wp:post_id>9</wp:post_id>
<wp:post_type>attachment</wp:post_type><wp:status>inherit</wp:status>
<wp:attachment_url>{u}/2019/01/not-here.jpg</wp:attachment_url></item>
</channel></rss>
""".replace("{u}", UPLOADS)


def test_images_folder_shows_featured_and_body_images(tmpdir_path):
    """--images wp-content/uploads: the featured image (an attachment) and
    a body image given as WordPress's resized copy (-300x188) are both
    taken from the original file, once; a file missing from the folder is
    a warning and keeps its URL; a second run takes nothing."""
    uploads = os.path.join(tmpdir_path, "uploads")
    os.makedirs(os.path.join(uploads, "2025", "02"))
    with open(os.path.join(uploads, "2025", "02", "bridge.png"), "wb") as f:
        f.write(png(480, 300, 40))
    with open(os.path.join(uploads, "2025", "02", "bridge-300x188.png"),
              "wb") as f:
        f.write(png(300, 188, 40))
    path = os.path.join(tmpdir_path, "pics.xml")
    with open(path, "w") as f:
        f.write(WITH_IMAGES)
    d = site(tmpdir_path)
    r = run("import", "wxr", d, path, "--images", uploads)
    assert r.returncode == 0, r.stderr
    assert "1 images taken from" in r.stdout, r.stdout
    assert "gone.png': not in the --images folder" in r.stderr, r.stderr
    assert "not-here.jpg': not in the --images folder" in r.stderr
    rows = db(d, "SELECT name, alt FROM images WHERE name LIKE 'images/%'")
    assert len(rows) == 1 and rows[0][0].startswith("images/bridge-") and \
        rows[0][1] == "Cars on the bridge", rows
    assert db(d, "SELECT i.name FROM posts p JOIN images i ON i.id = "
                 "p.feature_image_id WHERE p.slug = 'bridge-reopens'") == \
        [(rows[0][0],)]
    s = Server(d)
    try:
        st, _, body = s.get("/bridge-reopens/")
        html = body.decode()
        assert st == 200 and html.count("/media/" + rows[0][0]) >= 2, html
        src = re.search(r'<img[^>]+src="(/media/images/bridge-[^"]+\.jpg)"'
                        r'[^>]*alt="The bridge"', html)
        assert src, html
        st, _, got = s.get(src.group(1))
        assert st == 200 and got[:3] == b"\xff\xd8\xff"
    finally:
        s.stop()
    before = counts(d)
    r = run("import", "wxr", d, path, "--images", uploads)
    assert r.returncode == 0 and "0 images taken from" in r.stdout
    assert counts(d) == before


def test_images_folder_usage_errors(tmpdir_path):
    d = site(tmpdir_path)
    path = os.path.join(tmpdir_path, "pics.xml")
    with open(path, "w") as f:
        f.write(WITH_IMAGES)
    for args in (["--images"], ["--images", os.path.join(tmpdir_path, "no")],
                 ["--images", path]):
        r = run("import", "wxr", d, path, *args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert "--images" in r.stderr
    assert counts(d)["posts"] == 0
