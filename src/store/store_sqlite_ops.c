/*
 * store_sqlite_ops.c - the SQLite backend's jobs queue, scheduled
 * publishing and the table-level access behind store_copy (listing
 * tables and columns, dumping, clearing and loading rows).
 *
 * Each operation has the contract of its store.h function. Connections,
 * statements and transactions come from store_sqlite.c (store_sqlite.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/store_sqlite.h"

/* --- jobs ---------------------------------------------------------------- */

/* Job statements are prepared per call (a worker polls a few times a
 * second), so they need no slot in enum store_sql_stmt. */

#define JOB_COLS "id, kind, payload, run_at, attempts, last_error"

/* Prepares sql on c, binding ?1 = i1, ?2 = i2 and ?3 = text where the
 * statement has them; NULL (logged). Free with sqlite3_finalize. */
static sqlite3_stmt *job_stmt(struct sq_conn *c, const char *sql, int64_t i1,
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
        sq_bind_int(s, 1, i1);
    if (np >= 2)
        sq_bind_int(s, 2, i2);
    if (np >= 3)
        sq_bind_text(s, 3, text);
    return s;
}

/* Runs one write statement in its own transaction; *changed gets the rows
 * it changed. When none changed, the transaction is rolled back (nothing
 * to commit, store_version() stays) and STORE_NOTFOUND returned. */
static int job_write(struct store *st, const char *sql, int64_t i1, int64_t i2,
                     const char *text, size_t *changed, const char *what)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = NULL;
    int rc;

    if (changed)
        *changed = 0;
    if (!c)
        return STORE_ERROR;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    s = job_stmt(c, sql, i1, i2, text);
    rc = s ? sq_step_all(c, s, what) : STORE_ERROR;
    if (rc == 0 && sqlite3_changes(c->db) == 0)
        rc = STORE_NOTFOUND;
    if (rc == 0 && changed)
        *changed = (size_t)sqlite3_changes(c->db);
    sqlite3_finalize(s);
    return sq_write_end(c, rc);
}

int sq_job_add(struct store *st, const char *kind, const char *payload,
               int64_t run_at, const char *unique_key, int64_t *id)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = NULL;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = sq_write_begin(c);
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
        sq_bind_text_or(s, 4, payload, "");
        sq_bind_text(s, 5, unique_key);
        rc = sq_step_all(c, s, "add job");
        if (rc == 0 && sqlite3_changes(c->db) == 0)
            rc = STORE_CONFLICT;
        if (rc == 0 && id)
            *id = sqlite3_last_insert_rowid(c->db);
    }
    sqlite3_finalize(s);
    return sq_write_end(c, rc);
}

int sq_job_claim(struct store *st, struct arena *a, const char *const *kinds,
                 size_t nkinds, int64_t now, unsigned lease_s,
                 struct store_job *out)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
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
        n += snprintf(sql + n, sizeof sql - (size_t)n, "%s?%zu", i ? ", " : "",
                      i + 3);
    snprintf(sql + n, sizeof sql - (size_t)n, ") ORDER BY run_at, id LIMIT 1");
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    s = job_stmt(c, sql, now, 0, NULL);
    if (!s) {
        rc = STORE_ERROR;
        goto out;
    }
    for (size_t i = 0; i < nkinds; i++)
        sq_bind_text(s, (int)i + 3, kinds[i]);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        rc = STORE_NOTFOUND;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        rc = sq_fail(c, "claim job");
        goto out;
    }
    memset(out, 0, sizeof *out);
    out->id = sq_col_int(s, 0);
    out->kind = sq_col_text(a, s, 1);
    out->payload = sq_col_text(a, s, 2);
    if (!out->payload)
        out->payload = "";
    out->run_at = sq_col_int(s, 3);
    out->attempts = (unsigned)sq_col_int(s, 4) + 1;
    out->last_error = sq_col_text(a, s, 5);
    out->lease_until = now + (int64_t)lease_s;
    sqlite3_finalize(s);
    s = job_stmt(c,
                 "UPDATE jobs SET state = 'running', "
                 "attempts = attempts + 1, lease_until = ?2 WHERE id = ?1",
                 out->id, out->lease_until, NULL);
    rc = s ? sq_step_all(c, s, "claim job") : STORE_ERROR;
out:
    sqlite3_finalize(s);
    return sq_write_end(c, rc);
}

int sq_job_extend(struct store *st, int64_t id, unsigned attempts,
                         int64_t lease_until)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = NULL;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    s = job_stmt(c,
                 "UPDATE jobs SET lease_until = ?2 WHERE id = ?1 "
                 "AND state = 'running' AND attempts = ?3",
                 id, lease_until, NULL);
    if (!s) {
        rc = STORE_ERROR;
    } else {
        sq_bind_int(s, 3, (int64_t)attempts);
        rc = sq_step_all(c, s, "renew job lease");
        if (rc == 0 && sqlite3_changes(c->db) == 0)
            rc = STORE_NOTFOUND;
    }
    sqlite3_finalize(s);
    return sq_write_end(c, rc);
}

