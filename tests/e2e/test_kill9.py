"""kill -9 at the worst moments (issue 11, faults): during publishing,
during a narration and during an import. Each time the database stays
intact, every article is wholly in its old or its new state (and search
agrees), and the work resumes by itself: the narration is made once, the
import run again brings every post exactly once. (kill -9 during a
newsletter send: test_newsletter.py and test_two_node_mail.py.)"""
import json
import os
import random
import re
import sqlite3
import subprocess
import threading
import time

import pytest
import requests

from conftest import BIN, free_port, integrity, narrate_on, run, Server
from deskclient import desk_as, q1, qall


# ---- publishing --------------------------------------------------------------

def version_of(pid, n):
    """Title and body of version n of post pid: each names n, so a post
    that mixes two versions shows it."""
    return (f"Harbour report {pid} version {n}",
            f"Dispatch kw{pid}v{n} from the quay.\n\nVersion {n} of the "
            f"story, paragraph two.")


class Editor(threading.Thread):
    """Publishes, unpublishes and edits posts as fast as the server
    answers, through restarts, until stopped."""

    def __init__(self, server, pids):
        super().__init__(daemon=True)
        self.server, self.pids = server, pids
        self.n = {pid: 0 for pid in pids}
        self.halt = threading.Event()
        self.answered = 0

    def run(self):
        rnd = random.Random(7)
        desk = None
        while not self.halt.is_set():
            try:
                if desk is None:
                    desk = desk_as(self.server, "editor")
                pid = rnd.choice(self.pids)
                self.n[pid] += 1
                title, body = version_of(pid, self.n[pid])
                action = rnd.choice(["save", "publish", "unpublish"])
                r = desk.post(f"/desk/posts/{pid}/", {
                    "title": title, "body": body, "action": action})
                if r.status_code == 303:
                    self.answered += 1
                elif r.status_code in (400, 403):
                    desk = None  # form token or session lost: sign in again
            except (requests.RequestException, AssertionError, OSError):
                desk = None
                time.sleep(0.05)


def search_finds(server, word, title):
    r = requests.get(f"{server.base}/search", params={"q": word}, timeout=10)
    assert r.status_code == 200
    return title in r.text


def test_kill9_while_publishing(site):
    pids = [r[0] for r in qall(site, "SELECT id FROM posts WHERE status = "
                                     "'published' ORDER BY id LIMIT 6")]
    assert len(pids) == 6
    port = free_port()
    s = Server(site, port=port)
    ed = Editor(s, pids)
    ed.start()
    rnd = random.Random(11)
    try:
        for _ in range(5):
            # let some requests through, then kill at a random moment
            t0, start = time.time(), ed.answered
            while ed.answered < start + 3 and time.time() - t0 < 30:
                time.sleep(0.02)
            time.sleep(rnd.uniform(0.05, 0.8))
            s.kill9()
            assert integrity(site) == "ok"
            s = Server(site, port=port)
            ed.server = s
        assert ed.answered >= 15, "too few edits got through"
    finally:
        ed.halt.set()
        ed.join(30)
    try:
        assert integrity(site) == "ok"
        for pid in pids:
            title, md, status, slug = q1(
                site, "SELECT title, markdown, status, slug FROM posts "
                      "WHERE id = ?", pid)
            m = re.fullmatch(rf"Harbour report {pid} version (\d+)", title)
            if not m:  # never edited: still the demo article
                continue
            n = int(m.group(1))
            # title and body from the same version: no half-saved post
            assert (title, md) == version_of(pid, n)
            assert status in ("published", "draft")
            word = f"kw{pid}v{n}"
            page = requests.get(f"{s.base}/{slug}/", timeout=10)
            if status == "published":
                assert page.status_code == 200 and title in page.text
                assert search_finds(s, word, title), \
                    f"published post {pid} is missing from search"
            else:
                assert page.status_code == 404
                assert not search_finds(s, word, title), \
                    f"draft {pid} is found by search"
        assert requests.get(s.base + "/", timeout=10).status_code == 200
        # and the desk works on after the last kill
        d = desk_as(s, "editor")
        title, body = version_of(pids[0], 999)
        r = d.post(f"/desk/posts/{pids[0]}/", {"title": title, "body": body,
                                               "action": "publish"})
        assert r.status_code == 303
        assert search_finds(s, f"kw{pids[0]}v999", title)
    finally:
        s.stop()


# ---- narration ---------------------------------------------------------------

# a synthesiser that takes a few seconds: one second of tone as a WAV; it
# leaves a mark so the test knows it started
SLOW = ("touch {mark}; cat >/dev/null; sleep 3; "
        "sox -n -r 16000 -b 16 -c 1 -t wav - synth 1 sine 440")


