/*
 * backend.h - what a store backend implements; internal to src/store/.
 *
 * store.c picks a backend from the database URL and calls its open
 * function, which returns a struct store whose ops point at the backend's
 * functions. A backend embeds struct store as the first member of its own
 * state and casts back in each op. Every op has exactly the contract of the
 * public function of the same name in store.h; store.c forwards and adds
 * nothing. Callers outside src/store/ never include this file.
 *
 * Adding a backend: write store_NAME.c with one static const struct
 * store_ops, declare its open function here and add a row to the backend
 * table in store.c (docs/store.md walks through it).
 */
#ifndef STORE_BACKEND_H
#define STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* rows_dump's callback: one row's values (NULL for SQL NULL). */
typedef int (*store_row_fn)(void *ctx, const char *const *vals, size_t n);

struct store_ops {
    const char *name; /* "sqlite", "postgresql": for messages */

    void (*close)(struct store *st);
    uint64_t (*version)(struct store *st, int fresh);
    int (*schema_version)(struct store *st);
    int (*available)(struct store *st); /* NULL = always 1 */
    int (*tx_begin)(struct store *st);
    int (*tx_commit)(struct store *st);
    void (*tx_rollback)(struct store *st);

    const char *(*setting_get)(struct store *st, struct arena *a,
                               const char *key);
    int (*setting_set)(struct store *st, const char *key, const char *value);

    int (*post_save)(struct store *st, struct store_post *p,
                     const int64_t *author_ids, size_t n_authors,
                     const int64_t *tag_ids, size_t n_tags);
    int (*post_get_by_slug)(struct store *st, struct arena *a, const char *slug,
                            struct store_post *out);
    int (*post_get)(struct store *st, struct arena *a, int64_t id,
                    struct store_post *out);
    int (*posts_list)(struct store *st, struct arena *a,
                      const struct store_post_query *q, struct store_post **out,
                      size_t *n, size_t *total);
    int (*correction_add)(struct store *st, struct store_correction *c);
    int (*corrections_list)(struct store *st, struct arena *a, int64_t post_id,
                            struct store_correction **out, size_t *n);

    int (*author_save)(struct store *st, struct store_author *au);
    int (*author_get_by_slug)(struct store *st, struct arena *a,
                              const char *slug, struct store_author *out);
    int (*authors_list)(struct store *st, struct arena *a,
                        struct store_author **out, size_t *n);
    int (*tag_save)(struct store *st, struct store_tag *t);
    int (*tag_get_by_slug)(struct store *st, struct arena *a, const char *slug,
                           struct store_tag *out);
    int (*tags_list)(struct store *st, struct arena *a, int kind,
                     struct store_tag **out, size_t *n);
    int (*image_save)(struct store *st, struct store_image *img);
    int (*image_get)(struct store *st, struct arena *a, int64_t id,
                     struct store_image *out);
    int (*image_get_by_name)(struct store *st, struct arena *a,
                             const char *name, struct store_image *out);

    int (*live_save)(struct store *st, struct store_live *lu);
    int (*live_delete)(struct store *st, int64_t id);
    int (*live_list)(struct store *st, struct arena *a, int64_t before,
                     size_t limit, struct store_live **out, size_t *n);
    int (*live_get)(struct store *st, struct arena *a, int64_t id,
                    struct store_live *out);
    int (*live_events)(struct store *st, struct arena *a, int64_t after,
                       size_t limit, struct store_live_event **out, size_t *n);
    int64_t (*live_last_seq)(struct store *st);

    int (*newsletter_save)(struct store *st, struct store_newsletter *nl);
    int (*newsletters_list)(struct store *st, struct arena *a, int active_only,
                            struct store_newsletter **out, size_t *n);