int sq_job_done(struct store *st, int64_t id)
{
    return job_write(st,
                     "UPDATE jobs SET state = 'done', lease_until = 0, "
                     "finished_at = ?2 WHERE id = ?1",
                     id, (int64_t)time(NULL), NULL, NULL, "finish job");
}

int sq_job_retry(struct store *st, int64_t id, int64_t run_at,
                 const char *error)
{
    return job_write(st,
                     "UPDATE jobs SET state = 'queued', lease_until = 0, "
                     "run_at = ?2, last_error = ?3 WHERE id = ?1",
                     id, run_at, error, NULL, "retry job");
}

int sq_job_fail(struct store *st, int64_t id, const char *error)
{
    return job_write(st,
                     "UPDATE jobs SET state = 'failed', lease_until = 0, "
                     "finished_at = ?2, last_error = ?3 WHERE id = ?1",
                     id, (int64_t)time(NULL), error, NULL, "fail job");
}

int sq_jobs_count(struct store *st, const char *state, size_t *n)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s;
    int rc;

    *n = 0;
    if (!c)
        return STORE_ERROR;
    s = job_stmt(c, "SELECT count(*) FROM jobs WHERE state = ?3", 0, 0, state);
    if (!s)
        return STORE_ERROR;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *n = (size_t)sq_col_int(s, 0);
        rc = 0;
    } else {
        rc = sq_fail(c, "count jobs");
    }
    sqlite3_finalize(s);
    return rc;
}

int sq_jobs_prune(struct store *st, int64_t before, size_t *n)
{
    int rc = job_write(st,
                       "DELETE FROM jobs WHERE state IN ('done', 'failed') "
                       "AND finished_at < ?1",
                       before, 0, NULL, n, "prune jobs");

    return rc == STORE_NOTFOUND ? 0 : rc;
}

int sq_posts_publish_due(struct store *st, int64_t now, size_t *n)
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
static sqlite3_stmt *prepare_built(struct sq_conn *c, struct buf *b)
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
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *q = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    if (sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) != SQLITE_OK)
        return sq_fail(c, "read the catalog");
    if (arg)
        sq_bind_text(q, 1, arg);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        *out = sq_grow(a, *out, *n, &cap, sizeof **out);
        (*out)[(*n)++] = sq_col_text(a, q, 0);
    }
    rc = rc == SQLITE_DONE ? 0 : sq_fail(c, "read the catalog");
    sqlite3_finalize(q);
    return rc;
}

int sq_table_names(struct store *st, struct arena *a, const char ***out,
                   size_t *n)
{
    return names_query(st, a,
                       "SELECT name FROM sqlite_master WHERE type = 'table' "
                       "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                       "AND name <> 'schema_migrations' "
                       "AND name <> 'content_version' "
                       "AND name NOT LIKE 'post\\_search%' ESCAPE '\\' "
                       "ORDER BY name",
                       NULL, out, n);
}

int sq_table_columns(struct store *st, struct arena *a, const char *table,
                     const char ***out, size_t *n)
{
    return names_query(st, a,
                       "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
                       table, out, n);
}

/* Runs the statement in b (no parameters) on c. */
static int run_built(struct sq_conn *c, struct buf *b, const char *what)
{
    sqlite3_stmt *q = prepare_built(c, b);
    int rc;

    if (!q)
        return STORE_ERROR;
    rc = sq_step_all(c, q, what);
    sqlite3_finalize(q);
    return rc;
}

int64_t sq_table_rows(struct store *st, const char *table)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
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
        sq_fail(c, "count rows");
    sqlite3_finalize(q);
    buf_release(&b);
    return rows;
}

int sq_rows_dump(struct store *st, const char *table, const char *const *cols,
                 size_t ncols, store_row_fn fn, void *ctx)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
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
    rc = step == SQLITE_DONE ? 0 : sq_fail(c, "read rows to copy");
out:
    free(vals);
    sqlite3_finalize(q);
    buf_release(&b);
    return rc;
}

/* The thread's connection when it is inside store_tx_begin, else NULL
 * (logged): the copy's writes belong to one transaction. */
static struct sq_conn *copy_conn(struct store *st)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));

    if (c && !c->in_tx) {
        log_error("cannot copy rows outside a transaction");
        return NULL;
    }
    return c;
}

