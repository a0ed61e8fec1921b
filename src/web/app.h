/*
 * app.h - what every handler of web/ shares: the loaded site, and the
 * helpers that turn store rows into template data (view.c), render a
 * template into a response (render_page) and serve files (files.c).
 * Internal to web/.
 */
#ifndef WEB_APP_H
#define WEB_APP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "http/http.h"
#include "store/store.h"

struct tmpl_set;
struct page_cache;
struct live_watch;
struct purger;

/* A static file of the theme, served under a fingerprinted name. */
struct web_asset {
    char *name;                /* path under assets/, "site.css" */
    char *url;                 /* "/assets/site.1a2b3c4d.css" */
    const unsigned char *data; /* bytes (embedded, or owned when loaded) */
    size_t len;                /* bytes */
    const char *type;          /* Content-Type */
    char etag[24];             /* "\"1a2b3c4d\"" */
    int owned;                 /* 1 = data was malloc'd (site override) */
};

struct web_app {
    char dir[1024];           /* the site directory */
    char media_dir[1100];     /* dir + "/media" */
    struct config cfg;        /* site.conf */
    struct store *st;         /* the site's store */
    struct tmpl_set *theme;   /* templates, default + DIR/theme overrides */
    struct web_asset *assets; /* theme assets */
    size_t nassets;
    struct page_cache *cache; /* rendered pages (cache.h) */
    struct http_sse_hub *hub; /* open /live/events streams (live.h) */
    struct live_watch *live;  /* the change-log watcher (live.c) */
    struct purger *purge;     /* the CDN purge thread (purge.c), or NULL */
};

/* ---- view.c: template data (docs/theme.md) ---- */

/* The root object for a page: site, page, and the News Feed. is_home
 * marks the front page; section is the current section slug or NULL.
 * title is the page's own title (NULL on the front page). */
json_t *view_page(struct web_app *app, struct arena *a, const char *title,
                  const char *description, const char *path,
                  const char *section, int is_home);
/* A card for a post in a list. */
json_t *view_card(struct web_app *app, struct arena *a,
                  const struct store_post *p);
/* Cards for an array of posts. */
json_t *view_cards(struct web_app *app, struct arena *a,
                   const struct store_post *p, size_t n);
/* An image for <picture>, or json null when img is NULL. */
json_t *view_image(const struct store_image *img, const char *alt,
                   const char *sizes);
/* One live update for partials/newsfeed-item (docs/theme.md). */
json_t *view_live(struct web_app *app, struct arena *a,
                  const struct store_live *lu);
/* {page, pages, prev_url, next_url} for list pages at base ("/archive/"). */
json_t *view_pagination(struct arena *a, const char *base, size_t page,
                        size_t pages);
/* o (not consumed) as compact JSON text for a <script
 * type="application/ld+json"> element, in a: every < > & rewritten as its
 * \u escape so the text cannot end the element or open a comment. NULL
 * when o is NULL, cannot be dumped or is over BOUND_PAGE_BYTES. */
char *view_jsonld(struct arena *a, json_t *o);
/* Formats t with a render/date function into a. */
char *view_date(struct arena *a, int64_t t, int with_time);

/* ---- pages.c ---- */

/* Renders template name with data (consumed) and sends it with status.
 * Returns what http_resp_send returned. */
int render_page(struct web_app *app, struct http_req *req, int status,
                const char *name, json_t *data);
/* Like render_page for pages that differ per person (the desk): never
 * cached, Cache-Control: no-store, private. */
int render_private(struct web_app *app, struct http_req *req, int status,
                   const char *name, json_t *data);
/* The article page's data for post p (as view_page, plus post, picks,
 * more_news); NULL when the body cannot be rendered. Used by the public
 * page and the desk's preview, so both render alike. */
json_t *view_article(struct web_app *app, struct arena *a,
                     const struct store_post *p);
/* Sends body (len bytes of Content-Type type) as a public 200 through the
 * page cache (cache_send: kept, compressed, ETag and Cache-Control), so
 * a conditional GET gets 304. body must stay valid until the request is
 * done (request arena, or memory freed by an arena_defer hook). Returns
 * the status sent, or -1. */
int send_cached(struct http_req *req, const char *type, const char *body,
                size_t len);
/* send_cached of the document built in b, which it releases; -1 (logged,
 * nothing sent) when b overflowed its bound. */
struct buf;
int send_cached_buf(struct http_req *req, struct buf *b, const char *type);
/* The error page for status/message (used as the http error hook). A 500
 * caused by the storage (page_fault_status) becomes its 507 or 503 with
 * page_fault_text, so every handler's failed write says why. */
void page_error(struct http_req *req, int status, const char *message,
                void *app);
/* When the last write on this thread failed because the database's disk
 * is full or the database is read-only (store_last_fault): the status to
 * answer, 507 (RFC 4918 11.5) or 503 (RFC 9110 15.6.4); else 0. */
int page_fault_status(void);
/* What to say then: to a reader (staff 0), or to a member of staff
 * (staff 1), who can ask the operator; NULL when there is no fault. */
const char *page_fault_text(int staff);

/* ---- files.c ---- */

/* Loads the theme's templates and assets (embedded, then DIR/theme/).
 * 0 or -1 with the reason in err. */
int files_load_theme(struct web_app *app, char *err, size_t errlen);
void files_free_theme(struct web_app *app);
/* The fingerprinted URL of asset name ("site.css"), or NULL. */
const char *files_asset_url(const struct web_app *app, const char *name);
int files_serve_asset(struct http_req *req, void *app);
int files_serve_media(struct http_req *req, void *app);

#endif
