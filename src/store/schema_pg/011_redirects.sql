-- 011_redirects.sql (PostgreSQL) - as src/store/schema/011_redirects.sql:
-- old paths of imported posts and where they live now, answered with 301
-- by the 404 handler. Content: a write notifies (newsroom_changed()).
CREATE TABLE redirects (
    path TEXT PRIMARY KEY,
    target TEXT NOT NULL
);
CREATE TRIGGER redirects_changed AFTER INSERT OR UPDATE OR DELETE
    OR TRUNCATE ON redirects FOR EACH STATEMENT
    EXECUTE FUNCTION newsroom_changed();