int sq_table_clear(struct store *st, const char *table)
{
    struct sq_conn *c = copy_conn(st);
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

int sq_row_load(struct store *st, const char *table, const char *const *cols,
                size_t ncols, const char *const *vals, int update)
{
    struct sq_conn *c = copy_conn(st);
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
        sq_bind_text(q, (int)i + 1, vals[i]);
    rc = sq_step_all(c, q, "copy a row");
    sqlite3_finalize(q);
    return rc;
}

/* SQLite picks max(rowid) + 1 itself, and AUTOINCREMENT's sqlite_sequence
 * follows explicit ids on insert. */
int sq_ids_reset(struct store *st, const char *table)
{
    (void)st;
    (void)table;
    return 0;
}

/* --- imports ------------------------------------------------------------ */

static void local_id_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    (void)a;
    *(int64_t *)item = sq_col_int(s, 0);
}

int sq_import_map_get(struct store *st, const char *source, const char *kind,
                      const char *source_id, int64_t *local_id)
{
    const struct sq_val v[] = {SQ_TXT(source), SQ_TXT(kind), SQ_TXT(source_id)};

    return sq_query_one(st, NULL,
                        "SELECT local_id FROM import_map WHERE source = ?1 "
                        "AND kind = ?2 AND source_id = ?3",
                        v, SQ_NVALS(v), sizeof *local_id, local_id_row,
                        local_id, "read import map");
}

int sq_import_map_put(struct store *st, const char *source, const char *kind,
                      const char *source_id, int64_t local_id)
{
    const struct sq_val v[] = {SQ_TXT(source), SQ_TXT(kind), SQ_TXT(source_id),
                               SQ_NUM(local_id)};

    return sq_write1(st, NULL,
                     "INSERT INTO import_map (source, kind, source_id, "
                     "local_id) VALUES (?1, ?2, ?3, ?4) "
                     "ON CONFLICT (source, kind, source_id) "
                     "DO UPDATE SET local_id = excluded.local_id",
                     v, SQ_NVALS(v), NULL, NULL, 0, 0, NULL, "save import map");
}

/* --- redirects ---------------------------------------------------------- */

static void target_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    *(const char **)item = sq_col_text(a, s, 0);
}

int sq_redirect_put(struct store *st, const char *path, const char *target)
{
    const struct sq_val v[] = {SQ_TXT(path), SQ_TXT(target)};

    return sq_write1(st, NULL,
                     "INSERT INTO redirects (path, target) VALUES (?1, ?2) "
                     "ON CONFLICT (path) DO UPDATE SET target = "
                     "excluded.target WHERE target <> excluded.target",
                     v, SQ_NVALS(v), NULL, NULL, 0, 0, NULL, "save redirect");
}

int sq_redirect_get(struct store *st, struct arena *a, const char *path,
                    const char **target)
{
    const struct sq_val v[] = {SQ_TXT(path)};

    return sq_query_one(st, a, "SELECT target FROM redirects WHERE path = ?1",
                        v, SQ_NVALS(v), sizeof *target, target_row, target,
                        "read redirect");
}

/* --- Content API keys (the key itself is kept: store.h) ----------------- */

static void api_key_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_api_key *k = item;

    k->id = sq_col_int(s, 0);
    k->name = sq_col_text(a, s, 1);
    k->secret = sq_col_text(a, s, 2);
    k->created_at = sq_col_int(s, 3);
}

int sq_api_key_add(struct store *st, struct store_api_key *k)
{
    const struct sq_val v[] = {SQ_TXT(k->name), SQ_TXT(k->secret),
                               SQ_NUM(k->created_at)};

    return sq_write1(st, NULL,
                     "INSERT INTO api_keys (name, content_key, created_at) "
                     "VALUES (?1, ?2, ?3) RETURNING id",
                     v, SQ_NVALS(v), local_id_row, &k->id, sizeof k->id, 0,
                     NULL, "add an API key");
}

int sq_api_key_find(struct store *st, struct arena *a, const char *secret,
                    struct store_api_key *out)
{
    const struct sq_val v[] = {SQ_TXT(secret)};

    return sq_query_one(st, a,
                        "SELECT id, name, content_key, created_at FROM "
                        "api_keys WHERE content_key = ?1",
                        v, SQ_NVALS(v), sizeof *out, api_key_row, out,
                        "read an API key");
}

int sq_api_keys_list(struct store *st, struct arena *a,
                     struct store_api_key **out, size_t *n)
{
    return sq_query_rows(st, a,
                         "SELECT id, name, content_key, created_at FROM "
                         "api_keys ORDER BY created_at, id",
                         NULL, 0, sizeof **out, api_key_row, (void **)out, n,
                         "list API keys");
}

int sq_api_key_delete(struct store *st, int64_t id)
{
    const struct sq_val v[] = {SQ_NUM(id)};

    return sq_write1(st, NULL, "DELETE FROM api_keys WHERE id = ?1", v,
                     SQ_NVALS(v), NULL, NULL, 0, 1, NULL, "delete an API key");
}
