/*
 * jobs.c - the job runner: worker threads over the store's job queue.
 *
 * DESIGN
 *
 * Slow or scheduled work (publishing at a set time, later mail and
 * narration) never runs in a request. Whoever needs it adds a row to the
 * jobs table (store_job_add) and returns; a worker does it later. The
 * queue is the database, not memory, so a job survives kill -9 and any
 * node's workers can take it.
 *
 * - Workers: N threads (default 1). Each loops: claim the oldest due job
 *   of a known kind (store_job_claim), run its kind's handler with a fresh
 *   arena, record the outcome. With nothing due it sleeps JOB_POLL_MS on
 *   a condition variable that job_runner_wake() and job_runner_stop()
 *   signal. Other processes' jobs are found by the poll. With several
 *   workers the first never takes a heavy kind (narration), so mail and
 *   scheduled publishing never wait behind minutes of synthesis.
 * - Exactly once: a claim marks the row running with a lease (lease_until);
 *   no other worker, in any process on any node, takes it while the lease
 *   holds (SQLite: BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE SKIP LOCKED).
 *   Leases are short (JOB_LEASE_S): while a handler runs, the heartbeat
 *   thread renews its worker's claim every quarter lease
 *   (store_job_extend, which only succeeds for the claim still held). A
 *   worker that dies stops renewing; within one lease the job is taken
 *   again, however long it runs. Before recording an outcome a worker
 *   renews once more: if its claim was lost (it stalled past its lease and
 *   another worker took the job) it records nothing, so a job is never
 *   marked done over another's claim. A handler that may be interrupted
 *   must be safe to run twice (publish_due and narrate are).
 * - Retries: a handler says done, retry or failed. A retry is queued again
 *   at now + JOB_BACKOFF_S * 2^(attempts-1) (capped); after max_attempts
 *   it becomes failed. Every retry and failure is logged on one line.
 * - Ticker: one more thread enqueues publish_due every JOB_TICK_MS with
 *   unique key "publish_due": every node does so, but the unique key keeps
 *   one pending at a time across all of them. It also deletes finished
 *   jobs older than JOB_PRUNE_AGE_S once an hour.
 * - Stopping: a flag and a broadcast; each worker finishes the job it is
 *   running (long ones see job_runner_stopping() and return JOB_RETRY,
 *   which hands the job back without backoff), then exits. The heartbeat
 *   keeps renewing until the last worker is out. job_runner_stop() waits
 *   BOUND_DRAIN_S for that; a job still running then is handed back
 *   (queued again at once) and the process exits, since the store cannot
 *   be closed under a running handler.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/bounds.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "store/store.h"

#define PRUNE_EVERY_S 3600 /* how often the ticker prunes finished jobs */

const struct job_kind job_kinds[] = {
    {"publish_due", job_publish_due, 3, 60},
    {"mail_outbox", job_mail_outbox, 3, MAIL_JOB_LEASE_S},
    {"nl_purge", job_nl_purge, 3, 60},
    {"narrate", job_narrate, 5, NARRATE_LEASE_S, 1},
    {"narrate_missing", job_narrate_missing, 3, 60},
};
const size_t job_nkinds = sizeof job_kinds / sizeof job_kinds[0];

/* A worker's running job, as the heartbeat sees it (guarded by R.mu). */
struct beat {
    int64_t id;        /* the job, 0 = the worker is idle */
    const char *kind;  /* its kind (static, from the kinds table) */
    unsigned attempts; /* the claim, store_job.attempts */
    unsigned lease_s;  /* each renewal sets lease_until = now + this */
    int64_t next;      /* renew at this time (seconds), or later */
};

/* The one runner of the process. */
static struct {
    pthread_mutex_t mu;           /* guards stopping, beats, live, cond */
    pthread_cond_t cond;          /* idle workers and ticker wait here;
                                     stop waits here for workers to end */
    int running;                  /* 1 between start and stop */
    int stopping;                 /* 1 once stop began */
    struct timespec stop_until;   /* when stop hands back what still runs */
    struct store *st;             /* the queue */
    const struct job_kind *kinds; /* handled kinds */
    size_t nkinds;                /* entries in kinds */
    unsigned tick_ms;             /* ticker period, 0 = no ticker */
    char site_dir[1024];          /* the site's folder, or "" */
    pthread_t threads[JOB_THREADS_MAX + 2]; /* workers, heartbeat, ticker */
    unsigned nthreads;                      /* threads started */
    unsigned nworkers;                      /* of which workers */
    unsigned live;                          /* workers not yet returned */
    struct beat beats[JOB_THREADS_MAX];     /* by worker */
} R = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

