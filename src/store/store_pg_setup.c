/*
 * store_pg_setup.c - the PostgreSQL backend's set-up work: connecting,
 * applying the schema_pg/ migrations, and the listener thread that keeps
 * store_version() current (store_pg.h; the design is in store_pg.c).
 *
 * Listener: one connection per store LISTENs on the channel the tables'
 * triggers NOTIFY (schema_pg/001_init.sql). The thread sleeps in poll()
 * on that connection's socket and on a pipe that store_close() closes.
 * Each notification carries the pid of the server backend that sent it:
 * those from this store's own connections are skipped (store_pg.c counts
 * its commits as they return), every other one bumps s->others. A lost
 * connection clears s->listening (store_version() then changes on every
 * call) and is retried every RECONNECT_MS; once back, others is bumped
 * once for whatever was missed meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store_pg.h"

#define RECONNECT_MS 1000 /* listener: wait between reconnect attempts */
#define CHANNEL "newsroom_changes" /* NOTIFY channel of the triggers */
/* pg_advisory_lock(LOCK_NEWS, 1) guards migrations; (LOCK_NEWS, 2) is taken
 * by the live log trigger (schema_pg/002_live_events.sql). */
#define LOCK_NEWS "1852143475" /* "news" */

/* --- messages and connecting --------------------------------------------- */

const char *store_pg_one_line(char *buf, size_t len, const char *msg)
{
    size_t n = 0;

    for (const char *p = msg ? msg : ""; *p && n + 1 < len; p++) {
        int space = *p == '\n' || *p == '\t' || *p == '\r' || *p == ' ';
        if (space && (n == 0 || buf[n - 1] == ' '))
            continue;
        buf[n++] = space ? ' ' : *p;
    }
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
    return buf;
}

/* Silences the server's NOTICEs (they would go to stderr); debug log. */
static void on_notice(void *arg, const char *msg)
{
    char line[256];

    (void)arg;
    log_debug("postgresql: %s", store_pg_one_line(line, sizeof line, msg));
}

/* "postgresql://user@host:port/db" from url: no password, no query. */
char *store_pg_label(const char *url)
{
    const char *rest = strstr(url, "://");
    const char *at, *slash, *colon, *q;
    char *out;
    size_t n;

    out = malloc(strlen(url) + 1);
    if (!out)
        return NULL;
    rest = rest ? rest + 3 : url;
    slash = strchr(rest, '/');
    at = strchr(rest, '@');
    if (at && slash && at > slash)
        at = NULL;
    colon = at ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
    n = colon ? (size_t)(colon - url) : strlen(url);
    memcpy(out, url, n);
    if (colon) {
        memcpy(out + n, at, strlen(at));
        n += strlen(at);
    }
    out[n] = '\0';
    q = strchr(out, '?');
    if (q)
        out[q - out] = '\0';
    return out;
}

/* 1 if the connection string url carries a password itself. */
static int url_has_password(const char *url)
{
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    int has = 0;

    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            has = 1;
    PQconninfoFree(opts);
    return has;
}

PGconn *store_pg_connect(const char *url, const char *label, char *err,
                         size_t errlen)
{
    /* later keys override the URL's, earlier ones are overridden by it */
    static const char *const keys[] = {
        "connect_timeout", "fallback_application_name",
        "dbname",          "client_encoding",
        "password",        NULL};
    const char *vals[] = {"10", "newsroom", url, "UTF8", NULL, NULL};
    PGconn *pg;
    char line[512];

    /* NEWSROOM_DB_PASSWORD stands in for a password the URL leaves out
     * (libpq's own PGPASSWORD and ~/.pgpass work too, after it) */
    vals[4] = url_has_password(url) ? NULL : getenv("NEWSROOM_DB_PASSWORD");
    if (vals[4] && !*vals[4])
        vals[4] = NULL;
    pg = PQconnectdbParams(keys, vals, 1);
    if (!pg) {
        snprintf(err, errlen, "cannot connect to '%s': out of memory", label);
        return NULL;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to '%s': %s", label,
                 store_pg_one_line(line, sizeof line, PQerrorMessage(pg)));
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, on_notice, NULL);
    return pg;
}

