-- 003: the job queue (src/jobs/, docs/jobs.md). Same as schema/003.
-- unique_key: at most one unfinished (queued or running) job per
-- (kind, unique_key), so a periodic job enqueued by every node runs once.
-- finished_at: when the job became done or failed (pruning old rows).
-- The jobs table has had its newsroom_changed trigger since 001.
ALTER TABLE jobs ADD COLUMN unique_key TEXT;
ALTER TABLE jobs ADD COLUMN finished_at BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX jobs_unique ON jobs (kind, unique_key)
    WHERE state IN ('queued', 'running');
