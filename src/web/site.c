/*
 * site.c - opens a site directory for serving and runs the server: the
 * routes table of the public site lives here.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "content/site.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/log.h"
#include "render/tmpl.h"
#include "store/store.h"
#include "web/app.h"
#include "web/cache.h"
#include "web/desk.h"
#include "web/feeds.h"
#include "web/ghost_api.h"
#include "web/live.h"
#include "web/metrics.h"
#include "web/newsfeed.h"
#include "web/newsletter.h"
#include "web/pages.h"
#include "web/podcast.h"
#include "web/purge.h"
#include "web/search.h"
#include "web/sitemap.h"
#include "web/web.h"

/* 301 to where an imported post lives now when path (an old site's
 * address, store_redirect_put by newsroom import wxr) is known; else 0. */
static int moved(struct http_req *req, struct web_app *app, const char *path)
{
    const char *to = NULL;

    if (!(http_req_method(req) & (HTTP_GET | HTTP_HEAD)) ||
        strlen(path) >= 1024 ||
        store_redirect_get(app->st, http_req_arena(req), path, &to) != 0)
        return 0;
    return http_resp_redirect(req, 301, to);
}

/* The front page, unless it is an old WordPress plain link (/?p=123,
 * /?page_id=123) to an imported post: then a 301 to the post. */
static int home(struct http_req *req, void *app)
{
    const char *id = http_req_query(req, "p");
    const char *key = "/?p=";
    int r;

    if (!id) {
        id = http_req_query(req, "page_id");
        key = "/?page_id=";
    }
    if (id && *id && strspn(id, "0123456789") == strlen(id) &&
        strlen(id) < 20) {
        r = moved(req, app, arena_printf(http_req_arena(req), "%s%s", key, id));
        if (r)
            return r;
    }
    return page_home(req, app);
}

/* An old address of an imported post is redirected (301) to the post;
 * without a trailing slash, a page address gets one (301); anything else
 * is the 404 page. */
static int not_found(struct http_req *req, void *app)
{
    const char *path = http_req_path(req);
    size_t n = strlen(path);
    const char *last = strrchr(path, '/');
    int r = moved(req, app, path);

    if (r)
        return r;
    if ((http_req_method(req) & (HTTP_GET | HTTP_HEAD)) && n > 1 &&
        path[n - 1] != '/' && last && !strchr(last, '.') && n < 1024) {
        const char *target = http_req_target(req);
        const char *q = strchr(target, '?');
        return http_resp_redirect(
            req, 301,
            arena_printf(http_req_arena(req), "%s/%s", path, q ? q : ""));
    }
    return page_not_found(req, app);
}

/* Runs before every handler: while the database is unreachable, anything
 * but static files fails at once with a 500 that page_error answers as the
 * 503 outage page (Retry-After), rather than letting a handler turn the
 * failed reads into a sign-in form or a 404. */
static int outage_gate(struct http_req *req, void *arg)
{
    struct web_app *app = arg;
    const char *path = http_req_path(req);

    if (strncmp(path, "/assets/", 8) == 0 || strncmp(path, "/media/", 7) == 0)
        return 0;
    if (store_available(app->st))
        return 0;
    return http_error(req, 500, "the database is unavailable");
}

