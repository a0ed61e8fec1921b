/*
 * purge.c - tells a CDN or Varnish in front of the site that its pages
 * changed; see purge.h.
 */
#include "web/purge.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "web/app.h"

#define PURGE_POLL_MS 250     /* how often the thread reads store_version */
#define PURGE_MIN_GAP_MS 1000 /* at most one purge a second */
#define PURGE_TIMEOUT_S 5     /* per request */

struct purger {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop; /* under lock */
    struct web_app *app;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Discards the body of the answer. */
static size_t drop(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

/* One PURGE request to url; 0, or -1 with the reason logged (once in a
 * row: *warned). */
static int purge_once(const char *url, int *warned)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    long status = 0;
    CURLcode rc;

    if (!c)
        return -1;
    h = curl_slist_append(h, "Surrogate-Key: newsroom");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PURGE");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)PURGE_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc == CURLE_OK && status >= 200 && status < 300) {
        if (*warned)
            log_info("purge: '%s' answers again", url);
        *warned = 0;
        return 0;
    }
    if (!*warned)
        log_warn("purge: PURGE %s failed: %s", url,
                 rc != CURLE_OK ? curl_easy_strerror(rc) : "not a 2xx answer");
    *warned = 1;
    return -1;
}

static void *run(void *arg)
{
    struct purger *p = arg;
    uint64_t sent = store_version(p->app->st);
    int64_t last = 0;
    int warned = 0;

    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += PURGE_POLL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->wake, &p->lock, &until);
        if (p->stop)
            break;
        uint64_t v = store_version(p->app->st);
        if (v == sent || now_ms() - last < PURGE_MIN_GAP_MS)
            continue;
        pthread_mutex_unlock(&p->lock);
        /* a failed purge is tried again on the next change, and the
         * pages' s-maxage bounds how stale the CDN can be meanwhile */
        purge_once(p->app->cfg.purge_url, &warned);
        sent = v;
        last = now_ms();
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int purge_start(struct web_app *app)
{
    struct purger *p;

    if (!app->cfg.purge_url[0])
        return 0;
    p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->app = app;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        log_error("cannot start the purge thread");
        free(p);
        return -1;
    }
    app->purge = p;
    return 0;
}

void purge_stop(struct web_app *app)
{
    struct purger *p = app ? app->purge : NULL;

    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
    app->purge = NULL;
}
