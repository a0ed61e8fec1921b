/*
 * store_sqlite_desk.c - the SQLite backend's operations for the editorial
 * desk: deleting posts, setting the Editors' Picks, revisions, sign-in
 * sessions, rate-limit counters, one-time staff tokens and the audit log.
 *
 * Each operation has the contract of its store.h function. Statements are
 * prepared per call, as the jobs queue's are (store_sqlite_ops.c): none is
 * on a public page's path; the helpers that do it (sq_prepare_bound,
 * sq_exec_on, sq_write1, sq_query_*) are shared with store_sqlite_mail.c
 * through store_sqlite.h. Connections and transactions come from
 * store_sqlite.c (store_sqlite.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "store/store_sqlite.h"

#define AUDIT_LIMIT 50 /* entries when store_audit_list asks for 0 */

/* --- unprepared statements (store_sqlite.h) ----------------------------- */

/* Prepares sql on c with vals[0..n) bound as ?1..; NULL (logged). Free
 * with sqlite3_finalize. */
sqlite3_stmt *sq_prepare_bound(struct sq_conn *c, const char *sql,
                               const struct sq_val *vals, size_t n)
{
    sqlite3_stmt *s = NULL;

    if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK) {
        log_error("cannot prepare statement '%.60s': %s", sql,
                  sqlite3_errmsg(c->db));
        sqlite3_finalize(s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (vals[i].is_text)
            sq_bind_text(s, (int)i + 1, vals[i].text);
        else
            sq_bind_int(s, (int)i + 1, vals[i].num);
    }
    return s;
}

/* Runs the statement sql on c (inside a transaction the caller began);
 * *changed gets the rows it changed. With row, the first row it returns
 * (RETURNING, SELECT) is read into item (size bytes), and no row is
 * STORE_NOTFOUND. 0 or a sq_fail() code. */
int sq_exec_on(struct sq_conn *c, struct arena *a, const char *sql,
               const struct sq_val *vals, size_t n, sq_row_fn row, void *item,
               size_t size, size_t *changed, const char *what)
{
    sqlite3_stmt *s = sq_prepare_bound(c, sql, vals, n);
    int step, got = 0, rc;

    *changed = 0;
    if (!s)
        return STORE_ERROR;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (row && !got) {
            memset(item, 0, size);
            row(a, s, item);
        }
        got = 1;
    }
    if (step != SQLITE_DONE)
        rc = sq_fail(c, what);
    else if (row && !got)
        rc = STORE_NOTFOUND;
    else
        rc = 0;
    if (rc == 0)
        *changed = (size_t)sqlite3_changes(c->db);
    sqlite3_finalize(s);
    return rc;
}

/* Runs one write statement in a transaction of its own (a savepoint
 * inside store_tx_begin), as sq_exec_on. When it changes no row, nothing is
 * committed and the result is STORE_NOTFOUND if none_notfound, else 0.
 * *changed (may be NULL) gets the rows changed. */
int sq_write1(struct store *st, struct arena *a, const char *sql,
              const struct sq_val *vals, size_t n, sq_row_fn row, void *item,
              size_t size, int none_notfound, size_t *changed, const char *what)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    size_t rows = 0;
    int rc;

    if (changed)
        *changed = 0;
    if (!c)
        return STORE_ERROR;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    rc = sq_exec_on(c, a, sql, vals, n, row, item, size, &rows, what);
    if (rc == 0 && rows == 0)
        rc = STORE_NOTFOUND; /* nothing to commit */
    rc = sq_write_end(c, rc);
    if (rc == STORE_NOTFOUND && !none_notfound && !row)
        rc = 0;
    if (rc == 0 && changed)
        *changed = rows;
    return rc;
}

/* Reads the rows of a query into an arena array of size-byte items. */
int sq_query_rows(struct store *st, struct arena *a, const char *sql,
                  const struct sq_val *vals, size_t n, size_t size,
                  sq_row_fn row, void **out, size_t *nout, const char *what)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s;
    int rc;

    *out = NULL;
    *nout = 0;
    if (!c)
        return STORE_ERROR;
    s = sq_prepare_bound(c, sql, vals, n);
    if (!s)
        return STORE_ERROR;
    rc = sq_read_rows(c, a, s, size, row, out, nout, what);
    sqlite3_finalize(s);
    return rc;
}

