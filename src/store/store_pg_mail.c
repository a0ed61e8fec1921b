/*
 * store_pg_mail.c - the PostgreSQL backend's operations for newsletters
 * going out: settings made once, newsletter reads, subscribers and their
 * subscriptions, sends and the mail outbox (schema_pg/005_mail.sql).
 *
 * Each operation has the contract of its store.h function. Statements are
 * sent unprepared (pg_exec_sql, pg_write1, pg_query_*), as the desk's are:
 * none is on a public page's path. subscribers, subscriptions, sends and
 * mail_outbox have no newsroom_changed() trigger (schema_pg/005), so their
 * writes end with pg_write_end_unseen and leave store_version() alone;
 * settings keeps its trigger. Upserts rely on READ COMMITTED: after an
 * INSERT ... ON CONFLICT DO NOTHING has waited for a racing insert, the
 * next statement's snapshot sees that row. Outbox claims lock their rows
 * FOR UPDATE SKIP LOCKED, so workers on any node take disjoint rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "store/store_pg.h"

/* --- rows ---------------------------------------------------------------- */

static void text_row(struct arena *a, const PGresult *r, int i, void *item)
{
    *(const char **)item = pg_col_text(a, r, i, 0);
}

static void id_row(struct arena *a, const PGresult *r, int i, void *item)
{
    (void)a;
    *(int64_t *)item = pg_col_int(r, i, 0);
}

static void size_row(struct arena *a, const PGresult *r, int i, void *item)
{
    int64_t v = pg_col_int(r, i, 0);

    (void)a;
    *(size_t *)item = v > 0 ? (size_t)v : 0;
}

/* A (key, count) pair of a GROUP BY: state text or day number. */
struct group {
    const char *key; /* the key as text */
    int64_t num;     /* the key as an integer (0 for text) */
    size_t n;        /* rows */
};

static void group_row(struct arena *a, const PGresult *r, int i, void *item)
{
    struct group *g = item;
    int64_t v = pg_col_int(r, i, 1);

    g->key = pg_col_text(a, r, i, 0);
    g->num = pg_col_int(r, i, 0);
    g->n = v > 0 ? (size_t)v : 0;
}

static void newsletter_row(struct arena *a, const PGresult *r, int i,
                           void *item)
{
    struct store_newsletter *nl = item;

    nl->id = pg_col_int(r, i, 0);
    nl->slug = pg_col_text(a, r, i, 1);
    nl->name = pg_col_text(a, r, i, 2);
    nl->description = pg_col_text(a, r, i, 3);
    nl->sender_name = pg_col_text(a, r, i, 4);
    nl->sender_email = pg_col_text(a, r, i, 5);
    nl->author_id = pg_col_int(r, i, 6);
    nl->active = pg_col_int(r, i, 7) != 0;
    nl->position = (unsigned)pg_col_int(r, i, 8);
}

static void subscriber_row(struct arena *a, const PGresult *r, int i,
                           void *item)
{
    struct store_subscriber *sb = item;

    sb->id = pg_col_int(r, i, 0);
    sb->email = pg_col_text(a, r, i, 1);
    sb->created_at = pg_col_int(r, i, 2);
}

/* SUB_COLS (store_sql.h). */
static void sub_row(struct arena *a, const PGresult *r, int i, void *item)
{
    struct store_subscription *sub = item;
    int state = store_sql_sub_state_parse(PQgetvalue(r, i, 3));

    sub->id = pg_col_int(r, i, 0);
    sub->subscriber_id = pg_col_int(r, i, 1);
    sub->newsletter_id = pg_col_int(r, i, 2);
    sub->state = state < 0 ? STORE_SUB_PENDING : (enum store_sub_state)state;
    sub->token = pg_col_text(a, r, i, 4);
    sub->created_at = pg_col_int(r, i, 5);
    sub->confirmed_at = pg_col_int(r, i, 6);
    sub->email = pg_col_text(a, r, i, 7);
    sub->newsletter_slug = pg_col_text(a, r, i, 8);
}

