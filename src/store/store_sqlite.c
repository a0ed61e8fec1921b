/*
 * store_sqlite.c - the SQLite backend of store.h (the default database):
 * connections, statements, transactions, migrations, store_version and
 * the store_ops table. The content operations are in
 * store_sqlite_content.c, jobs and table copy in store_sqlite_ops.c, the
 * editorial desk's in store_sqlite_desk.c, newsletters going out
 * (subscribers, sends, the outbox) in store_sqlite_mail.c; store_sqlite.h
 * holds what they share.
 *
 * DESIGN
 * - Connections: one per thread. The first store call on a thread takes a
 *   connection from the store's free list (or opens one) and keeps it in
 *   thread-specific data; when the thread exits, a pthread_key destructor
 *   rolls back anything left open and puts it back on the free list. Each
 *   connection is used by one thread at a time, so it is opened with
 *   SQLITE_OPEN_NOMUTEX. store_close() closes them all.
 * - Statements: every statement is prepared once per connection, lazily,
 *   with SQLITE_PREPARE_PERSISTENT, and reset (bindings cleared) before the
 *   function that used it returns. store_posts_list builds its SQL from fixed
 *   fragments, one statement per combination of filters, cached the same
 *   way. User text only ever reaches SQLite as a bound parameter.
 * - Durability: WAL with synchronous=NORMAL. A commit is in the WAL file
 *   (the OS's page cache) before COMMIT returns, so it survives the process
 *   being killed (kill -9); only a power cut or kernel crash can lose the
 *   last few transactions, which FULL would prevent at the cost of an fsync
 *   per commit. docs/store.md has the reasoning.
 * - Writes: each write function runs in its own BEGIN IMMEDIATE transaction,
 *   or, inside store_tx_begin/commit, in a savepoint, so that it is applied
 *   whole or not at all either way. Reads that take several statements
 *   (a post with its authors and tags) run in one read transaction so they
 *   see one snapshot.
 * - store_version: the content_version counter (schema/009), which
 *   triggers bump on every write to a table readers see, whoever makes
 *   it. Reading it is SQL, and store_version() is on the page cache's hot
 *   path, so the answer is kept in an atomic and looked up again only
 *   when something may have changed: by the committing thread right after
 *   each commit made by this process, before the write function returns
 *   (so a reader never gets a page older than a save that has returned),
 *   and otherwise at most every VERSION_LOOK_MS, for other processes'
 *   commits (a CLI command) - the server's live-feed watcher looks every
 *   50 ms (store_version_fresh), so request threads never do. A look
 *   asks a dedicated "watch" connection (which also ran the migrations)
 *   for PRAGMA data_version, which changes when any other connection
 *   commits, and reads the counter only then. Bookkeeping commits
 *   (sessions, jobs, mail) cost one look each and leave the version
 *   alone. A thread that finds a look in progress keeps the last answer
 *   rather than wait, unless it asked for a fresh one.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/backend.h"
#include "store/store.h"
#include "store/store_sqlite.h"

#define BUSY_TIMEOUT_MS 5000 /* wait for another writer before SQLITE_BUSY */
/* store_version: other processes' commits show at most this late */
#define VERSION_LOOK_MS 100

static uint64_t sq_version(struct store *st, int fresh);

/* --- statements ---------------------------------------------------------- */

/* Insert and update pairs share parameters: ?1 is the id (update only),
 * the columns are ?2 onwards in the same order. */
