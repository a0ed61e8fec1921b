/*
 * store.c - picks the backend for a database URL and forwards every public
 * store_* call to it through struct store_ops (backend.h).
 *
 * Nothing here knows SQL. The backend table below maps URL prefixes to open
 * functions; a backend not built yet has a NULL open and a reason. Also
 * home of the migration list shared by the backends.
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/embed.h"
#include "core/log.h"
#include "store/backend.h"

struct backend {
    const char *prefix; /* URL prefix, stripped before open */
    struct store *(*open)(const char *rest, char *err, size_t errlen);
    const char *missing; /* why open is NULL, else NULL */
};

static const struct backend backends[] = {
    {"sqlite:", store_sqlite_open, NULL},
    {"postgresql://", store_pg_open, NULL},
    {"postgres://", store_pg_open, NULL},
};

struct store *store_open(const char *url, char *err, size_t errlen)
{
    if (!url || !*url) {
        snprintf(err, errlen, "no database given");
        return NULL;
    }
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        const struct backend *b = &backends[i];
        size_t n = strlen(b->prefix);
        if (strncmp(url, b->prefix, n) != 0)
            continue;
        if (!b->open) {
            snprintf(err, errlen, "%s", b->missing);
            return NULL;
        }
        return b->open(url + n, err, errlen);
    }
    if (strstr(url, "://")) {
        snprintf(err, errlen, "unknown database url '%s'", url);
        return NULL;
    }
    return store_sqlite_open(url, err, errlen);
}

void store_close(struct store *st)
{
    if (st)
        st->ops->close(st);
}

const char *store_strerror(int err)
{
    switch (err) {
    case STORE_OK:
        return "ok";
    case STORE_NOTFOUND:
        return "not found";
    case STORE_CONFLICT:
        return "already taken";
    default:
        return "database error";
    }
}

/* --- migrations ---------------------------------------------------------- */

/* NNN from "DIR/NNN_name.sql" (dir is "DIR/"), or -1 if the name has
 * another shape. */
static int migration_number(const char *dir, const char *name)
{
    size_t len = strlen(name), dlen = strlen(dir);
    const char *p;
    int n = 0;

    if (strncmp(name, dir, dlen) != 0 || len < dlen + 4 ||
        strcmp(name + len - 4, ".sql") != 0)
        return -1;
    p = name + dlen;
    for (int i = 0; i < 3; i++, p++) {
        if (*p < '0' || *p > '9')
            return -1;
        n = n * 10 + (*p - '0');
    }
    return *p == '_' && n > 0 ? n : -1;
}

static int migration_cmp(const void *x, const void *y)
{
    const struct store_migration *a = x, *b = y;
    return (a->number > b->number) - (a->number < b->number);
}

int store_migrations(struct store_migration *out, size_t max)
{
    return store_migrations_in("schema/", out, max);
}

int store_migrations_in(const char *dir, struct store_migration *out,
                        size_t max)
{
    size_t n = 0, dlen = strlen(dir);

    for (const struct embed_file *f = embed_files; f->name; f++) {
        if (strncmp(f->name, dir, dlen) != 0)
            continue;
        int num = migration_number(dir, f->name);
        if (num < 0) {
            log_error("cannot use migration '%s': name is not "
                      "%sNNN_name.sql",
                      f->name, dir);
            return -1;
        }
        if (n == max) {
            log_error("cannot use migration '%s': more than %zu files", f->name,
                      max);
            return -1;
        }
        out[n].number = num;
        out[n].name = f->name;
        out[n].sql = (const char *)f->data;
        n++;
    }
    qsort(out, n, sizeof out[0], migration_cmp);
    for (size_t i = 1; i < n; i++) {
        if (out[i].number == out[i - 1].number) {
            log_error("cannot use migration '%s': number taken by '%s'",
                      out[i].name, out[i - 1].name);
            return -1;
        }
    }
    return (int)n;
}

