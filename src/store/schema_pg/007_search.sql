-- 007_search.sql (PostgreSQL) - full-text search over published posts, as
-- src/store/schema/007_search.sql (store.h: store_search; docs/store.md,
-- "Search").
--
-- post_search holds one tsvector per published post, weighted A for the
-- headline, B the standfirst, C the body as text (posts.plaintext), D the
-- authors' and tags' names, with the 'english' configuration (stemming)
-- for every post, so one query form finds every post; a GIN index serves
-- @@. ts_rank over these weights puts a headline hit above a mention in
-- the body.
--
-- Only published posts have a row. post_search_refresh(id) deletes the
-- post's row and, when it is published, inserts it again; triggers call it
-- whenever a post's text or status changes (store_posts_publish_due's
-- UPDATE included), its byline or tags change, or an author's or tag's
-- name changes, so every writer is covered. Deleting a post cascades.
--
-- Not a table of the data model: store_table_names leaves it out
-- (store_copy rebuilds it through the triggers).
CREATE TABLE post_search (
    post_id BIGINT PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    doc tsvector NOT NULL
);
CREATE INDEX post_search_doc ON post_search USING GIN (doc);

-- t with the punctuation news text uses outside ASCII (curly quotes,
-- dashes, ellipsis, guillemets, no-break space...) turned into spaces:
-- the default parser would keep it inside a word ("“oil”"). The
-- same characters split words in a query (store_search.c, punct()).
CREATE FUNCTION post_search_text(t TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT translate(coalesce(t, ''), chars, repeat(' ', length(chars)))
    FROM (SELECT U&'\00A0\00A1\00AB\00BB\00BF\00B7\2010\2011\2012\2013\2014\2015\2018\2019\201A\201C\201D\201E\2022\2026\2039\203A\3001\3002\300C\300D\FF0C\FF01\FF1F' AS chars) c;
$$;

CREATE FUNCTION post_search_refresh(pid BIGINT) RETURNS void
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
    FROM posts p WHERE p.id = pid AND p.status = 'published';
$$;

SELECT post_search_refresh(id) FROM posts WHERE status = 'published';

CREATE FUNCTION post_search_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'posts' THEN
        IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
            DELETE FROM post_search WHERE post_id = OLD.id;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM post_search_refresh(NEW.id);
        END IF;
    ELSIF TG_TABLE_NAME IN ('post_authors', 'post_tags') THEN
        IF TG_OP = 'INSERT' THEN
            PERFORM post_search_refresh(NEW.post_id);
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM post_search_refresh(OLD.post_id);
        ELSE
            PERFORM post_search_refresh(OLD.post_id);
            IF NEW.post_id <> OLD.post_id THEN
                PERFORM post_search_refresh(NEW.post_id);
            END IF;
        END IF;
    ELSIF TG_TABLE_NAME = 'authors' THEN
        PERFORM post_search_refresh(pa.post_id) FROM post_authors pa
            WHERE pa.author_id = NEW.id;
    ELSE
        PERFORM post_search_refresh(pt.post_id) FROM post_tags pt
            WHERE pt.tag_id = NEW.id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER post_search_posts AFTER INSERT OR UPDATE OF id, title,
    standfirst, plaintext, status ON posts
    FOR EACH ROW EXECUTE FUNCTION post_search_sync();
CREATE TRIGGER post_search_post_authors AFTER INSERT OR UPDATE OR DELETE
    ON post_authors FOR EACH ROW EXECUTE FUNCTION post_search_sync();
CREATE TRIGGER post_search_post_tags AFTER INSERT OR UPDATE OR DELETE
    ON post_tags FOR EACH ROW EXECUTE FUNCTION post_search_sync();
CREATE TRIGGER post_search_authors AFTER UPDATE OF name ON authors
    FOR EACH ROW EXECUTE FUNCTION post_search_sync();
CREATE TRIGGER post_search_tags AFTER UPDATE OF name ON tags
    FOR EACH ROW EXECUTE FUNCTION post_search_sync();

-- Written only by the triggers above, inside transactions that already
-- notify; the trigger keeps the rule "every table".
CREATE TRIGGER post_search_changed AFTER INSERT OR UPDATE OR DELETE
    OR TRUNCATE ON post_search FOR EACH STATEMENT
    EXECUTE FUNCTION newsroom_changed();