/* Reads the one row of a query into item; STORE_NOTFOUND without one. */
int sq_query_one(struct store *st, struct arena *a, const char *sql,
                 const struct sq_val *vals, size_t n, size_t size,
                 sq_row_fn row, void *item, const char *what)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s;
    int rc;

    if (!c)
        return STORE_ERROR;
    s = sq_prepare_bound(c, sql, vals, n);
    if (!s)
        return STORE_ERROR;
    rc = sq_read_one(c, a, s, size, row, item, what);
    sqlite3_finalize(s);
    return rc;
}

/* --- posts --------------------------------------------------------------- */

/* Revisions, corrections, byline, tags and narrations go with the post
 * (ON DELETE CASCADE in 001). */
int sq_post_delete(struct store *st, int64_t id)
{
    const struct sq_val v[] = {SQ_NUM(id)};

    return sq_write1(st, NULL, "DELETE FROM posts WHERE id = ?1", v,
                     SQ_NVALS(v), NULL, NULL, 0, 1, NULL, "delete post");
}

int sq_picks_set(struct store *st, const int64_t *ids, size_t n)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    size_t changed;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    rc = sq_exec_on(c, NULL,
                    "UPDATE posts SET pick_order = 0 WHERE pick_order <> 0",
                    NULL, 0, NULL, NULL, 0, &changed, "set picks");
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct sq_val v[] = {SQ_NUM(ids[i]), SQ_NUM(i + 1)};
        rc = sq_exec_on(c, NULL,
                        "UPDATE posts SET pick_order = ?2 WHERE id = ?1", v,
                        SQ_NVALS(v), NULL, NULL, 0, &changed, "set picks");
        if (rc == 0 && changed == 0)
            rc = STORE_NOTFOUND;
    }
    return sq_write_end(c, rc);
}

/* --- revisions ----------------------------------------------------------- */

#define REVISION_SELECT                                                        \
    "SELECT r.id, r.post_id, r.title, r.standfirst, r.markdown, "              \
    "r.author_id, s.name, r.created_at FROM post_revisions r "                 \
    "LEFT JOIN staff s ON s.id = r.author_id "

static void revision_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_revision *r = item;

    r->id = sq_col_int(s, 0);
    r->post_id = sq_col_int(s, 1);
    r->title = sq_col_text(a, s, 2);
    r->standfirst = sq_col_text(a, s, 3);
    r->markdown = sq_col_text(a, s, 4);
    r->staff_id = sq_col_int(s, 5);
    r->staff_name = sq_col_text(a, s, 6);
    r->created_at = sq_col_int(s, 7);
}

/* The id a RETURNING id clause gives. */
static void id_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    (void)a;
    *(int64_t *)item = sq_col_int(s, 0);
}

int sq_revision_add(struct store *st, struct store_revision *r)
{
    int64_t at = r->created_at ? r->created_at : (int64_t)time(NULL);
    int64_t id = 0;
    const struct sq_val v[] = {SQ_NUM(r->post_id),
                               SQ_TXT(r->title ? r->title : ""),
                               SQ_TXT(r->standfirst),
                               SQ_TXT(r->markdown ? r->markdown : ""),
                               r->staff_id ? (struct sq_val)SQ_NUM(r->staff_id)
                                           : (struct sq_val)SQ_TXT(NULL),
                               SQ_NUM(at)};
    int rc = sq_write1(
        st, NULL,
        "INSERT INTO post_revisions (post_id, title, standfirst, "
        "markdown, author_id, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        v, SQ_NVALS(v), id_row, &id, sizeof id, 1, NULL, "add revision");

    if (rc == 0) {
        r->id = id;
        r->created_at = at;
    }
    return rc;
}

int sq_revisions_list(struct store *st, struct arena *a, int64_t post_id,
                      struct store_revision **out, size_t *n)
{
    const struct sq_val v[] = {SQ_NUM(post_id)};

    return sq_query_rows(st, a,
                         REVISION_SELECT
                         "WHERE r.post_id = ?1 "
                         "ORDER BY r.created_at DESC, r.id DESC",
                         v, SQ_NVALS(v), sizeof **out, revision_row,
                         (void **)out, n, "list revisions");
}

int sq_revision_get(struct store *st, struct arena *a, int64_t id,
                    struct store_revision *out)
{
    const struct sq_val v[] = {SQ_NUM(id)};

    return sq_query_one(st, a, REVISION_SELECT "WHERE r.id = ?1", v,
                        SQ_NVALS(v), sizeof *out, revision_row, out,
                        "read revision");
}

/* --- sessions ------------------------------------------------------------ */

static void session_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_session *se = item;

    se->token_hash = sq_col_text(a, s, 0);
    se->staff_id = sq_col_int(s, 1);
    se->created_at = sq_col_int(s, 2);
    se->last_seen_at = sq_col_int(s, 3);
    se->expires_at = sq_col_int(s, 4);
}