/* --- forwarding ---------------------------------------------------------- */

uint64_t store_version(struct store *st)
{
    return st->ops->version(st, 0);
}

uint64_t store_version_fresh(struct store *st)
{
    return st->ops->version(st, 1);
}

int store_schema_version(struct store *st)
{
    return st->ops->schema_version(st);
}

int store_available(struct store *st)
{
    return st->ops->available ? st->ops->available(st) : 1;
}

int store_tx_begin(struct store *st)
{
    return st->ops->tx_begin(st);
}

int store_tx_commit(struct store *st)
{
    return st->ops->tx_commit(st);
}

void store_tx_rollback(struct store *st)
{
    st->ops->tx_rollback(st);
}

const char *store_setting_get(struct store *st, struct arena *a,
                              const char *key)
{
    return st->ops->setting_get(st, a, key);
}

int store_setting_set(struct store *st, const char *key, const char *value)
{
    return st->ops->setting_set(st, key, value);
}

int store_post_save(struct store *st, struct store_post *p,
                    const int64_t *author_ids, size_t n_authors,
                    const int64_t *tag_ids, size_t n_tags)
{
    return st->ops->post_save(st, p, author_ids, n_authors, tag_ids, n_tags);
}

int store_post_get_by_slug(struct store *st, struct arena *a, const char *slug,
                           struct store_post *out)
{
    return st->ops->post_get_by_slug(st, a, slug, out);
}

int store_post_get(struct store *st, struct arena *a, int64_t id,
                   struct store_post *out)
{
    return st->ops->post_get(st, a, id, out);
}

int store_posts_list(struct store *st, struct arena *a,
                     const struct store_post_query *q, struct store_post **out,
                     size_t *n, size_t *total)
{
    return st->ops->posts_list(st, a, q, out, n, total);
}

int store_correction_add(struct store *st, struct store_correction *c)
{
    return st->ops->correction_add(st, c);
}

int store_corrections_list(struct store *st, struct arena *a, int64_t post_id,
                           struct store_correction **out, size_t *n)
{
    return st->ops->corrections_list(st, a, post_id, out, n);
}

int store_author_save(struct store *st, struct store_author *au)
{
    return st->ops->author_save(st, au);
}

int store_author_get_by_slug(struct store *st, struct arena *a,
                             const char *slug, struct store_author *out)
{
    return st->ops->author_get_by_slug(st, a, slug, out);
}

int store_authors_list(struct store *st, struct arena *a,
                       struct store_author **out, size_t *n)
{
    return st->ops->authors_list(st, a, out, n);
}

int store_tag_save(struct store *st, struct store_tag *t)
{
    return st->ops->tag_save(st, t);
}

int store_tag_get_by_slug(struct store *st, struct arena *a, const char *slug,
                          struct store_tag *out)
{
    return st->ops->tag_get_by_slug(st, a, slug, out);
}

int store_tags_list(struct store *st, struct arena *a, int kind,
                    struct store_tag **out, size_t *n)
{
    return st->ops->tags_list(st, a, kind, out, n);
}

int store_image_save(struct store *st, struct store_image *img)
{
    return st->ops->image_save(st, img);
}

int store_image_get(struct store *st, struct arena *a, int64_t id,
                    struct store_image *out)
{
    return st->ops->image_get(st, a, id, out);
}

int store_image_get_by_name(struct store *st, struct arena *a, const char *name,
                            struct store_image *out)
{
    return st->ops->image_get_by_name(st, a, name, out);
}

int store_live_save(struct store *st, struct store_live *lu)
{
    return st->ops->live_save(st, lu);
}

int store_live_delete(struct store *st, int64_t id)
{
    return st->ops->live_delete(st, id);
}

int store_live_list(struct store *st, struct arena *a, int64_t before,
                    size_t limit, struct store_live **out, size_t *n)
{
    return st->ops->live_list(st, a, before, limit, out, n);
}

