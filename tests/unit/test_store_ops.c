/*
 * test_store_ops.c - the store contract for the desk's and the
 * workers' bookkeeping: staff and sign-in codes, sessions, rate limits,
 * one-time tokens, the audit log, settings, the job queue.
 * The fixtures and the runner are in store_contract.h.
 */
#include "store_contract.h"

static void contract_staff(struct store *st, const char *url)
{
    struct store_author au = {0};
    struct store_staff s1 = {0}, s2 = {0}, dup = {0}, got, *out;
    struct arena a;
    size_t n;
    int rc;

    (void)url;
    arena_init(&a);
    au.slug = "zoe";
    au.name = "Zoe Ward";
    store_author_save(st, &au);
    s1.email = "zoe@example.org";
    s1.name = "Zoe Ward";
    s1.role = "editor";
    s1.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$one";
    s1.author_id = au.id;
    s1.created_at = 1700000000;
    s2.email = "abe@example.org";
    s2.name = "Abe Brown";
    s2.role = "contributor";
    s2.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$two";
    CHECK(store_staff_save(st, &s1) == 0 && s1.id > 0, "an account saves");
    CHECK(store_staff_save(st, &s2) == 0 && s2.id > s1.id,
          "a second account saves");
    CHECK(store_staff_get_by_email(st, &a, "zoe@example.org", &got) == 0 &&
              got.id == s1.id && strcmp(got.name, "Zoe Ward") == 0 &&
              strcmp(got.role, "editor") == 0 &&
              strcmp(got.password_hash, s1.password_hash) == 0 &&
              got.author_id == au.id && got.created_at == 1700000000 &&
              got.disabled == 0,
          "account fields round-trip by email");
    CHECK(store_staff_get(st, &a, s2.id, &got) == 0 &&
              strcmp(got.email, "abe@example.org") == 0 && got.author_id == 0 &&
              got.created_at == 0,
          "an account reads by id");
    CHECK(store_staff_get_by_email(st, &a, "nobody@example.org", &got) ==
              STORE_NOTFOUND,
          "a missing email is not found");
    CHECK(store_staff_get(st, &a, s2.id + 100, &got) == STORE_NOTFOUND,
          "a missing id is not found");
    CHECK(store_staff_list(st, &a, &out, &n) == 0 && n == 2 &&
              strcmp(out[0].name, "Abe Brown") == 0 &&
              strcmp(out[1].name, "Zoe Ward") == 0,
          "accounts list by name");
    dup.email = "zoe@example.org";
    dup.name = "Another";
    dup.role = "author";
    dup.password_hash = "x";
    CHECK(store_staff_save(st, &dup) == STORE_CONFLICT && dup.id == 0,
          "a taken email is a conflict");
    s2.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$new";
    s2.disabled = 1;
    s2.role = "administrator";
    s2.created_at = 5; /* ignored by an update */
    CHECK(store_staff_save(st, &s2) == 0, "an account updates");
    CHECK(store_staff_get(st, &a, s2.id, &got) == 0 &&
              strcmp(got.password_hash, s2.password_hash) == 0 &&
              got.disabled == 1 && strcmp(got.role, "administrator") == 0 &&
              got.created_at == 0,
          "an update changes hash, role and disabled, not created_at");
    s2.email = "zoe@example.org";
    rc = store_staff_save(st, &s2);
    CHECK(rc == STORE_CONFLICT, "an update to a taken email is a conflict");
    s2.email = "abe@example.org";
    s2.role = "boss";
    CHECK(store_staff_save(st, &s2) == STORE_ERROR,
          "the database refuses an unknown role");
    arena_release(&a);
}

