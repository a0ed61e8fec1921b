/*
 * store.h - the one interface to newsroom's data, whatever the database.
 *
 * Callers (content/, web/, main.c) see only this header. A backend
 * (store_sqlite.c, store_pg.c) fills a struct store_ops vtable;
 * store.c picks the backend from the site's `database` setting and forwards
 * every call, so adding a backend changes no caller.
 *
 * Rules every backend keeps (tests/unit/test_store*.c check them on each):
 * - Thread-safe: any function may be called from any thread at once.
 * - Everything a read returns is allocated in the caller's arena (first
 *   argument after the store); nothing needs freeing separately.
 * - Times are Unix seconds (UTC); 0 means "not set".
 * - Writes are atomic: a function either applies all of its change or none.
 *   store_tx_begin/commit group several writes into one transaction on the
 *   calling thread.
 * - Every committed write, by this process or another one on the same
 *   database, changes store_version() (used to invalidate caches).
 * - Errors: -1 with the reason logged; STORE_NOTFOUND where a lookup misses;
 *   STORE_CONFLICT where a unique key (slug, email) is taken.
 * - Text is UTF-8, already validated by the caller.
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct store;

enum store_err {
    STORE_OK = 0,
    STORE_ERROR = -1,    /* database failure, logged */
    STORE_NOTFOUND = -2, /* no such row */
    STORE_CONFLICT = -3, /* unique key already taken */
};

/* A short lower-case phrase for an enum store_err value ("not found"). */
const char *store_strerror(int err);

/* Why the calling thread's last STORE_ERROR happened, when it was the
 * storage rather than a bug: lets the web layer tell a person what to fix
 * (docs/faults.md). */
enum store_fault {
    STORE_FAULT_NONE,     /* no fault, or a failure of another kind */
    STORE_FAULT_FULL,     /* the database's disk is full (SQLITE_FULL,
                             ENOSPC; PostgreSQL 53100) */
    STORE_FAULT_READONLY, /* the database cannot be written: read-only
                             file or mount (SQLITE_READONLY; 25006) */
};

/* The storage fault behind the calling thread's last failed write:
 * reset to STORE_FAULT_NONE when a write (or store_tx_begin) starts, set
 * when that write fails because of the storage, left NONE when it fails
 * for another reason. Thread-local and free to read: read it right after
 * the call that returned STORE_ERROR (reads do not reset it).
 * Backends set it with store_fault_note(); callers outside src/store/
 * never do. */
enum store_fault store_last_fault(void);
void store_fault_note(enum store_fault f);

enum store_post_status {
    STORE_POST_DRAFT,     /* not public */
    STORE_POST_SCHEDULED, /* goes public at published_at */
    STORE_POST_PUBLISHED, /* public */
};

/* An image in media/, with resized variants made by media/. */
struct store_image {
    int64_t id;          /* 0 until stored */
    const char *name;    /* base path under media/, e.g. "images/grid" */
    unsigned width;      /* pixels of the original */
    unsigned height;     /* pixels of the original */
    const char *widths;  /* variant widths, "480,960,1600" */
    const char *formats; /* variant formats, "webp,jpg" (first preferred) */
    const char *alt;     /* default alt text, or NULL */
};

struct store_author {
    int64_t id;                 /* 0 until stored */
    const char *slug;           /* URL name, unique */
    const char *name;           /* display name */
    const char *role;           /* job title, "Senior correspondent", or NULL */
    const char *email;          /* or NULL */
    const char *location;       /* or NULL */
    const char *bio;            /* Markdown, or NULL */
    int64_t avatar_id;          /* store_image id, or 0 */
    struct store_image *avatar; /* filled by reads when avatar_id != 0 */
};

enum store_tag_kind {
    STORE_TAG_TAG,     /* free tag */
    STORE_TAG_SECTION, /* a section of the paper (World, Economy...) */
};

struct store_tag {
    int64_t id;              /* 0 until stored */
    const char *slug;        /* unique across kinds */
    const char *name;        /* display name */
    const char *description; /* or NULL */
    enum store_tag_kind kind;
    unsigned position; /* order of sections in the navigation */
};

struct store_correction {
    int64_t id;       /* 0 until stored */
    int64_t post_id;  /* the post corrected */
    int64_t at;       /* when the correction was made */
    const char *text; /* Markdown */
};

struct store_post {
    int64_t id;                   /* 0 until stored */
    const char *slug;             /* unique */
    const char *title;            /* headline */
    const char *standfirst;       /* dek, or NULL */
    const char *markdown;         /* body source */
    const char *html;             /* body rendered by render/md */
    const char *plaintext;        /* body as text (excerpts, search) */
    const char *excerpt;          /* one-line summary */
    const char *meta_title;       /* <title>/og override, or NULL */
    const char *meta_description; /* description override, or NULL */
    const char *language;         /* BCP 47, "en" */
    enum store_post_status status;
    int featured;                /* 1 = lead story candidate */
    unsigned pick_order;         /* Editors' Pick position 1.., 0 = not */
    int narration_off;           /* 1 = no audio version for this post */
    unsigned words;              /* body words */
    unsigned reading_minutes;    /* from content/reading */
    int64_t feature_image_id;    /* store_image id, or 0 */
    const char *feature_alt;     /* alt text for this use, or NULL */
    const char *feature_caption; /* Markdown, or NULL */
    const char *feature_credit;  /* plain text, or NULL */
    int64_t created_at;
    int64_t published_at; /* 0 for a draft never published */
    int64_t updated_at;   /* last public-facing change, or 0 */
    /* filled by reads: */
    struct store_image *feature_image; /* or NULL */
    struct store_author *authors;      /* byline order */
    size_t nauthors;
    struct store_tag *tags; /* the section first, if any */
    size_t ntags;
};