unsigned job_backoff(unsigned attempts)
{
    unsigned s = JOB_BACKOFF_S;

    for (unsigned i = 1; i < attempts && s < JOB_BACKOFF_MAX_S; i++)
        s *= 2;
    return s < JOB_BACKOFF_MAX_S ? s : JOB_BACKOFF_MAX_S;
}

static const struct job_kind *kind_find(const struct job_kind *kinds,
                                        size_t nkinds, const char *name)
{
    for (size_t i = 0; i < nkinds; i++)
        if (strcmp(kinds[i].kind, name) == 0)
            return &kinds[i];
    return NULL;
}

/* The lease of kind k: NEWSROOM_JOB_LEASE_S when set (2 to 3600), else
 * the kind's own. */
static unsigned lease_of(const struct job_kind *k)
{
    const char *s = getenv("NEWSROOM_JOB_LEASE_S");
    long v = s ? strtol(s, NULL, 10) : 0;

    return v >= 2 && v <= 3600 ? (unsigned)v : k->lease_s;
}

/* Seconds between two renewals of a lease_s claim. */
static unsigned beat_period(unsigned lease_s)
{
    return lease_s >= 8 ? lease_s / 4 : 1;
}

/* Shows slot's job to the heartbeat (job NULL: the worker is idle). */
static void beat_set(struct beat *slot, const struct store_job *job,
                     const struct job_kind *k)
{
    if (!slot)
        return;
    pthread_mutex_lock(&R.mu);
    if (job) {
        unsigned lease = lease_of(k);
        slot->kind = k->kind;
        slot->attempts = job->attempts;
        slot->lease_s = lease;
        slot->next = (int64_t)time(NULL) + beat_period(lease);
        slot->id = job->id;
    } else {
        slot->id = 0;
    }
    pthread_mutex_unlock(&R.mu);
}

/* Records res for job (of kind k) claimed at now, while this worker's
 * claim holds. 0 or -1 (a store failure). */
static int record(struct store *st, const struct store_job *job,
                  const struct job_kind *k, int res, const char *err,
                  int64_t now)
{
    int64_t t = (int64_t)time(NULL) > now ? (int64_t)time(NULL) : now;
    int rc;

    /* renewing proves the claim is still ours, and keeps it ours for
     * one more lease: long enough to write the outcome */
    rc = store_job_extend(st, job->id, job->attempts, t + lease_of(k));
    if (rc == STORE_NOTFOUND) {
        log_warn("job %lld '%s' lost its claim while running (lease ran "
                 "out): its outcome is left to the worker that took it",
                 (long long)job->id, job->kind);
        return 0;
    }
    if (rc != 0)
        return -1;
    if (res == JOB_RETRY && job_runner_stopping()) {
        log_info("job %lld '%s' handed back at shutdown", (long long)job->id,
                 job->kind);
        rc = store_job_retry(st, job->id, t, *err ? err : "handed back");
    } else if (res == JOB_DONE) {
        rc = store_job_done(st, job->id);
    } else if (res == JOB_RETRY) {
        rc = store_job_retry(st, job->id, now + job_backoff(job->attempts),
                             *err ? err : NULL);
    } else {
        rc = store_job_fail(st, job->id, *err ? err : NULL);
    }
    return rc != 0 ? -1 : 0;
}

