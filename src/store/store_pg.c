/*
 * store_pg.c - the PostgreSQL backend of store.h (libpq), for sites that
 * run on more than one machine (DESIGN.md, "Scale-out").
 *
 * DESIGN
 * - Connections: one per thread, as in store_sqlite.c. The first store call
 *   on a thread takes a connection from the store's free list (or opens
 *   one) and keeps it in thread-specific data; a pthread_key destructor
 *   rolls back anything left open when the thread exits and puts the
 *   connection back on the free list. A connection found broken (server
 *   restart) is reset on the thread's next call outside a transaction.
 * - Statements: every statement is prepared once per connection, lazily,
 *   with PQprepare, and run with PQexecPrepared; parameters travel as text,
 *   results come back as text. store_posts_list builds its SQL from fixed
 *   fragments, one prepared statement per combination of filters. User
 *   text only ever reaches PostgreSQL as a parameter.
 * - Writes: each write function runs in its own transaction, or, inside
 *   store_tx_begin/commit, in a savepoint, so that it is applied whole or
 *   not at all either way; a refused write inside a transaction (unique
 *   violation, SQLSTATE 23505 = STORE_CONFLICT) rolls back to its savepoint
 *   and the transaction goes on. Reads that take several statements (a
 *   post with its authors and tags, a list and its count) run in one
 *   REPEATABLE READ READ ONLY transaction so they see one snapshot.
 * - Migrations: schema_pg/NNN_name.sql (the PostgreSQL twins of schema/),
 *   applied at open under a session advisory lock, so two processes
 *   opening a new database at once apply each file once.
 * - store_version: every table has a statement trigger that sends
 *   NOTIFY newsroom_changes, delivered only when its transaction commits.
 *   A listener thread holds one more connection that LISTENs, sleeps in
 *   poll() on its socket and counts notifications sent by other processes'
 *   connections (each carries the sender's backend pid; this store's own
 *   connections are recognised and skipped). Commits made here are counted
 *   when COMMIT returns. store_version() is the sum of the two atomic
 *   counters: no query, no lock. While the listener is disconnected it
 *   reconnects every second, and store_version() changes on every call,
 *   so caches refill rather than serve stale pages.
 *   docs/store.md has the details and the delay this implies.
 * - Files: this one has the statements, transactions and every store_ops
 *   function; store_pg_setup.c connects, migrates and runs the listener;
 *   store_pg.h holds the state they share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/backend.h"
#include "store/store.h"
#include "store/store_pg.h"

#define LIST_LIMIT 10       /* rows when a list asks for 0 */
#define LIST_SQL_BYTES 4096 /* longest generated posts-list statement */
#define MAX_PARAMS 24       /* parameters of the widest statement */

/* Type OIDs of declared parameters (server header pg_type.h has them). */
#define OID_INT8 20
#define OID_INT4 23
#define OID_TEXT 25

/* --- statements ---------------------------------------------------------- */

#define IMAGE_COLS(t)                                                          \
    t ".id, " t ".name, " t ".width, " t ".height, " t ".widths, " t           \
      ".formats, " t ".alt"

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
    "a.id, a.slug, a.name, a.role, a.email, a.location, a.bio, "               \
    "a.avatar_id, " IMAGE_COLS("i")
#define AUTHOR_FROM " FROM authors a LEFT JOIN images i ON i.id = a.avatar_id"
#define COL_AUTHOR_IMAGE 8

/* Names sort byte-wise (COLLATE "C"), as in SQLite, whatever the locale
 * the database was created with. */
#define TAG_COLS "t.id, t.slug, t.name, t.description, t.kind, t.position"
/* Sections first (by position), then tags by name. */
#define TAG_ORDER                                                              \
    "CASE t.kind WHEN 'section' THEN 0 ELSE 1 END, "                           \
    "CASE t.kind WHEN 'section' THEN t.position ELSE 0 END, "                  \
    "t.name COLLATE \"C\", t.id"

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

struct stmt_def {
    const char *sql;   /* the statement, parameters $1.. */
    const char *types; /* declared parameter types, one letter each:
                          i bigint, n integer, t text, - inferred;
                          NULL = all inferred from the SQL */
};

/* Insert and update pairs share parameters: $1 is the id (update only),
 * the columns are $2 onwards in the same order. Inserts declare $1 (they
 * do not use it, and PostgreSQL cannot infer the type of an unused
 * parameter) and return the new id. */
