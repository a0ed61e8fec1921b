/*
 * store_contract.h - what the store contract tests share (test_store.c,
 * test_store_ops.c, test_store_mail.c, test_store_data.c): fresh SQLite
 * and PostgreSQL databases, small builders and waits, and the runner
 * that gives each contract_* function an empty, freshly migrated store.
 *
 * Every contract_* function takes that store and the URL it was opened
 * with, and uses only the public API; each test binary runs its own on
 * SQLite, then on PostgreSQL. PostgreSQL: NEWSROOM_TEST_PG names a server
 * (tests/run.py starts one with scripts/pg.sh); each contract gets a
 * database of its own, created here and dropped at the end. Unset, the
 * PostgreSQL part is skipped, except under CI (CI set), where that is a
 * failure: CI tests both.
 *
 * Header-only (static inline): tests/unit/ builds one binary per file.
 */
#ifndef TESTS_STORE_CONTRACT_H
#define TESTS_STORE_CONTRACT_H

#include <ftw.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "core/arena.h"
#include "core/log.h"
#include "store/store.h"

static char tmpdir[] = "/tmp/newsroom-store-XXXXXX";
static int dbseq;

/* "sqlite:<tmpdir>/dbN.sqlite" for a new N. */
static inline int new_url(char *url, size_t len)
{
    snprintf(url, len, "sqlite:%s/db%d.sqlite", tmpdir, ++dbseq);
    return 0;
}

/* --- PostgreSQL test databases ------------------------------------------- */

#define PG_DBS_MAX 64

static const char *pg_base; /* NEWSROOM_TEST_PG, or NULL */
static PGconn *pg_admin;    /* connection to pg_base, creates databases */
static char pg_dbs[PG_DBS_MAX][64]; /* databases made, dropped at the end */
static int pg_ndbs;

/* pg_base with its database name replaced by db. */
static inline void pg_url_for(char *url, size_t len, const char *db)
{
    const char *host = strstr(pg_base, "://");
    const char *slash, *query;

    host = host ? host + 3 : pg_base;
    slash = strchr(host, '/');
    query = strchr(host, '?');
    if (slash && query && slash > query)
        slash = NULL;
    if (!slash)
        slash = query ? query : host + strlen(host);
    snprintf(url, len, "%.*s/%s%s", (int)(slash - pg_base), pg_base, db,
             query ? query : "");
}

/* A new empty database on the test server; its URL in url. */
static inline int pg_new_url(char *url, size_t len)
{
    char sql[128];
    PGresult *res;
    int ok;

    if (pg_ndbs == PG_DBS_MAX)
        return -1;
    snprintf(pg_dbs[pg_ndbs], sizeof pg_dbs[0], "newsroom_t%d_%d",
             (int)getpid(), ++dbseq);
    snprintf(sql, sizeof sql, "CREATE DATABASE %.63s", pg_dbs[pg_ndbs]);
    res = PQexec(pg_admin, sql);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        printf("# cannot create database: %s", PQerrorMessage(pg_admin));
    PQclear(res);
    if (!ok)
        return -1;
    pg_url_for(url, len, pg_dbs[pg_ndbs++]);
    return 0;
}

static inline void pg_drop_all(void)
{
    char sql[128];

    for (int i = 0; i < pg_ndbs; i++) {
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %.63s WITH (FORCE)",
                 pg_dbs[i]);
        PQclear(PQexec(pg_admin, sql));
    }
    PQfinish(pg_admin);
    pg_admin = NULL;
}

/* One integer answer of sql on the database at url, or -1. */
static inline long long pg_query_int(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    PGresult *res = PQexec(c, sql);
    long long v = -1;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(c);
    return v;
}

/* A store's version moves soon after a commit: at once for this handle's
 * own writes, a moment later for another handle's on PostgreSQL (NOTIFY
 * is delivered after the writer's COMMIT returns). Waits up to 5 s. */
static inline int version_moves(struct store *st, uint64_t v)
{
    for (int i = 0; i < 500; i++) {
        if (store_version(st) != v)
            return 1;
        usleep(10000);
    }
    return 0;
}

