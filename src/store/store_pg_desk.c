/*
 * store_pg_desk.c - the PostgreSQL backend's operations for the editorial
 * desk: deleting posts, setting the Editors' Picks, revisions, sign-in
 * sessions, rate-limit counters, one-time staff tokens and the audit log.
 *
 * Each operation has the contract of its store.h function. Statements are
 * sent unprepared (PQexecParams), as the jobs queue's are
 * (store_pg_ops.c): none is on a public page's path. Writes to sessions,
 * rate_limits, staff_tokens and audit_log end with pg_write_end_unseen:
 * those tables have no newsroom_changed() trigger (schema_pg/004), and
 * their commits leave store_version() alone. Connections and transactions
 * come from store_pg.c (store_pg.h). pg_query_rows and pg_query_one,
 * the unprepared reads, serve store_pg_mail.c too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "store/store_pg.h"

#define AUDIT_LIMIT 50 /* entries when store_audit_list asks for 0 */

/* Reads the rows of a query into an arena array of size-byte items. */
int pg_query_rows(struct store *st, struct arena *a, const char *sql,
                  const struct pg_params *p, size_t size, pg_row_fn row,
                  void **out, size_t *n, const char *what)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    rc = pg_exec_sql(c, sql, p, &res, what);
    if (rc == 0)
        pg_read_rows(a, res, size, row, out, n);
    PQclear(res);
    return rc;
}

/* Reads the one row of a query into item; STORE_NOTFOUND without one. */
int pg_query_one(struct store *st, struct arena *a, const char *sql,
                 const struct pg_params *p, size_t size, pg_row_fn row,
                 void *item, const char *what)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    PGresult *res = NULL;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = pg_exec_sql(c, sql, p, &res, what);
    if (rc == 0 && PQntuples(res) == 0)
        rc = STORE_NOTFOUND;
    if (rc == 0) {
        memset(item, 0, size);
        row(a, res, 0, item);
    }
    PQclear(res);
    return rc;
}

/* --- posts --------------------------------------------------------------- */

/* Revisions, corrections, byline, tags and narrations go with the post
 * (ON DELETE CASCADE in 001). */
int pg_post_delete(struct store *st, int64_t id)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, id);
    return pg_write1(st, NULL, "DELETE FROM posts WHERE id = $1::bigint", &p,
                     NULL, NULL, 0, 1, NULL, 1, "delete post");
}

int pg_picks_set(struct store *st, const int64_t *ids, size_t n)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};
    PGresult *res = NULL;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    rc = pg_exec_sql(c, "UPDATE posts SET pick_order = 0 WHERE pick_order <> 0",
                     &p, &res, "set picks");
    PQclear(res);
    for (size_t i = 0; i < n && rc == 0; i++) {
        pg_param_int(&p, 1, ids[i]);
        pg_param_int(&p, 2, (int64_t)i + 1);
        rc = pg_exec_sql(c,
                         "UPDATE posts SET pick_order = $2::integer "
                         "WHERE id = $1::bigint",
                         &p, &res, "set picks");
        if (rc == 0 && strcmp(PQcmdTuples(res), "0") == 0)
            rc = STORE_NOTFOUND;
        PQclear(res);
    }
    return pg_write_end(c, rc);
}

/* --- revisions ----------------------------------------------------------- */

#define REVISION_SELECT                                                        \
    "SELECT r.id, r.post_id, r.title, r.standfirst, r.markdown, "              \
    "r.author_id, s.name, r.created_at FROM post_revisions r "                 \
    "LEFT JOIN staff s ON s.id = r.author_id "

static void revision_row(struct arena *a, const PGresult *r, int i, void *item)
{
    struct store_revision *rv = item;

    rv->id = pg_col_int(r, i, 0);
    rv->post_id = pg_col_int(r, i, 1);
    rv->title = pg_col_text(a, r, i, 2);
    rv->standfirst = pg_col_text(a, r, i, 3);
    rv->markdown = pg_col_text(a, r, i, 4);
    rv->staff_id = pg_col_int(r, i, 5);
    rv->staff_name = pg_col_text(a, r, i, 6);
    rv->created_at = pg_col_int(r, i, 7);
}

/* The id a RETURNING id clause gives. */
static void id_row(struct arena *a, const PGresult *r, int i, void *item)
{
    (void)a;
    *(int64_t *)item = pg_col_int(r, i, 0);
}