static const char *const stmt_sql[S__MAX] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_BEGIN_READ] = "BEGIN",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT store_write",
    [S_RELEASE] = "RELEASE store_write",
    [S_ROLLBACK_TO] = "ROLLBACK TO store_write",
    [S_SCHEMA_VERSION] =
        "SELECT coalesce(max(version), 0) FROM schema_migrations",

    [S_SETTING_GET] = "SELECT value FROM settings WHERE key = ?1",
    [S_SETTING_SET] = "INSERT INTO settings (key, value) VALUES (?1, ?2) "
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [S_SETTING_DEL] = "DELETE FROM settings WHERE key = ?1",

    [S_POST_INSERT] =
        "INSERT INTO posts (slug, title, standfirst, excerpt, meta_title, "
        "meta_description, language, status, featured, pick_order, words, "
        "reading_minutes, feature_image_id, feature_alt, feature_caption, "
        "feature_credit, created_at, published_at, updated_at, markdown, "
        "html, plaintext, narration_off) VALUES (?2, ?3, ?4, ?5, ?6, "
        "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
        "?20, ?21, ?22, ?23, ?24)",
    /* created_at (?18) never changes after the insert */
    [S_POST_UPDATE] =
        "UPDATE posts SET slug = ?2, title = ?3, standfirst = ?4, "
        "excerpt = ?5, meta_title = ?6, meta_description = ?7, "
        "language = ?8, status = ?9, featured = ?10, pick_order = ?11, "
        "words = ?12, reading_minutes = ?13, feature_image_id = ?14, "
        "feature_alt = ?15, feature_caption = ?16, feature_credit = ?17, "
        "published_at = ?19, updated_at = ?20, markdown = ?21, html = ?22, "
        "plaintext = ?23, narration_off = ?24 WHERE id = ?1",
    [S_POST_BY_SLUG] =
        "SELECT " POST_COLS POST_BODY_COLS POST_FROM " WHERE p.slug = ?1",
    [S_POST_BY_ID] =
        "SELECT " POST_COLS POST_BODY_COLS POST_FROM " WHERE p.id = ?1",
    [S_POST_AUTHORS_DEL] = "DELETE FROM post_authors WHERE post_id = ?1",
    [S_POST_AUTHOR_ADD] = "INSERT INTO post_authors (post_id, author_id, "
                          "position) VALUES (?1, ?2, ?3)",
    [S_POST_TAGS_DEL] = "DELETE FROM post_tags WHERE post_id = ?1",
    [S_POST_TAG_ADD] = "INSERT INTO post_tags (post_id, tag_id, position) "
                       "VALUES (?1, ?2, ?3)",
    /* ?1 is a JSON array of post ids; rows come grouped in its order */
    [S_POSTS_AUTHORS] =
        "SELECT pa.post_id, " AUTHOR_COLS " FROM json_each(?1) j "
        "JOIN post_authors pa ON pa.post_id = j.value "
        "JOIN authors a ON a.id = pa.author_id "
        "LEFT JOIN images i ON i.id = a.avatar_id "
        "ORDER BY j.key, pa.position",
    [S_POSTS_TAGS] = "SELECT pt.post_id, " TAG_COLS " FROM json_each(?1) j "
                     "JOIN post_tags pt ON pt.post_id = j.value "
                     "JOIN tags t ON t.id = pt.tag_id "
                     "ORDER BY j.key, CASE t.kind WHEN 'section' THEN 0 "
                     "ELSE 1 END, pt.position",

    [S_CORRECTION_ADD] = "INSERT INTO corrections (post_id, at, text) "
                         "VALUES (?2, ?3, ?4)",
    [S_CORRECTIONS] = "SELECT id, post_id, at, text FROM corrections "
                      "WHERE post_id = ?1 ORDER BY at, id",

    [S_AUTHOR_INSERT] = "INSERT INTO authors (slug, name, role, email, "
                        "location, bio, avatar_id) "
                        "VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_AUTHOR_UPDATE] = "UPDATE authors SET slug = ?2, name = ?3, role = ?4, "
                        "email = ?5, location = ?6, bio = ?7, avatar_id = ?8 "
                        "WHERE id = ?1",
    [S_AUTHOR_BY_SLUG] = "SELECT " AUTHOR_COLS AUTHOR_FROM " WHERE a.slug = ?1",
    [S_AUTHORS] = "SELECT " AUTHOR_COLS AUTHOR_FROM " ORDER BY a.name, a.id",

    [S_TAG_INSERT] = "INSERT INTO tags (slug, name, description, kind, "
                     "position) VALUES (?2, ?3, ?4, ?5, ?6)",
    [S_TAG_UPDATE] = "UPDATE tags SET slug = ?2, name = ?3, description = ?4, "
                     "kind = ?5, position = ?6 WHERE id = ?1",
    [S_TAG_BY_SLUG] = "SELECT " TAG_COLS " FROM tags t WHERE t.slug = ?1",
    [S_TAGS] = "SELECT " TAG_COLS " FROM tags t "
               "WHERE ?1 IS NULL OR t.kind = ?1 ORDER BY " TAG_ORDER,

    [S_IMAGE_INSERT] = "INSERT INTO images (name, width, height, widths, "
                       "formats, created_at, alt) "
                       "VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    /* created_at (?7) never changes after the insert */
    [S_IMAGE_UPDATE] = "UPDATE images SET name = ?2, width = ?3, height = ?4, "
                       "widths = ?5, formats = ?6, alt = ?8 WHERE id = ?1",
    [S_IMAGE_GET] = "SELECT " IMAGE_COLS("i") " FROM images i "
                                              "WHERE i.id = ?1",
    [S_IMAGE_BY_NAME] =
        "SELECT " IMAGE_COLS("i") " FROM images i "
                                  "WHERE i.name = ?1 ORDER BY i.id LIMIT 1",

    [S_LIVE_INSERT] = "INSERT INTO live_updates (at, updated_at, headline, "
                      "body, html, link_slug, is_key) "
                      "VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_LIVE_UPDATE] = "UPDATE live_updates SET at = ?2, updated_at = ?3, "
                      "headline = ?4, body = ?5, html = ?6, link_slug = ?7, "
                      "is_key = ?8 WHERE id = ?1",
    [S_LIVE_DELETE] = "DELETE FROM live_updates WHERE id = ?1",
    [S_LIVE_LATEST] = "SELECT " LIVE_COLS " FROM live_updates "
                      "ORDER BY at DESC, id DESC LIMIT ?2",
    [S_LIVE_BEFORE] = "SELECT " LIVE_COLS " FROM live_updates WHERE at < ?1 "
                      "ORDER BY at DESC, id DESC LIMIT ?2",
    [S_LIVE_GET] = "SELECT " LIVE_COLS " FROM live_updates WHERE id = ?1",
    [S_LIVE_EVENTS] =
        "SELECT e.seq, e.kind, e.live_id, l.id, l.at, l.updated_at, "
        "l.headline, l.body, l.html, l.link_slug, l.is_key "
        "FROM live_events e LEFT JOIN live_updates l ON l.id = e.live_id "
        "WHERE e.seq > ?1 ORDER BY e.seq LIMIT ?2",
    [S_LIVE_LAST_SEQ] = "SELECT coalesce(max(seq), 0) FROM live_events",

    [S_NEWSLETTER_INSERT] =
        "INSERT INTO newsletters (slug, name, description, sender_name, "
        "sender_email, author_id, active, position) "
        "VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [S_NEWSLETTER_UPDATE] =
        "UPDATE newsletters SET slug = ?2, name = ?3, description = ?4, "
        "sender_name = ?5, sender_email = ?6, author_id = ?7, active = ?8, "
        "position = ?9 WHERE id = ?1",
    [S_NEWSLETTERS] = "SELECT " NEWSLETTER_COLS " FROM newsletters "
                      "WHERE ?1 = 0 OR active = 1 ORDER BY position, name, id",

    [S_STAFF_INSERT] = "INSERT INTO staff (email, name, role, password_hash, "
                       "author_id, created_at, disabled) "
                       "VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    /* created_at (?7) never changes after the insert */
    [S_STAFF_UPDATE] = "UPDATE staff SET email = ?2, name = ?3, role = ?4, "
                       "password_hash = ?5, author_id = ?6, disabled = ?8 "
                       "WHERE id = ?1",
    [S_STAFF_BY_EMAIL] = "SELECT " STAFF_COLS " FROM staff WHERE email = ?1",
    [S_STAFF_BY_ID] = "SELECT " STAFF_COLS " FROM staff WHERE id = ?1",
    [S_STAFF_LIST] = "SELECT " STAFF_COLS " FROM staff ORDER BY name, id",
};

