-- The live News Feed's change log: one row per new, edited or deleted
-- update, in commit order. seq is the SSE event id readers resume from
-- (Last-Event-ID), so it must only grow: AUTOINCREMENT never reuses a
-- number. Triggers write the log, so every writer (the server, a CLI
-- command, another node) is covered without remembering to.
CREATE TABLE live_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    live_id BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('post', 'edit', 'delete'))
);

CREATE TRIGGER live_updates_post AFTER INSERT ON live_updates
BEGIN
    INSERT INTO live_events (live_id, kind) VALUES (NEW.id, 'post');
END;

CREATE TRIGGER live_updates_edit AFTER UPDATE ON live_updates
BEGIN
    INSERT INTO live_events (live_id, kind) VALUES (NEW.id, 'edit');
END;

CREATE TRIGGER live_updates_delete AFTER DELETE ON live_updates
BEGIN
    INSERT INTO live_events (live_id, kind) VALUES (OLD.id, 'delete');
END;
