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
 * - store_version: every table whose rows readers see has a statement
 *   trigger that sends NOTIFY newsroom_changes, delivered only when its
 *   transaction commits. The desk's bookkeeping (sessions, rate_limits,
 *   staff_tokens, audit_log) and the mail tables (subscribers,
 *   subscriptions, sends, mail_outbox) have none, and their writes end
 *   with pg_write_end_unseen, so a sign-in or a mail sent flushes no page
 *   cache anywhere.
 *   A listener thread holds one more connection that LISTENs, sleeps in
 *   poll() on its socket and counts notifications sent by other processes'
 *   connections (each carries the sender's backend pid; this store's own
 *   connections are recognised and skipped). Commits made here are counted
 *   when COMMIT returns. store_version() is the sum of the two atomic
 *   counters: no query, no lock. While the listener is disconnected it
 *   reconnects every second, and store_version() changes on every call,
 *   so caches refill rather than serve stale pages.
 * - Outages: store_available() is 0 while the listener is disconnected or
 *   the calling thread's connection is broken and cannot be reopened; the
 *   web layer then answers 503. Nothing waits for the server: each call
 *   fails at once and the next one after the server returns reconnects.
 *   docs/store.md has the details and the delay this implies.
 * - Files: this one has connections, statements, transactions and the
 *   store_ops table; store_pg_content.c the content operations;
 *   store_pg_ops.c jobs and table copy; store_pg_desk.c the editorial
 *   desk's operations; store_pg_mail.c subscribers, sends and the mail
 *   outbox; store_pg_setup.c connects,
 *   migrates and runs the listener; store_pg.h holds what they share.
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

/* Type OIDs of declared parameters (server header pg_type.h has them). */
#define OID_INT8 20
#define OID_INT4 23
#define OID_TEXT 25

/* --- statements ---------------------------------------------------------- */

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
         "html, plaintext, narration_off) VALUES ($2, $3, $4, $5, $6, "
         "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, "
         "$20, $21, $22, $23, $24) "
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
         "plaintext = $23, narration_off = $24 WHERE id = $1",
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

    [S_STAFF_INSERT] =
        {"INSERT INTO staff (email, name, role, password_hash, author_id, "
         "created_at, disabled) "
         "VALUES ($2, $3, $4, $5, $6, $7, $8) RETURNING id",
         "i"},
    /* created_at ($7) never changes after the insert */
    [S_STAFF_UPDATE] =
        {"UPDATE staff SET email = $2, name = $3, role = $4, "
         "password_hash = $5, author_id = $6, disabled = $8 WHERE id = $1",
         "i-----i"},
    [S_STAFF_BY_EMAIL] = {"SELECT " STAFF_COLS " FROM staff WHERE email = $1",
                          "t"},
    [S_STAFF_BY_ID] = {"SELECT " STAFF_COLS " FROM staff WHERE id = $1", "i"},
    [S_STAFF_LIST] = {"SELECT " STAFF_COLS " FROM staff "
                      "ORDER BY name COLLATE \"C\", id",
                      NULL},
};
/* clang-format on */

/* --- connections --------------------------------------------------------- */

static const struct store_ops pg_ops;

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
struct store_pg_conn *pg_conn_get(struct store_pg *s)
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

static void p_set(struct pg_params *p, int pos, const char *s)
{
    p->v[pos - 1] = s;
    if (pos > p->n)
        p->n = pos;
}

void pg_param_text(struct pg_params *p, int pos, const char *s)
{
    p_set(p, pos, s);
}

/* For NOT NULL text columns: NULL is stored as dflt. */
void pg_param_text_or(struct pg_params *p, int pos, const char *s,
                      const char *dflt)
{
    p_set(p, pos, s ? s : dflt);
}

void pg_param_int(struct pg_params *p, int pos, int64_t v)
{
    snprintf(p->num[pos - 1], sizeof p->num[0], "%lld", (long long)v);
    p_set(p, pos, p->num[pos - 1]);
}

/* For references: 0 ("none") is stored as NULL. */
void pg_param_ref(struct pg_params *p, int pos, int64_t id)
{
    if (id)
        pg_param_int(p, pos, id);
    else
        p_set(p, pos, NULL);
}

/* --- statement helpers --------------------------------------------------- */

/* Maps a failed result: a unique violation gives STORE_CONFLICT, anything
 * else is logged and gives STORE_ERROR. res may be NULL (no result). */
int pg_fail(struct store_pg_conn *c, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg =
        res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[512];

    if (state && strcmp(state, "23505") == 0)
        return STORE_CONFLICT;
    /* 53100 disk_full, 25006 read_only_sql_transaction (kept when a
     * later rollback fails; reset when the next write begins) */
    if (state && strcmp(state, "53100") == 0)
        store_fault_note(STORE_FAULT_FULL);
    else if (state && strcmp(state, "25006") == 0)
        store_fault_note(STORE_FAULT_READONLY);
    log_error("cannot %s: %s", what,
              store_pg_one_line(line, sizeof line,
                                msg ? msg : PQerrorMessage(c->pg)));
    return STORE_ERROR;
}