/* (clang-format would split the IMAGE_COLS("i") pastes.) */
/* clang-format off */
static const struct stmt_def stmt_defs[S__MAX] = {
    [S_BEGIN] = {"BEGIN", NULL},
    [S_BEGIN_READ] = {"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL},
    [S_COMMIT] = {"COMMIT", NULL},
    [S_ROLLBACK] = {"ROLLBACK", NULL},
    [S_SAVEPOINT] = {"SAVEPOINT store_write", NULL},
    [S_RELEASE] = {"RELEASE SAVEPOINT store_write", NULL},
    [S_ROLLBACK_TO] = {"ROLLBACK TO SAVEPOINT store_write", NULL},
    [S_SCHEMA_VERSION] = {"SELECT coalesce(max(version), 0) "
                          "FROM schema_migrations",
                          NULL},

    [S_SETTING_GET] = {"SELECT value FROM settings WHERE key = $1", "t"},
    [S_SETTING_SET] = {"INSERT INTO settings (key, value) VALUES ($1, $2) "
                       "ON CONFLICT (key) DO UPDATE SET value = "
                       "excluded.value",
                       "tt"},
    [S_SETTING_DEL] = {"DELETE FROM settings WHERE key = $1", "t"},

    [S_POST_INSERT] =
        {"INSERT INTO posts (slug, title, standfirst, excerpt, meta_title, "
         "meta_description, language, status, featured, pick_order, words, "
         "reading_minutes, feature_image_id, feature_alt, feature_caption, "
         "feature_credit, created_at, published_at, updated_at, markdown, "
         "html, plaintext) VALUES ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
         "$12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) "
         "RETURNING id",
         "i"},
    /* created_at ($18) never changes after the insert */
    [S_POST_UPDATE] =
        {"UPDATE posts SET slug = $2, title = $3, standfirst = $4, "
         "excerpt = $5, meta_title = $6, meta_description = $7, "
         "language = $8, status = $9, featured = $10, pick_order = $11, "
         "words = $12, reading_minutes = $13, feature_image_id = $14, "
         "feature_alt = $15, feature_caption = $16, feature_credit = $17, "
         "published_at = $19, updated_at = $20, markdown = $21, html = $22, "
         "plaintext = $23 WHERE id = $1",
         "i----------------i"},
    [S_POST_BY_SLUG] = {"SELECT " POST_COLS POST_BODY_COLS POST_FROM
                        " WHERE p.slug = $1",
                        "t"},
    [S_POST_BY_ID] = {"SELECT " POST_COLS POST_BODY_COLS POST_FROM
                      " WHERE p.id = $1",
                      "i"},
    [S_POST_AUTHORS_DEL] = {"DELETE FROM post_authors WHERE post_id = $1",
                            "i"},
    [S_POST_AUTHOR_ADD] = {"INSERT INTO post_authors (post_id, author_id, "
                           "position) VALUES ($1, $2, $3)",
                           "iin"},
    [S_POST_TAGS_DEL] = {"DELETE FROM post_tags WHERE post_id = $1", "i"},
    [S_POST_TAG_ADD] = {"INSERT INTO post_tags (post_id, tag_id, position) "
                        "VALUES ($1, $2, $3)",
                        "iin"},
    /* $1 is an array of post ids; rows come grouped in its order */
    [S_POSTS_AUTHORS] =
        {"SELECT pa.post_id, " AUTHOR_COLS
         " FROM unnest($1::bigint[]) WITH ORDINALITY AS j (id, ord) "
         "JOIN post_authors pa ON pa.post_id = j.id "
         "JOIN authors a ON a.id = pa.author_id "
         "LEFT JOIN images i ON i.id = a.avatar_id "
         "ORDER BY j.ord, pa.position",
         NULL},
    [S_POSTS_TAGS] =
        {"SELECT pt.post_id, " TAG_COLS
         " FROM unnest($1::bigint[]) WITH ORDINALITY AS j (id, ord) "
         "JOIN post_tags pt ON pt.post_id = j.id "
         "JOIN tags t ON t.id = pt.tag_id "
         "ORDER BY j.ord, CASE t.kind WHEN 'section' THEN 0 ELSE 1 END, "
         "pt.position",
         NULL},

    [S_CORRECTION_ADD] = {"INSERT INTO corrections (post_id, at, text) "
                          "VALUES ($2, $3, $4) RETURNING id",
                          "i"},
    [S_CORRECTIONS] = {"SELECT id, post_id, at, text FROM corrections "
                       "WHERE post_id = $1 ORDER BY at, id",
                       "i"},

    [S_AUTHOR_INSERT] = {"INSERT INTO authors (slug, name, role, email, "
                         "location, bio, avatar_id) "
                         "VALUES ($2, $3, $4, $5, $6, $7, $8) RETURNING id",
                         "i"},
    [S_AUTHOR_UPDATE] = {"UPDATE authors SET slug = $2, name = $3, "
                         "role = $4, email = $5, location = $6, bio = $7, "
                         "avatar_id = $8 WHERE id = $1",
                         "i"},
    [S_AUTHOR_BY_SLUG] = {"SELECT " AUTHOR_COLS AUTHOR_FROM
                          " WHERE a.slug = $1",
                          "t"},
    [S_AUTHORS] = {"SELECT " AUTHOR_COLS AUTHOR_FROM
                   " ORDER BY a.name COLLATE \"C\", a.id",
                   NULL},

    [S_TAG_INSERT] = {"INSERT INTO tags (slug, name, description, kind, "
                      "position) VALUES ($2, $3, $4, $5, $6) RETURNING id",
                      "i"},
    [S_TAG_UPDATE] = {"UPDATE tags SET slug = $2, name = $3, "
                      "description = $4, kind = $5, position = $6 "
                      "WHERE id = $1",
                      "i"},
    [S_TAG_BY_SLUG] = {"SELECT " TAG_COLS " FROM tags t WHERE t.slug = $1",
                       "t"},
    [S_TAGS] = {"SELECT " TAG_COLS " FROM tags t "
                "WHERE $1::text IS NULL OR t.kind = $1 ORDER BY " TAG_ORDER,
                "t"},

    [S_IMAGE_INSERT] = {"INSERT INTO images (name, width, height, widths, "
                        "formats, created_at, alt) "
                        "VALUES ($2, $3, $4, $5, $6, $7, $8) RETURNING id",
                        "i"},
    /* created_at ($7) never changes after the insert */
    [S_IMAGE_UPDATE] = {"UPDATE images SET name = $2, width = $3, "
                        "height = $4, widths = $5, formats = $6, alt = $8 "
                        "WHERE id = $1",
                        "i-----i"},
    [S_IMAGE_GET] = {"SELECT " IMAGE_COLS("i") " FROM images i "
                     "WHERE i.id = $1",
                     "i"},
    [S_IMAGE_BY_NAME] = {"SELECT " IMAGE_COLS("i") " FROM images i "
                         "WHERE i.name = $1 ORDER BY i.id LIMIT 1",
                         "t"},

    [S_LIVE_INSERT] = {"INSERT INTO live_updates (at, updated_at, headline, "
                       "body, html, link_slug, is_key) "
                       "VALUES ($2, $3, $4, $5, $6, $7, $8) RETURNING id",
                       "i"},
    [S_LIVE_UPDATE] = {"UPDATE live_updates SET at = $2, updated_at = $3, "
                       "headline = $4, body = $5, html = $6, "
                       "link_slug = $7, is_key = $8 WHERE id = $1",
                       "i"},
    [S_LIVE_DELETE] = {"DELETE FROM live_updates WHERE id = $1", "i"},
    [S_LIVE_LATEST] = {"SELECT " LIVE_COLS " FROM live_updates "
                       "ORDER BY at DESC, id DESC LIMIT $2",
                       "ii"},
    [S_LIVE_BEFORE] = {"SELECT " LIVE_COLS " FROM live_updates "
                       "WHERE at < $1 ORDER BY at DESC, id DESC LIMIT $2",
                       "ii"},
    [S_LIVE_GET] = {"SELECT " LIVE_COLS " FROM live_updates WHERE id = $1",
                    "i"},
    [S_LIVE_EVENTS] =
        {"SELECT e.seq, e.kind, e.live_id, l.id, l.at, l.updated_at, "
         "l.headline, l.body, l.html, l.link_slug, l.is_key "
         "FROM live_events e LEFT JOIN live_updates l ON l.id = e.live_id "
         "WHERE e.seq > $1 ORDER BY e.seq LIMIT $2",
         "ii"},
    [S_LIVE_LAST_SEQ] = {"SELECT coalesce(max(seq), 0) FROM live_events",
                         NULL},

    [S_NEWSLETTER_INSERT] =
        {"INSERT INTO newsletters (slug, name, description, sender_name, "
         "sender_email, author_id, active, position) "
         "VALUES ($2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
         "i"},
    [S_NEWSLETTER_UPDATE] =
        {"UPDATE newsletters SET slug = $2, name = $3, description = $4, "
         "sender_name = $5, sender_email = $6, author_id = $7, "
         "active = $8, position = $9 WHERE id = $1",
         "i"},
    [S_NEWSLETTERS] = {"SELECT " NEWSLETTER_COLS " FROM newsletters "
                       "WHERE $1 = 0 OR active = 1 "
                       "ORDER BY position, name COLLATE \"C\", id",
                       "n"},
};
/* clang-format on */

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
/* Prepared statement slots: stmt ids, then lists, lists with body, counts */
#define SLOT_LIST(shape, body) (S__MAX + (body ? LIST_SHAPES : 0) + (shape))
#define SLOT_COUNT(shape) (S__MAX + 2 * LIST_SHAPES + (shape))
_Static_assert(S__MAX + 3 * LIST_SHAPES <= STORE_PG_SLOTS,
               "STORE_PG_SLOTS too small");

/* Parameters: $1 status, $2 tag, $3 author, $4 before, $5 exclude,
 * $6 limit, $7 offset. Every shape declares all seven (LIST_TYPES), so
 * each call passes seven values whatever the filters. */
static const char *const filter_sql[F__MAX] = {
    [F_STATUS] = " AND p.status = $1",
    [F_TAG] = " AND p.id IN (SELECT pt.post_id FROM post_tags pt "
              "JOIN tags t ON t.id = pt.tag_id WHERE t.slug = $2)",
    [F_AUTHOR] = " AND p.id IN (SELECT pa.post_id FROM post_authors pa "
                 "JOIN authors au ON au.id = pa.author_id "
                 "WHERE au.slug = $3)",
    [F_FEATURED] = " AND p.featured = 1",
    [F_PICKS] = " AND p.pick_order > 0",
    [F_BEFORE] = " AND p.published_at <= $4",
    [F_EXCLUDE] = " AND p.slug <> $5",
};
#define LIST_TYPES "tttitii"
#define LIST_PARAMS 7

static const char *const status_names[] = {
    [STORE_POST_DRAFT] = "draft",
    [STORE_POST_SCHEDULED] = "scheduled",
    [STORE_POST_PUBLISHED] = "published",
};

static const char *const kind_names[] = {
    [STORE_TAG_TAG] = "tag",
    [STORE_TAG_SECTION] = "section",
};

/* --- connections --------------------------------------------------------- */

static const struct store_ops pg_ops;

static struct store_pg *pgs(struct store *st)
{
    return (struct store_pg *)st;
}

static void conn_free(struct store_pg_conn *c)
{
    if (!c)
        return;
    PQfinish(c->pg);
    free(c);
}

/* Ends whatever transaction c has open. */
static void conn_abort(struct store_pg_conn *c)
{
    c->in_tx = 0;
    if (PQstatus(c->pg) == CONNECTION_OK &&
        PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        PQclear(PQexec(c->pg, "ROLLBACK"));
}

/* pthread_key destructor: the thread is gone, its connection is free. */
static void conn_release(void *arg)
{
    struct store_pg_conn *c = arg;
    struct store_pg *s = c->owner;

    conn_abort(c);
    pthread_mutex_lock(&s->mu);
    c->next_free = s->free;
    s->free = c;
    pthread_mutex_unlock(&s->mu);
}

/* Reconnects a broken connection; its prepared statements are gone. */
static void conn_reset(struct store_pg_conn *c)
{
    struct store_pg *s = c->owner;
    char line[512];

    PQreset(c->pg);
    memset(c->prepared, 0, sizeof c->prepared);
    pthread_mutex_lock(&s->mu);
    c->pid = PQbackendPID(c->pg);
    pthread_mutex_unlock(&s->mu);
    if (PQstatus(c->pg) == CONNECTION_OK)
        log_warn("reconnected to '%s'", s->label);
    else
        log_error("cannot reconnect to '%s': %s", s->label,
                  store_pg_one_line(line, sizeof line, PQerrorMessage(c->pg)));
}

/* The calling thread's connection, taken or opened on first use. */
static struct store_pg_conn *conn_get(struct store_pg *s)
{
    struct store_pg_conn *c = pthread_getspecific(s->key);
    char err[512];

    if (c) {
        if (PQstatus(c->pg) != CONNECTION_OK && !c->in_tx)
            conn_reset(c);
        return c;
    }
    pthread_mutex_lock(&s->mu);
    c = s->free;
    if (c)
        s->free = c->next_free;
    pthread_mutex_unlock(&s->mu);
    if (!c) {
        PGconn *pg = store_pg_connect(s->url, s->label, err, sizeof err);
        if (!pg) {
            log_error("%s", err);
            return NULL;
        }
        c = calloc(1, sizeof *c);
        if (!c) {
            log_error("cannot connect to '%s': out of memory", s->label);
            PQfinish(pg);
            return NULL;
        }
        c->owner = s;
        c->pg = pg;
        pthread_mutex_lock(&s->mu);
        c->pid = PQbackendPID(pg);
        c->next_all = s->all;
        s->all = c;
        pthread_mutex_unlock(&s->mu);
    } else if (PQstatus(c->pg) != CONNECTION_OK) {
        conn_reset(c);
    }
    c->next_free = NULL;
    pthread_setspecific(s->key, c);
    return c;
}

/* --- parameters ---------------------------------------------------------- */

/* Text values of one statement's parameters, $1 at v[0]. */
struct params {
    const char *v[MAX_PARAMS]; /* value text, NULL = SQL NULL */
    char num[MAX_PARAMS][24];  /* digits of integer values */
    int n;                     /* parameters passed: the highest set */
};

static void p_set(struct params *p, int pos, const char *s)
{
    p->v[pos - 1] = s;
    if (pos > p->n)
        p->n = pos;
}

static void p_text(struct params *p, int pos, const char *s)
{
    p_set(p, pos, s);
}

/* For NOT NULL text columns: NULL is stored as dflt. */
static void p_text_or(struct params *p, int pos, const char *s,
                      const char *dflt)
{
    p_set(p, pos, s ? s : dflt);
}

static void p_int(struct params *p, int pos, int64_t v)
{
    snprintf(p->num[pos - 1], sizeof p->num[0], "%lld", (long long)v);
    p_set(p, pos, p->num[pos - 1]);
}

/* For references: 0 ("none") is stored as NULL. */
static void p_ref(struct params *p, int pos, int64_t id)
{
    if (id)
        p_int(p, pos, id);
    else
        p_set(p, pos, NULL);
}

/* --- statement helpers --------------------------------------------------- */

/* Maps a failed result: a unique violation gives STORE_CONFLICT, anything
 * else is logged and gives STORE_ERROR. res may be NULL (no result). */
static int fail(struct store_pg_conn *c, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg =
        res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[512];

    if (state && strcmp(state, "23505") == 0)
        return STORE_CONFLICT;
    log_error("cannot %s: %s", what,
              store_pg_one_line(line, sizeof line,
                                msg ? msg : PQerrorMessage(c->pg)));
    return STORE_ERROR;
}

/* Prepares sql as slot's statement on c ("s<slot>") with the declared
 * types; 0 or -1 logged. */
static int prepare(struct store_pg_conn *c, int slot, const char *sql,
                   const char *types)
{
    Oid oids[MAX_PARAMS];
    char name[16], line[512];
    int n = 0;
    PGresult *res;
    int rc = 0;

    for (const char *t = types; t && *t && n < MAX_PARAMS; t++)
        oids[n++] = *t == 'i'   ? OID_INT8
                    : *t == 'n' ? OID_INT4
                    : *t == 't' ? OID_TEXT
                                : 0;
    snprintf(name, sizeof name, "s%d", slot);
    res = PQprepare(c->pg, name, sql, n, n ? oids : NULL);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        c->prepared[slot] = 1;
    } else {
        log_error("cannot prepare statement '%.60s': %s", sql,
                  store_pg_one_line(line, sizeof line,
                                    res ? PQresultErrorMessage(res)
                                        : PQerrorMessage(c->pg)));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* Runs slot's prepared statement with p; on success 0 with the result in
 * *out (caller PQclear()s), else a fail() code and *out NULL. */
static int exec_slot(struct store_pg_conn *c, int slot, const struct params *p,
                     PGresult **out, const char *what)
{
    static const struct params none;
    char name[16];
    PGresult *res;
    ExecStatusType est;
    int rc;

    if (!p)
        p = &none;
    snprintf(name, sizeof name, "s%d", slot);
    res = PQexecPrepared(c->pg, name, p->n, p->v, NULL, NULL, 0);
    est = PQresultStatus(res);
    if (res && (est == PGRES_COMMAND_OK || est == PGRES_TUPLES_OK)) {
        *out = res;
        return 0;
    }
    rc = fail(c, res, what);
    PQclear(res);
    *out = NULL;
    return rc;
}

/* Runs statement id (prepared on first use) with p; as exec_slot.
 * A statement sent on an idle connection (a BEGIN, a lone read) that
 * finds the connection broken, as after a server restart, is sent again
 * once on a fresh one: nothing of it can have happened. */
static int exec(struct store_pg_conn *c, enum stmt id, const struct params *p,
                PGresult **out, const char *what)
{
    int idle = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    int rc = STORE_ERROR;

    for (int try = 0; try < 2; try++) {
        *out = NULL;
        if (c->prepared[id] ||
            prepare(c, (int)id, stmt_defs[id].sql, stmt_defs[id].types) == 0)
            rc = exec_slot(c, (int)id, p, out, what);
        if (rc != STORE_ERROR || !idle || PQstatus(c->pg) == CONNECTION_OK)
            break;
        conn_reset(c);
    }
    return rc;
}

/* exec() for statements whose rows are not needed. */
static int run(struct store_pg_conn *c, enum stmt id, const struct params *p,
               const char *what)
{
    PGresult *res;
    int rc = exec(c, id, p, &res, what);

    PQclear(res);
    return rc;
}

/* Text of a column copied into a; NULL stays NULL. */
static const char *col_text(struct arena *a, const PGresult *r, int row,
                            int col)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    return arena_strndup(a, PQgetvalue(r, row, col),
                         (size_t)PQgetlength(r, row, col));
}

static int64_t col_int(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

typedef void (*row_fn)(struct arena *a, const PGresult *r, int row, void *item);

/* Copies every row of r into an arena array of size-byte items. */
static void read_rows(struct arena *a, const PGresult *r, size_t size,
                      row_fn row, void **out, size_t *n)
{
    int rows = PQntuples(r);
    unsigned char *arr = NULL;

    if (rows > 0) {
        arr = arena_zalloc(a, (size_t)rows * size);
        for (int i = 0; i < rows; i++)
            row(a, r, i, arr + (size_t)i * size);
    }
    *out = arr;
    *n = (size_t)(rows > 0 ? rows : 0);
}

/* Runs statement id with p into an arena array; the shape of every list. */
static int list(struct store_pg_conn *c, struct arena *a, enum stmt id,
                const struct params *p, size_t size, row_fn row, void **out,
                size_t *n, const char *what)
{
    PGresult *res;
    int rc;

    *out = NULL;
    *n = 0;
    rc = exec(c, id, p, &res, what);
    if (rc == 0)
        read_rows(a, res, size, row, out, n);
    PQclear(res);
    return rc;
}

/* Runs statement id with p and copies its one row into item;
 * STORE_NOTFOUND without one. */
static int get_one(struct store_pg_conn *c, struct arena *a, enum stmt id,
                   const struct params *p, size_t size, row_fn row, void *item,
                   const char *what)
{
    PGresult *res;
    int rc = exec(c, id, p, &res, what);

    if (rc == 0 && PQntuples(res) == 0)
        rc = STORE_NOTFOUND;
    if (rc == 0) {
        memset(item, 0, size);
        row(a, res, 0, item);
    }
    PQclear(res);
    return rc;
}

/* One integer from the first column of statement id; fallback on error. */
static int64_t get_int(struct store_pg_conn *c, enum stmt id, int64_t fallback,
                       const char *what)
{
    PGresult *res;
    int64_t v = fallback;

    if (exec(c, id, NULL, &res, what) == 0 && PQntuples(res) == 1)
        v = col_int(res, 0, 0);
    PQclear(res);
    return v;
}

static int64_t clamp64(size_t v)
{
    return v > (size_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* --- transactions -------------------------------------------------------- */

/* COMMIT; STORE_ERROR (logged) unless the server committed. */
static int commit(struct store_pg_conn *c)
{
    PGresult *res;
    int rc = exec(c, S_COMMIT, NULL, &res, "commit");

    /* an aborted transaction answers COMMIT with "ROLLBACK", no error */
    if (rc == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        log_error("cannot commit: the transaction was rolled back by an "
                  "earlier error");
        rc = STORE_ERROR;
    }
    PQclear(res);
    if (rc == 0)
        atomic_fetch_add(&c->owner->own, 1);
    return rc;
}

/* Starts the transaction of one write function: its own BEGIN, or a
 * savepoint inside the thread's store_tx_begin. */
static int write_begin(struct store_pg_conn *c)
{
    if (c->in_tx && PQtransactionStatus(c->pg) != PQTRANS_INTRANS) {
        log_error("cannot write: the open transaction failed by an "
                  "earlier error");
        return STORE_ERROR;
    }
    return run(c, c->in_tx ? S_SAVEPOINT : S_BEGIN, NULL, "begin transaction");
}

/* Ends what write_begin started: commits when rc is 0, else undoes all of
 * the function's changes. Returns rc, or STORE_ERROR if the commit fails. */
static int write_end(struct store_pg_conn *c, int rc)
{
    if (rc == 0) {
        if (c->in_tx)
            rc = run(c, S_RELEASE, NULL, "release savepoint");
        else
            rc = commit(c);
        if (rc == 0)
            return 0;
    }
    if (PQtransactionStatus(c->pg) == PQTRANS_IDLE)
        return rc; /* nothing left to undo */
    if (c->in_tx) {
        run(c, S_ROLLBACK_TO, NULL, "roll back savepoint");
        run(c, S_RELEASE, NULL, "release savepoint");
    } else {
        run(c, S_ROLLBACK, NULL, "roll back");
    }
    return rc;
}

/* A read transaction around multi-statement reads (one snapshot). */
static int read_begin(struct store_pg_conn *c)
{
    return c->in_tx ? 0 : run(c, S_BEGIN_READ, NULL, "begin read");
}

static void read_end(struct store_pg_conn *c)
{
    PGTransactionStatusType ts;

    if (c->in_tx)
        return;
    ts = PQtransactionStatus(c->pg);
    if (ts == PQTRANS_INTRANS)
        run(c, S_COMMIT, NULL, "end read");
    else if (ts == PQTRANS_INERROR)
        run(c, S_ROLLBACK, NULL, "roll back read");
}

static int pg_tx_begin(struct store *st)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    int rc;

    if (!c)
        return STORE_ERROR;
    if (c->in_tx) {
        log_error("cannot begin transaction: one is already open on this "
                  "thread");
        return STORE_ERROR;
    }
    rc = run(c, S_BEGIN, NULL, "begin transaction");
    if (rc == 0)
        c->in_tx = 1;
    return rc == 0 ? 0 : STORE_ERROR;
}

static int pg_tx_commit(struct store *st)
{
    struct store_pg_conn *c = conn_get(pgs(st));

    if (!c)
        return STORE_ERROR;
    if (!c->in_tx) {
        log_error("cannot commit: no transaction open on this thread");
        return STORE_ERROR;
    }
    c->in_tx = 0;
    if (PQtransactionStatus(c->pg) != PQTRANS_INTRANS) {
        log_error("cannot commit: the transaction failed by an earlier "
                  "error");
        conn_abort(c);
        return STORE_ERROR;
    }
    if (commit(c) != 0) {
        conn_abort(c);
        return STORE_ERROR;
    }
    return 0;
}

static void pg_tx_rollback(struct store *st)
{
    struct store_pg_conn *c = conn_get(pgs(st));

    if (!c || !c->in_tx)
        return;
    c->in_tx = 0;
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        run(c, S_ROLLBACK, NULL, "roll back");
}

/* --- row readers and binders --------------------------------------------- */

/* The image in the 7 IMAGE_COLS columns from col, or NULL if absent. */
static struct store_image *read_image(struct arena *a, const PGresult *r,
                                      int row, int col)
{
    struct store_image *img;

    if (PQgetisnull(r, row, col))
        return NULL;
    img = arena_zalloc(a, sizeof *img);
    img->id = col_int(r, row, col);
    img->name = col_text(a, r, row, col + 1);
    img->width = (unsigned)col_int(r, row, col + 2);
    img->height = (unsigned)col_int(r, row, col + 3);
    img->widths = col_text(a, r, row, col + 4);
    img->formats = col_text(a, r, row, col + 5);
    img->alt = col_text(a, r, row, col + 6);
    return img;
}

static void image_row(struct arena *a, const PGresult *r, int row, void *item)
{
    struct store_image *img = read_image(a, r, row, 0);

    if (img)
        *(struct store_image *)item = *img;
}

typedef void (*bind_fn)(struct params *p, const void *obj);

static void bind_image(struct params *p, const void *obj)
{
    const struct store_image *img = obj;

    p_text(p, 2, img->name);
    p_int(p, 3, img->width);
    p_int(p, 4, img->height);
    p_text_or(p, 5, img->widths, "");
    p_text_or(p, 6, img->formats, "");
    p_int(p, 7, (int64_t)time(NULL));
    p_text(p, 8, img->alt);
}

/* AUTHOR_COLS starting at column col. */
static void read_author(struct arena *a, const PGresult *r, int row, int col,
                        struct store_author *au)
{
    au->id = col_int(r, row, col);
    au->slug = col_text(a, r, row, col + 1);
    au->name = col_text(a, r, row, col + 2);
    au->role = col_text(a, r, row, col + 3);
    au->email = col_text(a, r, row, col + 4);
    au->location = col_text(a, r, row, col + 5);
    au->bio = col_text(a, r, row, col + 6);
    au->avatar_id = col_int(r, row, col + 7);
    au->avatar = read_image(a, r, row, col + COL_AUTHOR_IMAGE);
}

static void author_row(struct arena *a, const PGresult *r, int row, void *item)
{
    read_author(a, r, row, 0, item);
}

static void bind_author(struct params *p, const void *obj)
{
    const struct store_author *au = obj;

    p_text(p, 2, au->slug);
    p_text(p, 3, au->name);
    p_text(p, 4, au->role);
    p_text(p, 5, au->email);
    p_text(p, 6, au->location);
    p_text(p, 7, au->bio);
    p_ref(p, 8, au->avatar_id);
}

/* TAG_COLS starting at column col. */
static void read_tag(struct arena *a, const PGresult *r, int row, int col,
                     struct store_tag *t)
{
    t->id = col_int(r, row, col);
    t->slug = col_text(a, r, row, col + 1);
    t->name = col_text(a, r, row, col + 2);
    t->description = col_text(a, r, row, col + 3);
    t->kind = strcmp(PQgetvalue(r, row, col + 4), "section") == 0
                  ? STORE_TAG_SECTION
                  : STORE_TAG_TAG;
    t->position = (unsigned)col_int(r, row, col + 5);
}

static void tag_row(struct arena *a, const PGresult *r, int row, void *item)
{
    read_tag(a, r, row, 0, item);
}

static const char *kind_name(int kind)
{
    return kind == STORE_TAG_TAG || kind == STORE_TAG_SECTION ? kind_names[kind]
                                                              : NULL;
}

static void bind_tag(struct params *p, const void *obj)
{
    const struct store_tag *t = obj;

    p_text(p, 2, t->slug);
    p_text(p, 3, t->name);
    p_text(p, 4, t->description);
    p_text(p, 5, kind_name((int)t->kind));
    p_int(p, 6, t->position);
}

/* POST_COLS (and POST_BODY_COLS when body) of one row. */
static void read_post(struct arena *a, const PGresult *r, int row,
                      struct store_post *p, int body)
{
    const char *status = PQgetvalue(r, row, 8);

    p->id = col_int(r, row, 0);
    p->slug = col_text(a, r, row, 1);
    p->title = col_text(a, r, row, 2);
    p->standfirst = col_text(a, r, row, 3);
    p->excerpt = col_text(a, r, row, 4);
    p->meta_title = col_text(a, r, row, 5);
    p->meta_description = col_text(a, r, row, 6);
    p->language = col_text(a, r, row, 7);
    p->status = STORE_POST_DRAFT;
    for (int i = 0; i <= STORE_POST_PUBLISHED; i++)
        if (strcmp(status, status_names[i]) == 0)
            p->status = (enum store_post_status)i;
    p->featured = col_int(r, row, 9) != 0;
    p->pick_order = (unsigned)col_int(r, row, 10);
    p->words = (unsigned)col_int(r, row, 11);
    p->reading_minutes = (unsigned)col_int(r, row, 12);
    p->feature_image_id = col_int(r, row, 13);
    p->feature_alt = col_text(a, r, row, 14);
    p->feature_caption = col_text(a, r, row, 15);
    p->feature_credit = col_text(a, r, row, 16);
    p->created_at = col_int(r, row, 17);
    p->published_at = col_int(r, row, 18);
    p->updated_at = col_int(r, row, 19);
    p->feature_image = read_image(a, r, row, COL_POST_IMAGE);
    if (body) {
        p->markdown = col_text(a, r, row, COL_POST_BODY);
        p->html = col_text(a, r, row, COL_POST_BODY + 1);
        p->plaintext = col_text(a, r, row, COL_POST_BODY + 2);
    }
}

static void post_row(struct arena *a, const PGresult *r, int row, void *item)
{
    read_post(a, r, row, item, 0);
}

static void post_body_row(struct arena *a, const PGresult *r, int row,
                          void *item)
{
    read_post(a, r, row, item, 1);
}

static const char *status_name(int status)
{
    return status >= STORE_POST_DRAFT && status <= STORE_POST_PUBLISHED
               ? status_names[status]
               : NULL;
}

static void bind_post(struct params *p, const void *obj)
{
    const struct store_post *po = obj;

    p_text(p, 2, po->slug);
    p_text(p, 3, po->title);
    p_text(p, 4, po->standfirst);
    p_text_or(p, 5, po->excerpt, "");
    p_text(p, 6, po->meta_title);
    p_text(p, 7, po->meta_description);
    p_text_or(p, 8, po->language, "en");
    p_text(p, 9, status_name((int)po->status));
    p_int(p, 10, po->featured ? 1 : 0);
    p_int(p, 11, po->pick_order);
    p_int(p, 12, po->words);
    p_int(p, 13, po->reading_minutes);
    p_ref(p, 14, po->feature_image_id);
    p_text(p, 15, po->feature_alt);
    p_text(p, 16, po->feature_caption);
    p_text(p, 17, po->feature_credit);
    p_int(p, 18, po->created_at);
    p_int(p, 19, po->published_at);
    p_int(p, 20, po->updated_at);
    p_text_or(p, 21, po->markdown, "");
    p_text_or(p, 22, po->html, "");
    p_text_or(p, 23, po->plaintext, "");
}

static void correction_row(struct arena *a, const PGresult *r, int row,
                           void *item)
{
    struct store_correction *c = item;

    c->id = col_int(r, row, 0);
    c->post_id = col_int(r, row, 1);
    c->at = col_int(r, row, 2);
    c->text = col_text(a, r, row, 3);
}

static void bind_correction(struct params *p, const void *obj)
{
    const struct store_correction *c = obj;

    p_int(p, 2, c->post_id);
    p_int(p, 3, c->at);
    p_text(p, 4, c->text);
}

/* LIVE_COLS from column col. */
static void read_live(struct arena *a, const PGresult *r, int row, int col,
                      struct store_live *lu)
{
    lu->id = col_int(r, row, col);
    lu->at = col_int(r, row, col + 1);
    lu->updated_at = col_int(r, row, col + 2);
    lu->headline = col_text(a, r, row, col + 3);
    lu->body = col_text(a, r, row, col + 4);
    lu->html = col_text(a, r, row, col + 5);
    lu->link_slug = col_text(a, r, row, col + 6);
    lu->key = col_int(r, row, col + 7) != 0;
}

static void live_row(struct arena *a, const PGresult *r, int row, void *item)
{
    read_live(a, r, row, 0, item);
}

static void bind_live(struct params *p, const void *obj)
{
    const struct store_live *lu = obj;

    p_int(p, 2, lu->at);
    p_int(p, 3, lu->updated_at);
    p_text(p, 4, lu->headline);
    p_text_or(p, 5, lu->body, "");
    p_text_or(p, 6, lu->html, "");
    p_text(p, 7, lu->link_slug);
    p_int(p, 8, lu->key ? 1 : 0);
}

static void live_event_row(struct arena *a, const PGresult *r, int row,
                           void *item)
{
    struct store_live_event *ev = item;
    const char *kind = PQgetvalue(r, row, 1);

    ev->seq = col_int(r, row, 0);
    ev->kind = kind[0] == 'p'   ? STORE_LIVE_POST
               : kind[0] == 'e' ? STORE_LIVE_EDIT
                                : STORE_LIVE_DELETE;
    ev->live_id = col_int(r, row, 2);
    ev->present = !PQgetisnull(r, row, 3);
    if (ev->present)
        read_live(a, r, row, 3, &ev->lu);
}

static void newsletter_row(struct arena *a, const PGresult *r, int row,
                           void *item)
{
    struct store_newsletter *nl = item;

    nl->id = col_int(r, row, 0);
    nl->slug = col_text(a, r, row, 1);
    nl->name = col_text(a, r, row, 2);
    nl->description = col_text(a, r, row, 3);
    nl->sender_name = col_text(a, r, row, 4);
    nl->sender_email = col_text(a, r, row, 5);
    nl->author_id = col_int(r, row, 6);
    nl->active = col_int(r, row, 7) != 0;
    nl->position = (unsigned)col_int(r, row, 8);
}

static void bind_newsletter(struct params *p, const void *obj)
{
    const struct store_newsletter *nl = obj;

    p_text(p, 2, nl->slug);
    p_text(p, 3, nl->name);
    p_text_or(p, 4, nl->description, "");
    p_text_or(p, 5, nl->sender_name, "");
    p_text_or(p, 6, nl->sender_email, "");
    p_ref(p, 7, nl->author_id);
    p_int(p, 8, nl->active ? 1 : 0);
    p_int(p, 9, nl->position);
}

/* --- generic writes ------------------------------------------------------ */

/* Inserts (*id == 0, then sets *id) or updates row *id of one table with
 * the ins/upd statement pair. No transaction of its own. */
static int row_save(struct store_pg_conn *c, enum stmt ins, enum stmt upd,
                    int64_t *id, bind_fn bind, const void *obj,
                    const char *what)
{
    struct params p = {0};
    PGresult *res;
    int rc;

    bind(&p, obj);
    if (*id)
        p_int(&p, 1, *id);
    rc = exec(c, *id ? upd : ins, &p, &res, what);
    if (rc != 0)
        return rc;
    if (!*id)
        *id = PQntuples(res) == 1 ? col_int(res, 0, 0) : 0;
    else if (strcmp(PQcmdTuples(res), "0") == 0)
        rc = STORE_NOTFOUND;
    if (!*id) {
        log_error("cannot %s: no id returned", what);
        rc = STORE_ERROR;
    }
    PQclear(res);
    return rc;
}

/* row_save in a write transaction of its own; *id changes only on success. */
static int save_one(struct store *st, enum stmt ins, enum stmt upd, int64_t *id,
                    bind_fn bind, const void *obj, const char *what)
{
    struct store_pg_conn *c = conn_get(pgs(st));
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
static int links_save(struct store_pg_conn *c, enum stmt del, enum stmt add,
                      int64_t post_id, const int64_t *ids, size_t n,
                      const char *what)
{
    struct params p = {0};
    int rc;

    p_int(&p, 1, post_id);
    rc = run(c, del, &p, what);
    for (size_t i = 0; i < n && rc == 0; i++) {
        p_int(&p, 2, ids[i]);
        p_int(&p, 3, (int64_t)i);
        rc = run(c, add, &p, what);
    }
    return rc;
}

/* --- settings ------------------------------------------------------------ */

static const char *pg_setting_get(struct store *st, struct arena *a,
                                  const char *key)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    struct params p = {0};
    const char *value = NULL;
    PGresult *res;

    if (!c || !key)
        return NULL;
    p_text(&p, 1, key);
    if (exec(c, S_SETTING_GET, &p, &res, "read setting") == 0 &&
        PQntuples(res) == 1)
        value = col_text(a, res, 0, 0);
    PQclear(res);
    return value;
}

static int pg_setting_set(struct store *st, const char *key, const char *value)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    struct params p = {0};
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = write_begin(c);
    if (rc != 0)
        return rc;
    p_text(&p, 1, key);
    if (value)
        p_text(&p, 2, value);
    rc = run(c, value ? S_SETTING_SET : S_SETTING_DEL, &p, "save setting");
    return write_end(c, rc);
}

/* --- posts --------------------------------------------------------------- */

static int pg_post_save(struct store *st, struct store_post *p,
                        const int64_t *author_ids, size_t n_authors,
                        const int64_t *tag_ids, size_t n_tags)
{
    struct store_pg_conn *c = conn_get(pgs(st));
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
        rc = links_save(c, S_POST_TAGS_DEL, S_POST_TAG_ADD, id, tag_ids, n_tags,
                        "save post tags");
    rc = write_end(c, rc);
    if (rc == 0) {
        if (!p->id)
            p->created_at = row.created_at;
        p->id = id;
    }
    return rc;
}

/* Reads the authors (tags == 0) or tags of posts[0..n) with statement id,
 * whose rows come grouped by post in the order of the ids array. */
static int links_read(struct store_pg_conn *c, struct arena *a, enum stmt id,
                      const char *ids, struct store_post *posts, size_t n,
                      int tags)
{
    struct params p = {0};
    PGresult *res;
    size_t k = 0, *count, size;
    unsigned char *items;
    int rows, rc;

    p_text(&p, 1, ids);
    rc = exec(c, id, &p, &res, tags ? "read post tags" : "read post authors");
    if (rc != 0)
        return rc;
    rows = PQntuples(res);
    size = tags ? sizeof(struct store_tag) : sizeof(struct store_author);
    items = rows ? arena_zalloc(a, (size_t)rows * size) : NULL;
    for (int i = 0; i < rows; i++) {
        int64_t pid = col_int(res, i, 0);
        void *item = items + (size_t)i * size;
        while (k < n && posts[k].id != pid)
            k++;
        if (k == n)
            break;
        if (tags) {
            read_tag(a, res, i, 1, item);
            count = &posts[k].ntags;
            if (!*count)
                posts[k].tags = item;
        } else {
            read_author(a, res, i, 1, item);
            count = &posts[k].nauthors;
            if (!*count)
                posts[k].authors = item;
        }
        ++*count;
    }
    PQclear(res);
    return 0;
}

/* Fills authors, tags of posts[0..n) (feature images come with the row).
 * Two queries for the whole batch, keyed by an array of ids. */
static int links_fill(struct store_pg_conn *c, struct arena *a,
                      struct store_post *posts, size_t n)
{
    size_t room = n * 21 + 3, used = 1;
    char *ids = arena_alloc(a, room);
    int rc;

    ids[0] = '{';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(ids + used, room - used, "%s%lld",
                                 i ? "," : "", (long long)posts[i].id);
    snprintf(ids + used, room - used, "}");
    rc = links_read(c, a, S_POSTS_AUTHORS, ids, posts, n, 0);
    if (rc == 0)
        rc = links_read(c, a, S_POSTS_TAGS, ids, posts, n, 1);
    return rc;
}

/* One post by slug (slug != NULL) or id, with everything. */
static int post_get(struct store *st, struct arena *a, const char *slug,
                    int64_t id, struct store_post *out)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    struct params p = {0};
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = read_begin(c);
    if (rc != 0)
        return rc;
    if (slug)
        p_text(&p, 1, slug);
    else
        p_int(&p, 1, id);
    rc = get_one(c, a, slug ? S_POST_BY_SLUG : S_POST_BY_ID, &p, sizeof *out,
                 post_body_row, out, "read post");
    if (rc == 0)
        rc = links_fill(c, a, out, 1);
    read_end(c);
    return rc;
}

static int pg_post_get_by_slug(struct store *st, struct arena *a,
                               const char *slug, struct store_post *out)
{
    if (!slug)
        return STORE_NOTFOUND;
    return post_get(st, a, slug, 0, out);
}

static int pg_post_get(struct store *st, struct arena *a, int64_t id,
                       struct store_post *out)
{
    return post_get(st, a, NULL, id, out);
}

/* The slot of the posts-list statement for a filter shape, prepared on
 * first use: the rows (with or without body) or, when count, the number
 * of rows. -1 (logged) if it cannot be prepared. */
static int list_stmt(struct store_pg_conn *c, unsigned shape, int body,
                     int count)
{
    int slot = count ? (int)SLOT_COUNT(shape) : (int)SLOT_LIST(shape, body);
    struct buf b;
    char *sql;
    int rc;

    if (c->prepared[slot])
        return slot;
    buf_init(&b, LIST_SQL_BYTES);
    if (count)
        buf_adds(&b, "SELECT count(*) FROM posts p WHERE true");
    else
        buf_printf(&b, "SELECT %s%s%s WHERE true", POST_COLS,
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
        buf_adds(&b, " LIMIT $6 OFFSET $7");
    }
    if (b.overflow) {
        log_error("cannot build posts query: longer than %d bytes",
                  LIST_SQL_BYTES);
        buf_release(&b);
        return -1;
    }
    sql = buf_steal(&b, NULL);
    rc = prepare(c, slot, sql, LIST_TYPES);
    free(sql);
    return rc == 0 ? slot : -1;
}

/* The filter parameters of q that shape uses, then limit and offset. */
static void bind_query(struct params *p, unsigned shape,
                       const struct store_post_query *q, size_t limit)
{
    if (shape & (1u << F_STATUS))
        p_text(p, 1, status_name(q->status));
    if (shape & (1u << F_TAG))
        p_text(p, 2, q->tag_slug);
    if (shape & (1u << F_AUTHOR))
        p_text(p, 3, q->author_slug);
    if (shape & (1u << F_BEFORE))
        p_int(p, 4, q->published_before);
    if (shape & (1u << F_EXCLUDE))
        p_text(p, 5, q->exclude_slug);
    p_int(p, 6, clamp64(limit));
    p_int(p, 7, clamp64(q->offset));
    p->n = LIST_PARAMS;
}

static unsigned query_shape(const struct store_post_query *q)
{
    unsigned shape = 0;

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
    return shape;
}

static int pg_posts_list(struct store *st, struct arena *a,
                         const struct store_post_query *query,
                         struct store_post **out, size_t *n, size_t *total)
{
    static const struct store_post_query zero;
    const struct store_post_query *q = query ? query : &zero;
    struct store_pg_conn *c = conn_get(pgs(st));
    size_t limit = q->limit ? q->limit : LIST_LIMIT;
    unsigned shape = query_shape(q);
    struct params p = {0};
    PGresult *res = NULL;
    int slot;
    void *rows = NULL;
    size_t nrows = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    bind_query(&p, shape, q, limit);
    rc = read_begin(c);
    if (rc != 0)
        return rc;
    slot = list_stmt(c, shape, q->with_body, 0);
    if (slot < 0) {
        rc = STORE_ERROR;
        goto out;
    }
    rc = exec_slot(c, slot, &p, &res, "list posts");
    if (rc != 0)
        goto out;
    read_rows(a, res, sizeof(struct store_post),
              q->with_body ? post_body_row : post_row, &rows, &nrows);
    PQclear(res);
    res = NULL;
    if (nrows) {
        rc = links_fill(c, a, rows, nrows);
        if (rc != 0)
            goto out;
    }
    if (total && q->offset == 0 && nrows < limit) {
        *total = nrows; /* everything there is fitted on this page */
    } else if (total) {
        slot = list_stmt(c, shape, 0, 1);
        if (slot < 0) {
            rc = STORE_ERROR;
            goto out;
        }
        rc = exec_slot(c, slot, &p, &res, "count posts");
        if (rc != 0)
            goto out;
        *total = (size_t)col_int(res, 0, 0);
    }
    *out = rows;
    *n = nrows;
out:
    PQclear(res);
    read_end(c);
    return rc;
}

static int pg_correction_add(struct store *st, struct store_correction *cr)
{
    struct store_correction row = *cr;
    int64_t id = 0;
    int rc;

    if (!row.at)
        row.at = (int64_t)time(NULL);
    rc = save_one(st, S_CORRECTION_ADD, S_CORRECTION_ADD, &id, bind_correction,
                  &row, "add correction");
    if (rc == 0) {
        cr->id = id;
        cr->at = row.at;
    }
    return rc;
}

static int pg_corrections_list(struct store *st, struct arena *a,
                               int64_t post_id, struct store_correction **out,
                               size_t *n)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    struct params p = {0};

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    p_int(&p, 1, post_id);
    return list(c, a, S_CORRECTIONS, &p, sizeof **out, correction_row,
                (void **)out, n, "list corrections");
}

/* --- authors, tags, images ----------------------------------------------- */

static int pg_author_save(struct store *st, struct store_author *au)
{
    return save_one(st, S_AUTHOR_INSERT, S_AUTHOR_UPDATE, &au->id, bind_author,
                    au, "save author");
}

/* One row by a text key into out, with statement id. */
static int get_by_text(struct store *st, struct arena *a, enum stmt id,
                       const char *key, size_t size, row_fn row, void *out,
                       const char *what)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    struct params p = {0};

    if (!c)
        return STORE_ERROR;
    if (!key)
        return STORE_NOTFOUND;
    p_text(&p, 1, key);
    return get_one(c, a, id, &p, size, row, out, what);
}

