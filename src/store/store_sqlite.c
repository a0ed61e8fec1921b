/*
 * store_sqlite.c - the SQLite backend of store.h (the default database).
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
 * - store_version: a dedicated "watch" connection (which also ran the
 *   migrations) answers PRAGMA data_version, which changes when any other
 *   connection - of this process or another - commits; it is added to a
 *   counter bumped on each commit made here. Both only grow, so the sum
 *   changes whenever either does.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/backend.h"
#include "store/store.h"

#define BUSY_TIMEOUT_MS 5000 /* wait for another writer before SQLITE_BUSY */
#define LIST_LIMIT 10        /* rows when a list asks for 0 */
#define LIST_SQL_BYTES 4096  /* longest generated posts-list statement */

/* --- statements ---------------------------------------------------------- */

#define IMAGE_COLS(t)                                                          \
    t ".id, " t ".name, " t ".width, " t ".height, " t ".widths, " t           \
      ".formats, " t ".alt"
#define NIMAGE_COLS 7

/* Post columns without and with the body (the body comes last). */
#define POST_COLS                                                              \
    "p.id, p.slug, p.title, p.standfirst, p.excerpt, p.meta_title, "           \
    "p.meta_description, p.language, p.status, p.featured, p.pick_order, "     \
    "p.words, p.reading_minutes, p.feature_image_id, p.feature_alt, "          \
    "p.feature_caption, p.feature_credit, p.created_at, p.published_at, "      \
    "p.updated_at, " IMAGE_COLS("fi")
#define POST_BODY_COLS ", p.markdown, p.html, p.plaintext"
#define POST_FROM                                                              \
    " FROM posts p LEFT JOIN images fi ON fi.id = p.feature_image_id"
#define COL_POST_IMAGE 20 /* first image column in POST_COLS */
#define COL_POST_BODY 27  /* first body column */

#define AUTHOR_COLS                                                            \
    "a.id, a.slug, a.name, a.role, a.email, a.location, a.bio, a.avatar_id, "  \
    IMAGE_COLS("i")
#define AUTHOR_FROM " FROM authors a LEFT JOIN images i ON i.id = a.avatar_id"
#define COL_AUTHOR_IMAGE 8

#define TAG_COLS "t.id, t.slug, t.name, t.description, t.kind, t.position"
/* Sections first (by position), then tags by name. */
#define TAG_ORDER                                                              \
    "CASE t.kind WHEN 'section' THEN 0 ELSE 1 END, "                           \
    "CASE t.kind WHEN 'section' THEN t.position ELSE 0 END, t.name, t.id"

#define LIVE_COLS "id, at, updated_at, headline, body, html, link_slug, is_key"
#define NEWSLETTER_COLS                                                        \
    "id, slug, name, description, sender_name, sender_email, author_id, "      \
    "active, position"

enum stmt {
    S_BEGIN,
    S_BEGIN_READ,
    S_COMMIT,
    S_ROLLBACK,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_SCHEMA_VERSION,
    S_SETTING_GET,
    S_SETTING_SET,
    S_SETTING_DEL,
    S_POST_INSERT,
    S_POST_UPDATE,
    S_POST_BY_SLUG,
    S_POST_BY_ID,
    S_POST_AUTHORS_DEL,
    S_POST_AUTHOR_ADD,
    S_POST_TAGS_DEL,
    S_POST_TAG_ADD,
    S_POSTS_AUTHORS,
    S_POSTS_TAGS,
    S_CORRECTION_ADD,
    S_CORRECTIONS,
    S_AUTHOR_INSERT,
    S_AUTHOR_UPDATE,
    S_AUTHOR_BY_SLUG,
    S_AUTHORS,
    S_TAG_INSERT,
    S_TAG_UPDATE,
    S_TAG_BY_SLUG,
    S_TAGS,
    S_IMAGE_INSERT,
    S_IMAGE_UPDATE,
    S_IMAGE_GET,
    S_IMAGE_BY_NAME,
    S_LIVE_INSERT,
    S_LIVE_UPDATE,
    S_LIVE_DELETE,
    S_LIVE_LATEST,
    S_LIVE_BEFORE,
    S_LIVE_GET,
    S_LIVE_EVENTS,
    S_LIVE_LAST_SEQ,
    S_NEWSLETTER_INSERT,
    S_NEWSLETTER_UPDATE,
    S_NEWSLETTERS,
    S__MAX
};

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
        "html, plaintext) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
        "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
    /* created_at (?18) never changes after the insert */
    [S_POST_UPDATE] =
        "UPDATE posts SET slug = ?2, title = ?3, standfirst = ?4, "
        "excerpt = ?5, meta_title = ?6, meta_description = ?7, "
        "language = ?8, status = ?9, featured = ?10, pick_order = ?11, "
        "words = ?12, reading_minutes = ?13, feature_image_id = ?14, "
        "feature_alt = ?15, feature_caption = ?16, feature_credit = ?17, "
        "published_at = ?19, updated_at = ?20, markdown = ?21, html = ?22, "
        "plaintext = ?23 WHERE id = ?1",
    [S_POST_BY_SLUG] = "SELECT " POST_COLS POST_BODY_COLS POST_FROM
                       " WHERE p.slug = ?1",
    [S_POST_BY_ID] = "SELECT " POST_COLS POST_BODY_COLS POST_FROM
                     " WHERE p.id = ?1",
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
    [S_AUTHOR_BY_SLUG] = "SELECT " AUTHOR_COLS AUTHOR_FROM
                         " WHERE a.slug = ?1",
    [S_AUTHORS] = "SELECT " AUTHOR_COLS AUTHOR_FROM
                  " ORDER BY a.name, a.id",

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
    [S_IMAGE_BY_NAME] = "SELECT " IMAGE_COLS("i") " FROM images i "
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
};

/* store_posts_list filters: one bit each in the statement cache index. */
enum filter {
    F_STATUS,
    F_TAG,
    F_AUTHOR,
    F_FEATURED,
    F_PICKS,
    F_BEFORE,
    F_EXCLUDE,
    F__MAX
};
#define LIST_SHAPES (1u << F__MAX) /* filter combinations */

/* Parameters: ?1 status, ?2 tag, ?3 author, ?4 before, ?5 exclude,
 * ?6 limit, ?7 offset. */
static const char *const filter_sql[F__MAX] = {
    [F_STATUS] = " AND p.status = ?1",
    [F_TAG] = " AND p.id IN (SELECT pt.post_id FROM post_tags pt "
              "JOIN tags t ON t.id = pt.tag_id WHERE t.slug = ?2)",
    [F_AUTHOR] = " AND p.id IN (SELECT pa.post_id FROM post_authors pa "
                 "JOIN authors au ON au.id = pa.author_id "
                 "WHERE au.slug = ?3)",
    [F_FEATURED] = " AND p.featured = 1",
    [F_PICKS] = " AND p.pick_order > 0",
    [F_BEFORE] = " AND p.published_at <= ?4",
    [F_EXCLUDE] = " AND p.slug <> ?5",
};

static const char *const status_names[] = {
    [STORE_POST_DRAFT] = "draft",
    [STORE_POST_SCHEDULED] = "scheduled",
    [STORE_POST_PUBLISHED] = "published",
};

static const char *const kind_names[] = {
    [STORE_TAG_TAG] = "tag",
    [STORE_TAG_SECTION] = "section",
};

/* --- state --------------------------------------------------------------- */

struct sqlite_store;

/* One thread's connection and its prepared statements. */
struct conn {
    struct sqlite_store *owner;        /* the store it belongs to */
    sqlite3 *db;                       /* open connection */
    sqlite3_stmt *stmts[S__MAX];       /* by enum stmt, NULL until used */
    sqlite3_stmt *lists[2 * LIST_SHAPES]; /* posts list by shape (+body) */
    sqlite3_stmt *counts[LIST_SHAPES]; /* posts count by shape */
    int in_tx;                         /* 1 between store_tx_begin/commit */
    struct conn *next_all;             /* every connection of the store */
    struct conn *next_free;            /* free list, when not on a thread */
};