def test_kill9_while_narrating(site):
    con = sqlite3.connect(os.path.join(site, "newsroom.db"))
    con.execute("UPDATE posts SET status = 'draft' WHERE id != (SELECT id "
                "FROM posts WHERE status = 'published' ORDER BY words "
                "LIMIT 1)")
    con.commit()
    con.close()
    pid = q1(site, "SELECT id FROM posts WHERE status = 'published'")[0]
    mark = os.path.join(site, "engine-started")
    narrate_on(site, "narration_engine = command\n"
                     f"narration_command = {SLOW.format(mark=mark)}\n")
    env = {"NEWSROOM_JOB_TICK_MS": "300", "NEWSROOM_JOB_LEASE_S": "3"}
    port = free_port()
    s = Server(site, port=port, env=env)
    try:
        deadline = time.time() + 30
        while not os.path.exists(mark):
            assert time.time() < deadline, "narration never started"
            time.sleep(0.05)
        time.sleep(0.5)
        s.kill9()
        assert integrity(site) == "ok"
        assert q1(site, "SELECT count(*) FROM narrations WHERE post_id = ? "
                        "AND state = 'ready'", pid)[0] == 0
        assert q1(site, "SELECT state FROM jobs WHERE kind = 'narrate'")[0] \
            == "running"
        t0 = time.time()
        s = Server(site, port=port, env=env)
        # the lease (3 s here, 60 s by default) runs out, a worker takes
        # the job again: the audio arrives without anyone doing anything
        deadline = time.time() + 30
        while time.time() < deadline:
            row = q1(site, "SELECT count(*) FROM narrations WHERE post_id = "
                           "? AND state = 'ready'", pid)
            if row[0]:
                break
            time.sleep(0.2)
        took = time.time() - t0
        assert row[0] == 1, "no audio after the restart"
        assert took < 20, took
        time.sleep(1.5)
        # exactly one narration, one file, one job done
        rows = qall(site, "SELECT state, file FROM narrations WHERE "
                          "post_id = ?", pid)
        assert len(rows) == 1 and rows[0][0] == "ready", rows
        files = os.listdir(os.path.join(site, "media", "audio"))
        assert [f for f in files if f.endswith(".mp3")] == \
            [os.path.basename(rows[0][1])], files
        assert qall(site, "SELECT state FROM jobs WHERE kind = 'narrate'") \
            == [("done",)]
        slug = q1(site, "SELECT slug FROM posts WHERE id = ?", pid)[0]
        assert "<audio" in requests.get(f"{s.base}/{slug}/", timeout=10).text
    finally:
        s.stop()
    # the killed run's temporary file (SLUG-HASH.mp3.XXXXXX) is gone: the
    # next synthesis of that file removes it
    assert [f for f in files if not f.endswith(".mp3")] == [], files


# ---- import ------------------------------------------------------------------

N_POSTS = 6000


def big_export(path):
    """A Ghost 5 export of N_POSTS posts by one author, with two tags, and
    as many members."""
    def gid(n):
        return "%024x" % n
    posts, pa, pt, members = [], [], [], []
    for i in range(N_POSTS):
        posts.append({
            "id": gid(1000 + i), "uuid": "u%d" % i, "type": "post",
            "title": f"Imported dispatch {i}", "slug": f"imported-{i}",
            "html": f"<p>Paragraph one of dispatch {i}.</p>"
                    f"<p>{'Words of the story. ' * 40}</p>",
            "status": "published", "visibility": "public",
            "created_at": "2021-03-01T10:00:00.000Z",
            "published_at": "2021-03-01T10:00:00.000Z",
            "updated_at": "2021-03-01T10:00:00.000Z"})
        pa.append({"id": gid(900000 + i), "post_id": gid(1000 + i),
                   "author_id": gid(1), "sort_order": 0})
        pt.append({"id": gid(800000 + i), "post_id": gid(1000 + i),
                   "tag_id": gid(2 + i % 2), "sort_order": 0})
        members.append({"id": gid(500000 + i), "uuid": "m%d" % i,
                        "email": f"reader{i}@example.org",
                        "status": "free", "subscribed": True,
                        "created_at": "2021-03-01T10:00:00.000Z"})
    data = {
        "users": [{"id": gid(1), "name": "Ima Porter", "slug": "ima-porter",
                   "email": "ima@example.org"}],
        "tags": [{"id": gid(2), "name": "Ports", "slug": "ports"},
                 {"id": gid(3), "name": "Weather", "slug": "weather"}],
        "posts": posts, "posts_authors": pa, "posts_tags": pt,
        "members": members,
    }
    with open(path, "w") as f:
        json.dump({"db": [{"meta": {"exported_on": 1, "version": "5.0.0"},
                           "data": data}]}, f)