/* TOTP state of staff (migration 013): set, read, take a step once. */
static void contract_staff_totp(struct store *st, const char *url)
{
    struct store_staff s = {0};
    struct store_staff_totp t;
    struct arena a;

    (void)url;
    arena_init(&a);
    s.email = "amy@example.org";
    s.name = "Amy";
    s.role = "administrator";
    s.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$one";
    s.created_at = 1700000000;
    store_staff_save(st, &s);
    CHECK(store_staff_totp_get(st, &a, s.id, &t) == STORE_OK &&
              t.secret == NULL && t.last_step == 0,
          "an account starts without TOTP");
    CHECK(store_staff_totp_use(st, s.id, 5) == STORE_NOTFOUND,
          "no step is taken while TOTP is off");
    CHECK(store_staff_totp_set(st, s.id, "GEZDGNBVGY3TQOJQ", 10) == STORE_OK &&
              store_staff_totp_get(st, &a, s.id, &t) == STORE_OK && t.secret &&
              strcmp(t.secret, "GEZDGNBVGY3TQOJQ") == 0 && t.last_step == 10,
          "a secret and its last step are stored");
    CHECK(store_staff_totp_use(st, s.id, 10) == STORE_NOTFOUND &&
              store_staff_totp_use(st, s.id, 9) == STORE_NOTFOUND,
          "a step at or before the last one is refused (replay)");
    CHECK(store_staff_totp_use(st, s.id, 11) == STORE_OK &&
              store_staff_totp_use(st, s.id, 11) == STORE_NOTFOUND &&
              store_staff_totp_get(st, &a, s.id, &t) == STORE_OK &&
              t.last_step == 11,
          "a newer step is taken exactly once");
    CHECK(store_staff_totp_set(st, s.id, NULL, 0) == STORE_OK &&
              store_staff_totp_get(st, &a, s.id, &t) == STORE_OK &&
              t.secret == NULL,
          "TOTP turns off");
    CHECK(store_staff_totp_get(st, &a, s.id + 100, &t) == STORE_NOTFOUND &&
              store_staff_totp_set(st, s.id + 100, "AA", 0) == STORE_NOTFOUND,
          "a missing account is STORE_NOTFOUND");
    arena_release(&a);
}

/* --- jobs ---------------------------------------------------------------- */

static const char *const job_kinds_ab[] = {"a", "b"};