/* One row by an integer key into out, with statement id. */
static int get_by_id(struct store *st, struct arena *a, enum stmt id,
                     int64_t key, size_t size, row_fn row, void *out,
                     const char *what)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    struct params p = {0};

    if (!c)
        return STORE_ERROR;
    p_int(&p, 1, key);
    return get_one(c, a, id, &p, size, row, out, what);
}

static int pg_author_get_by_slug(struct store *st, struct arena *a,
                                 const char *slug, struct store_author *out)
{
    return get_by_text(st, a, S_AUTHOR_BY_SLUG, slug, sizeof *out, author_row,
                       out, "read author");
}

static int pg_authors_list(struct store *st, struct arena *a,
                           struct store_author **out, size_t *n)
{
    struct store_pg_conn *c = conn_get(pgs(st));

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    return list(c, a, S_AUTHORS, NULL, sizeof **out, author_row, (void **)out,
                n, "list authors");
}

static int pg_tag_save(struct store *st, struct store_tag *t)
{
    return save_one(st, S_TAG_INSERT, S_TAG_UPDATE, &t->id, bind_tag, t,
                    "save tag");
}

static int pg_tag_get_by_slug(struct store *st, struct arena *a,
                              const char *slug, struct store_tag *out)
{
    return get_by_text(st, a, S_TAG_BY_SLUG, slug, sizeof *out, tag_row, out,
                       "read tag");
}

