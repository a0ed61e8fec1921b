/*
 * migrate.c - `newsroom migrate DIR --to postgresql://...`: moves a site's
 * database (normally its SQLite file) into PostgreSQL, so that several
 * nodes can serve the site (docs/scale-out.md).
 *
 * The copy itself is store_copy() (store.h): every table, ids kept, one
 * transaction on the target. This file adds the command line, the
 * progress display, the row-count check afterwards and the advice on what
 * to put in site.conf. Passwords are never printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "content/site.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "store/store.h"

#define BAR_WIDTH 30 /* characters of the progress bar */
#define URL_MAX 1024 /* longest target URL accepted */

static const char usage[] =
    "usage: newsroom migrate DIR --to postgresql://USER[:PASS]@HOST:PORT/DB "
    "[--force]\n"
    "\n"
    "Copies every table of the site's database (DIR/newsroom.db) into the\n"
    "PostgreSQL database of the URL, keeping ids, in one transaction; the\n"
    "schema is created there first. Then compares the row counts of every\n"
    "table and prints the 'database = ...' line to put in DIR/site.conf.\n"
    "Stop 'newsroom serve' on DIR first: later writes are not copied.\n"
    "\n"
    "  --to URL   the target database; it must exist (CREATE DATABASE) and\n"
    "             hold no rows yet. Leave the password out and set\n"
    "             NEWSROOM_DB_PASSWORD (or libpq's PGPASSWORD) instead\n"
    "  --force    empty the target first when it already has rows\n";

/* What the progress callback draws on. */
struct progress {
    int tty;           /* 1 = stderr is a terminal: redraw one line */
    const char *table; /* table of the line on screen, or NULL */
};

static void on_progress(void *ctx, const char *table, int64_t done,
                        int64_t total)
{
    struct progress *p = ctx;
    int fill = total > 0 ? (int)(done * BAR_WIDTH / total) : BAR_WIDTH;
    char bar[BAR_WIDTH + 1];
    int end = done >= total;

    if (!p->tty) {
        if (end)
            fprintf(stderr, "copied %s: %lld rows\n", table, (long long)done);
        return;
    }
    if (fill > BAR_WIDTH)
        fill = BAR_WIDTH;
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(BAR_WIDTH - fill));
    bar[BAR_WIDTH] = '\0';
    fprintf(stderr, "\r%-16s [%s] %lld/%lld%s", table, bar, (long long)done,
            (long long)total, end ? "\n" : "");
    p->table = end ? NULL : table;
}

/* url with the password of its user part left out, into out. Sets
 * *had_password when there was one. */
static void url_redact(const char *url, char *out, size_t outlen,
                       int *had_password)
{
    const char *rest = strstr(url, "://");
    const char *at, *slash, *colon;

    *had_password = 0;
    snprintf(out, outlen, "%s", url);
    if (!rest)
        return;
    rest += 3;
    slash = strchr(rest, '/');
    at = strchr(rest, '@');
    if (!at || (slash && at > slash))
        return;
    colon = memchr(rest, ':', (size_t)(at - rest));
    if (!colon)
        return;
    *had_password = 1;
    snprintf(out, outlen, "%.*s%s", (int)(colon - url), url, at);
}

/* Prints the per-table row counts of both stores; 0 when all agree. */
static int verify(struct store *from, struct store *to)
{
    int bad = 0;

    printf("%-16s %10s %10s\n", "table", "source", "target");
    for (size_t i = 0; store_table(i); i++) {
        const char *t = store_table(i);
        int64_t a = store_table_rows(from, t);
        int64_t b = store_table_rows(to, t);
        int ok = a >= 0 && a == b;
        printf("%-16s %10lld %10lld%s\n", t, (long long)a, (long long)b,
               ok ? "" : "  MISMATCH");
        bad |= !ok;
    }
    return bad ? -1 : 0;
}

int cli_migrate(int argc, char **argv)
{
    const char *dir = NULL, *to_url = NULL;
    char shown[URL_MAX], err[512];
    struct progress prog = {0};
    struct store *from = NULL, *to = NULL;
    struct config cfg;
    int force = 0, had_password, ret = 1, rc;

    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--to") == 0 && i + 1 < argc)
            to_url = argv[++i];
        else if (strcmp(a, "--force") == 0)
            force = 1;
        else if (a[0] == '-')
            return cli_usage_error("migrate: unknown or incomplete option "
                                   "'%.40s' (try 'newsroom migrate --help')",
                                   a);
        else if (!dir)
            dir = a;
        else
            return cli_usage_error("migrate: unexpected argument '%.40s'", a);
    }
    if (!dir)
        return cli_usage_error("migrate: missing DIR (try 'newsroom migrate "
                               "--help')");
    if (!to_url)
        return cli_usage_error("migrate: missing --to postgresql://...");
    if (strlen(to_url) >= URL_MAX)
        return cli_usage_error("migrate: --to URL too long");
    url_redact(to_url, shown, sizeof shown, &had_password);
    if (strncmp(to_url, "postgresql://", 13) != 0 &&
        strncmp(to_url, "postgres://", 11) != 0)
        return cli_usage_error("migrate: bad --to '%.200s': expected "
                               "postgresql://USER@HOST:PORT/DB",
                               shown);

    log_set_level(LOG_WARN);
    from = site_open(dir, &cfg, err, sizeof err);
    if (!from) {
        ret = cli_fail("migrate: %s", err);
        goto out;
    }
    if (strcmp(cfg.database, to_url) == 0) {
        ret = cli_fail("migrate: the site already uses '%s'", shown);
        goto out;
    }
    to = store_open(to_url, err, sizeof err);
    if (!to) {
        ret = cli_fail("migrate: %s", err);
        goto out;
    }
    prog.tty = isatty(STDERR_FILENO);
    rc = store_copy(from, to, force, on_progress, &prog);
    if (prog.tty && prog.table)
        fputs("\n", stderr);
    if (rc == STORE_CONFLICT) {
        ret = cli_fail("migrate: '%s' already holds data; use --force to "
                       "empty it first",
                       shown);
        goto out;
    }
    if (rc != 0) {
        ret = cli_fail("migrate: cannot copy into '%s'; it is left as it "
                       "was",
                       shown);
        goto out;
    }
    if (verify(from, to) != 0) {
        ret = cli_fail("migrate: row counts differ after the copy");
        goto out;
    }
    printf("\nDone. To serve the site from PostgreSQL, put this line in "
           "%s/site.conf:\n\n    database = %s\n\n",
           dir, shown);
    if (had_password)
        printf("and give the password through the environment rather than "
               "the file:\n\n    NEWSROOM_DB_PASSWORD=... newsroom serve "
               "%s\n\n(libpq's PGPASSWORD and ~/.pgpass work too.)\n",
               dir);
    ret = 0;
out:
    store_close(to);
    store_close(from);
    return ret;
}
