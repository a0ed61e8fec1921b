-- 010_import_map.sql (PostgreSQL) - as src/store/schema/010_import_map.sql:
-- what each imported item became, so a re-import creates nothing twice.
-- Bookkeeping: no newsroom_changed() trigger.
CREATE TABLE import_map (
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    local_id BIGINT NOT NULL,
    PRIMARY KEY (source, kind, source_id)
);