int sq_session_add(struct store *st, const struct store_session *se)
{
    const struct sq_val v[] = {SQ_TXT(se->token_hash), SQ_NUM(se->staff_id),
                               SQ_NUM(se->created_at), SQ_NUM(se->last_seen_at),
                               SQ_NUM(se->expires_at)};

    return sq_write1(st, NULL,
                     "INSERT INTO sessions (token_hash, staff_id, created_at, "
                     "last_seen_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                     v, SQ_NVALS(v), NULL, NULL, 0, 0, NULL, "add session");
}

int sq_session_get(struct store *st, struct arena *a, const char *token_hash,
                   struct store_session *out)
{
    const struct sq_val v[] = {SQ_TXT(token_hash)};

    if (!token_hash)
        return STORE_NOTFOUND;
    return sq_query_one(
        st, a,
        "SELECT token_hash, staff_id, created_at, last_seen_at, "
        "expires_at FROM sessions WHERE token_hash = ?1",
        v, SQ_NVALS(v), sizeof *out, session_row, out, "read session");
}

int sq_session_touch(struct store *st, const char *token_hash,
                     int64_t last_seen_at)
{
    const struct sq_val v[] = {SQ_TXT(token_hash), SQ_NUM(last_seen_at)};

    return sq_write1(st, NULL,
                     "UPDATE sessions SET last_seen_at = ?2 "
                     "WHERE token_hash = ?1",
                     v, SQ_NVALS(v), NULL, NULL, 0, 1, NULL, "touch session");
}

int sq_session_delete(struct store *st, const char *token_hash)
{
    const struct sq_val v[] = {SQ_TXT(token_hash)};

    return sq_write1(st, NULL, "DELETE FROM sessions WHERE token_hash = ?1", v,
                     SQ_NVALS(v), NULL, NULL, 0, 1, NULL, "delete session");
}

int sq_sessions_delete_staff(struct store *st, int64_t staff_id, size_t *n)
{
    const struct sq_val v[] = {SQ_NUM(staff_id)};

    return sq_write1(st, NULL, "DELETE FROM sessions WHERE staff_id = ?1", v,
                     SQ_NVALS(v), NULL, NULL, 0, 0, n, "delete sessions");
}

int sq_sessions_prune(struct store *st, int64_t now, int64_t idle_before,
                      size_t *n)
{
    const struct sq_val v[] = {SQ_NUM(now), SQ_NUM(idle_before)};

    return sq_write1(st, NULL,
                     "DELETE FROM sessions WHERE expires_at <= ?1 "
                     "OR last_seen_at < ?2",
                     v, SQ_NVALS(v), NULL, NULL, 0, 0, n, "prune sessions");
}

/* --- rate limits --------------------------------------------------------- */

static void count_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    (void)a;
    *(unsigned *)item = (unsigned)sq_col_int(s, 0);
}

/* One statement under the write lock (BEGIN IMMEDIATE), so concurrent
 * hits from any connection or process queue up and none is lost. In the
 * UPDATE both CASEs see the row's old window_start. */