/* SEND_COLS (store_sql.h). */
static void send_row(struct arena *a, const PGresult *r, int i, void *item)
{
    struct store_send *sd = item;
    int64_t total = pg_col_int(r, i, 7);

    sd->id = pg_col_int(r, i, 0);
    sd->newsletter_id = pg_col_int(r, i, 1);
    sd->post_id = pg_col_int(r, i, 2);
    sd->digest = (unsigned)pg_col_int(r, i, 3);
    sd->subject = pg_col_text(a, r, i, 4);
    sd->created_by = pg_col_int(r, i, 5);
    sd->created_at = pg_col_int(r, i, 6);
    sd->total = total > 0 ? (size_t)total : 0;
}

static void outbox_row(struct arena *a, const PGresult *r, int i, void *item)
{
    struct store_outbox *o = item;

    o->id = pg_col_int(r, i, 0);
    o->send_id = pg_col_text(a, r, i, 1);
    o->subscriber_id = pg_col_int(r, i, 2);
    o->email = pg_col_text(a, r, i, 3);
    o->attempts = (unsigned)pg_col_int(r, i, 4);
}

/* Runs sql on c inside the caller's write transaction, into item (with
 * row) or for its effect; *changed (may be NULL) gets the rows changed. */
static int exec_on(struct store_pg_conn *c, struct arena *a, const char *sql,
                   const struct pg_params *p, pg_row_fn row, void *item,
                   size_t size, size_t *changed, const char *what)
{
    PGresult *res = NULL;
    int rc = pg_exec_sql(c, sql, p, &res, what);

    if (rc == 0 && changed)
        *changed = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
    if (rc == 0 && row && PQntuples(res) == 0)
        rc = STORE_NOTFOUND;
    if (rc == 0 && row) {
        memset(item, 0, size);
        row(a, res, 0, item);
    }
    PQclear(res);
    return rc;
}

/* --- settings ------------------------------------------------------------ */

/* A read first, so a key already set costs no write (and no NOTIFY: the
 * settings trigger fires for a statement that changes nothing too). */
int pg_setting_init(struct store *st, struct arena *a, const char *key,
                    const char *value, const char **out)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0}, k = {0};
    int rc;

    *out = NULL;
    if (!c)
        return STORE_ERROR;
    if (!key || !value) {
        log_error("cannot set up setting: no key or value");
        return STORE_ERROR;
    }
    pg_param_text(&k, 1, key);
    pg_param_text(&p, 1, key);
    pg_param_text(&p, 2, value);
    rc = pg_query_one(st, a, "SELECT value FROM settings WHERE key = $1::text",
                      &k, sizeof *out, text_row, out, "read setting");
    if (rc != STORE_NOTFOUND)
        return rc;
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    rc = exec_on(c, NULL,
                 "INSERT INTO settings (key, value) "
                 "VALUES ($1::text, $2::text) ON CONFLICT (key) DO NOTHING",
                 &p, NULL, NULL, 0, NULL, "set up setting");
    if (rc == 0)
        rc = exec_on(c, a, "SELECT value FROM settings WHERE key = $1::text",
                     &k, text_row, out, sizeof *out, NULL, "set up setting");
    return pg_write_end(c, rc);
}

/* --- newsletters --------------------------------------------------------- */

int pg_newsletter_get(struct store *st, struct arena *a, int64_t id,
                      struct store_newsletter *out)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, id);
    return pg_query_one(st, a,
                        "SELECT " NEWSLETTER_COLS " FROM newsletters "
                        "WHERE id = $1::bigint",
                        &p, sizeof *out, newsletter_row, out,
                        "read newsletter");
}

int pg_newsletter_get_by_slug(struct store *st, struct arena *a,
                              const char *slug, struct store_newsletter *out)
{
    struct pg_params p = {0};

    if (!slug)
        return STORE_NOTFOUND;
    pg_param_text(&p, 1, slug);
    return pg_query_one(st, a,
                        "SELECT " NEWSLETTER_COLS " FROM newsletters "
                        "WHERE slug = $1::text",
                        &p, sizeof *out, newsletter_row, out,
                        "read newsletter");
}

/* --- subscribers --------------------------------------------------------- */