struct store_live {
    int64_t id;         /* 0 until stored */
    int64_t at;         /* time shown with the update */
    int64_t updated_at; /* 0 unless edited after posting */
    const char *headline;
    const char *body;      /* Markdown */
    const char *html;      /* body rendered */
    const char *link_slug; /* slug of a related post, or NULL */
    int key;               /* 1 = key update */
};

struct store_newsletter {
    int64_t id;       /* 0 until stored */
    const char *slug; /* unique */
    const char *name;
    const char *description;
    const char *sender_name;
    const char *sender_email;
    int64_t author_id; /* columnist's store_author id, or 0 */
    int active;        /* 1 = shown with a sign-up form */
    unsigned position; /* display order */
};

/* What store_posts_list returns. Zero the struct, then set what matters. */
struct store_post_query {
    int status;               /* enum store_post_status, or -1 for any */
    const char *tag_slug;     /* only posts with this tag/section, or NULL */
    const char *author_slug;  /* only posts by this author, or NULL */
    int featured_only;        /* 1 = featured posts only */
    int picks_only;           /* 1 = Editors' Picks, ordered by pick_order */
    int64_t published_before; /* only published_at <= this, 0 = no bound */
    const char *exclude_slug; /* leave this post out, or NULL */
    size_t limit;             /* rows wanted (0 = 10) */
    size_t offset;            /* rows skipped */
    int with_body;            /* 1 = fill markdown/html/plaintext too */
    const char *title_search; /* only posts whose title contains this text,
                                 case-insensitively for ASCII letters; NULL or
                                 "" = no filter. LIKE wildcards (% _) in it are
                                 matched literally. */
    int desk_order;           /* 1 = order by created_at DESC, id DESC (the
                                 desk's list) instead of the public order */
};

/* --- lifecycle ------------------------------------------------------- */

/* Opens the database named by url: "sqlite:PATH", a plain path (SQLite), or
 * "postgresql://..." (PostgreSQL). Runs pending migrations.
 * Returns NULL with a one-line reason in err. Free with store_close(). */
struct store *store_open(const char *url, char *err, size_t errlen);
void store_close(struct store *st);

/* The content version: changes whenever any connection (any process)
 * commits a write to a table readers see (posts and their links, images,
 * authors, tags, corrections, live updates and their log, newsletters,
 * narrations, settings); bookkeeping writes (sessions, rate limits, jobs,
 * mail, subscribers, staff, revisions, audit) leave it alone. Cheap: an
 * atomic read, no query. A commit made through this store shows at once;
 * another process's within 100 ms on SQLite (one look at the database per
 * interval, shared by all threads), within a moment on PostgreSQL (it
 * arrives by LISTEN/NOTIFY). */
uint64_t store_version(struct store *st);
/* store_version, but on SQLite looking at the database now rather than
 * trusting a look made less than 100 ms ago: for one watcher thread (the
 * live feed's), not for every request. */
uint64_t store_version_fresh(struct store *st);
/* Number of the newest migration applied. */
int store_schema_version(struct store *st);

/* 1 when the database can be reached right now, 0 during an outage
 * (PostgreSQL down or unreachable). Cheap: no query. SQLite is always 1.
 * On PostgreSQL it is 0 while the listening connection is down (it
 * reconnects every second) or when the calling thread's connection is
 * broken and cannot be reopened at once. The web layer answers 503 with
 * Retry-After while it is 0 (docs/scale-out.md, "Outages"). */
int store_available(struct store *st);

/* Groups the calling thread's next writes into one transaction. */
int store_tx_begin(struct store *st);
int store_tx_commit(struct store *st);
void store_tx_rollback(struct store *st);

/* --- settings (key/value text) ---------------------------------------- */

/* Value or NULL when unset. */
const char *store_setting_get(struct store *st, struct arena *a,
                              const char *key);
int store_setting_set(struct store *st, const char *key, const char *value);
/* Sets key to value only when it has no value yet (atomic across nodes);
 * then *out (in a) gets the value the store holds. For secrets made once.
 * 0 or -1; a key already set is not written again. */
int store_setting_init(struct store *st, struct arena *a, const char *key,
                       const char *value, const char **out);

/* --- posts ------------------------------------------------------------ */

/* Inserts (p->id == 0) or updates the post, its author list (author_ids,
 * n_authors, in byline order) and tags (tag_ids, the section first).
 * Sets p->id on insert. STORE_CONFLICT if the slug is taken. */
int store_post_save(struct store *st, struct store_post *p,
                    const int64_t *author_ids, size_t n_authors,
                    const int64_t *tag_ids, size_t n_tags);
/* Reads one post with body, authors, tags and image; STORE_NOTFOUND. */
int store_post_get_by_slug(struct store *st, struct arena *a, const char *slug,
                           struct store_post *out);
int store_post_get(struct store *st, struct arena *a, int64_t id,
                   struct store_post *out);
/* Lists posts newest first (picks: by pick_order). *out is an array in a;
 * *total (may be NULL) gets the count without limit/offset. */
int store_posts_list(struct store *st, struct arena *a,
                     const struct store_post_query *q, struct store_post **out,
                     size_t *n, size_t *total);

/* Deletes a post with its revisions, corrections, byline and tags.
 * STORE_NOTFOUND when there is no such post. */