static void contract_jobs(struct store *st, const char *url)
{
    struct store_job j;
    struct arena a;
    int64_t j1 = 0, j2 = 0, j3 = 0, j4 = 0, dup = 0;
    size_t n = 99;
    uint64_t v;

    (void)url;
    arena_init(&a);
    CHECK(store_job_claim(st, &a, job_kinds_ab, 2, 1000, 30, &j) ==
              STORE_NOTFOUND,
          "an empty queue has nothing to claim");
    CHECK(store_job_add(st, "a", "{\"x\":1}", 200, NULL, &j2) == 0 &&
              store_job_add(st, "b", NULL, 100, NULL, &j1) == 0 &&
              store_job_add(st, "a", "", 5000, NULL, &j3) == 0 &&
              store_job_add(st, "c", "", 0, NULL, &j4) == 0 && j1 > 0 &&
              j2 > 0 && j3 > 0 && j4 > 0,
          "jobs are added");
    CHECK(store_jobs_count(st, "queued", &n) == 0 && n == 4,
          "four queued (%zu)", n);
    v = store_version(st);
    CHECK(store_job_claim(st, &a, job_kinds_ab, 2, 50, 30, &j) ==
              STORE_NOTFOUND,
          "a job not yet due is not claimed");
    CHECK(store_version(st) == v, "a claim that finds nothing writes "
                                  "nothing");
    CHECK(store_job_claim(st, &a, job_kinds_ab, 2, 1000, 30, &j) == 0 &&
              j.id == j1 && strcmp(j.kind, "b") == 0 &&
              strcmp(j.payload, "") == 0 && j.attempts == 1 &&
              j.run_at == 100 && j.lease_until == 1030,
          "the oldest due job is claimed first (id %lld)", (long long)j.id);
    CHECK(store_job_claim(st, &a, job_kinds_ab, 2, 1000, 30, &j) == 0 &&
              j.id == j2 && strcmp(j.payload, "{\"x\":1}") == 0,
          "then the next one, with its payload");
    CHECK(store_job_claim(st, &a, job_kinds_ab, 2, 1000, 30, &j) ==
              STORE_NOTFOUND,
          "running jobs, future jobs and other kinds are not claimed");
    CHECK(store_job_claim(st, &a, job_kinds_ab, 1, 1031, 30, &j) == 0 &&
              j.id == j2 && j.attempts == 2,
          "an expired lease lets another worker take the job");
    v = store_version(st);
    CHECK(store_job_extend(st, j2, 1, 5000) == STORE_NOTFOUND,
          "the claim that lost its lease cannot renew it");
    CHECK(store_job_extend(st, j2, 2, 1100) == 0 &&
              store_job_claim(st, &a, job_kinds_ab, 1, 1090, 30, &j) ==
                  STORE_NOTFOUND,
          "the current claim renews its lease: nobody takes the job");
    CHECK(store_version(st) == v, "renewing a lease leaves the version");
    CHECK(store_job_extend(st, 999999, 1, 1100) == STORE_NOTFOUND,
          "an unknown job has no lease to renew");
    CHECK(store_job_done(st, j1) == 0 &&
              store_job_done(st, 999999) == STORE_NOTFOUND,
          "done marks a job done; an unknown id is not found");
    CHECK(store_job_extend(st, j1, 1, 5000) == STORE_NOTFOUND,
          "a finished job cannot be renewed");
    CHECK(store_job_retry(st, j2, 2000, "busy") == 0 &&
              store_job_claim(st, &a, job_kinds_ab, 2, 1999, 30, &j) ==
                  STORE_NOTFOUND,
          "a retried job waits for its new time");
    CHECK(store_job_claim(st, &a, job_kinds_ab, 2, 2000, 30, &j) == 0 &&
              j.id == j2 && j.attempts == 3 && j.last_error &&
              strcmp(j.last_error, "busy") == 0,
          "then runs again, with the last error");
    CHECK(store_job_fail(st, j2, "gave up") == 0, "fail");
    CHECK(store_jobs_count(st, "done", &n) == 0 && n == 1, "one done");
    CHECK(store_jobs_count(st, "failed", &n) == 0 && n == 1, "one failed");
    CHECK(store_jobs_count(st, "queued", &n) == 0 && n == 2, "two queued");
    CHECK(store_jobs_count(st, "running", &n) == 0 && n == 0, "none running");

    /* unique keys */
    CHECK(store_job_add(st, "tick", "", 0, "k", &dup) == 0,
          "a keyed job is added");
    CHECK(store_job_add(st, "tick", "", 0, "k", NULL) == STORE_CONFLICT,
          "the same kind and key again is refused while pending");
    CHECK(store_job_add(st, "tock", "", 0, "k", NULL) == 0,
          "another kind may use the key");
    {
        const char *tick[] = {"tick"};
        CHECK(store_job_claim(st, &a, tick, 1, 5000, 30, &j) == 0 &&
                  j.id == dup,
              "claim the keyed job");
        CHECK(store_job_add(st, "tick", "", 0, "k", NULL) == STORE_CONFLICT,
              "refused while running");
        CHECK(store_job_done(st, dup) == 0 &&
                  store_job_add(st, "tick", "", 0, "k", NULL) == 0,
              "accepted again once the first is done");
    }
    CHECK(store_jobs_prune(st, INT64_MAX, &n) == 0 && n == 3,
          "prune deletes the finished jobs (%zu)", n);
    CHECK(store_jobs_count(st, "done", &n) == 0 && n == 0, "none done left");
    arena_release(&a);
}

static void contract_publish_due(struct store *st, const char *url)
{
    struct store_post due = mkpost("due", STORE_POST_SCHEDULED, 100);
    struct store_post later = mkpost("later", STORE_POST_SCHEDULED, 900);
    struct store_post draft = mkpost("draft", STORE_POST_DRAFT, 50);
    struct store_post got;
    struct arena a;
    size_t n = 99;

    (void)url;
    arena_init(&a);
    due.updated_at = 77;
    CHECK(store_post_save(st, &due, NULL, 0, NULL, 0) == 0 &&
              store_post_save(st, &later, NULL, 0, NULL, 0) == 0 &&
              store_post_save(st, &draft, NULL, 0, NULL, 0) == 0,
          "posts saved");
    CHECK(store_posts_publish_due(st, 500, &n) == 0 && n == 1,
          "one post is due (%zu)", n);
    CHECK(store_post_get_by_slug(st, &a, "due", &got) == 0 &&
              got.status == STORE_POST_PUBLISHED && got.published_at == 100 &&
              got.updated_at == 77,
          "it is published, times kept");
    CHECK(store_post_get_by_slug(st, &a, "later", &got) == 0 &&
              got.status == STORE_POST_SCHEDULED,
          "a future one stays scheduled");
    CHECK(store_post_get_by_slug(st, &a, "draft", &got) == 0 &&
              got.status == STORE_POST_DRAFT,
          "a draft stays a draft");
    CHECK(store_posts_publish_due(st, 500, &n) == 0 && n == 0, "nothing twice");
    arena_release(&a);
}

