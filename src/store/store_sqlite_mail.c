/*
 * store_sqlite_mail.c - the SQLite backend's operations for newsletters
 * going out: settings made once, newsletter reads, subscribers and their
 * subscriptions, sends and the mail outbox (schema/005_mail.sql).
 *
 * Each operation has the contract of its store.h function. Statements are
 * prepared per call with the desk's helpers (sq_write1, sq_query_*;
 * store_sqlite.h): none is on a public page's path. Writes that must see
 * and change rows atomically (upserts, a send with its outbox rows, an
 * outbox claim) run in one BEGIN IMMEDIATE transaction, which holds
 * SQLite's single write lock: connections and processes queue up behind
 * it, so two workers never claim the same row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "store/store_sqlite.h"

/* --- rows ---------------------------------------------------------------- */

static void text_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    *(const char **)item = sq_col_text(a, s, 0);
}

static void id_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    (void)a;
    *(int64_t *)item = sq_col_int(s, 0);
}

static void size_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    int64_t v = sq_col_int(s, 0);

    (void)a;
    *(size_t *)item = v > 0 ? (size_t)v : 0;
}

/* A (key, count) pair of a GROUP BY: state text or day number. */
struct group {
    const char *key; /* text key, or NULL */
    int64_t num;     /* integer key */
    size_t n;        /* rows */
};

static void group_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct group *g = item;
    int64_t v = sq_col_int(s, 1);

    if (sqlite3_column_type(s, 0) == SQLITE_TEXT)
        g->key = sq_col_text(a, s, 0);
    g->num = sq_col_int(s, 0);
    g->n = v > 0 ? (size_t)v : 0;
}

static void newsletter_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_newsletter *nl = item;

    nl->id = sq_col_int(s, 0);
    nl->slug = sq_col_text(a, s, 1);
    nl->name = sq_col_text(a, s, 2);
    nl->description = sq_col_text(a, s, 3);
    nl->sender_name = sq_col_text(a, s, 4);
    nl->sender_email = sq_col_text(a, s, 5);
    nl->author_id = sq_col_int(s, 6);
    nl->active = sq_col_int(s, 7) != 0;
    nl->position = (unsigned)sq_col_int(s, 8);
}

static void subscriber_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_subscriber *sb = item;

    sb->id = sq_col_int(s, 0);
    sb->email = sq_col_text(a, s, 1);
    sb->created_at = sq_col_int(s, 2);
}

/* SUB_COLS (store_sql.h). */
static void sub_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_subscription *sub = item;
    int state =
        store_sql_sub_state_parse((const char *)sqlite3_column_text(s, 3));

    sub->id = sq_col_int(s, 0);
    sub->subscriber_id = sq_col_int(s, 1);
    sub->newsletter_id = sq_col_int(s, 2);
    sub->state = state < 0 ? STORE_SUB_PENDING : (enum store_sub_state)state;
    sub->token = sq_col_text(a, s, 4);
    sub->created_at = sq_col_int(s, 5);
    sub->confirmed_at = sq_col_int(s, 6);
    sub->email = sq_col_text(a, s, 7);
    sub->newsletter_slug = sq_col_text(a, s, 8);
}

/* SEND_COLS (store_sql.h). */
static void send_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_send *sd = item;
    int64_t total = sq_col_int(s, 7);

    sd->id = sq_col_int(s, 0);
    sd->newsletter_id = sq_col_int(s, 1);
    sd->post_id = sq_col_int(s, 2);
    sd->digest = (unsigned)sq_col_int(s, 3);
    sd->subject = sq_col_text(a, s, 4);
    sd->created_by = sq_col_int(s, 5);
    sd->created_at = sq_col_int(s, 6);
    sd->total = total > 0 ? (size_t)total : 0;
}

static void outbox_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_outbox *o = item;

    o->id = sq_col_int(s, 0);
    o->send_id = sq_col_text(a, s, 1);
    o->subscriber_id = sq_col_int(s, 2);
    o->email = sq_col_text(a, s, 3);
    o->attempts = (unsigned)sq_col_int(s, 4);
}