static int pg_tags_list(struct store *st, struct arena *a, int kind,
                        struct store_tag **out, size_t *n)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    struct params p = {0};

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    if (kind != -1 && !kind_name(kind)) {
        log_error("cannot list tags: unknown kind %d", kind);
        return STORE_ERROR;
    }
    p_text(&p, 1, kind == -1 ? NULL : kind_name(kind));
    return list(c, a, S_TAGS, &p, sizeof **out, tag_row, (void **)out, n,
                "list tags");
}

static int pg_image_save(struct store *st, struct store_image *img)
{
    return save_one(st, S_IMAGE_INSERT, S_IMAGE_UPDATE, &img->id, bind_image,
                    img, "save image");
}

static int pg_image_get(struct store *st, struct arena *a, int64_t id,
                        struct store_image *out)
{
    return get_by_id(st, a, S_IMAGE_GET, id, sizeof *out, image_row, out,
                     "read image");
}

static int pg_image_get_by_name(struct store *st, struct arena *a,
                                const char *name, struct store_image *out)
{
    return get_by_text(st, a, S_IMAGE_BY_NAME, name, sizeof *out, image_row,
                       out, "read image");
}

/* --- live updates -------------------------------------------------------- */

static int pg_live_save(struct store *st, struct store_live *lu)
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