static const struct store_ops sqlite_ops;

/* --- connections --------------------------------------------------------- */

/* 1 when path, or its folder (where SQLite makes the -wal and -shm
 * files), exists but cannot be written by this process: a read-only
 * mount, an immutable file, permissions. */
static int read_only(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];

    if (access(path, W_OK) != 0 && errno != ENOENT)
        return errno == EROFS || errno == EACCES || errno == EPERM;
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + (slash == path),
                 path);
    return access(dir, W_OK) != 0 &&
           (errno == EROFS || errno == EACCES || errno == EPERM);
}

/* The one-line reason for a database this process cannot write. */
static void readonly_reason(const char *path, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "database '%s' is read-only (a read-only disk or mount, or "
             "file permissions): make it and its folder writable, then "
             "start again",
             path);
}

/* Opens path with newsroom's per-connection settings; NULL with err. */
static sqlite3 *db_open(const char *path, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        path, &db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);

    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database '%s': %s", path,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    rc = sqlite3_exec(db,
                      "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot set up database '%s': %s", path,
                 sqlite3_errmsg(db));
        goto fail;
    }
    return db;
fail:
    if (read_only(path))
        readonly_reason(path, err, errlen);
    sqlite3_close(db);
    return NULL;
}

static void conn_free(struct sq_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < S__MAX; i++)
        sqlite3_finalize(c->stmts[i]);
    for (size_t i = 0; i < 2 * LIST_SHAPES; i++)
        sqlite3_finalize(c->lists[i]);
    for (size_t i = 0; i < LIST_SHAPES; i++)
        sqlite3_finalize(c->counts[i]);
    if (sqlite3_close(c->db) != SQLITE_OK)
        log_error("cannot close database '%s': %s", c->owner->path,
                  sqlite3_errmsg(c->db));
    free(c);
}

/* pthread_key destructor: the thread is gone, its connection is free. */
static void conn_release(void *arg)
{
    struct sq_conn *c = arg;
    struct sq_store *s = c->owner;

    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    c->in_tx = 0;
    pthread_mutex_lock(&s->mu);
    c->next_free = s->free;
    s->free = c;
    pthread_mutex_unlock(&s->mu);
}

/* The calling thread's connection, taken or opened on first use. */
struct sq_conn *sq_conn_get(struct sq_store *s)
{
    struct sq_conn *c = pthread_getspecific(s->key);
    char err[256];

    if (c)
        return c;
    pthread_mutex_lock(&s->mu);
    c = s->free;
    if (c)
        s->free = c->next_free;
    pthread_mutex_unlock(&s->mu);
    if (!c) {
        sqlite3 *db = db_open(s->path, err, sizeof err);
        if (!db) {
            log_error("%s", err);
            return NULL;
        }
        c = calloc(1, sizeof *c);
        if (!c) {
            log_error("cannot open database '%s': out of memory", s->path);
            sqlite3_close(db);
            return NULL;
        }
        c->owner = s;
        c->db = db;
        pthread_mutex_lock(&s->mu);
        c->next_all = s->all;
        s->all = c;
        pthread_mutex_unlock(&s->mu);
    }
    c->next_free = NULL;
    pthread_setspecific(s->key, c);
    return c;
}