struct sqlite_store {
    struct store base;          /* must be first: ops */
    char *path;                 /* database file (malloc) */
    pthread_key_t key;          /* this thread's struct conn */
    int key_made;               /* 1 once key exists */
    pthread_mutex_t mu;         /* guards all and free */
    struct conn *all;           /* every connection opened */
    struct conn *free;          /* connections of exited threads */
    pthread_mutex_t watch_mu;   /* guards the fields below */
    sqlite3 *watch;             /* migrations and data_version */
    sqlite3_stmt *data_version; /* PRAGMA data_version on watch */
    int64_t last_data_version;  /* its last answer */
    uint64_t others;            /* changes seen through data_version */
    int watch_failed;           /* 1 once a failure was logged */
    atomic_uint_fast64_t own;   /* commits made by this process */
};

static const struct store_ops sqlite_ops;

static struct sqlite_store *sq(struct store *st)
{
    return (struct sqlite_store *)st;
}

/* --- connections --------------------------------------------------------- */

/* Opens path with newsroom's per-connection settings; NULL with err. */
static sqlite3 *db_open(const char *path, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                 SQLITE_OPEN_NOMUTEX,
                             NULL);

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
    sqlite3_close(db);
    return NULL;
}

static void conn_free(struct conn *c)
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
    struct conn *c = arg;
    struct sqlite_store *s = c->owner;

    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    c->in_tx = 0;
    pthread_mutex_lock(&s->mu);
    c->next_free = s->free;
    s->free = c;
    pthread_mutex_unlock(&s->mu);
}

/* The calling thread's connection, taken or opened on first use. */
static struct conn *conn_get(struct sqlite_store *s)
{
    struct conn *c = pthread_getspecific(s->key);
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

/* --- statement helpers --------------------------------------------------- */

/* Maps the connection's last error: a unique key gives STORE_CONFLICT,
 * anything else is logged and gives STORE_ERROR. */
static int fail(struct conn *c, const char *what)
{
    int ext = sqlite3_extended_errcode(c->db);

    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return STORE_CONFLICT;
    log_error("cannot %s: %s", what, sqlite3_errmsg(c->db));
    return STORE_ERROR;
}

static sqlite3_stmt *prepare(struct conn *c, const char *sql)
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
static sqlite3_stmt *stmt(struct conn *c, enum stmt id)
{
    if (!c->stmts[id])
        c->stmts[id] = prepare(c, stmt_sql[id]);
    return c->stmts[id];
}

/* Readies a used statement for the next call. NULL is fine. */
static void finish(sqlite3_stmt *st)
{
    if (!st)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Steps st to the end; 0 or a fail() code. Does not reset. */
static int step_all(struct conn *c, sqlite3_stmt *st, const char *what)
{
    int rc;

    do
        rc = sqlite3_step(st);
    while (rc == SQLITE_ROW);
    return rc == SQLITE_DONE ? 0 : fail(c, what);
}

/* Runs a cached statement that takes no parameters. */
static int run(struct conn *c, enum stmt id, const char *what)
{
    sqlite3_stmt *st = stmt(c, id);
    int rc;

    if (!st)
        return STORE_ERROR;
    rc = step_all(c, st, what);
    finish(st);
    return rc;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)
             : sqlite3_bind_null(st, i);
}

/* For NOT NULL text columns: NULL is stored as dflt. */
static int bind_text_or(sqlite3_stmt *st, int i, const char *s,
                        const char *dflt)
{
    return sqlite3_bind_text(st, i, s ? s : dflt, -1, SQLITE_STATIC);
}

/* For references: 0 ("none") is stored as NULL. */
static int bind_ref(sqlite3_stmt *st, int i, int64_t id)
{
    return id ? sqlite3_bind_int64(st, i, id) : sqlite3_bind_null(st, i);
}

static int bind_int(sqlite3_stmt *st, int i, int64_t v)
{
    return sqlite3_bind_int64(st, i, v);
}

/* Text column copied into a; NULL stays NULL. */
static const char *col_text(struct arena *a, sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    if (!t)
        return NULL;
    return arena_strndup(a, (const char *)t,
                         (size_t)sqlite3_column_bytes(st, i));
}

static int64_t col_int(sqlite3_stmt *st, int i)
{
    return sqlite3_column_int64(st, i);
}

/* Room for one more item in an arena array of *cap items of size bytes. */
static void *grow(struct arena *a, void *arr, size_t n, size_t *cap,
                  size_t size)
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

typedef void (*row_fn)(struct arena *a, sqlite3_stmt *st, void *item);

/* Reads every row of st into an arena array of size-byte items. */
static int read_rows(struct conn *c, struct arena *a, sqlite3_stmt *st,
                     size_t size, row_fn row, void **out, size_t *n,
                     const char *what)
{
    unsigned char *arr = NULL;
    size_t len = 0, cap = 0;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        arr = grow(a, arr, len, &cap, size);
        memset(arr + len * size, 0, size);
        row(a, st, arr + len * size);
        len++;
    }
    if (rc != SQLITE_DONE)
        return fail(c, what);
    *out = arr;
    *n = len;
    return 0;
}

/* Reads the one row of st into item; STORE_NOTFOUND without one. */
static int read_one(struct conn *c, struct arena *a, sqlite3_stmt *st,
                    size_t size, row_fn row, void *item, const char *what)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_DONE)
        return STORE_NOTFOUND;
    if (rc != SQLITE_ROW)
        return fail(c, what);
    memset(item, 0, size);
    row(a, st, item);
    return 0;
}

/* --- transactions -------------------------------------------------------- */

/* Starts the transaction of one write function: its own BEGIN IMMEDIATE,
 * or a savepoint inside the thread's store_tx_begin. */
static int write_begin(struct conn *c)
{
    if (c->in_tx && sqlite3_get_autocommit(c->db)) {
        log_error("cannot write: the open transaction was rolled back by "
                  "an earlier error");
        return STORE_ERROR;
    }
    return run(c, c->in_tx ? S_SAVEPOINT : S_BEGIN, "begin transaction");
}

/* Ends what write_begin started: commits when rc is 0, else undoes all of
 * the function's changes. Returns rc, or STORE_ERROR if the commit fails. */
