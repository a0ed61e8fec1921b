/*
 * store_sqlite.h - the SQLite backend's state, shared by its six files;
 * internal to src/store/.
 *
 * store_sqlite.c holds connections, statements, transactions, migrations
 * and the store_ops table; store_sqlite_content.c the content operations
 * (posts, authors, tags, images, corrections, live updates, newsletters,
 * settings); store_sqlite_ops.c the jobs queue and the table copy behind
 * store_copy; store_sqlite_desk.c the editorial desk's (post delete,
 * picks, revisions, sessions, rate limits, staff tokens, audit log), and
 * the unprepared-statement helpers it shares with store_sqlite_mail.c,
 * the mail operations (subscribers, subscriptions, sends, the outbox),
 * and store_sqlite_audio.c, the narrations (audio versions of posts).
 * store_sqlite.c's DESIGN comment explains the whole.
 *
 * Names: functions shared between the files start with sq_; the
 * statement ids (S_*) and list filters (F_*) are this backend's own.
 */
#ifndef STORE_STORE_SQLITE_H
#define STORE_STORE_SQLITE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "store/backend.h"
#include "store/store.h"
#include "store/store_sql.h"

#define LIST_LIMIT 10       /* rows when a list asks for 0 */
#define LIST_SQL_BYTES 4096 /* longest generated posts-list statement */

/* --- statements (store_sql.h has the rest) ------------------------------ */

/* Sections first (by position), then tags by name. */
#define TAG_ORDER                                                              \
    "CASE t.kind WHEN 'section' THEN 0 ELSE 1 END, "                           \
    "CASE t.kind WHEN 'section' THEN t.position ELSE 0 END, t.name, t.id"

/* --- state --------------------------------------------------------------- */

struct sq_store;

/* One thread's connection and its prepared statements. */
struct sq_conn {
    struct sq_store *owner;      /* the store it belongs to */
    sqlite3 *db;                 /* open connection */
    sqlite3_stmt *stmts[S__MAX]; /* by enum store_sql_stmt, NULL until used */
    sqlite3_stmt *lists[2 * LIST_SHAPES]; /* posts list by shape (+body) */
    sqlite3_stmt *counts[LIST_SHAPES];    /* posts count by shape */
    int in_tx;                            /* 1 between store_tx_begin/commit */
    struct sq_conn *next_all;             /* every connection of the store */
    struct sq_conn *next_free;            /* free list, when not on a thread */
};

/* The store: its connections and what store_version() needs. */
struct sq_store {
    struct store base;             /* must be first: ops */
    char *path;                    /* database file (malloc) */
    pthread_key_t key;             /* this thread's struct sq_conn */
    int key_made;                  /* 1 once key exists */
    pthread_mutex_t mu;            /* guards all and free */
    struct sq_conn *all;           /* every connection opened */
    struct sq_conn *free;          /* connections of exited threads */
    pthread_mutex_t watch_mu;      /* guards the fields below */
    sqlite3 *watch;                /* migrations and data_version */
    sqlite3_stmt *data_version;    /* PRAGMA data_version on watch */
    sqlite3_stmt *content;         /* SELECT n FROM content_version */
    int64_t last_data_version;     /* its last answer */
    int watch_failed;              /* 1 once a failure was logged */
    atomic_uint_fast64_t version;  /* what store_version() answers */
    atomic_int_fast64_t looked_ms; /* monotonic ms of the last look */
};

/* The SQLite store behind st (which must be one). */
static inline struct sq_store *sq_of(struct store *st)
{
    return (struct sq_store *)st;
}

/* --- helpers (store_sqlite.c) -------------------------------------------- */

/* One row of a statement into *item (an arena array element). */
typedef void (*sq_row_fn)(struct arena *a, sqlite3_stmt *st, void *item);

/* The calling thread's connection, taken or opened on first use. */
struct sq_conn *sq_conn_get(struct sq_store *s);

/* Maps the connection's last error: a unique key gives STORE_CONFLICT,
 * anything else is logged and gives STORE_ERROR. */
int sq_fail(struct sq_conn *c, const char *what);

/* Prepares sql on c (SQLITE_PREPARE_PERSISTENT); NULL (logged) on error.
 * The caller owns the statement (sqlite3_finalize). */
sqlite3_stmt *sq_prepare(struct sq_conn *c, const char *sql);