/* v as an int64_t, INT64_MAX when larger (limits and offsets). */
static int64_t clamp64(size_t v)
{
    return v > (size_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* 0 = none, as SQL NULL (references without a foreign key too). */
static struct sq_val ref_val(int64_t id)
{
    return id ? (struct sq_val)SQ_NUM(id) : (struct sq_val)SQ_TXT(NULL);
}

/* --- settings ------------------------------------------------------------ */

/* A read first, so a key already set costs no write transaction. */
int sq_setting_init(struct store *st, struct arena *a, const char *key,
                    const char *value, const char **out)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    const struct sq_val v[] = {SQ_TXT(key), SQ_TXT(value)};
    size_t changed;
    int rc;

    *out = NULL;
    if (!c)
        return STORE_ERROR;
    if (!key || !value) {
        log_error("cannot set up setting: no key or value");
        return STORE_ERROR;
    }
    rc = sq_query_one(st, a, "SELECT value FROM settings WHERE key = ?1", v, 1,
                      sizeof *out, text_row, out, "read setting");
    if (rc != STORE_NOTFOUND)
        return rc;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    rc = sq_exec_on(c, NULL,
                    "INSERT INTO settings (key, value) VALUES (?1, ?2) "
                    "ON CONFLICT (key) DO NOTHING",
                    v, SQ_NVALS(v), NULL, NULL, 0, &changed, "set up setting");
    if (rc == 0)
        rc = sq_exec_on(c, a, "SELECT value FROM settings WHERE key = ?1", v, 1,
                        text_row, out, sizeof *out, &changed, "set up setting");
    return sq_write_end(c, rc);
}

/* --- newsletters --------------------------------------------------------- */

int sq_newsletter_get(struct store *st, struct arena *a, int64_t id,
                      struct store_newsletter *out)
{
    const struct sq_val v[] = {SQ_NUM(id)};

    return sq_query_one(st, a,
                        "SELECT " NEWSLETTER_COLS " FROM newsletters "
                        "WHERE id = ?1",
                        v, SQ_NVALS(v), sizeof *out, newsletter_row, out,
                        "read newsletter");
}

int sq_newsletter_get_by_slug(struct store *st, struct arena *a,
                              const char *slug, struct store_newsletter *out)
{
    const struct sq_val v[] = {SQ_TXT(slug)};

    if (!slug)
        return STORE_NOTFOUND;
    return sq_query_one(st, a,
                        "SELECT " NEWSLETTER_COLS " FROM newsletters "
                        "WHERE slug = ?1",
                        v, SQ_NVALS(v), sizeof *out, newsletter_row, out,
                        "read newsletter");
}

/* --- subscribers --------------------------------------------------------- */

/* A read first (most sign-ups are of known addresses); a miss inserts
 * under the write lock, where ON CONFLICT DO NOTHING and the read after
 * it see whatever another connection committed first. */
int sq_subscriber_upsert(struct store *st, const char *email, int64_t now,
                         int64_t *id)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    const struct sq_val v[] = {SQ_TXT(email), SQ_NUM(now)};
    size_t changed;
    int rc;

    *id = 0;
    if (!c)
        return STORE_ERROR;
    if (!email) {
        log_error("cannot add subscriber: no email");
        return STORE_ERROR;
    }
    rc = sq_query_one(st, NULL, "SELECT id FROM subscribers WHERE email = ?1",
                      v, 1, sizeof *id, id_row, id, "read subscriber");
    if (rc != STORE_NOTFOUND)
        return rc;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    rc = sq_exec_on(c, NULL,
                    "INSERT INTO subscribers (email, created_at) "
                    "VALUES (?1, ?2) ON CONFLICT (email) DO NOTHING",
                    v, SQ_NVALS(v), NULL, NULL, 0, &changed, "add subscriber");
    if (rc == 0)
        rc = sq_exec_on(c, NULL, "SELECT id FROM subscribers WHERE email = ?1",
                        v, 1, id_row, id, sizeof *id, &changed,
                        "add subscriber");
    return sq_write_end(c, rc);
}

int sq_subscriber_get(struct store *st, struct arena *a, int64_t id,
                      struct store_subscriber *out)
{
    const struct sq_val v[] = {SQ_NUM(id)};

    return sq_query_one(st, a,
                        "SELECT id, email, created_at FROM subscribers "
                        "WHERE id = ?1",
                        v, SQ_NVALS(v), sizeof *out, subscriber_row, out,
                        "read subscriber");
}

int sq_subscriber_get_by_email(struct store *st, struct arena *a,
                               const char *email, struct store_subscriber *out)
{
    const struct sq_val v[] = {SQ_TXT(email)};

    if (!email)
        return STORE_NOTFOUND;
    return sq_query_one(st, a,
                        "SELECT id, email, created_at FROM subscribers "
                        "WHERE email = ?1",
                        v, SQ_NVALS(v), sizeof *out, subscriber_row, out,
                        "read subscriber");
}