int store_post_delete(struct store *st, int64_t id);

/* Sets the Editors' Picks in one transaction: post ids[i] gets
 * pick_order i+1, every other post 0. STORE_NOTFOUND (nothing changed)
 * when an id does not exist. n may be 0 (no picks). */
int store_picks_set(struct store *st, const int64_t *ids, size_t n);

int store_correction_add(struct store *st, struct store_correction *c);
/* Oldest first. */
int store_corrections_list(struct store *st, struct arena *a, int64_t post_id,
                           struct store_correction **out, size_t *n);

/* --- authors, tags, images --------------------------------------------- */

int store_author_save(struct store *st, struct store_author *au);
int store_author_get_by_slug(struct store *st, struct arena *a,
                             const char *slug, struct store_author *out);
/* By name. */
int store_authors_list(struct store *st, struct arena *a,
                       struct store_author **out, size_t *n);

int store_tag_save(struct store *st, struct store_tag *t);
int store_tag_get_by_slug(struct store *st, struct arena *a, const char *slug,
                          struct store_tag *out);
/* kind -1 = all; sections by position, tags by name. */
int store_tags_list(struct store *st, struct arena *a, int kind,
                    struct store_tag **out, size_t *n);

int store_image_save(struct store *st, struct store_image *img);
int store_image_get(struct store *st, struct arena *a, int64_t id,
                    struct store_image *out);
/* By name ("images/grid-1a2b3c4d"); STORE_NOTFOUND. */
int store_image_get_by_name(struct store *st, struct arena *a, const char *name,
                            struct store_image *out);

/* --- live updates ------------------------------------------------------ */

int store_live_save(struct store *st, struct store_live *lu);
int store_live_delete(struct store *st, int64_t id);
/* Newest first; before = 0 for the latest, else only at < before.
 * limit 0 = 10. */
int store_live_list(struct store *st, struct arena *a, int64_t before,
                    size_t limit, struct store_live **out, size_t *n);

/* One entry of the live feed's change log (see schema 002). */
enum store_live_kind {
    STORE_LIVE_POST,   /* a new update */
    STORE_LIVE_EDIT,   /* an update changed */
    STORE_LIVE_DELETE, /* an update removed */
};

struct store_live_event {
    int64_t seq; /* position in the log, only grows */
    enum store_live_kind kind;
    int64_t live_id;      /* the update concerned */
    int present;          /* 1 = lu holds the update as it is now;
                             0 = it no longer exists */
    struct store_live lu; /* current content when present */
};

/* One update by id; STORE_NOTFOUND. */
int store_live_get(struct store *st, struct arena *a, int64_t id,
                   struct store_live *out);
/* Log entries with seq > after, oldest first, at most limit (0 = 10). */
int store_live_events(struct store *st, struct arena *a, int64_t after,
                      size_t limit, struct store_live_event **out, size_t *n);
/* The newest seq of the log (0 when empty), or -1. */
int64_t store_live_last_seq(struct store *st);

/* --- newsletters -------------------------------------------------------- */

int store_newsletter_save(struct store *st, struct store_newsletter *nl);
/* Active ones only when active_only; by position. */
int store_newsletters_list(struct store *st, struct arena *a, int active_only,
                           struct store_newsletter **out, size_t *n);
/* One newsletter by id / by slug into out (strings in a); STORE_NOTFOUND.
 * (store_newsletter_save inserts or updates; STORE_CONFLICT on slug.) */
int store_newsletter_get(struct store *st, struct arena *a, int64_t id,
                         struct store_newsletter *out);
int store_newsletter_get_by_slug(struct store *st, struct arena *a,
                                 const char *slug,
                                 struct store_newsletter *out);

/* --- subscribers and subscriptions (docs/store.md, "Mail") --------------
 * Subscribers, subscriptions, sends and the outbox change nothing a reader
 * sees: on PostgreSQL their writes leave store_version() alone (SQLite's
 * cannot tell tables apart, so there they move it). */

/* Someone who signed up for a newsletter. */
struct store_subscriber {
    int64_t id;         /* 0 until stored */
    const char *email;  /* as given, already normalised by the caller */
    int64_t created_at; /* first sign-up */
};

/* A subscription's life: pending -> active -> unsubscribed (-> pending). */
enum store_sub_state {
    STORE_SUB_PENDING,      /* signed up, not confirmed */
    STORE_SUB_ACTIVE,       /* receives the newsletter */
    STORE_SUB_UNSUBSCRIBED, /* left; kept so a re-sign-up is recognised */
};

/* One (subscriber, newsletter) pair, unique. */
struct store_subscription {
    int64_t id;
    int64_t subscriber_id;
    int64_t newsletter_id;
    enum store_sub_state state;
    const char *token;           /* unique text the caller made (links) */
    int64_t created_at;          /* when it last became pending */
    int64_t confirmed_at;        /* 0 until active */
    const char *email;           /* filled by reads: the subscriber's */
    const char *newsletter_slug; /* filled by reads */
};

/* The subscriber with email, created (created_at = now) when missing;
 * *id gets it. Atomic under races (unique email): two callers with one
 * email get one id. 0 or -1. */
int store_subscriber_upsert(struct store *st, const char *email, int64_t now,
                            int64_t *id);
/* One subscriber by id / by exact email into out (in a); STORE_NOTFOUND. */
int store_subscriber_get(struct store *st, struct arena *a, int64_t id,
                         struct store_subscriber *out);
