/*
 * live.c - SSE endpoint and change-log watcher; see live.h for the design.
 */
#include "web/live.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "render/tmpl.h"
#include "web/app.h"

#define EVENT_MAX (64 * 1024) /* bytes of one formatted event */

/* The watcher's state (one per app). */
struct live_watch {
    pthread_t thread;
    pthread_mutex_t lock; /* held while polling and while a stream joins */
    int stop;             /* 1 = thread should exit; under lock */
    int64_t seq;          /* newest log entry broadcast */
    uint64_t version;     /* store_version() at the last poll */
};

static const char *const kinds[] = {"post", "edit", "delete"};

/* Appends the SSE text of one log entry to out:
 *   id: SEQ / event: post|edit|delete / data: {"id":N,"html":"<li ...>"} */
static int format_event(struct web_app *app, struct arena *a,
                        const struct store_live_event *ev, struct buf *out)
{
    struct buf item;
    json_t *data;
    char *json;
    int ret = -1;

    buf_init(&item, EVENT_MAX);
    data = json_pack("{s:I}", "id", (json_int_t)ev->live_id);
    if (ev->present && ev->kind != STORE_LIVE_DELETE) {
        json_t *view = view_live(app, a, &ev->lu);
        int r =
            tmpl_set_render(app->theme, "partials/newsfeed-item", view, &item);
        json_decref(view);
        if (r < 0)
            goto out;
        json_object_set_new(data, "html",
                            json_string(item.data ? item.data : ""));
    }
    /* an entry whose update is gone by now reads as a deletion */
    const char *kind = ev->present ? kinds[ev->kind] : "delete";
    json = json_dumps(data, JSON_COMPACT);
    if (json) {
        ret = buf_printf(out, "id: %lld\nevent: %s\ndata: %s\n\n",
                         (long long)ev->seq, kind, json);
        free(json);
    }
out:
    json_decref(data);
    buf_release(&item);
    return ret;
}

/* Broadcasts log entries after w->seq; the caller holds w->lock. */
static void catch_up(struct web_app *app, struct live_watch *w)
{
    uint64_t v = store_version_fresh(app->st);

    if (v == w->version)
        return;
    w->version = v;
    for (;;) {
        struct arena a;
        struct store_live_event *ev = NULL;
        size_t n = 0;

        arena_init(&a);
        if (store_live_events(app->st, &a, w->seq, 200, &ev, &n) != 0)
            n = 0;
        for (size_t i = 0; i < n; i++) {
            struct buf out;
            buf_init(&out, EVENT_MAX);
            if (format_event(app, &a, &ev[i], &out) == 0)
                http_sse_broadcast(app->hub, out.data, out.len);
            else
                log_warn("cannot format live event %lld", (long long)ev[i].seq);
            buf_release(&out);
            w->seq = ev[i].seq;
        }
        arena_release(&a);
        if (n < 200)
            break;
    }
}

static void *watch(void *arg)
{
    struct web_app *app = arg;
    struct live_watch *w = app->live;
    struct timespec pause = {0, LIVE_POLL_MS * 1000000L};

    for (;;) {
        pthread_mutex_lock(&w->lock);
        if (w->stop) {
            pthread_mutex_unlock(&w->lock);
            break;
        }
        catch_up(app, w);
        pthread_mutex_unlock(&w->lock);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

int live_start(struct web_app *app)
{
    struct live_watch *w = calloc(1, sizeof(*w));

    if (!w)
        abort();
    pthread_mutex_init(&w->lock, NULL);
    w->seq = store_live_last_seq(app->st);
    if (w->seq < 0)
        w->seq = 0;
    w->version = store_version_fresh(app->st);
    app->hub = http_sse_hub_new();
    app->live = w;
    if (!app->hub) {
        log_error("cannot start the live feed hub");
        return -1;
    }
    if (pthread_create(&w->thread, NULL, watch, app) != 0) {
        log_error("cannot start the live feed watcher");
        return -1;
    }
    return 0;
}

void live_stop(struct web_app *app)
{
    struct live_watch *w = app ? app->live : NULL;

    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    free(w);
    app->live = NULL;
    http_sse_hub_free(app->hub);
    app->hub = NULL;
}

/* The seq a reader resumes after: Last-Event-ID (set by EventSource on a
 * reconnect), else ?after= (the seq the page was rendered at), else the
 * present. -1 when the value is not a number. */
static int64_t resume_point(struct http_req *req, int64_t now_seq)
{
    const char *s = http_req_header(req, "Last-Event-ID");
    int64_t v = 0;

    if (!s || !*s)
        s = http_req_query(req, "after");
    if (!s)
        return now_seq;
    if (!*s || strlen(s) > 18)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

int live_events(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct live_watch *w = app->live;
    struct arena *a = http_req_arena(req);
    struct buf init;
    int ret;

    if (!w)
        return http_error(req, 503, "The live feed is not running.");
    buf_init(&init, (size_t)EVENT_MAX * LIVE_REPLAY_MAX);
    buf_adds(&init, "retry: 3000\n\n");
    pthread_mutex_lock(&w->lock);
    catch_up(app, w);
    int64_t after = resume_point(req, w->seq);
    if (after < 0) {
        pthread_mutex_unlock(&w->lock);
        buf_release(&init);
        return http_error(req, 400,
                          "Last-Event-ID and ?after= must be event numbers.");
    }
    if (after > w->seq)
        after = w->seq; /* from a future or another database: start now */
    if (after < w->seq) {
        struct store_live_event *ev = NULL;
        size_t n = 0;
        if (store_live_events(app->st, a, after, LIVE_REPLAY_MAX + 1, &ev,
                              &n) != 0)
            n = 0;
        if (n > LIVE_REPLAY_MAX) {
            /* too far behind to replay: the page reloads its feed */
            buf_printf(&init, "id: %lld\nevent: reload\ndata: {}\n\n",
                       (long long)w->seq);
            n = 0;
        }
        for (size_t i = 0; i < n && ev[i].seq <= w->seq; i++)
            format_event(app, a, &ev[i], &init);
    }
    ret = http_resp_sse(req, app->hub, init.data, init.len);
    pthread_mutex_unlock(&w->lock);
    buf_release(&init);
    return ret;
}
