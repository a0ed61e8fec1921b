"""The page cache: repeated reads are served from memory, and a change
committed to the database by another process shows on the next request."""
import shutil
import sqlite3

from conftest import Server


def test_cached_page_follows_database_changes(demo_dir, tmpdir_path):
    site = f"{tmpdir_path}/s"
    shutil.copytree(demo_dir, site, ignore=shutil.ignore_patterns("server.log"))
    db = sqlite3.connect(f"{site}/newsroom.db")
    slug, title = db.execute(
        "SELECT slug, title FROM posts WHERE status = 'published' ORDER BY id LIMIT 1"
    ).fetchone()
    srv = Server(site)
    try:
        code, h1, first = srv.get(f"/{slug}/")
        assert code == 200 and title.encode() in first
        code, h2, second = srv.get(f"/{slug}/")
        assert code == 200 and h2.get("X-Cache") == "hit" and second == first
        assert h1["ETag"] == h2["ETag"]
        # another process (a CLI command, an editor's save) changes the post
        new_title = "Ferry service restored after storm <b>test</b>"
        db.execute("UPDATE posts SET title = ? WHERE slug = ?", (new_title, slug))
        db.commit()
        code, h3, third = srv.get(f"/{slug}/")
        assert code == 200 and h3.get("X-Cache") != "hit"
        assert b"Ferry service restored after storm &lt;b&gt;test&lt;/b&gt;" in third
        assert h3["ETag"] != h1["ETag"]
        # the front page and archive list it too, not a stale copy
        assert b"Ferry service restored" in srv.get("/archive/")[2]
        # the old ETag no longer yields 304
        code, _, _ = srv.get(f"/{slug}/", headers={"If-None-Match": h1["ETag"]})
        assert code == 200
    finally:
        srv.stop()
        db.close()
