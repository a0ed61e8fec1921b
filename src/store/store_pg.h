/*
 * store_pg.h - the PostgreSQL backend's state, shared by its seven files;
 * internal to src/store/.
 *
 * store_pg.c has connections, statements, transactions and the store_ops
 * table; store_pg_content.c the content operations (posts, authors, tags,
 * images, corrections, live updates, newsletters, settings);
 * store_pg_ops.c the jobs queue and the table copy behind store_copy;
 * store_pg_desk.c the editorial desk's (post delete, picks, revisions,
 * sessions, rate limits, staff tokens, audit log); store_pg_mail.c the
 * mail operations (subscribers, subscriptions, sends, the outbox);
 * store_pg_audio.c the narrations (audio versions of posts);
 * store_pg_setup.c connects, applies the schema_pg/ migrations and runs
 * the listener thread behind store_version(). store_pg.c's DESIGN comment
 * explains the whole.
 *
 * Names: store_pg_* are store_pg_setup.c's; the other functions shared
 * between the files start with pg_. The statement ids (S_*) and list
 * filters (F_*) are this backend's own.
 */
#ifndef STORE_STORE_PG_H
#define STORE_STORE_PG_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "store/backend.h"
#include "store/store.h"
#include "store/store_sql.h"

/* Prepared statement slots of a connection: the fixed statements, then
 * one per posts-list shape with and without body, and per count. */
#define STORE_PG_SLOTS 2048

struct store_pg;

/* One thread's connection and which statements it has prepared. */
struct store_pg_conn {
    struct store_pg *owner;                 /* the store it belongs to */
    PGconn *pg;                             /* open connection */
    unsigned char prepared[STORE_PG_SLOTS]; /* 1 = slot i prepared as "sI" */
    int in_tx;                       /* 1 between store_tx_begin/commit */
    int pid;                         /* server backend pid (guarded by mu) */
    struct store_pg_conn *next_all;  /* every connection of the store */
    struct store_pg_conn *next_free; /* free list, when not on a thread */
};

struct store_pg {
    struct store base;           /* must be first: ops */
    char *url;                   /* "postgresql://..." for libpq (malloc) */
    char *label;                 /* url without password, for messages */
    pthread_key_t key;           /* this thread's struct store_pg_conn */
    int key_made;                /* 1 once key exists */
    pthread_mutex_t mu;          /* guards all, free and every conn's pid */
    struct store_pg_conn *all;   /* every connection opened */
    struct store_pg_conn *free;  /* connections of exited threads */
    PGconn *listen;              /* LISTENs; the listener thread's own
                                    once it runs; NULL while reconnecting */
    pthread_t listener;          /* the thread counting notifications */
    int listener_started;        /* 1 once listener runs */
    int stop[2];                 /* pipe: closing stop[1] ends the
                                    listener; -1 when not open */
    atomic_uint_fast64_t own;    /* commits made by this store */
    atomic_uint_fast64_t others; /* commits seen through NOTIFY */
    atomic_int listening;        /* 1 while listen is connected */
};

/* Copies msg (a libpq message, NULL ok) into buf (size len > 0) on one
 * line: runs of whitespace become one space. Returns buf. */
const char *store_pg_one_line(char *buf, size_t len, const char *msg);

/* url without its password and query string, for messages (malloc; NULL
 * when out of memory). */
char *store_pg_label(const char *url);

/* Connects to url with newsroom's settings (UTF-8, a connect timeout,
 * server notices to the debug log). NULL with a reason naming label. */
PGconn *store_pg_connect(const char *url, const char *label, char *err,
                         size_t errlen);

/* Applies every embedded schema_pg/ migration newer than the database on
 * pg, in order, each in one transaction with its schema_migrations row,
 * while holding a session advisory lock. 0, or -1 with err. */
int store_pg_migrate(PGconn *pg, char *err, size_t errlen);

/* LISTENs on s->listen (already connected) and starts the thread that
 * counts other processes' commits into s->others. 0, or -1 with err. */