int pg_subscriber_upsert(struct store *st, const char *email, int64_t now,
                         int64_t *id)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0}, e = {0};
    int rc;

    *id = 0;
    if (!c)
        return STORE_ERROR;
    if (!email) {
        log_error("cannot add subscriber: no email");
        return STORE_ERROR;
    }
    pg_param_text(&e, 1, email);
    pg_param_text(&p, 1, email);
    pg_param_int(&p, 2, now);
    rc = pg_query_one(st, NULL,
                      "SELECT id FROM subscribers WHERE email = $1::text", &e,
                      sizeof *id, id_row, id, "read subscriber");
    if (rc != STORE_NOTFOUND)
        return rc;
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    rc = exec_on(c, NULL,
                 "INSERT INTO subscribers (email, created_at) "
                 "VALUES ($1::text, $2::bigint) "
                 "ON CONFLICT (email) DO NOTHING",
                 &p, NULL, NULL, 0, NULL, "add subscriber");
    if (rc == 0)
        rc = exec_on(c, NULL,
                     "SELECT id FROM subscribers WHERE email = $1::text", &e,
                     id_row, id, sizeof *id, NULL, "add subscriber");
    return pg_write_end_unseen(c, rc);
}

int pg_subscriber_get(struct store *st, struct arena *a, int64_t id,
                      struct store_subscriber *out)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, id);
    return pg_query_one(st, a,
                        "SELECT id, email, created_at FROM subscribers "
                        "WHERE id = $1::bigint",
                        &p, sizeof *out, subscriber_row, out,
                        "read subscriber");
}

int pg_subscriber_get_by_email(struct store *st, struct arena *a,
                               const char *email, struct store_subscriber *out)
{
    struct pg_params p = {0};

    if (!email)
        return STORE_NOTFOUND;
    pg_param_text(&p, 1, email);
    return pg_query_one(st, a,
                        "SELECT id, email, created_at FROM subscribers "
                        "WHERE email = $1::text",
                        &p, sizeof *out, subscriber_row, out,
                        "read subscriber");
}

/* --- subscriptions ------------------------------------------------------- */

#define SUB_PAIR                                                               \
    "WHERE s.subscriber_id = $1::bigint AND s.newsletter_id = $2::bigint"

/* One upsert: the DO UPDATE's WHERE leaves pending and active rows be. */
int pg_subscription_request(struct store *st, struct arena *a,
                            int64_t subscriber_id, int64_t newsletter_id,
                            int64_t now, const char *token,
                            struct store_subscription *out)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0}, k = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (!c)
        return STORE_ERROR;
    pg_param_int(&k, 1, subscriber_id);
    pg_param_int(&k, 2, newsletter_id);
    p = k;
    pg_param_int(&p, 3, now);
    pg_param_text(&p, 4, token);
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    rc = exec_on(c, NULL,
                 "INSERT INTO subscriptions (subscriber_id, newsletter_id, "
                 "state, token, created_at, confirmed_at) "
                 "VALUES ($1::bigint, $2::bigint, 'pending', $4::text, "
                 "$3::bigint, 0) "
                 "ON CONFLICT (subscriber_id, newsletter_id) DO UPDATE "
                 "SET state = 'pending', token = EXCLUDED.token, "
                 "created_at = EXCLUDED.created_at, confirmed_at = 0 "
                 "WHERE subscriptions.state = 'unsubscribed'",
                 &p, NULL, NULL, 0, NULL, "request subscription");
    if (rc == 0)
        rc = exec_on(c, a, "SELECT " SUB_COLS SUB_FROM SUB_PAIR, &k, sub_row,
                     out, sizeof *out, NULL, "request subscription");
    return pg_write_end_unseen(c, rc);
}