int store_live_get(struct store *st, struct arena *a, int64_t id,
                   struct store_live *out)
{
    return st->ops->live_get(st, a, id, out);
}

int store_live_events(struct store *st, struct arena *a, int64_t after,
                      size_t limit, struct store_live_event **out, size_t *n)
{
    return st->ops->live_events(st, a, after, limit, out, n);
}

int64_t store_live_last_seq(struct store *st)
{
    return st->ops->live_last_seq(st);
}

int store_newsletter_save(struct store *st, struct store_newsletter *nl)
{
    return st->ops->newsletter_save(st, nl);
}

int store_newsletters_list(struct store *st, struct arena *a, int active_only,
                           struct store_newsletter **out, size_t *n)
{
    return st->ops->newsletters_list(st, a, active_only, out, n);
}

int store_job_add(struct store *st, const char *kind, const char *payload,
                  int64_t run_at, const char *unique_key, int64_t *id)
{
    return st->ops->job_add(st, kind, payload, run_at, unique_key, id);
}

int store_job_claim(struct store *st, struct arena *a, const char *const *kinds,
                    size_t nkinds, int64_t now, unsigned lease_s,
                    struct store_job *out)
{
    return st->ops->job_claim(st, a, kinds, nkinds, now, lease_s, out);
}

/* The calling thread's last storage fault (store_last_fault); both
 * backends set it with store_fault_note(). */
static _Thread_local enum store_fault last_fault;

enum store_fault store_last_fault(void)
{
    return last_fault;
}

void store_fault_note(enum store_fault f)
{
    last_fault = f;
}

int store_job_extend(struct store *st, int64_t id, unsigned attempts,
                     int64_t lease_until)
{
    return st->ops->job_extend(st, id, attempts, lease_until);
}

int store_job_done(struct store *st, int64_t id)
{
    return st->ops->job_done(st, id);
}

int store_job_retry(struct store *st, int64_t id, int64_t run_at,
                    const char *error)
{
    return st->ops->job_retry(st, id, run_at, error);
}

int store_job_fail(struct store *st, int64_t id, const char *error)
{
    return st->ops->job_fail(st, id, error);
}

int store_jobs_count(struct store *st, const char *state, size_t *n)
{
    return st->ops->jobs_count(st, state, n);
}

int store_jobs_prune(struct store *st, int64_t before, size_t *n)
{
    return st->ops->jobs_prune(st, before, n);
}

int store_posts_publish_due(struct store *st, int64_t now, size_t *n)
{
    return st->ops->posts_publish_due(st, now, n);
}

int store_staff_save(struct store *st, struct store_staff *s)
{
    return st->ops->staff_save(st, s);
}

int store_staff_get_by_email(struct store *st, struct arena *a,
                             const char *email, struct store_staff *out)
{
    return st->ops->staff_get_by_email(st, a, email, out);
}

int store_staff_get(struct store *st, struct arena *a, int64_t id,
                    struct store_staff *out)
{
    return st->ops->staff_get(st, a, id, out);
}

int store_staff_list(struct store *st, struct arena *a,
                     struct store_staff **out, size_t *n)
{
    return st->ops->staff_list(st, a, out, n);
}

int store_post_delete(struct store *st, int64_t id)
{
    return st->ops->post_delete(st, id);
}

int store_picks_set(struct store *st, const int64_t *ids, size_t n)
{
    return st->ops->picks_set(st, ids, n);
}

int store_revision_add(struct store *st, struct store_revision *r)
{
    return st->ops->revision_add(st, r);
}

int store_revisions_list(struct store *st, struct arena *a, int64_t post_id,
                         struct store_revision **out, size_t *n)
{
    return st->ops->revisions_list(st, a, post_id, out, n);
}

int store_revision_get(struct store *st, struct arena *a, int64_t id,
                       struct store_revision *out)
{
    return st->ops->revision_get(st, a, id, out);
}