/* Opens c's database again when the connection is read-only (SQLite
 * silently opens a file it cannot write read-only: a thread's first call
 * while the disk or file was read-only), so that thread's writes resume
 * by themselves once the operator fixes it. Only outside a transaction,
 * before the caller prepares anything; keeps the old connection while
 * the file still cannot be written. */
static void reopen_if_readonly(struct sq_conn *c)
{
    char err[256];
    sqlite3 *db;

    if (c->in_tx || !sqlite3_get_autocommit(c->db) ||
        sqlite3_db_readonly(c->db, "main") != 1)
        return;
    db = db_open(c->owner->path, err, sizeof err);
    if (!db)
        return;
    if (sqlite3_db_readonly(db, "main") == 1) {
        sqlite3_close(db);
        return;
    }
    for (size_t i = 0; i < S__MAX; i++) {
        sqlite3_finalize(c->stmts[i]);
        c->stmts[i] = NULL;
    }
    for (size_t i = 0; i < 2 * LIST_SHAPES; i++) {
        sqlite3_finalize(c->lists[i]);
        c->lists[i] = NULL;
    }
    for (size_t i = 0; i < LIST_SHAPES; i++) {
        sqlite3_finalize(c->counts[i]);
        c->counts[i] = NULL;
    }
    sqlite3_close(c->db);
    c->db = db;
    log_info("database '%s' is writable again", c->owner->path);
}

/* --- storage faults ------------------------------------------------------ */

/* Probes the files of db after an I/O error whose errno SQLite did not
 * keep (sqlite3_system_errno is the global errno, often overwritten by
 * then): a file that cannot be written (read-only mount, immutable file,
 * permissions) is STORE_FAULT_READONLY, a file system with no room left
 * STORE_FAULT_FULL. */
static enum store_fault probe(sqlite3 *db)
{
    const char *name = sqlite3_db_filename(db, "main");
    const char *wal = name ? sqlite3_filename_wal(name) : NULL;
    struct statvfs fs;

    if (!name || !*name)
        return STORE_FAULT_NONE;
    if (access(name, W_OK) != 0 ||
        (wal && access(wal, F_OK) == 0 && access(wal, W_OK) != 0))
        return STORE_FAULT_READONLY;
    if (statvfs(name, &fs) == 0 && fs.f_bavail == 0)
        return STORE_FAULT_FULL;
    return STORE_FAULT_NONE;
}

/* The storage fault behind db's last error, if any. */
static enum store_fault fault_of(sqlite3 *db)
{
    int ext = sqlite3_extended_errcode(db);
    int sys = sqlite3_system_errno(db);

    switch (ext & 0xff) {
    case SQLITE_FULL:
        return STORE_FAULT_FULL;
    case SQLITE_READONLY:
        return STORE_FAULT_READONLY;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        return sys == ENOSPC || sys == EDQUOT ? STORE_FAULT_FULL
               : sys == EROFS || sys == EACCES || sys == EPERM
                   ? STORE_FAULT_READONLY
                   : probe(db);
    default:
        return STORE_FAULT_NONE;
    }
}

/* --- statement helpers --------------------------------------------------- */

/* Maps the connection's last error: a unique key gives STORE_CONFLICT,
 * anything else is logged and gives STORE_ERROR, with the storage fault
 * (disk full, read-only) noted for store_last_fault(). */
int sq_fail(struct sq_conn *c, const char *what)
{
    int ext = sqlite3_extended_errcode(c->db);
    enum store_fault f;

    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return STORE_CONFLICT;
    f = fault_of(c->db);
    if (f != STORE_FAULT_NONE) /* kept when a later rollback fails */
        store_fault_note(f);
    log_error("cannot %s: %s%s", what, sqlite3_errmsg(c->db),
              f == STORE_FAULT_FULL       ? " (the disk is full)"
              : f == STORE_FAULT_READONLY ? " (the database is read-only)"
                                          : "");
    return STORE_ERROR;
}

sqlite3_stmt *sq_prepare(struct sq_conn *c, const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                           NULL) != SQLITE_OK) {
        log_error("cannot prepare statement '%.60s': %s", sql,
                  sqlite3_errmsg(c->db));
        return NULL;
    }
    return st;
}

/* The cached statement id on c, prepared on first use; NULL (logged). */
sqlite3_stmt *sq_stmt(struct sq_conn *c, enum store_sql_stmt id)
{
    if (!c->stmts[id])
        c->stmts[id] = sq_prepare(c, stmt_sql[id]);
    return c->stmts[id];
}