int store_subscriber_get_by_email(struct store *st, struct arena *a,
                                  const char *email,
                                  struct store_subscriber *out);
/* Sign-up: when (subscriber, newsletter) has no subscription, inserts one
 * pending with created_at = now and token; when it is unsubscribed, makes
 * it pending again (created_at = now, new token, confirmed_at 0); pending
 * or active: left as it is. *out (in a) gets the row as it is afterwards,
 * email and newsletter_slug filled. Atomic. STORE_CONFLICT when token is
 * another subscription's. */
int store_subscription_request(struct store *st, struct arena *a,
                               int64_t subscriber_id, int64_t newsletter_id,
                               int64_t now, const char *token,
                               struct store_subscription *out);
/* Sets the state of (subscriber, newsletter); ACTIVE also sets
 * confirmed_at = now (when it was not active), PENDING created_at = now
 * (when it was not pending). Creates the row (with the caller-made token,
 * created_at = confirmed_at = now) when missing only for ACTIVE with a
 * token (CSV import, prefs page re-subscribe). STORE_NOTFOUND when
 * missing otherwise. */
int store_subscription_set(struct store *st, int64_t subscriber_id,
                           int64_t newsletter_id, enum store_sub_state state,
                           int64_t now, const char *token);
/* All subscriptions of a subscriber, by newsletter position (then id),
 * email and newsletter_slug filled; *out in a. */
int store_subscriptions_of(struct store *st, struct arena *a,
                           int64_t subscriber_id,
                           struct store_subscription **out, size_t *n);
/* Deletes pending subscriptions created before `before`, then subscribers
 * created before `before` left with no subscription at all (their outbox
 * rows go with them); *n (may be NULL) = subscriptions gone. One
 * transaction. */
int store_subscriptions_purge(struct store *st, int64_t before, size_t *n);
/* Search for the desk: subscriptions whose email contains q
 * (case-insensitive ASCII, % and _ literal; NULL/"" = all), of
 * newsletter_id (0 = any), in state (an enum store_sub_state, -1 = any),
 * newest first (created_at DESC, id DESC), with email and newsletter_slug
 * filled; *out in a; *total (may be NULL) without limit/offset, from the
 * same snapshot. limit 0 = 50. */
int store_subscriptions_search(struct store *st, struct arena *a, const char *q,
                               int64_t newsletter_id, int state, size_t limit,
                               size_t offset, struct store_subscription **out,
                               size_t *n, size_t *total);
/* Counts of newsletter_id's (0 = all) subscriptions by state:
 * counts[STORE_SUB_PENDING], counts[STORE_SUB_ACTIVE],
 * counts[STORE_SUB_UNSUBSCRIBED]. */
int store_subscription_counts(struct store *st, int64_t newsletter_id,
                              size_t counts[3]);
/* Active subscriptions of newsletter_id (0 = all) by the UTC day of their
 * confirmed_at, for the ndays days ending with the day of now: out[0] is
 * the oldest day, out[ndays-1] today, 0 where none. ndays <= 366,
 * else -1. */
int store_subscription_daily(struct store *st, int64_t newsletter_id,
                             int64_t now, size_t ndays, size_t *out);

/* --- sends: one issue of a newsletter to its active subscribers --------- */

struct store_send {
    int64_t id; /* 0 until stored */
    int64_t newsletter_id;
    int64_t post_id; /* the article, or 0 for a digest */
    unsigned digest; /* digest of the N latest articles, or 0 */
    const char *subject;
    int64_t created_by; /* staff id, 0 = command line */
    int64_t created_at; /* 0 on create = the current time */
    size_t total;       /* outbox rows made */
};
/* In one transaction: inserts the send (sets s->id, and s->created_at
 * when 0) and one mail_outbox row (send_id "send:<id>", state pending,
 * next_attempt_at = created_at) per subscription of the newsletter that
 * is active now; s->total gets how many. */
int store_send_create(struct store *st, struct store_send *s);
/* One send by id into out (in a); STORE_NOTFOUND. */
int store_send_get(struct store *st, struct arena *a, int64_t id,
                   struct store_send *out);
/* Newest first (created_at, id); newsletter_id 0 = all; limit 0 = 20;
 * *out in a. */
int store_sends_list(struct store *st, struct arena *a, int64_t newsletter_id,
                     size_t limit, struct store_send **out, size_t *n);
/* Outbox rows of send_id ("send:12") by state: *pending counts those not
 * done yet (pending, and sending under a worker's lease). */
int store_outbox_progress(struct store *st, const char *send_id, size_t *sent,
                          size_t *failed, size_t *pending);

/* --- the outbox: one row per (send_id, subscriber), unique -------------- */

/* A claimed outbox row, for the mail worker. */
struct store_outbox {
    int64_t id;
    const char *send_id; /* "send:12", "confirm:7:1732700000" */
    int64_t subscriber_id;
    const char *email; /* filled by claim */
    unsigned attempts; /* including this claim */
};
/* Adds one pending row due at now (confirmation mails); STORE_CONFLICT
 * (not logged) when (send_id, subscriber_id) exists. */
int store_outbox_add(struct store *st, const char *send_id,
                     int64_t subscriber_id, int64_t now);
/* Atomically claims up to max rows due at now - pending with
 * next_attempt_at <= now, or sending whose lease (next_attempt_at) ended
 * before now (a worker died) - oldest first (next_attempt_at, id): state
 * sending, attempts + 1, next_attempt_at = now + lease_s. Two callers in
 * any processes never claim the same row while its lease holds
 * (SKIP LOCKED on PostgreSQL; one write transaction on SQLite). *out in a,
 * in that order. Never STORE_NOTFOUND: *n = 0 when nothing is due (and
 * nothing is committed). */