int store_pg_listen(struct store_pg *s, char *err, size_t errlen);

/* Stops and joins the listener thread, if started. */
void store_pg_unlisten(struct store_pg *s);

/* --- shared by store_pg.c, store_pg_content.c and store_pg_ops.c --------- */

#define MAX_PARAMS 24 /* parameters of the widest statement */

/* --- statements (store_sql.h has the rest) ------------------------------ */

/* Sections first (by position), then tags by name. Names sort byte-wise
 * (COLLATE "C"), as in SQLite, whatever the locale the database was
 * created with. */
#define TAG_ORDER                                                              \
    "CASE t.kind WHEN 'section' THEN 0 ELSE 1 END, "                           \
    "CASE t.kind WHEN 'section' THEN t.position ELSE 0 END, "                  \
    "t.name COLLATE \"C\", t.id"

/* Prepared statement slots: stmt ids, then lists, lists with body, counts */
#define SLOT_LIST(shape, body) (S__MAX + (body ? LIST_SHAPES : 0) + (shape))
#define SLOT_COUNT(shape) (S__MAX + 2 * LIST_SHAPES + (shape))
_Static_assert(S__MAX + 3 * LIST_SHAPES <= STORE_PG_SLOTS,
               "STORE_PG_SLOTS too small");

/* Text values of one statement's parameters, $1 at v[0]. */
struct pg_params {
    const char *v[MAX_PARAMS]; /* value text, NULL = SQL NULL */
    char num[MAX_PARAMS][24];  /* digits of integer values */
    int n;                     /* parameters passed: the highest set */
};

/* One result row into *item (an arena array element). */
typedef void (*pg_row_fn)(struct arena *a, const PGresult *r, int row,
                          void *item);

/* The PostgreSQL store behind st (which must be one). */
static inline struct store_pg *pg_of(struct store *st)
{
    return (struct store_pg *)st;
}

/* The calling thread's connection, taken or opened on first use. */
struct store_pg_conn *pg_conn_get(struct store_pg *s);

/* Prepares sql as slot's statement on c ("s<slot>") with the declared
 * types; 0 or -1 logged. */
int pg_prepare(struct store_pg_conn *c, int slot, const char *sql,
               const char *types);

/* Runs slot's prepared statement with p; on success 0 with the result in
 * *out (caller PQclear()s), else a pg_fail() code and *out NULL. */
int pg_exec_slot(struct store_pg_conn *c, int slot, const struct pg_params *p,
                 PGresult **out, const char *what);

/* Runs statement id (prepared on first use) with p; as pg_exec_slot.
 * A statement sent on an idle connection (a BEGIN, a lone read) that
 * finds the connection broken, as after a server restart, is sent again
 * once on a fresh one: nothing of it can have happened. */
int pg_exec(struct store_pg_conn *c, enum store_sql_stmt id,
            const struct pg_params *p, PGresult **out, const char *what);

/* pg_exec() for statements whose rows are not needed. */
int pg_run(struct store_pg_conn *c, enum store_sql_stmt id,
           const struct pg_params *p, const char *what);

/* Maps a failed result: a unique violation gives STORE_CONFLICT, anything
 * else is logged and gives STORE_ERROR. res may be NULL (no result). */
int pg_fail(struct store_pg_conn *c, const PGresult *res, const char *what);

/* Text of a column copied into a; NULL stays NULL. */
const char *pg_col_text(struct arena *a, const PGresult *r, int row, int col);

/* Integer value of a column (NULL reads 0). */
int64_t pg_col_int(const PGresult *r, int row, int col);

/* Copies every row of r into an arena array of size-byte items. */
void pg_read_rows(struct arena *a, const PGresult *r, size_t size,
                  pg_row_fn row, void **out, size_t *n);

/* Runs statement id with p into an arena array; the shape of every list. */
int pg_list(struct store_pg_conn *c, struct arena *a, enum store_sql_stmt id,
            const struct pg_params *p, size_t size, pg_row_fn row, void **out,
            size_t *n, const char *what);