/* Readies a used statement for the next call. NULL is fine. */
void sq_finish(sqlite3_stmt *st)
{
    if (!st)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Steps st to the end; 0 or a sq_fail() code. Does not reset. */
int sq_step_all(struct sq_conn *c, sqlite3_stmt *st, const char *what)
{
    int rc;

    do
        rc = sqlite3_step(st);
    while (rc == SQLITE_ROW);
    return rc == SQLITE_DONE ? 0 : sq_fail(c, what);
}

/* Runs a cached statement that takes no parameters. */
static int run(struct sq_conn *c, enum store_sql_stmt id, const char *what)
{
    sqlite3_stmt *st = sq_stmt(c, id);
    int rc;

    if (!st)
        return STORE_ERROR;
    rc = sq_step_all(c, st, what);
    sq_finish(st);
    return rc;
}

int sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)
             : sqlite3_bind_null(st, i);
}

/* For NOT NULL text columns: NULL is stored as dflt. */
int sq_bind_text_or(sqlite3_stmt *st, int i, const char *s, const char *dflt)
{
    return sqlite3_bind_text(st, i, s ? s : dflt, -1, SQLITE_STATIC);
}

/* For references: 0 ("none") is stored as NULL. */
int sq_bind_ref(sqlite3_stmt *st, int i, int64_t id)
{
    return id ? sqlite3_bind_int64(st, i, id) : sqlite3_bind_null(st, i);
}

int sq_bind_int(sqlite3_stmt *st, int i, int64_t v)
{
    return sqlite3_bind_int64(st, i, v);
}

/* Text column copied into a; NULL stays NULL. */
const char *sq_col_text(struct arena *a, sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    if (!t)
        return NULL;
    return arena_strndup(a, (const char *)t,
                         (size_t)sqlite3_column_bytes(st, i));
}

int64_t sq_col_int(sqlite3_stmt *st, int i)
{
    return sqlite3_column_int64(st, i);
}

/* Room for one more item in an arena array of *cap items of size bytes. */
void *sq_grow(struct arena *a, void *arr, size_t n, size_t *cap, size_t size)
{
    void *p;

    if (n < *cap)
        return arr;
    *cap = *cap ? *cap * 2 : 8;
    p = arena_alloc(a, *cap * size);
    if (n)
        memcpy(p, arr, n * size);
    return p;
}

/* Reads every row of st into an arena array of size-byte items. */
int sq_read_rows(struct sq_conn *c, struct arena *a, sqlite3_stmt *st,
                 size_t size, sq_row_fn row, void **out, size_t *n,
                 const char *what)
{
    unsigned char *arr = NULL;
    size_t len = 0, cap = 0;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        arr = sq_grow(a, arr, len, &cap, size);
        memset(arr + len * size, 0, size);
        row(a, st, arr + len * size);
        len++;
    }
    if (rc != SQLITE_DONE)
        return sq_fail(c, what);
    *out = arr;
    *n = len;
    return 0;
}

/* Reads the one row of st into item; STORE_NOTFOUND without one. */
int sq_read_one(struct sq_conn *c, struct arena *a, sqlite3_stmt *st,
                size_t size, sq_row_fn row, void *item, const char *what)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_DONE)
        return STORE_NOTFOUND;
    if (rc != SQLITE_ROW)
        return sq_fail(c, what);
    memset(item, 0, size);
    row(a, st, item);
    return 0;
}

/* --- transactions -------------------------------------------------------- */

/* Starts the transaction of one write function: its own BEGIN IMMEDIATE,
 * or a savepoint inside the thread's store_tx_begin. */
int sq_write_begin(struct sq_conn *c)
{
    store_fault_note(STORE_FAULT_NONE);
    reopen_if_readonly(c);
    if (c->in_tx && sqlite3_get_autocommit(c->db)) {
        log_error("cannot write: the open transaction was rolled back by "
                  "an earlier error");
        return STORE_ERROR;
    }
    return run(c, c->in_tx ? S_SAVEPOINT : S_BEGIN, "begin transaction");
}

/* Ends what write_begin started: commits when rc is 0, else undoes all of
 * the function's changes. Returns rc, or STORE_ERROR if the commit fails. */
int sq_write_end(struct sq_conn *c, int rc)
{
    if (rc == 0) {
        if (c->in_tx)
            return run(c, S_RELEASE, "release savepoint");
        rc = run(c, S_COMMIT, "commit");
        if (rc == 0) {
            sq_version(&c->owner->base, 1);
            return 0;
        }
    }
    if (sqlite3_get_autocommit(c->db))
        return rc; /* SQLite already rolled everything back */
    if (c->in_tx) {
        run(c, S_ROLLBACK_TO, "roll back savepoint");
        run(c, S_RELEASE, "release savepoint");
    } else {
        run(c, S_ROLLBACK, "roll back");
    }
    return rc;
}

/* A read transaction around multi-statement reads (one snapshot). */
int sq_read_begin(struct sq_conn *c)
{
    return c->in_tx ? 0 : run(c, S_BEGIN_READ, "begin read");
}

void sq_read_end(struct sq_conn *c)
{
    if (c->in_tx || sqlite3_get_autocommit(c->db))
        return;
    if (run(c, S_COMMIT, "end read") != 0)
        run(c, S_ROLLBACK, "roll back read");
}