#define CLAIM_JOBS 200  /* jobs the claimers share */
#define CLAIM_THREADS 4 /* claiming threads, each with its own handle */

struct claimer {
    const char *url;     /* database to open */
    int errors;          /* failed calls */
    unsigned char *seen; /* per job id - base: times claimed */
    int64_t base;        /* id of the first job */
    atomic_int *claims;  /* total claims */
};

static void *claimer_run(void *arg)
{
    struct claimer *c = arg;
    const char *kinds[] = {"work"};
    struct store *st;
    struct store_job j;
    struct arena a;
    char err[256];
    int rc;

    st = store_open(c->url, err, sizeof err);
    if (!st) {
        c->errors++;
        return NULL;
    }
    arena_init(&a);
    for (;;) {
        rc = store_job_claim(st, &a, kinds, 1, 1000, 600, &j);
        if (rc == STORE_NOTFOUND)
            break;
        if (rc != 0) {
            c->errors++;
            break;
        }
        if (j.id >= c->base && j.id < c->base + CLAIM_JOBS)
            __atomic_fetch_add(&c->seen[j.id - c->base], 1, __ATOMIC_SEQ_CST);
        else
            c->errors++;
        atomic_fetch_add(c->claims, 1);
        if (store_job_done(st, j.id) != 0)
            c->errors++;
        arena_release(&a);
    }
    arena_release(&a);
    store_close(st);
    return NULL;
}

static void contract_jobs_concurrency(struct store *st, const char *url)
{
    struct claimer c[CLAIM_THREADS];
    pthread_t th[CLAIM_THREADS];
    unsigned char seen[CLAIM_JOBS] = {0};
    atomic_int claims;
    int64_t id, base = 0;
    int errors = 0, once = 0;
    size_t n = 0;

    atomic_init(&claims, 0);
    for (int i = 0; i < CLAIM_JOBS; i++) {
        if (store_job_add(st, "work", "", 0, NULL, &id) != 0)
            errors++;
        if (i == 0)
            base = id;
    }
    CHECK(errors == 0 && base > 0, "%d jobs added", CLAIM_JOBS);
    for (int i = 0; i < CLAIM_THREADS; i++) {
        c[i] = (struct claimer){url, 0, seen, base, &claims};
        pthread_create(&th[i], NULL, claimer_run, &c[i]);
    }
    for (int i = 0; i < CLAIM_THREADS; i++) {
        pthread_join(th[i], NULL);
        errors += c[i].errors;
    }
    for (int i = 0; i < CLAIM_JOBS; i++)
        once += seen[i] == 1;
    CHECK(errors == 0, "%d threads claim without errors (%d)", CLAIM_THREADS,
          errors);
    CHECK(atomic_load(&claims) == CLAIM_JOBS && once == CLAIM_JOBS,
          "every job claimed exactly once (%d claims, %d once)",
          atomic_load(&claims), once);
    CHECK(store_jobs_count(st, "done", &n) == 0 && n == CLAIM_JOBS,
          "none lost: %zu done", n);
}

/* --- the editorial desk -------------------------------------------------- */