static int write_end(struct conn *c, int rc)
{
    if (rc == 0) {
        if (c->in_tx)
            return run(c, S_RELEASE, "release savepoint");
        rc = run(c, S_COMMIT, "commit");
        if (rc == 0) {
            atomic_fetch_add(&c->owner->own, 1);
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
static int read_begin(struct conn *c)
{
    return c->in_tx ? 0 : run(c, S_BEGIN_READ, "begin read");
}

static void read_end(struct conn *c)
{
    if (c->in_tx || sqlite3_get_autocommit(c->db))
        return;
    if (run(c, S_COMMIT, "end read") != 0)
        run(c, S_ROLLBACK, "roll back read");
}

static int sq_tx_begin(struct store *st)
{
    struct conn *c = conn_get(sq(st));
    int rc;

    if (!c)
        return STORE_ERROR;
    if (c->in_tx) {
        log_error("cannot begin transaction: one is already open on this "
                  "thread");
        return STORE_ERROR;
    }
    rc = run(c, S_BEGIN, "begin transaction");
    if (rc == 0)
        c->in_tx = 1;
    return rc == 0 ? 0 : STORE_ERROR;
}

static int sq_tx_commit(struct store *st)
{
    struct conn *c = conn_get(sq(st));

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
        run(c, S_ROLLBACK, "roll back");
        return STORE_ERROR;
    }
    atomic_fetch_add(&c->owner->own, 1);
    return 0;
}

static void sq_tx_rollback(struct store *st)
{
    struct conn *c = conn_get(sq(st));

    if (!c || !c->in_tx)
        return;
    c->in_tx = 0;
    if (!sqlite3_get_autocommit(c->db))
        run(c, S_ROLLBACK, "roll back");
}

/* --- row readers and binders --------------------------------------------- */

/* The image in the NIMAGE_COLS columns from col, or NULL if absent. */
static struct store_image *read_image(struct arena *a, sqlite3_stmt *st,
                                      int col)
{
    struct store_image *img;

    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    img = arena_zalloc(a, sizeof *img);
    img->id = col_int(st, col);
    img->name = col_text(a, st, col + 1);
    img->width = (unsigned)col_int(st, col + 2);
    img->height = (unsigned)col_int(st, col + 3);
    img->widths = col_text(a, st, col + 4);
    img->formats = col_text(a, st, col + 5);
    img->alt = col_text(a, st, col + 6);
    return img;
}

static void image_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    struct store_image *img = read_image(a, st, 0);

    if (img)
        *(struct store_image *)item = *img;
}

static int bind_image(sqlite3_stmt *st, const void *obj)
{
    const struct store_image *img = obj;

    return bind_text(st, 2, img->name) | bind_int(st, 3, img->width) |
           bind_int(st, 4, img->height) | bind_text_or(st, 5, img->widths, "") |
           bind_text_or(st, 6, img->formats, "") |
           bind_int(st, 7, (int64_t)time(NULL)) | bind_text(st, 8, img->alt);
}

/* AUTHOR_COLS starting at column col. */
static void read_author(struct arena *a, sqlite3_stmt *st, int col,
                        struct store_author *au)
{
    au->id = col_int(st, col);
    au->slug = col_text(a, st, col + 1);
    au->name = col_text(a, st, col + 2);
    au->role = col_text(a, st, col + 3);
    au->email = col_text(a, st, col + 4);
    au->location = col_text(a, st, col + 5);
    au->bio = col_text(a, st, col + 6);
    au->avatar_id = col_int(st, col + 7);
    au->avatar = read_image(a, st, col + COL_AUTHOR_IMAGE);
}

static void author_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    read_author(a, st, 0, item);
}

static int bind_author(sqlite3_stmt *st, const void *obj)
{
    const struct store_author *au = obj;

    return bind_text(st, 2, au->slug) | bind_text(st, 3, au->name) |
           bind_text(st, 4, au->role) | bind_text(st, 5, au->email) |
           bind_text(st, 6, au->location) | bind_text(st, 7, au->bio) |
           bind_ref(st, 8, au->avatar_id);
}

/* TAG_COLS starting at column col. */
static void read_tag(struct arena *a, sqlite3_stmt *st, int col,
                     struct store_tag *t)
{
    const unsigned char *kind = sqlite3_column_text(st, col + 4);

    t->id = col_int(st, col);
    t->slug = col_text(a, st, col + 1);
    t->name = col_text(a, st, col + 2);
    t->description = col_text(a, st, col + 3);
    t->kind = kind && strcmp((const char *)kind, "section") == 0
                  ? STORE_TAG_SECTION
                  : STORE_TAG_TAG;
    t->position = (unsigned)col_int(st, col + 5);
}

static void tag_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    read_tag(a, st, 0, item);
}

static const char *kind_name(int kind)
{
    return kind == STORE_TAG_TAG || kind == STORE_TAG_SECTION
               ? kind_names[kind]
               : NULL;
}

static int bind_tag(sqlite3_stmt *st, const void *obj)
{
    const struct store_tag *t = obj;

    return bind_text(st, 2, t->slug) | bind_text(st, 3, t->name) |
           bind_text(st, 4, t->description) |
           bind_text(st, 5, kind_name((int)t->kind)) |
           bind_int(st, 6, t->position);
}

/* POST_COLS (and POST_BODY_COLS when body) of the current row. */
static void read_post(struct arena *a, sqlite3_stmt *st, struct store_post *p,
                      int body)
{
    const unsigned char *status = sqlite3_column_text(st, 8);

    p->id = col_int(st, 0);
    p->slug = col_text(a, st, 1);
    p->title = col_text(a, st, 2);
    p->standfirst = col_text(a, st, 3);
    p->excerpt = col_text(a, st, 4);
    p->meta_title = col_text(a, st, 5);
    p->meta_description = col_text(a, st, 6);
    p->language = col_text(a, st, 7);
    p->status = STORE_POST_DRAFT;
    for (int i = 0; status && i <= STORE_POST_PUBLISHED; i++)
        if (strcmp((const char *)status, status_names[i]) == 0)
            p->status = (enum store_post_status)i;
    p->featured = col_int(st, 9) != 0;
    p->pick_order = (unsigned)col_int(st, 10);
    p->words = (unsigned)col_int(st, 11);
    p->reading_minutes = (unsigned)col_int(st, 12);
    p->feature_image_id = col_int(st, 13);
    p->feature_alt = col_text(a, st, 14);
    p->feature_caption = col_text(a, st, 15);
    p->feature_credit = col_text(a, st, 16);
    p->created_at = col_int(st, 17);
    p->published_at = col_int(st, 18);
    p->updated_at = col_int(st, 19);
    p->feature_image = read_image(a, st, COL_POST_IMAGE);
    if (body) {
        p->markdown = col_text(a, st, COL_POST_BODY);
        p->html = col_text(a, st, COL_POST_BODY + 1);
        p->plaintext = col_text(a, st, COL_POST_BODY + 2);
    }
}

static void post_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    read_post(a, st, item, 0);
}

static void post_body_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    read_post(a, st, item, 1);
}

static const char *status_name(int status)
{
    return status >= STORE_POST_DRAFT && status <= STORE_POST_PUBLISHED
               ? status_names[status]
               : NULL;
}

static int bind_post(sqlite3_stmt *st, const void *obj)
{
    const struct store_post *p = obj;

    return bind_text(st, 2, p->slug) | bind_text(st, 3, p->title) |
           bind_text(st, 4, p->standfirst) |
           bind_text_or(st, 5, p->excerpt, "") |
           bind_text(st, 6, p->meta_title) |
           bind_text(st, 7, p->meta_description) |
           bind_text_or(st, 8, p->language, "en") |
           bind_text(st, 9, status_name((int)p->status)) |
           bind_int(st, 10, p->featured ? 1 : 0) |
           bind_int(st, 11, p->pick_order) | bind_int(st, 12, p->words) |
           bind_int(st, 13, p->reading_minutes) |
           bind_ref(st, 14, p->feature_image_id) |
           bind_text(st, 15, p->feature_alt) |
           bind_text(st, 16, p->feature_caption) |
           bind_text(st, 17, p->feature_credit) |
           bind_int(st, 18, p->created_at) |
           bind_int(st, 19, p->published_at) |
           bind_int(st, 20, p->updated_at) |
           bind_text_or(st, 21, p->markdown, "") |
           bind_text_or(st, 22, p->html, "") |
           bind_text_or(st, 23, p->plaintext, "");
}

static void correction_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    struct store_correction *c = item;

    c->id = col_int(st, 0);
    c->post_id = col_int(st, 1);
    c->at = col_int(st, 2);
    c->text = col_text(a, st, 3);
}

static int bind_correction(sqlite3_stmt *st, const void *obj)
{
    const struct store_correction *c = obj;

    return bind_int(st, 2, c->post_id) | bind_int(st, 3, c->at) |
           bind_text(st, 4, c->text);
}

static void live_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    struct store_live *lu = item;

    lu->id = col_int(st, 0);
    lu->at = col_int(st, 1);
    lu->updated_at = col_int(st, 2);
    lu->headline = col_text(a, st, 3);
    lu->body = col_text(a, st, 4);
    lu->html = col_text(a, st, 5);
    lu->link_slug = col_text(a, st, 6);
    lu->key = col_int(st, 7) != 0;
}

static int bind_live(sqlite3_stmt *st, const void *obj)
{
    const struct store_live *lu = obj;

    return bind_int(st, 2, lu->at) | bind_int(st, 3, lu->updated_at) |
           bind_text(st, 4, lu->headline) | bind_text_or(st, 5, lu->body, "") |
           bind_text_or(st, 6, lu->html, "") |
           bind_text(st, 7, lu->link_slug) | bind_int(st, 8, lu->key ? 1 : 0);
}