int pg_subscription_set(struct store *st, int64_t subscriber_id,
                        int64_t newsletter_id, enum store_sub_state state,
                        int64_t now, const char *token)
{
    const char *name = store_sql_sub_state_name((int)state);
    struct pg_params p = {0};

    if (!name) {
        log_error("cannot set subscription: unknown state %d", (int)state);
        return STORE_ERROR;
    }
    pg_param_int(&p, 1, subscriber_id);
    pg_param_int(&p, 2, newsletter_id);
    pg_param_text(&p, 3, name);
    pg_param_int(&p, 4, now);
    if (state == STORE_SUB_ACTIVE && token) {
        p.n = 2;
        pg_param_int(&p, 3, now);
        pg_param_text(&p, 4, token);
        return pg_write1(
            st, NULL,
            "INSERT INTO subscriptions (subscriber_id, newsletter_id, state, "
            "token, created_at, confirmed_at) "
            "VALUES ($1::bigint, $2::bigint, 'active', $4::text, $3::bigint, "
            "$3::bigint) "
            "ON CONFLICT (subscriber_id, newsletter_id) DO UPDATE "
            "SET state = 'active', confirmed_at = CASE "
            "WHEN subscriptions.state = 'active' "
            "THEN subscriptions.confirmed_at ELSE EXCLUDED.confirmed_at END",
            &p, NULL, NULL, 0, 1, NULL, 0, "set subscription");
    }
    /* every CASE sees the row's old state */
    return pg_write1(st, NULL,
                     "UPDATE subscriptions SET state = $3::text, "
                     "confirmed_at = CASE WHEN $3::text = 'active' "
                     "AND state <> 'active' THEN $4::bigint "
                     "ELSE confirmed_at END, "
                     "created_at = CASE WHEN $3::text = 'pending' "
                     "AND state <> 'pending' THEN $4::bigint "
                     "ELSE created_at END "
                     "WHERE subscriber_id = $1::bigint "
                     "AND newsletter_id = $2::bigint",
                     &p, NULL, NULL, 0, 1, NULL, 0, "set subscription");
}

int pg_subscriptions_of(struct store *st, struct arena *a,
                        int64_t subscriber_id, struct store_subscription **out,
                        size_t *n)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, subscriber_id);
    return pg_query_rows(
        st, a,
        "SELECT " SUB_COLS SUB_FROM "WHERE s.subscriber_id = $1::bigint "
        "ORDER BY n.position, n.id",
        &p, sizeof **out, sub_row, (void **)out, n, "list subscriptions");
}

int pg_subscriptions_purge(struct store *st, int64_t before, size_t *n)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};
    size_t gone = 0;
    int rc;

    if (n)
        *n = 0;
    if (!c)
        return STORE_ERROR;
    pg_param_int(&p, 1, before);
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    rc = exec_on(c, NULL,
                 "DELETE FROM subscriptions WHERE state = 'pending' "
                 "AND created_at < $1::bigint",
                 &p, NULL, NULL, 0, &gone, "purge subscriptions");
    /* created_at < before: spares one just made for a sign-up under way */
    if (rc == 0)
        rc = exec_on(c, NULL,
                     "DELETE FROM subscribers WHERE created_at < $1::bigint "
                     "AND NOT EXISTS (SELECT 1 FROM subscriptions s "
                     "WHERE s.subscriber_id = subscribers.id)",
                     &p, NULL, NULL, 0, NULL, "purge subscribers");
    rc = pg_write_end_unseen(c, rc);
    if (rc == 0 && n)
        *n = gone;
    return rc;
}

/* $1 email text (NULL = any), $2 newsletter (0 = any), $3 state text
 * (NULL = any). strpos() takes the text literally; lower() under
 * COLLATE "C" folds ASCII letters only, as SQLite's does. */
#define SUB_WHERE                                                              \
    "WHERE ($1::text IS NULL OR strpos(lower(sb.email COLLATE \"C\"), "        \
    "lower($1::text COLLATE \"C\")) > 0) "                                     \
    "AND ($2::bigint = 0 OR s.newsletter_id = $2::bigint) "                    \
    "AND ($3::text IS NULL OR s.state = $3::text) "

