-- 008_search_all.sql - the search index holds every post, not only the
-- published ones, so the desk can search drafts and scheduled posts with
-- the same engine and rules as readers (issue 7: "the desk search uses it
-- too").
--
-- Readers still never see a draft: store_search joins posts and keeps
-- only status = 'published' unless the caller is the desk
-- (store_search_query.any_status; store_search_status in store_search.c).
-- The triggers of 007 insert from post_search_source, so redefining the
-- view is all it takes for every writer to index every post.
DROP VIEW post_search_source;
CREATE VIEW post_search_source (id, title, standfirst, body, people, tags) AS
    SELECT p.id, p.title, coalesce(p.standfirst, ''), p.plaintext,
        coalesce((SELECT group_concat(a.name, ' ') FROM post_authors pa
            JOIN authors a ON a.id = pa.author_id WHERE pa.post_id = p.id), ''),
        coalesce((SELECT group_concat(t.name, ' ') FROM post_tags pt
            JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id), '')
    FROM posts p;

INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
    SELECT * FROM post_search_source p
    WHERE p.id NOT IN (SELECT rowid FROM post_search);