static const struct http_route routes[] = {
    {HTTP_GET, "/", home},
    {HTTP_GET, "/desk", desk_home},
    {HTTP_GET, "/desk/", desk_home},
    {HTTP_POST, "/desk/signin", desk_signin},
    {HTTP_POST, "/desk/signin/code", desk_signin_code},
    {HTTP_GET | HTTP_POST, "/desk/security/", desk_security},
    {HTTP_POST, "/desk/signout", desk_signout},
    {HTTP_GET, "/desk/edit-link", desk_edit_link},
    {HTTP_GET, "/desk/posts/new/", desk_post_new},
    {HTTP_POST, "/desk/posts/", desk_post_submit, BOUND_UPLOAD_BYTES},
    {HTTP_POST, "/desk/preview", desk_preview, BOUND_UPLOAD_BYTES},
    {HTTP_GET, "/desk/posts/:id/", desk_post_edit},
    {HTTP_POST, "/desk/posts/:id/", desk_post_submit, BOUND_UPLOAD_BYTES},
    {HTTP_POST, "/desk/posts/:id/delete", desk_post_remove},
    {HTTP_POST, "/desk/posts/:id/corrections", desk_post_correct},
    {HTTP_POST, "/desk/posts/:id/narration", desk_post_narration},
    {HTTP_GET, "/desk/posts/:id/revisions/:rev/", desk_revision_view},
    {HTTP_POST, "/desk/posts/:id/revisions/:rev/restore", desk_revision_back},
    {HTTP_GET | HTTP_POST, "/desk/picks/", desk_picks},
    {HTTP_GET | HTTP_POST, "/desk/live/", desk_live},
    {HTTP_POST, "/desk/live/:id/", desk_live_change},
    {HTTP_GET | HTTP_POST, "/desk/tags/", desk_tags},
    {HTTP_GET | HTTP_POST, "/desk/staff/", desk_staff},
    {HTTP_POST, "/desk/staff/:id/", desk_staff_change},
    {HTTP_GET, "/desk/audit/", desk_audit_page},
    {HTTP_GET | HTTP_POST, "/desk/keys/", desk_keys},
    {HTTP_GET | HTTP_POST, "/desk/welcome/:token/", desk_welcome},
    {HTTP_GET | HTTP_POST, "/desk/newsletters/", desk_newsletters},
    {HTTP_GET | HTTP_POST, "/desk/newsletters/send", desk_nl_send},
    {HTTP_GET, "/desk/sends/:id/", desk_send_page},
    {HTTP_GET, "/desk/sends/:id/progress", desk_send_progress},
    {HTTP_GET, "/desk/subscribers/", desk_subscribers},
    {HTTP_GET, "/desk/subscribers.csv", desk_subscribers_csv},
    {HTTP_POST, "/desk/subscribers/import", desk_subscribers_import,
     BOUND_UPLOAD_BYTES},
    {HTTP_POST, "/newsletters/:slug/subscribe", nl_page_subscribe},
    {HTTP_GET, "/newsletters/confirm/", nl_page_confirm},
    {HTTP_GET | HTTP_POST, "/newsletters/unsubscribe/", nl_page_unsubscribe},
    {HTTP_GET | HTTP_POST, "/newsletters/preferences/", nl_page_preferences},
    {HTTP_GET, "/archive/", page_archive},
    {HTTP_GET, "/author/:slug/", page_author},
    {HTTP_GET, "/rss.xml", feeds_rss},
    {HTTP_GET, "/atom.xml", feeds_atom},
    {HTTP_GET, "/feed.json", feeds_json},
    {HTTP_GET, "/author/:slug/rss.xml", feeds_rss},
    {HTTP_GET, "/author/:slug/atom.xml", feeds_atom},
    {HTTP_GET, "/author/:slug/feed.json", feeds_json},
    {HTTP_GET, "/section/:slug/rss.xml", feeds_rss},
    {HTTP_GET, "/section/:slug/atom.xml", feeds_atom},
    {HTTP_GET, "/section/:slug/feed.json", feeds_json},
    {HTTP_GET, "/tag/:slug/rss.xml", feeds_rss},
    {HTTP_GET, "/tag/:slug/atom.xml", feeds_atom},
    {HTTP_GET, "/tag/:slug/feed.json", feeds_json},
    {HTTP_GET, "/section/:slug/", page_tag},
    {HTTP_GET, "/tag/:slug/", page_tag},
    {HTTP_GET, "/live/events", live_events},
    {HTTP_GET, "/news-feed/", page_newsfeed},
    {HTTP_GET, "/news-feed/feed.json", feed_live_json},
    {HTTP_GET, "/news-feed/rss.xml", feed_live_rss},
    {HTTP_GET, "/podcast.xml", podcast_feed},
    {HTTP_GET, "/news-feed/:id/", page_live_update},
    {HTTP_GET, "/assets/*", files_serve_asset},
    {HTTP_GET, "/media/*", files_serve_media},
    {HTTP_GET, "/search", page_search},
    {HTTP_GET, "/robots.txt", sitemap_robots},
    {HTTP_GET, "/sitemap.xml", sitemap_index},
    {HTTP_GET, "/sitemap-authors.xml", sitemap_authors},
    {HTTP_GET, "/sitemap-sections.xml", sitemap_sections},
    {HTTP_GET, "/news-sitemap.xml", sitemap_news},
    /* the Ghost-compatible Content API (ghost_api.h) */
    {HTTP_GET | HTTP_OPTIONS, "/ghost/api/content/*", ghost_api_serve},
    {HTTP_GET | HTTP_OPTIONS, "/ghost/api/:version/content/*", ghost_api_serve},
    {HTTP_GET, "/:slug/", page_article},
    /* /sitemap-posts-N.xml; last: it catches every "/NAME" (sitemap.h) */
    {HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_DELETE | HTTP_PATCH | HTTP_OPTIONS,
     "/:file", sitemap_posts},
};