/* --- the listener ------------------------------------------------------- */

/* 1 if pid is the backend of one of s's connections. */
static int own_pid(struct store_pg *s, int pid)
{
    int own = 0;

    pthread_mutex_lock(&s->mu);
    for (struct store_pg_conn *c = s->all; c && !own; c = c->next_all)
        own = c->pid == pid;
    pthread_mutex_unlock(&s->mu);
    return own;
}

/* Runs a constant command on pg (no parameters); 0 or -1 with err. */
static int simple(PGconn *pg, const char *sql, const char *what, char *err,
                  size_t errlen)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType est = PQresultStatus(res);
    char line[512];
    int rc = 0;

    if (!res || (est != PGRES_COMMAND_OK && est != PGRES_TUPLES_OK)) {
        snprintf(err, errlen, "cannot %s: %s", what,
                 store_pg_one_line(line, sizeof line,
                                   res ? PQresultErrorMessage(res)
                                       : PQerrorMessage(pg)));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* Makes pg LISTEN to the triggers' channel, non-blocking; 0 or -1 with
 * err. */
static int listen_on(PGconn *pg, char *err, size_t errlen)
{
    if (simple(pg, "LISTEN " CHANNEL, "listen for changes", err, errlen))
        return -1;
    if (PQsetnonblocking(pg, 1) != 0) {
        snprintf(err, errlen,
                 "cannot listen for changes: no non-blocking "
                 "mode");
        return -1;
    }
    return 0;
}

/* A new connection that LISTENs; NULL with err. */
static PGconn *listen_connect(struct store_pg *s, char *err, size_t errlen)
{
    PGconn *pg = store_pg_connect(s->url, s->label, err, errlen);

    if (pg && listen_on(pg, err, errlen) != 0) {
        PQfinish(pg);
        pg = NULL;
    }
    return pg;
}

/* Counts the notifications that arrived on s->listen. */
static void drain(struct store_pg *s)
{
    PGnotify *n;

    while ((n = PQnotifies(s->listen)) != NULL) {
        if (!own_pid(s, n->be_pid))
            atomic_fetch_add(&s->others, 1);
        PQfreemem(n);
    }
}

/* Waits up to ms for the stop pipe; 1 if the store is closing. */
static int stopping(struct store_pg *s, int ms)
{
    struct pollfd pfd = {.fd = s->stop[0], .events = POLLIN};

    return poll(&pfd, 1, ms) > 0;
}

/* The listener thread: counts other processes' commits until store_close
 * closes the stop pipe; reconnects when the connection drops. */
static void *listen_run(void *arg)
{
    struct store_pg *s = arg;
    char err[512], line[512];
    int warned = 0;

    for (;;) {
        if (!s->listen) {
            if (stopping(s, RECONNECT_MS))
                break;
            s->listen = listen_connect(s, err, sizeof err);
            if (!s->listen) {
                if (!warned)
                    log_warn("%s; retrying every %d ms", err, RECONNECT_MS);
                warned = 1;
                continue;
            }
            warned = 0;
            log_info("listening to '%s' again", s->label);
            atomic_store(&s->listening, 1);
            atomic_fetch_add(&s->others, 1); /* changes may have been missed */
        }
        struct pollfd pfd[2] = {
            {.fd = PQsocket(s->listen), .events = POLLIN},
            {.fd = s->stop[0], .events = POLLIN},
        };
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("cannot wait for changes: %s", strerror(errno));
            break;
        }
        if (pfd[1].revents)
            break;
        if (PQconsumeInput(s->listen) && PQstatus(s->listen) == CONNECTION_OK) {
            drain(s);
            continue;
        }
        log_warn(
            "lost the change notifications of '%s': %s", s->label,
            store_pg_one_line(line, sizeof line, PQerrorMessage(s->listen)));
        atomic_store(&s->listening, 0);
        PQfinish(s->listen);
        s->listen = NULL;
    }
    atomic_store(&s->listening, 0);
    return NULL;
}

