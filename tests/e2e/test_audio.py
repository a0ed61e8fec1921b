"""Audio on the site (issue 6): the article player, byte ranges on media
files (RFC 9110 section 14) and the podcast feed /podcast.xml.

A fresh demo site gets narration rows written straight into its SQLite
database and real MP3 files made with sox under media/audio/, so no speech
synthesis runs (narration_engine = off)."""
import email.parser
import email.policy
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import feedparser
import pytest

from conftest import Server, run

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
AI_LABEL = "This audio is created with AI assistance"
ODD_TITLE = 'Q&A: <Київ> after "the winter" & beyond'


def make_mp3(path, seconds, freq):
    subprocess.run(["sox", "-n", "-r", "22050", "-c", "1", path, "synth",
                    str(seconds), "sine", str(freq)], check=True,
                   capture_output=True)


class Site:
    """The demo site with three narrated posts: `played` (ready), `odd`
    (ready, a title full of XML specials) and `pending` (not ready)."""


@pytest.fixture(scope="module")
def site():
    tmp = tempfile.mkdtemp(prefix="newsroom-audio-")
    d = os.path.join(tmp, "site")
    r = run("init", d, "--demo")
    assert r.returncode == 0, r.stderr
    conf = os.path.join(d, "site.conf")
    with open(conf) as f:
        text = f.read()
    text = re.sub(r"(?m)^narration_engine *=.*$", "narration_engine = off",
                  text)
    with open(conf, "w") as f:
        f.write(text)
    title = re.search(r"(?m)^title *= *(.*)$", text).group(1).strip()
    audio = os.path.join(d, "media", "audio")
    os.makedirs(audio, exist_ok=True)
    db = sqlite3.connect(os.path.join(d, "newsroom.db"))
    posts = db.execute("SELECT id, slug, title FROM posts WHERE status = "
                       "'published' ORDER BY id LIMIT 3").fetchall()
    s = Site()
    s.dir, s.title = d, title
    s.played, s.odd, s.pending = posts
    db.execute("UPDATE posts SET title = ? WHERE id = ?", (ODD_TITLE, s.odd[0]))
    s.files = {}
    now = int(time.time())
    for (pid, slug, _), state, secs in ((s.played, "ready", 3),
                                        (s.odd, "ready", 2),
                                        (s.pending, "pending", 1)):
        name = f"audio/{slug}-1a2b3c4d.mp3"
        path = os.path.join(d, "media", name)
        make_mp3(path, secs, 300 + pid)
        s.files[pid] = (name, path)
        db.execute("INSERT INTO narrations (post_id, source_hash, file, "
                   "duration_ms, voice, state, created_at, bytes) VALUES "
                   "(?, ?, ?, ?, 'espeak:en', ?, ?, ?)",
                   (pid, f"hash{pid}", name if state == "ready" else None,
                    secs * 1000 + 40, state, now, os.path.getsize(path)))
    db.commit()
    db.close()
    s.srv = Server(d)
    yield s
    s.srv.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def played_file(site):
    name, path = site.files[site.played[0]]
    with open(path, "rb") as f:
        return "/media/" + name, f.read()


# ---- the player -------------------------------------------------------------

def test_article_with_ready_narration_has_player(site):
    st, _, body = site.srv.get(f"/{site.played[1]}/")
    html = body.decode()
    assert st == 200
    m = re.search(r'<audio controls preload="none" src="([^"]+)"', html)
    assert m, "no player on an article with a ready narration"
    assert AI_LABEL in html
    assert '<time datetime="PT3S">0:03</time>' in html
    url, data = played_file(site)
    assert m.group(1) == url
    st, h, got = site.srv.get(url)
    assert st == 200
    assert h["Content-Type"] == "audio/mpeg"
    assert h["Accept-Ranges"] == "bytes"
    assert "immutable" in h["Cache-Control"]
    assert got == data and got.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3"))


def test_article_without_ready_narration_has_no_player(site):
    st, _, body = site.srv.get(f"/{site.pending[1]}/")
    assert st == 200
    assert b"<audio" not in body and AI_LABEL.encode() not in body
    st, _, body = site.srv.get("/")  # the front page: no player either
    assert b"<audio" not in body


def test_every_page_links_the_podcast(site):
    for path in ("/", f"/{site.pending[1]}/", "/archive/"):
        body = site.srv.get(path)[2].decode()
        assert (f'<link rel="alternate" type="application/rss+xml" '
                f'title="{site.title} Podcast" href="/podcast.xml">') in body


# ---- byte ranges ------------------------------------------------------------

def ranged(site, rng, extra=None, method="GET"):
    url, _ = played_file(site)
    h = {"Range": rng} if rng else {}
    h.update(extra or {})
    return site.srv.get(url, h, method=method)