/* Runs statement id with p and copies its one row into item;
 * STORE_NOTFOUND without one. */
int pg_get_one(struct store_pg_conn *c, struct arena *a, enum store_sql_stmt id,
               const struct pg_params *p, size_t size, pg_row_fn row,
               void *item, const char *what);

/* One integer from the first column of statement id; fallback on error. */
int64_t pg_get_int(struct store_pg_conn *c, enum store_sql_stmt id,
                   int64_t fallback, const char *what);

/* v as an int64_t, INT64_MAX when larger (limits and offsets). */
int64_t pg_clamp64(size_t v);

/* Starts the transaction of one write function: its own BEGIN, or a
 * savepoint inside the thread's store_tx_begin. */
int pg_write_begin(struct store_pg_conn *c);

/* Ends what pg_write_begin started: commits when rc is 0, else undoes all of
 * the function's changes. Returns rc, or STORE_ERROR if the commit fails. */
int pg_write_end(struct store_pg_conn *c, int rc);

/* pg_write_end for writes that touch only tables without the
 * newsroom_changed() trigger (sessions, rate_limits, staff_tokens,
 * audit_log; schema_pg/004; subscribers, subscriptions, sends,
 * mail_outbox; schema_pg/005): the commit is not counted in store_version(),
 * so it flushes no page cache here, as it notifies no other process. */
int pg_write_end_unseen(struct store_pg_conn *c, int rc);

/* Runs sql unprepared (PQexecParams, types inferred) with p on c; on
 * success 0 with the result in *out (the caller PQclear()s), else a
 * pg_fail() code and *out NULL. For statements off the public pages' path
 * (jobs, the desk), which need no prepared-statement slot. */
int pg_exec_sql(struct store_pg_conn *c, const char *sql,
                const struct pg_params *p, PGresult **out, const char *what);

/* Runs one write statement in a transaction of its own (a savepoint
 * inside store_tx_begin). With row, the first row it returns (RETURNING)
 * is read into item (size bytes), and no row is STORE_NOTFOUND. When it
 * changes no row nothing is committed, and the result is STORE_NOTFOUND
 * if none_notfound, else 0. *changed (may be NULL) gets the rows changed.
 * seen: 0 = the tables written have no newsroom_changed() trigger
 * (pg_write_end_unseen). */
int pg_write1(struct store *st, struct arena *a, const char *sql,
              const struct pg_params *p, pg_row_fn row, void *item, size_t size,
              int none_notfound, size_t *changed, int seen, const char *what);

/* Reads the rows of sql (unprepared, as pg_exec_sql) into an arena array
 * of size-byte items. store_pg_desk.c. */
int pg_query_rows(struct store *st, struct arena *a, const char *sql,
                  const struct pg_params *p, size_t size, pg_row_fn row,
                  void **out, size_t *n, const char *what);

/* Reads the one row of sql into item; STORE_NOTFOUND without one.
 * store_pg_desk.c. */
int pg_query_one(struct store *st, struct arena *a, const char *sql,
                 const struct pg_params *p, size_t size, pg_row_fn row,
                 void *item, const char *what);

/* A read transaction around multi-statement reads (one snapshot). */
int pg_read_begin(struct store_pg_conn *c);

/* Ends pg_read_begin's transaction (outside store_tx). */
void pg_read_end(struct store_pg_conn *c);

/* Parameter setters: $pos of p. Text is not copied: it must live until
 * the statement has run. */

/* Text or NULL. */
void pg_param_text(struct pg_params *p, int pos, const char *s);

/* For NOT NULL text columns: NULL is stored as dflt. */
void pg_param_text_or(struct pg_params *p, int pos, const char *s,
                      const char *dflt);

/* An integer, as its digits in p. */
void pg_param_int(struct pg_params *p, int pos, int64_t v);

/* For references: 0 ("none") is stored as NULL. */
void pg_param_ref(struct pg_params *p, int pos, int64_t id);

/* --- operations ---------------------------------------------------------- */