int store_outbox_claim(struct store *st, struct arena *a, int64_t now,
                       unsigned lease_s, size_t max, struct store_outbox **out,
                       size_t *n);
/* Marks a claimed row sent (sent_at = now) / pending again at next_at with
 * error / failed for good with error (NULL = none). STORE_NOTFOUND
 * without the row. */
int store_outbox_sent(struct store *st, int64_t id, int64_t now);
int store_outbox_retry(struct store *st, int64_t id, int64_t next_at,
                       const char *error);
int store_outbox_fail(struct store *st, int64_t id, const char *error);
/* Hands a claimed row back untried (the mail server or folder could not
 * be reached, not the message's fault): pending at next_at with error, and
 * the attempt its claim counted is given back, so an outage of any length
 * spends none. STORE_NOTFOUND without the row. */
int store_outbox_release(struct store *st, int64_t id, int64_t next_at,
                         const char *error);

/* --- staff (accounts of the editorial desk; content/staff.h) ------------ */

/* A person who signs in. role is the text the table keeps: "contributor",
 * "author", "editor" or "administrator" (content/staff.h parses it). */
struct store_staff {
    int64_t id;                /* 0 until stored */
    const char *email;         /* sign-in name, unique, normalised */
    const char *name;          /* display name */
    const char *role;          /* one of the four role names */
    const char *password_hash; /* argon2id string (crypto_pwhash_str) */
    int64_t author_id;         /* the byline (store_author id), or 0 */
    int64_t created_at;        /* set by the caller on insert; kept after */
    int disabled;              /* 1 = may not sign in */
};

/* Inserts (s->id == 0, then sets s->id) or updates the account.
 * STORE_CONFLICT if another account has the email; STORE_NOTFOUND when
 * updating an id that does not exist. created_at is written on insert
 * only. */
int store_staff_save(struct store *st, struct store_staff *s);
/* One account by its exact (normalised) email into out; STORE_NOTFOUND. */
int store_staff_get_by_email(struct store *st, struct arena *a,
                             const char *email, struct store_staff *out);
/* One account by id into out; STORE_NOTFOUND. */
int store_staff_get(struct store *st, struct arena *a, int64_t id,
                    struct store_staff *out);
/* Every account, by name then id; *out is an array in a. */
int store_staff_list(struct store *st, struct arena *a,
                     struct store_staff **out, size_t *n);

/* --- revisions: every saved version of a post's text -------------------- */

struct store_revision {
    int64_t id; /* 0 until stored */
    int64_t post_id;
    const char *title;
    const char *standfirst; /* or NULL */
    const char *markdown;
    int64_t staff_id;       /* who saved it, or 0 */
    const char *staff_name; /* filled by reads from staff.name, or NULL */
    int64_t created_at;     /* 0 on add = now */
};
/* Stores r (sets r->id, and r->created_at when it was 0). A post_id that
 * does not exist is an error. */
int store_revision_add(struct store *st, struct store_revision *r);
/* A post's revisions, newest first (created_at DESC, id DESC), with their
 * text; *out in a. */
int store_revisions_list(struct store *st, struct arena *a, int64_t post_id,
                         struct store_revision **out, size_t *n);
/* One revision; STORE_NOTFOUND. */
int store_revision_get(struct store *st, struct arena *a, int64_t id,
                       struct store_revision *out);

/* --- desk sessions (the sessions table of 001) ---------------------------
 * Sessions, rate limits, staff tokens and the audit log change nothing a
 * reader sees: on PostgreSQL their writes leave store_version() alone
 * (SQLite's cannot tell tables apart, so there they move it). */

struct store_session {
    const char *token_hash; /* hex hash of the cookie's token, the key */
    int64_t staff_id;
    int64_t created_at;
    int64_t last_seen_at;
    int64_t expires_at; /* absolute end */
};
/* STORE_CONFLICT if the hash exists. */
int store_session_add(struct store *st, const struct store_session *s);
/* STORE_NOTFOUND. */
int store_session_get(struct store *st, struct arena *a, const char *token_hash,
                      struct store_session *out);
/* Sets last_seen_at. STORE_NOTFOUND. */
int store_session_touch(struct store *st, const char *token_hash,
                        int64_t last_seen_at);
/* STORE_NOTFOUND when absent. */
int store_session_delete(struct store *st, const char *token_hash);
/* Deletes every session of a staff member (sign out everywhere); *n (may
 * be NULL) gets how many. */
int store_sessions_delete_staff(struct store *st, int64_t staff_id, size_t *n);
/* Deletes sessions with expires_at <= now or last_seen_at < idle_before;
 * *n (may be NULL) gets how many. */
int store_sessions_prune(struct store *st, int64_t now, int64_t idle_before,
                         size_t *n);

/* --- rate limits: fixed-window counters shared by every node ------------- */

/* Counts one hit on key in the window of window_s seconds: when the key's
 * window started at or before now - window_s (or the key is new) the
 * window restarts at now with count 1, else count + 1. *count gets the
 * count after this hit. Atomic: concurrent callers (threads, processes)
 * never lose a hit. */
int store_rate_hit(struct store *st, const char *key, int64_t now,
                   unsigned window_s, unsigned *count);
/* The count in the key's current window without adding (0 when the key is
 * new or its window has passed). */
