-- 007_search.sql - full-text search over published posts (store.h:
-- store_search; docs/store.md, "Search").
--
-- post_search is an FTS5 table keeping its own copy of the indexed text
-- (a regular, not contentless, table: SQLite 3.40 cannot delete from a
-- contentless one, and snippet() needs the text). Its rowid is the post's
-- id; its columns are the headline, the standfirst, the body as text
-- (posts.plaintext), the authors' names and the tags' names, weighted by
-- bm25() in store_sqlite_search.c so a headline hit outranks a mention in
-- the body. Tokenizer: the Porter stemmer over unicode61 (English
-- stemming; other languages are split into words and folded, diacritics
-- removed).
--
-- Only published posts are in it. Triggers keep it in sync, so every
-- writer is covered (store_post_save, store_posts_publish_due's UPDATE,
-- the desk, store_copy, a CLI command): a post is re-indexed when its
-- text or status changes, its byline or tags change, or an author's or
-- tag's name changes; deleting a post drops it. The statement is always
-- "delete the post's row, insert it again if it is published".
--
-- Not a table of the data model: store_table_names leaves post_search and
-- its shadow tables out (store_copy rebuilds it through the triggers).
CREATE VIRTUAL TABLE post_search USING fts5 (
    title, standfirst, body, people, tags,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- What the index holds for each published post: one definition that the
-- first fill and every trigger below insert from.
CREATE VIEW post_search_source (id, title, standfirst, body, people, tags) AS
    SELECT p.id, p.title, coalesce(p.standfirst, ''), p.plaintext,
        coalesce((SELECT group_concat(a.name, ' ') FROM post_authors pa
            JOIN authors a ON a.id = pa.author_id WHERE pa.post_id = p.id), ''),
        coalesce((SELECT group_concat(t.name, ' ') FROM post_tags pt
            JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id), '')
    FROM posts p WHERE p.status = 'published';

INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
    SELECT * FROM post_search_source p;

CREATE TRIGGER post_search_post_ins AFTER INSERT ON posts BEGIN
    DELETE FROM post_search WHERE rowid = NEW.id;
    INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
        SELECT * FROM post_search_source p WHERE p.id = NEW.id;
END;
CREATE TRIGGER post_search_post_upd
    AFTER UPDATE OF id, title, standfirst, plaintext, status ON posts BEGIN
    DELETE FROM post_search WHERE rowid = OLD.id;
    DELETE FROM post_search WHERE rowid = NEW.id;
    INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
        SELECT * FROM post_search_source p WHERE p.id = NEW.id;
END;
CREATE TRIGGER post_search_post_del AFTER DELETE ON posts BEGIN
    DELETE FROM post_search WHERE rowid = OLD.id;
END;

CREATE TRIGGER post_search_pa_ins AFTER INSERT ON post_authors BEGIN
    DELETE FROM post_search WHERE rowid = NEW.post_id;
    INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
        SELECT * FROM post_search_source p WHERE p.id = NEW.post_id;
END;
CREATE TRIGGER post_search_pa_upd AFTER UPDATE ON post_authors BEGIN
    DELETE FROM post_search WHERE rowid = OLD.post_id;
    INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
        SELECT * FROM post_search_source p WHERE p.id = OLD.post_id;
    DELETE FROM post_search WHERE rowid = NEW.post_id;
    INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
        SELECT * FROM post_search_source p WHERE p.id = NEW.post_id;
END;
CREATE TRIGGER post_search_pa_del AFTER DELETE ON post_authors BEGIN
    DELETE FROM post_search WHERE rowid = OLD.post_id;
    INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
        SELECT * FROM post_search_source p WHERE p.id = OLD.post_id;
END;

CREATE TRIGGER post_search_pt_ins AFTER INSERT ON post_tags BEGIN
    DELETE FROM post_search WHERE rowid = NEW.post_id;
    INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
        SELECT * FROM post_search_source p WHERE p.id = NEW.post_id;
END;
CREATE TRIGGER post_search_pt_upd AFTER UPDATE ON post_tags BEGIN
    DELETE FROM post_search WHERE rowid = OLD.post_id;
    INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
        SELECT * FROM post_search_source p WHERE p.id = OLD.post_id;
    DELETE FROM post_search WHERE rowid = NEW.post_id;
    INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
        SELECT * FROM post_search_source p WHERE p.id = NEW.post_id;
END;
CREATE TRIGGER post_search_pt_del AFTER DELETE ON post_tags BEGIN
    DELETE FROM post_search WHERE rowid = OLD.post_id;
    INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
        SELECT * FROM post_search_source p WHERE p.id = OLD.post_id;
END;

CREATE TRIGGER post_search_author_name AFTER UPDATE OF name ON authors BEGIN
    DELETE FROM post_search WHERE rowid IN
        (SELECT post_id FROM post_authors WHERE author_id = NEW.id);
    INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
        SELECT * FROM post_search_source p WHERE p.id IN
            (SELECT post_id FROM post_authors WHERE author_id = NEW.id);
END;
CREATE TRIGGER post_search_tag_name AFTER UPDATE OF name ON tags BEGIN
    DELETE FROM post_search WHERE rowid IN
        (SELECT post_id FROM post_tags WHERE tag_id = NEW.id);
    INSERT INTO post_search (rowid, title, standfirst, body, people, tags)
        SELECT * FROM post_search_source p WHERE p.id IN
            (SELECT post_id FROM post_tags WHERE tag_id = NEW.id);
END;