static int sq_tx_begin(struct store *st)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    int rc;

    if (!c)
        return STORE_ERROR;
    if (c->in_tx) {
        log_error("cannot begin transaction: one is already open on this "
                  "thread");
        return STORE_ERROR;
    }
    store_fault_note(STORE_FAULT_NONE);
    reopen_if_readonly(c);
    rc = run(c, S_BEGIN, "begin transaction");
    if (rc == 0)
        c->in_tx = 1;
    return rc == 0 ? 0 : STORE_ERROR;
}

static int sq_tx_commit(struct store *st)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));

    if (!c)
        return STORE_ERROR;
    if (!c->in_tx) {
        log_error("cannot commit: no transaction open on this thread");
        return STORE_ERROR;
    }
    c->in_tx = 0;
    if (sqlite3_get_autocommit(c->db)) {
        log_error("cannot commit: the transaction was rolled back by an "
                  "earlier error");
        return STORE_ERROR;
    }
    if (run(c, S_COMMIT, "commit") != 0) {
        if (!sqlite3_get_autocommit(c->db))
            run(c, S_ROLLBACK, "roll back");
        return STORE_ERROR;
    }
    sq_version(&c->owner->base, 1);
    return 0;
}

static void sq_tx_rollback(struct store *st)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));

    if (!c || !c->in_tx)
        return;
    c->in_tx = 0;
    if (!sqlite3_get_autocommit(c->db))
        run(c, S_ROLLBACK, "roll back");
}

/* --- version, migrations, lifecycle -------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Asks the watch connection whether anything committed and, if so, reads
 * content_version into s->version; the caller holds watch_mu. A failure
 * moves the version (caches refill rather than serve stale pages). */
static void look(struct sq_store *s)
{
    int64_t v = -1;

    if (sqlite3_step(s->data_version) == SQLITE_ROW)
        v = sqlite3_column_int64(s->data_version, 0);
    sqlite3_reset(s->data_version);
    if (v >= 0 && v == s->last_data_version)
        return;
    if (v >= 0 && sqlite3_step(s->content) == SQLITE_ROW) {
        uint64_t n = (uint64_t)sqlite3_column_int64(s->content, 0);
        /* never backwards: a failure may have moved it past n */
        if (n > atomic_load(&s->version))
            atomic_store(&s->version, n);
        s->last_data_version = v;
        sqlite3_reset(s->content);
        return;
    }
    sqlite3_reset(s->content);
    if (!s->watch_failed)
        log_warn("cannot read the content version of '%s': %s", s->path,
                 sqlite3_errmsg(s->watch));
    s->watch_failed = 1;
    atomic_fetch_add(&s->version, 1);
}

static uint64_t sq_version(struct store *st, int fresh)
{
    struct sq_store *s = sq_of(st);
    int64_t now = now_ms();

    if (!fresh && now - atomic_load(&s->looked_ms) < VERSION_LOOK_MS)
        return atomic_load(&s->version);
    if (fresh)
        pthread_mutex_lock(&s->watch_mu);
    else if (pthread_mutex_trylock(&s->watch_mu) != 0)
        return atomic_load(&s->version); /* another thread is looking */
    atomic_store(&s->looked_ms, now);
    look(s);
    pthread_mutex_unlock(&s->watch_mu);
    return atomic_load(&s->version);
}

static int sq_schema_version(struct store *st)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = c ? sq_stmt(c, S_SCHEMA_VERSION) : NULL;
    int v = STORE_ERROR;

    if (!s)
        return STORE_ERROR;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    else
        sq_fail(c, "read schema version");
    sq_finish(s);
    return v;
}

/* Runs one constant SQL text on db; 0 or -1 with err. */
static int exec(sqlite3 *db, const char *sql, const char *what, char *err,
                size_t errlen)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    snprintf(err, errlen, "cannot %s: %s", what, sqlite3_errmsg(db));
    return -1;
}