static int pg_live_delete(struct store *st, int64_t id)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    struct params p = {0};
    PGresult *res;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = write_begin(c);
    if (rc != 0)
        return rc;
    p_int(&p, 1, id);
    rc = exec(c, S_LIVE_DELETE, &p, &res, "delete live update");
    if (rc == 0 && strcmp(PQcmdTuples(res), "0") == 0)
        rc = STORE_NOTFOUND;
    PQclear(res);
    return write_end(c, rc);
}

static int pg_live_list(struct store *st, struct arena *a, int64_t before,
                        size_t limit, struct store_live **out, size_t *n)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    struct params p = {0};

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    p_int(&p, 1, before);
    p_int(&p, 2, clamp64(limit ? limit : LIST_LIMIT));
    return list(c, a, before ? S_LIVE_BEFORE : S_LIVE_LATEST, &p, sizeof **out,
                live_row, (void **)out, n, "list live updates");
}

static int pg_live_get(struct store *st, struct arena *a, int64_t id,
                       struct store_live *out)
{
    return get_by_id(st, a, S_LIVE_GET, id, sizeof *out, live_row, out,
                     "read live update");
}

static int pg_live_events(struct store *st, struct arena *a, int64_t after,
                          size_t limit, struct store_live_event **out,
                          size_t *n)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    struct params p = {0};

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    p_int(&p, 1, after);
    p_int(&p, 2, clamp64(limit ? limit : LIST_LIMIT));
    return list(c, a, S_LIVE_EVENTS, &p, sizeof **out, live_event_row,
                (void **)out, n, "list live events");
}