int store_rate_peek(struct store *st, const char *key, int64_t now,
                    unsigned window_s, unsigned *count);
/* Forgets key (after a successful sign-in). 0 also when absent. */
int store_rate_clear(struct store *st, const char *key);
/* Deletes counters whose window started before `before`; *n may be NULL. */
int store_rate_prune(struct store *st, int64_t before, size_t *n);

/* --- one-time staff links: invitations and password resets -------------- */

struct store_staff_token {
    const char *token_hash; /* hex hash of the link's secret, the key */
    int64_t staff_id;
    const char *purpose; /* "invite" or "reset" */
    int64_t created_at;
    int64_t expires_at;
};
/* STORE_CONFLICT if the hash exists. */
int store_staff_token_add(struct store *st, const struct store_staff_token *t);
/* Reads and deletes the token in one atomic step (two callers never both
 * get it); STORE_NOTFOUND. Expiry is the caller's to check. */
int store_staff_token_take(struct store *st, struct arena *a,
                           const char *token_hash,
                           struct store_staff_token *out);
/* The token without deleting it (to show the form); STORE_NOTFOUND. */
int store_staff_token_get(struct store *st, struct arena *a,
                          const char *token_hash,
                          struct store_staff_token *out);

/* --- TOTP second factor of staff (content/totp.h; migration 013) -------- */

/* An account's TOTP state. */
struct store_staff_totp {
    const char *secret; /* base32 shared secret, or NULL: TOTP is off */
    int64_t last_step;  /* newest 30 s step a code was taken for, 0 = none */
};
/* The TOTP state of staff_id into out (secret in a); STORE_NOTFOUND when
 * there is no such account. */
int store_staff_totp_get(struct store *st, struct arena *a, int64_t staff_id,
                         struct store_staff_totp *out);
/* Sets the secret (NULL turns TOTP off) and last_step; STORE_NOTFOUND. */
int store_staff_totp_set(struct store *st, int64_t staff_id, const char *secret,
                         int64_t last_step);
/* Takes step for staff_id: moves last_step to step only when TOTP is on
 * and step > last_step, in one atomic statement (two callers never both
 * take the same code). STORE_OK, or STORE_NOTFOUND when refused. */
int store_staff_totp_use(struct store *st, int64_t staff_id, int64_t step);

/* --- audit log: who did what, when (administrators read it) -------------- */

struct store_audit {
    int64_t id; /* 0 until stored; grows */
    int64_t at;
    int64_t staff_id;   /* or 0 (the CLI) */
    const char *actor;  /* "Name <email>" at the time, or "command line" */
    const char *action; /* "post.publish", "staff.role", ... */
    const char *target; /* what it acted on, "post 12 'slug'" */
    const char *detail; /* or NULL */
};
/* Stores e (sets e->id). */
int store_audit_add(struct store *st, struct store_audit *e);
/* Newest first (id DESC); before_id 0 = from the newest, else only
 * id < before_id; limit 0 = 50. */
int store_audit_list(struct store *st, struct arena *a, int64_t before_id,
                     size_t limit, struct store_audit **out, size_t *n);

/* --- jobs (durable work queue; src/jobs/ runs them, docs/jobs.md) -------- */

#define STORE_JOB_KINDS_MAX 32 /* kinds one store_job_claim may name */

/* One row of the queue, as store_job_claim hands it to a worker. */
struct store_job {
    int64_t id;             /* > 0 */
    const char *kind;       /* what to do, "publish_due" */
    const char *payload;    /* the kind's argument (JSON or ""), never NULL */
    int64_t run_at;         /* not before this time */
    unsigned attempts;      /* claims so far, this one included (1..) */
    int64_t lease_until;    /* the claim lapses at this time */
    const char *last_error; /* the previous attempt's error, or NULL */
};

/* Enqueues a job of kind with payload (NULL = "") to run at run_at (0 =
 * at once); sets *id (may be NULL). With a unique_key, when a queued or
 * running job of the same kind and key exists, adds nothing and returns
 * STORE_CONFLICT (not logged). */
int store_job_add(struct store *st, const char *kind, const char *payload,
                  int64_t run_at, const char *unique_key, int64_t *id);
/* Atomically takes the oldest due job (run_at <= now, by run_at then id)
 * whose kind is one of kinds[0..nkinds) (nkinds 1..STORE_JOB_KINDS_MAX):
 * a queued one, or a running one whose lease ended before now (its worker
 * died). Marks it running with lease_until = now + lease_s and attempts + 1,
 * and copies it into *out (strings in a). Two callers, in any processes,
 * never take the same job while its lease holds. STORE_NOTFOUND when
 * nothing is due; no write is committed then (store_version() stays). */
int store_job_claim(struct store *st, struct arena *a, const char *const *kinds,
                    size_t nkinds, int64_t now, unsigned lease_s,
                    struct store_job *out);
/* Renews a claim (a worker's heartbeat while its handler runs, and its
 * check before recording the outcome): sets the lease_until of job id,
 * provided it is still running under the claim that gave it attempts
 * (struct store_job.attempts). STORE_NOTFOUND when that claim was lost:
 * the job is no longer running, or another worker claimed it since (its
 * attempts moved on); the caller must then leave the job alone. Writes
 * nothing else and does not move store_version(). */
int store_job_extend(struct store *st, int64_t id, unsigned attempts,
                     int64_t lease_until);
/* Marks a job done. STORE_NOTFOUND without such a job. */
int store_job_done(struct store *st, int64_t id);
/* Puts a job back in the queue to run at run_at, noting error (or NULL).
 * STORE_NOTFOUND without such a job. */