    /* Copying a whole database (store_copy in store.c). Tables and columns
     * are names from the database's own catalog or store.c's table list,
     * never user input; values travel as text, NULL as NULL. */
    /* Every table of the data model (not the backend's bookkeeping such as
     * schema_migrations), sorted by name, in a. */
    int (*table_names)(struct store *st, struct arena *a, const char ***out,
                       size_t *n);
    /* table's columns in declaration order, in a; *n = 0 when the table
     * does not exist. */
    int (*table_columns)(struct store *st, struct arena *a, const char *table,
                         const char ***out, size_t *n);
    /* Rows in table, or -1 (logged). */
    int64_t (*table_rows)(struct store *st, const char *table);
    /* Calls fn with each row's values of cols (ordered by the first
     * column); vals live until fn returns. A non-zero return of fn stops
     * the walk and is returned. */
    int (*rows_dump)(struct store *st, const char *table,
                     const char *const *cols, size_t ncols, store_row_fn fn,
                     void *ctx);
    /* The writes below run only inside store_tx_begin/commit (an error
     * leaves that transaction failed: roll it back). */
    /* Deletes every row of table. */
    int (*table_clear)(struct store *st, const char *table);
    /* update 0: inserts one row. update 1: sets cols[1..] of the row whose
     * cols[0] equals vals[0]. */
    int (*row_load)(struct store *st, const char *table,
                    const char *const *cols, size_t ncols,
                    const char *const *vals, int update);
    /* Moves table's id generators (sequences, identities) past the largest
     * value stored; a no-op where the database does it itself. */
    int (*ids_reset)(struct store *st, const char *table);

    /* jobs (store.h, "jobs") */
    int (*job_add)(struct store *st, const char *kind, const char *payload,
                   int64_t run_at, const char *unique_key, int64_t *id);
    int (*job_claim)(struct store *st, struct arena *a,
                     const char *const *kinds, size_t nkinds, int64_t now,
                     unsigned lease_s, struct store_job *out);
    int (*job_done)(struct store *st, int64_t id);
    int (*job_extend)(struct store *st, int64_t id, unsigned attempts,
                      int64_t lease_until);
    int (*job_retry)(struct store *st, int64_t id, int64_t run_at,
                     const char *error);
    int (*job_fail)(struct store *st, int64_t id, const char *error);
    int (*jobs_count)(struct store *st, const char *state, size_t *n);
    int (*jobs_prune)(struct store *st, int64_t before, size_t *n);
    int (*posts_publish_due)(struct store *st, int64_t now, size_t *n);

    /* staff (store.h, "staff") */
    int (*staff_save)(struct store *st, struct store_staff *s);
    int (*staff_get_by_email)(struct store *st, struct arena *a,
                              const char *email, struct store_staff *out);
    int (*staff_get)(struct store *st, struct arena *a, int64_t id,
                     struct store_staff *out);
    int (*staff_list)(struct store *st, struct arena *a,
                      struct store_staff **out, size_t *n);

    /* the editorial desk (store.h: posts, revisions, sessions, rate
     * limits, staff tokens, audit log) */
    int (*post_delete)(struct store *st, int64_t id);
    int (*picks_set)(struct store *st, const int64_t *ids, size_t n);
    int (*revision_add)(struct store *st, struct store_revision *r);
    int (*revisions_list)(struct store *st, struct arena *a, int64_t post_id,
                          struct store_revision **out, size_t *n);
    int (*revision_get)(struct store *st, struct arena *a, int64_t id,
                        struct store_revision *out);
    int (*session_add)(struct store *st, const struct store_session *s);
    int (*session_get)(struct store *st, struct arena *a,
                       const char *token_hash, struct store_session *out);
    int (*session_touch)(struct store *st, const char *token_hash,
                         int64_t last_seen_at);
    int (*session_delete)(struct store *st, const char *token_hash);
    int (*sessions_delete_staff)(struct store *st, int64_t staff_id, size_t *n);
    int (*sessions_prune)(struct store *st, int64_t now, int64_t idle_before,
                          size_t *n);
    int (*rate_hit)(struct store *st, const char *key, int64_t now,
                    unsigned window_s, unsigned *count);
    int (*rate_peek)(struct store *st, const char *key, int64_t now,
                     unsigned window_s, unsigned *count);
    int (*rate_clear)(struct store *st, const char *key);
    int (*rate_prune)(struct store *st, int64_t before, size_t *n);
    int (*staff_token_add)(struct store *st, const struct store_staff_token *t);
    int (*staff_token_take)(struct store *st, struct arena *a,
                            const char *token_hash,
                            struct store_staff_token *out);
    int (*staff_token_get)(struct store *st, struct arena *a,
                           const char *token_hash,
                           struct store_staff_token *out);
    int (*staff_totp_get)(struct store *st, struct arena *a, int64_t staff_id,
                          struct store_staff_totp *out);
    int (*staff_totp_set)(struct store *st, int64_t staff_id,
                          const char *secret, int64_t last_step);
    int (*staff_totp_use)(struct store *st, int64_t staff_id, int64_t step);
    int (*audit_add)(struct store *st, struct store_audit *e);
    int (*audit_list)(struct store *st, struct arena *a, int64_t before_id,
                      size_t limit, struct store_audit **out, size_t *n);