static int64_t pg_live_last_seq(struct store *st)
{
    struct store_pg_conn *c = conn_get(pgs(st));

    return c ? get_int(c, S_LIVE_LAST_SEQ, -1, "read live events") : -1;
}

/* --- newsletters --------------------------------------------------------- */

static int pg_newsletter_save(struct store *st, struct store_newsletter *nl)
{
    return save_one(st, S_NEWSLETTER_INSERT, S_NEWSLETTER_UPDATE, &nl->id,
                    bind_newsletter, nl, "save newsletter");
}

static int pg_newsletters_list(struct store *st, struct arena *a,
                               int active_only, struct store_newsletter **out,
                               size_t *n)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    struct params p = {0};

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    p_int(&p, 1, active_only ? 1 : 0);
    return list(c, a, S_NEWSLETTERS, &p, sizeof **out, newsletter_row,
                (void **)out, n, "list newsletters");
}

/* --- version: the listener ----------------------------------------------- */

static uint64_t pg_version(struct store *st)
{
    struct store_pg *s = pgs(st);

    /* Deaf: cannot tell, so report a change and let caches refill. */
    if (!atomic_load(&s->listening))
        atomic_fetch_add(&s->others, 1);
    return atomic_load(&s->own) + atomic_load(&s->others);
}

/* --- migrations, lifecycle ----------------------------------------------- */

static int pg_schema_version(struct store *st)
{
    struct store_pg_conn *c = conn_get(pgs(st));

    return c ? (int)get_int(c, S_SCHEMA_VERSION, STORE_ERROR,
                            "read schema version")
             : STORE_ERROR;
}

static void pg_close(struct store *st)
{
    struct store_pg *s = pgs(st);
    struct store_pg_conn *c;

    if (!s)
        return;
    store_pg_unlisten(s);
    if (s->key_made) {
        pthread_setspecific(s->key, NULL);
        pthread_key_delete(s->key);
    }
    while (s->all) {
        c = s->all;
        s->all = c->next_all;
        conn_abort(c);
        conn_free(c);
    }
    PQfinish(s->listen);
    pthread_mutex_destroy(&s->mu);
    free(s->url);
    free(s->label);
    free(s);
}