static void newsletter_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    struct store_newsletter *nl = item;

    nl->id = col_int(st, 0);
    nl->slug = col_text(a, st, 1);
    nl->name = col_text(a, st, 2);
    nl->description = col_text(a, st, 3);
    nl->sender_name = col_text(a, st, 4);
    nl->sender_email = col_text(a, st, 5);
    nl->author_id = col_int(st, 6);
    nl->active = col_int(st, 7) != 0;
    nl->position = (unsigned)col_int(st, 8);
}

static int bind_newsletter(sqlite3_stmt *st, const void *obj)
{
    const struct store_newsletter *nl = obj;

    return bind_text(st, 2, nl->slug) | bind_text(st, 3, nl->name) |
           bind_text_or(st, 4, nl->description, "") |
           bind_text_or(st, 5, nl->sender_name, "") |
           bind_text_or(st, 6, nl->sender_email, "") |
           bind_ref(st, 7, nl->author_id) |
           bind_int(st, 8, nl->active ? 1 : 0) |
           bind_int(st, 9, nl->position);
}

/* --- generic writes ------------------------------------------------------ */

typedef int (*bind_fn)(sqlite3_stmt *st, const void *obj);

/* Inserts (*id == 0, then sets *id) or updates row *id of one table with
 * the ins/upd statement pair. No transaction of its own. */
static int row_save(struct conn *c, enum stmt ins, enum stmt upd, int64_t *id,
                    bind_fn bind, const void *obj, const char *what)
{
    sqlite3_stmt *st = stmt(c, *id ? upd : ins);
    int rc = STORE_ERROR;

    if (!st)
        return STORE_ERROR;
    if (bind(st, obj) != SQLITE_OK ||
        (*id && sqlite3_bind_int64(st, 1, *id) != SQLITE_OK)) {
        rc = fail(c, what);
        goto out;
    }
    rc = step_all(c, st, what);
    if (rc != 0)
        goto out;
    if (!*id)
        *id = sqlite3_last_insert_rowid(c->db);
    else if (sqlite3_changes(c->db) == 0)
        rc = STORE_NOTFOUND;
out:
    finish(st);
    return rc;
}

/* row_save in a write transaction of its own; *id changes only on success. */
static int save_one(struct store *st, enum stmt ins, enum stmt upd,
                    int64_t *id, bind_fn bind, const void *obj,
                    const char *what)
{
    struct conn *c = conn_get(sq(st));
    int64_t newid = *id;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = write_begin(c);
    if (rc != 0)
        return rc;
    rc = write_end(c, row_save(c, ins, upd, &newid, bind, obj, what));
    if (rc == 0)
        *id = newid;
    return rc;
}

/* Replaces the (post, other, position) rows of a link table. */
static int links_save(struct conn *c, enum stmt del, enum stmt add,
                      int64_t post_id, const int64_t *ids, size_t n,
                      const char *what)
{
    sqlite3_stmt *st = stmt(c, del);
    int rc;

    if (!st)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, post_id);
    rc = step_all(c, st, what);
    finish(st);
    if (rc != 0)
        return rc;
    st = stmt(c, add);
    if (!st)
        return STORE_ERROR;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_bind_int64(st, 1, post_id);
        sqlite3_bind_int64(st, 2, ids[i]);
        sqlite3_bind_int64(st, 3, (int64_t)i);
        rc = step_all(c, st, what);
        finish(st);
    }
    return rc;
}

/* --- settings ------------------------------------------------------------ */

static const char *sq_setting_get(struct store *st, struct arena *a,
                                  const char *key)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s;
    const char *value = NULL;
    int rc;

    if (!c)
        return NULL;
    s = stmt(c, S_SETTING_GET);
    if (!s)
        return NULL;
    bind_text(s, 1, key);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        value = col_text(a, s, 0);
    else if (rc != SQLITE_DONE)
        fail(c, "read setting");
    finish(s);
    return value;
}

static int sq_setting_set(struct store *st, const char *key,
                          const char *value)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = write_begin(c);
    if (rc != 0)
        return rc;
    s = stmt(c, value ? S_SETTING_SET : S_SETTING_DEL);
    if (!s) {
        rc = STORE_ERROR;
    } else {
        bind_text(s, 1, key);
        if (value)
            bind_text(s, 2, value);
        rc = step_all(c, s, "save setting");
        finish(s);
    }
    return write_end(c, rc);
}

/* --- posts --------------------------------------------------------------- */

static int sq_post_save(struct store *st, struct store_post *p,
                        const int64_t *author_ids, size_t n_authors,
                        const int64_t *tag_ids, size_t n_tags)
{
    struct conn *c = conn_get(sq(st));
    struct store_post row = *p;
    int64_t id = p->id;
    int rc;

    if (!c)
        return STORE_ERROR;
    if (!id && !row.created_at)
        row.created_at = (int64_t)time(NULL);
    rc = write_begin(c);
    if (rc != 0)
        return rc;
    rc = row_save(c, S_POST_INSERT, S_POST_UPDATE, &id, bind_post, &row,
                  "save post");
    if (rc == 0)
        rc = links_save(c, S_POST_AUTHORS_DEL, S_POST_AUTHOR_ADD, id,
                        author_ids, n_authors, "save post authors");
    if (rc == 0)
        rc = links_save(c, S_POST_TAGS_DEL, S_POST_TAG_ADD, id, tag_ids,
                        n_tags, "save post tags");
    rc = write_end(c, rc);
    if (rc == 0) {
        if (!p->id)
            p->created_at = row.created_at;
        p->id = id;
    }
    return rc;
}

/* Fills authors, tags of posts[0..n) (feature images come with the row).
 * Two queries for the whole batch, keyed by a JSON array of ids. */
static int links_fill(struct conn *c, struct arena *a,
                      struct store_post *posts, size_t n)
{
    size_t room = n * 21 + 3, used = 1, k, total, cap;
    char *ids = arena_alloc(a, room);
    size_t *start = arena_zalloc(a, n * sizeof *start);
    struct store_author *authors = NULL;
    struct store_tag *tags = NULL;
    sqlite3_stmt *st = NULL;
    int rc = STORE_ERROR;

    ids[0] = '[';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(ids + used, room - used, "%s%lld",
                                 i ? "," : "", (long long)posts[i].id);
    snprintf(ids + used, room - used, "]");

    /* Rows arrive grouped by post, in the posts' order. */
    st = stmt(c, S_POSTS_AUTHORS);
    if (!st)
        goto out;
    bind_text(st, 1, ids);
    k = total = cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t pid = col_int(st, 0);
        while (k < n && posts[k].id != pid)
            k++;
        if (k == n)
            break;
        if (!posts[k].nauthors)
            start[k] = total;
        authors = grow(a, authors, total, &cap, sizeof *authors);
        memset(&authors[total], 0, sizeof *authors);
        read_author(a, st, 1, &authors[total++]);
        posts[k].nauthors++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = fail(c, "read post authors");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        posts[i].authors = posts[i].nauthors ? authors + start[i] : NULL;
    finish(st);

    st = stmt(c, S_POSTS_TAGS);
    if (!st) {
        rc = STORE_ERROR;
        goto out;
    }
    bind_text(st, 1, ids);
    k = total = cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t pid = col_int(st, 0);
        while (k < n && posts[k].id != pid)
            k++;
        if (k == n)
            break;
        if (!posts[k].ntags)
            start[k] = total;
        tags = grow(a, tags, total, &cap, sizeof *tags);
        memset(&tags[total], 0, sizeof *tags);
        read_tag(a, st, 1, &tags[total++]);
        posts[k].ntags++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = fail(c, "read post tags");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        posts[i].tags = posts[i].ntags ? tags + start[i] : NULL;
    rc = 0;
out:
    finish(st);
    return rc;
}