int store_session_add(struct store *st, const struct store_session *s)
{
    return st->ops->session_add(st, s);
}

int store_session_get(struct store *st, struct arena *a, const char *token_hash,
                      struct store_session *out)
{
    return st->ops->session_get(st, a, token_hash, out);
}

int store_session_touch(struct store *st, const char *token_hash,
                        int64_t last_seen_at)
{
    return st->ops->session_touch(st, token_hash, last_seen_at);
}

int store_session_delete(struct store *st, const char *token_hash)
{
    return st->ops->session_delete(st, token_hash);
}

int store_sessions_delete_staff(struct store *st, int64_t staff_id, size_t *n)
{
    return st->ops->sessions_delete_staff(st, staff_id, n);
}

int store_sessions_prune(struct store *st, int64_t now, int64_t idle_before,
                         size_t *n)
{
    return st->ops->sessions_prune(st, now, idle_before, n);
}

int store_rate_hit(struct store *st, const char *key, int64_t now,
                   unsigned window_s, unsigned *count)
{
    return st->ops->rate_hit(st, key, now, window_s, count);
}

int store_rate_peek(struct store *st, const char *key, int64_t now,
                    unsigned window_s, unsigned *count)
{
    return st->ops->rate_peek(st, key, now, window_s, count);
}

int store_rate_clear(struct store *st, const char *key)
{
    return st->ops->rate_clear(st, key);
}

int store_rate_prune(struct store *st, int64_t before, size_t *n)
{
    return st->ops->rate_prune(st, before, n);
}

int store_staff_token_add(struct store *st, const struct store_staff_token *t)
{
    return st->ops->staff_token_add(st, t);
}

int store_staff_token_take(struct store *st, struct arena *a,
                           const char *token_hash,
                           struct store_staff_token *out)
{
    return st->ops->staff_token_take(st, a, token_hash, out);
}

int store_staff_token_get(struct store *st, struct arena *a,
                          const char *token_hash, struct store_staff_token *out)
{
    return st->ops->staff_token_get(st, a, token_hash, out);
}

int store_staff_totp_get(struct store *st, struct arena *a, int64_t staff_id,
                         struct store_staff_totp *out)
{
    return st->ops->staff_totp_get(st, a, staff_id, out);
}

int store_staff_totp_set(struct store *st, int64_t staff_id, const char *secret,
                         int64_t last_step)
{
    return st->ops->staff_totp_set(st, staff_id, secret, last_step);
}

int store_staff_totp_use(struct store *st, int64_t staff_id, int64_t step)
{
    return st->ops->staff_totp_use(st, staff_id, step);
}

int store_audit_add(struct store *st, struct store_audit *e)
{
    return st->ops->audit_add(st, e);
}

int store_audit_list(struct store *st, struct arena *a, int64_t before_id,
                     size_t limit, struct store_audit **out, size_t *n)
{
    return st->ops->audit_list(st, a, before_id, limit, out, n);
}

/* --- newsletters going out ----------------------------------------------- */

int store_setting_init(struct store *st, struct arena *a, const char *key,
                       const char *value, const char **out)
{
    return st->ops->setting_init(st, a, key, value, out);
}

int store_newsletter_get(struct store *st, struct arena *a, int64_t id,
                         struct store_newsletter *out)
{
    return st->ops->newsletter_get(st, a, id, out);
}

int store_newsletter_get_by_slug(struct store *st, struct arena *a,
                                 const char *slug, struct store_newsletter *out)
{
    return st->ops->newsletter_get_by_slug(st, a, slug, out);
}

int store_subscriber_upsert(struct store *st, const char *email, int64_t now,
                            int64_t *id)
{
    return st->ops->subscriber_upsert(st, email, now, id);
}

int store_subscriber_get(struct store *st, struct arena *a, int64_t id,
                         struct store_subscriber *out)
{
    return st->ops->subscriber_get(st, a, id, out);
}