int store_job_retry(struct store *st, int64_t id, int64_t run_at,
                    const char *error);
/* Marks a job failed for good, noting error (or NULL). STORE_NOTFOUND. */
int store_job_fail(struct store *st, int64_t id, const char *error);
/* How many jobs are in state ("queued", "running", "done", "failed"). */
int store_jobs_count(struct store *st, const char *state, size_t *n);
/* Deletes done and failed jobs that finished before the time before;
 * *n (may be NULL) gets how many. */
int store_jobs_prune(struct store *st, int64_t before, size_t *n);

/* Publishes every scheduled post whose published_at <= now in one write
 * (status becomes published; updated_at and the rest stay). *n (may be
 * NULL) gets how many. No write is committed when none is due. */
int store_posts_publish_due(struct store *st, int64_t now, size_t *n);

/* --- narrations: the audio version of a post (docs/store.md) ------------
 * narration_off in struct store_post is read by every post read and
 * written by store_post_save. Narration writes move store_version() on
 * every backend: the article page shows the player. */

enum store_narration_state {
    STORE_NARRATION_PENDING,
    STORE_NARRATION_READY,
    STORE_NARRATION_FAILED
};
struct store_narration {
    int64_t id; /* 0 until stored */
    int64_t post_id;
    const char *source_hash; /* hash of the text, voice and engine */
    const char *file; /* path under media/ ("audio/slug-1a2b.mp3"), or NULL */
    int64_t duration_ms;
    int64_t bytes;     /* file size */
    const char *voice; /* "espeak:en-gb", "command" */
    enum store_narration_state state;
    const char *error;  /* why it failed, or NULL */
    int64_t created_at; /* when this row was made or last changed */
};
/* Inserts or updates the row of (post_id, source_hash, voice) (unique in
 * 001): every field but id is written; sets n->id. */
int store_narration_save(struct store *st, struct store_narration *n);
/* The newest narration of a post in any state (created_at, id DESC);
 * STORE_NOTFOUND when none. */
int store_narration_latest(struct store *st, struct arena *a, int64_t post_id,
                           struct store_narration *out);
/* The newest READY narration of a post; STORE_NOTFOUND. */
int store_narration_ready(struct store *st, struct arena *a, int64_t post_id,
                          struct store_narration *out);
/* Deletes every narration row of a post except keep_id (old versions);
 * *files (in a; may be NULL) gets the files of the deleted READY rows so
 * the caller removes them; *n their count. */
int store_narrations_prune(struct store *st, struct arena *a, int64_t post_id,
                           int64_t keep_id, const char ***files, size_t *n);
/* One entry of the podcast feed: a ready narration and its post. */
struct store_episode {
    struct store_narration nar;
    const char *slug, *title, *excerpt, *standfirst; /* the post's */
    int64_t published_at, updated_at;
    const char *authors; /* display names joined with ", " ("" if none) */
};
/* The newest READY narrations of published posts (one per post: its newest
 * ready one), by the post's published_at DESC, at most limit (0 = 50). */
int store_episodes(struct store *st, struct arena *a, size_t limit,
                   struct store_episode **out, size_t *n);
/* Ids of published posts with narration_off = 0 and no narration row at
 * all, oldest published first, at most limit (0 = 50): the ones to
 * narrate. */
int store_posts_unnarrated(struct store *st, struct arena *a, size_t limit,
                           int64_t **ids, size_t *n);
/* Sets posts.narration_off. STORE_NOTFOUND. */
int store_post_set_narration_off(struct store *st, int64_t post_id, int off);

/* --- search: published posts by their words (docs/store.md, "Search") --- */

/* What store_search looks for. Zero the struct, then set what matters. */
struct store_search_query {
    const char *q;           /* what the reader typed (any bytes up to 300);
                                never an error: quotes, operators, *, NEAR,
                                parentheses, broken UTF-8 are neutralised
                                into plain words (AND of all words; a quoted
                                "phrase" may be kept as a phrase) */
    const char *tag_slug;    /* section/tag filter, or NULL */
    const char *author_slug; /* or NULL */
    int64_t from, to;        /* published_at range, 0 = open */
    size_t limit, offset;    /* limit 0 = 10 */
    int any_status;          /* 0 = published posts only (readers); 1 = posts
                                of every status too (the desk) */
    int status;              /* with any_status: only this enum
                                store_post_status, or -1 for all */
};
/* One post found. */
struct store_search_hit {
    struct store_post post;   /* as store_posts_list fills it (authors, tags,
                                 image; no body) */
    const char *snippet_html; /* an excerpt with matches wrapped in <mark>,
                                 HTML-escaped otherwise (safe to print raw) */
    double rank;              /* higher = better */
};
/* Published posts (with any_status, every post) matching q, best first;
 * *total = all matches. An empty or all-punctuation q gives 0 hits (not an
 * error). */
int store_search(struct store *st, struct arena *a,
                 const struct store_search_query *q,
                 struct store_search_hit **out, size_t *n, size_t *total);

/* --- sitemaps: light rows of the public posts (web/sitemap.c) ------------ */

/* A post is public at now when its status is published and published_at
 * <= now. Its lastmod is max(updated_at, published_at). */