static void contract_sessions(struct store *st, const char *url)
{
    struct store_staff s1 = {.email = "a@example.org",
                             .name = "A",
                             .role = "editor",
                             .password_hash = "x"};
    struct store_staff s2 = {.email = "b@example.org",
                             .name = "B",
                             .role = "author",
                             .password_hash = "x"};
    struct store_session se = {0}, got;
    struct arena a;
    size_t n = 99;
    int is_pg = strncmp(url, "postgres", 8) == 0;

    arena_init(&a);
    store_staff_save(st, &s1);
    store_staff_save(st, &s2);
    se.staff_id = s1.id;
    se.created_at = 100;
    se.last_seen_at = 100;
    se.expires_at = 1000;
    se.token_hash = "aa01";
    CHECK(store_session_add(st, &se) == 0, "a session is added");
    se.token_hash = "aa02";
    store_session_add(st, &se);
    se.token_hash = "bb01";
    se.staff_id = s2.id;
    store_session_add(st, &se);
    se.token_hash = "aa01";
    CHECK(store_session_add(st, &se) == STORE_CONFLICT,
          "a taken token hash is a conflict");
    CHECK(store_session_get(st, &a, "aa01", &got) == 0 &&
              strcmp(got.token_hash, "aa01") == 0 && got.staff_id == s1.id &&
              got.created_at == 100 && got.last_seen_at == 100 &&
              got.expires_at == 1000,
          "a session reads back");
    CHECK(store_session_get(st, &a, "zz", &got) == STORE_NOTFOUND,
          "a missing session is not found");
    CHECK(store_session_touch(st, "aa01", 150) == 0 &&
              store_session_get(st, &a, "aa01", &got) == 0 &&
              got.last_seen_at == 150 && got.created_at == 100,
          "touch sets last_seen_at");
    CHECK(store_session_touch(st, "zz", 150) == STORE_NOTFOUND,
          "touching a missing session is not found");
    CHECK(store_session_delete(st, "bb01") == 0 &&
              store_session_get(st, &a, "bb01", &got) == STORE_NOTFOUND,
          "a session deletes");
    CHECK(store_session_delete(st, "bb01") == STORE_NOTFOUND,
          "deleting a missing session is not found");
    se.token_hash = "bb02";
    store_session_add(st, &se);
    CHECK(store_sessions_delete_staff(st, s1.id, &n) == 0 && n == 2 &&
              store_session_get(st, &a, "aa01", &got) == STORE_NOTFOUND &&
              store_session_get(st, &a, "aa02", &got) == STORE_NOTFOUND,
          "signing out everywhere ends every session of the account (%zu)", n);
    CHECK(store_session_get(st, &a, "bb02", &got) == 0,
          "another account's session stays");
    CHECK(store_sessions_delete_staff(st, s1.id, &n) == 0 && n == 0 &&
              store_sessions_delete_staff(st, s1.id, NULL) == 0,
          "signing out everywhere with no sessions deletes none");
    /* prune at now = 500, idle before 200 */
    se.staff_id = s1.id;
    se.token_hash = "expired";
    se.last_seen_at = 400;
    se.expires_at = 500;
    store_session_add(st, &se);
    se.token_hash = "idle";
    se.last_seen_at = 199;
    se.expires_at = 2000;
    store_session_add(st, &se);
    se.token_hash = "live";
    se.last_seen_at = 200;
    se.expires_at = 501;
    store_session_add(st, &se);
    CHECK(store_sessions_prune(st, 500, 200, &n) == 0 && n == 3,
          "prune deletes expired and idle sessions (%zu)", n);
    CHECK(store_session_get(st, &a, "live", &got) == 0 &&
              store_session_get(st, &a, "expired", &got) == STORE_NOTFOUND &&
              store_session_get(st, &a, "idle", &got) == STORE_NOTFOUND,
          "prune keeps a session that is neither");
    CHECK(store_sessions_prune(st, 500, 200, NULL) == 0,
          "prune with nothing to delete is fine");
    if (is_pg) {
        char err[256];
        struct store *other = store_open(url, err, sizeof err);
        struct store_audit e = {.actor = "x", .action = "y"};
        struct store_staff_token t = {
            .token_hash = "t", .staff_id = s1.id, .purpose = "reset"};
        uint64_t v0 = store_version(st), v1;
        unsigned c;

        CHECK(other != NULL, "a second handle opens");
        if (!other)
            goto out;
        version_settles(other);
        v1 = store_version(other);
        se.token_hash = "quiet";
        store_session_add(st, &se);
        store_session_touch(st, "quiet", 600);
        store_session_delete(st, "quiet");
        store_rate_hit(st, "signin", 1, 60, &c);
        store_staff_token_add(st, &t);
        store_audit_add(st, &e);
        CHECK(store_version(st) == v0,
              "postgresql: desk bookkeeping leaves this handle's version");
        CHECK(version_stays(other, v1),
              "postgresql: desk bookkeeping leaves other nodes' version");
        store_setting_set(st, "k", "v");
        CHECK(version_moves(other, v1) && store_version(st) != v0,
              "postgresql: a content write still moves it");
        store_close(other);
    }
out:
    arena_release(&a);
}