/* One post by slug (slug != NULL) or id, with everything. */
static int post_get(struct store *st, struct arena *a, const char *slug,
                    int64_t id, struct store_post *out)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s;
    int rc;

    if (!c)
        return STORE_ERROR;
    s = stmt(c, slug ? S_POST_BY_SLUG : S_POST_BY_ID);
    if (!s)
        return STORE_ERROR;
    rc = read_begin(c);
    if (rc != 0)
        return rc;
    if (slug)
        bind_text(s, 1, slug);
    else
        sqlite3_bind_int64(s, 1, id);
    rc = read_one(c, a, s, sizeof *out, post_body_row, out, "read post");
    finish(s);
    if (rc == 0)
        rc = links_fill(c, a, out, 1);
    read_end(c);
    return rc;
}

static int sq_post_get_by_slug(struct store *st, struct arena *a,
                               const char *slug, struct store_post *out)
{
    if (!slug)
        return STORE_NOTFOUND;
    return post_get(st, a, slug, 0, out);
}

static int sq_post_get(struct store *st, struct arena *a, int64_t id,
                       struct store_post *out)
{
    return post_get(st, a, NULL, id, out);
}

/* The cached posts-list statement for a filter shape: the rows (with or
 * without body) or, when count, the number of rows. */
static sqlite3_stmt *list_stmt(struct conn *c, unsigned shape, int body,
                               int count)
{
    sqlite3_stmt **slot = count ? &c->counts[shape]
                                : &c->lists[shape + (body ? LIST_SHAPES : 0)];
    struct buf b;
    char *sql;

    if (*slot)
        return *slot;
    buf_init(&b, LIST_SQL_BYTES);
    if (count)
        buf_adds(&b, "SELECT count(*) FROM posts p WHERE 1 = 1");
    else
        buf_printf(&b, "SELECT %s%s%s WHERE 1 = 1", POST_COLS,
                   body ? POST_BODY_COLS : "", POST_FROM);
    for (int f = 0; f < F__MAX; f++)
        if (shape & (1u << f))
            buf_adds(&b, filter_sql[f]);
    if (!count) {
        if (shape & (1u << F_PICKS))
            buf_adds(&b, " ORDER BY p.pick_order, p.published_at DESC, "
                         "p.id DESC");
        else
            buf_adds(&b, " ORDER BY p.published_at DESC, p.id DESC");
        buf_adds(&b, " LIMIT ?6 OFFSET ?7");
    }
    if (b.overflow) {
        log_error("cannot build posts query: longer than %d bytes",
                  LIST_SQL_BYTES);
        buf_release(&b);
        return NULL;
    }
    sql = buf_steal(&b, NULL);
    *slot = prepare(c, sql);
    free(sql);
    return *slot;
}

/* Binds the filter parameters of q that shape uses. */
static int bind_query(sqlite3_stmt *st, unsigned shape,
                      const struct store_post_query *q)
{
    int rc = 0;

    if (shape & (1u << F_STATUS))
        rc |= bind_text(st, 1, status_name(q->status));
    if (shape & (1u << F_TAG))
        rc |= bind_text(st, 2, q->tag_slug);
    if (shape & (1u << F_AUTHOR))
        rc |= bind_text(st, 3, q->author_slug);
    if (shape & (1u << F_BEFORE))
        rc |= bind_int(st, 4, q->published_before);
    if (shape & (1u << F_EXCLUDE))
        rc |= bind_text(st, 5, q->exclude_slug);
    return rc;
}

static int64_t clamp64(size_t v)
{
    return v > (size_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int sq_posts_list(struct store *st, struct arena *a,
                         const struct store_post_query *query,
                         struct store_post **out, size_t *n, size_t *total)
{
    static const struct store_post_query zero;
    const struct store_post_query *q = query ? query : &zero;
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = NULL;
    size_t limit = q->limit ? q->limit : LIST_LIMIT;
    unsigned shape = 0;
    void *rows = NULL;
    size_t nrows = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    if (q->status != -1)
        shape |= 1u << F_STATUS;
    if (q->tag_slug)
        shape |= 1u << F_TAG;
    if (q->author_slug)
        shape |= 1u << F_AUTHOR;
    if (q->featured_only)
        shape |= 1u << F_FEATURED;
    if (q->picks_only)
        shape |= 1u << F_PICKS;
    if (q->published_before)
        shape |= 1u << F_BEFORE;
    if (q->exclude_slug)
        shape |= 1u << F_EXCLUDE;

    rc = read_begin(c);
    if (rc != 0)
        return rc;
    s = list_stmt(c, shape, q->with_body, 0);
    if (!s) {
        rc = STORE_ERROR;
        goto out;
    }
    if (bind_query(s, shape, q) | bind_int(s, 6, clamp64(limit)) |
        bind_int(s, 7, clamp64(q->offset))) {
        rc = fail(c, "list posts");
        goto out;
    }
    rc = read_rows(c, a, s, sizeof(struct store_post),
                   q->with_body ? post_body_row : post_row, &rows, &nrows,
                   "list posts");
    finish(s);
    s = NULL;
    if (rc != 0)
        goto out;
    if (nrows) {
        rc = links_fill(c, a, rows, nrows);
        if (rc != 0)
            goto out;
    }
    if (total && q->offset == 0 && nrows < limit) {
        *total = nrows; /* everything there is fitted on this page */
    } else if (total) {
        s = list_stmt(c, shape, 0, 1);
        if (!s) {
            rc = STORE_ERROR;
            goto out;
        }
        if (bind_query(s, shape, q) != SQLITE_OK) {
            rc = fail(c, "count posts");
            goto out;
        }
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW) {
            rc = fail(c, "count posts");
            goto out;
        }
        *total = (size_t)col_int(s, 0);
        rc = 0;
    }
    *out = rows;
    *n = nrows;
out:
    finish(s);
    read_end(c);
    return rc;
}

static int sq_correction_add(struct store *st, struct store_correction *cr)
{
    struct store_correction row = *cr;
    int64_t id = 0;
    int rc;

    if (!row.at)
        row.at = (int64_t)time(NULL);
    rc = save_one(st, S_CORRECTION_ADD, S_CORRECTION_ADD, &id,
                  bind_correction, &row, "add correction");
    if (rc == 0) {
        cr->id = id;
        cr->at = row.at;
    }
    return rc;
}

/* Runs a list statement s (already bound) into *out. */
static int list(struct conn *c, struct arena *a, sqlite3_stmt *s, size_t size,
                row_fn row, void **out, size_t *n, const char *what)
{
    int rc = read_rows(c, a, s, size, row, out, n, what);

    finish(s);
    return rc;
}

static int sq_corrections_list(struct store *st, struct arena *a,
                               int64_t post_id, struct store_correction **out,
                               size_t *n)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = c ? stmt(c, S_CORRECTIONS) : NULL;

    *out = NULL;
    *n = 0;
    if (!s)
        return STORE_ERROR;
    sqlite3_bind_int64(s, 1, post_id);
    return list(c, a, s, sizeof **out, correction_row, (void **)out, n,
                "list corrections");
}

/* --- authors, tags, images ----------------------------------------------- */

static int sq_author_save(struct store *st, struct store_author *au)
{
    return save_one(st, S_AUTHOR_INSERT, S_AUTHOR_UPDATE, &au->id,
                    bind_author, au, "save author");
}

/* One row by a text key into out, with statement id. */
static int get_by_text(struct store *st, struct arena *a, enum stmt id,
                       const char *key, size_t size, row_fn row, void *out,
                       const char *what)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = c ? stmt(c, id) : NULL;
    int rc;

    if (!s)
        return STORE_ERROR;
    if (!key)
        return STORE_NOTFOUND;
    bind_text(s, 1, key);
    rc = read_one(c, a, s, size, row, out, what);
    finish(s);
    return rc;
}

static int sq_author_get_by_slug(struct store *st, struct arena *a,
                                 const char *slug, struct store_author *out)
{
    return get_by_text(st, a, S_AUTHOR_BY_SLUG, slug, sizeof *out, author_row,
                       out, "read author");
}

