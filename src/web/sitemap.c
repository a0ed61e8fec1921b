/*
 * sitemap.c - the sitemaps and robots.txt; see sitemap.h.
 *
 * Sitemaps follow https://www.sitemaps.org/protocol.html: a <sitemapindex>
 * at /sitemap.xml names the files, each a <urlset> of absolute URLs (from
 * the site's url setting) with a W3C datetime <lastmod>. Post sitemaps
 * hold BOUND_SITEMAP_URLS URLs each, the protocol's most; feature images
 * use Google's image extension, the news sitemap Google's news extension.
 * Every file is built per request from light rows (store_post_stamps and
 * friends: slug, times, title, language, image name; never a body), so a
 * 50,000-URL file costs one indexed query. A post is listed when it is
 * public now: published, with published_at <= now; scheduled posts
 * appear once their time comes, drafts never.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/bounds.h"
#include "core/buf.h"
#include "core/log.h"
#include "render/date.h"
#include "render/xml.h"
#include "web/app.h"
#include "web/pages.h"
#include "web/sitemap.h"

#define NS_SITEMAP "http://www.sitemaps.org/schemas/sitemap/0.9"
#define NS_IMAGE "http://www.google.com/schemas/sitemap-image/1.1"
#define NS_NEWS "http://www.google.com/schemas/sitemap-news/0.9"
#define XML_TYPE "application/xml; charset=utf-8"
#define XML_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

/* The W3C datetime of t ("2024-11-01T03:07:00+00:00"), in a. */
static const char *w3c_date(struct arena *a, int64_t t)
{
    char d[DATE_BUF];

    date_format_iso((time_t)t, d, sizeof d);
    return arena_strdup(a, d);
}

/* <loc>BASE PATH</loc>, escaped, and a <lastmod> when lastmod is set. */
static void loc_lastmod(struct web_app *app, struct arena *a, struct buf *b,
                        const char *path, int64_t lastmod)
{
    buf_adds(b, "<loc>");
    xml_add(b, app->cfg.url);
    xml_add(b, path);
    buf_adds(b, "</loc>\n");
    if (lastmod > 0)
        xml_elem(b, "lastmod", w3c_date(a, lastmod));
}

/* The newest lastmod of the authors' stamps (sections 0) or of the
 * sections' and tags' (sections 1). */
static int64_t archive_newest(const struct store_archive_stamp *s, size_t n,
                              int sections)
{
    int64_t m = 0;

    for (size_t i = 0; i < n; i++) {
        int is_author = s[i].kind == STORE_ARCHIVE_AUTHOR;
        if (is_author != !sections)
            continue;
        if (s[i].lastmod > m)
            m = s[i].lastmod;
    }
    return m;
}

/* One <sitemap> of the index. */
static void index_entry(struct web_app *app, struct arena *a, struct buf *b,
                        const char *path, int64_t lastmod)
{
    buf_adds(b, "<sitemap>\n");
    loc_lastmod(app, a, b, path, lastmod);
    buf_adds(b, "</sitemap>\n");
}

int sitemap_index(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    int64_t now = (int64_t)time(NULL), *pages = NULL, news_mod = 0;
    struct store_archive_stamp *arch = NULL;
    struct store_post_stamp *news = NULL;
    size_t npages = 0, narch = 0, nnews = 0;
    struct buf b;

    if (store_post_stamp_pages(app->st, a, now, BOUND_SITEMAP_URLS, &pages,
                               &npages) != 0 ||
        store_archive_stamps(app->st, a, now, &arch, &narch) != 0 ||
        store_post_stamps(app->st, a, now, now - SITEMAP_NEWS_HOURS * 3600, 0,
                          SITEMAP_NEWS_URLS, &news, &nnews) != 0)
        return -1;
    for (size_t i = 0; i < nnews; i++)
        if (news[i].lastmod > news_mod)
            news_mod = news[i].lastmod;
    buf_init(&b, BOUND_SITEMAP_BYTES);
    buf_adds(&b, XML_HEAD "<sitemapindex xmlns=\"" NS_SITEMAP "\">\n");
    for (size_t i = 0; i < (npages ? npages : 1); i++)
        index_entry(app, a, &b,
                    arena_printf(a, "/sitemap-posts-%zu.xml", i + 1),
                    npages ? pages[i] : 0);
    index_entry(app, a, &b, "/sitemap-authors.xml",
                archive_newest(arch, narch, 0));
    index_entry(app, a, &b, "/sitemap-sections.xml",
                archive_newest(arch, narch, 1));
    index_entry(app, a, &b, "/news-sitemap.xml", news_mod);
    buf_adds(&b, "</sitemapindex>\n");
    return send_cached_buf(req, &b, XML_TYPE);
}