/* The newest migration recorded in db, or -1. */
static int applied_version(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int v = -1;

    if (sqlite3_prepare_v2(db, stmt_sql[S_SCHEMA_VERSION], -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Applies every embedded migration newer than the database, each in its
 * own transaction. Re-checks the version inside the transaction, so two
 * processes opening a new database at once apply each migration once. */
static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    struct store_migration m[STORE_MIGRATIONS_MAX];
    sqlite3_stmt *ins = NULL;
    int n = store_migrations(m, STORE_MIGRATIONS_MAX);
    int rc = -1;

    if (n < 0) {
        snprintf(err, errlen, "cannot read the embedded migrations");
        return -1;
    }
    if (exec(db,
             "CREATE TABLE IF NOT EXISTS schema_migrations ("
             "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
             "create schema_migrations", err, errlen) != 0)
        return -1;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO schema_migrations (version, "
                           "applied_at) VALUES (?1, ?2)",
                           -1, &ins, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot record migrations: %s",
                 sqlite3_errmsg(db));
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (exec(db, "BEGIN IMMEDIATE", "begin migration", err, errlen))
            goto out;
        int have = applied_version(db);
        if (have >= m[i].number) {
            exec(db, "COMMIT", "commit", err, errlen);
            continue;
        }
        if (have < 0) {
            snprintf(err, errlen, "cannot read schema version: %s",
                     sqlite3_errmsg(db));
            goto undo;
        }
        if (sqlite3_exec(db, m[i].sql, NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "cannot apply migration '%s': %s", m[i].name,
                     sqlite3_errmsg(db));
            goto undo;
        }
        sqlite3_bind_int(ins, 1, m[i].number);
        sqlite3_bind_int64(ins, 2, (int64_t)time(NULL));
        if (sqlite3_step(ins) != SQLITE_DONE) {
            snprintf(err, errlen, "cannot record migration '%s': %s", m[i].name,
                     sqlite3_errmsg(db));
            sqlite3_reset(ins);
            goto undo;
        }
        sqlite3_reset(ins);
        if (exec(db, "COMMIT", "commit migration", err, errlen))
            goto undo;
        log_info("applied migration '%s'", m[i].name);
    }
    rc = applied_version(db);
    if (n > 0 && rc > m[n - 1].number)
        log_warn("database schema %d is newer than this program's %d", rc,
                 m[n - 1].number);
    rc = 0;
    goto out;
undo:
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
    sqlite3_finalize(ins);
    return rc;
}

static void sq_close(struct store *st)
{
    struct sq_store *s = sq_of(st);
    struct sq_conn *c;

    if (!s)
        return;
    if (s->key_made) {
        pthread_setspecific(s->key, NULL);
        pthread_key_delete(s->key);
    }
    while (s->all) {
        c = s->all;
        s->all = c->next_all;
        if (!sqlite3_get_autocommit(c->db))
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        conn_free(c);
    }
    sqlite3_finalize(s->data_version);
    sqlite3_finalize(s->content);
    if (s->watch) {
        sqlite3_exec(s->watch, "PRAGMA optimize", NULL, NULL, NULL);
        if (sqlite3_close(s->watch) != SQLITE_OK)
            log_error("cannot close database '%s': %s", s->path,
                      sqlite3_errmsg(s->watch));
    }
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->watch_mu);
    free(s->path);
    free(s);
}

struct store *store_sqlite_open(const char *path, char *err, size_t errlen)
{
    struct sq_store *s = NULL;
    sqlite3_stmt *mode = NULL;
    const unsigned char *m;

    if (!*path) {
        snprintf(err, errlen, "no sqlite database path given");
        return NULL;
    }
    if (!sqlite3_threadsafe()) {
        snprintf(err, errlen, "cannot use sqlite: built without threads");
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        snprintf(err, errlen, "cannot open database '%s': out of memory", path);
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->watch_mu, NULL);
    atomic_init(&s->version, 0);
    atomic_init(&s->looked_ms, 0);
    if (pthread_key_create(&s->key, conn_release) != 0) {
        snprintf(err, errlen, "cannot open database '%s': no thread keys",
                 path);
        goto fail;
    }
    s->key_made = 1;
    s->watch = db_open(path, err, errlen);
    if (!s->watch)
        goto fail;
    /* SQLite would open it read-only, and share that read-only -shm with
     * every later connection of the process until all are closed: writes
     * could not resume without a restart, so refuse now (docs/faults.md) */
    if (sqlite3_db_readonly(s->watch, "main") == 1) {
        readonly_reason(path, err, errlen);
        goto fail;
    }

    /* WAL is a property of the file: set once, kept by every connection. */
    if (sqlite3_prepare_v2(s->watch, "PRAGMA journal_mode = WAL", -1, &mode,
                           NULL) != SQLITE_OK ||
        sqlite3_step(mode) != SQLITE_ROW) {
        snprintf(err, errlen, "cannot set WAL mode on '%s': %s", path,
                 sqlite3_errmsg(s->watch));
        goto fail;
    }
    m = sqlite3_column_text(mode, 0);
    if (!m || strcmp((const char *)m, "wal") != 0) {
        snprintf(err, errlen, "cannot set WAL mode on '%s': got '%s'", path,
                 m ? (const char *)m : "nothing");
        goto fail;
    }
    sqlite3_finalize(mode);
    mode = NULL;

