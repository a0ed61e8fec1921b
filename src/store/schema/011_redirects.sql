-- 011_redirects.sql - old addresses of imported posts, so links to a
-- WordPress site (/2024/05/slug/, /?p=123) keep working after the move
-- (newsroom import wxr, docs/import.md, "## WordPress").
--
-- One row per old path (the path of the old URL, with "?p=123" kept for
-- WordPress's plain links) and the path it now lives at ("/slug/"). The
-- 404 handler (src/web/site.c not_found) answers 301 to the target when
-- a request's path is here. Content: readers see the redirect, so a write
-- moves content_version (page caches may hold the 404).
CREATE TABLE redirects (
    path TEXT PRIMARY KEY,
    target TEXT NOT NULL
);
CREATE TRIGGER redirects_cv_ins AFTER INSERT ON redirects BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER redirects_cv_upd AFTER UPDATE ON redirects BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER redirects_cv_del AFTER DELETE ON redirects BEGIN
    UPDATE content_version SET n = n + 1;
END;
