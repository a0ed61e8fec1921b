-- 005: newsletters going out (store.h: subscribers, subscriptions, sends,
-- the outbox; docs/store.md).
--
-- sends: one issue of a newsletter, a single article (post_id) or a
-- digest of the N latest (digest = N, post_id NULL); created_by is the
-- staff member, with no foreign key so the history outlives the account.
-- Its outbox rows carry send_id "send:<id>" (mail_outbox.send_id stays the
-- text key it is in 001, shared with confirmation mails). AUTOINCREMENT:
-- a deleted send's id is never given again (as PostgreSQL's identity
-- never is), so a new send cannot meet an old one's outbox rows.
--
-- Indexes: claiming uses 001's mail_outbox_due (state, next_attempt_at);
-- a send's progress counts by (send_id, state). A subscriber's
-- subscriptions are found through the UNIQUE (subscriber_id,
-- newsletter_id) index of 001, so none is added for subscriber_id alone;
-- purging old pending sign-ups scans (state, created_at).
CREATE TABLE sends (
    id INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: see above
    newsletter_id BIGINT NOT NULL
        REFERENCES newsletters(id) ON DELETE CASCADE,
    post_id BIGINT REFERENCES posts(id) ON DELETE SET NULL,
    digest INTEGER NOT NULL DEFAULT 0 CHECK (digest >= 0), -- N latest, 0 = one post
    subject TEXT NOT NULL,
    created_by BIGINT,                   -- staff id, no foreign key
    created_at BIGINT NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0     -- outbox rows made
);
CREATE INDEX sends_newsletter ON sends (newsletter_id, created_at, id);
CREATE INDEX sends_created ON sends (created_at, id);

CREATE INDEX mail_outbox_send ON mail_outbox (send_id, state);
CREATE INDEX subscriptions_state_created ON subscriptions (state, created_at);