int sq_rate_hit(struct store *st, const char *key, int64_t now,
                unsigned window_s, unsigned *count)
{
    const struct sq_val v[] = {SQ_TXT(key), SQ_NUM(now), SQ_NUM(window_s)};

    *count = 0;
    return sq_write1(st, NULL,
                     "INSERT INTO rate_limits (key, window_start, count) "
                     "VALUES (?1, ?2, 1) ON CONFLICT (key) DO UPDATE SET "
                     "count = CASE WHEN rate_limits.window_start <= ?2 - ?3 "
                     "THEN 1 ELSE rate_limits.count + 1 END, "
                     "window_start = CASE WHEN rate_limits.window_start <= "
                     "?2 - ?3 THEN ?2 ELSE rate_limits.window_start END "
                     "RETURNING count",
                     v, SQ_NVALS(v), count_row, count, sizeof *count, 1, NULL,
                     "count a hit");
}

int sq_rate_peek(struct store *st, const char *key, int64_t now,
                 unsigned window_s, unsigned *count)
{
    const struct sq_val v[] = {SQ_TXT(key), SQ_NUM(now), SQ_NUM(window_s)};
    int rc;

    *count = 0;
    rc = sq_query_one(st, NULL,
                      "SELECT CASE WHEN window_start <= ?2 - ?3 THEN 0 "
                      "ELSE count END FROM rate_limits WHERE key = ?1",
                      v, SQ_NVALS(v), sizeof *count, count_row, count,
                      "read a rate limit");
    return rc == STORE_NOTFOUND ? 0 : rc;
}

int sq_rate_clear(struct store *st, const char *key)
{
    const struct sq_val v[] = {SQ_TXT(key)};

    return sq_write1(st, NULL, "DELETE FROM rate_limits WHERE key = ?1", v,
                     SQ_NVALS(v), NULL, NULL, 0, 0, NULL, "clear a rate limit");
}

int sq_rate_prune(struct store *st, int64_t before, size_t *n)
{
    const struct sq_val v[] = {SQ_NUM(before)};

    return sq_write1(st, NULL,
                     "DELETE FROM rate_limits WHERE window_start < ?1", v,
                     SQ_NVALS(v), NULL, NULL, 0, 0, n, "prune rate limits");
}

/* --- staff tokens -------------------------------------------------------- */

#define TOKEN_COLS "token_hash, staff_id, purpose, created_at, expires_at"

static void token_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_staff_token *t = item;

    t->token_hash = sq_col_text(a, s, 0);
    t->staff_id = sq_col_int(s, 1);
    t->purpose = sq_col_text(a, s, 2);
    t->created_at = sq_col_int(s, 3);
    t->expires_at = sq_col_int(s, 4);
}

int sq_staff_token_add(struct store *st, const struct store_staff_token *t)
{
    const struct sq_val v[] = {SQ_TXT(t->token_hash), SQ_NUM(t->staff_id),
                               SQ_TXT(t->purpose), SQ_NUM(t->created_at),
                               SQ_NUM(t->expires_at)};

    return sq_write1(st, NULL,
                     "INSERT INTO staff_tokens (" TOKEN_COLS ") "
                     "VALUES (?1, ?2, ?3, ?4, ?5)",
                     v, SQ_NVALS(v), NULL, NULL, 0, 0, NULL, "add staff token");
}

/* DELETE ... RETURNING under the write lock: one caller gets the row. */
int sq_staff_token_take(struct store *st, struct arena *a,
                        const char *token_hash, struct store_staff_token *out)
{
    const struct sq_val v[] = {SQ_TXT(token_hash)};

    if (!token_hash)
        return STORE_NOTFOUND;
    return sq_write1(st, a,
                     "DELETE FROM staff_tokens WHERE token_hash = ?1 "
                     "RETURNING " TOKEN_COLS,
                     v, SQ_NVALS(v), token_row, out, sizeof *out, 1, NULL,
                     "take staff token");
}

int sq_staff_token_get(struct store *st, struct arena *a,
                       const char *token_hash, struct store_staff_token *out)
{
    const struct sq_val v[] = {SQ_TXT(token_hash)};

    if (!token_hash)
        return STORE_NOTFOUND;
    return sq_query_one(st, a,
                        "SELECT " TOKEN_COLS " FROM staff_tokens "
                        "WHERE token_hash = ?1",
                        v, SQ_NVALS(v), sizeof *out, token_row, out,
                        "read staff token");
}