@pytest.mark.parametrize("rng, first, last", [
    ("bytes=0-99", 0, 99),
    ("bytes=1000-1999", 1000, 1999),
    ("bytes=-100", "len-100", "len-1"),
    ("bytes=500-", 500, "len-1"),
    ("bytes=100-999999999", 100, "len-1"),
    ("BYTES = 7-7", 7, 7),
])
def test_single_range(site, rng, first, last):
    _, data = played_file(site)
    n = len(data)
    first = n - 100 if first == "len-100" else first
    last = n - 1 if last == "len-1" else last
    st, h, body = ranged(site, rng)
    assert st == 206
    assert h["Content-Range"] == f"bytes {first}-{last}/{n}"
    assert h["Content-Type"] == "audio/mpeg"
    assert int(h["Content-Length"]) == last - first + 1
    assert body == data[first:last + 1]


@pytest.mark.parametrize("rng", ["bytes=999999999-", "bytes=-0",
                                 "bytes=999999999-999999999, 888888888-"])
def test_unsatisfiable_range_is_416(site, rng):
    _, data = played_file(site)
    st, h, _ = ranged(site, rng)
    assert st == 416
    assert h["Content-Range"] == f"bytes */{len(data)}"


def test_several_ranges_are_multipart(site):
    _, data = played_file(site)
    n = len(data)
    st, h, body = ranged(site, "bytes=0-9, 200-299,-5")
    assert st == 206
    ctype = h["Content-Type"]
    assert ctype.startswith("multipart/byteranges; boundary=")
    assert "Content-Range" not in h
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    parts = list(msg.iter_parts())
    want = [(0, 9), (200, 299), (n - 5, n - 1)]
    assert len(parts) == len(want)
    for part, (a, b) in zip(parts, want):
        assert part["Content-Type"] == "audio/mpeg"
        assert part["Content-Range"] == f"bytes {a}-{b}/{n}"
        assert part.get_payload(decode=True) == data[a:b + 1]
    # the body ends with the closing delimiter
    assert body.endswith(b"--" + ctype.split("boundary=")[1].encode()
                         + b"--\r\n")


@pytest.mark.parametrize("rng", ["bytes=abc", "bytes=5-2", "items=0-1",
                                 "bytes 0-1", "bytes=", "bytes=1-2-3",
                                 "bytes=0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,"
                                 "0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0,0-0"])
def test_malformed_range_gets_whole_file(site, rng):
    _, data = played_file(site)
    st, h, body = ranged(site, rng)
    assert st == 200
    assert body == data
    assert h["Accept-Ranges"] == "bytes"


def test_if_range(site):
    _, data = played_file(site)
    _, h, _ = ranged(site, None)
    etag, lm = h["ETag"], h["Last-Modified"]
    st, _, body = ranged(site, "bytes=0-9", {"If-Range": etag})
    assert st == 206 and body == data[:10]
    st, _, body = ranged(site, "bytes=0-9", {"If-Range": lm})
    assert st == 206 and body == data[:10]
    for stale in ('"0-0"', "W/" + etag, "Sun, 06 Nov 1994 08:49:37 GMT"):
        st, h2, body = ranged(site, "bytes=0-9", {"If-Range": stale})
        assert st == 200 and body == data, stale
    # If-None-Match that matches wins over Range: 304
    st, _, body = ranged(site, "bytes=0-9", {"If-None-Match": etag})
    assert st == 304 and body == b""


def test_head(site):
    _, data = played_file(site)
    st, h, body = ranged(site, None, method="HEAD")
    assert st == 200 and body == b""
    assert int(h["Content-Length"]) == len(data)
    assert h["Accept-Ranges"] == "bytes"
    st, h, body = ranged(site, "bytes=10-19", method="HEAD")
    assert st == 206 and body == b""
    assert h["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert int(h["Content-Length"]) == 10
    st, h, body = ranged(site, "bytes=999999999-", method="HEAD")
    assert st == 416 and h["Content-Range"] == f"bytes */{len(data)}"


def test_images_still_served_whole(site):
    media = os.path.join(site.dir, "media")
    for root, _, names in os.walk(os.path.join(media, "images")):
        for name in names:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, media)
            with open(path, "rb") as f:
                data = f.read()
            st, h, body = site.srv.get("/media/" + rel)
            assert st == 200 and body == data
            assert h["Accept-Ranges"] == "bytes"
            return
    pytest.skip("the demo site has no images")


# ---- the podcast feed -------------------------------------------------------