/* One public post as a sitemap lists it. */
struct store_post_stamp {
    const char *slug;
    const char *title;
    const char *language;     /* BCP 47, "en" */
    const char *image;        /* feature image's name under media/, or NULL */
    const char *image_widths; /* its variant widths, "480,960", or NULL */
    int64_t published_at;
    int64_t lastmod; /* max(updated_at, published_at) */
};
/* Posts public at now and published at or after since (0 = no bound),
 * newest first (published_at DESC, id DESC), skipping offset, at most
 * limit (0 = 10). *out is an array in a. 0 or -1. */
int store_post_stamps(struct store *st, struct arena *a, int64_t now,
                      int64_t since, size_t offset, size_t limit,
                      struct store_post_stamp **out, size_t *n);
/* The posts public at now cut, in store_post_stamps' order, into pages of
 * per rows (per >= 1): (*lastmod)[i] (array in a) is the newest lastmod
 * on page i+1; *npages the number of pages (0 when no post is public).
 * 0 or -1. */
int store_post_stamp_pages(struct store *st, struct arena *a, int64_t now,
                           size_t per, int64_t **lastmod, size_t *npages);

enum store_archive_kind {
    STORE_ARCHIVE_AUTHOR,  /* /author/SLUG/ */
    STORE_ARCHIVE_SECTION, /* /section/SLUG/ */
    STORE_ARCHIVE_TAG,     /* /tag/SLUG/ */
};
/* An author, section or tag with at least one public post. */
struct store_archive_stamp {
    enum store_archive_kind kind;
    const char *slug;
    int64_t lastmod; /* the newest lastmod of its public posts */
};
/* Every author, section and tag with posts public at now, by kind
 * (authors, sections, tags), then slug (bytewise). *out is an array in a.
 * 0 or -1. */
int store_archive_stamps(struct store *st, struct arena *a, int64_t now,
                         struct store_archive_stamp **out, size_t *n);

/* --- imports: what each imported item became (schema 010) -------------- */

/* The local id that item source_id of kind from source ("ghost", "wxr")
 * became when it was imported: 0 with *local_id, STORE_NOTFOUND when it
 * never was, or -1. */
int store_import_map_get(struct store *st, const char *source, const char *kind,
                         const char *source_id, int64_t *local_id);
/* Records (or moves) what that item became. 0 or -1. Bookkeeping: leaves
 * store_version() alone. */
int store_import_map_put(struct store *st, const char *source, const char *kind,
                         const char *source_id, int64_t local_id);

/* --- redirects: old addresses of imported posts (schema 011) ----------- */

/* Records that requests for path (an old site's path, "/2024/05/slug/" or
 * "/?p=123") move permanently to target ("/slug/"); replaces an earlier
 * target. Moves store_version(). 0 or -1. */
int store_redirect_put(struct store *st, const char *path, const char *target);
/* The target of path into *target (in a): 0, STORE_NOTFOUND, or -1. */
int store_redirect_get(struct store *st, struct arena *a, const char *path,
                       const char **target);

/* --- Content API keys (web/ghost_api.c, docs/content-api.md) ------------ */

/* A key of the Ghost-compatible Content API. Content API keys are public
 * by design (front-ends embed them in pages, as with Ghost), so the key
 * itself is kept (api_keys.content_key, schema 012): the desk and
 * `newsroom key list` show it again. Bookkeeping: key writes leave
 * store_version() alone. */
struct store_api_key {
    int64_t id;         /* 0 until stored */
    const char *name;   /* what it is for, "Mobile app" */
    const char *secret; /* the key: 26 lower-case hex characters */
    int64_t created_at; /* Unix seconds */
};
/* Stores k (sets k->id). STORE_CONFLICT when the secret exists. */
int store_api_key_add(struct store *st, struct store_api_key *k);
/* The key whose secret is secret (strings in a); STORE_NOTFOUND. */
int store_api_key_find(struct store *st, struct arena *a, const char *secret,
                       struct store_api_key *out);
/* Every key, oldest first (created_at, id); *out is an array in a. */
int store_api_keys_list(struct store *st, struct arena *a,
                        struct store_api_key **out, size_t *n);
/* Deletes key id; STORE_NOTFOUND. */
int store_api_key_delete(struct store *st, int64_t id);

/* --- copying a whole database (newsroom migrate) ------------------------- */

/* The i-th table of the data model in foreign-key order (a table comes
 * after those it references, staff's author_id excepted: see store.c),
 * or NULL past the last. The one list of what store_copy copies. */
const char *store_table(size_t i);
/* The tables the database has (its catalog: sqlite_master,
 * information_schema), sorted by name, without the backend's bookkeeping
 * (schema_migrations); *out is an array in a. 0 or -1. */
int store_table_names(struct store *st, struct arena *a, const char ***out,
                      size_t *n);
/* Number of rows in table (one of store_table's), or -1 (logged). */
int64_t store_table_rows(struct store *st, const char *table);

/* store_copy's progress: rows of table copied so far out of total. */
typedef void (*store_copy_progress)(void *ctx, const char *table, int64_t done,
                                    int64_t total);

/* Copies every row of every store_table from one store into another (any
 * backends; each already migrated by store_open), keeping ids, in one
 * transaction on to, reading from one snapshot of from. Columns are
 * copied by name, those both sides have; id generators on to are then
 * moved past the largest id. If to has any row, STORE_CONFLICT (nothing
 * changed) unless replace, which first empties to in the same
 * transaction. progress (may be NULL) is called every few hundred rows and
 * at each table's end. 0, STORE_CONFLICT, or STORE_ERROR (logged; to is
 * left as it was). */
int store_copy(struct store *from, struct store *to, int replace,
               store_copy_progress progress, void *ctx);

#endif