/* The cached statement id on c, prepared on first use; NULL (logged).
 * Owned by c; reset it with sq_finish() after use. */
sqlite3_stmt *sq_stmt(struct sq_conn *c, enum store_sql_stmt id);

/* Readies a used statement for the next call. NULL is fine. */
void sq_finish(sqlite3_stmt *st);

/* Steps st to the end; 0 or a sq_fail() code. Does not reset. */
int sq_step_all(struct sq_conn *c, sqlite3_stmt *st, const char *what);

/* Binders: parameter i of st; the value is used before it changes (static
 * binding). Return sqlite3_bind_*'s code. */

/* Text or NULL. */
int sq_bind_text(sqlite3_stmt *st, int i, const char *s);

/* For NOT NULL text columns: NULL is stored as dflt. */
int sq_bind_text_or(sqlite3_stmt *st, int i, const char *s, const char *dflt);

/* For references: 0 ("none") is stored as NULL. */
int sq_bind_ref(sqlite3_stmt *st, int i, int64_t id);

/* A 64-bit integer. */
int sq_bind_int(sqlite3_stmt *st, int i, int64_t v);

/* Text column i of the current row copied into a; NULL stays NULL. */
const char *sq_col_text(struct arena *a, sqlite3_stmt *st, int i);

/* Integer column i of the current row (NULL reads 0). */
int64_t sq_col_int(sqlite3_stmt *st, int i);

/* Room for one more item in an arena array of *cap items of size bytes:
 * arr itself, or a copy twice as large in a (updating *cap). */
void *sq_grow(struct arena *a, void *arr, size_t n, size_t *cap, size_t size);

/* Reads every row of st into an arena array of size-byte items: *out and
 * *n (0 with *out NULL when none). 0 or a sq_fail() code. Does not reset
 * st. */
int sq_read_rows(struct sq_conn *c, struct arena *a, sqlite3_stmt *st,
                 size_t size, sq_row_fn row, void **out, size_t *n,
                 const char *what);

/* Reads the one row of st into item; STORE_NOTFOUND without one, else 0
 * or a sq_fail() code. Does not reset st. */
int sq_read_one(struct sq_conn *c, struct arena *a, sqlite3_stmt *st,
                size_t size, sq_row_fn row, void *item, const char *what);

/* Starts the transaction of one write function: its own BEGIN IMMEDIATE,
 * or a savepoint inside the thread's store_tx_begin. */
int sq_write_begin(struct sq_conn *c);

/* Ends what sq_write_begin started: commits when rc is 0, else undoes all of
 * the function's changes. Returns rc, or STORE_ERROR if the commit fails. */
int sq_write_end(struct sq_conn *c, int rc);

/* A read transaction around multi-statement reads (one snapshot). */
int sq_read_begin(struct sq_conn *c);

/* Ends sq_read_begin's transaction (outside store_tx). */
void sq_read_end(struct sq_conn *c);

/* --- unprepared statements (store_sqlite_desk.c) ------------------------ */

/* For operations off the public pages' path (the desk, mail), whose
 * statements are prepared per call rather than cached by id. */

/* One parameter of a statement: text (NULL = SQL NULL) or an integer. */
struct sq_val {
    const char *text; /* when is_text */
    int64_t num;      /* otherwise */
    int is_text;      /* 1 = text */
};

#define SQ_TXT(s)                                                              \
    {                                                                          \
        (s), 0, 1                                                              \
    }
#define SQ_NUM(n)                                                              \
    {                                                                          \
        NULL, (int64_t)(n), 0                                                  \
    }
#define SQ_NVALS(v) (sizeof(v) / sizeof((v)[0]))

/* Prepares sql on c with vals[0..n) bound as ?1..; NULL (logged). Free
 * with sqlite3_finalize. */
sqlite3_stmt *sq_prepare_bound(struct sq_conn *c, const char *sql,
                               const struct sq_val *vals, size_t n);

/* Runs sql on c (inside a transaction the caller began); *changed gets
 * the rows it changed. With row, the first row it returns (RETURNING,
 * SELECT) is read into item (size bytes), and no row is STORE_NOTFOUND.
 * 0 or a sq_fail() code. */
int sq_exec_on(struct sq_conn *c, struct arena *a, const char *sql,
               const struct sq_val *vals, size_t n, sq_row_fn row, void *item,
               size_t size, size_t *changed, const char *what);

