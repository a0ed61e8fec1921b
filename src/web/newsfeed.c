/*
 * newsfeed.c - the News Feed beyond the box on every page: the full stream
 * at /news-feed/ (paged by time), a permalink page per update, and the
 * stream as JSON Feed 1.1 and RSS 2.0 for feed readers.
 *
 * Pages go through view.c and render_page (so the page cache and ETags
 * apply); the feeds are built here and sent with send_cached. Paging is by
 * time, not by offset: page k+1 is "?before=T", T being the `at` of the
 * last update shown, so a page's address keeps meaning the same updates
 * while new ones arrive on top. Because the store reads `at < T`, a page
 * never ends in the middle of a second: it takes the updates after its
 * FEED_PAGE-th that share that second too (up to FEED_PAGE_TIES more).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/bounds.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "render/md.h"
#include "render/tmpl.h"
#include "render/xml.h"
#include "web/app.h"
#include "web/cache.h"
#include "web/feeds.h"
#include "web/newsfeed.h"
#include "web/pages.h"

#define FEED_PATH "/news-feed/"
#define DESCRIPTION_CHARS 160 /* meta description of an update page */
#define BODY_TEXT_CHARS 8000  /* articleBody; more than any update holds */

/* Reads 1..FEED_DIGITS decimal digits, nothing else, into *out.
 * 0, or -1 when s is anything else. */
static int parse_digits(const char *s, int64_t *out)
{
    int64_t v = 0;
    size_t n = 0;

    for (; s[n]; n++) {
        if (n == FEED_DIGITS || s[n] < '0' || s[n] > '9')
            return -1;
        v = v * 10 + (s[n] - '0');
    }
    if (n == 0)
        return -1;
    *out = v;
    return 0;
}

/* s HTML-escaped, in a. */
static char *html_escape(struct arena *a, const char *s)
{
    struct buf b;

    buf_init(&b, BOUND_PAGE_BYTES);
    tmpl_escape_html(&b, s, strlen(s));
    char *r = arena_strdup(a, b.data ? b.data : "");
    buf_release(&b);
    return r;
}

/* The plain text of an update's Markdown body, white space folded. */
static char *body_text(struct arena *a, const struct store_live *lu,
                       size_t max_chars)
{
    struct md_doc doc;
    const char *md = lu->body ? lu->body : "";

    if (md_render(a, md, strlen(md), NULL, NULL, &doc) < 0)
        return "";
    return md_excerpt(a, doc.text, max_chars);
}

/* The update's HTML for a feed reader: its body, then the related article
 * (view_live's link, made absolute) as a last paragraph. */
static char *item_html(struct web_app *app, struct arena *a,
                       const struct store_live *lu, json_t *view)
{
    json_t *link = json_object_get(view, "link");
    const char *html = lu->html ? lu->html : "";

    if (!link)
        return arena_strdup(a, html);
    const char *url =
        arena_printf(a, "%s%s", app->cfg.url,
                     json_string_value(json_object_get(link, "url")));
    return arena_printf(
        a, "%s<p><a href=\"%s\">%s</a></p>", html, html_escape(a, url),
        html_escape(a, json_string_value(json_object_get(link, "title"))));
}

/* schema.org LiveBlogPosting of the n updates shown (newest first) on the
 * page at canonical, as script-safe JSON text in a; NULL on failure. */
static char *live_blog_jsonld(struct web_app *app, struct arena *a,
                              const struct store_live *lu, size_t n,
                              const char *canonical)
{
    const struct config *c = &app->cfg;
    json_t *updates = json_array();
    int64_t modified = 0;

    for (size_t i = 0; i < n; i++) {
        const char *url = arena_printf(a, "%s" FEED_PATH "%lld/", c->url,
                                       (long long)lu[i].id);
        json_t *u =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "@type", "BlogPosting",
                      "@id", url, "url", url, "headline", lu[i].headline,
                      "datePublished", view_date(a, lu[i].at, 2), "articleBody",
                      body_text(a, &lu[i], BODY_TEXT_CHARS));
        if (lu[i].updated_at > lu[i].at)
            json_object_set_new(u, "dateModified",
                                json_string(view_date(a, lu[i].updated_at, 2)));
        json_array_append_new(updates, u);
        if (lu[i].at > modified)
            modified = lu[i].at;
        if (lu[i].updated_at > modified)
            modified = lu[i].updated_at;
    }
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:o}", "@context",
        "https://schema.org", "@type", "LiveBlogPosting", "@id", canonical,
        "url", canonical, "headline", arena_printf(a, "%s News Feed", c->title),
        "description", c->description, "publisher", "@type", "Organization",
        "name", c->title, "url", arena_printf(a, "%s/", c->url),
        "liveBlogUpdate", updates);
    if (!o)
        return NULL;
    if (n) {
        json_object_set_new(o, "coverageStartTime",
                            json_string(view_date(a, lu[n - 1].at, 2)));
        json_object_set_new(o, "coverageEndTime",
                            json_string(view_date(a, lu[0].at, 2)));
        json_object_set_new(o, "datePublished",
                            json_string(view_date(a, lu[n - 1].at, 2)));
        json_object_set_new(o, "dateModified",
                            json_string(view_date(a, modified, 2)));
    }
    char *r = view_jsonld(a, o);
    json_decref(o);
    return r;
}