/* --- subscriptions ------------------------------------------------------- */

#define SUB_PAIR "WHERE s.subscriber_id = ?1 AND s.newsletter_id = ?2"

/* One upsert: the DO UPDATE's WHERE leaves pending and active rows be. */
int sq_subscription_request(struct store *st, struct arena *a,
                            int64_t subscriber_id, int64_t newsletter_id,
                            int64_t now, const char *token,
                            struct store_subscription *out)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    const struct sq_val v[] = {SQ_NUM(subscriber_id), SQ_NUM(newsletter_id),
                               SQ_NUM(now), SQ_TXT(token)};
    size_t changed;
    int rc;

    memset(out, 0, sizeof *out);
    if (!c)
        return STORE_ERROR;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    rc = sq_exec_on(c, NULL,
                    "INSERT INTO subscriptions (subscriber_id, newsletter_id, "
                    "state, token, created_at, confirmed_at) "
                    "VALUES (?1, ?2, 'pending', ?4, ?3, 0) "
                    "ON CONFLICT (subscriber_id, newsletter_id) DO UPDATE "
                    "SET state = 'pending', token = excluded.token, "
                    "created_at = excluded.created_at, confirmed_at = 0 "
                    "WHERE subscriptions.state = 'unsubscribed'",
                    v, SQ_NVALS(v), NULL, NULL, 0, &changed,
                    "request subscription");
    if (rc == 0)
        rc = sq_exec_on(c, a, "SELECT " SUB_COLS SUB_FROM SUB_PAIR, v, 2,
                        sub_row, out, sizeof *out, &changed,
                        "request subscription");
    return sq_write_end(c, rc);
}

int sq_subscription_set(struct store *st, int64_t subscriber_id,
                        int64_t newsletter_id, enum store_sub_state state,
                        int64_t now, const char *token)
{
    const char *name = store_sql_sub_state_name((int)state);
    const struct sq_val v[] = {SQ_NUM(subscriber_id), SQ_NUM(newsletter_id),
                               SQ_TXT(name), SQ_NUM(now), SQ_TXT(token)};

    if (!name) {
        log_error("cannot set subscription: unknown state %d", (int)state);
        return STORE_ERROR;
    }
    if (state == STORE_SUB_ACTIVE && token)
        return sq_write1(
            st, NULL,
            "INSERT INTO subscriptions (subscriber_id, newsletter_id, state, "
            "token, created_at, confirmed_at) "
            "VALUES (?1, ?2, 'active', ?5, ?4, ?4) "
            "ON CONFLICT (subscriber_id, newsletter_id) DO UPDATE "
            "SET state = 'active', confirmed_at = CASE "
            "WHEN subscriptions.state = 'active' "
            "THEN subscriptions.confirmed_at ELSE excluded.confirmed_at END",
            v, SQ_NVALS(v), NULL, NULL, 0, 1, NULL, "set subscription");
    /* every CASE sees the row's old state */
    return sq_write1(st, NULL,
                     "UPDATE subscriptions SET state = ?3, "
                     "confirmed_at = CASE WHEN ?3 = 'active' "
                     "AND state <> 'active' THEN ?4 ELSE confirmed_at END, "
                     "created_at = CASE WHEN ?3 = 'pending' "
                     "AND state <> 'pending' THEN ?4 ELSE created_at END "
                     "WHERE subscriber_id = ?1 AND newsletter_id = ?2",
                     v, 4, NULL, NULL, 0, 1, NULL, "set subscription");
}

int sq_subscriptions_of(struct store *st, struct arena *a,
                        int64_t subscriber_id, struct store_subscription **out,
                        size_t *n)
{
    const struct sq_val v[] = {SQ_NUM(subscriber_id)};

    return sq_query_rows(st, a,
                         "SELECT " SUB_COLS SUB_FROM
                         "WHERE s.subscriber_id = ?1 "
                         "ORDER BY n.position, n.id",
                         v, SQ_NVALS(v), sizeof **out, sub_row, (void **)out, n,
                         "list subscriptions");
}