/* Runs one write statement in a transaction of its own (a savepoint
 * inside store_tx_begin), as sq_exec_on. When it changes no row, nothing
 * is committed and the result is STORE_NOTFOUND if none_notfound (or
 * with row), else 0. *changed (may be NULL) gets the rows changed. */
int sq_write1(struct store *st, struct arena *a, const char *sql,
              const struct sq_val *vals, size_t n, sq_row_fn row, void *item,
              size_t size, int none_notfound, size_t *changed,
              const char *what);

/* Reads the rows of a query into an arena array of size-byte items. */
int sq_query_rows(struct store *st, struct arena *a, const char *sql,
                  const struct sq_val *vals, size_t n, size_t size,
                  sq_row_fn row, void **out, size_t *nout, const char *what);

/* Reads the one row of a query into item; STORE_NOTFOUND without one. */
int sq_query_one(struct store *st, struct arena *a, const char *sql,
                 const struct sq_val *vals, size_t n, size_t size,
                 sq_row_fn row, void *item, const char *what);

/* --- operations ---------------------------------------------------------- */

/* Each has the contract of the store.h function named store_ + the rest,
 * as reached through store_ops. */

/* store_sqlite_content.c */
const char *sq_setting_get(struct store *st, struct arena *a, const char *key);
int sq_setting_set(struct store *st, const char *key, const char *value);
int sq_post_save(struct store *st, struct store_post *p,
                 const int64_t *author_ids, size_t n_authors,
                 const int64_t *tag_ids, size_t n_tags);
int sq_post_get_by_slug(struct store *st, struct arena *a, const char *slug,
                        struct store_post *out);
int sq_post_get(struct store *st, struct arena *a, int64_t id,
                struct store_post *out);
int sq_posts_list(struct store *st, struct arena *a,
                  const struct store_post_query *query, struct store_post **out,
                  size_t *n, size_t *total);
int sq_correction_add(struct store *st, struct store_correction *cr);
int sq_corrections_list(struct store *st, struct arena *a, int64_t post_id,
                        struct store_correction **out, size_t *n);
int sq_author_save(struct store *st, struct store_author *au);
int sq_author_get_by_slug(struct store *st, struct arena *a, const char *slug,
                          struct store_author *out);
int sq_authors_list(struct store *st, struct arena *a,
                    struct store_author **out, size_t *n);
int sq_tag_save(struct store *st, struct store_tag *t);
int sq_tag_get_by_slug(struct store *st, struct arena *a, const char *slug,
                       struct store_tag *out);
int sq_tags_list(struct store *st, struct arena *a, int kind,
                 struct store_tag **out, size_t *n);
int sq_image_save(struct store *st, struct store_image *img);
int sq_image_get(struct store *st, struct arena *a, int64_t id,
                 struct store_image *out);
int sq_image_get_by_name(struct store *st, struct arena *a, const char *name,
                         struct store_image *out);
int sq_live_save(struct store *st, struct store_live *lu);
int sq_live_delete(struct store *st, int64_t id);
int sq_live_list(struct store *st, struct arena *a, int64_t before,
                 size_t limit, struct store_live **out, size_t *n);
int sq_live_get(struct store *st, struct arena *a, int64_t id,
                struct store_live *out);
int sq_live_events(struct store *st, struct arena *a, int64_t after,
                   size_t limit, struct store_live_event **out, size_t *n);
int64_t sq_live_last_seq(struct store *st);
int sq_newsletter_save(struct store *st, struct store_newsletter *nl);
int sq_newsletters_list(struct store *st, struct arena *a, int active_only,
                        struct store_newsletter **out, size_t *n);

/* store_sqlite_ops.c */
int sq_job_add(struct store *st, const char *kind, const char *payload,
               int64_t run_at, const char *unique_key, int64_t *id);
int sq_job_claim(struct store *st, struct arena *a, const char *const *kinds,
                 size_t nkinds, int64_t now, unsigned lease_s,
                 struct store_job *out);
int sq_job_done(struct store *st, int64_t id);
int sq_job_extend(struct store *st, int64_t id, unsigned attempts,
                  int64_t lease_until);
int sq_job_retry(struct store *st, int64_t id, int64_t run_at,
                 const char *error);