int pg_subscriptions_search(struct store *st, struct arena *a, const char *q,
                            int64_t newsletter_id, int state, size_t limit,
                            size_t offset, struct store_subscription **out,
                            size_t *n, size_t *total)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    const char *name = state < 0 ? NULL : store_sql_sub_state_name(state);
    struct pg_params p = {0}, f = {0};
    int rc;

    *out = NULL;
    *n = 0;
    if (total)
        *total = 0;
    if (!c)
        return STORE_ERROR;
    if (state >= 0 && !name) {
        log_error("cannot search subscriptions: unknown state %d", state);
        return STORE_ERROR;
    }
    pg_param_text(&f, 1, q && *q ? q : NULL);
    pg_param_int(&f, 2, newsletter_id);
    pg_param_text(&f, 3, name);
    p = f;
    pg_param_int(&p, 4, pg_clamp64(limit ? limit : SUB_SEARCH_LIMIT));
    pg_param_int(&p, 5, pg_clamp64(offset));
    rc = pg_read_begin(c);
    if (rc != 0)
        return rc;
    rc = pg_query_rows(st, a,
                       "SELECT " SUB_COLS SUB_FROM SUB_WHERE
                       "ORDER BY s.created_at DESC, s.id DESC "
                       "LIMIT $4::bigint OFFSET $5::bigint",
                       &p, sizeof **out, sub_row, (void **)out, n,
                       "search subscriptions");
    if (rc == 0 && total)
        rc =
            pg_query_one(st, NULL, "SELECT COUNT(*)" SUB_FROM SUB_WHERE, &f,
                         sizeof *total, size_row, total, "count subscriptions");
    pg_read_end(c);
    return rc;
}

/* Runs a two-column GROUP BY query into an arena array of struct group. */
static int groups(struct store *st, struct arena *a, const char *sql,
                  const struct pg_params *p, struct group **out, size_t *n,
                  const char *what)
{
    return pg_query_rows(st, a, sql, p, sizeof **out, group_row, (void **)out,
                         n, what);
}

int pg_subscription_counts(struct store *st, int64_t newsletter_id,
                           size_t counts[3])
{
    struct pg_params p = {0};
    struct group *g;
    struct arena a;
    size_t n;
    int rc;

    counts[0] = counts[1] = counts[2] = 0;
    pg_param_int(&p, 1, newsletter_id);
    arena_init(&a);
    rc = groups(st, &a,
                "SELECT state, COUNT(*) FROM subscriptions "
                "WHERE $1::bigint = 0 OR newsletter_id = $1::bigint "
                "GROUP BY state",
                &p, &g, &n, "count subscriptions");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int s = store_sql_sub_state_parse(g[i].key);
        if (s >= 0)
            counts[s] = g[i].n;
    }
    arena_release(&a);
    return rc;
}

int pg_subscription_daily(struct store *st, int64_t newsletter_id, int64_t now,
                          size_t ndays, size_t *out)
{
    int64_t last = now / DAY_SECONDS, first = last - (int64_t)ndays + 1;
    struct pg_params p = {0};
    struct group *g;
    struct arena a;
    size_t n;
    int rc;

    if (ndays > DAILY_MAX || now < 0) {
        log_error("cannot count subscriptions by day: %zu days to %lld", ndays,
                  (long long)now);
        return STORE_ERROR;
    }
    if (ndays == 0)
        return 0;
    memset(out, 0, ndays * sizeof *out);
    pg_param_int(&p, 1, newsletter_id);
    pg_param_int(&p, 2, first * DAY_SECONDS);
    pg_param_int(&p, 3, (last + 1) * DAY_SECONDS);
    pg_param_int(&p, 4, DAY_SECONDS);
    arena_init(&a);
    rc = groups(st, &a,
                "SELECT confirmed_at / $4::bigint AS day, COUNT(*) "
                "FROM subscriptions WHERE state = 'active' "
                "AND ($1::bigint = 0 OR newsletter_id = $1::bigint) "
                "AND confirmed_at > 0 AND confirmed_at >= $2::bigint "
                "AND confirmed_at < $3::bigint GROUP BY day",
                &p, &g, &n, "count subscriptions by day");
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (g[i].num >= first && g[i].num <= last)
            out[g[i].num - first] = g[i].n;
    arena_release(&a);
    return rc;
}

/* --- sends --------------------------------------------------------------- */

