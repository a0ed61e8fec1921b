"""Narrated articles end to end: publishing makes an MP3 that a real decoder
(sox) reads, of a length the word count predicts; the article then shows
the player with the AI label; a body edit re-narrates, a tag edit does not;
a failing or hanging engine is recorded and retried while the site keeps
serving; the desk turns audio off and regenerates it."""
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time

import pytest
import requests
from bs4 import BeautifulSoup

from conftest import Server, narrate_on, staff_site
from deskclient import desk_as, q1

ENV = {"NEWSROOM_JOB_TICK_MS": "300"}


@pytest.fixture(scope="module")
def template_site():
    tmp = tempfile.mkdtemp(prefix="newsroom-narr-")
    d = staff_site(tmp)
    # one published article only, so tests wait for one narration
    con = sqlite3.connect(os.path.join(d, "newsroom.db"))
    keep = con.execute("SELECT id FROM posts WHERE status = 'published' "
                       "ORDER BY words LIMIT 1").fetchone()[0]
    con.execute("UPDATE posts SET status = 'draft' WHERE id != ?", (keep,))
    con.commit()
    con.close()
    yield d
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture()
def site(template_site, tmpdir_path):
    d = os.path.join(tmpdir_path, "site")
    shutil.copytree(template_site, d)
    return d


def the_post(site):
    return q1(site, "SELECT id, slug, words, markdown, title FROM posts "
                    "WHERE status = 'published'")