int sq_job_fail(struct store *st, int64_t id, const char *error);
int sq_jobs_count(struct store *st, const char *state, size_t *n);
int sq_jobs_prune(struct store *st, int64_t before, size_t *n);
int sq_posts_publish_due(struct store *st, int64_t now, size_t *n);
int sq_table_names(struct store *st, struct arena *a, const char ***out,
                   size_t *n);
int sq_table_columns(struct store *st, struct arena *a, const char *table,
                     const char ***out, size_t *n);
int64_t sq_table_rows(struct store *st, const char *table);
int sq_rows_dump(struct store *st, const char *table, const char *const *cols,
                 size_t ncols, store_row_fn fn, void *ctx);
int sq_table_clear(struct store *st, const char *table);
int sq_row_load(struct store *st, const char *table, const char *const *cols,
                size_t ncols, const char *const *vals, int update);
int sq_ids_reset(struct store *st, const char *table);
/* staff (store_sqlite_content.c) */
int sq_staff_save(struct store *st, struct store_staff *s);
int sq_staff_get_by_email(struct store *st, struct arena *a, const char *email,
                          struct store_staff *out);
int sq_staff_get(struct store *st, struct arena *a, int64_t id,
                 struct store_staff *out);
int sq_staff_list(struct store *st, struct arena *a, struct store_staff **out,
                  size_t *n);

/* store_sqlite_desk.c */
int sq_post_delete(struct store *st, int64_t id);
int sq_picks_set(struct store *st, const int64_t *ids, size_t n);
int sq_revision_add(struct store *st, struct store_revision *r);
int sq_revisions_list(struct store *st, struct arena *a, int64_t post_id,
                      struct store_revision **out, size_t *n);
int sq_revision_get(struct store *st, struct arena *a, int64_t id,
                    struct store_revision *out);
int sq_session_add(struct store *st, const struct store_session *se);
int sq_session_get(struct store *st, struct arena *a, const char *token_hash,
                   struct store_session *out);
int sq_session_touch(struct store *st, const char *token_hash,
                     int64_t last_seen_at);
int sq_session_delete(struct store *st, const char *token_hash);
int sq_sessions_delete_staff(struct store *st, int64_t staff_id, size_t *n);
int sq_sessions_prune(struct store *st, int64_t now, int64_t idle_before,
                      size_t *n);
int sq_rate_hit(struct store *st, const char *key, int64_t now,
                unsigned window_s, unsigned *count);
int sq_rate_peek(struct store *st, const char *key, int64_t now,
                 unsigned window_s, unsigned *count);
int sq_rate_clear(struct store *st, const char *key);
int sq_rate_prune(struct store *st, int64_t before, size_t *n);
int sq_staff_token_add(struct store *st, const struct store_staff_token *t);
int sq_staff_token_take(struct store *st, struct arena *a,
                        const char *token_hash, struct store_staff_token *out);
int sq_staff_token_get(struct store *st, struct arena *a,
                       const char *token_hash, struct store_staff_token *out);
int sq_staff_totp_get(struct store *st, struct arena *a, int64_t staff_id,
                      struct store_staff_totp *out);
int sq_staff_totp_set(struct store *st, int64_t staff_id, const char *secret,
                      int64_t last_step);
int sq_staff_totp_use(struct store *st, int64_t staff_id, int64_t step);
int sq_audit_add(struct store *st, struct store_audit *e);
int sq_audit_list(struct store *st, struct arena *a, int64_t before_id,
                  size_t limit, struct store_audit **out, size_t *n);

/* store_sqlite_mail.c */
int sq_setting_init(struct store *st, struct arena *a, const char *key,
                    const char *value, const char **out);
int sq_newsletter_get(struct store *st, struct arena *a, int64_t id,
                      struct store_newsletter *out);
int sq_newsletter_get_by_slug(struct store *st, struct arena *a,
                              const char *slug, struct store_newsletter *out);
int sq_subscriber_upsert(struct store *st, const char *email, int64_t now,
                         int64_t *id);
int sq_subscriber_get(struct store *st, struct arena *a, int64_t id,
                      struct store_subscriber *out);
int sq_subscriber_get_by_email(struct store *st, struct arena *a,
                               const char *email, struct store_subscriber *out);
int sq_subscription_request(struct store *st, struct arena *a,
                            int64_t subscriber_id, int64_t newsletter_id,
                            int64_t now, const char *token,
                            struct store_subscription *out);
int sq_subscription_set(struct store *st, int64_t subscriber_id,
                        int64_t newsletter_id, enum store_sub_state state,
                        int64_t now, const char *token);