int sq_subscriptions_purge(struct store *st, int64_t before, size_t *n)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    const struct sq_val v[] = {SQ_NUM(before)};
    size_t gone = 0, orphans;
    int rc;

    if (n)
        *n = 0;
    if (!c)
        return STORE_ERROR;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    rc =
        sq_exec_on(c, NULL,
                   "DELETE FROM subscriptions WHERE state = 'pending' "
                   "AND created_at < ?1",
                   v, SQ_NVALS(v), NULL, NULL, 0, &gone, "purge subscriptions");
    /* created_at < before: spares one just made for a sign-up under way */
    if (rc == 0)
        rc = sq_exec_on(c, NULL,
                        "DELETE FROM subscribers WHERE created_at < ?1 "
                        "AND NOT EXISTS (SELECT 1 FROM subscriptions s "
                        "WHERE s.subscriber_id = subscribers.id)",
                        v, SQ_NVALS(v), NULL, NULL, 0, &orphans,
                        "purge subscribers");
    rc = sq_write_end(c, rc);
    if (rc == 0 && n)
        *n = gone;
    return rc;
}

/* ?1 email text (NULL = any), ?2 newsletter (0 = any), ?3 state text
 * (NULL = any). instr() takes the text literally; lower() folds ASCII. */
#define SUB_WHERE                                                              \
    "WHERE (?1 IS NULL OR instr(lower(sb.email), lower(?1)) > 0) "             \
    "AND (?2 = 0 OR s.newsletter_id = ?2) AND (?3 IS NULL OR s.state = ?3) "

int sq_subscriptions_search(struct store *st, struct arena *a, const char *q,
                            int64_t newsletter_id, int state, size_t limit,
                            size_t offset, struct store_subscription **out,
                            size_t *n, size_t *total)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    const char *name = state < 0 ? NULL : store_sql_sub_state_name(state);
    const struct sq_val v[] = {
        SQ_TXT(q && *q ? q : NULL), SQ_NUM(newsletter_id), SQ_TXT(name),
        SQ_NUM(clamp64(limit ? limit : SUB_SEARCH_LIMIT)),
        SQ_NUM(clamp64(offset))};
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
    rc = sq_read_begin(c);
    if (rc != 0)
        return rc;
    rc = sq_query_rows(st, a,
                       "SELECT " SUB_COLS SUB_FROM SUB_WHERE
                       "ORDER BY s.created_at DESC, s.id DESC "
                       "LIMIT ?4 OFFSET ?5",
                       v, SQ_NVALS(v), sizeof **out, sub_row, (void **)out, n,
                       "search subscriptions");
    if (rc == 0 && total)
        rc =
            sq_query_one(st, NULL, "SELECT COUNT(*)" SUB_FROM SUB_WHERE, v, 3,
                         sizeof *total, size_row, total, "count subscriptions");
    sq_read_end(c);
    return rc;
}

/* Runs a two-column GROUP BY query into an arena array of struct group. */
static int groups(struct store *st, struct arena *a, const char *sql,
                  const struct sq_val *v, size_t nv, struct group **out,
                  size_t *n, const char *what)
{
    return sq_query_rows(st, a, sql, v, nv, sizeof **out, group_row,
                         (void **)out, n, what);
}

int sq_subscription_counts(struct store *st, int64_t newsletter_id,
                           size_t counts[3])
{
    const struct sq_val v[] = {SQ_NUM(newsletter_id)};
    struct group *g;
    struct arena a;
    size_t n;
    int rc;

    counts[0] = counts[1] = counts[2] = 0;
    arena_init(&a);
    rc = groups(st, &a,
                "SELECT state, COUNT(*) FROM subscriptions "
                "WHERE ?1 = 0 OR newsletter_id = ?1 GROUP BY state",
                v, SQ_NVALS(v), &g, &n, "count subscriptions");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int s = store_sql_sub_state_parse(g[i].key);
        if (s >= 0)
            counts[s] = g[i].n;
    }
    arena_release(&a);
    return rc;
}

int sq_subscription_daily(struct store *st, int64_t newsletter_id, int64_t now,
                          size_t ndays, size_t *out)
{
    int64_t last = now / DAY_SECONDS, first = last - (int64_t)ndays + 1;
    const struct sq_val v[] = {
        SQ_NUM(newsletter_id), SQ_NUM(first * DAY_SECONDS),
        SQ_NUM((last + 1) * DAY_SECONDS), SQ_NUM(DAY_SECONDS)};
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
    arena_init(&a);
    rc = groups(st, &a,
                "SELECT confirmed_at / ?4 AS day, COUNT(*) FROM subscriptions "
                "WHERE state = 'active' AND (?1 = 0 OR newsletter_id = ?1) "
                "AND confirmed_at > 0 AND confirmed_at >= ?2 "
                "AND confirmed_at < ?3 GROUP BY day",
                v, SQ_NVALS(v), &g, &n, "count subscriptions by day");
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (g[i].num >= first && g[i].num <= last)
            out[g[i].num - first] = g[i].n;
    arena_release(&a);
    return rc;
}

