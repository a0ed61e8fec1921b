-- 009_content_version.sql (PostgreSQL) - only writes a reader can see
-- move store_version(), as with SQLite's content_version counter
-- (schema/009_content_version.sql, which lists the same content tables:
-- images, authors, tags, posts, post_authors, post_tags, corrections,
-- live_updates, live_events, newsletters, narrations, settings).
--
-- The bookkeeping tables that still NOTIFY lose their newsroom_changed()
-- trigger: the job queue (written every few seconds by every node),
-- staff, post revisions and API keys. Their own commits already end
-- with pg_write_end_unseen (store_pg_ops.c, store_pg_desk.c), so page
-- caches keep their pages across them on every node.
DROP TRIGGER IF EXISTS jobs_changed ON jobs;
DROP TRIGGER IF EXISTS staff_changed ON staff;
DROP TRIGGER IF EXISTS post_revisions_changed ON post_revisions;
DROP TRIGGER IF EXISTS api_keys_changed ON api_keys;
