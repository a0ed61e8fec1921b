-- 009_content_version.sql - a counter that moves only when something a
-- reader can see changes, so page caches keep their pages across the
-- bookkeeping writes (sessions, rate limits, the job queue, the mail
-- outbox, subscribers, staff, revisions, audit) that happen every few
-- seconds on a busy site.
--
-- store_version() on SQLite reads content_version.n (store_sqlite.c),
-- and only after PRAGMA data_version says some commit happened, so a
-- page-cache hit runs no SQL. Every write to a table below bumps it,
-- whichever process or connection makes it: the triggers are the one
-- place that decides what "content" is, as newsroom_changed() triggers
-- do on PostgreSQL (schema_pg/009_content_version.sql keeps the two
-- lists the same).
CREATE TABLE content_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT INTO content_version (id, n) VALUES (1, 1);

CREATE TRIGGER images_cv_ins AFTER INSERT ON images BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER images_cv_upd AFTER UPDATE ON images BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER images_cv_del AFTER DELETE ON images BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER authors_cv_ins AFTER INSERT ON authors BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER authors_cv_upd AFTER UPDATE ON authors BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER authors_cv_del AFTER DELETE ON authors BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER tags_cv_ins AFTER INSERT ON tags BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER tags_cv_upd AFTER UPDATE ON tags BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER tags_cv_del AFTER DELETE ON tags BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER posts_cv_ins AFTER INSERT ON posts BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER posts_cv_upd AFTER UPDATE ON posts BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER posts_cv_del AFTER DELETE ON posts BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER post_authors_cv_ins AFTER INSERT ON post_authors BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER post_authors_cv_upd AFTER UPDATE ON post_authors BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER post_authors_cv_del AFTER DELETE ON post_authors BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER post_tags_cv_ins AFTER INSERT ON post_tags BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER post_tags_cv_upd AFTER UPDATE ON post_tags BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER post_tags_cv_del AFTER DELETE ON post_tags BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER corrections_cv_ins AFTER INSERT ON corrections BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER corrections_cv_upd AFTER UPDATE ON corrections BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER corrections_cv_del AFTER DELETE ON corrections BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER live_updates_cv_ins AFTER INSERT ON live_updates BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER live_updates_cv_upd AFTER UPDATE ON live_updates BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER live_updates_cv_del AFTER DELETE ON live_updates BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER live_events_cv_ins AFTER INSERT ON live_events BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER live_events_cv_upd AFTER UPDATE ON live_events BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER live_events_cv_del AFTER DELETE ON live_events BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER newsletters_cv_ins AFTER INSERT ON newsletters BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER newsletters_cv_upd AFTER UPDATE ON newsletters BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER newsletters_cv_del AFTER DELETE ON newsletters BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER narrations_cv_ins AFTER INSERT ON narrations BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER narrations_cv_upd AFTER UPDATE ON narrations BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER narrations_cv_del AFTER DELETE ON narrations BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER settings_cv_ins AFTER INSERT ON settings BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER settings_cv_upd AFTER UPDATE ON settings BEGIN
    UPDATE content_version SET n = n + 1;
END;
CREATE TRIGGER settings_cv_del AFTER DELETE ON settings BEGIN
    UPDATE content_version SET n = n + 1;
END;