struct store *store_pg_open(const char *rest, char *err, size_t errlen)
{
    static const char scheme[] = "postgresql://";
    struct store_pg *s = NULL;
    size_t len = strlen(rest);

    if (!PQisthreadsafe()) {
        snprintf(err, errlen,
                 "cannot use postgresql: libpq is built "
                 "without threads");
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s)
        s->url = malloc(sizeof scheme + len);
    if (!s || !s->url) {
        if (s)
            free(s);
        snprintf(err, errlen, "cannot open database: out of memory");
        return NULL;
    }
    memcpy(s->url, scheme, sizeof scheme - 1);
    memcpy(s->url + sizeof scheme - 1, rest, len + 1);
    s->base.ops = &pg_ops;
    s->stop[0] = s->stop[1] = -1;
    pthread_mutex_init(&s->mu, NULL);
    atomic_init(&s->own, 0);
    atomic_init(&s->others, 0);
    atomic_init(&s->listening, 0);
    s->label = store_pg_label(s->url);
    if (!s->label) {
        snprintf(err, errlen, "cannot open database: out of memory");
        goto fail;
    }
    if (pthread_key_create(&s->key, conn_release) != 0) {
        snprintf(err, errlen, "cannot open database '%s': no thread keys",
                 s->label);
        goto fail;
    }
    s->key_made = 1;
    /* The listening connection first runs the migrations, then LISTENs
     * before open returns, so no commit after open goes unnoticed. */
    s->listen = store_pg_connect(s->url, s->label, err, errlen);
    if (!s->listen || store_pg_migrate(s->listen, err, errlen) != 0 ||
        store_pg_listen(s, err, errlen) != 0)
        goto fail;
    return &s->base;
fail:
    pg_close(&s->base);
    return NULL;
}

/* --- jobs ---------------------------------------------------------------- */

/* Job statements are sent unprepared (PQexecParams, types inferred): a
 * worker polls a few times a second, so they need no statement slot. */

#define JOB_COLS "id, kind, payload, run_at, attempts, last_error"

/* Runs sql with p; on success 0 with the result in *out (caller
 * PQclear()s), else a fail() code and *out NULL. */
static int job_exec(struct store_pg_conn *c, const char *sql,
                    const struct params *p, PGresult **out, const char *what)
{
    PGresult *res = PQexecParams(c->pg, sql, p->n, NULL, p->v, NULL, NULL, 0);
    ExecStatusType est = PQresultStatus(res);
    int rc;

    if (res && (est == PGRES_COMMAND_OK || est == PGRES_TUPLES_OK)) {
        *out = res;
        return 0;
    }
    rc = fail(c, res, what);
    PQclear(res);
    *out = NULL;
    return rc;
}

/* Runs one write statement with p in its own transaction; *changed gets
 * the rows it changed. When none changed, the transaction is rolled back
 * (no notification, store_version() stays) and STORE_NOTFOUND returned. */
static int job_write(struct store *st, const char *sql, const struct params *p,
                     size_t *changed, const char *what)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    PGresult *res = NULL;
    size_t rows = 0;
    int rc;

    if (changed)
        *changed = 0;
    if (!c)
        return STORE_ERROR;
    rc = write_begin(c);
    if (rc != 0)
        return rc;
    rc = job_exec(c, sql, p, &res, what);
    if (rc == 0)
        rows = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
    if (rc == 0 && rows == 0)
        rc = STORE_NOTFOUND;
    if (rc == 0 && changed)
        *changed = rows;
    PQclear(res);
    return write_end(c, rc);
}

static int pg_job_add(struct store *st, const char *kind, const char *payload,
                      int64_t run_at, const char *unique_key, int64_t *id)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    struct params p = {0};
    PGresult *res = NULL;
    int rc;

    if (!c)
        return STORE_ERROR;
    p_text(&p, 1, kind);
    p_text_or(&p, 2, payload, "");
    p_int(&p, 3, run_at);
    p_text(&p, 4, unique_key);
    p_int(&p, 5, (int64_t)time(NULL));
    rc = write_begin(c);
    if (rc != 0)
        return rc;
    rc = job_exec(c,
                  "INSERT INTO jobs (kind, payload, run_at, unique_key, "
                  "created_at) VALUES ($1, $2, $3, $4, $5) "
                  "ON CONFLICT (kind, unique_key) "
                  "WHERE state IN ('queued', 'running') DO NOTHING "
                  "RETURNING id",
                  &p, &res, "add job");
    if (rc == 0 && PQntuples(res) == 0)
        rc = STORE_CONFLICT;
    if (rc == 0 && id)
        *id = col_int(res, 0, 0);
    PQclear(res);
    return write_end(c, rc);
}

static int pg_job_claim(struct store *st, struct arena *a,
                        const char *const *kinds, size_t nkinds, int64_t now,
                        unsigned lease_s, struct store_job *out)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    char sql[512 + 8 * STORE_JOB_KINDS_MAX];
    struct params p = {0};
    PGresult *res = NULL;
    int rc, n;

    if (!c)
        return STORE_ERROR;
    if (nkinds == 0 || nkinds > STORE_JOB_KINDS_MAX ||
        nkinds + 1 > MAX_PARAMS) {
        log_error("cannot claim job: %zu kinds named", nkinds);
        return STORE_ERROR;
    }
    /* $1 now; the kinds are $2.. . SKIP LOCKED: a row another worker is
     * claiming right now is passed over, not waited for. */
    n = snprintf(sql, sizeof sql,
                 "SELECT " JOB_COLS " FROM jobs WHERE run_at <= $1 "
                 "AND (state = 'queued' OR (state = 'running' "
                 "AND lease_until < $1)) AND kind IN (");
    for (size_t i = 0; i < nkinds; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, "%s$%zu",
                      i ? ", " : "", i + 2);
    snprintf(sql + n, sizeof sql - (size_t)n,
             ") ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED");
    p_int(&p, 1, now);
    for (size_t i = 0; i < nkinds; i++)
        p_text(&p, (int)i + 2, kinds[i]);
    rc = write_begin(c);
    if (rc != 0)
        return rc;
    rc = job_exec(c, sql, &p, &res, "claim job");
    if (rc != 0)
        goto out;
    if (PQntuples(res) == 0) {
        rc = STORE_NOTFOUND;
        goto out;
    }
    memset(out, 0, sizeof *out);
    out->id = col_int(res, 0, 0);
    out->kind = col_text(a, res, 0, 1);
    out->payload = col_text(a, res, 0, 2);
    if (!out->payload)
        out->payload = "";
    out->run_at = col_int(res, 0, 3);
    out->attempts = (unsigned)col_int(res, 0, 4) + 1;
    out->last_error = col_text(a, res, 0, 5);
    out->lease_until = now + (int64_t)lease_s;
    PQclear(res);
    res = NULL;
    memset(&p, 0, sizeof p);
    p_int(&p, 1, out->id);
    p_int(&p, 2, out->lease_until);
    rc = job_exec(c,
                  "UPDATE jobs SET state = 'running', "
                  "attempts = attempts + 1, lease_until = $2 WHERE id = $1",
                  &p, &res, "claim job");
out:
    PQclear(res);
    return write_end(c, rc);
}

static int pg_job_done(struct store *st, int64_t id)
{
    struct params p = {0};

    p_int(&p, 1, id);
    p_int(&p, 2, (int64_t)time(NULL));
    return job_write(st,
                     "UPDATE jobs SET state = 'done', lease_until = 0, "
                     "finished_at = $2 WHERE id = $1",
                     &p, NULL, "finish job");
}

static int pg_job_retry(struct store *st, int64_t id, int64_t run_at,
                        const char *error)
{
    struct params p = {0};

    p_int(&p, 1, id);
    p_int(&p, 2, run_at);
    p_text(&p, 3, error);
    return job_write(st,
                     "UPDATE jobs SET state = 'queued', lease_until = 0, "
                     "run_at = $2, last_error = $3 WHERE id = $1",
                     &p, NULL, "retry job");
}

static int pg_job_fail(struct store *st, int64_t id, const char *error)
{
    struct params p = {0};

    p_int(&p, 1, id);
    p_int(&p, 2, (int64_t)time(NULL));
    p_text(&p, 3, error);
    return job_write(st,
                     "UPDATE jobs SET state = 'failed', lease_until = 0, "
                     "finished_at = $2, last_error = $3 WHERE id = $1",
                     &p, NULL, "fail job");
}

static int pg_jobs_count(struct store *st, const char *state, size_t *n)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    struct params p = {0};
    PGresult *res = NULL;
    int rc;

    *n = 0;
    if (!c)
        return STORE_ERROR;
    p_text(&p, 1, state);
    rc = job_exec(c, "SELECT count(*) FROM jobs WHERE state = $1", &p, &res,
                  "count jobs");
    if (rc == 0 && PQntuples(res) == 1)
        *n = (size_t)col_int(res, 0, 0);
    PQclear(res);
    return rc;
}

static int pg_jobs_prune(struct store *st, int64_t before, size_t *n)
{
    struct params p = {0};
    int rc;

    p_int(&p, 1, before);
    rc = job_write(st,
                   "DELETE FROM jobs WHERE state IN ('done', 'failed') "
                   "AND finished_at < $1",
                   &p, n, "prune jobs");
    return rc == STORE_NOTFOUND ? 0 : rc;
}