    if (migrate(s->watch, err, errlen) != 0)
        goto fail;
    if (sqlite3_prepare_v3(s->watch, "PRAGMA data_version", -1,
                           SQLITE_PREPARE_PERSISTENT, &s->data_version,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(s->watch, "SELECT n FROM content_version", -1,
                           SQLITE_PREPARE_PERSISTENT, &s->content,
                           NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot watch '%s': %s", path,
                 sqlite3_errmsg(s->watch));
        goto fail;
    }
    sq_version(&s->base, 1);
    return &s->base;
fail:
    sqlite3_finalize(mode);
    sq_close(&s->base);
    return NULL;
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .version = sq_version,
    .schema_version = sq_schema_version,
    .tx_begin = sq_tx_begin,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
    .setting_get = sq_setting_get,
    .setting_set = sq_setting_set,
    .post_save = sq_post_save,
    .post_get_by_slug = sq_post_get_by_slug,
    .post_get = sq_post_get,
    .posts_list = sq_posts_list,
    .correction_add = sq_correction_add,
    .corrections_list = sq_corrections_list,
    .author_save = sq_author_save,
    .author_get_by_slug = sq_author_get_by_slug,
    .authors_list = sq_authors_list,
    .tag_save = sq_tag_save,
    .tag_get_by_slug = sq_tag_get_by_slug,
    .tags_list = sq_tags_list,
    .image_save = sq_image_save,
    .image_get = sq_image_get,
    .image_get_by_name = sq_image_get_by_name,
    .live_save = sq_live_save,
    .live_delete = sq_live_delete,
    .live_list = sq_live_list,
    .live_get = sq_live_get,
    .live_events = sq_live_events,
    .live_last_seq = sq_live_last_seq,
    .newsletter_save = sq_newsletter_save,
    .newsletters_list = sq_newsletters_list,
    .job_add = sq_job_add,
    .job_claim = sq_job_claim,
    .job_done = sq_job_done,
    .job_extend = sq_job_extend,
    .job_retry = sq_job_retry,
    .job_fail = sq_job_fail,
    .jobs_count = sq_jobs_count,
    .jobs_prune = sq_jobs_prune,
    .posts_publish_due = sq_posts_publish_due,
    .table_names = sq_table_names,
    .table_columns = sq_table_columns,
    .table_rows = sq_table_rows,
    .rows_dump = sq_rows_dump,
    .table_clear = sq_table_clear,
    .row_load = sq_row_load,
    .ids_reset = sq_ids_reset,
    .staff_save = sq_staff_save,
    .staff_get_by_email = sq_staff_get_by_email,
    .staff_get = sq_staff_get,
    .staff_list = sq_staff_list,
    .post_delete = sq_post_delete,
    .picks_set = sq_picks_set,
    .revision_add = sq_revision_add,
    .revisions_list = sq_revisions_list,
    .revision_get = sq_revision_get,
    .session_add = sq_session_add,
    .session_get = sq_session_get,
    .session_touch = sq_session_touch,
    .session_delete = sq_session_delete,
    .sessions_delete_staff = sq_sessions_delete_staff,
    .sessions_prune = sq_sessions_prune,
    .rate_hit = sq_rate_hit,
    .rate_peek = sq_rate_peek,
    .rate_clear = sq_rate_clear,
    .rate_prune = sq_rate_prune,
    .staff_token_add = sq_staff_token_add,
    .staff_token_take = sq_staff_token_take,
    .staff_token_get = sq_staff_token_get,
    .staff_totp_get = sq_staff_totp_get,
    .staff_totp_set = sq_staff_totp_set,
    .staff_totp_use = sq_staff_totp_use,
    .audit_add = sq_audit_add,
    .audit_list = sq_audit_list,
    .setting_init = sq_setting_init,
    .newsletter_get = sq_newsletter_get,
    .newsletter_get_by_slug = sq_newsletter_get_by_slug,
    .subscriber_upsert = sq_subscriber_upsert,
    .subscriber_get = sq_subscriber_get,
    .subscriber_get_by_email = sq_subscriber_get_by_email,
    .subscription_request = sq_subscription_request,
    .subscription_set = sq_subscription_set,
    .subscriptions_of = sq_subscriptions_of,
    .subscriptions_purge = sq_subscriptions_purge,
    .subscriptions_search = sq_subscriptions_search,
    .subscription_counts = sq_subscription_counts,
    .subscription_daily = sq_subscription_daily,
    .send_create = sq_send_create,
    .send_get = sq_send_get,
    .sends_list = sq_sends_list,
    .outbox_progress = sq_outbox_progress,
    .outbox_add = sq_outbox_add,
    .outbox_claim = sq_outbox_claim,
    .outbox_sent = sq_outbox_sent,
    .outbox_retry = sq_outbox_retry,
    .outbox_release = sq_outbox_release,
    .outbox_fail = sq_outbox_fail,
    .narration_save = sq_narration_save,
    .narration_latest = sq_narration_latest,
    .narration_ready = sq_narration_ready,
    .narrations_prune = sq_narrations_prune,
    .episodes = sq_episodes,
    .posts_unnarrated = sq_posts_unnarrated,
    .post_stamps = sq_post_stamps,
    .post_stamp_pages = sq_post_stamp_pages,
    .archive_stamps = sq_archive_stamps,
    .import_map_get = sq_import_map_get,
    .import_map_put = sq_import_map_put,
    .api_key_add = sq_api_key_add,
    .api_key_find = sq_api_key_find,
    .api_keys_list = sq_api_keys_list,
    .api_key_delete = sq_api_key_delete,
    .redirect_put = sq_redirect_put,
    .redirect_get = sq_redirect_get,
    .post_set_narration_off = sq_post_set_narration_off,
    .search = sq_search,
};