int pg_send_create(struct store *st, struct store_send *s)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    int64_t at = s->created_at ? s->created_at : (int64_t)time(NULL);
    struct pg_params p = {0}, o = {0}, t = {0};
    char send_id[32];
    size_t total = 0;
    int64_t id = 0;
    int rc;

    if (!c)
        return STORE_ERROR;
    pg_param_int(&p, 1, s->newsletter_id);
    pg_param_ref(&p, 2, s->post_id);
    pg_param_int(&p, 3, s->digest);
    pg_param_text_or(&p, 4, s->subject, "");
    pg_param_ref(&p, 5, s->created_by);
    pg_param_int(&p, 6, at);
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    rc = exec_on(c, NULL,
                 "INSERT INTO sends (newsletter_id, post_id, digest, subject, "
                 "created_by, created_at) VALUES ($1::bigint, $2::bigint, "
                 "$3::integer, $4::text, $5::bigint, $6::bigint) RETURNING id",
                 &p, id_row, &id, sizeof id, NULL, "create send");
    if (rc == 0) {
        snprintf(send_id, sizeof send_id, "send:%lld", (long long)id);
        pg_param_text(&o, 1, send_id);
        pg_param_int(&o, 2, at);
        pg_param_int(&o, 3, s->newsletter_id);
        rc = exec_on(c, NULL,
                     "INSERT INTO mail_outbox (send_id, subscriber_id, state, "
                     "next_attempt_at, created_at) "
                     "SELECT $1::text, subscriber_id, 'pending', $2::bigint, "
                     "$2::bigint FROM subscriptions "
                     "WHERE newsletter_id = $3::bigint AND state = 'active' "
                     "ORDER BY id",
                     &o, NULL, NULL, 0, &total, "create send");
    }
    if (rc == 0) {
        pg_param_int(&t, 1, id);
        pg_param_int(&t, 2, pg_clamp64(total));
        rc = exec_on(c, NULL,
                     "UPDATE sends SET total = $2::integer "
                     "WHERE id = $1::bigint",
                     &t, NULL, NULL, 0, NULL, "create send");
    }
    rc = pg_write_end_unseen(c, rc);
    if (rc == 0) {
        s->id = id;
        s->created_at = at;
        s->total = total;
    }
    return rc;
}

int pg_send_get(struct store *st, struct arena *a, int64_t id,
                struct store_send *out)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, id);
    return pg_query_one(st, a,
                        "SELECT " SEND_COLS " FROM sends WHERE id = $1::bigint",
                        &p, sizeof *out, send_row, out, "read send");
}

int pg_sends_list(struct store *st, struct arena *a, int64_t newsletter_id,
                  size_t limit, struct store_send **out, size_t *n)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, newsletter_id);
    pg_param_int(&p, 2, pg_clamp64(limit ? limit : SENDS_LIMIT));
    return pg_query_rows(st, a,
                         "SELECT " SEND_COLS " FROM sends "
                         "WHERE $1::bigint = 0 OR newsletter_id = $1::bigint "
                         "ORDER BY created_at DESC, id DESC LIMIT $2::bigint",
                         &p, sizeof **out, send_row, (void **)out, n,
                         "list sends");
}

int pg_outbox_progress(struct store *st, const char *send_id, size_t *sent,
                       size_t *failed, size_t *pending)
{
    struct pg_params p = {0};
    struct group *g;
    struct arena a;
    size_t n;
    int rc;

    *sent = *failed = *pending = 0;
    pg_param_text(&p, 1, send_id);
    arena_init(&a);
    rc = groups(st, &a,
                "SELECT state, COUNT(*) FROM mail_outbox "
                "WHERE send_id = $1::text GROUP BY state",
                &p, &g, &n, "count outbox");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!g[i].key)
            continue;
        if (strcmp(g[i].key, "sent") == 0)
            *sent += g[i].n;
        else if (strcmp(g[i].key, "failed") == 0)
            *failed += g[i].n;
        else
            *pending += g[i].n;
    }
    arena_release(&a);
    return rc;
}

/* --- the outbox ---------------------------------------------------------- */

int pg_outbox_add(struct store *st, const char *send_id, int64_t subscriber_id,
                  int64_t now)
{
    struct pg_params p = {0};

    pg_param_text(&p, 1, send_id);
    pg_param_int(&p, 2, subscriber_id);
    pg_param_int(&p, 3, now);
    return pg_write1(st, NULL,
                     "INSERT INTO mail_outbox (send_id, subscriber_id, state, "
                     "next_attempt_at, created_at) "
                     "VALUES ($1::text, $2::bigint, 'pending', $3::bigint, "
                     "$3::bigint)",
                     &p, NULL, NULL, 0, 0, NULL, 0, "add mail");
}

