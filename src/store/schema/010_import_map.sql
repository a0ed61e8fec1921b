-- 010_import_map.sql - what each imported item became, so importing the
-- same export again creates nothing twice (newsroom import ghost|wxr,
-- docs/import.md).
--
-- One row per item of an export that was imported: the export's kind
-- ("ghost" or "wxr"), the kind of item ("post", "author", "tag",
-- "newsletter", "subscriber", "image"...), its id in the export (Ghost's
-- 24-hex ids, WordPress post ids and term slugs) and the id of the row it
-- became here. Bookkeeping: no content_version trigger.
CREATE TABLE import_map (
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    local_id BIGINT NOT NULL,
    PRIMARY KEY (source, kind, source_id)
);