def big_wxr(path):
    """A WordPress export of N_POSTS posts by one author, in two
    categories."""
    with open(path, "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<rss version="2.0" '
                'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/" '
                'xmlns:wp="http://wordpress.org/export/1.2/">\n'
                '<channel><title>Big</title><link>https://old.example</link>'
                '<wp:wxr_version>1.2</wp:wxr_version>\n'
                '<wp:author><wp:author_login>ima</wp:author_login>'
                '<wp:author_display_name>Ima Porter</wp:author_display_name>'
                '</wp:author>\n')
        for i in range(N_POSTS):
            f.write(f'<item><title>Imported dispatch {i}</title>'
                    f'<dc:creator>ima</dc:creator>'
                    f'<content:encoded><![CDATA[<p>Paragraph one of dispatch '
                    f'{i}.</p><p>{"Words of the story. " * 40}</p>]]>'
                    f'</content:encoded><wp:post_id>{1000 + i}</wp:post_id>'
                    f'<wp:post_date_gmt>2021-03-01 10:00:00</wp:post_date_gmt>'
                    f'<wp:post_name>imported-{i}</wp:post_name>'
                    f'<wp:status>publish</wp:status>'
                    f'<wp:post_type>post</wp:post_type>'
                    f'<category domain="category" nicename="c{i % 2}">'
                    f'<![CDATA[Cat {i % 2}]]></category></item>\n')
        f.write("</channel></rss>\n")


def imported(site, source="ghost"):
    con = sqlite3.connect(os.path.join(site, "newsroom.db"))
    try:
        return {
            "posts": con.execute("SELECT count(*), count(DISTINCT slug) "
                                 "FROM posts WHERE slug LIKE 'imported-%'")
            .fetchone(),
            "mapped": con.execute("SELECT count(*) FROM import_map WHERE "
                                  "source = ? AND kind = 'post'", (source,))
            .fetchone()[0],
            "subscribers": con.execute("SELECT count(*) FROM subscribers "
                                       "WHERE email LIKE 'reader%'")
            .fetchone()[0],
            "bylines": con.execute(
                "SELECT count(*) FROM post_authors pa JOIN posts p ON "
                "p.id = pa.post_id WHERE p.slug LIKE 'imported-%'")
            .fetchone()[0],
        }
    finally:
        con.close()


@pytest.mark.parametrize("fmt", ["ghost", "wxr"])
def test_kill9_during_import_then_run_again(tmpdir_path, fmt):
    site = os.path.join(tmpdir_path, "site")
    assert run("init", site).returncode == 0
    export = os.path.join(tmpdir_path, "big." + fmt)
    (big_export if fmt == "ghost" else big_wxr)(export)
    rnd = random.Random(5)
    cut = 0
    for _ in range(8):
        p = subprocess.Popen([BIN, "import", fmt, site, export],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # kill once it is writing posts, at a random point
        deadline = time.time() + 60
        while time.time() < deadline and p.poll() is None:
            try:
                if imported(site, fmt)["posts"][0] > cut:
                    break
            except sqlite3.OperationalError:
                pass
            time.sleep(0.02)
        time.sleep(rnd.uniform(0.02, 0.3))
        if p.poll() is None:
            p.kill()
            cut += 1
        p.wait()
        assert integrity(site) == "ok"
        got = imported(site, fmt)
        assert got["posts"][0] == got["posts"][1], "a post imported twice"
        # every post present is mapped (a second run will not redo it)
        assert got["mapped"] == got["posts"][0], got
    assert cut >= 4, "the import finished before it could be killed"
    assert imported(site, fmt)["posts"][0] < N_POSTS
    r = subprocess.run([BIN, "import", fmt, site, export],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert not re.search(r"\b[1-9][0-9]* skipped", r.stdout), r.stdout
    got = imported(site, fmt)
    want = {"posts": (N_POSTS, N_POSTS), "mapped": N_POSTS,
            "subscribers": N_POSTS if fmt == "ghost" else 0,
            "bylines": N_POSTS}
    assert got == want, got
    # and once more: nothing new
    r = subprocess.run([BIN, "import", fmt, site, export],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and imported(site, fmt) == got
    if fmt == "ghost":
        assert "%d already imported" % N_POSTS in r.stdout, r.stdout