int sq_subscriptions_of(struct store *st, struct arena *a,
                        int64_t subscriber_id, struct store_subscription **out,
                        size_t *n);
int sq_subscriptions_purge(struct store *st, int64_t before, size_t *n);
int sq_subscriptions_search(struct store *st, struct arena *a, const char *q,
                            int64_t newsletter_id, int state, size_t limit,
                            size_t offset, struct store_subscription **out,
                            size_t *n, size_t *total);
int sq_subscription_counts(struct store *st, int64_t newsletter_id,
                           size_t counts[3]);
int sq_subscription_daily(struct store *st, int64_t newsletter_id, int64_t now,
                          size_t ndays, size_t *out);
int sq_send_create(struct store *st, struct store_send *s);
int sq_send_get(struct store *st, struct arena *a, int64_t id,
                struct store_send *out);
int sq_sends_list(struct store *st, struct arena *a, int64_t newsletter_id,
                  size_t limit, struct store_send **out, size_t *n);
int sq_outbox_progress(struct store *st, const char *send_id, size_t *sent,
                       size_t *failed, size_t *pending);
int sq_outbox_add(struct store *st, const char *send_id, int64_t subscriber_id,
                  int64_t now);
int sq_outbox_claim(struct store *st, struct arena *a, int64_t now,
                    unsigned lease_s, size_t max, struct store_outbox **out,
                    size_t *n);
int sq_outbox_sent(struct store *st, int64_t id, int64_t now);
int sq_outbox_release(struct store *st, int64_t id, int64_t next_at,
                      const char *error);
int sq_outbox_retry(struct store *st, int64_t id, int64_t next_at,
                    const char *error);
int sq_outbox_fail(struct store *st, int64_t id, const char *error);

/* store_sqlite_audio.c */
int sq_narration_save(struct store *st, struct store_narration *n);
int sq_narration_latest(struct store *st, struct arena *a, int64_t post_id,
                        struct store_narration *out);
int sq_narration_ready(struct store *st, struct arena *a, int64_t post_id,
                       struct store_narration *out);
int sq_narrations_prune(struct store *st, struct arena *a, int64_t post_id,
                        int64_t keep_id, const char ***files, size_t *n);
int sq_post_stamps(struct store *st, struct arena *a, int64_t now,
                   int64_t since, size_t offset, size_t limit,
                   struct store_post_stamp **out, size_t *n);
int sq_post_stamp_pages(struct store *st, struct arena *a, int64_t now,
                        size_t per, int64_t **lastmod, size_t *npages);
int sq_import_map_get(struct store *st, const char *source, const char *kind,
                      const char *source_id, int64_t *local_id);
int sq_import_map_put(struct store *st, const char *source, const char *kind,
                      const char *source_id, int64_t local_id);
int sq_api_key_add(struct store *st, struct store_api_key *k);
int sq_api_key_find(struct store *st, struct arena *a, const char *secret,
                    struct store_api_key *out);
int sq_api_keys_list(struct store *st, struct arena *a,
                     struct store_api_key **out, size_t *n);
int sq_api_key_delete(struct store *st, int64_t id);
int sq_redirect_put(struct store *st, const char *path, const char *target);
int sq_redirect_get(struct store *st, struct arena *a, const char *path,
                    const char **target);
int sq_archive_stamps(struct store *st, struct arena *a, int64_t now,
                      struct store_archive_stamp **out, size_t *n);
int sq_episodes(struct store *st, struct arena *a, size_t limit,
                struct store_episode **out, size_t *n);
int sq_posts_unnarrated(struct store *st, struct arena *a, size_t limit,
                        int64_t **ids, size_t *n);
int sq_post_set_narration_off(struct store *st, int64_t post_id, int off);

/* store_sqlite_content.c, for store_sqlite_search.c: POST_COLS (no body)
 * of st's current row from column 0 into p; authors and tags of
 * posts[0..n) (0 or a sq_fail() code). */
void sq_post_read(struct arena *a, sqlite3_stmt *st, struct store_post *p);
int sq_posts_links_fill(struct sq_conn *c, struct arena *a,
                        struct store_post *posts, size_t n);

/* store_sqlite_search.c */
int sq_search(struct store *st, struct arena *a,
              const struct store_search_query *q, struct store_search_hit **out,
              size_t *n, size_t *total);

#endif