/* How many of the n rows (newest first) the page shows: FEED_PAGE, and
 * the rows after those that share the last one's second. */
static size_t page_rows(const struct store_live *lu, size_t n)
{
    size_t k = n < FEED_PAGE ? n : FEED_PAGE;

    while (k > 0 && k < n && lu[k].at == lu[k - 1].at)
        k++;
    return k;
}

/* The `feed` object of the newsfeed template (docs/theme.md). before is
 * the page's ?before= (has_before 0 on the first page); the store gave
 * n rows of which shown are on the page. */
static json_t *feed_json(struct web_app *app, struct arena *a,
                         const struct store_live *lu, size_t n, size_t shown,
                         int has_before, int64_t before)
{
    json_t *updates = json_array();

    for (size_t i = 0; i < shown; i++)
        json_array_append_new(updates, view_live(app, a, &lu[i]));
    json_t *f = json_pack(
        "{s:o, s:b, s:s, s:s}", "updates", updates, "has_updates", shown > 0,
        "json_url", FEED_PATH "feed.json", "rss_url", FEED_PATH "rss.xml");
    if (shown && (shown < n || n == FEED_PAGE + FEED_PAGE_TIES))
        json_object_set_new(
            f, "older_url",
            json_string(arena_printf(a, FEED_PATH "?before=%lld",
                                     (long long)lu[shown - 1].at)));
    if (has_before)
        json_object_set_new(f, "latest_url", json_string(FEED_PATH));
    /* a time the formatters cannot show (year 10000) gets no label */
    const char *label = has_before ? view_date(a, before, 1) : "";
    if (*label)
        json_object_set_new(f, "before",
                            json_pack("{s:s, s:s}", "iso",
                                      view_date(a, before, 2), "label", label));
    return f;
}

int page_newsfeed(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    const char *bq = http_req_query(req, "before");
    int64_t before = 0;
    struct store_live *lu = NULL;
    size_t n = 0;

    if (bq && parse_digits(bq, &before) < 0)
        return http_error(req, 400,
                          "The 'before' value must be a time in whole "
                          "seconds since 1970: digits only, at most 18.");
    /* before=0 asks for updates before 1970: there are none */
    if ((!bq || before > 0) &&
        store_live_list(app->st, a, before, FEED_PAGE + FEED_PAGE_TIES, &lu,
                        &n) != 0)
        return -1;
    size_t shown = page_rows(lu, n);
    const char *path =
        bq ? arena_printf(a, FEED_PATH "?before=%lld", (long long)before)
           : FEED_PATH;
    const char *label = bq ? view_date(a, before, 1) : "";
    const char *title =
        *label ? arena_printf(a, "News Feed before %s", label) : "News Feed";
    json_t *d =
        view_page(app, a, title,
                  arena_printf(a,
                               "Every update from the News Feed of %s, newest "
                               "first.",
                               app->cfg.title),
                  path, NULL, 0);
    json_t *page = json_object_get(d, "page");
    const char *ld =
        live_blog_jsonld(app, a, lu, shown,
                         json_string_value(json_object_get(page, "canonical")));
    if (ld)
        json_object_set_new(page, "jsonld", json_string(ld));
    if (bq && !shown)
        json_object_set_new(page, "robots", json_string("noindex"));
    json_object_set_new(d, "feed",
                        feed_json(app, a, lu, n, shown, bq != NULL, before));
    return render_page(app, req, 200, "newsfeed", d);
}