/* One statement: the due rows, locked and skipped when another claim has
 * them, are updated and returned with their subscriber's email, in the
 * order they were due. A row another transaction claimed after this
 * one's snapshot is re-checked on its new version (no longer due). */
int pg_outbox_claim(struct store *st, struct arena *a, int64_t now,
                    unsigned lease_s, size_t max, struct store_outbox **out,
                    size_t *n)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};
    PGresult *res = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    if (max == 0)
        return 0;
    pg_param_int(&p, 1, now);
    pg_param_int(&p, 2, now + (int64_t)lease_s);
    pg_param_int(&p, 3, pg_clamp64(max));
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    rc = pg_exec_sql(
        c,
        "WITH due AS (SELECT id, next_attempt_at FROM mail_outbox "
        "WHERE (state = 'pending' AND next_attempt_at <= $1::bigint) "
        "OR (state = 'sending' AND next_attempt_at < $1::bigint) "
        "ORDER BY next_attempt_at, id LIMIT $3::bigint "
        "FOR UPDATE SKIP LOCKED), "
        "claimed AS (UPDATE mail_outbox o SET state = 'sending', "
        "attempts = o.attempts + 1, next_attempt_at = $2::bigint FROM due "
        "WHERE o.id = due.id RETURNING o.id, o.send_id, o.subscriber_id, "
        "o.attempts, due.next_attempt_at AS due_at) "
        "SELECT c.id, c.send_id, c.subscriber_id, sb.email, c.attempts "
        "FROM claimed c JOIN subscribers sb ON sb.id = c.subscriber_id "
        "ORDER BY c.due_at, c.id",
        &p, &res, "claim mail");
    if (rc == 0)
        pg_read_rows(a, res, sizeof **out, outbox_row, (void **)out, n);
    PQclear(res);
    if (rc == 0 && *n == 0)
        rc = STORE_NOTFOUND; /* nothing to commit */
    rc = pg_write_end_unseen(c, rc);
    if (rc != 0) {
        *out = NULL;
        *n = 0;
    }
    return rc == STORE_NOTFOUND ? 0 : rc;
}

int pg_outbox_sent(struct store *st, int64_t id, int64_t now)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, id);
    pg_param_int(&p, 2, now);
    return pg_write1(st, NULL,
                     "UPDATE mail_outbox SET state = 'sent', "
                     "sent_at = $2::bigint, last_error = NULL "
                     "WHERE id = $1::bigint",
                     &p, NULL, NULL, 0, 1, NULL, 0, "mark mail sent");
}

/* A claimed row pending again at next_at with error; give_back returns
 * the attempt its claim counted (store_outbox_release). */
static int outbox_pending(struct store *st, int64_t id, int64_t next_at,
                          const char *error, int give_back)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, id);
    pg_param_int(&p, 2, next_at);
    pg_param_text(&p, 3, error);
    return pg_write1(st, NULL,
                     give_back ? "UPDATE mail_outbox SET state = 'pending', "
                                 "next_attempt_at = $2::bigint, "
                                 "last_error = $3::text, "
                                 "attempts = greatest(attempts - 1, 0) "
                                 "WHERE id = $1::bigint"
                               : "UPDATE mail_outbox SET state = 'pending', "
                                 "next_attempt_at = $2::bigint, "
                                 "last_error = $3::text WHERE id = $1::bigint",
                     &p, NULL, NULL, 0, 1, NULL, 0,
                     give_back ? "release mail" : "retry mail");
}

int pg_outbox_retry(struct store *st, int64_t id, int64_t next_at,
                    const char *error)
{
    return outbox_pending(st, id, next_at, error, 0);
}

int pg_outbox_release(struct store *st, int64_t id, int64_t next_at,
                      const char *error)
{
    return outbox_pending(st, id, next_at, error, 1);
}

int pg_outbox_fail(struct store *st, int64_t id, const char *error)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, id);
    pg_param_text(&p, 2, error);
    return pg_write1(st, NULL,
                     "UPDATE mail_outbox SET state = 'failed', "
                     "last_error = $2::text WHERE id = $1::bigint",
                     &p, NULL, NULL, 0, 1, NULL, 0, "fail mail");
}
