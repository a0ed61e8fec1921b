/*
 * store_pg_ops.c - the PostgreSQL backend's jobs queue, scheduled
 * publishing and the table-level access behind store_copy (listing
 * tables and columns, dumping, clearing and loading rows, resetting
 * identity sequences).
 *
 * Each operation has the contract of its store.h function. Connections,
 * statements and transactions come from store_pg.c (store_pg.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/store_pg.h"

/* --- jobs ---------------------------------------------------------------- */

/* Job statements are sent unprepared (PQexecParams, types inferred): a
 * worker polls a few times a second, so they need no statement slot. */

#define JOB_COLS "id, kind, payload, run_at, attempts, last_error"

/* Runs one write statement with p in its own transaction; *changed gets
 * the rows it changed. When none changed, the transaction is rolled back
 * and STORE_NOTFOUND returned. The job queue is bookkeeping: its writes
 * never move store_version() (schema_pg/009). */
static int job_write(struct store *st, const char *sql,
                     const struct pg_params *p, size_t *changed,
                     const char *what)
{
    return pg_write1(st, NULL, sql, p, NULL, NULL, 0, 1, changed, 0, what);
}

int pg_job_add(struct store *st, const char *kind, const char *payload,
               int64_t run_at, const char *unique_key, int64_t *id)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};
    PGresult *res = NULL;
    int rc;

    if (!c)
        return STORE_ERROR;
    pg_param_text(&p, 1, kind);
    pg_param_text_or(&p, 2, payload, "");
    pg_param_int(&p, 3, run_at);
    pg_param_text(&p, 4, unique_key);
    pg_param_int(&p, 5, (int64_t)time(NULL));
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    rc = pg_exec_sql(c,
                     "INSERT INTO jobs (kind, payload, run_at, unique_key, "
                     "created_at) VALUES ($1, $2, $3, $4, $5) "
                     "ON CONFLICT (kind, unique_key) "
                     "WHERE state IN ('queued', 'running') DO NOTHING "
                     "RETURNING id",
                     &p, &res, "add job");
    if (rc == 0 && PQntuples(res) == 0)
        rc = STORE_CONFLICT;
    if (rc == 0 && id)
        *id = pg_col_int(res, 0, 0);
    PQclear(res);
    return pg_write_end_unseen(c, rc);
}

int pg_job_claim(struct store *st, struct arena *a, const char *const *kinds,
                 size_t nkinds, int64_t now, unsigned lease_s,
                 struct store_job *out)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    char sql[512 + 8 * STORE_JOB_KINDS_MAX];
    struct pg_params p = {0};
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
        n += snprintf(sql + n, sizeof sql - (size_t)n, "%s$%zu", i ? ", " : "",
                      i + 2);
    snprintf(sql + n, sizeof sql - (size_t)n,
             ") ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED");
    pg_param_int(&p, 1, now);
    for (size_t i = 0; i < nkinds; i++)
        pg_param_text(&p, (int)i + 2, kinds[i]);
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    rc = pg_exec_sql(c, sql, &p, &res, "claim job");
    if (rc != 0)
        goto out;
    if (PQntuples(res) == 0) {
        rc = STORE_NOTFOUND;
        goto out;
    }
    memset(out, 0, sizeof *out);
    out->id = pg_col_int(res, 0, 0);
    out->kind = pg_col_text(a, res, 0, 1);
    out->payload = pg_col_text(a, res, 0, 2);
    if (!out->payload)
        out->payload = "";
    out->run_at = pg_col_int(res, 0, 3);
    out->attempts = (unsigned)pg_col_int(res, 0, 4) + 1;
    out->last_error = pg_col_text(a, res, 0, 5);
    out->lease_until = now + (int64_t)lease_s;
    PQclear(res);
    res = NULL;
    memset(&p, 0, sizeof p);
    pg_param_int(&p, 1, out->id);
    pg_param_int(&p, 2, out->lease_until);
    rc = pg_exec_sql(c,
                     "UPDATE jobs SET state = 'running', "
                     "attempts = attempts + 1, lease_until = $2 WHERE id = $1",
                     &p, &res, "claim job");
out:
    PQclear(res);
    return pg_write_end_unseen(c, rc);
}

int pg_job_extend(struct store *st, int64_t id, unsigned attempts,
                  int64_t lease_until)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, id);
    pg_param_int(&p, 2, lease_until);
    pg_param_int(&p, 3, (int64_t)attempts);
    return job_write(st,
                     "UPDATE jobs SET lease_until = $2 WHERE id = $1 "
                     "AND state = 'running' AND attempts = $3",
                     &p, NULL, "renew job lease");
}

int pg_job_done(struct store *st, int64_t id)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, id);
    pg_param_int(&p, 2, (int64_t)time(NULL));
    return job_write(st,
                     "UPDATE jobs SET state = 'done', lease_until = 0, "
                     "finished_at = $2 WHERE id = $1",
                     &p, NULL, "finish job");
}

