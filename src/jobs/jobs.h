/*
 * jobs.h - the job runner: worker threads that take durable jobs from the
 * store's queue (store_job_claim) and run them, off the request path.
 *
 * A job is a row (kind, payload, run_at); a kind is a row of a table of
 * struct job_kind saying which function runs it, how long a claim lasts
 * and how often to try. docs/jobs.md explains leases, retries and running
 * workers on other nodes.
 */
#ifndef JOBS_JOBS_H
#define JOBS_JOBS_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct store;
struct store_job;

#define JOB_POLL_MS 250        /* idle workers look for due jobs this often */
#define JOB_TICK_MS 15000      /* publish_due is enqueued this often */
#define JOB_BACKOFF_S 2        /* first retry delay; doubles per attempt */
#define JOB_BACKOFF_MAX_S 3600 /* longest retry delay */
#define JOB_THREADS_MAX 64     /* workers one runner may start */
#define JOB_PRUNE_AGE_S 86400  /* finished jobs are deleted after this */
/* A claim lasts this long unless renewed. While a handler runs, the
 * runner's heartbeat renews it every quarter lease (store_job_extend), so
 * a job of a worker that died (kill -9, a node lost) is taken again within
 * this many seconds, however long the job itself runs. The environment
 * variable NEWSROOM_JOB_LEASE_S (2 to 3600) overrides it for every kind
 * (the end-to-end tests use a few seconds). */
#define JOB_LEASE_S 60

/* What a handler returns. */
enum job_result {
    JOB_DONE = 0,   /* finished: the job is marked done */
    JOB_RETRY = 1,  /* try again later (with backoff) */
    JOB_FAILED = -1 /* give up: the job is marked failed */
};

/* Runs one job. a is freed after the call; err (errlen bytes) gets a
 * one-line reason for JOB_RETRY or JOB_FAILED. */
typedef int (*job_fn)(struct store *st, struct arena *a,
                      const struct store_job *job, char *err, size_t errlen);

/* One kind of job. */
struct job_kind {
    const char *kind;      /* the jobs.kind value, "publish_due" */
    job_fn run;            /* does the work */
    unsigned max_attempts; /* after this many, a retry becomes a failure */
    unsigned lease_s;      /* a claim lasts this long between two
                              heartbeats (JOB_LEASE_S), seconds */
    int heavy;             /* 1 = minutes of CPU (narration): with more
                              than one worker, the first never takes it,
                              so mail and publishing are never stuck
                              behind it */
};

/* The kinds newsroom knows (publish_due, ...), and how many. */
extern const struct job_kind job_kinds[];
extern const size_t job_nkinds;

/* Starts threads workers (0 = 1, at most JOB_THREADS_MAX) running the
 * kinds of job_kinds on st, plus the ticker that enqueues publish_due
 * every JOB_TICK_MS (or NEWSROOM_JOB_TICK_MS milliseconds from the
 * environment). site_dir is the site's folder (for kinds that write files;
 * copied). st must outlive job_runner_stop(). The threads block SIGINT and
 * SIGTERM. One runner per process: -1 (logged) if one runs or a thread
 * cannot start. */
int job_runner_start(struct store *st, const char *site_dir, unsigned threads);
/* The same with another table of kinds (tests); tick 0 = no ticker. */
int job_runner_start_kinds(struct store *st, const struct job_kind *kinds,
                           size_t nkinds, unsigned threads, unsigned tick_ms);
/* Stops the runner: wakes the workers and waits up to BOUND_DRAIN_S
 * (core/bounds.h) for the job each one is running to end (long ones see
 * job_runner_stopping() and hand their job back), then joins them. A job
 * still running at the bound is handed back (queued again at once, for any
 * worker) and the process exits with status 0 there and then: the store
 * is in use under the caller. Safe when none runs. */
void job_runner_stop(void);
/* Begins the stop without waiting: job_runner_stopping() turns 1 and the
 * BOUND_DRAIN_S of job_runner_stop() counts from now. Safe when none
 * runs or a stop already began. */
void job_runner_stop_begin(void);
/* Wakes the idle workers now (after enqueueing a job). */
void job_runner_wake(void);

/* Claims one due job of kinds at time now and runs it: done, retried at
 * now + job_backoff(attempts), or failed (logged); a JOB_RETRY while the
 * runner stops hands the job back (queued at once, no backoff). The
 * outcome is recorded only while this worker's claim holds
 * (store_job_extend): a worker that lost its lease leaves the job to the
 * one that took it over (logged). 0 when a job ran,
 * STORE_NOTFOUND when none was due, -1 on a store failure. Used by the
 * workers; tests call it directly with a chosen now. */
int job_run_one(struct store *st, const struct job_kind *kinds, size_t nkinds,
                int64_t now);
/* Retry delay after the attempts-th failed attempt, in seconds:
 * JOB_BACKOFF_S doubled per attempt, at most JOB_BACKOFF_MAX_S. */
unsigned job_backoff(unsigned attempts);

/* 1 once job_runner_stop() began: long jobs end early. */
int job_runner_stopping(void);
/* The site folder job_runner_start was given ("" for none). */
const char *job_site_dir(void);
/* The unique key of this process's mail_outbox job ("mail_outbox:HOST:PID"):
 * whoever queues mail adds the job under it (a queued one absorbs it). */
const char *job_mail_key(void);

/* mail_job.c: delivers due outbox rows (newsletter issues, confirmation
 * mail) for up to MAIL_JOB_RUN_S, then ends; the ticker queues it again. */
#define MAIL_JOB_LEASE_S JOB_LEASE_S /* the job's claim, heartbeat-renewed */
#define MAIL_JOB_RUN_S 240 /* one run delivers for at most this long */
int job_mail_outbox(struct store *st, struct arena *a,
                    const struct store_job *job, char *err, size_t errlen);
/* Deletes unconfirmed sign-ups older than NL_PURGE_AFTER_S. */
int job_nl_purge(struct store *st, struct arena *a, const struct store_job *job,
                 char *err, size_t errlen);

/* narrate_job.c: makes the audio version of one published post (payload:
 * its id), unless its text, voice and engine are unchanged since the last
 * one (docs/narration.md). */
#define NARRATE_LEASE_S JOB_LEASE_S /* renewed while the engine runs */
struct store_post;
int job_narrate(struct store *st, struct arena *a, const struct store_job *job,
                char *err, size_t errlen);
/* Queues narrate for published posts that have none (ticker). */
int job_narrate_missing(struct store *st, struct arena *a,
                        const struct store_job *job, char *err, size_t errlen);
/* Queues narrate for post p (after it was published or its text changed);
 * one job per version of its text. */
void job_narrate_queue(struct store *st, const struct store_post *p);

/* The publish_due kind's handler: publishes the scheduled posts whose time
 * has come (store_posts_publish_due). */
int job_publish_due(struct store *st, struct arena *a,
                    const struct store_job *job, char *err, size_t errlen);

#endif