int pg_revision_add(struct store *st, struct store_revision *r)
{
    int64_t at = r->created_at ? r->created_at : (int64_t)time(NULL);
    struct pg_params p = {0};
    int64_t id = 0;
    int rc;

    pg_param_int(&p, 1, r->post_id);
    pg_param_text_or(&p, 2, r->title, "");
    pg_param_text(&p, 3, r->standfirst);
    pg_param_text_or(&p, 4, r->markdown, "");
    pg_param_ref(&p, 5, r->staff_id);
    pg_param_int(&p, 6, at);
    rc = pg_write1(st, NULL,
                   "INSERT INTO post_revisions (post_id, title, standfirst, "
                   "markdown, author_id, created_at) "
                   "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                   &p, id_row, &id, sizeof id, 1, NULL, 1, "add revision");
    if (rc == 0) {
        r->id = id;
        r->created_at = at;
    }
    return rc;
}

int pg_revisions_list(struct store *st, struct arena *a, int64_t post_id,
                      struct store_revision **out, size_t *n)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, post_id);
    return pg_query_rows(
        st, a,
        REVISION_SELECT "WHERE r.post_id = $1::bigint "
                        "ORDER BY r.created_at DESC, r.id DESC",
        &p, sizeof **out, revision_row, (void **)out, n, "list revisions");
}

int pg_revision_get(struct store *st, struct arena *a, int64_t id,
                    struct store_revision *out)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, id);
    return pg_query_one(st, a, REVISION_SELECT "WHERE r.id = $1::bigint", &p,
                        sizeof *out, revision_row, out, "read revision");
}

/* --- sessions ------------------------------------------------------------ */

static void session_row(struct arena *a, const PGresult *r, int i, void *item)
{
    struct store_session *se = item;

    se->token_hash = pg_col_text(a, r, i, 0);
    se->staff_id = pg_col_int(r, i, 1);
    se->created_at = pg_col_int(r, i, 2);
    se->last_seen_at = pg_col_int(r, i, 3);
    se->expires_at = pg_col_int(r, i, 4);
}

int pg_session_add(struct store *st, const struct store_session *se)
{
    struct pg_params p = {0};

    pg_param_text(&p, 1, se->token_hash);
    pg_param_int(&p, 2, se->staff_id);
    pg_param_int(&p, 3, se->created_at);
    pg_param_int(&p, 4, se->last_seen_at);
    pg_param_int(&p, 5, se->expires_at);
    return pg_write1(st, NULL,
                     "INSERT INTO sessions (token_hash, staff_id, created_at, "
                     "last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                     &p, NULL, NULL, 0, 0, NULL, 0, "add session");
}

int pg_session_get(struct store *st, struct arena *a, const char *token_hash,
                   struct store_session *out)
{
    struct pg_params p = {0};

    if (!token_hash)
        return STORE_NOTFOUND;
    pg_param_text(&p, 1, token_hash);
    return pg_query_one(
        st, a,
        "SELECT token_hash, staff_id, created_at, last_seen_at, "
        "expires_at FROM sessions WHERE token_hash = $1::text",
        &p, sizeof *out, session_row, out, "read session");
}

int pg_session_touch(struct store *st, const char *token_hash,
                     int64_t last_seen_at)
{
    struct pg_params p = {0};

    pg_param_text(&p, 1, token_hash);
    pg_param_int(&p, 2, last_seen_at);
    return pg_write1(st, NULL,
                     "UPDATE sessions SET last_seen_at = $2::bigint "
                     "WHERE token_hash = $1::text",
                     &p, NULL, NULL, 0, 1, NULL, 0, "touch session");
}

int pg_session_delete(struct store *st, const char *token_hash)
{
    struct pg_params p = {0};

    pg_param_text(&p, 1, token_hash);
    return pg_write1(st, NULL,
                     "DELETE FROM sessions WHERE token_hash = $1::text", &p,
                     NULL, NULL, 0, 1, NULL, 0, "delete session");
}

int pg_sessions_delete_staff(struct store *st, int64_t staff_id, size_t *n)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, staff_id);
    return pg_write1(st, NULL,
                     "DELETE FROM sessions WHERE staff_id = $1::bigint", &p,
                     NULL, NULL, 0, 0, n, 0, "delete sessions");
}

int pg_sessions_prune(struct store *st, int64_t now, int64_t idle_before,
                      size_t *n)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, now);
    pg_param_int(&p, 2, idle_before);
    return pg_write1(st, NULL,
                     "DELETE FROM sessions WHERE expires_at <= $1::bigint "
                     "OR last_seen_at < $2::bigint",
                     &p, NULL, NULL, 0, 0, n, 0, "prune sessions");
}