int store_subscriber_get_by_email(struct store *st, struct arena *a,
                                  const char *email,
                                  struct store_subscriber *out)
{
    return st->ops->subscriber_get_by_email(st, a, email, out);
}

int store_subscription_request(struct store *st, struct arena *a,
                               int64_t subscriber_id, int64_t newsletter_id,
                               int64_t now, const char *token,
                               struct store_subscription *out)
{
    return st->ops->subscription_request(st, a, subscriber_id, newsletter_id,
                                         now, token, out);
}

int store_subscription_set(struct store *st, int64_t subscriber_id,
                           int64_t newsletter_id, enum store_sub_state state,
                           int64_t now, const char *token)
{
    return st->ops->subscription_set(st, subscriber_id, newsletter_id, state,
                                     now, token);
}

int store_subscriptions_of(struct store *st, struct arena *a,
                           int64_t subscriber_id,
                           struct store_subscription **out, size_t *n)
{
    return st->ops->subscriptions_of(st, a, subscriber_id, out, n);
}

int store_subscriptions_purge(struct store *st, int64_t before, size_t *n)
{
    return st->ops->subscriptions_purge(st, before, n);
}

int store_subscriptions_search(struct store *st, struct arena *a, const char *q,
                               int64_t newsletter_id, int state, size_t limit,
                               size_t offset, struct store_subscription **out,
                               size_t *n, size_t *total)
{
    return st->ops->subscriptions_search(st, a, q, newsletter_id, state, limit,
                                         offset, out, n, total);
}

int store_subscription_counts(struct store *st, int64_t newsletter_id,
                              size_t counts[3])
{
    return st->ops->subscription_counts(st, newsletter_id, counts);
}

int store_subscription_daily(struct store *st, int64_t newsletter_id,
                             int64_t now, size_t ndays, size_t *out)
{
    return st->ops->subscription_daily(st, newsletter_id, now, ndays, out);
}

int store_send_create(struct store *st, struct store_send *s)
{
    return st->ops->send_create(st, s);
}

int store_send_get(struct store *st, struct arena *a, int64_t id,
                   struct store_send *out)
{
    return st->ops->send_get(st, a, id, out);
}

int store_sends_list(struct store *st, struct arena *a, int64_t newsletter_id,
                     size_t limit, struct store_send **out, size_t *n)
{
    return st->ops->sends_list(st, a, newsletter_id, limit, out, n);
}

int store_outbox_progress(struct store *st, const char *send_id, size_t *sent,
                          size_t *failed, size_t *pending)
{
    return st->ops->outbox_progress(st, send_id, sent, failed, pending);
}

int store_outbox_add(struct store *st, const char *send_id,
                     int64_t subscriber_id, int64_t now)
{
    return st->ops->outbox_add(st, send_id, subscriber_id, now);
}

int store_outbox_claim(struct store *st, struct arena *a, int64_t now,
                       unsigned lease_s, size_t max, struct store_outbox **out,
                       size_t *n)
{
    return st->ops->outbox_claim(st, a, now, lease_s, max, out, n);
}

int store_outbox_sent(struct store *st, int64_t id, int64_t now)
{
    return st->ops->outbox_sent(st, id, now);
}

int store_outbox_release(struct store *st, int64_t id, int64_t next_at,
                         const char *error)
{
    return st->ops->outbox_release(st, id, next_at, error);
}

int store_outbox_retry(struct store *st, int64_t id, int64_t next_at,
                       const char *error)
{
    return st->ops->outbox_retry(st, id, next_at, error);
}

int store_outbox_fail(struct store *st, int64_t id, const char *error)
{
    return st->ops->outbox_fail(st, id, error);
}

/* --- narrations ---------------------------------------------------------- */

int store_narration_save(struct store *st, struct store_narration *n)
{
    return st->ops->narration_save(st, n);
}