static int sq_authors_list(struct store *st, struct arena *a,
                           struct store_author **out, size_t *n)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = c ? stmt(c, S_AUTHORS) : NULL;

    *out = NULL;
    *n = 0;
    if (!s)
        return STORE_ERROR;
    return list(c, a, s, sizeof **out, author_row, (void **)out, n,
                "list authors");
}

static int sq_tag_save(struct store *st, struct store_tag *t)
{
    return save_one(st, S_TAG_INSERT, S_TAG_UPDATE, &t->id, bind_tag, t,
                    "save tag");
}

static int sq_tag_get_by_slug(struct store *st, struct arena *a,
                              const char *slug, struct store_tag *out)
{
    return get_by_text(st, a, S_TAG_BY_SLUG, slug, sizeof *out, tag_row, out,
                       "read tag");
}

static int sq_tags_list(struct store *st, struct arena *a, int kind,
                        struct store_tag **out, size_t *n)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = c ? stmt(c, S_TAGS) : NULL;

    *out = NULL;
    *n = 0;
    if (!s)
        return STORE_ERROR;
    if (kind != -1 && !kind_name(kind)) {
        log_error("cannot list tags: unknown kind %d", kind);
        return STORE_ERROR;
    }
    bind_text(s, 1, kind == -1 ? NULL : kind_name(kind));
    return list(c, a, s, sizeof **out, tag_row, (void **)out, n, "list tags");
}

static int sq_image_save(struct store *st, struct store_image *img)
{
    return save_one(st, S_IMAGE_INSERT, S_IMAGE_UPDATE, &img->id, bind_image,
                    img, "save image");
}

static int sq_image_get(struct store *st, struct arena *a, int64_t id,
                        struct store_image *out)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = c ? stmt(c, S_IMAGE_GET) : NULL;
    int rc;

    if (!s)
        return STORE_ERROR;
    sqlite3_bind_int64(s, 1, id);
    rc = read_one(c, a, s, sizeof *out, image_row, out, "read image");
    finish(s);
    return rc;
}

static int sq_image_get_by_name(struct store *st, struct arena *a,
                                const char *name, struct store_image *out)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = c ? stmt(c, S_IMAGE_BY_NAME) : NULL;
    int rc;

    if (!s)
        return STORE_ERROR;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    rc = read_one(c, a, s, sizeof *out, image_row, out, "read image");
    finish(s);
    return rc;
}

/* --- live updates -------------------------------------------------------- */

static int sq_live_save(struct store *st, struct store_live *lu)
{
    struct store_live row = *lu;
    int rc;

    if (!row.id && !row.at)
        row.at = (int64_t)time(NULL);
    rc = save_one(st, S_LIVE_INSERT, S_LIVE_UPDATE, &row.id, bind_live, &row,
                  "save live update");
    if (rc == 0) {
        lu->id = row.id;
        lu->at = row.at;
    }
    return rc;
}

static int sq_live_delete(struct store *st, int64_t id)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = write_begin(c);
    if (rc != 0)
        return rc;
    s = stmt(c, S_LIVE_DELETE);
    if (!s) {
        rc = STORE_ERROR;
    } else {
        sqlite3_bind_int64(s, 1, id);
        rc = step_all(c, s, "delete live update");
        if (rc == 0 && sqlite3_changes(c->db) == 0)
            rc = STORE_NOTFOUND;
        finish(s);
    }
    return write_end(c, rc);
}

static int sq_live_list(struct store *st, struct arena *a, int64_t before,
                        size_t limit, struct store_live **out, size_t *n)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = c ? stmt(c, before ? S_LIVE_BEFORE : S_LIVE_LATEST)
                        : NULL;

    *out = NULL;
    *n = 0;
    if (!s)
        return STORE_ERROR;
    if (before)
        sqlite3_bind_int64(s, 1, before);
    sqlite3_bind_int64(s, 2, clamp64(limit ? limit : LIST_LIMIT));
    return list(c, a, s, sizeof **out, live_row, (void **)out, n,
                "list live updates");
}

static int sq_live_get(struct store *st, struct arena *a, int64_t id,
                       struct store_live *out)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = c ? stmt(c, S_LIVE_GET) : NULL;
    int rc;

    if (!s)
        return STORE_ERROR;
    sqlite3_bind_int64(s, 1, id);
    rc = read_one(c, a, s, sizeof *out, live_row, out, "read live update");
    finish(s);
    return rc;
}

static void live_event_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    struct store_live_event *ev = item;
    const char *kind = (const char *)sqlite3_column_text(st, 1);

    ev->seq = col_int(st, 0);
    ev->kind = !kind || kind[0] == 'p'   ? STORE_LIVE_POST
               : kind[0] == 'e'          ? STORE_LIVE_EDIT
                                         : STORE_LIVE_DELETE;
    ev->live_id = col_int(st, 2);
    ev->present = sqlite3_column_type(st, 3) != SQLITE_NULL;
    if (!ev->present)
        return;
    ev->lu.id = col_int(st, 3);
    ev->lu.at = col_int(st, 4);
    ev->lu.updated_at = col_int(st, 5);
    ev->lu.headline = col_text(a, st, 6);
    ev->lu.body = col_text(a, st, 7);
    ev->lu.html = col_text(a, st, 8);
    ev->lu.link_slug = col_text(a, st, 9);
    ev->lu.key = col_int(st, 10) != 0;
}

static int sq_live_events(struct store *st, struct arena *a, int64_t after,
                          size_t limit, struct store_live_event **out,
                          size_t *n)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = c ? stmt(c, S_LIVE_EVENTS) : NULL;

    *out = NULL;
    *n = 0;
    if (!s)
        return STORE_ERROR;
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int64(s, 2, clamp64(limit ? limit : LIST_LIMIT));
    return list(c, a, s, sizeof **out, live_event_row, (void **)out, n,
                "list live events");
}

static int64_t sq_live_last_seq(struct store *st)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = c ? stmt(c, S_LIVE_LAST_SEQ) : NULL;
    int64_t seq = -1;

    if (!s)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        seq = sqlite3_column_int64(s, 0);
    else
        fail(c, "read live events");
    finish(s);
    return seq;
}

/* --- newsletters --------------------------------------------------------- */

static int sq_newsletter_save(struct store *st, struct store_newsletter *nl)
{
    return save_one(st, S_NEWSLETTER_INSERT, S_NEWSLETTER_UPDATE, &nl->id,
                    bind_newsletter, nl, "save newsletter");
}

static int sq_newsletters_list(struct store *st, struct arena *a,
                               int active_only, struct store_newsletter **out,
                               size_t *n)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = c ? stmt(c, S_NEWSLETTERS) : NULL;

    *out = NULL;
    *n = 0;
    if (!s)
        return STORE_ERROR;
    sqlite3_bind_int(s, 1, active_only ? 1 : 0);
    return list(c, a, s, sizeof **out, newsletter_row, (void **)out, n,
                "list newsletters");
}

/* --- version, migrations, lifecycle -------------------------------------- */

static uint64_t sq_version(struct store *st)
{
    struct sqlite_store *s = sq(st);
    uint64_t others;

    pthread_mutex_lock(&s->watch_mu);
    if (sqlite3_step(s->data_version) == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(s->data_version, 0);
        if (v != s->last_data_version) {
            s->last_data_version = v;
            s->others++;
        }
    } else {
        /* Cannot tell: report a change, so caches refill rather than
         * serve stale pages. */
        if (!s->watch_failed)
            log_warn("cannot read data_version of '%s': %s", s->path,
                     sqlite3_errmsg(s->watch));
        s->watch_failed = 1;
        s->others++;
    }
    sqlite3_reset(s->data_version);
    others = s->others;
    pthread_mutex_unlock(&s->watch_mu);
    return others + atomic_load(&s->own);
}

