-- 008_search_all.sql (PostgreSQL) - the search index holds every post,
-- as src/store/schema/008_search_all.sql: the desk searches drafts and
-- scheduled posts with the same engine; readers' queries keep only
-- status = 'published' (store_search_status in store_search.c).
CREATE OR REPLACE FUNCTION post_search_refresh(pid BIGINT) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM post_search WHERE post_id = pid;
    INSERT INTO post_search (post_id, doc)
    SELECT p.id,
        setweight(to_tsvector('english', post_search_text(p.title)), 'A') ||
        setweight(to_tsvector('english', post_search_text(p.standfirst)), 'B') ||
        setweight(to_tsvector('english', post_search_text(p.plaintext)), 'C') ||
        setweight(to_tsvector('english', post_search_text(
            coalesce((SELECT string_agg(a.name, ' ') FROM post_authors pa
                      JOIN authors a ON a.id = pa.author_id
                      WHERE pa.post_id = p.id), '') || ' ' ||
            coalesce((SELECT string_agg(t.name, ' ') FROM post_tags pt
                      JOIN tags t ON t.id = pt.tag_id
                      WHERE pt.post_id = p.id), ''))), 'D')
    FROM posts p WHERE p.id = pid;
$$;

SELECT post_search_refresh(id) FROM posts WHERE status <> 'published';