int store_narration_latest(struct store *st, struct arena *a, int64_t post_id,
                           struct store_narration *out)
{
    return st->ops->narration_latest(st, a, post_id, out);
}

int store_narration_ready(struct store *st, struct arena *a, int64_t post_id,
                          struct store_narration *out)
{
    return st->ops->narration_ready(st, a, post_id, out);
}

int store_narrations_prune(struct store *st, struct arena *a, int64_t post_id,
                           int64_t keep_id, const char ***files, size_t *n)
{
    return st->ops->narrations_prune(st, a, post_id, keep_id, files, n);
}

int store_episodes(struct store *st, struct arena *a, size_t limit,
                   struct store_episode **out, size_t *n)
{
    return st->ops->episodes(st, a, limit, out, n);
}

int store_posts_unnarrated(struct store *st, struct arena *a, size_t limit,
                           int64_t **ids, size_t *n)
{
    return st->ops->posts_unnarrated(st, a, limit, ids, n);
}

int store_post_set_narration_off(struct store *st, int64_t post_id, int off)
{
    return st->ops->post_set_narration_off(st, post_id, off);
}

/* --- sitemaps ----------------------------------------------------------- */

int store_post_stamps(struct store *st, struct arena *a, int64_t now,
                      int64_t since, size_t offset, size_t limit,
                      struct store_post_stamp **out, size_t *n)
{
    return st->ops->post_stamps(st, a, now, since, offset, limit, out, n);
}

int store_post_stamp_pages(struct store *st, struct arena *a, int64_t now,
                           size_t per, int64_t **lastmod, size_t *npages)
{
    return st->ops->post_stamp_pages(st, a, now, per, lastmod, npages);
}

int store_archive_stamps(struct store *st, struct arena *a, int64_t now,
                         struct store_archive_stamp **out, size_t *n)
{
    return st->ops->archive_stamps(st, a, now, out, n);
}

/* --- imports ------------------------------------------------------------ */

int store_import_map_get(struct store *st, const char *source, const char *kind,
                         const char *source_id, int64_t *local_id)
{
    return st->ops->import_map_get(st, source, kind, source_id, local_id);
}

int store_import_map_put(struct store *st, const char *source, const char *kind,
                         const char *source_id, int64_t local_id)
{
    return st->ops->import_map_put(st, source, kind, source_id, local_id);
}

/* --- redirects ---------------------------------------------------------- */

int store_redirect_put(struct store *st, const char *path, const char *target)
{
    return st->ops->redirect_put(st, path, target);
}

int store_redirect_get(struct store *st, struct arena *a, const char *path,
                       const char **target)
{
    return st->ops->redirect_get(st, a, path, target);
}

/* --- Content API keys ---------------------------------------------------- */

int store_api_key_add(struct store *st, struct store_api_key *k)
{
    return st->ops->api_key_add(st, k);
}

int store_api_key_find(struct store *st, struct arena *a, const char *secret,
                       struct store_api_key *out)
{
    return st->ops->api_key_find(st, a, secret, out);
}

int store_api_keys_list(struct store *st, struct arena *a,
                        struct store_api_key **out, size_t *n)
{
    return st->ops->api_keys_list(st, a, out, n);
}

int store_api_key_delete(struct store *st, int64_t id)
{
    return st->ops->api_key_delete(st, id);
}

/* --- search ------------------------------------------------------------- */

int store_search(struct store *st, struct arena *a,
                 const struct store_search_query *q,
                 struct store_search_hit **out, size_t *n, size_t *total)
{
    return st->ops->search(st, a, q, out, n, total);
}

/* --- copying a whole database -------------------------------------------- */

/* One table of the copy. late names a column referencing a table that
 * comes later (staff.author_id -> authors, which references staff back):
 * it is copied as NULL, then filled in once every table is there. */
struct copy_table {
    const char *name; /* table */
    const char *late; /* column filled in at the end, or NULL */
};