/* Each has the contract of the store.h function named store_ + the rest,
 * as reached through store_ops. */

/* store_pg_content.c */
const char *pg_setting_get(struct store *st, struct arena *a, const char *key);
int pg_setting_set(struct store *st, const char *key, const char *value);
int pg_post_save(struct store *st, struct store_post *p,
                 const int64_t *author_ids, size_t n_authors,
                 const int64_t *tag_ids, size_t n_tags);
int pg_post_get_by_slug(struct store *st, struct arena *a, const char *slug,
                        struct store_post *out);
int pg_post_get(struct store *st, struct arena *a, int64_t id,
                struct store_post *out);
int pg_posts_list(struct store *st, struct arena *a,
                  const struct store_post_query *query, struct store_post **out,
                  size_t *n, size_t *total);
int pg_correction_add(struct store *st, struct store_correction *cr);
int pg_corrections_list(struct store *st, struct arena *a, int64_t post_id,
                        struct store_correction **out, size_t *n);
int pg_author_save(struct store *st, struct store_author *au);
int pg_author_get_by_slug(struct store *st, struct arena *a, const char *slug,
                          struct store_author *out);
int pg_authors_list(struct store *st, struct arena *a,
                    struct store_author **out, size_t *n);
int pg_tag_save(struct store *st, struct store_tag *t);
int pg_tag_get_by_slug(struct store *st, struct arena *a, const char *slug,
                       struct store_tag *out);
int pg_tags_list(struct store *st, struct arena *a, int kind,
                 struct store_tag **out, size_t *n);
int pg_image_save(struct store *st, struct store_image *img);
int pg_image_get(struct store *st, struct arena *a, int64_t id,
                 struct store_image *out);
int pg_image_get_by_name(struct store *st, struct arena *a, const char *name,
                         struct store_image *out);
int pg_live_save(struct store *st, struct store_live *lu);
int pg_live_delete(struct store *st, int64_t id);
int pg_live_list(struct store *st, struct arena *a, int64_t before,
                 size_t limit, struct store_live **out, size_t *n);
int pg_live_get(struct store *st, struct arena *a, int64_t id,
                struct store_live *out);
int pg_live_events(struct store *st, struct arena *a, int64_t after,
                   size_t limit, struct store_live_event **out, size_t *n);
int64_t pg_live_last_seq(struct store *st);
int pg_newsletter_save(struct store *st, struct store_newsletter *nl);
int pg_newsletters_list(struct store *st, struct arena *a, int active_only,
                        struct store_newsletter **out, size_t *n);

/* store_pg_ops.c */
int pg_job_add(struct store *st, const char *kind, const char *payload,
               int64_t run_at, const char *unique_key, int64_t *id);
int pg_job_claim(struct store *st, struct arena *a, const char *const *kinds,
                 size_t nkinds, int64_t now, unsigned lease_s,
                 struct store_job *out);
int pg_job_done(struct store *st, int64_t id);
int pg_job_extend(struct store *st, int64_t id, unsigned attempts,
                  int64_t lease_until);
int pg_job_retry(struct store *st, int64_t id, int64_t run_at,
                 const char *error);
int pg_job_fail(struct store *st, int64_t id, const char *error);
int pg_jobs_count(struct store *st, const char *state, size_t *n);
int pg_jobs_prune(struct store *st, int64_t before, size_t *n);
int pg_posts_publish_due(struct store *st, int64_t now, size_t *n);
int pg_table_names(struct store *st, struct arena *a, const char ***out,
                   size_t *n);
int pg_table_columns(struct store *st, struct arena *a, const char *table,
                     const char ***out, size_t *n);
int64_t pg_table_rows(struct store *st, const char *table);
int pg_rows_dump(struct store *st, const char *table, const char *const *cols,
                 size_t ncols, store_row_fn fn, void *ctx);
int pg_table_clear(struct store *st, const char *table);
int pg_row_load(struct store *st, const char *table, const char *const *cols,
                size_t ncols, const char *const *vals, int update);