    /* newsletters going out (store.h: settings init, newsletter reads,
     * subscribers, subscriptions, sends, the outbox) */
    int (*setting_init)(struct store *st, struct arena *a, const char *key,
                        const char *value, const char **out);
    int (*newsletter_get)(struct store *st, struct arena *a, int64_t id,
                          struct store_newsletter *out);
    int (*newsletter_get_by_slug)(struct store *st, struct arena *a,
                                  const char *slug,
                                  struct store_newsletter *out);
    int (*subscriber_upsert)(struct store *st, const char *email, int64_t now,
                             int64_t *id);
    int (*subscriber_get)(struct store *st, struct arena *a, int64_t id,
                          struct store_subscriber *out);
    int (*subscriber_get_by_email)(struct store *st, struct arena *a,
                                   const char *email,
                                   struct store_subscriber *out);
    int (*subscription_request)(struct store *st, struct arena *a,
                                int64_t subscriber_id, int64_t newsletter_id,
                                int64_t now, const char *token,
                                struct store_subscription *out);
    int (*subscription_set)(struct store *st, int64_t subscriber_id,
                            int64_t newsletter_id, enum store_sub_state state,
                            int64_t now, const char *token);
    int (*subscriptions_of)(struct store *st, struct arena *a,
                            int64_t subscriber_id,
                            struct store_subscription **out, size_t *n);
    int (*subscriptions_purge)(struct store *st, int64_t before, size_t *n);
    int (*subscriptions_search)(struct store *st, struct arena *a,
                                const char *q, int64_t newsletter_id, int state,
                                size_t limit, size_t offset,
                                struct store_subscription **out, size_t *n,
                                size_t *total);
    int (*subscription_counts)(struct store *st, int64_t newsletter_id,
                               size_t counts[3]);
    int (*subscription_daily)(struct store *st, int64_t newsletter_id,
                              int64_t now, size_t ndays, size_t *out);
    int (*send_create)(struct store *st, struct store_send *s);
    int (*send_get)(struct store *st, struct arena *a, int64_t id,
                    struct store_send *out);
    int (*sends_list)(struct store *st, struct arena *a, int64_t newsletter_id,
                      size_t limit, struct store_send **out, size_t *n);
    int (*outbox_progress)(struct store *st, const char *send_id, size_t *sent,
                           size_t *failed, size_t *pending);
    int (*outbox_add)(struct store *st, const char *send_id,
                      int64_t subscriber_id, int64_t now);
    int (*outbox_claim)(struct store *st, struct arena *a, int64_t now,
                        unsigned lease_s, size_t max, struct store_outbox **out,
                        size_t *n);
    int (*outbox_sent)(struct store *st, int64_t id, int64_t now);
    int (*outbox_release)(struct store *st, int64_t id, int64_t next_at,
                          const char *error);
    int (*outbox_retry)(struct store *st, int64_t id, int64_t next_at,
                        const char *error);
    int (*outbox_fail)(struct store *st, int64_t id, const char *error);

    /* narrations (store.h, "narrations") */
    int (*narration_save)(struct store *st, struct store_narration *n);
    int (*narration_latest)(struct store *st, struct arena *a, int64_t post_id,
                            struct store_narration *out);
    int (*narration_ready)(struct store *st, struct arena *a, int64_t post_id,
                           struct store_narration *out);
    int (*narrations_prune)(struct store *st, struct arena *a, int64_t post_id,
                            int64_t keep_id, const char ***files, size_t *n);
    int (*episodes)(struct store *st, struct arena *a, size_t limit,
                    struct store_episode **out, size_t *n);
    int (*posts_unnarrated)(struct store *st, struct arena *a, size_t limit,
                            int64_t **ids, size_t *n);
    int (*post_set_narration_off)(struct store *st, int64_t post_id, int off);

    /* sitemaps (store.h, "sitemaps") */
    int (*post_stamps)(struct store *st, struct arena *a, int64_t now,
                       int64_t since, size_t offset, size_t limit,
                       struct store_post_stamp **out, size_t *n);
    int (*post_stamp_pages)(struct store *st, struct arena *a, int64_t now,
                            size_t per, int64_t **lastmod, size_t *npages);
    int (*archive_stamps)(struct store *st, struct arena *a, int64_t now,
                          struct store_archive_stamp **out, size_t *n);