/* Every table of schema/ and schema_pg/, parents before children. A
 * migration that adds a table adds it here too (tests/unit/test_store.c
 * fails otherwise). live_events follows live_updates: loading updates
 * makes the triggers log them, and those rows are replaced by the copy. */
static const struct copy_table copy_tables[] = {
    {"images", NULL},        {"staff", "author_id"}, {"authors", NULL},
    {"tags", NULL},          {"posts", NULL},        {"post_revisions", NULL},
    {"post_authors", NULL},  {"post_tags", NULL},    {"corrections", NULL},
    {"live_updates", NULL},  {"live_events", NULL},  {"sessions", NULL},
    {"staff_tokens", NULL},  {"newsletters", NULL},  {"subscribers", NULL},
    {"subscriptions", NULL}, {"mail_outbox", NULL},  {"sends", NULL},
    {"narrations", NULL},    {"jobs", NULL},         {"api_keys", NULL},
    {"settings", NULL},      {"rate_limits", NULL},  {"audit_log", NULL},
    {"import_map", NULL},    {"redirects", NULL},
};
#define NCOPY_TABLES (sizeof copy_tables / sizeof copy_tables[0])
#define COPY_PROGRESS_ROWS 256 /* rows between progress calls */

const char *store_table(size_t i)
{
    return i < NCOPY_TABLES ? copy_tables[i].name : NULL;
}

int store_table_names(struct store *st, struct arena *a, const char ***out,
                      size_t *n)
{
    return st->ops->table_names(st, a, out, n);
}

int64_t store_table_rows(struct store *st, const char *table)
{
    return st->ops->table_rows(st, table);
}

/* What the row callback of one table's copy needs. */
struct copy_run {
    struct store *to;             /* target */
    const char *table;            /* table being copied */
    const char *const *cols;      /* columns copied */
    size_t ncols;                 /* entries in cols */
    long late;                    /* index in cols copied as NULL, or -1 */
    int update;                   /* row_load mode */
    const char **vals;            /* scratch: one row, ncols entries */
    int64_t done;                 /* rows copied */
    int64_t total;                /* rows expected */
    store_copy_progress progress; /* or NULL */
    void *ctx;                    /* for progress */
};

static int copy_row(void *arg, const char *const *vals, size_t n)
{
    struct copy_run *r = arg;
    int rc;

    for (size_t i = 0; i < n; i++)
        r->vals[i] = (long)i == r->late ? NULL : vals[i];
    rc = r->to->ops->row_load(r->to, r->table, r->cols, n, r->vals, r->update);
    if (rc == STORE_CONFLICT)
        log_error("cannot copy a row of '%s': a unique key is taken", r->table);
    if (rc != 0)
        return rc;
    r->done++;
    if (r->progress && r->done % COPY_PROGRESS_ROWS == 0)
        r->progress(r->ctx, r->table, r->done, r->total);
    return 0;
}

/* Columns of table both stores have, in from's order, into *out (in a). */
static int copy_columns(struct store *from, struct store *to, struct arena *a,
                        const char *table, const char ***out, size_t *n)
{
    const char **fc, **tc;
    size_t nf, nt;

    *n = 0;
    if (from->ops->table_columns(from, a, table, &fc, &nf) != 0 ||
        to->ops->table_columns(to, a, table, &tc, &nt) != 0)
        return STORE_ERROR;
    if (nf && !nt) {
        log_error("cannot copy table '%s': the target has no such table",
                  table);
        return STORE_ERROR;
    }
    *out = arena_alloc(a, (nf + 1) * sizeof **out);
    for (size_t i = 0; i < nf; i++)
        for (size_t j = 0; j < nt; j++)
            if (strcmp(fc[i], tc[j]) == 0) {
                (*out)[(*n)++] = fc[i];
                break;
            }
    return 0;
}