def wait_narration(site, post_id, state="ready", newer_than=0, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        row = q1(site, "SELECT id, state, file, duration_ms, bytes, error, "
                       "source_hash FROM narrations WHERE post_id = ? AND "
                       "id > ? ORDER BY id DESC LIMIT 1", post_id, newer_than)
        if row and row[1] == state:
            return row
        time.sleep(0.2)
    raise AssertionError(f"no {state} narration for post {post_id}: {row}")


def sox_seconds(path):
    r = subprocess.run(["sox", "--i", "-D", path], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return float(r.stdout.strip())


def test_publish_narrates_and_player_appears(site):
    narrate_on(site)
    pid, slug, words, md, title = the_post(site)
    page = requests.Session()
    s = Server(site, env=ENV)
    try:
        html = page.get(f"{s.base}/{slug}/", timeout=10).text
        assert "This audio is created with AI assistance" not in html
        row = wait_narration(site, pid)
        path = os.path.join(site, "media", row[2])
        secs = sox_seconds(path)
        assert abs(secs * 1000 - row[3]) < 0.1 * row[3] + 300
        assert row[4] == os.path.getsize(path)
        # 165 words a minute by default: the headline, byline and body
        predicted = (words + len(title.split()) + 4) / 165 * 60
        assert 0.5 * predicted < secs < 1.8 * predicted, (secs, predicted)
        soup = BeautifulSoup(page.get(f"{s.base}/{slug}/", timeout=10).text,
                             "html.parser")
        audio = soup.find("audio")
        assert audio is not None
        assert "This audio is created with AI assistance" in soup.get_text()
        r = page.get(s.base + audio["src"], timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"] == \
            "audio/mpeg"
        assert r.content == open(path, "rb").read()
        r = page.get(s.base + audio["src"],
                     headers={"Range": "bytes=100-199"}, timeout=10)
        assert r.status_code == 206 and len(r.content) == 100
    finally:
        s.stop()


def test_body_edit_renarrates_tag_edit_does_not(site):
    narrate_on(site)
    pid, slug, words, md, title = the_post(site)
    s = Server(site, env=ENV)
    try:
        first = wait_narration(site, pid)
        e = desk_as(s, "editor")
        form = {"title": title, "body": md, "action": "save",
                "tags": "Weather"}
        form["author"] = str(q1(site, "SELECT author_id FROM post_authors "
                                      "WHERE post_id = ?", pid)[0])
        sec = q1(site, "SELECT t.slug FROM tags t JOIN post_tags pt ON "
                       "pt.tag_id = t.id WHERE pt.post_id = ? AND t.kind = "
                       "'section'", pid)
        if sec:
            form["section"] = sec[0]
        r = e.post(f"/desk/posts/{pid}/", form)
        assert r.status_code == 303, r.text[:300]
        time.sleep(3)
        rows = q1(site, "SELECT count(*), max(id) FROM narrations WHERE "
                        "post_id = ?", pid)
        assert rows == (1, first[0]), "a tag edit re-narrated"
        form["body"] = md + "\n\nA new closing paragraph about the harbour."
        r = e.post(f"/desk/posts/{pid}/", form)
        assert r.status_code == 303
        second = wait_narration(site, pid, newer_than=first[0])
        assert second[6] != first[6] and second[2] != first[2]
        # the old file is gone once the new one is ready
        deadline = time.time() + 5
        while os.path.exists(os.path.join(site, "media", first[2])):
            assert time.time() < deadline, "old narration file left"
            time.sleep(0.1)
    finally:
        s.stop()


@pytest.mark.parametrize("command,timeout,reason", [
    ("echo broken >&2; exit 3", "", "status 3"),
    ("sleep 60", "narration_timeout = 10\n", "timed out"),
])
def test_failing_engine_recorded_and_site_serves(site, command, timeout,
                                                 reason):
    narrate_on(site, "narration_engine = command\n"
                     f"narration_command = {command}\n" + timeout)
    pid, slug, *_ = the_post(site)
    s = Server(site, env=ENV)
    try:
        t0 = time.time()
        while time.time() - t0 < 30:
            # the site keeps answering while the engine fails or hangs
            assert requests.get(f"{s.base}/{slug}/", timeout=5)\
                .status_code == 200
            row = q1(site, "SELECT state, error FROM narrations WHERE "
                           "post_id = ?", pid)
            if row and row[0] == "failed":
                break
            time.sleep(0.3)
        assert row and row[0] == "failed", row
        assert reason in row[1]
        job = q1(site, "SELECT state, attempts, last_error FROM jobs WHERE "
                       "kind = 'narrate' ORDER BY id DESC LIMIT 1")
        # retried later with backoff (queued, or running its next attempt)
        assert job[0] in ("queued", "running") and job[1] >= 1
        assert job[2] and reason in job[2]
        html = requests.get(f"{s.base}/{slug}/", timeout=5).text
        assert "<audio" not in html
    finally:
        s.stop()


def test_desk_turns_audio_off_and_regenerates(site):
    narrate_on(site)
    pid, slug, *_ = the_post(site)
    s = Server(site, env=ENV)
    try:
        first = wait_narration(site, pid)
        e = desk_as(s, "editor")
        page = e.get(f"/desk/posts/{pid}/").text
        assert "Audio version" in page and "Ready:" in page
        a = desk_as(s, "author")  # not on the byline
        r = a.post(f"/desk/posts/{pid}/narration", {"action": "off"})
        assert r.status_code == 403
        r = e.post(f"/desk/posts/{pid}/narration", {"action": "off"})
        assert r.status_code == 303
        assert q1(site, "SELECT narration_off FROM posts WHERE id = ?",
                  pid)[0] == 1
        assert not os.path.exists(os.path.join(site, "media", first[2]))
        html = requests.get(f"{s.base}/{slug}/", timeout=5).text
        assert "<audio" not in html
        assert q1(site, "SELECT count(*) FROM narrations WHERE post_id = ?",
                  pid)[0] == 0
        r = e.post(f"/desk/posts/{pid}/narration", {"action": "on"})
        assert r.status_code == 303
        again = wait_narration(site, pid)  # every old row went with "off"
        assert os.path.exists(os.path.join(site, "media", again[2]))
        assert "<audio" in requests.get(f"{s.base}/{slug}/", timeout=5).text
    finally:
        s.stop()