    /* imports (store.h, "imports") */
    int (*import_map_get)(struct store *st, const char *source,
                          const char *kind, const char *source_id,
                          int64_t *local_id);
    int (*import_map_put)(struct store *st, const char *source,
                          const char *kind, const char *source_id,
                          int64_t local_id);

    /* redirects (store.h, "redirects") */
    int (*redirect_put)(struct store *st, const char *path, const char *target);
    int (*redirect_get)(struct store *st, struct arena *a, const char *path,
                        const char **target);

    /* Content API keys (store.h, "Content API keys") */
    int (*api_key_add)(struct store *st, struct store_api_key *k);
    int (*api_key_find)(struct store *st, struct arena *a, const char *secret,
                        struct store_api_key *out);
    int (*api_keys_list)(struct store *st, struct arena *a,
                         struct store_api_key **out, size_t *n);
    int (*api_key_delete)(struct store *st, int64_t id);

    /* full-text search (store.h, "search") */
    int (*search)(struct store *st, struct arena *a,
                  const struct store_search_query *q,
                  struct store_search_hit **out, size_t *n, size_t *total);
};

/* The head of every backend's state. */
struct store {
    const struct store_ops *ops; /* the backend's functions, never NULL */
};

/* --- migrations, shared by the backends ---------------------------------- */

#define STORE_MIGRATIONS_MAX 256 /* numbered schema files we accept */

/* One embedded schema/NNN_name.sql (or schema_pg/NNN_name.sql) file. */
struct store_migration {
    int number;       /* NNN, 1.. */
    const char *name; /* "schema/001_init.sql" (static) */
    const char *sql;  /* file text, NUL-terminated (static) */
};

/* Collects the embedded migrations into out (room for max), ascending by
 * number. Returns how many, or -1 (logged) for a malformed or duplicate
 * number or more than max files. */
int store_migrations(struct store_migration *out, size_t max);
/* The same for the files under another embedded folder: dir is "schema/"
 * (SQLite, what store_migrations reads) or "schema_pg/" (PostgreSQL). */
int store_migrations_in(const char *dir, struct store_migration *out,
                        size_t max);

/* --- search, shared by the backends (store_search.c) -------------------- */

#define STORE_SEARCH_QUERY_BYTES 300 /* bytes of a query looked at */
#define STORE_SEARCH_TERMS_MAX 16    /* terms of a query kept */
#define STORE_SEARCH_MARK_ON '\x01'  /* snippet sentinels around a hit */
#define STORE_SEARCH_MARK_OFF '\x02'

/* What a reader typed, as plain terms the backends AND together. */
struct store_search_terms {
    char *term[STORE_SEARCH_TERMS_MAX]; /* a word, or a quoted phrase's
                                           words joined by single spaces;
                                           only ASCII letters, digits, valid
                                           UTF-8 and spaces */
    size_t n;                           /* terms, 0 = nothing to find */
};

/* Splits q (NULL = "", only its first STORE_SEARCH_QUERY_BYTES bytes)
 * into t, terms in a. Never fails: operators, punctuation and broken
 * UTF-8 separate words; paired double quotes make a phrase. */
void store_search_terms(struct arena *a, const char *q,
                        struct store_search_terms *t);

/* raw (text with hits between STORE_SEARCH_MARK_ON and _OFF; NULL = "")
 * HTML-escaped, the sentinels turned into <mark> and </mark> (always
 * balanced); in a. */
const char *store_search_snippet_html(struct arena *a, const char *raw);

/* The posts.status text q's hits must have: "published" for readers; for
 * the desk (any_status) its status, or NULL for every status. */
const char *store_search_status(const struct store_search_query *q);

/* --- backends ------------------------------------------------------------ */

/* Opens (creating if missing) the SQLite database file at path and applies
 * pending migrations. NULL with a one-line reason in err. store_sqlite.c. */
struct store *store_sqlite_open(const char *path, char *err, size_t errlen);

/* Connects to the PostgreSQL database of the URL "postgresql://" + rest
 * (rest as store.c strips it; "postgres://" URLs arrive the same way),
 * applies pending schema_pg/ migrations under an advisory lock and starts
 * the thread that LISTENs for other processes' commits. NULL with a
 * one-line reason (no password) in err. store_pg.c. */
struct store *store_pg_open(const char *rest, char *err, size_t errlen);

#endif