/* job_run_one for a worker with heartbeat slot (NULL: none). */
static int run_one(struct store *st, const struct job_kind *kinds,
                   size_t nkinds, int64_t now, struct beat *slot)
{
    const char *names[STORE_JOB_KINDS_MAX];
    const struct job_kind *k;
    struct store_job job;
    struct arena a;
    unsigned lease = 0;
    char err[256] = "";
    int rc, res;

    if (nkinds == 0 || nkinds > STORE_JOB_KINDS_MAX)
        return -1;
    for (size_t i = 0; i < nkinds; i++) {
        names[i] = kinds[i].kind;
        if (lease_of(&kinds[i]) > lease)
            lease = lease_of(&kinds[i]);
    }
    arena_init(&a);
    /* claim with the longest lease; the heartbeat renews it with the
     * kind's: the kind is only known once the row is read */
    rc = store_job_claim(st, &a, names, nkinds, now, lease, &job);
    if (rc != 0)
        goto out;
    k = kind_find(kinds, nkinds, job.kind);
    beat_set(slot, &job, k);
    res = k->run(st, &a, &job, err, sizeof err);
    if (res == JOB_RETRY && job_runner_stopping()) {
        /* handed back in record(): not an attempt that failed */
    } else if (res == JOB_RETRY && job.attempts >= k->max_attempts) {
        res = JOB_FAILED;
        log_warn("job %lld '%s' failed after %u attempts: %s",
                 (long long)job.id, job.kind, job.attempts,
                 *err ? err : "no reason given");
    } else if (res == JOB_RETRY) {
        log_warn("job %lld '%s' attempt %u failed, retrying in %u s: %s",
                 (long long)job.id, job.kind, job.attempts,
                 job_backoff(job.attempts), *err ? err : "no reason given");
    } else if (res != JOB_DONE) {
        log_warn("job %lld '%s' failed: %s", (long long)job.id, job.kind,
                 *err ? err : "no reason given");
    }
    beat_set(slot, NULL, NULL); /* record() renews the claim itself */
    rc = record(st, &job, k, res, err, now);
out:
    arena_release(&a);
    return rc;
}

int job_run_one(struct store *st, const struct job_kind *kinds, size_t nkinds,
                int64_t now)
{
    return run_one(st, kinds, nkinds, now, NULL);
}

/* Sleeps up to ms on the runner's condition; 1 when stopping. */
static int nap(unsigned ms)
{
    struct timespec until;
    int stop;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&R.mu);
    if (!R.stopping)
        pthread_cond_timedwait(&R.cond, &R.mu, &until);
    stop = R.stopping;
    pthread_mutex_unlock(&R.mu);
    return stop;
}

static int stopping(void)
{
    int stop;

    pthread_mutex_lock(&R.mu);
    stop = R.stopping;
    pthread_mutex_unlock(&R.mu);
    return stop;
}

static void *worker(void *arg)
{
    struct job_kind light[STORE_JOB_KINDS_MAX];
    const struct job_kind *kinds = R.kinds;
    size_t nkinds = R.nkinds;
    unsigned me = (unsigned)(uintptr_t)arg;

    /* the first of several workers leaves heavy kinds to the others */
    if (me == 0 && R.nworkers > 1) {
        nkinds = 0;
        for (size_t i = 0; i < R.nkinds && nkinds < STORE_JOB_KINDS_MAX; i++)
            if (!R.kinds[i].heavy)
                light[nkinds++] = R.kinds[i];
        kinds = light;
    }
    while (!stopping()) {
        int rc = nkinds ? run_one(R.st, kinds, nkinds, (int64_t)time(NULL),
                                  &R.beats[me])
                        : -1;
        if (rc == 0)
            continue; /* maybe more are due */
        if (nap(JOB_POLL_MS))
            break;
    }
    pthread_mutex_lock(&R.mu);
    R.live--;
    pthread_cond_broadcast(&R.cond);
    pthread_mutex_unlock(&R.mu);
    return NULL;
}

/* 1 while a worker still runs the job and claim of b (not finished
 * since the heartbeat copied it). */
static int still_running(const struct beat *b)
{
    int yes = 0;

    pthread_mutex_lock(&R.mu);
    for (unsigned i = 0; i < R.nworkers; i++)
        yes |= R.beats[i].id == b->id && R.beats[i].attempts == b->attempts;
    pthread_mutex_unlock(&R.mu);
    return yes;
}

/* Renews the lease of every running job when due, until the runner stops
 * and its last worker is out. */