int page_live_update(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    const char *ids = http_req_param(req, "id");
    int64_t id = 0;
    struct store_live lu;

    /* no leading zero: one address per update */
    if (!ids || ids[0] == '0' || parse_digits(ids, &id) < 0)
        return page_not_found(req, app);
    int rc = store_live_get(app->st, a, id, &lu);
    if (rc == STORE_NOTFOUND)
        return page_not_found(req, app);
    if (rc != STORE_OK)
        return -1;
    const char *desc = body_text(a, &lu, DESCRIPTION_CHARS);
    json_t *d =
        view_page(app, a, lu.headline, *desc ? desc : NULL,
                  arena_printf(a, FEED_PATH "%lld/", (long long)id), NULL, 0);
    json_object_set_new(json_object_get(d, "page"), "type",
                        json_string("article"));
    json_t *u = view_live(app, a, &lu);
    json_object_set_new(u, "published_label",
                        json_string(view_date(a, lu.at, 1)));
    if (lu.updated_at > lu.at)
        json_object_set_new(u, "updated",
                            json_pack("{s:s, s:s}", "iso",
                                      view_date(a, lu.updated_at, 2), "label",
                                      view_date(a, lu.updated_at, 1)));
    json_object_set_new(u, "feed_url", json_string(FEED_PATH));
    /* the feed page that starts with this update */
    json_object_set_new(
        u, "context_url",
        json_string(arena_printf(a, FEED_PATH "?before=%lld#update-%lld",
                                 (long long)(lu.at + 1), (long long)id)));
    json_object_set_new(d, "update", u);
    return render_page(app, req, 200, "update", d);
}

int feed_live_rss(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    const struct config *c = &app->cfg;
    struct store_live *lu = NULL;
    size_t n = 0;
    int64_t built = 0;
    struct buf b;

    if (store_live_list(app->st, a, 0, FEED_SYNDICATED, &lu, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (lu[i].at > built)
            built = lu[i].at;
        if (lu[i].updated_at > built)
            built = lu[i].updated_at;
    }
    buf_init(&b, BOUND_PAGE_BYTES);
    /* RSS 2.0 (https://www.rssboard.org/rss-specification) */
    buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<rss version=\"2.0\" "
                 "xmlns:atom=\"http://www.w3.org/2005/Atom\">\n"
                 "<channel>\n");
    xml_elem(&b, "title", arena_printf(a, "%s News Feed", c->title));
    xml_elem(&b, "link", arena_printf(a, "%s" FEED_PATH, c->url));
    xml_elem(&b, "description", c->description);
    xml_elem(&b, "language", c->language);
    if (built)
        xml_elem(&b, "lastBuildDate", feeds_rss_date(a, built));
    buf_adds(&b, "<atom:link href=\"");
    xml_add(&b, arena_printf(a, "%s" FEED_PATH "rss.xml", c->url));
    buf_adds(&b, "\" rel=\"self\" type=\"application/rss+xml\"/>\n");
    for (size_t i = 0; i < n; i++) {
        json_t *v = view_live(app, a, &lu[i]);
        const char *url = arena_printf(a, "%s" FEED_PATH "%lld/", c->url,
                                       (long long)lu[i].id);
        buf_adds(&b, "<item>\n");
        xml_elem(&b, "title", lu[i].headline);
        xml_elem(&b, "link", url);
        buf_adds(&b, "<guid isPermaLink=\"true\">");
        xml_add(&b, url);
        buf_adds(&b, "</guid>\n");
        xml_elem(&b, "pubDate", feeds_rss_date(a, lu[i].at));
        xml_elem(&b, "description", item_html(app, a, &lu[i], v));
        buf_adds(&b, "</item>\n");
        json_decref(v);
    }
    buf_adds(&b, "</channel>\n</rss>\n");
    return send_cached_buf(req, &b, "application/rss+xml; charset=utf-8");
}

int feed_live_json(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    const struct config *c = &app->cfg;
    struct store_live *lu = NULL;
    size_t n = 0;

    if (store_live_list(app->st, a, 0, FEED_SYNDICATED, &lu, &n) != 0)
        return -1;
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *v = view_live(app, a, &lu[i]);
        const char *url = arena_printf(a, "%s" FEED_PATH "%lld/", c->url,
                                       (long long)lu[i].id);
        json_t *it = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", url, "url",
                               url, "title", lu[i].headline, "content_html",
                               item_html(app, a, &lu[i], v), "date_published",
                               view_date(a, lu[i].at, 2));
        json_decref(v);
        if (lu[i].updated_at > lu[i].at)
            json_object_set_new(it, "date_modified",
                                json_string(view_date(a, lu[i].updated_at, 2)));
        json_array_append_new(items, it);
    }
    /* JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/) */
    json_t *root = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "version",
        "https://jsonfeed.org/version/1.1", "title",
        arena_printf(a, "%s News Feed", c->title), "home_page_url",
        arena_printf(a, "%s" FEED_PATH, c->url), "feed_url",
        arena_printf(a, "%s" FEED_PATH "feed.json", c->url), "description",
        c->description, "language", c->language, "items", items);
    char *s = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
    json_decref(root);
    if (!s) {
        log_error("cannot build feed '%s'", http_req_path(req));
        return -1;
    }
    arena_defer(a, free, s);
    return send_cached(req, "application/feed+json", s, strlen(s));
}