int pg_ids_reset(struct store *st, const char *table);
/* staff (store_pg_content.c) */
int pg_staff_save(struct store *st, struct store_staff *s);
int pg_staff_get_by_email(struct store *st, struct arena *a, const char *email,
                          struct store_staff *out);
int pg_staff_get(struct store *st, struct arena *a, int64_t id,
                 struct store_staff *out);
int pg_staff_list(struct store *st, struct arena *a, struct store_staff **out,
                  size_t *n);

/* store_pg_desk.c */
int pg_post_delete(struct store *st, int64_t id);
int pg_picks_set(struct store *st, const int64_t *ids, size_t n);
int pg_revision_add(struct store *st, struct store_revision *r);
int pg_revisions_list(struct store *st, struct arena *a, int64_t post_id,
                      struct store_revision **out, size_t *n);
int pg_revision_get(struct store *st, struct arena *a, int64_t id,
                    struct store_revision *out);
int pg_session_add(struct store *st, const struct store_session *se);
int pg_session_get(struct store *st, struct arena *a, const char *token_hash,
                   struct store_session *out);
int pg_session_touch(struct store *st, const char *token_hash,
                     int64_t last_seen_at);
int pg_session_delete(struct store *st, const char *token_hash);
int pg_sessions_delete_staff(struct store *st, int64_t staff_id, size_t *n);
int pg_sessions_prune(struct store *st, int64_t now, int64_t idle_before,
                      size_t *n);
int pg_rate_hit(struct store *st, const char *key, int64_t now,
                unsigned window_s, unsigned *count);
int pg_rate_peek(struct store *st, const char *key, int64_t now,
                 unsigned window_s, unsigned *count);
int pg_rate_clear(struct store *st, const char *key);
int pg_rate_prune(struct store *st, int64_t before, size_t *n);
int pg_staff_token_add(struct store *st, const struct store_staff_token *t);
int pg_staff_token_take(struct store *st, struct arena *a,
                        const char *token_hash, struct store_staff_token *out);
int pg_staff_token_get(struct store *st, struct arena *a,
                       const char *token_hash, struct store_staff_token *out);
int pg_staff_totp_get(struct store *st, struct arena *a, int64_t staff_id,
                      struct store_staff_totp *out);
int pg_staff_totp_set(struct store *st, int64_t staff_id, const char *secret,
                      int64_t last_step);
int pg_staff_totp_use(struct store *st, int64_t staff_id, int64_t step);
int pg_audit_add(struct store *st, struct store_audit *e);
int pg_audit_list(struct store *st, struct arena *a, int64_t before_id,
                  size_t limit, struct store_audit **out, size_t *n);

/* store_pg_mail.c */
int pg_setting_init(struct store *st, struct arena *a, const char *key,
                    const char *value, const char **out);
int pg_newsletter_get(struct store *st, struct arena *a, int64_t id,
                      struct store_newsletter *out);
int pg_newsletter_get_by_slug(struct store *st, struct arena *a,
                              const char *slug, struct store_newsletter *out);
int pg_subscriber_upsert(struct store *st, const char *email, int64_t now,
                         int64_t *id);
int pg_subscriber_get(struct store *st, struct arena *a, int64_t id,
                      struct store_subscriber *out);
int pg_subscriber_get_by_email(struct store *st, struct arena *a,
                               const char *email, struct store_subscriber *out);
int pg_subscription_request(struct store *st, struct arena *a,
                            int64_t subscriber_id, int64_t newsletter_id,
                            int64_t now, const char *token,
                            struct store_subscription *out);
int pg_subscription_set(struct store *st, int64_t subscriber_id,
                        int64_t newsletter_id, enum store_sub_state state,
                        int64_t now, const char *token);
int pg_subscriptions_of(struct store *st, struct arena *a,
                        int64_t subscriber_id, struct store_subscription **out,
                        size_t *n);
int pg_subscriptions_purge(struct store *st, int64_t before, size_t *n);
int pg_subscriptions_search(struct store *st, struct arena *a, const char *q,
                            int64_t newsletter_id, int state, size_t limit,
                            size_t offset, struct store_subscription **out,
                            size_t *n, size_t *total);
