-- 006: narrations, the audio version of a post. Same columns as
-- schema/006_narrations.sql.
--
-- narrations gets error (why a failed narration failed, NULL otherwise)
-- and bytes (the MP3's size, which the podcast feed's enclosure states).
-- posts gets narration_off: 1 = the post has no audio version.
--
-- narrations keeps 001's newsroom_changed() trigger (unlike the mail
-- tables of 005): the article page shows the player once a narration is
-- ready, so its writes must move store_version() and flush page caches on
-- every node.
ALTER TABLE narrations ADD COLUMN error TEXT;
ALTER TABLE narrations ADD COLUMN bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN narration_off INTEGER NOT NULL DEFAULT 0
    CHECK (narration_off IN (0, 1));
CREATE INDEX narrations_post_created ON narrations (post_id, created_at, id);