/* Prepares sql as slot's statement on c ("s<slot>") with the declared
 * types; 0 or -1 logged. */
int pg_prepare(struct store_pg_conn *c, int slot, const char *sql,
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
 * *out (caller PQclear()s), else a pg_fail() code and *out NULL. */
int pg_exec_slot(struct store_pg_conn *c, int slot, const struct pg_params *p,
                 PGresult **out, const char *what)
{
    static const struct pg_params none;
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
    rc = pg_fail(c, res, what);
    PQclear(res);
    *out = NULL;
    return rc;
}

/* Runs statement id (prepared on first use) with p; as exec_slot.
 * A statement sent on an idle connection (a BEGIN, a lone read) that
 * finds the connection broken, as after a server restart, is sent again
 * once on a fresh one: nothing of it can have happened. */
int pg_exec(struct store_pg_conn *c, enum store_sql_stmt id,
            const struct pg_params *p, PGresult **out, const char *what)
{
    int idle = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    int rc = STORE_ERROR;

    for (int try = 0; try < 2; try++) {
        *out = NULL;
        if (c->prepared[id] ||
            pg_prepare(c, (int)id, stmt_defs[id].sql, stmt_defs[id].types) == 0)
            rc = pg_exec_slot(c, (int)id, p, out, what);
        if (rc != STORE_ERROR || !idle || PQstatus(c->pg) == CONNECTION_OK)
            break;
        conn_reset(c);
    }
    return rc;
}

/* pg_exec() for statements whose rows are not needed. */
int pg_run(struct store_pg_conn *c, enum store_sql_stmt id,
           const struct pg_params *p, const char *what)
{
    PGresult *res;
    int rc = pg_exec(c, id, p, &res, what);

    PQclear(res);
    return rc;
}

/* Text of a column copied into a; NULL stays NULL. */
const char *pg_col_text(struct arena *a, const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    return arena_strndup(a, PQgetvalue(r, row, col),
                         (size_t)PQgetlength(r, row, col));
}

int64_t pg_col_int(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Copies every row of r into an arena array of size-byte items. */
void pg_read_rows(struct arena *a, const PGresult *r, size_t size,
                  pg_row_fn row, void **out, size_t *n)
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
int pg_list(struct store_pg_conn *c, struct arena *a, enum store_sql_stmt id,
            const struct pg_params *p, size_t size, pg_row_fn row, void **out,
            size_t *n, const char *what)
{
    PGresult *res;
    int rc;

    *out = NULL;
    *n = 0;
    rc = pg_exec(c, id, p, &res, what);
    if (rc == 0)
        pg_read_rows(a, res, size, row, out, n);
    PQclear(res);
    return rc;
}

/* Runs statement id with p and copies its one row into item;
 * STORE_NOTFOUND without one. */
int pg_get_one(struct store_pg_conn *c, struct arena *a, enum store_sql_stmt id,
               const struct pg_params *p, size_t size, pg_row_fn row,
               void *item, const char *what)
{
    PGresult *res;
    int rc = pg_exec(c, id, p, &res, what);

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
int64_t pg_get_int(struct store_pg_conn *c, enum store_sql_stmt id,
                   int64_t fallback, const char *what)
{
    PGresult *res;
    int64_t v = fallback;

    if (pg_exec(c, id, NULL, &res, what) == 0 && PQntuples(res) == 1)
        v = pg_col_int(res, 0, 0);
    PQclear(res);
    return v;
}

int64_t pg_clamp64(size_t v)
{
    return v > (size_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* --- transactions -------------------------------------------------------- */

/* COMMIT; STORE_ERROR (logged) unless the server committed. counted: 1 =
 * the commit moves store_version(). */
static int commit(struct store_pg_conn *c, int counted)
{
    PGresult *res;
    int rc = pg_exec(c, S_COMMIT, NULL, &res, "commit");

    /* an aborted transaction answers COMMIT with "ROLLBACK", no error */
    if (rc == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        log_error("cannot commit: the transaction was rolled back by an "
                  "earlier error");
        rc = STORE_ERROR;
    }
    PQclear(res);
    if (rc == 0 && counted)
        atomic_fetch_add(&c->owner->own, 1);
    return rc;
}

/* Starts the transaction of one write function: its own BEGIN, or a
 * savepoint inside the thread's store_tx_begin. */
int pg_write_begin(struct store_pg_conn *c)
{
    store_fault_note(STORE_FAULT_NONE);
    if (c->in_tx && PQtransactionStatus(c->pg) != PQTRANS_INTRANS) {
        log_error("cannot write: the open transaction failed by an "
                  "earlier error");
        return STORE_ERROR;
    }
    return pg_run(c, c->in_tx ? S_SAVEPOINT : S_BEGIN, NULL,
                  "begin transaction");
}

/* pg_write_end and pg_write_end_unseen: counted as commit's. */
static int write_end(struct store_pg_conn *c, int rc, int counted)
{
    if (rc == 0) {
        if (c->in_tx)
            rc = pg_run(c, S_RELEASE, NULL, "release savepoint");
        else
            rc = commit(c, counted);
        if (rc == 0)
            return 0;
    }
    if (PQtransactionStatus(c->pg) == PQTRANS_IDLE)
        return rc; /* nothing left to undo */
    if (c->in_tx) {
        pg_run(c, S_ROLLBACK_TO, NULL, "roll back savepoint");
        pg_run(c, S_RELEASE, NULL, "release savepoint");
    } else {
        pg_run(c, S_ROLLBACK, NULL, "roll back");
    }
    return rc;
}

/* Ends what write_begin started: commits when rc is 0, else undoes all of
 * the function's changes. Returns rc, or STORE_ERROR if the commit fails. */
int pg_write_end(struct store_pg_conn *c, int rc)
{
    return write_end(c, rc, 1);
}

int pg_write_end_unseen(struct store_pg_conn *c, int rc)
{
    return write_end(c, rc, 0);
}

/* A read transaction around multi-statement reads (one snapshot). */
int pg_read_begin(struct store_pg_conn *c)
{
    return c->in_tx ? 0 : pg_run(c, S_BEGIN_READ, NULL, "begin read");
}

void pg_read_end(struct store_pg_conn *c)
{
    PGTransactionStatusType ts;

    if (c->in_tx)
        return;
    ts = PQtransactionStatus(c->pg);
    if (ts == PQTRANS_INTRANS)
        pg_run(c, S_COMMIT, NULL, "end read");
    else if (ts == PQTRANS_INERROR)
        pg_run(c, S_ROLLBACK, NULL, "roll back read");
}

static int pg_tx_begin(struct store *st)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    int rc;

    if (!c)
        return STORE_ERROR;
    if (c->in_tx) {
        log_error("cannot begin transaction: one is already open on this "
                  "thread");
        return STORE_ERROR;
    }
    store_fault_note(STORE_FAULT_NONE);
    rc = pg_run(c, S_BEGIN, NULL, "begin transaction");
    if (rc == 0)
        c->in_tx = 1;
    return rc == 0 ? 0 : STORE_ERROR;
}

static int pg_tx_commit(struct store *st)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));

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
    if (commit(c, 1) != 0) {
        conn_abort(c);
        return STORE_ERROR;
    }
    return 0;
}

static void pg_tx_rollback(struct store *st)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));

    if (!c || !c->in_tx)
        return;
    c->in_tx = 0;
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        pg_run(c, S_ROLLBACK, NULL, "roll back");
}

