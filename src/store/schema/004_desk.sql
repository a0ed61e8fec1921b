-- 004: the editorial desk (store.h: revisions, sessions, rate limits,
-- staff tokens, audit log; docs/store.md).
--
-- post_revisions keeps the standfirst of each saved version too.
-- rate_limits: one fixed-window counter per key ("signin:ip:1.2.3.4"),
-- shared by every node; store_rate_hit restarts the window when it has
-- passed. staff_tokens: one-time invitation and password-reset links,
-- only a hash of the secret is stored. audit_log: who did what, kept
-- after the account is gone (staff_id has no foreign key).
ALTER TABLE post_revisions ADD COLUMN standfirst TEXT;

CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,        -- Unix seconds
    count INTEGER NOT NULL
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);

CREATE TABLE staff_tokens (
    token_hash TEXT PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_at BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX staff_tokens_staff ON staff_tokens (staff_id);

-- Listed newest first by id (store_audit_list: ORDER BY id DESC, paging
-- with id < before_id): the rowid b-tree is that index.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL DEFAULT 0,
    staff_id BIGINT,                     -- no foreign key: keep history
    actor TEXT NOT NULL,                 -- "Name <email>" at the time
    action TEXT NOT NULL,                -- "post.publish"
    target TEXT NOT NULL DEFAULT '',
    detail TEXT
);
CREATE INDEX audit_log_staff ON audit_log (staff_id, id);