/* Copies one table (pass 0), or fills in its late column (pass 1). */
static int copy_one(struct store *from, struct store *to, struct arena *a,
                    const struct copy_table *t, int pass,
                    store_copy_progress progress, void *ctx)
{
    struct copy_run r = {0};
    const char **cols;
    size_t ncols;
    int rc;

    if (copy_columns(from, to, a, t->name, &cols, &ncols) != 0)
        return STORE_ERROR;
    if (ncols == 0)
        return 0; /* neither side has it */
    r.late = -1;
    if (pass == 1) {
        long late = -1;
        for (size_t i = 0; i < ncols; i++)
            if (strcmp(cols[i], t->late) == 0)
                late = (long)i;
        if (late < 0 || strcmp(cols[0], "id") != 0)
            return 0;
        cols[1] = cols[late];
        ncols = 2;
        r.update = 1;
    } else {
        for (size_t i = 0; t->late && i < ncols; i++)
            if (strcmp(cols[i], t->late) == 0)
                r.late = (long)i;
        /* rows made by triggers while earlier tables loaded */
        if (to->ops->table_clear(to, t->name) != 0)
            return STORE_ERROR;
    }
    r.to = to;
    r.table = t->name;
    r.cols = cols;
    r.ncols = ncols;
    r.vals = arena_alloc(a, ncols * sizeof *r.vals);
    r.total = pass == 0 ? from->ops->table_rows(from, t->name) : 0;
    r.progress = pass == 0 ? progress : NULL;
    r.ctx = ctx;
    if (r.total < 0)
        return STORE_ERROR;
    rc = from->ops->rows_dump(from, t->name, cols, ncols, copy_row, &r);
    if (rc != 0)
        return rc < 0 ? rc : STORE_ERROR;
    if (r.progress)
        r.progress(ctx, t->name, r.done, r.total);
    return to->ops->ids_reset(to, t->name);
}

int store_copy(struct store *from, struct store *to, int replace,
               store_copy_progress progress, void *ctx)
{
    struct arena a;
    int rc = 0;

    arena_init(&a);
    if (!replace) {
        for (size_t i = 0; i < NCOPY_TABLES && rc == 0; i++) {
            const char **cols;
            size_t n;
            int64_t rows;
            if (to->ops->table_columns(to, &a, copy_tables[i].name, &cols,
                                       &n) != 0) {
                rc = STORE_ERROR;
                break;
            }
            if (n == 0)
                continue;
            rows = to->ops->table_rows(to, copy_tables[i].name);
            if (rows != 0)
                rc = rows < 0 ? STORE_ERROR : STORE_CONFLICT;
        }
        if (rc != 0)
            goto out;
    }
    /* one snapshot of the source; nothing is written to it */
    if (store_tx_begin(from) != 0) {
        rc = STORE_ERROR;
        goto out;
    }
    if (store_tx_begin(to) != 0) {
        store_tx_rollback(from);
        rc = STORE_ERROR;
        goto out;
    }
    for (size_t i = NCOPY_TABLES; replace && rc == 0 && i-- > 0;) {
        const char **cols;
        size_t n;
        rc = to->ops->table_columns(to, &a, copy_tables[i].name, &cols, &n);
        if (rc == 0 && n > 0)
            rc = to->ops->table_clear(to, copy_tables[i].name);
    }
    for (size_t i = 0; i < NCOPY_TABLES && rc == 0; i++)
        rc = copy_one(from, to, &a, &copy_tables[i], 0, progress, ctx);
    for (size_t i = 0; i < NCOPY_TABLES && rc == 0; i++)
        if (copy_tables[i].late)
            rc = copy_one(from, to, &a, &copy_tables[i], 1, NULL, NULL);
    if (rc == 0)
        rc = store_tx_commit(to);
    else
        store_tx_rollback(to);
    store_tx_rollback(from);
    if (rc != 0)
        rc = STORE_ERROR;
out:
    arena_release(&a);
    return rc;
}