/* --- TOTP second factor (013) -------------------------------------------- */

static void totp_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_staff_totp *t = item;

    t->secret = sq_col_text(a, s, 0);
    t->last_step = sq_col_int(s, 1);
}

int sq_staff_totp_get(struct store *st, struct arena *a, int64_t staff_id,
                      struct store_staff_totp *out)
{
    const struct sq_val v[] = {SQ_NUM(staff_id)};

    memset(out, 0, sizeof *out);
    return sq_query_one(st, a,
                        "SELECT totp_secret, totp_last_step FROM staff "
                        "WHERE id = ?1",
                        v, SQ_NVALS(v), sizeof *out, totp_row, out,
                        "read staff totp");
}

int sq_staff_totp_set(struct store *st, int64_t staff_id, const char *secret,
                      int64_t last_step)
{
    const struct sq_val v[] = {SQ_NUM(staff_id), SQ_TXT(secret),
                               SQ_NUM(last_step)};

    return sq_write1(st, NULL,
                     "UPDATE staff SET totp_secret = ?2, totp_last_step = ?3 "
                     "WHERE id = ?1",
                     v, SQ_NVALS(v), NULL, NULL, 0, 1, NULL, "set staff totp");
}

int sq_staff_totp_use(struct store *st, int64_t staff_id, int64_t step)
{
    const struct sq_val v[] = {SQ_NUM(staff_id), SQ_NUM(step)};

    return sq_write1(st, NULL,
                     "UPDATE staff SET totp_last_step = ?2 WHERE id = ?1 "
                     "AND totp_secret IS NOT NULL AND totp_last_step < ?2",
                     v, SQ_NVALS(v), NULL, NULL, 0, 1, NULL, "use staff totp");
}

/* --- audit log ----------------------------------------------------------- */

static void audit_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_audit *e = item;

    e->id = sq_col_int(s, 0);
    e->at = sq_col_int(s, 1);
    e->staff_id = sq_col_int(s, 2);
    e->actor = sq_col_text(a, s, 3);
    e->action = sq_col_text(a, s, 4);
    e->target = sq_col_text(a, s, 5);
    e->detail = sq_col_text(a, s, 6);
}

int sq_audit_add(struct store *st, struct store_audit *e)
{
    int64_t id = 0;
    const struct sq_val v[] = {SQ_NUM(e->at),
                               e->staff_id ? (struct sq_val)SQ_NUM(e->staff_id)
                                           : (struct sq_val)SQ_TXT(NULL),
                               SQ_TXT(e->actor ? e->actor : ""),
                               SQ_TXT(e->action ? e->action : ""),
                               SQ_TXT(e->target ? e->target : ""),
                               SQ_TXT(e->detail)};
    int rc = sq_write1(st, NULL,
                       "INSERT INTO audit_log (at, staff_id, actor, action, "
                       "target, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                       "RETURNING id",
                       v, SQ_NVALS(v), id_row, &id, sizeof id, 1, NULL,
                       "add audit entry");

    if (rc == 0)
        e->id = id;
    return rc;
}

int sq_audit_list(struct store *st, struct arena *a, int64_t before_id,
                  size_t limit, struct store_audit **out, size_t *n)
{
    /* one shape for both cases, so the rowid b-tree serves it */
    const struct sq_val v[] = {SQ_NUM(before_id > 0 ? before_id : INT64_MAX),
                               SQ_NUM(limit == 0 ? AUDIT_LIMIT
                                      : limit > (size_t)INT64_MAX
                                          ? INT64_MAX
                                          : (int64_t)limit)};

    return sq_query_rows(
        st, a,
        "SELECT id, at, staff_id, actor, action, target, detail "
        "FROM audit_log WHERE id < ?1 "
        "ORDER BY id DESC LIMIT ?2",
        v, SQ_NVALS(v), sizeof **out, audit_row, (void **)out, n,
        "list audit log");
}