/* --- sends --------------------------------------------------------------- */

int sq_send_create(struct store *st, struct store_send *s)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    int64_t at = s->created_at ? s->created_at : (int64_t)time(NULL);
    const struct sq_val v[] = {
        SQ_NUM(s->newsletter_id), ref_val(s->post_id),
        SQ_NUM(s->digest),        SQ_TXT(s->subject ? s->subject : ""),
        ref_val(s->created_by),   SQ_NUM(at)};
    char send_id[32];
    size_t changed, total = 0;
    int64_t id = 0;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    rc = sq_exec_on(c, NULL,
                    "INSERT INTO sends (newsletter_id, post_id, digest, "
                    "subject, created_by, created_at) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                    v, SQ_NVALS(v), id_row, &id, sizeof id, &changed,
                    "create send");
    if (rc == 0) {
        const struct sq_val o[] = {SQ_TXT(send_id), SQ_NUM(at),
                                   SQ_NUM(s->newsletter_id)};
        snprintf(send_id, sizeof send_id, "send:%lld", (long long)id);
        rc = sq_exec_on(c, NULL,
                        "INSERT INTO mail_outbox (send_id, subscriber_id, "
                        "state, next_attempt_at, created_at) "
                        "SELECT ?1, subscriber_id, 'pending', ?2, ?2 "
                        "FROM subscriptions WHERE newsletter_id = ?3 "
                        "AND state = 'active' ORDER BY id",
                        o, SQ_NVALS(o), NULL, NULL, 0, &total, "create send");
    }
    if (rc == 0) {
        const struct sq_val t[] = {SQ_NUM(id), SQ_NUM(clamp64(total))};
        rc = sq_exec_on(c, NULL, "UPDATE sends SET total = ?2 WHERE id = ?1", t,
                        SQ_NVALS(t), NULL, NULL, 0, &changed, "create send");
    }
    rc = sq_write_end(c, rc);
    if (rc == 0) {
        s->id = id;
        s->created_at = at;
        s->total = total;
    }
    return rc;
}

int sq_send_get(struct store *st, struct arena *a, int64_t id,
                struct store_send *out)
{
    const struct sq_val v[] = {SQ_NUM(id)};

    return sq_query_one(st, a, "SELECT " SEND_COLS " FROM sends WHERE id = ?1",
                        v, SQ_NVALS(v), sizeof *out, send_row, out,
                        "read send");
}

int sq_sends_list(struct store *st, struct arena *a, int64_t newsletter_id,
                  size_t limit, struct store_send **out, size_t *n)
{
    const struct sq_val v[] = {SQ_NUM(newsletter_id),
                               SQ_NUM(clamp64(limit ? limit : SENDS_LIMIT))};

    return sq_query_rows(st, a,
                         "SELECT " SEND_COLS " FROM sends "
                         "WHERE ?1 = 0 OR newsletter_id = ?1 "
                         "ORDER BY created_at DESC, id DESC LIMIT ?2",
                         v, SQ_NVALS(v), sizeof **out, send_row, (void **)out,
                         n, "list sends");
}