struct web_app *web_app_open(const char *dir, const char *listen, char *err,
                             size_t errlen)
{
    struct web_app *app = calloc(1, sizeof(*app));

    if (!app)
        abort();
    snprintf(app->dir, sizeof app->dir, "%s", dir);
    snprintf(app->media_dir, sizeof app->media_dir, "%s/media", dir);
    app->st = site_open(dir, &app->cfg, err, errlen);
    if (!app->st)
        goto fail;
    if (listen)
        snprintf(app->cfg.listen, sizeof app->cfg.listen, "%s", listen);
    if (files_load_theme(app, err, errlen) < 0)
        goto fail;
    app->cache = cache_new((size_t)app->cfg.cache_mb * 1024 * 1024);
    return app;
fail:
    web_app_close(app);
    return NULL;
}

void web_app_close(struct web_app *app)
{
    if (!app)
        return;
    if (app->theme)
        files_free_theme(app);
    cache_free(app->cache);
    store_close(app->st);
    free(app);
}

int web_serve(struct web_app *app, void (*on_stop)(void), char *err,
              size_t errlen)
{
    /* the metrics server's whole table (docs/metrics.md) */
    static const struct http_route metrics_routes[] = {
        {HTTP_GET, "/metrics", metrics_page},
    };
    struct http_config hc = {0}, mc = {0};
    struct http_server *srv, *msrv = NULL;
    struct metrics_ctx mctx = {app, NULL, 0};
    sigset_t set;
    int sig = 0;

    /* block the stop signals in every thread; the main thread waits */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    hc.listen = app->cfg.listen;
    hc.routes = routes;
    hc.nroutes = sizeof routes / sizeof routes[0];
    hc.not_found = not_found;
    hc.error_page = page_error;
    hc.gate = outage_gate;
    hc.fast = cache_fast;
    hc.app = app;
    hc.access_log = app->cfg.access_log;
    if (live_start(app) < 0) {
        snprintf(err, errlen, "cannot start the live feed");
        return -1;
    }
    srv = http_server_start(&hc, err, errlen);
    if (!srv || purge_start(app) < 0) {
        if (srv)
            http_server_stop(srv);
        live_stop(app);
        if (!srv)
            return -1;
        snprintf(err, errlen, "cannot start the purge thread");
        return -1;
    }
    if (app->cfg.metrics_listen[0]) {
        mctx.site = srv;
        mctx.started = time(NULL);
        mc.listen = app->cfg.metrics_listen;
        mc.threads = 2; /* MHD has no pool of one */
        mc.routes = metrics_routes;
        mc.nroutes = sizeof metrics_routes / sizeof metrics_routes[0];
        mc.app = &mctx;
        msrv = http_server_start(&mc, err, errlen);
        if (!msrv) {
            purge_stop(app);
            http_server_stop(srv);
            live_stop(app);
            return -1;
        }
    }
    const char *colon = strrchr(app->cfg.listen, ':');
    printf("serving '%s' on http://%.*s:%u/\n", app->dir,
           (int)(colon - app->cfg.listen), app->cfg.listen,
           http_server_port(srv));
    if (msrv) {
        colon = strrchr(app->cfg.metrics_listen, ':');
        printf("metrics on http://%.*s:%u/metrics\n",
               (int)(colon - app->cfg.metrics_listen), app->cfg.metrics_listen,
               http_server_port(msrv));
    }
    fflush(stdout);
    sigwait(&set, &sig);
    /* graceful: no new connections, in-flight requests get BOUND_DRAIN_S
     * (docs/shutdown.md) */
    log_info("stopping on signal %d: finishing requests in flight (at most "
             "%d s)",
             sig, BOUND_DRAIN_S);
    if (on_stop)
        on_stop();
    http_server_drain(srv, BOUND_DRAIN_S);
    http_server_stop(msrv);
    purge_stop(app);
    live_stop(app);
    log_info("stopped serving");
    return 0;
}