def test_podcast_feed(site):
    st, h, body = site.srv.get("/podcast.xml")
    assert st == 200
    assert h["Content-Type"].startswith("application/rss+xml")
    assert h["ETag"]
    root = ET.fromstring(body)  # well-formed XML, or this raises
    assert root.tag == "rss" and root.get("version") == "2.0"
    text = body.decode()
    assert f'xmlns:itunes="{ITUNES}"' in text
    assert f'xmlns:podcast="{PODCAST}"' in text
    ch = root.find("channel")
    assert ch.findtext("title") == f"{site.title} Podcast"
    assert ch.findtext("link").startswith("http")
    assert ch.findtext("description")
    assert ch.findtext("language") == "en"
    assert ch.findtext(f"{{{ITUNES}}}author") == site.title
    owner = ch.find(f"{{{ITUNES}}}owner")
    assert owner.findtext(f"{{{ITUNES}}}name") == site.title
    assert "@" in owner.findtext(f"{{{ITUNES}}}email")
    img = ch.find(f"{{{ITUNES}}}image").get("href")
    assert re.match(r"https?://.+/assets/podcast-cover\.png$", img)
    assert ch.find(f"{{{ITUNES}}}category").get("text")
    assert ch.findtext(f"{{{ITUNES}}}explicit") == "false"
    assert ch.findtext(f"{{{ITUNES}}}type") == "episodic"

    items = ch.findall("item")
    titles = [i.findtext("title") for i in items]
    assert ODD_TITLE in titles and site.played[2] in titles
    assert site.pending[2] not in titles  # not ready: no episode
    for it in items:
        pid = site.odd[0] if it.findtext("title") == ODD_TITLE \
            else site.played[0]
        name, path = site.files[pid]
        assert it.findtext("link").endswith(
            "/" + (site.odd if pid == site.odd[0] else site.played)[1] + "/")
        guid = it.find("guid")
        assert guid.get("isPermaLink") == "false" and guid.text
        assert it.findtext("pubDate").endswith(" GMT")
        assert AI_LABEL in it.findtext("description")
        enc = it.find("enclosure")
        assert enc.get("type") == "audio/mpeg"
        assert enc.get("url").endswith("/media/" + name)
        assert enc.get("url").startswith("http")
        assert int(enc.get("length")) == os.path.getsize(path)
        assert re.fullmatch(r"\d+|\d+:\d\d:\d\d|\d+:\d\d",
                            it.findtext(f"{{{ITUNES}}}duration"))
        assert it.findtext(f"{{{ITUNES}}}explicit") == "false"
        assert it.findtext(f"{{{ITUNES}}}author")

    # escaping, as a feed reader sees it
    assert "Q&amp;A: &lt;Київ&gt; after &quot;the winter&quot;" in text
    fp = feedparser.parse(body)
    assert not fp.bozo, fp.get("bozo_exception")
    assert fp.feed.title == f"{site.title} Podcast"
    assert fp.feed.get("itunes_explicit") in (False, None)
    assert fp.feed.image.href.endswith("/assets/podcast-cover.png")
    odd = [e for e in fp.entries if e.title == ODD_TITLE]
    assert len(odd) == 1
    e = odd[0]
    assert e.enclosures[0].type == "audio/mpeg"
    assert int(e.enclosures[0].length) == \
        os.path.getsize(site.files[site.odd[0]][1])
    assert e.itunes_duration == "2"
    assert e.published_parsed
    assert e.id and e.guidislink is False


def test_podcast_feed_guid_stable_and_cached(site):
    st, h, body = site.srv.get("/podcast.xml")
    st2, _, body2 = site.srv.get("/podcast.xml")
    assert body == body2  # guids and dates do not move between requests
    st3, _, body3 = site.srv.get("/podcast.xml", {"If-None-Match": h["ETag"]})
    assert st3 == 304 and body3 == b""
    # the enclosure serves the same file
    url = re.search(rb'<enclosure url="http://[^/]+(/media/[^"]+)"',
                    body).group(1).decode()
    st4, h4, data = site.srv.get(url)
    assert st4 == 200 and h4["Content-Type"] == "audio/mpeg"
    assert len(data) > 1000


def test_narration_off_hides_player(site):
    """An editor turning narration off for a post removes its player at
    once (the page cache follows the store's version)."""
    db = sqlite3.connect(os.path.join(site.dir, "newsroom.db"))
    try:
        db.execute("UPDATE posts SET narration_off = 1 WHERE id = ?",
                   (site.played[0],))
        db.commit()
        time.sleep(0.2)  # another process's write shows within 100 ms
        body = site.srv.get(f"/{site.played[1]}/")[2]
        assert b"<audio" not in body
    finally:
        db.execute("UPDATE posts SET narration_off = 0 WHERE id = ?",
                   (site.played[0],))
        db.commit()
        db.close()
        time.sleep(0.2)
    assert b"<audio" in site.srv.get(f"/{site.played[1]}/")[2]