int pg_job_retry(struct store *st, int64_t id, int64_t run_at,
                 const char *error)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, id);
    pg_param_int(&p, 2, run_at);
    pg_param_text(&p, 3, error);
    return job_write(st,
                     "UPDATE jobs SET state = 'queued', lease_until = 0, "
                     "run_at = $2, last_error = $3 WHERE id = $1",
                     &p, NULL, "retry job");
}

int pg_job_fail(struct store *st, int64_t id, const char *error)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, id);
    pg_param_int(&p, 2, (int64_t)time(NULL));
    pg_param_text(&p, 3, error);
    return job_write(st,
                     "UPDATE jobs SET state = 'failed', lease_until = 0, "
                     "finished_at = $2, last_error = $3 WHERE id = $1",
                     &p, NULL, "fail job");
}

int pg_jobs_count(struct store *st, const char *state, size_t *n)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};
    PGresult *res = NULL;
    int rc;

    *n = 0;
    if (!c)
        return STORE_ERROR;
    pg_param_text(&p, 1, state);
    rc = pg_exec_sql(c, "SELECT count(*) FROM jobs WHERE state = $1", &p, &res,
                     "count jobs");
    if (rc == 0 && PQntuples(res) == 1)
        *n = (size_t)pg_col_int(res, 0, 0);
    PQclear(res);
    return rc;
}

int pg_jobs_prune(struct store *st, int64_t before, size_t *n)
{
    struct pg_params p = {0};
    int rc;

    pg_param_int(&p, 1, before);
    rc = job_write(st,
                   "DELETE FROM jobs WHERE state IN ('done', 'failed') "
                   "AND finished_at < $1",
                   &p, n, "prune jobs");
    return rc == STORE_NOTFOUND ? 0 : rc;
}

int pg_posts_publish_due(struct store *st, int64_t now, size_t *n)
{
    struct pg_params p = {0};
    int rc;

    pg_param_int(&p, 1, now);
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
 * in *out (caller PQclear()s, may pass NULL), else a pg_fail() code. */
static int exec_text(struct store_pg_conn *c, const char *sql, int n,
                     const char *const *vals, PGresult **out, const char *what)
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
    rc = pg_fail(c, res, what);
    PQclear(res);
    return rc;
}

/* Runs the statement built in b; as exec_text. */
static int exec_built(struct store_pg_conn *c, struct buf *b, int n,
                      const char *const *vals, PGresult **out, const char *what)
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
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
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
        (*out)[i] = pg_col_text(a, res, i, 0);
    *n = (size_t)rows;
    PQclear(res);
    return 0;
}

int pg_table_names(struct store *st, struct arena *a, const char ***out,
                   size_t *n)
{
    return names_query(st, a,
                       "SELECT table_name::text FROM information_schema.tables "
                       "WHERE table_schema = current_schema() "
                       "AND table_type = 'BASE TABLE' "
                       "AND table_name <> 'schema_migrations' "
                       "AND table_name <> 'post_search' "
                       "ORDER BY table_name::text COLLATE \"C\"",
                       NULL, out, n);
}

int pg_table_columns(struct store *st, struct arena *a, const char *table,
                     const char ***out, size_t *n)
{
    return names_query(st, a,
                       "SELECT column_name::text "
                       "FROM information_schema.columns "
                       "WHERE table_schema = current_schema() "
                       "AND table_name = $1 ORDER BY ordinal_position",
                       table, out, n);
}

int64_t pg_table_rows(struct store *st, const char *table)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    PGresult *res;
    struct buf b;
    int64_t rows = -1;

    if (!c)
        return -1;
    buf_init(&b, COPY_SQL_BYTES);
    buf_adds(&b, "SELECT count(*) FROM ");
    add_ident(&b, table);
    if (exec_built(c, &b, 0, NULL, &res, "count rows") == 0) {
        rows = pg_col_int(res, 0, 0);
        PQclear(res);
    }
    buf_release(&b);
    return rows;
}

/* Reads the whole table in one result: copies come from SQLite in
 * practice, and a PostgreSQL source this big would want pg_dump. */
int pg_rows_dump(struct store *st, const char *table, const char *const *cols,
                 size_t ncols, store_row_fn fn, void *ctx)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
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
            vals[i] =
                PQgetisnull(res, r, (int)i) ? NULL : PQgetvalue(res, r, (int)i);
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
    struct store_pg_conn *c = pg_conn_get(pg_of(st));

    if (c && !c->in_tx) {
        log_error("cannot copy rows outside a transaction");
        return NULL;
    }
    return c;
}

int pg_table_clear(struct store *st, const char *table)
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
int pg_row_load(struct store *st, const char *table, const char *const *cols,
                size_t ncols, const char *const *vals, int update)
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