static void contract_rate(struct store *st, const char *url)
{
    unsigned c = 99;
    size_t n = 99;

    (void)url;
    CHECK(store_rate_peek(st, "ip:1", 1000, 60, &c) == 0 && c == 0,
          "a new key counts 0");
    CHECK(store_rate_hit(st, "ip:1", 1000, 60, &c) == 0 && c == 1,
          "the first hit counts 1");
    CHECK(store_rate_hit(st, "ip:1", 1010, 60, &c) == 0 && c == 2 &&
              store_rate_hit(st, "ip:1", 1059, 60, &c) == 0 && c == 3,
          "hits in the window add up (%u)", c);
    CHECK(store_rate_peek(st, "ip:1", 1059, 60, &c) == 0 && c == 3,
          "peek reads the count without adding (%u)", c);
    CHECK(store_rate_peek(st, "ip:1", 1060, 60, &c) == 0 && c == 0,
          "a passed window peeks as 0");
    CHECK(store_rate_hit(st, "ip:1", 1060, 60, &c) == 0 && c == 1,
          "a hit once the window passed restarts it at 1");
    CHECK(store_rate_hit(st, "ip:1", 1119, 60, &c) == 0 && c == 2,
          "the restarted window runs from the restart (%u)", c);
    CHECK(store_rate_hit(st, "ip:2", 1119, 60, &c) == 0 && c == 1,
          "keys count apart");
    CHECK(store_rate_clear(st, "ip:1") == 0 &&
              store_rate_peek(st, "ip:1", 1119, 60, &c) == 0 && c == 0,
          "clear forgets a key");
    CHECK(store_rate_clear(st, "ip:1") == 0, "clearing a missing key is 0");
    store_rate_hit(st, "ip:3", 5000, 60, &c);
    CHECK(store_rate_prune(st, 2000, &n) == 0 && n == 1 &&
              store_rate_peek(st, "ip:3", 5000, 60, &c) == 0 && c == 1,
          "prune deletes old windows only (%zu)", n);
    CHECK(store_rate_prune(st, 2000, NULL) == 0,
          "prune with nothing to delete is fine");
}

#define HIT_THREADS 8
#define HIT_ROUNDS 40

/* One of the threads hitting one key: on the shared store, or (odd ones)
 * on a handle of its own, as another process would. */
struct hitter {
    struct store *st;   /* shared store */
    const char *url;    /* for a handle of its own */
    int own;            /* 1 = open its own handle */
    unsigned char *got; /* counts returned, HIT_THREADS * HIT_ROUNDS + 1 */
    int errors;
};

static void *hitter_run(void *arg)
{
    struct hitter *h = arg;
    struct store *st = h->st;
    char err[256];
    unsigned c;

    if (h->own)
        st = store_open(h->url, err, sizeof err);
    if (!st) {
        h->errors++;
        return NULL;
    }
    for (int i = 0; i < HIT_ROUNDS; i++) {
        if (store_rate_hit(st, "hot", 1000, 3600, &c) != 0 ||
            c > HIT_THREADS * HIT_ROUNDS)
            h->errors++;
        else
            __atomic_fetch_add(&h->got[c], 1, __ATOMIC_SEQ_CST);
    }
    if (h->own)
        store_close(st);
    return NULL;
}

static void contract_rate_concurrency(struct store *st, const char *url)
{
    struct hitter h[HIT_THREADS];
    pthread_t th[HIT_THREADS];
    unsigned char got[HIT_THREADS * HIT_ROUNDS + 1] = {0};
    unsigned c = 0;
    int errors = 0, once = 0;

    for (int i = 0; i < HIT_THREADS; i++) {
        h[i] = (struct hitter){st, url, i % 2, got, 0};
        pthread_create(&th[i], NULL, hitter_run, &h[i]);
    }
    for (int i = 0; i < HIT_THREADS; i++) {
        pthread_join(th[i], NULL);
        errors += h[i].errors;
    }
    for (int i = 1; i <= HIT_THREADS * HIT_ROUNDS; i++)
        once += got[i] == 1;
    CHECK(errors == 0, "%d threads hit one key without errors (%d)",
          HIT_THREADS, errors);
    CHECK(store_rate_peek(st, "hot", 1000, 3600, &c) == 0 &&
              c == HIT_THREADS * HIT_ROUNDS,
          "no hit is lost: %u of %d", c, HIT_THREADS * HIT_ROUNDS);
    CHECK(once == HIT_THREADS * HIT_ROUNDS,
          "every caller saw a different count (%d)", once);
}

/* Threads taking one token at once. */
struct taker {
    struct store *st;
    const char *hash;
    atomic_int *took;
    int errors;
};

