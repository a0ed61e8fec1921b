/*
 * test_jobs.c - the job runner (src/jobs/): retries with backoff, failure
 * after max_attempts, the publish_due kind, and worker threads doing each
 * job once. On a SQLite store in a temporary folder; the queue's own
 * contract (claims, leases, both backends) is in test_store.c.
 */
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/arena.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "store/store.h"

static char tmpdir[] = "/tmp/newsroom-jobs-XXXXXX";

static int flaky_runs;       /* calls of flaky() */
static atomic_int busy_runs; /* calls of busy() */

/* Fails twice, then succeeds. */
static int flaky(struct store *st, struct arena *a, const struct store_job *job,
                 char *err, size_t errlen)
{
    (void)st;
    (void)a;
    (void)job;
    if (++flaky_runs <= 2) {
        snprintf(err, errlen, "not yet (%d)", flaky_runs);
        return JOB_RETRY;
    }
    return JOB_DONE;
}

/* Always asks to be retried. */
static int broken(struct store *st, struct arena *a,
                  const struct store_job *job, char *err, size_t errlen)
{
    (void)st;
    (void)a;
    (void)job;
    snprintf(err, errlen, "the printer is on fire");
    return JOB_RETRY;
}

static int busy(struct store *st, struct arena *a, const struct store_job *job,
                char *err, size_t errlen)
{
    (void)st;
    (void)a;
    (void)job;
    (void)err;
    (void)errlen;
    atomic_fetch_add(&busy_runs, 1);
    return JOB_DONE;
}

static const struct job_kind kinds[] = {
    {"flaky", flaky, 5, 30},
    {"broken", broken, 3, 30},
    {"busy", busy, 3, 30},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static size_t count(struct store *st, const char *state)
{
    size_t n = 0;

    store_jobs_count(st, state, &n);
    return n;
}

static void test_backoff(void)
{
    CHECK(job_backoff(1) == JOB_BACKOFF_S &&
              job_backoff(2) == 2 * JOB_BACKOFF_S &&
              job_backoff(3) == 4 * JOB_BACKOFF_S,
          "the retry delay doubles per attempt");
    CHECK(job_backoff(40) == JOB_BACKOFF_MAX_S, "and is capped");
}

static void test_retry(struct store *st)
{
    int64_t t = 1000;

    CHECK(store_job_add(st, "flaky", "", t, NULL, NULL) == 0, "flaky added");
    CHECK(job_run_one(st, kinds, NKINDS, t) == 0 && flaky_runs == 1,
          "first attempt runs");
    CHECK(job_run_one(st, kinds, NKINDS, t + job_backoff(1) - 1) ==
              STORE_NOTFOUND,
          "no second attempt before the backoff");
    t += job_backoff(1);
    CHECK(job_run_one(st, kinds, NKINDS, t) == 0 && flaky_runs == 2,
          "second attempt after %u s", job_backoff(1));
    CHECK(job_run_one(st, kinds, NKINDS, t + job_backoff(2) - 1) ==
              STORE_NOTFOUND,
          "the second wait is longer");
    t += job_backoff(2);
    CHECK(job_run_one(st, kinds, NKINDS, t) == 0 && flaky_runs == 3,
          "third attempt succeeds");
    CHECK(job_run_one(st, kinds, NKINDS, t + 100000) == STORE_NOTFOUND &&
              flaky_runs == 3,
          "a done job never runs again");
    CHECK(count(st, "done") == 1 && count(st, "queued") == 0,
          "it is done, once");
}

static void test_fail(struct store *st)
{
    int64_t t = 100000;

    CHECK(store_job_add(st, "broken", "", t, NULL, NULL) == 0, "broken added");
    for (int i = 0; i < 3; i++) {
        CHECK(job_run_one(st, kinds, NKINDS, t) == 0, "attempt %d runs", i + 1);
        t += JOB_BACKOFF_MAX_S;
    }
    CHECK(job_run_one(st, kinds, NKINDS, t) == STORE_NOTFOUND,
          "no fourth attempt");
    CHECK(count(st, "failed") == 1, "the job ends failed after 3 attempts");
}

static struct store_post post(const char *slug, int64_t at)
{
    struct store_post p;

    memset(&p, 0, sizeof p);
    p.slug = slug;
    p.title = slug;
    p.excerpt = "e";
    p.markdown = "b";
    p.html = "<p>b</p>";
    p.plaintext = "b";
    p.language = "en";
    p.status = STORE_POST_SCHEDULED;
    p.published_at = at;
    return p;
}

static void test_publish_due(struct store *st)
{
    const struct job_kind *pd = NULL;
    struct store_post due = post("due-now", (int64_t)time(NULL) - 5);
    struct store_post later = post("due-later", (int64_t)time(NULL) + 3600);
    struct store_post got;
    struct arena a;

    for (size_t i = 0; i < job_nkinds; i++)
        if (strcmp(job_kinds[i].kind, "publish_due") == 0)
            pd = &job_kinds[i];
    CHECK(pd != NULL, "publish_due is a known kind");
    if (!pd)
        return;
    arena_init(&a);
    CHECK(store_post_save(st, &due, NULL, 0, NULL, 0) == 0 &&
              store_post_save(st, &later, NULL, 0, NULL, 0) == 0,
          "two scheduled posts");
    CHECK(store_job_add(st, "publish_due", "", 0, "publish_due", NULL) == 0 &&
              job_run_one(st, pd, 1, (int64_t)time(NULL)) == 0,
          "publish_due runs");
    CHECK(store_post_get_by_slug(st, &a, "due-now", &got) == 0 &&
              got.status == STORE_POST_PUBLISHED,
          "the due post is published");
    CHECK(store_post_get_by_slug(st, &a, "due-later", &got) == 0 &&
              got.status == STORE_POST_SCHEDULED,
          "the future one is not");
    arena_release(&a);
}

static void test_threads(struct store *st)
{
    struct timespec nap = {0, 20 * 1000000L};
    int waited = 0;

    for (int i = 0; i < 50; i++)
        store_job_add(st, "busy", "", 0, NULL, NULL);
    CHECK(job_runner_start_kinds(st, kinds, NKINDS, 3, 0) == 0,
          "three workers start");
    CHECK(job_runner_start_kinds(st, kinds, NKINDS, 1, 0) == -1,
          "a second runner is refused");
    while (atomic_load(&busy_runs) < 50 && waited++ < 500)
        nanosleep(&nap, NULL);
    job_runner_stop();
    CHECK(atomic_load(&busy_runs) == 50, "50 jobs ran once each (%d)",
          atomic_load(&busy_runs));
    job_runner_stop();
    CHECK(1, "stopping twice is harmless");
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    char url[512], err[256];
    struct store *st;

    log_set_level(LOG_ERROR);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(url, sizeof url, "sqlite:%s/jobs.sqlite", tmpdir);
    st = store_open(url, err, sizeof err);
    CHECK(st != NULL, "store opens (%s)", st ? "ok" : err);
    if (st) {
        test_backoff();
        test_retry(st);
        test_fail(st);
        test_publish_due(st);
        test_threads(st);
        store_close(st);
    }
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return check_done();
}