static inline struct store_post
mkpost(const char *slug, enum store_post_status status, int64_t at)
{
    struct store_post p;

    memset(&p, 0, sizeof p);
    p.slug = slug;
    p.title = slug;
    p.excerpt = "excerpt";
    p.markdown = "Body *text*";
    p.html = "<p>Body <em>text</em></p>";
    p.plaintext = "Body text";
    p.language = "en";
    p.status = status;
    p.published_at = at;
    return p;
}

/* "a,b,c" from the slugs of a post list. */
static inline const char *slugs(struct arena *a, const struct store_post *p,
                                size_t n)
{
    const char *s = "";
    for (size_t i = 0; i < n; i++)
        s = arena_printf(a, "%s%s%s", s, i ? "," : "", p[i].slug);
    return s;
}

static inline struct store_post_query published(void)
{
    struct store_post_query q;

    memset(&q, 0, sizeof q);
    q.status = STORE_POST_PUBLISHED;
    return q;
}

/* --- waits and the runner ------------------------------------------------ */

/* Whether st's version stays put for a moment (another handle's writes to
 * tables that do not show arrive within this on PostgreSQL, if at all). */
static inline int version_stays(struct store *st, uint64_t v)
{
    usleep(300000);
    return store_version(st) == v;
}

static inline int rm_entry(const char *path, const struct stat *sb, int flag,
                           struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* 1 once store_version(st) holds still for 200 ms; waits up to 5 s. */
static inline int version_settles(struct store *st)
{
    for (int i = 0; i < 25; i++) {
        uint64_t v = store_version(st);
        usleep(200000);
        if (store_version(st) == v)
            return 1;
    }
    return 0;
}

static inline void run_contract(const char *backend,
                                int (*new_db)(char *, size_t), const char *name,
                                void (*fn)(struct store *st, const char *url))
{
    char url[512], err[256];
    struct store *st;
    int failed = check_failed_count;

    if (new_db(url, sizeof url) != 0) {
        CHECK(0, "%s: %s: a fresh database is made", backend, name);
        return;
    }
    st = store_open(url, err, sizeof err);
    CHECK(st != NULL, "%s: %s: a fresh store opens (%s)", backend, name,
          st ? "ok" : err);
    if (!st)
        return;
    fn(st, url);
    store_close(st);
    CHECK(check_failed_count == failed, "%s: the %s contract holds", backend,
          name);
}

/* One contract: its name in the output, and the function. */
struct store_contract {
    const char *name;
    void (*fn)(struct store *st, const char *url);
};

/* Runs each of the n contracts on backend (a fresh database from
 * new_db for each). */
static inline void store_contracts_run(const char *backend,
                                       int (*new_db)(char *, size_t),
                                       const struct store_contract *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        run_contract(backend, new_db, c[i].name, c[i].fn);
}

/* Connects to the PostgreSQL test server (pg_admin): 1 when it answers;
 * 0 when NEWSROOM_TEST_PG is unset (a failed check under CI) or the
 * server does not answer (a failed check). */
static inline int store_contract_pg_connect(void)
{
    char line[512];

    pg_base = getenv("NEWSROOM_TEST_PG");
    if (!pg_base || !*pg_base) {
        if (getenv("CI"))
            CHECK(0, "postgresql: NEWSROOM_TEST_PG names a server (CI must "
                     "test both backends)");
        else
            printf("# postgresql contract skipped: NEWSROOM_TEST_PG unset "
                   "(tests/run.py sets it)\n");
        return 0;
    }
    pg_admin = PQconnectdb(pg_base);
    if (PQstatus(pg_admin) != CONNECTION_OK) {
        snprintf(line, sizeof line, "%s", PQerrorMessage(pg_admin));
        line[strcspn(line, "\n")] = '\0';
        CHECK(0, "postgresql: the test server answers (%s)", line);
        PQfinish(pg_admin);
        pg_admin = NULL;
        return 0;
    }
    return 1;
}

/* The whole run of a binary whose contracts are c: SQLite, then
 * PostgreSQL when there is one, then the temporary files go. The exit
 * status for main. */
static inline int store_contracts_main(const struct store_contract *c, size_t n)
{
    log_set_level(LOG_WARN);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    store_contracts_run("sqlite", new_url, c, n);
    if (store_contract_pg_connect()) {
        store_contracts_run("postgresql", pg_new_url, c, n);
        pg_drop_all();
    }
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return check_done();
}

#endif