/* The page number of "sitemap-posts-N.xml" (N from 1, no leading zero,
 * at most BOUND_MAX_PAGE), or 0 for any other name. */
static size_t posts_page(const char *name)
{
    static const char pre[] = "sitemap-posts-", suf[] = ".xml";
    const char *p = name;
    size_t n = 0;

    if (strncmp(p, pre, sizeof pre - 1) != 0)
        return 0;
    p += sizeof pre - 1;
    if (*p < '1' || *p > '9')
        return 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (size_t)(*p - '0');
        if (n > BOUND_MAX_PAGE)
            return 0;
    }
    return strcmp(p, suf) == 0 ? n : 0;
}

/* What the routes table's not-found hook does for a path this "/:file"
 * route caught (site.c): a GET of a name without a dot gets a 301 to the
 * address with a slash, anything else the 404 page. */
static int not_a_sitemap(struct http_req *req, void *app)
{
    const char *path = http_req_path(req);
    const char *target = http_req_target(req);
    const char *q = strchr(target, '?');

    if ((http_req_method(req) & (HTTP_GET | HTTP_HEAD)) && !strchr(path, '.') &&
        strlen(path) < 1024)
        return http_resp_redirect(
            req, 301,
            arena_printf(http_req_arena(req), "%s/%s", path, q ? q : ""));
    return page_not_found(req, app);
}

/* The largest width of a "480,960,1600" list, or 0. */
static unsigned widest(const char *w)
{
    unsigned best = 0;

    while (w && *w) {
        unsigned v = (unsigned)strtoul(w, NULL, 10);
        if (v > best)
            best = v;
        w = strchr(w, ',');
        w = w ? w + 1 : NULL;
    }
    return best;
}

/* One post's <url>, with its feature image (the largest JPEG variant,
 * as view_image names it) when it has one. */
static void post_url(struct web_app *app, struct arena *a, struct buf *b,
                     const struct store_post_stamp *p)
{
    unsigned w = widest(p->image_widths);

    buf_adds(b, "<url>\n");
    loc_lastmod(app, a, b, arena_printf(a, "/%s/", p->slug), p->lastmod);
    if (p->image && w) {
        buf_adds(b, "<image:image><image:loc>");
        xml_add(b, app->cfg.url);
        xml_add(b, arena_printf(a, "/media/%s-%u.jpg", p->image, w));
        buf_adds(b, "</image:loc></image:image>\n");
    }
    buf_adds(b, "</url>\n");
}

int sitemap_posts(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    const char *name = http_req_param(req, "file");
    size_t page = name ? posts_page(name) : 0;
    struct store_post_stamp *p = NULL;
    size_t n = 0;
    struct buf b;

    if (!page || !(http_req_method(req) & (HTTP_GET | HTTP_HEAD)))
        return not_a_sitemap(req, app);
    if (store_post_stamps(app->st, a, (int64_t)time(NULL), 0,
                          (page - 1) * BOUND_SITEMAP_URLS, BOUND_SITEMAP_URLS,
                          &p, &n) != 0)
        return -1;
    if (page > 1 && n == 0)
        return page_not_found(req, app);
    buf_init(&b, BOUND_SITEMAP_BYTES);
    buf_adds(&b, XML_HEAD "<urlset xmlns=\"" NS_SITEMAP
                          "\" xmlns:image=\"" NS_IMAGE "\">\n");
    for (size_t i = 0; i < n; i++)
        post_url(app, a, &b, &p[i]);
    buf_adds(&b, "</urlset>\n");
    return send_cached_buf(req, &b, XML_TYPE);
}