static void *taker_run(void *arg)
{
    struct taker *t = arg;
    struct store_staff_token out;
    struct arena a;
    int rc;

    arena_init(&a);
    rc = store_staff_token_take(t->st, &a, t->hash, &out);
    if (rc == 0)
        atomic_fetch_add(t->took, 1);
    else if (rc != STORE_NOTFOUND)
        t->errors++;
    arena_release(&a);
    return NULL;
}

static void contract_staff_tokens(struct store *st, const char *url)
{
    struct store_staff s = {.email = "a@example.org",
                            .name = "A",
                            .role = "editor",
                            .password_hash = "x"};
    struct store_staff_token t = {0}, got;
    struct taker tk[4];
    pthread_t th[4];
    atomic_int took;
    struct arena a;
    int errors = 0;

    (void)url;
    arena_init(&a);
    store_staff_save(st, &s);
    t.token_hash = "feed01";
    t.staff_id = s.id;
    t.purpose = "invite";
    t.created_at = 10;
    t.expires_at = 20;
    CHECK(store_staff_token_add(st, &t) == 0, "a token is added");
    CHECK(store_staff_token_add(st, &t) == STORE_CONFLICT,
          "a taken token hash is a conflict");
    t.token_hash = "feed02";
    t.purpose = "promote";
    CHECK(store_staff_token_add(st, &t) == STORE_ERROR,
          "the database refuses an unknown purpose");
    CHECK(store_staff_token_get(st, &a, "feed01", &got) == 0 &&
              strcmp(got.token_hash, "feed01") == 0 && got.staff_id == s.id &&
              strcmp(got.purpose, "invite") == 0 && got.created_at == 10 &&
              got.expires_at == 20,
          "a token reads back");
    CHECK(store_staff_token_get(st, &a, "feed01", &got) == 0,
          "reading a token keeps it");
    CHECK(store_staff_token_take(st, &a, "feed01", &got) == 0 &&
              got.staff_id == s.id && strcmp(got.purpose, "invite") == 0 &&
              got.expires_at == 20,
          "a token is taken with its fields");
    CHECK(store_staff_token_take(st, &a, "feed01", &got) == STORE_NOTFOUND,
          "a taken token cannot be taken again");
    CHECK(store_staff_token_get(st, &a, "feed01", &got) == STORE_NOTFOUND,
          "a taken token is gone");
    t.token_hash = "feed03";
    t.purpose = "reset";
    store_staff_token_add(st, &t);
    atomic_init(&took, 0);
    for (int i = 0; i < 4; i++) {
        tk[i] = (struct taker){st, "feed03", &took, 0};
        pthread_create(&th[i], NULL, taker_run, &tk[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        errors += tk[i].errors;
    }
    CHECK(errors == 0 && atomic_load(&took) == 1,
          "of 4 threads taking one token, one gets it (%d)",
          atomic_load(&took));
    arena_release(&a);
}

static void contract_audit(struct store *st, const char *url)
{
    struct store_audit e[7], *out;
    struct arena a;
    size_t n;

    (void)url;
    arena_init(&a);
    memset(e, 0, sizeof e);
    for (int i = 0; i < 7; i++) {
        e[i].at = 100 + i;
        e[i].staff_id = i % 2 ? 42 : 0; /* no such staff: history stays */
        e[i].actor = i % 2 ? "Zoe <zoe@example.org>" : "command line";
        e[i].action = "post.publish";
        e[i].target = arena_printf(&a, "post %d 'p%d'", i, i);
        e[i].detail = i == 3 ? "from draft" : NULL;
        CHECK(store_audit_add(st, &e[i]) == 0 &&
                  (i == 0 || e[i].id > e[i - 1].id),
              "audit entry %d is stored with a growing id", i);
    }
    CHECK(store_audit_list(st, &a, 0, 3, &out, &n) == 0 && n == 3 &&
              out[0].id == e[6].id && out[1].id == e[5].id &&
              out[2].id == e[4].id,
          "the audit log lists newest first");
    CHECK(store_audit_list(st, &a, out[2].id, 3, &out, &n) == 0 && n == 3 &&
              out[0].id == e[3].id && out[2].id == e[1].id,
          "the next page starts before the last id shown");
    CHECK(n == 3 && out[0].at == 103 && out[0].staff_id == 42 &&
              strcmp(out[0].actor, "Zoe <zoe@example.org>") == 0 &&
              strcmp(out[0].action, "post.publish") == 0 &&
              strcmp(out[0].target, "post 3 'p3'") == 0 && out[0].detail &&
              strcmp(out[0].detail, "from draft") == 0 &&
              out[1].detail == NULL && out[1].staff_id == 0,
          "an audit entry reads back whole");
    CHECK(store_audit_list(st, &a, e[1].id, 3, &out, &n) == 0 && n == 1 &&
              out[0].id == e[0].id,
          "the last page is short");
    CHECK(store_audit_list(st, &a, 0, 0, &out, &n) == 0 && n == 7,
          "limit 0 lists up to the default");
    arena_release(&a);
}

/* --- settings ------------------------------------------------------------ */

#define INIT_RACERS 4 /* threads racing store_setting_init, own handles */

struct init_racer {
    const char *url;       /* database to open */
    char mine[16];         /* the value this thread offers */
    char got[16];          /* the value it was told the store holds */
    int64_t sub_id;        /* what store_subscriber_upsert gave */
    int errors;            /* failed calls */
    pthread_barrier_t *go; /* all start together */
};

static void *init_racer_run(void *arg)
{
    struct init_racer *r = arg;
    char err[256];
    struct store *st = store_open(r->url, err, sizeof err);
    struct arena a;
    const char *out = NULL;

    pthread_barrier_wait(r->go);
    if (!st) {
        r->errors++;
        return NULL;
    }
    arena_init(&a);
    if (store_setting_init(st, &a, "secret", r->mine, &out) != 0 || !out)
        r->errors++;
    else
        snprintf(r->got, sizeof r->got, "%s", out);
    if (store_subscriber_upsert(st, "race@example.org", 50, &r->sub_id) != 0)
        r->errors++;
    arena_release(&a);
    store_close(st);
    return NULL;
}

static void contract_setting_init(struct store *st, const char *url)
{
    struct init_racer r[INIT_RACERS];
    pthread_t th[INIT_RACERS];
    pthread_barrier_t go;
    const char *out = NULL;
    struct arena a;
    int errors = 0, same = 0;

    arena_init(&a);
    CHECK(store_setting_init(st, &a, "key", "first", &out) == 0 && out &&
              strcmp(out, "first") == 0,
          "setting_init sets a key that has no value");
    CHECK(store_setting_init(st, &a, "key", "second", &out) == 0 && out &&
              strcmp(out, "first") == 0,
          "a second setting_init keeps the first value and reports it");
    CHECK_STR(store_setting_get(st, &a, "key"), "first",
              "the store holds the first value");
    store_setting_set(st, "set", "by hand");
    CHECK(store_setting_init(st, &a, "set", "other", &out) == 0 && out &&
              strcmp(out, "by hand") == 0,
          "setting_init keeps a value set by store_setting_set");
    pthread_barrier_init(&go, NULL, INIT_RACERS);
    for (int i = 0; i < INIT_RACERS; i++) {
        r[i] = (struct init_racer){.url = url, .go = &go};
        snprintf(r[i].mine, sizeof r[i].mine, "value-%d", i);
        pthread_create(&th[i], NULL, init_racer_run, &r[i]);
    }
    for (int i = 0; i < INIT_RACERS; i++) {
        pthread_join(th[i], NULL);
        errors += r[i].errors;
    }
    pthread_barrier_destroy(&go);
    out = store_setting_get(st, &a, "secret");
    for (int i = 0; i < INIT_RACERS; i++)
        same += out && strcmp(r[i].got, out) == 0 &&
                r[i].sub_id == r[0].sub_id && r[i].sub_id > 0;
    CHECK(errors == 0, "%d racing handles init without errors (%d)",
          INIT_RACERS, errors);
    CHECK(same == INIT_RACERS,
          "racing handles all get the one value stored (%s), and one "
          "subscriber id for one email",
          out ? out : "none");
    arena_release(&a);
}

int main(void)
{
    static const struct store_contract contracts[] = {
        {"staff", contract_staff},
        {"staff totp", contract_staff_totp},
        {"jobs", contract_jobs},
        {"publish due posts", contract_publish_due},
        {"jobs claimed once", contract_jobs_concurrency},
        {"sessions", contract_sessions},
        {"rate limits", contract_rate},
        {"rate limit hits counted once", contract_rate_concurrency},
        {"staff tokens", contract_staff_tokens},
        {"audit log", contract_audit},
        {"setting init", contract_setting_init},
    };

    return store_contracts_main(contracts,
                                sizeof contracts / sizeof contracts[0]);
}