int store_pg_listen(struct store_pg *s, char *err, size_t errlen)
{
    if (listen_on(s->listen, err, errlen) != 0)
        return -1;
    if (pipe2(s->stop, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot listen for changes: %s", strerror(errno));
        s->stop[0] = s->stop[1] = -1;
        return -1;
    }
    atomic_store(&s->listening, 1);
    if (pthread_create(&s->listener, NULL, listen_run, s) != 0) {
        atomic_store(&s->listening, 0);
        snprintf(err, errlen, "cannot listen for changes: no thread");
        return -1;
    }
    s->listener_started = 1;
    return 0;
}

void store_pg_unlisten(struct store_pg *s)
{
    if (s->listener_started) {
        close(s->stop[1]);
        s->stop[1] = -1;
        pthread_join(s->listener, NULL);
        s->listener_started = 0;
    }
    for (int i = 0; i < 2; i++) {
        if (s->stop[i] >= 0)
            close(s->stop[i]);
        s->stop[i] = -1;
    }
}

/* --- migrations --------------------------------------------------------- */

/* The newest migration recorded, or -1 with err. */
static int applied_version(PGconn *pg, char *err, size_t errlen)
{
    PGresult *res = PQexec(pg, "SELECT coalesce(max(version), 0) "
                               "FROM schema_migrations");
    char line[512];
    int v = -1;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        v = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    else
        snprintf(err, errlen, "cannot read schema version: %s",
                 store_pg_one_line(line, sizeof line, PQerrorMessage(pg)));
    PQclear(res);
    return v;
}

/* Applies migration m on pg in one transaction with its record. */
static int apply(PGconn *pg, const struct store_migration *m, char *err,
                 size_t errlen)
{
    char num[16], now[24], what[128];
    const char *vals[2] = {num, now};
    PGresult *res;
    int rc;

    snprintf(num, sizeof num, "%d", m->number);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    snprintf(what, sizeof what, "apply migration '%s'", m->name);
    if (simple(pg, "BEGIN", "begin migration", err, errlen) != 0)
        return -1;
    rc = simple(pg, m->sql, what, err, errlen);
    if (rc == 0) {
        res = PQexecParams(pg,
                           "INSERT INTO schema_migrations (version, "
                           "applied_at) VALUES ($1, $2)",
                           2, NULL, vals, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "cannot record migration '%s': %s", m->name,
                     store_pg_one_line(what, sizeof what, PQerrorMessage(pg)));
            rc = -1;
        }
        PQclear(res);
    }
    if (rc == 0)
        rc = simple(pg, "COMMIT", "commit migration", err, errlen);
    if (rc != 0)
        PQclear(PQexec(pg, "ROLLBACK"));
    return rc;
}

/* Applies every embedded schema_pg/ migration newer than the database,
 * in order, each in its own transaction, while holding an advisory lock:
 * a second process opening at once waits, then finds nothing to do. */
int store_pg_migrate(PGconn *pg, char *err, size_t errlen)
{
    struct store_migration m[STORE_MIGRATIONS_MAX];
    int n = store_migrations_in("schema_pg/", m, STORE_MIGRATIONS_MAX);
    int have, rc = -1;

    if (n < 0) {
        snprintf(err, errlen, "cannot read the embedded migrations");
        return -1;
    }
    if (simple(pg, "SELECT pg_advisory_lock(" LOCK_NEWS ", 1)",
               "lock migrations", err, errlen) != 0)
        return -1;
    if (simple(pg,
               "CREATE TABLE IF NOT EXISTS schema_migrations ("
               "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
               "create schema_migrations", err, errlen) != 0)
        goto out;
    have = applied_version(pg, err, errlen);
    if (have < 0)
        goto out;
    for (int i = 0; i < n; i++) {
        if (m[i].number <= have)
            continue;
        if (apply(pg, &m[i], err, errlen) != 0)
            goto out;
        log_info("applied migration '%s'", m[i].name);
        have = m[i].number;
    }
    if (n > 0 && have > m[n - 1].number)
        log_warn("database schema %d is newer than this program's %d", have,
                 m[n - 1].number);
    rc = 0;
out:
    PQclear(PQexec(pg, "SELECT pg_advisory_unlock(" LOCK_NEWS ", 1)"));
    return rc;
}
