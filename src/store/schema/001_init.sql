-- 001_init.sql - newsroom's whole data model (DESIGN.md, "Data").
--
-- Applied once, in its own transaction, by the store backend at open; later
-- changes go in 002_*.sql and onwards, never by editing this file.
--
-- Written to translate closely to PostgreSQL (docs/store.md lists the
-- differences): times are Unix seconds in BIGINT (0 = not set), flags are
-- INTEGER 0/1 with a CHECK, enumerations are TEXT with a CHECK, and
-- "INTEGER PRIMARY KEY" (SQLite's rowid) becomes BIGSERIAL/IDENTITY there.
-- Wide body columns come last in posts so list queries that leave them out
-- never read their overflow pages.

-- Images in media/; resized variants are named from widths x formats.
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,           -- base path under media/
    width INTEGER NOT NULL DEFAULT 0,    -- pixels of the original
    height INTEGER NOT NULL DEFAULT 0,
    widths TEXT NOT NULL DEFAULT '',     -- "480,960,1600"
    formats TEXT NOT NULL DEFAULT '',    -- "webp,jpg", first preferred
    alt TEXT,                            -- default alt text
    created_at BIGINT NOT NULL DEFAULT 0
);

-- People who sign in to the desk. author_id links to their public byline.
CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN
        ('contributor', 'author', 'editor', 'administrator')),
    password_hash TEXT NOT NULL,         -- argon2id string from libsodium
    author_id BIGINT REFERENCES authors(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
);

-- Bylines: public author pages. staff_id is set when the author signs in.
CREATE TABLE authors (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT,                           -- job title
    email TEXT,
    location TEXT,
    bio TEXT,                            -- Markdown
    avatar_id BIGINT REFERENCES images(id) ON DELETE SET NULL,
    staff_id BIGINT REFERENCES staff(id) ON DELETE SET NULL
);

-- Free tags and the paper's sections; slugs are unique across both.
CREATE TABLE tags (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT,
    kind TEXT NOT NULL DEFAULT 'tag' CHECK (kind IN ('tag', 'section')),
    position INTEGER NOT NULL DEFAULT 0  -- order of sections in navigation
);
CREATE INDEX tags_kind_position ON tags (kind, position);

-- Articles. A scheduled post goes public at published_at.
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    standfirst TEXT,
    excerpt TEXT NOT NULL DEFAULT '',
    meta_title TEXT,
    meta_description TEXT,
    language TEXT NOT NULL DEFAULT 'en', -- BCP 47
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN
        ('draft', 'scheduled', 'published')),
    featured INTEGER NOT NULL DEFAULT 0 CHECK (featured IN (0, 1)),
    pick_order INTEGER NOT NULL DEFAULT 0 CHECK (pick_order >= 0),
    words INTEGER NOT NULL DEFAULT 0,
    reading_minutes INTEGER NOT NULL DEFAULT 0,
    feature_image_id BIGINT REFERENCES images(id) ON DELETE SET NULL,
    feature_alt TEXT,
    feature_caption TEXT,                -- Markdown
    feature_credit TEXT,
    created_at BIGINT NOT NULL DEFAULT 0,
    published_at BIGINT NOT NULL DEFAULT 0, -- go-live time when scheduled
    updated_at BIGINT NOT NULL DEFAULT 0,
    markdown TEXT NOT NULL DEFAULT '',   -- body source
    html TEXT NOT NULL DEFAULT '',       -- rendered body
    plaintext TEXT NOT NULL DEFAULT ''   -- body as text
);
-- front page, archives, feeds, and the scheduler (status = 'scheduled')
CREATE INDEX posts_status_published ON posts (status, published_at, id);
CREATE INDEX posts_featured ON posts (status, published_at, id)
    WHERE featured = 1;
CREATE INDEX posts_picks ON posts (status, pick_order) WHERE pick_order > 0;

-- Every saved version of a post's text; author_id is the staff member.
CREATE TABLE post_revisions (
    id INTEGER PRIMARY KEY,
    post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    markdown TEXT NOT NULL,
    author_id BIGINT REFERENCES staff(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX post_revisions_post ON post_revisions (post_id, created_at);

-- Byline order. Deleting an author who still has bylines is refused.
CREATE TABLE post_authors (
    post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    author_id BIGINT NOT NULL REFERENCES authors(id),
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (post_id, author_id)
);
CREATE INDEX post_authors_author ON post_authors (author_id, post_id);

CREATE TABLE post_tags (
    post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX post_tags_tag ON post_tags (tag_id, post_id);

-- Notes at the foot of an article, oldest first.
CREATE TABLE corrections (
    id INTEGER PRIMARY KEY,
    post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    at BIGINT NOT NULL DEFAULT 0,
    text TEXT NOT NULL                   -- Markdown
);
CREATE INDEX corrections_post ON corrections (post_id, at, id);

-- The News Feed: short timestamped updates, newest first.
CREATE TABLE live_updates (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL DEFAULT 0,        -- time shown with the update
    updated_at BIGINT NOT NULL DEFAULT 0,
    headline TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',       -- Markdown
    html TEXT NOT NULL DEFAULT '',
    link_slug TEXT,                      -- a related post's slug
    is_key INTEGER NOT NULL DEFAULT 0 CHECK (is_key IN (0, 1))
);
CREATE INDEX live_updates_at ON live_updates (at, id);

-- Desk sign-in sessions; only a hash of the cookie token is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL DEFAULT 0,
    last_seen_at BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_staff ON sessions (staff_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE newsletters (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    sender_name TEXT NOT NULL DEFAULT '',
    sender_email TEXT NOT NULL DEFAULT '',
    author_id BIGINT REFERENCES authors(id) ON DELETE SET NULL,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    position INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,          -- as confirmed, lower-cased domain
    created_at BIGINT NOT NULL DEFAULT 0
);

-- One per (subscriber, newsletter): pending -> active -> unsubscribed.
CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY,
    subscriber_id BIGINT NOT NULL
        REFERENCES subscribers(id) ON DELETE CASCADE,
    newsletter_id BIGINT NOT NULL
        REFERENCES newsletters(id) ON DELETE CASCADE,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
        ('pending', 'active', 'unsubscribed')),
    token TEXT NOT NULL UNIQUE,          -- confirm/unsubscribe links
    created_at BIGINT NOT NULL DEFAULT 0,
    confirmed_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (subscriber_id, newsletter_id)
);
CREATE INDEX subscriptions_newsletter ON subscriptions (newsletter_id, state);

-- One row per message. send_id names the send ("newsletter:12:3",
-- "confirm:45"); the unique pair makes a send reach a subscriber at most
-- once however often it is enqueued.
CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY,
    send_id TEXT NOT NULL,
    subscriber_id BIGINT NOT NULL
        REFERENCES subscribers(id) ON DELETE CASCADE,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
        ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL DEFAULT 0,
    sent_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (send_id, subscriber_id)
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);

-- Narrated audio of a post, made for one version of its text (source_hash).
CREATE TABLE narrations (
    id INTEGER PRIMARY KEY,
    post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    source_hash TEXT NOT NULL,
    file TEXT,                           -- path under media/, once made
    duration_ms BIGINT NOT NULL DEFAULT 0,
    voice TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
        ('pending', 'ready', 'failed')),
    created_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (post_id, source_hash, voice)
);

-- Durable work for the job workers; lease_until guards a claimed job.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,                  -- "publish", "narrate", "mail"
    payload TEXT NOT NULL DEFAULT '',    -- JSON
    run_at BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN
        ('queued', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX jobs_due ON jobs (state, run_at);

-- Content API keys; only a hash of the secret is stored.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