static void *heartbeat(void *arg)
{
    struct beat due[JOB_THREADS_MAX];
    const struct timespec pause = {0, JOB_POLL_MS * 1000000L};

    (void)arg;
    for (;;) {
        int64_t now = (int64_t)time(NULL);
        size_t n = 0;

        pthread_mutex_lock(&R.mu);
        if (R.stopping && R.live == 0) {
            pthread_mutex_unlock(&R.mu);
            break;
        }
        for (unsigned i = 0; i < R.nworkers; i++) {
            struct beat *b = &R.beats[i];
            if (b->id && b->next <= now) {
                b->next = now + beat_period(b->lease_s);
                due[n++] = *b;
            }
        }
        pthread_mutex_unlock(&R.mu);
        for (size_t i = 0; i < n; i++)
            if (store_job_extend(R.st, due[i].id, due[i].attempts,
                                 now + due[i].lease_s) == STORE_NOTFOUND &&
                still_running(&due[i]))
                log_warn("job %lld '%s' lost its claim: another worker "
                         "took it over",
                         (long long)due[i].id, due[i].kind);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* This process's unique key for its mail_outbox job (host and pid): each
 * live process keeps one queued, so every node delivers, and a process
 * that died leaves only its own job to run out its lease. */
static char mail_key[128];

static void make_mail_key(void)
{
    char host[64] = "";

    gethostname(host, sizeof host - 1);
    snprintf(mail_key, sizeof mail_key, "mail_outbox:%s:%ld", host,
             (long)getpid());
}

const char *job_mail_key(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, make_mail_key);
    return mail_key;
}

static void *ticker(void *arg)
{
    int64_t last_prune = 0;

    (void)arg;
    do {
        int64_t now = (int64_t)time(NULL);
        int rc = store_job_add(R.st, "publish_due", "", 0, "publish_due", NULL);
        if (rc == 0)
            job_runner_wake();
        if (kind_find(R.kinds, R.nkinds, "narrate_missing"))
            store_job_add(R.st, "narrate_missing", "", 0, "narrate_missing",
                          NULL);
        if (kind_find(R.kinds, R.nkinds, "mail_outbox") &&
            store_job_add(R.st, "mail_outbox", "", 0, job_mail_key(), NULL) ==
                0)
            job_runner_wake();
        if (now - last_prune >= PRUNE_EVERY_S) {
            store_jobs_prune(R.st, now - JOB_PRUNE_AGE_S, NULL);
            if (kind_find(R.kinds, R.nkinds, "nl_purge"))
                store_job_add(R.st, "nl_purge", "", 0, "nl_purge", NULL);
            last_prune = now;
        }
    } while (!nap(R.tick_ms));
    return NULL;
}

/* The ticker period: NEWSROOM_JOB_TICK_MS when set to a number, else
 * JOB_TICK_MS. */
static unsigned tick_from_env(void)
{
    const char *s = getenv("NEWSROOM_JOB_TICK_MS");
    char *end;
    unsigned long v;

    if (!s || !*s)
        return JOB_TICK_MS;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v < 10 || v > 86400000UL) {
        log_warn("ignoring NEWSROOM_JOB_TICK_MS '%.20s': expected 10 to "
                 "86400000",
                 s);
        return JOB_TICK_MS;
    }
    return (unsigned)v;
}

int job_runner_start_kinds(struct store *st, const struct job_kind *kinds,
                           size_t nkinds, unsigned threads, unsigned tick_ms)
{
    sigset_t all, old;
    int rc = 0;

    if (threads == 0)
        threads = 1;
    if (threads > JOB_THREADS_MAX || nkinds == 0 ||
        nkinds > STORE_JOB_KINDS_MAX) {
        log_error("cannot start job runner: %u threads, %zu kinds", threads,
                  nkinds);
        return -1;
    }
    pthread_mutex_lock(&R.mu);
    if (R.running) {
        pthread_mutex_unlock(&R.mu);
        log_error("cannot start job runner: one runs already");
        return -1;
    }
    R.running = 1;
    R.stopping = 0;
    pthread_mutex_unlock(&R.mu);
    R.st = st;
    R.kinds = kinds;
    R.nkinds = nkinds;
    R.tick_ms = tick_ms;
    R.nthreads = 0;
    R.nworkers = threads;
    R.live = 0;
    memset(R.beats, 0, sizeof R.beats);
    /* the threads inherit a mask with every signal blocked: SIGINT and
     * SIGTERM go to the main thread's sigwait */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < threads + 1 + (tick_ms ? 1 : 0); i++) {
        void *(*fn)(void *) = i < threads    ? worker
                              : i == threads ? heartbeat
                                             : ticker;
        int e;

        if (fn == worker) {
            pthread_mutex_lock(&R.mu);
            R.live++;
            pthread_mutex_unlock(&R.mu);
        }
        e = pthread_create(&R.threads[i], NULL, fn, (void *)(uintptr_t)i);
        if (e != 0) {
            log_error("cannot start job worker: %s", strerror(e));
            if (fn == worker) {
                pthread_mutex_lock(&R.mu);
                R.live--;
                pthread_mutex_unlock(&R.mu);
            }
            rc = -1;
            break;
        }
        R.nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        job_runner_stop();
    else
        log_info("job runner: %u worker%s", threads, threads == 1 ? "" : "s");
    return rc;
}

