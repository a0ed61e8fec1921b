/*
 * metrics.c - renders GET /metrics in the Prometheus text exposition
 * format 0.0.4; see metrics.h and docs/metrics.md.
 *
 * Every family is written as "# HELP", "# TYPE", then its samples. Names
 * follow Prometheus' conventions: counters end in _total, durations are
 * seconds, sizes bytes. A figure that cannot be read now (a job count
 * while the database is down) is left out rather than reported as 0.
 */
#include "web/metrics.h"

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "core/bounds.h"
#include "core/buf.h"
#include "core/log.h"
#include "http/http.h"
#include "store/store.h"
#include "web/app.h"
#include "web/cache.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Job states reported by newsroom_jobs (store_jobs_count names). */
static const char *const job_states[] = {"queued", "running", "failed"};

/* The "# HELP" and "# TYPE" lines of a family. */
static void family(struct buf *b, const char *name, const char *type,
                   const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family with one unlabelled sample. */
static void single(struct buf *b, const char *name, const char *type,
                   const char *help, unsigned long long v)
{
    family(b, name, type, help);
    buf_printf(b, "%s %llu\n", name, v);
}

/* Resident memory in bytes from /proc/self/statm; -1 if unreadable. */
static long long resident_bytes(void)
{
    unsigned long long size, resident;
    long page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "re");
    int n;

    if (!f)
        return -1;
    n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    if (n != 2 || page <= 0)
        return -1;
    return (long long)(resident * (unsigned long long)page);
}

static void http_figures(struct buf *b, struct http_server *srv)
{
    struct http_stats hs;
    size_t i;

    http_server_stats(srv, &hs);
    family(b, "newsroom_http_requests_total", "counter",
           "Requests answered on the public port, by status class.");
    for (i = 0; i < 5; i++)
        buf_printf(b, "newsroom_http_requests_total{code=\"%zuxx\"} %llu\n",
                   i + 1, (unsigned long long)hs.requests[i]);
    family(b, "newsroom_http_request_duration_seconds", "histogram",
           "Time from request line to response sent (live streams left "
           "out).");
    for (i = 0; i < HTTP_STATS_BUCKETS - 1; i++)
        buf_printf(b,
                   "newsroom_http_request_duration_seconds_bucket"
                   "{le=\"%g\"} %llu\n",
                   http_stats_le[i], (unsigned long long)hs.buckets[i]);
    buf_printf(b,
               "newsroom_http_request_duration_seconds_bucket{le=\"+Inf\"} "
               "%llu\n",
               (unsigned long long)hs.buckets[HTTP_STATS_BUCKETS - 1]);
    buf_printf(b, "newsroom_http_request_duration_seconds_sum %.6f\n",
               hs.sum_s);
    buf_printf(b, "newsroom_http_request_duration_seconds_count %llu\n",
               (unsigned long long)hs.count);
    single(b, "newsroom_http_response_bytes_total", "counter",
           "Response body bytes sent on the public port.", hs.bytes_out);
    if (hs.connections >= 0)
        single(b, "newsroom_http_connections", "gauge",
               "Open connections on the public port.",
               (unsigned long long)hs.connections);
    single(b, "newsroom_live_streams", "gauge",
           "Open live streams (/live/events).", hs.sse_streams);
}

static void cache_figures(struct buf *b, struct page_cache *c)
{
    struct cache_stats cs = {0};
    uint64_t lookups;

    if (c)
        cache_stats(c, &cs);
    single(b, "newsroom_cache_hits_total", "counter",
           "Pages answered from the page cache.", cs.hits);
    single(b, "newsroom_cache_misses_total", "counter",
           "Pages rendered because the cache had no fresh copy.", cs.misses);
    single(b, "newsroom_cache_waits_total", "counter",
           "Requests that waited for another request's render.", cs.waits);
    single(b, "newsroom_cache_evictions_total", "counter",
           "Cache entries dropped to stay within cache_mb.", cs.evicted);
    single(b, "newsroom_cache_entries", "gauge", "Pages held in the cache.",
           cs.entries);
    single(b, "newsroom_cache_bytes", "gauge",
           "Bytes the cache holds, every encoding counted.", cs.bytes);
    family(b, "newsroom_cache_hit_ratio", "gauge",
           "hits / (hits + misses) since start; NaN before any lookup.");
    lookups = cs.hits + cs.misses;
    if (lookups)
        buf_printf(b, "newsroom_cache_hit_ratio %.6f\n",
                   (double)cs.hits / (double)lookups);
    else
        buf_adds(b, "newsroom_cache_hit_ratio NaN\n");
}

static void store_figures(struct buf *b, struct store *st)
{
    int up = store_available(st);
    size_t i, n;

    family(b, "newsroom_jobs", "gauge",
           "Background jobs (mail, narration) by state.");
    for (i = 0; up && i < sizeof job_states / sizeof job_states[0]; i++)
        if (store_jobs_count(st, job_states[i], &n) == 0)
            buf_printf(b, "newsroom_jobs{state=\"%s\"} %zu\n", job_states[i],
                       n);
    single(b, "newsroom_store_up", "gauge",
           "1 while the database answers, 0 during an outage.", up ? 1 : 0);
}

int metrics_page(struct http_req *req, void *arg)
{
    struct metrics_ctx *ctx = arg;
    struct buf b;
    long long rss = resident_bytes();
    int rc = -1;

    buf_init(&b, BOUND_PAGE_BYTES);
    http_figures(&b, ctx->site);
    cache_figures(&b, ctx->app->cache);
    store_figures(&b, ctx->app->st);
    single(&b, "newsroom_start_time_seconds", "gauge",
           "When the server started, Unix time in seconds.",
           (unsigned long long)ctx->started);
    if (rss >= 0)
        single(&b, "process_resident_memory_bytes", "gauge",
               "Resident memory of the server process in bytes.",
               (unsigned long long)rss);
    if (b.overflow) {
        log_error("cannot render /metrics: larger than %d bytes",
                  BOUND_PAGE_BYTES);
        goto out;
    }
    http_resp_header(req, "Cache-Control", "no-store");
    rc = http_resp_send(req, 200, CONTENT_TYPE, b.data ? b.data : "", b.len);
out:
    buf_release(&b);
    return rc;
}