static int sq_schema_version(struct store *st)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = c ? stmt(c, S_SCHEMA_VERSION) : NULL;
    int v = STORE_ERROR;

    if (!s)
        return STORE_ERROR;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    else
        fail(c, "read schema version");
    finish(s);
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
            snprintf(err, errlen, "cannot apply migration '%s': %s",
                     m[i].name, sqlite3_errmsg(db));
            goto undo;
        }
        sqlite3_bind_int(ins, 1, m[i].number);
        sqlite3_bind_int64(ins, 2, (int64_t)time(NULL));
        if (sqlite3_step(ins) != SQLITE_DONE) {
            snprintf(err, errlen, "cannot record migration '%s': %s",
                     m[i].name, sqlite3_errmsg(db));
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
    struct sqlite_store *s = sq(st);
    struct conn *c;

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
    struct sqlite_store *s = NULL;
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
        snprintf(err, errlen, "cannot open database '%s': out of memory",
                 path);
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->watch_mu, NULL);
    atomic_init(&s->own, 0);
    if (pthread_key_create(&s->key, conn_release) != 0) {
        snprintf(err, errlen, "cannot open database '%s': no thread keys",
                 path);
        goto fail;
    }
    s->key_made = 1;
    s->watch = db_open(path, err, errlen);
    if (!s->watch)
        goto fail;

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
                           NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot watch '%s': %s", path,
                 sqlite3_errmsg(s->watch));
        goto fail;
    }
    sq_version(&s->base);
    return &s->base;
fail:
    sqlite3_finalize(mode);
    sq_close(&s->base);
    return NULL;
}

/* --- jobs ---------------------------------------------------------------- */

/* Job statements are prepared per call (a worker polls a few times a
 * second), so they need no slot in enum stmt. */

#define JOB_COLS "id, kind, payload, run_at, attempts, last_error"

/* Prepares sql on c, binding ?1 = i1, ?2 = i2 and ?3 = text where the
 * statement has them; NULL (logged). Free with sqlite3_finalize. */
static sqlite3_stmt *job_stmt(struct conn *c, const char *sql, int64_t i1,
                              int64_t i2, const char *text)
{
    sqlite3_stmt *s = NULL;
    int np;

    if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK) {
        log_error("cannot prepare statement '%.60s': %s", sql,
                  sqlite3_errmsg(c->db));
        return NULL;
    }
    np = sqlite3_bind_parameter_count(s);
    if (np >= 1)
        bind_int(s, 1, i1);
    if (np >= 2)
        bind_int(s, 2, i2);
    if (np >= 3)
        bind_text(s, 3, text);
    return s;
}

/* Runs one write statement in its own transaction; *changed gets the rows
 * it changed. When none changed, the transaction is rolled back (nothing
 * to commit, store_version() stays) and STORE_NOTFOUND returned. */
static int job_write(struct store *st, const char *sql, int64_t i1,
                     int64_t i2, const char *text, size_t *changed,
                     const char *what)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = NULL;
    int rc;

    if (changed)
        *changed = 0;
    if (!c)
        return STORE_ERROR;
    rc = write_begin(c);
    if (rc != 0)
        return rc;
    s = job_stmt(c, sql, i1, i2, text);
    rc = s ? step_all(c, s, what) : STORE_ERROR;
    if (rc == 0 && sqlite3_changes(c->db) == 0)
        rc = STORE_NOTFOUND;
    if (rc == 0 && changed)
        *changed = (size_t)sqlite3_changes(c->db);
    sqlite3_finalize(s);
    return write_end(c, rc);
}

static int sq_job_add(struct store *st, const char *kind, const char *payload,
                      int64_t run_at, const char *unique_key, int64_t *id)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = NULL;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = write_begin(c);
    if (rc != 0)
        return rc;
    s = job_stmt(c,
                 "INSERT INTO jobs (kind, payload, run_at, unique_key, "
                 "created_at) VALUES (?3, ?4, ?1, ?5, ?2) "
                 "ON CONFLICT (kind, unique_key) "
                 "WHERE state IN ('queued', 'running') DO NOTHING",
                 run_at, (int64_t)time(NULL), kind);
    if (!s) {
        rc = STORE_ERROR;
    } else {
        bind_text_or(s, 4, payload, "");
        bind_text(s, 5, unique_key);
        rc = step_all(c, s, "add job");
        if (rc == 0 && sqlite3_changes(c->db) == 0)
            rc = STORE_CONFLICT;
        if (rc == 0 && id)
            *id = sqlite3_last_insert_rowid(c->db);
    }
    sqlite3_finalize(s);
    return write_end(c, rc);
}

static int sq_job_claim(struct store *st, struct arena *a,
                        const char *const *kinds, size_t nkinds, int64_t now,
                        unsigned lease_s, struct store_job *out)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s = NULL;
    char sql[512 + 8 * STORE_JOB_KINDS_MAX];
    int rc, n;

    if (!c)
        return STORE_ERROR;
    if (nkinds == 0 || nkinds > STORE_JOB_KINDS_MAX) {
        log_error("cannot claim job: %zu kinds named", nkinds);
        return STORE_ERROR;
    }
    /* ?1 now; the kinds are ?3.. */
    n = snprintf(sql, sizeof sql,
                 "SELECT " JOB_COLS " FROM jobs WHERE run_at <= ?1 "
                 "AND (state = 'queued' OR (state = 'running' "
                 "AND lease_until < ?1)) AND kind IN (");
    for (size_t i = 0; i < nkinds; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, "%s?%zu",
                      i ? ", " : "", i + 3);
    snprintf(sql + n, sizeof sql - (size_t)n,
             ") ORDER BY run_at, id LIMIT 1");
    rc = write_begin(c);
    if (rc != 0)
        return rc;
    s = job_stmt(c, sql, now, 0, NULL);
    if (!s) {
        rc = STORE_ERROR;
        goto out;
    }
    for (size_t i = 0; i < nkinds; i++)
        bind_text(s, (int)i + 3, kinds[i]);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        rc = STORE_NOTFOUND;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        rc = fail(c, "claim job");
        goto out;
    }
    memset(out, 0, sizeof *out);
    out->id = col_int(s, 0);
    out->kind = col_text(a, s, 1);
    out->payload = col_text(a, s, 2);
    if (!out->payload)
        out->payload = "";
    out->run_at = col_int(s, 3);
    out->attempts = (unsigned)col_int(s, 4) + 1;
    out->last_error = col_text(a, s, 5);
    out->lease_until = now + (int64_t)lease_s;
    sqlite3_finalize(s);
    s = job_stmt(c,
                 "UPDATE jobs SET state = 'running', "
                 "attempts = attempts + 1, lease_until = ?2 WHERE id = ?1",
                 out->id, out->lease_until, NULL);
    rc = s ? step_all(c, s, "claim job") : STORE_ERROR;
out:
    sqlite3_finalize(s);
    return write_end(c, rc);
}

static int sq_job_done(struct store *st, int64_t id)
{
    return job_write(st,
                     "UPDATE jobs SET state = 'done', lease_until = 0, "
                     "finished_at = ?2 WHERE id = ?1",
                     id, (int64_t)time(NULL), NULL, NULL, "finish job");
}

static int sq_job_retry(struct store *st, int64_t id, int64_t run_at,
                        const char *error)
{
    return job_write(st,
                     "UPDATE jobs SET state = 'queued', lease_until = 0, "
                     "run_at = ?2, last_error = ?3 WHERE id = ?1",
                     id, run_at, error, NULL, "retry job");
}

static int sq_job_fail(struct store *st, int64_t id, const char *error)
{
    return job_write(st,
                     "UPDATE jobs SET state = 'failed', lease_until = 0, "
                     "finished_at = ?2, last_error = ?3 WHERE id = ?1",
                     id, (int64_t)time(NULL), error, NULL, "fail job");
}

static int sq_jobs_count(struct store *st, const char *state, size_t *n)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *s;
    int rc;

    *n = 0;
    if (!c)
        return STORE_ERROR;
    s = job_stmt(c, "SELECT count(*) FROM jobs WHERE state = ?3", 0, 0,
                 state);
    if (!s)
        return STORE_ERROR;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *n = (size_t)col_int(s, 0);
        rc = 0;
    } else {
        rc = fail(c, "count jobs");
    }
    sqlite3_finalize(s);
    return rc;
}