int job_runner_start(struct store *st, const char *site_dir, unsigned threads)
{
    snprintf(R.site_dir, sizeof R.site_dir, "%s", site_dir ? site_dir : "");
    return job_runner_start_kinds(st, job_kinds, job_nkinds, threads,
                                  tick_from_env());
}

int job_runner_stopping(void)
{
    pthread_mutex_lock(&R.mu);
    int s = R.stopping;
    pthread_mutex_unlock(&R.mu);
    return s;
}

const char *job_site_dir(void)
{
    return R.site_dir;
}

void job_runner_wake(void)
{
    pthread_mutex_lock(&R.mu);
    pthread_cond_broadcast(&R.cond);
    pthread_mutex_unlock(&R.mu);
}

/* Hands back the jobs still running at the drain bound and exits. */
static void hand_back_and_exit(void)
{
    struct beat left[JOB_THREADS_MAX];
    int64_t now = (int64_t)time(NULL);
    size_t n = 0;

    pthread_mutex_lock(&R.mu);
    for (unsigned i = 0; i < R.nworkers; i++)
        if (R.beats[i].id)
            left[n++] = R.beats[i];
    pthread_mutex_unlock(&R.mu);
    for (size_t i = 0; i < n; i++) {
        /* only a claim still ours is handed back */
        if (store_job_extend(R.st, left[i].id, left[i].attempts,
                             now + left[i].lease_s) == 0 &&
            store_job_retry(R.st, left[i].id, now,
                            "handed back: still running at shutdown") == 0)
            log_info("job %lld '%s' handed back: still running after %d s",
                     (long long)left[i].id, left[i].kind, BOUND_DRAIN_S);
    }
    log_info("job runner stopped with %zu job%s handed back", n,
             n == 1 ? "" : "s");
    fflush(NULL);
    _exit(0);
}

/* Sets stopping and its deadline once; R.mu held. */
static void stop_begin_locked(void)
{
    if (!R.running || R.stopping)
        return;
    R.stopping = 1;
    clock_gettime(CLOCK_REALTIME, &R.stop_until);
    R.stop_until.tv_sec += BOUND_DRAIN_S;
    pthread_cond_broadcast(&R.cond);
}

void job_runner_stop_begin(void)
{
    pthread_mutex_lock(&R.mu);
    stop_begin_locked();
    pthread_mutex_unlock(&R.mu);
}

void job_runner_stop(void)
{
    int late = 0;

    pthread_mutex_lock(&R.mu);
    if (!R.running) {
        pthread_mutex_unlock(&R.mu);
        return;
    }
    stop_begin_locked();
    while (R.live > 0 && !late)
        late =
            pthread_cond_timedwait(&R.cond, &R.mu, &R.stop_until) == ETIMEDOUT;
    late = R.live > 0;
    pthread_mutex_unlock(&R.mu);
    if (late)
        hand_back_and_exit();
    for (unsigned i = 0; i < R.nthreads; i++)
        pthread_join(R.threads[i], NULL);
    R.nthreads = 0;
    pthread_mutex_lock(&R.mu);
    R.running = 0;
    R.stopping = 0;
    pthread_mutex_unlock(&R.mu);
}

/* --- kinds --------------------------------------------------------------- */

int job_publish_due(struct store *st, struct arena *a,
                    const struct store_job *job, char *err, size_t errlen)
{
    size_t n = 0;

    (void)a;
    (void)job;
    if (store_posts_publish_due(st, (int64_t)time(NULL), &n) != 0) {
        snprintf(err, errlen, "cannot publish due posts");
        return JOB_RETRY;
    }
    if (n)
        log_info("published %zu scheduled post%s", n, n == 1 ? "" : "s");
    return JOB_DONE;
}