static int pg_posts_publish_due(struct store *st, int64_t now, size_t *n)
{
    struct params p = {0};
    int rc;

    p_int(&p, 1, now);
    rc = job_write(st,
                   "UPDATE posts SET status = 'published' "
                   "WHERE status = 'scheduled' AND published_at > 0 "
                   "AND published_at <= $1",
                   &p, n, "publish due posts");
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

/* Runs sql (built, not prepared) with text parameters; 0 with the result
 * in *out (caller PQclear()s, may pass NULL), else a fail() code. */
static int exec_text(struct store_pg_conn *c, const char *sql, int n,
                     const char *const *vals, PGresult **out,
                     const char *what)
{
    PGresult *res;
    ExecStatusType est;
    int rc;

    if (out)
        *out = NULL;
    res = PQexecParams(c->pg, sql, n, NULL, vals, NULL, NULL, 0);
    est = PQresultStatus(res);
    if (res && (est == PGRES_COMMAND_OK || est == PGRES_TUPLES_OK)) {
        if (out)
            *out = res;
        else
            PQclear(res);
        return 0;
    }
    rc = fail(c, res, what);
    PQclear(res);
    return rc;
}

/* Runs the statement built in b; as exec_text. */
static int exec_built(struct store_pg_conn *c, struct buf *b, int n,
                      const char *const *vals, PGresult **out,
                      const char *what)
{
    if (b->overflow || !b->data) {
        log_error("cannot %s: statement longer than %d bytes", what,
                  COPY_SQL_BYTES);
        return STORE_ERROR;
    }
    return exec_text(c, b->data, n, vals, out, what);
}

/* Runs a one-column catalog query (one text parameter, or none) and
 * collects its values into *out in a. */
static int names_query(struct store *st, struct arena *a, const char *sql,
                       const char *arg, const char ***out, size_t *n)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    PGresult *res;
    int rows, rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    rc = exec_text(c, sql, arg ? 1 : 0, arg ? &arg : NULL, &res,
                   "read the catalog");
    if (rc != 0)
        return STORE_ERROR;
    rows = PQntuples(res);
    *out = arena_alloc(a, ((size_t)rows + 1) * sizeof **out);
    for (int i = 0; i < rows; i++)
        (*out)[i] = col_text(a, res, i, 0);
    *n = (size_t)rows;
    PQclear(res);
    return 0;
}

static int pg_table_names(struct store *st, struct arena *a,
                          const char ***out, size_t *n)
{
    return names_query(st, a,
                       "SELECT table_name::text FROM information_schema.tables "
                       "WHERE table_schema = current_schema() "
                       "AND table_type = 'BASE TABLE' "
                       "AND table_name <> 'schema_migrations' "
                       "ORDER BY table_name::text COLLATE \"C\"",
                       NULL, out, n);
}

static int pg_table_columns(struct store *st, struct arena *a,
                            const char *table, const char ***out, size_t *n)
{
    return names_query(st, a,
                       "SELECT column_name::text "
                       "FROM information_schema.columns "
                       "WHERE table_schema = current_schema() "
                       "AND table_name = $1 ORDER BY ordinal_position",
                       table, out, n);
}

static int64_t pg_table_rows(struct store *st, const char *table)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    PGresult *res;
    struct buf b;
    int64_t rows = -1;

    if (!c)
        return -1;
    buf_init(&b, COPY_SQL_BYTES);
    buf_adds(&b, "SELECT count(*) FROM ");
    add_ident(&b, table);
    if (exec_built(c, &b, 0, NULL, &res, "count rows") == 0) {
        rows = col_int(res, 0, 0);
        PQclear(res);
    }
    buf_release(&b);
    return rows;
}

/* Reads the whole table in one result: copies come from SQLite in
 * practice, and a PostgreSQL source this big would want pg_dump. */
static int pg_rows_dump(struct store *st, const char *table,
                        const char *const *cols, size_t ncols,
                        store_row_fn fn, void *ctx)
{
    struct store_pg_conn *c = conn_get(pgs(st));
    const char **vals = NULL;
    PGresult *res = NULL;
    struct buf b;
    int rc = STORE_ERROR;

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
    vals = calloc(ncols, sizeof *vals);
    if (!vals || exec_built(c, &b, 0, NULL, &res, "read rows to copy") != 0)
        goto out;
    rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        for (size_t i = 0; i < ncols; i++)
            vals[i] = PQgetisnull(res, r, (int)i)
                          ? NULL
                          : PQgetvalue(res, r, (int)i);
        rc = fn(ctx, vals, ncols);
    }
out:
    PQclear(res);
    free(vals);
    buf_release(&b);
    return rc;
}

/* The thread's connection when it is inside store_tx_begin, else NULL
 * (logged): the copy's writes belong to one transaction. */
static struct store_pg_conn *copy_conn(struct store *st)
{
    struct store_pg_conn *c = conn_get(pgs(st));

    if (c && !c->in_tx) {
        log_error("cannot copy rows outside a transaction");
        return NULL;
    }
    return c;
}

static int pg_table_clear(struct store *st, const char *table)
{
    struct store_pg_conn *c = copy_conn(st);
    struct buf b;
    int rc;

    if (!c)
        return STORE_ERROR;
    buf_init(&b, COPY_SQL_BYTES);
    buf_adds(&b, "DELETE FROM ");
    add_ident(&b, table);
    rc = exec_built(c, &b, 0, NULL, NULL, "empty a table");
    buf_release(&b);
    return rc;
}

/* Parameters are sent untyped: PostgreSQL takes each one's type from its
 * column, so "42" fills a BIGINT and a TEXT alike. */
static int pg_row_load(struct store *st, const char *table,
                       const char *const *cols, size_t ncols,
                       const char *const *vals, int update)
{
    struct store_pg_conn *c = copy_conn(st);
    struct buf b;
    int rc;

    if (!c || ncols == 0 || ncols > 1000)
        return STORE_ERROR;
    buf_init(&b, COPY_SQL_BYTES);
    if (update) {
        buf_adds(&b, "UPDATE ");
        add_ident(&b, table);
        buf_adds(&b, " SET ");
        for (size_t i = 1; i < ncols; i++) {
            buf_adds(&b, i > 1 ? ", " : "");
            add_ident(&b, cols[i]);
            buf_printf(&b, " = $%zu", i + 1);
        }
        buf_adds(&b, " WHERE ");
        add_ident(&b, cols[0]);
        buf_adds(&b, " = $1");
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
            buf_printf(&b, "%s$%zu", i ? ", " : "", i + 1);
        buf_adds(&b, ")");
    }
    rc = exec_built(c, &b, (int)ncols, vals, NULL, "copy a row");
    buf_release(&b);
    return rc;
}

static int pg_ids_reset(struct store *st, const char *table)
{
    struct store_pg_conn *c = copy_conn(st);
    PGresult *res = NULL;
    struct buf b, qt;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = exec_text(c,
                   "SELECT column_name::text FROM information_schema.columns "
                   "WHERE table_schema = current_schema() "
                   "AND table_name = $1 AND is_identity = 'YES'",
                   1, &table, &res, "find identity columns");
    if (rc != 0)
        return rc;
    buf_init(&b, COPY_SQL_BYTES);
    buf_init(&qt, COPY_SQL_BYTES);
    add_ident(&qt, table);
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        const char *col = PQgetvalue(res, r, 0);
        const char *args[2] = {qt.data, col};
        buf_reset(&b);
        buf_adds(&b, "SELECT setval(pg_get_serial_sequence($1, $2), "
                     "coalesce((SELECT max(");
        add_ident(&b, col);
        buf_adds(&b, ") FROM ");
        add_ident(&b, table);
        buf_adds(&b, "), 0) + 1, false)");
        rc = exec_built(c, &b, 2, args, NULL, "reset an id sequence");
    }
    PQclear(res);
    buf_release(&b);
    buf_release(&qt);
    return rc;
}

static const struct store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .version = pg_version,
    .schema_version = pg_schema_version,
    .tx_begin = pg_tx_begin,
    .tx_commit = pg_tx_commit,
    .tx_rollback = pg_tx_rollback,
    .setting_get = pg_setting_get,
    .setting_set = pg_setting_set,
    .post_save = pg_post_save,
    .post_get_by_slug = pg_post_get_by_slug,
    .post_get = pg_post_get,
    .posts_list = pg_posts_list,
    .correction_add = pg_correction_add,
    .corrections_list = pg_corrections_list,
    .author_save = pg_author_save,
    .author_get_by_slug = pg_author_get_by_slug,
    .authors_list = pg_authors_list,
    .tag_save = pg_tag_save,
    .tag_get_by_slug = pg_tag_get_by_slug,
    .tags_list = pg_tags_list,
    .image_save = pg_image_save,
    .image_get = pg_image_get,
    .image_get_by_name = pg_image_get_by_name,
    .live_save = pg_live_save,
    .live_delete = pg_live_delete,
    .live_list = pg_live_list,
    .live_get = pg_live_get,
    .live_events = pg_live_events,
    .live_last_seq = pg_live_last_seq,
    .newsletter_save = pg_newsletter_save,
    .newsletters_list = pg_newsletters_list,
    .job_add = pg_job_add,
    .job_claim = pg_job_claim,
    .job_done = pg_job_done,
    .job_retry = pg_job_retry,
    .job_fail = pg_job_fail,
    .jobs_count = pg_jobs_count,
    .jobs_prune = pg_jobs_prune,
    .posts_publish_due = pg_posts_publish_due,
    .table_names = pg_table_names,
    .table_columns = pg_table_columns,
    .table_rows = pg_table_rows,
    .rows_dump = pg_rows_dump,
    .table_clear = pg_table_clear,
    .row_load = pg_row_load,
    .ids_reset = pg_ids_reset,
};