int pg_subscription_counts(struct store *st, int64_t newsletter_id,
                           size_t counts[3]);
int pg_subscription_daily(struct store *st, int64_t newsletter_id, int64_t now,
                          size_t ndays, size_t *out);
int pg_send_create(struct store *st, struct store_send *s);
int pg_send_get(struct store *st, struct arena *a, int64_t id,
                struct store_send *out);
int pg_sends_list(struct store *st, struct arena *a, int64_t newsletter_id,
                  size_t limit, struct store_send **out, size_t *n);
int pg_outbox_progress(struct store *st, const char *send_id, size_t *sent,
                       size_t *failed, size_t *pending);
int pg_outbox_add(struct store *st, const char *send_id, int64_t subscriber_id,
                  int64_t now);
int pg_outbox_claim(struct store *st, struct arena *a, int64_t now,
                    unsigned lease_s, size_t max, struct store_outbox **out,
                    size_t *n);
int pg_outbox_sent(struct store *st, int64_t id, int64_t now);
int pg_outbox_release(struct store *st, int64_t id, int64_t next_at,
                      const char *error);
int pg_outbox_retry(struct store *st, int64_t id, int64_t next_at,
                    const char *error);
int pg_outbox_fail(struct store *st, int64_t id, const char *error);

/* store_pg_audio.c */
int pg_narration_save(struct store *st, struct store_narration *n);
int pg_narration_latest(struct store *st, struct arena *a, int64_t post_id,
                        struct store_narration *out);
int pg_narration_ready(struct store *st, struct arena *a, int64_t post_id,
                       struct store_narration *out);
int pg_narrations_prune(struct store *st, struct arena *a, int64_t post_id,
                        int64_t keep_id, const char ***files, size_t *n);
int pg_post_stamps(struct store *st, struct arena *a, int64_t now,
                   int64_t since, size_t offset, size_t limit,
                   struct store_post_stamp **out, size_t *n);
int pg_post_stamp_pages(struct store *st, struct arena *a, int64_t now,
                        size_t per, int64_t **lastmod, size_t *npages);
int pg_import_map_get(struct store *st, const char *source, const char *kind,
                      const char *source_id, int64_t *local_id);
int pg_import_map_put(struct store *st, const char *source, const char *kind,
                      const char *source_id, int64_t local_id);
int pg_api_key_add(struct store *st, struct store_api_key *k);
int pg_api_key_find(struct store *st, struct arena *a, const char *secret,
                    struct store_api_key *out);
int pg_api_keys_list(struct store *st, struct arena *a,
                     struct store_api_key **out, size_t *n);
int pg_api_key_delete(struct store *st, int64_t id);
int pg_redirect_put(struct store *st, const char *path, const char *target);
int pg_redirect_get(struct store *st, struct arena *a, const char *path,
                    const char **target);
int pg_archive_stamps(struct store *st, struct arena *a, int64_t now,
                      struct store_archive_stamp **out, size_t *n);
int pg_episodes(struct store *st, struct arena *a, size_t limit,
                struct store_episode **out, size_t *n);
int pg_posts_unnarrated(struct store *st, struct arena *a, size_t limit,
                        int64_t **ids, size_t *n);
int pg_post_set_narration_off(struct store *st, int64_t post_id, int off);

/* store_pg_content.c, for store_pg_search.c: POST_COLS (no body) of row
 * of r from column 0 into p; authors and tags of posts[0..n) (0 or -1,
 * logged). */
void pg_post_read(struct arena *a, const PGresult *r, int row,
                  struct store_post *p);
int pg_posts_links_fill(struct store_pg_conn *c, struct arena *a,
                        struct store_post *posts, size_t n);

/* store_pg_search.c */
int pg_search(struct store *st, struct arena *a,
              const struct store_search_query *q, struct store_search_hit **out,
              size_t *n, size_t *total);

#endif