/* --- version: the listener ----------------------------------------------- */

static uint64_t pg_version(struct store *st, int fresh)
{
    (void)fresh; /* the listener thread keeps it current */
    struct store_pg *s = pg_of(st);

    /* Deaf: cannot tell, so report a change and let caches refill. */
    if (!atomic_load(&s->listening))
        atomic_fetch_add(&s->others, 1);
    return atomic_load(&s->own) + atomic_load(&s->others);
}

/* --- availability ------------------------------------------------------- */

/* store_available: the listener's flag (it notices a server going away at
 * once and reconnects every second), then the calling thread's own
 * connection, reopened here if it broke (one connect attempt, made only
 * while the listener is connected, so not while the server is down). */
static int pg_available(struct store *st)
{
    struct store_pg *s = pg_of(st);
    struct store_pg_conn *c;

    if (!atomic_load(&s->listening))
        return 0;
    c = pthread_getspecific(s->key);
    if (!c)
        return 1;
    if (PQstatus(c->pg) != CONNECTION_OK && !c->in_tx)
        conn_reset(c);
    return PQstatus(c->pg) == CONNECTION_OK;
}

/* --- migrations, lifecycle ----------------------------------------------- */

static int pg_schema_version(struct store *st)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));

    return c ? (int)pg_get_int(c, S_SCHEMA_VERSION, STORE_ERROR,
                               "read schema version")
             : STORE_ERROR;
}