int pg_ids_reset(struct store *st, const char *table)
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

/* --- imports ------------------------------------------------------------ */

static void local_id_row(struct arena *a, const PGresult *r, int row,
                         void *item)
{
    (void)a;
    *(int64_t *)item = pg_col_int(r, row, 0);
}

int pg_import_map_get(struct store *st, const char *source, const char *kind,
                      const char *source_id, int64_t *local_id)
{
    struct pg_params p = {0};

    pg_param_text(&p, 1, source);
    pg_param_text(&p, 2, kind);
    pg_param_text(&p, 3, source_id);
    return pg_query_one(st, NULL,
                        "SELECT local_id FROM import_map WHERE source = $1 "
                        "AND kind = $2 AND source_id = $3",
                        &p, sizeof *local_id, local_id_row, local_id,
                        "read import map");
}

int pg_import_map_put(struct store *st, const char *source, const char *kind,
                      const char *source_id, int64_t local_id)
{
    struct pg_params p = {0};

    pg_param_text(&p, 1, source);
    pg_param_text(&p, 2, kind);
    pg_param_text(&p, 3, source_id);
    pg_param_int(&p, 4, local_id);
    /* bookkeeping: the import_map table has no newsroom_changed trigger */
    return pg_write1(st, NULL,
                     "INSERT INTO import_map (source, kind, source_id, "
                     "local_id) VALUES ($1, $2, $3, $4) "
                     "ON CONFLICT (source, kind, source_id) "
                     "DO UPDATE SET local_id = excluded.local_id",
                     &p, NULL, NULL, 0, 0, NULL, 0, "save import map");
}

/* --- redirects ---------------------------------------------------------- */

static void target_row(struct arena *a, const PGresult *r, int row, void *item)
{
    *(const char **)item = pg_col_text(a, r, row, 0);
}

int pg_redirect_put(struct store *st, const char *path, const char *target)
{
    struct pg_params p = {0};

    pg_param_text(&p, 1, path);
    pg_param_text(&p, 2, target);
    return pg_write1(st, NULL,
                     "INSERT INTO redirects (path, target) VALUES ($1, $2) "
                     "ON CONFLICT (path) DO UPDATE SET target = "
                     "excluded.target WHERE redirects.target <> "
                     "excluded.target",
                     &p, NULL, NULL, 0, 0, NULL, 1, "save redirect");
}

int pg_redirect_get(struct store *st, struct arena *a, const char *path,
                    const char **target)
{
    struct pg_params p = {0};

    pg_param_text(&p, 1, path);
    return pg_query_one(st, a, "SELECT target FROM redirects WHERE path = $1",
                        &p, sizeof *target, target_row, target,
                        "read redirect");
}

/* --- Content API keys (the key itself is kept: store.h) ----------------- */

static void api_key_row(struct arena *a, const PGresult *r, int row, void *item)
{
    struct store_api_key *k = item;

    k->id = pg_col_int(r, row, 0);
    k->name = pg_col_text(a, r, row, 1);
    k->secret = pg_col_text(a, r, row, 2);
    k->created_at = pg_col_int(r, row, 3);
}

int pg_api_key_add(struct store *st, struct store_api_key *k)
{
    struct pg_params p = {0};

    pg_param_text(&p, 1, k->name);
    pg_param_text(&p, 2, k->secret);
    pg_param_int(&p, 3, k->created_at);
    /* bookkeeping: api_keys has no newsroom_changed trigger (009) */
    return pg_write1(st, NULL,
                     "INSERT INTO api_keys (name, content_key, created_at) "
                     "VALUES ($1, $2, $3) RETURNING id",
                     &p, local_id_row, &k->id, sizeof k->id, 0, NULL, 0,
                     "add an API key");
}

int pg_api_key_find(struct store *st, struct arena *a, const char *secret,
                    struct store_api_key *out)
{
    struct pg_params p = {0};

    pg_param_text(&p, 1, secret);
    return pg_query_one(st, a,
                        "SELECT id, name, content_key, created_at FROM "
                        "api_keys WHERE content_key = $1",
                        &p, sizeof *out, api_key_row, out, "read an API key");
}

int pg_api_keys_list(struct store *st, struct arena *a,
                     struct store_api_key **out, size_t *n)
{
    struct pg_params p = {0};

    return pg_query_rows(st, a,
                         "SELECT id, name, content_key, created_at FROM "
                         "api_keys ORDER BY created_at, id",
                         &p, sizeof **out, api_key_row, (void **)out, n,
                         "list API keys");
}

int pg_api_key_delete(struct store *st, int64_t id)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, id);
    return pg_write1(st, NULL, "DELETE FROM api_keys WHERE id = $1", &p, NULL,
                     NULL, 0, 1, NULL, 0, "delete an API key");
}