/* --- rate limits --------------------------------------------------------- */

static void count_row(struct arena *a, const PGresult *r, int i, void *item)
{
    (void)a;
    *(unsigned *)item = (unsigned)pg_col_int(r, i, 0);
}

/* INSERT ... ON CONFLICT DO UPDATE locks the key's row, so concurrent hits
 * from any connection or process queue up and none is lost. In the
 * UPDATE both CASEs see the row's old window_start. */
int pg_rate_hit(struct store *st, const char *key, int64_t now,
                unsigned window_s, unsigned *count)
{
    struct pg_params p = {0};

    *count = 0;
    pg_param_text(&p, 1, key);
    pg_param_int(&p, 2, now);
    pg_param_int(&p, 3, window_s);
    return pg_write1(st, NULL,
                     "INSERT INTO rate_limits (key, window_start, count) "
                     "VALUES ($1::text, $2::bigint, 1) ON CONFLICT (key) DO "
                     "UPDATE SET count = CASE WHEN rate_limits.window_start <= "
                     "$2::bigint - $3::bigint THEN 1 "
                     "ELSE rate_limits.count + 1 END, "
                     "window_start = CASE WHEN rate_limits.window_start <= "
                     "$2::bigint - $3::bigint THEN $2::bigint "
                     "ELSE rate_limits.window_start END RETURNING count",
                     &p, count_row, count, sizeof *count, 1, NULL, 0,
                     "count a hit");
}

int pg_rate_peek(struct store *st, const char *key, int64_t now,
                 unsigned window_s, unsigned *count)
{
    struct pg_params p = {0};
    int rc;

    *count = 0;
    pg_param_text(&p, 1, key);
    pg_param_int(&p, 2, now);
    pg_param_int(&p, 3, window_s);
    rc =
        pg_query_one(st, NULL,
                     "SELECT CASE WHEN window_start <= $2::bigint - $3::bigint "
                     "THEN 0 ELSE count END FROM rate_limits "
                     "WHERE key = $1::text",
                     &p, sizeof *count, count_row, count, "read a rate limit");
    return rc == STORE_NOTFOUND ? 0 : rc;
}

int pg_rate_clear(struct store *st, const char *key)
{
    struct pg_params p = {0};

    pg_param_text(&p, 1, key);
    return pg_write1(st, NULL, "DELETE FROM rate_limits WHERE key = $1::text",
                     &p, NULL, NULL, 0, 0, NULL, 0, "clear a rate limit");
}

int pg_rate_prune(struct store *st, int64_t before, size_t *n)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, before);
    return pg_write1(st, NULL,
                     "DELETE FROM rate_limits WHERE window_start < $1::bigint",
                     &p, NULL, NULL, 0, 0, n, 0, "prune rate limits");
}

/* --- staff tokens -------------------------------------------------------- */

#define TOKEN_COLS "token_hash, staff_id, purpose, created_at, expires_at"

static void token_row(struct arena *a, const PGresult *r, int i, void *item)
{
    struct store_staff_token *t = item;

    t->token_hash = pg_col_text(a, r, i, 0);
    t->staff_id = pg_col_int(r, i, 1);
    t->purpose = pg_col_text(a, r, i, 2);
    t->created_at = pg_col_int(r, i, 3);
    t->expires_at = pg_col_int(r, i, 4);
}

int pg_staff_token_add(struct store *st, const struct store_staff_token *t)
{
    struct pg_params p = {0};

    pg_param_text(&p, 1, t->token_hash);
    pg_param_int(&p, 2, t->staff_id);
    pg_param_text(&p, 3, t->purpose);
    pg_param_int(&p, 4, t->created_at);
    pg_param_int(&p, 5, t->expires_at);
    return pg_write1(st, NULL,
                     "INSERT INTO staff_tokens (" TOKEN_COLS ") "
                     "VALUES ($1, $2, $3, $4, $5)",
                     &p, NULL, NULL, 0, 0, NULL, 0, "add staff token");
}

/* DELETE ... RETURNING: of two callers, the second waits for the first's
 * row lock, then finds the row gone. */
int pg_staff_token_take(struct store *st, struct arena *a,
                        const char *token_hash, struct store_staff_token *out)
{
    struct pg_params p = {0};

    if (!token_hash)
        return STORE_NOTFOUND;
    pg_param_text(&p, 1, token_hash);
    return pg_write1(st, a,
                     "DELETE FROM staff_tokens WHERE token_hash = $1::text "
                     "RETURNING " TOKEN_COLS,
                     &p, token_row, out, sizeof *out, 1, NULL, 0,
                     "take staff token");
}

