-- 006: narrations, the audio version of a post (store.h: narrations;
-- docs/store.md, "Narrations").
--
-- narrations gets error (why a failed narration failed, NULL otherwise)
-- and bytes (the MP3's size, which the podcast feed's enclosure states).
-- posts gets narration_off: 1 = the post has no audio version (the
-- narration worker skips it; store_posts_unnarrated leaves it out).
--
-- Indexes: a post's newest narration (store_narration_latest/_ready, the
-- feed's newest ready one per post) is found by (post_id, created_at, id);
-- 001's UNIQUE (post_id, source_hash, voice) keeps serving the upsert.
ALTER TABLE narrations ADD COLUMN error TEXT;
ALTER TABLE narrations ADD COLUMN bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN narration_off INTEGER NOT NULL DEFAULT 0
    CHECK (narration_off IN (0, 1));
CREATE INDEX narrations_post_created ON narrations (post_id, created_at, id);