static void pg_close(struct store *st)
{
    struct store_pg *s = pg_of(st);
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

static const struct store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .version = pg_version,
    .schema_version = pg_schema_version,
    .available = pg_available,
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
    .job_extend = pg_job_extend,
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
    .staff_save = pg_staff_save,
    .staff_get_by_email = pg_staff_get_by_email,
    .staff_get = pg_staff_get,
    .staff_list = pg_staff_list,
    .post_delete = pg_post_delete,
    .picks_set = pg_picks_set,
    .revision_add = pg_revision_add,
    .revisions_list = pg_revisions_list,
    .revision_get = pg_revision_get,
    .session_add = pg_session_add,
    .session_get = pg_session_get,
    .session_touch = pg_session_touch,
    .session_delete = pg_session_delete,
    .sessions_delete_staff = pg_sessions_delete_staff,
    .sessions_prune = pg_sessions_prune,
    .rate_hit = pg_rate_hit,
    .rate_peek = pg_rate_peek,
    .rate_clear = pg_rate_clear,
    .rate_prune = pg_rate_prune,
    .staff_token_add = pg_staff_token_add,
    .staff_token_take = pg_staff_token_take,
    .staff_token_get = pg_staff_token_get,
    .staff_totp_get = pg_staff_totp_get,
    .staff_totp_set = pg_staff_totp_set,
    .staff_totp_use = pg_staff_totp_use,
    .audit_add = pg_audit_add,
    .audit_list = pg_audit_list,
    .setting_init = pg_setting_init,
    .newsletter_get = pg_newsletter_get,
    .newsletter_get_by_slug = pg_newsletter_get_by_slug,
    .subscriber_upsert = pg_subscriber_upsert,
    .subscriber_get = pg_subscriber_get,
    .subscriber_get_by_email = pg_subscriber_get_by_email,
    .subscription_request = pg_subscription_request,
    .subscription_set = pg_subscription_set,
    .subscriptions_of = pg_subscriptions_of,
    .subscriptions_purge = pg_subscriptions_purge,
    .subscriptions_search = pg_subscriptions_search,
    .subscription_counts = pg_subscription_counts,
    .subscription_daily = pg_subscription_daily,
    .send_create = pg_send_create,
    .send_get = pg_send_get,
    .sends_list = pg_sends_list,
    .outbox_progress = pg_outbox_progress,
    .outbox_add = pg_outbox_add,
    .outbox_claim = pg_outbox_claim,
    .outbox_sent = pg_outbox_sent,
    .outbox_retry = pg_outbox_retry,
    .outbox_release = pg_outbox_release,
    .outbox_fail = pg_outbox_fail,
    .narration_save = pg_narration_save,
    .narration_latest = pg_narration_latest,
    .narration_ready = pg_narration_ready,
    .narrations_prune = pg_narrations_prune,
    .episodes = pg_episodes,
    .posts_unnarrated = pg_posts_unnarrated,
    .post_stamps = pg_post_stamps,
    .post_stamp_pages = pg_post_stamp_pages,
    .archive_stamps = pg_archive_stamps,
    .import_map_get = pg_import_map_get,
    .import_map_put = pg_import_map_put,
    .api_key_add = pg_api_key_add,
    .api_key_find = pg_api_key_find,
    .api_keys_list = pg_api_keys_list,
    .api_key_delete = pg_api_key_delete,
    .redirect_put = pg_redirect_put,
    .redirect_get = pg_redirect_get,
    .post_set_narration_off = pg_post_set_narration_off,
    .search = pg_search,
};

/* --- one-statement helpers (store_pg.h) ----------------------------------- */

int pg_exec_sql(struct store_pg_conn *c, const char *sql,
                const struct pg_params *p, PGresult **out, const char *what)
{
    PGresult *res = PQexecParams(c->pg, sql, p->n, NULL, p->v, NULL, NULL, 0);
    ExecStatusType est = PQresultStatus(res);
    int rc;

    if (res && (est == PGRES_COMMAND_OK || est == PGRES_TUPLES_OK)) {
        *out = res;
        return 0;
    }
    rc = pg_fail(c, res, what);
    PQclear(res);
    *out = NULL;
    return rc;
}

int pg_write1(struct store *st, struct arena *a, const char *sql,
              const struct pg_params *p, pg_row_fn row, void *item, size_t size,
              int none_notfound, size_t *changed, int seen, const char *what)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    PGresult *res = NULL;
    size_t rows = 0;
    int rc;

    if (changed)
        *changed = 0;
    if (!c)
        return STORE_ERROR;
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    rc = pg_exec_sql(c, sql, p, &res, what);
    if (rc == 0)
        rows = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
    if (rc == 0 && row && PQntuples(res) > 0) {
        memset(item, 0, size);
        row(a, res, 0, item);
    }
    if (rc == 0 && (rows == 0 || (row && PQntuples(res) == 0)))
        rc = STORE_NOTFOUND; /* nothing to commit */
    PQclear(res);
    rc = seen ? pg_write_end(c, rc) : pg_write_end_unseen(c, rc);
    if (rc == STORE_NOTFOUND && !none_notfound && !row)
        rc = 0;
    if (rc == 0 && changed)
        *changed = rows;
    return rc;
}