int pg_staff_token_get(struct store *st, struct arena *a,
                       const char *token_hash, struct store_staff_token *out)
{
    struct pg_params p = {0};

    if (!token_hash)
        return STORE_NOTFOUND;
    pg_param_text(&p, 1, token_hash);
    return pg_query_one(st, a,
                        "SELECT " TOKEN_COLS " FROM staff_tokens "
                        "WHERE token_hash = $1::text",
                        &p, sizeof *out, token_row, out, "read staff token");
}

/* --- TOTP second factor (013) --------------------------------------------
 * staff has no newsroom_changed() trigger (schema_pg/009): unseen. */

static void totp_row(struct arena *a, const PGresult *r, int i, void *item)
{
    struct store_staff_totp *t = item;

    t->secret = pg_col_text(a, r, i, 0);
    t->last_step = pg_col_int(r, i, 1);
}

int pg_staff_totp_get(struct store *st, struct arena *a, int64_t staff_id,
                      struct store_staff_totp *out)
{
    struct pg_params p = {0};

    memset(out, 0, sizeof *out);
    pg_param_int(&p, 1, staff_id);
    return pg_query_one(st, a,
                        "SELECT totp_secret, totp_last_step FROM staff "
                        "WHERE id = $1::bigint",
                        &p, sizeof *out, totp_row, out, "read staff totp");
}

int pg_staff_totp_set(struct store *st, int64_t staff_id, const char *secret,
                      int64_t last_step)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, staff_id);
    pg_param_text(&p, 2, secret);
    pg_param_int(&p, 3, last_step);
    return pg_write1(st, NULL,
                     "UPDATE staff SET totp_secret = $2::text, "
                     "totp_last_step = $3::bigint WHERE id = $1::bigint",
                     &p, NULL, NULL, 0, 1, NULL, 0, "set staff totp");
}

int pg_staff_totp_use(struct store *st, int64_t staff_id, int64_t step)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, staff_id);
    pg_param_int(&p, 2, step);
    return pg_write1(st, NULL,
                     "UPDATE staff SET totp_last_step = $2::bigint "
                     "WHERE id = $1::bigint AND totp_secret IS NOT NULL "
                     "AND totp_last_step < $2::bigint",
                     &p, NULL, NULL, 0, 1, NULL, 0, "use staff totp");
}

/* --- audit log ----------------------------------------------------------- */

static void audit_row(struct arena *a, const PGresult *r, int i, void *item)
{
    struct store_audit *e = item;

    e->id = pg_col_int(r, i, 0);
    e->at = pg_col_int(r, i, 1);
    e->staff_id = pg_col_int(r, i, 2);
    e->actor = pg_col_text(a, r, i, 3);
    e->action = pg_col_text(a, r, i, 4);
    e->target = pg_col_text(a, r, i, 5);
    e->detail = pg_col_text(a, r, i, 6);
}

int pg_audit_add(struct store *st, struct store_audit *e)
{
    struct pg_params p = {0};
    int64_t id = 0;
    int rc;

    pg_param_int(&p, 1, e->at);
    pg_param_ref(&p, 2, e->staff_id);
    pg_param_text_or(&p, 3, e->actor, "");
    pg_param_text_or(&p, 4, e->action, "");
    pg_param_text_or(&p, 5, e->target, "");
    pg_param_text(&p, 6, e->detail);
    rc =
        pg_write1(st, NULL,
                  "INSERT INTO audit_log (at, staff_id, actor, action, target, "
                  "detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                  &p, id_row, &id, sizeof id, 1, NULL, 0, "add audit entry");
    if (rc == 0)
        e->id = id;
    return rc;
}

int pg_audit_list(struct store *st, struct arena *a, int64_t before_id,
                  size_t limit, struct store_audit **out, size_t *n)
{
    struct pg_params p = {0};

    /* one shape for both cases: a backward scan of the primary key */
    pg_param_int(&p, 1, before_id > 0 ? before_id : INT64_MAX);
    pg_param_int(&p, 2, limit == 0 ? AUDIT_LIMIT : pg_clamp64(limit));
    return pg_query_rows(
        st, a,
        "SELECT id, at, staff_id, actor, action, target, detail "
        "FROM audit_log WHERE id < $1::bigint "
        "ORDER BY id DESC LIMIT $2::bigint",
        &p, sizeof **out, audit_row, (void **)out, n, "list audit log");
}
