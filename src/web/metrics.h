/*
 * metrics.h - GET /metrics: the server's figures in the Prometheus text
 * exposition format 0.0.4, for a scraper (docs/metrics.md).
 *
 * The page is served by a second, small HTTP server on site.conf's
 * metrics_listen (web_serve() starts it), never on the public port: the
 * figures are for operators. Nothing is cached; each scrape reads the
 * public server's counters (http_server_stats), the page cache's
 * (cache_stats), the job queue (store_jobs_count) and /proc/self/statm.
 */
#ifndef WEB_METRICS_H
#define WEB_METRICS_H

#include <time.h>

struct http_req;
struct http_server;
struct web_app;

/* What the /metrics handler reads; owned by web_serve(), and must outlive
 * the metrics server. */
struct metrics_ctx {
    struct web_app *app;      /* the site: cache, store, live hub */
    struct http_server *site; /* the public server measured */
    time_t started;           /* when serving began, Unix seconds */
};

/* GET /metrics (the handler's app is a struct metrics_ctx): sends the
 * text with Content-Type "text/plain; version=0.0.4; charset=utf-8" and
 * Cache-Control: no-store. Returns the status sent, or -1. */
int metrics_page(struct http_req *req, void *ctx);

#endif
