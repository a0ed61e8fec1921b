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
 *   A worker that dies leaves the lease to run out; then the job is taken
 *   again. So a handler must finish well within lease_s, and one that may
 *   be interrupted must be safe to run twice (publish_due is).
 * - Retries: a handler says done, retry or failed. A retry is queued again
 *   at now + JOB_BACKOFF_S * 2^(attempts-1) (capped); after max_attempts
 *   it becomes failed. Every retry and failure is logged on one line.
 * - Ticker: one more thread enqueues publish_due every JOB_TICK_MS with
 *   unique key "publish_due": every node does so, but the unique key keeps
 *   one pending at a time across all of them. It also deletes finished
 *   jobs older than JOB_PRUNE_AGE_S once an hour.
 * - Stopping: a flag and a broadcast; each worker finishes the job it is
 *   running, then exits; job_runner_stop() joins them.
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

/* The one runner of the process. */
static struct {
    pthread_mutex_t mu;           /* guards stopping and the cond */
    pthread_cond_t cond;          /* idle workers and ticker wait here */
    int running;                  /* 1 between start and stop */
    int stopping;                 /* 1 once stop began */
    struct store *st;             /* the queue */
    const struct job_kind *kinds; /* handled kinds */
    size_t nkinds;                /* entries in kinds */
    unsigned tick_ms;             /* ticker period, 0 = no ticker */
    char site_dir[1024];          /* the site's folder, or "" */
    pthread_t threads[JOB_THREADS_MAX + 1]; /* workers, then the ticker */
    unsigned nthreads;                      /* threads started */
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

int job_run_one(struct store *st, const struct job_kind *kinds, size_t nkinds,
                int64_t now)
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
        if (kinds[i].lease_s > lease)
            lease = kinds[i].lease_s;
    }
    arena_init(&a);
    /* claim with the longest lease, then narrow it to the kind's: the
     * kind is only known once the row is read */
    rc = store_job_claim(st, &a, names, nkinds, now, lease, &job);
    if (rc != 0)
        goto out;
    k = kind_find(kinds, nkinds, job.kind);
    res = k->run(st, &a, &job, err, sizeof err);
    if (res == JOB_RETRY && job.attempts >= k->max_attempts) {
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
    if (res == JOB_DONE)
        rc = store_job_done(st, job.id);
    else if (res == JOB_RETRY)
        rc = store_job_retry(st, job.id, now + job_backoff(job.attempts),
                             *err ? err : NULL);
    else
        rc = store_job_fail(st, job.id, *err ? err : NULL);
    if (rc != 0)
        rc = -1;
out:
    arena_release(&a);
    return rc;
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

    /* the first of several workers leaves heavy kinds to the others */
    if (arg) {
        nkinds = 0;
        for (size_t i = 0; i < R.nkinds && nkinds < STORE_JOB_KINDS_MAX; i++)
            if (!R.kinds[i].heavy)
                light[nkinds++] = R.kinds[i];
        kinds = light;
    }
    while (!stopping()) {
        int rc =
            nkinds ? job_run_one(R.st, kinds, nkinds, (int64_t)time(NULL)) : -1;
        if (rc == 0)
            continue; /* maybe more are due */
        if (nap(JOB_POLL_MS))
            break;
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
    /* the threads inherit a mask with every signal blocked: SIGINT and
     * SIGTERM go to the main thread's sigwait */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < threads + (tick_ms ? 1 : 0); i++) {
        int e =
            pthread_create(&R.threads[i], NULL, i < threads ? worker : ticker,
                           i == 0 && threads > 1 ? &R : NULL);
        if (e != 0) {
            log_error("cannot start job worker: %s", strerror(e));
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

void job_runner_stop(void)
{
    pthread_mutex_lock(&R.mu);
    if (!R.running) {
        pthread_mutex_unlock(&R.mu);
        return;
    }
    R.stopping = 1;
    pthread_cond_broadcast(&R.cond);
    pthread_mutex_unlock(&R.mu);
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