/* The <urlset> of the archive pages of authors (sections 0) or of
 * sections and tags (sections 1). */
static int archive_sitemap(struct http_req *req, struct web_app *app,
                           int sections)
{
    static const char *const base[] = {
        [STORE_ARCHIVE_AUTHOR] = "/author/",
        [STORE_ARCHIVE_SECTION] = "/section/",
        [STORE_ARCHIVE_TAG] = "/tag/",
    };
    struct arena *a = http_req_arena(req);
    struct store_archive_stamp *s = NULL;
    size_t n = 0;
    struct buf b;

    if (store_archive_stamps(app->st, a, (int64_t)time(NULL), &s, &n) != 0)
        return -1;
    buf_init(&b, BOUND_SITEMAP_BYTES);
    buf_adds(&b, XML_HEAD "<urlset xmlns=\"" NS_SITEMAP "\">\n");
    for (size_t i = 0; i < n; i++) {
        if ((s[i].kind == STORE_ARCHIVE_AUTHOR) == sections ||
            (unsigned)s[i].kind > STORE_ARCHIVE_TAG)
            continue;
        buf_adds(&b, "<url>\n");
        loc_lastmod(app, a, &b,
                    arena_printf(a, "%s%s/", base[s[i].kind], s[i].slug),
                    s[i].lastmod);
        buf_adds(&b, "</url>\n");
    }
    buf_adds(&b, "</urlset>\n");
    return send_cached_buf(req, &b, XML_TYPE);
}

int sitemap_authors(struct http_req *req, void *app)
{
    return archive_sitemap(req, app, 0);
}

int sitemap_sections(struct http_req *req, void *app)
{
    return archive_sitemap(req, app, 1);
}

int sitemap_news(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    int64_t now = (int64_t)time(NULL);
    struct store_post_stamp *p = NULL;
    size_t n = 0;
    struct buf b;

    if (store_post_stamps(app->st, a, now, now - SITEMAP_NEWS_HOURS * 3600, 0,
                          SITEMAP_NEWS_URLS, &p, &n) != 0)
        return -1;
    buf_init(&b, BOUND_SITEMAP_BYTES);
    buf_adds(&b, XML_HEAD "<urlset xmlns=\"" NS_SITEMAP
                          "\" xmlns:news=\"" NS_NEWS "\">\n");
    for (size_t i = 0; i < n; i++) {
        buf_adds(&b, "<url>\n");
        loc_lastmod(app, a, &b, arena_printf(a, "/%s/", p[i].slug), 0);
        buf_adds(&b, "<news:news>\n<news:publication>\n");
        xml_elem(&b, "news:name", app->cfg.title);
        xml_elem(&b, "news:language",
                 p[i].language && *p[i].language ? p[i].language
                                                 : app->cfg.language);
        buf_adds(&b, "</news:publication>\n");
        xml_elem(&b, "news:publication_date", w3c_date(a, p[i].published_at));
        xml_elem(&b, "news:title", p[i].title);
        buf_adds(&b, "</news:news>\n</url>\n");
    }
    buf_adds(&b, "</urlset>\n");
    return send_cached_buf(req, &b, XML_TYPE);
}

int sitemap_robots(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    /* RFC 9309; "$" anchors the end, so articles whose slug starts with
     * "desk" or "search" stay crawlable */
    const char *body = arena_printf(a,
                                    "User-agent: *\n"
                                    "Allow: /\n"
                                    "Disallow: /desk$\n"
                                    "Disallow: /desk/\n"
                                    "Disallow: /search$\n"
                                    "Disallow: /search?\n"
                                    "\n"
                                    "Sitemap: %s/sitemap.xml\n"
                                    "Sitemap: %s/news-sitemap.xml\n",
                                    app->cfg.url, app->cfg.url);

    return send_cached(req, "text/plain; charset=utf-8", body, strlen(body));
}