int sq_outbox_progress(struct store *st, const char *send_id, size_t *sent,
                       size_t *failed, size_t *pending)
{
    const struct sq_val v[] = {SQ_TXT(send_id)};
    struct group *g;
    struct arena a;
    size_t n;
    int rc;

    *sent = *failed = *pending = 0;
    arena_init(&a);
    rc = groups(st, &a,
                "SELECT state, COUNT(*) FROM mail_outbox WHERE send_id = ?1 "
                "GROUP BY state",
                v, SQ_NVALS(v), &g, &n, "count outbox");
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

int sq_outbox_add(struct store *st, const char *send_id, int64_t subscriber_id,
                  int64_t now)
{
    const struct sq_val v[] = {SQ_TXT(send_id), SQ_NUM(subscriber_id),
                               SQ_NUM(now)};

    return sq_write1(st, NULL,
                     "INSERT INTO mail_outbox (send_id, subscriber_id, state, "
                     "next_attempt_at, created_at) "
                     "VALUES (?1, ?2, 'pending', ?3, ?3)",
                     v, SQ_NVALS(v), NULL, NULL, 0, 0, NULL, "add mail");
}

/* ?1 now, ?3 max: the rows due, oldest first. */
#define OUTBOX_DUE                                                             \
    "((o.state = 'pending' AND o.next_attempt_at <= ?1) OR "                   \
    "(o.state = 'sending' AND o.next_attempt_at < ?1)) "                       \
    "ORDER BY o.next_attempt_at, o.id LIMIT ?3"

/* Read and update in one BEGIN IMMEDIATE: no other connection writes in
 * between, so the UPDATE's subquery picks the rows just read. */
int sq_outbox_claim(struct store *st, struct arena *a, int64_t now,
                    unsigned lease_s, size_t max, struct store_outbox **out,
                    size_t *n)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    const struct sq_val v[] = {SQ_NUM(now), SQ_NUM(now + (int64_t)lease_s),
                               SQ_NUM(clamp64(max))};
    sqlite3_stmt *s;
    size_t changed = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    if (max == 0)
        return 0;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    s = sq_prepare_bound(c,
                         "SELECT o.id, o.send_id, o.subscriber_id, sb.email, "
                         "o.attempts + 1 FROM mail_outbox o "
                         "JOIN subscribers sb ON sb.id = o.subscriber_id "
                         "WHERE " OUTBOX_DUE,
                         v, SQ_NVALS(v));
    rc = s ? sq_read_rows(c, a, s, sizeof **out, outbox_row, (void **)out, n,
                          "claim mail")
           : STORE_ERROR;
    sqlite3_finalize(s);
    if (rc == 0 && *n == 0)
        rc = STORE_NOTFOUND; /* nothing to commit */
    if (rc == 0)
        rc = sq_exec_on(c, NULL,
                        "UPDATE mail_outbox SET state = 'sending', "
                        "attempts = attempts + 1, next_attempt_at = ?2 "
                        "WHERE id IN (SELECT o.id FROM mail_outbox o "
                        "WHERE " OUTBOX_DUE ")",
                        v, SQ_NVALS(v), NULL, NULL, 0, &changed, "claim mail");
    if (rc == 0 && changed != *n) {
        log_error("cannot claim mail: %zu rows read, %zu changed", *n, changed);
        rc = STORE_ERROR;
    }
    rc = sq_write_end(c, rc);
    if (rc != 0) {
        *out = NULL;
        *n = 0;
    }
    return rc == STORE_NOTFOUND ? 0 : rc;
}

int sq_outbox_sent(struct store *st, int64_t id, int64_t now)
{
    const struct sq_val v[] = {SQ_NUM(id), SQ_NUM(now)};

    return sq_write1(st, NULL,
                     "UPDATE mail_outbox SET state = 'sent', sent_at = ?2, "
                     "last_error = NULL WHERE id = ?1",
                     v, SQ_NVALS(v), NULL, NULL, 0, 1, NULL, "mark mail sent");
}

/* A claimed row pending again at next_at with error; give_back returns
 * the attempt its claim counted (store_outbox_release). */
static int outbox_pending(struct store *st, int64_t id, int64_t next_at,
                          const char *error, int give_back)
{
    const struct sq_val v[] = {SQ_NUM(id), SQ_NUM(next_at), SQ_TXT(error)};

    return sq_write1(st, NULL,
                     give_back ? "UPDATE mail_outbox SET state = 'pending', "
                                 "next_attempt_at = ?2, last_error = ?3, "
                                 "attempts = max(attempts - 1, 0) WHERE id = ?1"
                               : "UPDATE mail_outbox SET state = 'pending', "
                                 "next_attempt_at = ?2, last_error = ?3 "
                                 "WHERE id = ?1",
                     v, SQ_NVALS(v), NULL, NULL, 0, 1, NULL,
                     give_back ? "release mail" : "retry mail");
}

int sq_outbox_retry(struct store *st, int64_t id, int64_t next_at,
                    const char *error)
{
    return outbox_pending(st, id, next_at, error, 0);
}

int sq_outbox_release(struct store *st, int64_t id, int64_t next_at,
                      const char *error)
{
    return outbox_pending(st, id, next_at, error, 1);
}

int sq_outbox_fail(struct store *st, int64_t id, const char *error)
{
    const struct sq_val v[] = {SQ_NUM(id), SQ_TXT(error)};

    return sq_write1(st, NULL,
                     "UPDATE mail_outbox SET state = 'failed', "
                     "last_error = ?2 WHERE id = ?1",
                     v, SQ_NVALS(v), NULL, NULL, 0, 1, NULL, "fail mail");
}