static int sq_jobs_prune(struct store *st, int64_t before, size_t *n)
{
    int rc = job_write(st,
                       "DELETE FROM jobs WHERE state IN ('done', 'failed') "
                       "AND finished_at < ?1",
                       before, 0, NULL, n, "prune jobs");

    return rc == STORE_NOTFOUND ? 0 : rc;
}

static int sq_posts_publish_due(struct store *st, int64_t now, size_t *n)
{
    int rc = job_write(st,
                       "UPDATE posts SET status = 'published' "
                       "WHERE status = 'scheduled' AND published_at > 0 "
                       "AND published_at <= ?1",
                       now, 0, NULL, n, "publish due posts");

    return rc == STORE_NOTFOUND ? 0 : rc;
}

/* --- copying a whole database (store_copy) ------------------------------- */

#define COPY_SQL_BYTES 8192 /* longest generated copy statement */

/* Appends name as a quoted identifier ("a""b"). */
static void add_ident(struct buf *b, const char *name)
{
    buf_addc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            buf_addc(b, '"');
        buf_addc(b, *p);
    }
    buf_addc(b, '"');
}

/* Prepares b's statement, once it has been built whole; NULL (logged). */
static sqlite3_stmt *prepare_built(struct conn *c, struct buf *b)
{
    sqlite3_stmt *st = NULL;

    if (b->overflow || !b->data) {
        log_error("cannot copy: statement longer than %d bytes",
                  COPY_SQL_BYTES);
        return NULL;
    }
    if (sqlite3_prepare_v2(c->db, b->data, -1, &st, NULL) != SQLITE_OK) {
        log_error("cannot prepare statement '%.60s': %s", b->data,
                  sqlite3_errmsg(c->db));
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Runs a one-column query (text parameter arg, or none) and collects its
 * values into *out in a. */
static int names_query(struct store *st, struct arena *a, const char *sql,
                       const char *arg, const char ***out, size_t *n)
{
    struct conn *c = conn_get(sq(st));
    sqlite3_stmt *q = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    if (sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) != SQLITE_OK)
        return fail(c, "read the catalog");
    if (arg)
        bind_text(q, 1, arg);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        *out = grow(a, *out, *n, &cap, sizeof **out);
        (*out)[(*n)++] = col_text(a, q, 0);
    }
    rc = rc == SQLITE_DONE ? 0 : fail(c, "read the catalog");
    sqlite3_finalize(q);
    return rc;
}

static int sq_table_names(struct store *st, struct arena *a,
                          const char ***out, size_t *n)
{
    return names_query(st, a,
                       "SELECT name FROM sqlite_master WHERE type = 'table' "
                       "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                       "AND name <> 'schema_migrations' ORDER BY name",
                       NULL, out, n);
}

static int sq_table_columns(struct store *st, struct arena *a,
                            const char *table, const char ***out, size_t *n)
{
    return names_query(st, a,
                       "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
                       table, out, n);
}

/* Runs the statement in b (no parameters) on c. */
static int run_built(struct conn *c, struct buf *b, const char *what)
{
    sqlite3_stmt *q = prepare_built(c, b);
    int rc;

    if (!q)
        return STORE_ERROR;
    rc = step_all(c, q, what);
    sqlite3_finalize(q);
    return rc;
}

static int64_t sq_table_rows(struct store *st, const char *table)
{
    struct conn *c = conn_get(sq(st));
    struct buf b;
    sqlite3_stmt *q;
    int64_t rows = -1;

    if (!c)
        return -1;
    buf_init(&b, COPY_SQL_BYTES);
    buf_adds(&b, "SELECT count(*) FROM ");
    add_ident(&b, table);
    q = prepare_built(c, &b);
    if (q && sqlite3_step(q) == SQLITE_ROW)
        rows = sqlite3_column_int64(q, 0);
    else if (q)
        fail(c, "count rows");
    sqlite3_finalize(q);
    buf_release(&b);
    return rows;
}

static int sq_rows_dump(struct store *st, const char *table,
                        const char *const *cols, size_t ncols,
                        store_row_fn fn, void *ctx)
{
    struct conn *c = conn_get(sq(st));
    const char **vals = NULL;
    sqlite3_stmt *q = NULL;
    struct buf b;
    int rc = STORE_ERROR, step;

    if (!c || ncols == 0)
        return STORE_ERROR;
    buf_init(&b, COPY_SQL_BYTES);
    buf_adds(&b, "SELECT ");
    for (size_t i = 0; i < ncols; i++) {
        if (i)
            buf_adds(&b, ", ");
        add_ident(&b, cols[i]);
    }
    buf_adds(&b, " FROM ");
    add_ident(&b, table);
    buf_adds(&b, " ORDER BY 1");
    q = prepare_built(c, &b);
    vals = calloc(ncols, sizeof *vals);
    if (!q || !vals)
        goto out;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        for (size_t i = 0; i < ncols; i++)
            vals[i] = (const char *)sqlite3_column_text(q, (int)i);
        rc = fn(ctx, vals, ncols);
        if (rc != 0)
            goto out;
    }
    rc = step == SQLITE_DONE ? 0 : fail(c, "read rows to copy");
out:
    free(vals);
    sqlite3_finalize(q);
    buf_release(&b);
    return rc;
}

/* The thread's connection when it is inside store_tx_begin, else NULL
 * (logged): the copy's writes belong to one transaction. */
static struct conn *copy_conn(struct store *st)
{
    struct conn *c = conn_get(sq(st));

    if (c && !c->in_tx) {
        log_error("cannot copy rows outside a transaction");
        return NULL;
    }
    return c;
}

static int sq_table_clear(struct store *st, const char *table)
{
    struct conn *c = copy_conn(st);
    struct buf b;
    int rc;

    if (!c)
        return STORE_ERROR;
    buf_init(&b, COPY_SQL_BYTES);
    buf_adds(&b, "DELETE FROM ");
    add_ident(&b, table);
    rc = run_built(c, &b, "empty a table");
    buf_release(&b);
    return rc;
}

static int sq_row_load(struct store *st, const char *table,
                       const char *const *cols, size_t ncols,
                       const char *const *vals, int update)
{
    struct conn *c = copy_conn(st);
    sqlite3_stmt *q;
    struct buf b;
    int rc;

    if (!c || ncols == 0)
        return STORE_ERROR;
    buf_init(&b, COPY_SQL_BYTES);
    if (update) {
        buf_adds(&b, "UPDATE ");
        add_ident(&b, table);
        buf_adds(&b, " SET ");
        for (size_t i = 1; i < ncols; i++) {
            buf_adds(&b, i > 1 ? ", " : "");
            add_ident(&b, cols[i]);
            buf_printf(&b, " = ?%zu", i + 1);
        }
        buf_adds(&b, " WHERE ");
        add_ident(&b, cols[0]);
        buf_adds(&b, " = ?1");
    } else {
        buf_adds(&b, "INSERT INTO ");
        add_ident(&b, table);
        buf_adds(&b, " (");
        for (size_t i = 0; i < ncols; i++) {
            buf_adds(&b, i ? ", " : "");
            add_ident(&b, cols[i]);
        }
        buf_adds(&b, ") VALUES (");
        for (size_t i = 0; i < ncols; i++)
            buf_printf(&b, "%s?%zu", i ? ", " : "", i + 1);
        buf_adds(&b, ")");
    }
    /* prepared per row: a copy is a one-off, and SQLite prepares fast */
    q = prepare_built(c, &b);
    buf_release(&b);
    if (!q)
        return STORE_ERROR;
    for (size_t i = 0; i < ncols; i++)
        bind_text(q, (int)i + 1, vals[i]);
    rc = step_all(c, q, "copy a row");
    sqlite3_finalize(q);
    return rc;
}

/* SQLite picks max(rowid) + 1 itself, and AUTOINCREMENT's sqlite_sequence
 * follows explicit ids on insert. */
static int sq_ids_reset(struct store *st, const char *table)
{
    (void)st;
    (void)table;
    return 0;
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
};
