/*
 * pages.c - the reader's pages: front page, article, author, section/tag,
 * archive, and the error page. Each handler loads from the store, builds
 * template data with view.c and renders one template (docs/theme.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "content/post.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "render/tmpl.h"
#include "web/app.h"
#include "web/cache.h"
#include "web/pages.h"
#include "web/podcast.h"

#define HOME_LATEST 9   /* cards under the lead story */
#define SECTION_CARDS 3 /* cards per section block on the front page */
#define RAIL_ITEMS 5    /* More news / Editors' Picks length */

static void free_json(void *p)
{
    json_decref(p);
}

int send_cached(struct http_req *req, const char *type, const char *body,
                size_t len)
{
    return cache_send(req, type, body, len, NULL);
}

int send_cached_buf(struct http_req *req, struct buf *b, const char *type)
{
    if (b->overflow) {
        size_t limit = b->limit;
        buf_release(b);
        log_error("cannot build '%s': over %zu bytes", http_req_path(req),
                  limit);
        return -1;
    }
    size_t len;
    char *body = buf_steal(b, &len);
    arena_defer(http_req_arena(req), free, body);
    return send_cached(req, type, body ? body : "", body ? len : 0);
}

/* Renders template name with data into a body in the request arena. */
static char *render_body(struct web_app *app, struct http_req *req,
                         const char *name, json_t *data, size_t *len)
{
    struct arena *a = http_req_arena(req);
    struct buf out;

    arena_defer(a, free_json, data);
    buf_init(&out, BOUND_PAGE_BYTES);
    if (tmpl_set_render(app->theme, name, data, &out) < 0) {
        buf_release(&out);
        log_error("cannot render template '%s'", name);
        return NULL;
    }
    char *body = buf_steal(&out, len);
    arena_defer(a, free, body);
    return body;
}

int render_private(struct web_app *app, struct http_req *req, int status,
                   const char *name, json_t *data)
{
    size_t len;
    char *body = render_body(app, req, name, data, &len);

    if (!body)
        return -1;
    http_resp_header(req, "Cache-Control", "no-store, private");
    return http_resp_send_static(req, status, "text/html; charset=utf-8", body,
                                 len);
}

int render_page(struct web_app *app, struct http_req *req, int status,
                const char *name, json_t *data)
{
    size_t len;
    char *body = render_body(app, req, name, data, &len);

    if (!body)
        return -1;
    if (status == 200)
        return cache_send(req, "text/html; charset=utf-8", body, len, NULL);
    http_resp_header(req, "Cache-Control", "no-store");
    return http_resp_send_static(req, status, "text/html; charset=utf-8", body,
                                 len);
}

/* A 500 while the database is unreachable (store_available() is 0) is an
 * outage, not a bug: it is answered 503 with Retry-After and this text. */
#define OUTAGE_RETRY_AFTER "5"
static const char outage_message[] =
    "The site is briefly unavailable; try again in a few seconds.";

/* Retry-After of a 503 for a read-only database: an operator's fix. */
#define FAULT_RETRY_AFTER "60"

int page_fault_status(void)
{
    switch (store_last_fault()) {
    case STORE_FAULT_FULL:
        return 507;
    case STORE_FAULT_READONLY:
        return 503;
    default:
        return 0;
    }
}

const char *page_fault_text(int staff)
{
    switch (store_last_fault()) {
    case STORE_FAULT_FULL:
        return staff ? "The server's disk is full, so nothing was saved. Ask "
                       "the site's operator to free disk space, then try "
                       "again."
                     : "We could not save this just now: the server's disk "
                       "is full. Nothing was recorded; please try again in a "
                       "few minutes.";
    case STORE_FAULT_READONLY:
        return staff ? "The database is read-only, so nothing was saved. Ask "
                       "the site's operator to make it writable again (file "
                       "permissions or the disk's mount), then try again."
                     : "We could not save this just now: the site is "
                       "read-only for maintenance. Nothing was recorded; "
                       "please try again in a few minutes.";
    default:
        return NULL;
    }
}

void page_error(struct http_req *req, int status, const char *message,
                void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    int outage = status == 500 && !store_available(app->st);

    if (outage) {
        status = 503;
        message = outage_message;
        http_resp_header(req, "Retry-After", OUTAGE_RETRY_AFTER);
    } else if (status == 500 && page_fault_status()) {
        status = page_fault_status();
        message = page_fault_text(strncmp(http_req_path(req), "/desk", 5) == 0);
        if (status == 503)
            http_resp_header(req, "Retry-After", FAULT_RETRY_AFTER);
    }
    const char *title = status == 404   ? "Page not found"
                        : status == 405 ? "Method not allowed"
                        : status < 500  ? "Bad request"
                        : status == 503 ? "Briefly unavailable"
                        : status == 507 ? "The disk is full"
                                        : "Something went wrong";
    json_t *d = view_page(app, a, title, NULL, "/", NULL, 0);
    json_object_set_new(json_object_get(d, "page"), "robots",
                        json_string("noindex"));
    json_object_set_new(d, "error",
                        json_pack("{s:i, s:s, s:s}", "status",
                                  (json_int_t)status, "title", title, "message",
                                  message ? message : ""));
    if (render_page(app, req, status, "error", d) < 0 && outage)
        http_resp_send_static(req, 503, "text/plain; charset=utf-8",
                              outage_message, sizeof outage_message - 1);
}

int page_not_found(struct http_req *req, void *app)
{
    (void)app;
    return http_error(req, 404,
                      "We could not find that page. It may have moved, or "
                      "the address may be mistyped.");
}

/* The ?page= number: 1 when absent, 0 when malformed (caller answers 400). */
static size_t page_number(struct http_req *req)
{
    const char *s = http_req_query(req, "page");
    size_t n = 0;
    if (!s)
        return 1;
    if (!*s || strlen(s) > 6)
        return 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        n = n * 10 + (size_t)(*p - '0');
    }
    return n >= 1 && n <= BOUND_MAX_PAGE ? n : 0;
}

/* Adds picks[] and more_news[] (leaving out exclude) to d. */
static void add_rails(struct web_app *app, struct arena *a, json_t *d,
                      const char *exclude)
{
    struct store_post_query q = {0};
    struct store_post *p = NULL;
    size_t n = 0;

    q.status = STORE_POST_PUBLISHED;
    q.picks_only = 1;
    q.limit = RAIL_ITEMS;
    if (store_posts_list(app->st, a, &q, &p, &n, NULL) == 0)
        json_object_set_new(d, "picks", view_cards(app, a, p, n));
    memset(&q, 0, sizeof q);
    q.status = STORE_POST_PUBLISHED;
    q.exclude_slug = exclude;
    q.limit = RAIL_ITEMS;
    if (store_posts_list(app->st, a, &q, &p, &n, NULL) == 0)
        json_object_set_new(d, "more_news", view_cards(app, a, p, n));
}

int page_home(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    struct store_post_query q = {0};
    struct store_post *lead = NULL, *p = NULL;
    struct store_tag *secs = NULL;
    size_t n = 0, nsec = 0;
    json_t *d;

    d = view_page(app, a, NULL, NULL, "/", NULL, 1);
    q.status = STORE_POST_PUBLISHED;
    q.featured_only = 1;
    q.limit = 1;
    if (store_posts_list(app->st, a, &q, &lead, &n, NULL) != 0)
        goto fail;
    if (n == 0) {
        q.featured_only = 0;
        if (store_posts_list(app->st, a, &q, &lead, &n, NULL) != 0)
            goto fail;
    }
    if (n)
        json_object_set_new(d, "lead", view_card(app, a, lead));
    memset(&q, 0, sizeof q);
    q.status = STORE_POST_PUBLISHED;
    q.exclude_slug = n ? lead->slug : NULL;
    q.limit = HOME_LATEST;
    if (store_posts_list(app->st, a, &q, &p, &n, NULL) != 0)
        goto fail;
    json_object_set_new(d, "latest", view_cards(app, a, p, n));
    add_rails(app, a, d, NULL);
    json_t *sections = json_array();
    if (store_tags_list(app->st, a, STORE_TAG_SECTION, &secs, &nsec) == 0)
        for (size_t i = 0; i < nsec; i++) {
            memset(&q, 0, sizeof q);
            q.status = STORE_POST_PUBLISHED;
            q.tag_slug = secs[i].slug;
            q.limit = SECTION_CARDS;
            if (store_posts_list(app->st, a, &q, &p, &n, NULL) != 0 || !n)
                continue;
            json_array_append_new(
                sections,
                json_pack("{s:s, s:s, s:o}", "name", secs[i].name, "url",
                          arena_printf(a, "/section/%s/", secs[i].slug),
                          "posts", view_cards(app, a, p, n)));
        }
    json_object_set_new(d, "sections", sections);
    return render_page(app, req, 200, "home", d);
fail:
    json_decref(d);
    return -1;
}

/* Renders Markdown that should read as one line (a caption): the HTML
 * without its paragraph wrapper when it is a single paragraph. */
static char *inline_html(struct web_app *app, struct arena *a, const char *md)
{
    char *h = post_render_markdown(app->st, a, md, NULL, NULL);
    size_t n = h ? strlen(h) : 0;
    while (n && h[n - 1] == '\n')
        h[--n] = '\0';
    if (n > 7 && strncmp(h, "<p>", 3) == 0 && strcmp(h + n - 4, "</p>") == 0 &&
        !strstr(h + 3, "<p>")) {
        h[n - 4] = '\0';
        return h + 3;
    }
    return h;
}

#define HEADLINE_CHARS 110    /* schema.org/Google: headline at most 110 */
#define LOGO_ASSET "logo.png" /* the publisher logo, a PNG of LOGO_PX */
#define LOGO_PX 112

/* s cut to at most max characters at a word boundary (with an ellipsis),
 * in a; s itself when it fits. */
static const char *cut_words(struct arena *a, const char *s, size_t max)
{
    size_t chars = 0, at = 0, space = 0;

    for (const char *q = s; *q; q++) {
        if (((unsigned char)*q & 0xc0) == 0x80)
            continue;
        if (chars == max - 1)
            at = (size_t)(q - s);
        if (chars < max - 1 && *q == ' ')
            space = (size_t)(q - s);
        chars++;
    }
    if (chars <= max)
        return s;
    size_t n = space && space < at ? space : at;
    while (n && s[n - 1] == ' ')
        n--;
    return arena_printf(a, "%.*s\xe2\x80\xa6", (int)n, s);
}

/* The absolute URL of the largest JPEG variant of img; *w, *h its size. */
static const char *image_large(struct web_app *app, struct arena *a,
                               const struct store_image *img, unsigned *w,
                               unsigned *h)
{
    unsigned pick = 0;

    for (const char *q = img->widths; q && *q;) {
        unsigned width = (unsigned)strtoul(q, NULL, 10);
        if (width > pick)
            pick = width;
        q = strchr(q, ',');
        q = q ? q + 1 : NULL;
    }
    if (!pick || !img->width)
        return NULL;
    *w = pick;
    *h = (unsigned)((double)img->height * pick / img->width + 0.5);
    return arena_printf(a, "%s/media/%s-%u.jpg", app->cfg.url, img->name, pick);
}

/* og:locale from a BCP 47 tag: "en-GB" -> "en_GB". */
static const char *og_locale(struct arena *a, const char *lang)
{
    char *l = arena_strdup(a, lang && *lang ? lang : "en");
    for (char *q = l; *q; q++)
        if (*q == '-')
            *q = '_';
    return l;
}

/* schema.org BreadcrumbList: Home > section (if any) > the article. */
static json_t *breadcrumbs(struct web_app *app, struct arena *a,
                           const struct store_post *p, const char *canonical)
{
    const struct config *c = &app->cfg;
    json_t *items = json_array();
    const char *names[3], *urls[3];
    size_t n = 0;

    names[n] = c->title;
    urls[n++] = arena_printf(a, "%s/", c->url);
    if (p->ntags && p->tags[0].kind == STORE_TAG_SECTION) {
        names[n] = p->tags[0].name;
        urls[n++] = arena_printf(a, "%s/section/%s/", c->url, p->tags[0].slug);
    }
    names[n] = p->title;
    urls[n++] = canonical;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, json_pack("{s:s, s:i, s:s, s:s}", "@type",
                                               "ListItem", "position",
                                               (json_int_t)(i + 1), "name",
                                               names[i], "item", urls[i]));
    return json_pack("{s:s, s:o}", "@type", "BreadcrumbList", "itemListElement",
                     items);
}

/* schema.org NewsArticle for p at canonical (docs/theme.md, page.jsonld).
 * image is the absolute feature image URL or NULL; modified the time the
 * page shows as "Updated" (or the publication time). */
static json_t *news_article(struct web_app *app, struct arena *a,
                            const struct store_post *p, const char *canonical,
                            const char *description, const char *image,
                            int64_t modified, unsigned words,
                            const struct store_correction *cor, size_t ncor)
{
    const struct config *c = &app->cfg;
    json_t *authors = json_array(), *keywords = json_array();
    const char *logo = files_asset_url(app, LOGO_ASSET);

    for (size_t i = 0; i < p->nauthors; i++)
        json_array_append_new(authors,
                              json_pack("{s:s, s:s, s:s}", "@type", "Person",
                                        "name", p->authors[i].name, "url",
                                        arena_printf(a, "%s/author/%s/", c->url,
                                                     p->authors[i].slug)));
    for (size_t i = 0; i < p->ntags; i++)
        if (p->tags[i].kind == STORE_TAG_TAG)
            json_array_append_new(keywords, json_string(p->tags[i].name));
    json_t *pub =
        json_pack("{s:s, s:s, s:s}", "@type", "NewsMediaOrganization", "name",
                  c->title, "url", arena_printf(a, "%s/", c->url));
    if (logo)
        json_object_set_new(
            pub, "logo",
            json_pack("{s:s, s:s, s:i, s:i}", "@type", "ImageObject", "url",
                      arena_printf(a, "%s%s", c->url, logo), "width",
                      (json_int_t)LOGO_PX, "height", (json_int_t)LOGO_PX));
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:{s:s, s:s}, s:o, "
                  "s:s, s:i, s:b}",
                  "@type", "NewsArticle", "url", canonical, "headline",
                  cut_words(a, p->title, HEADLINE_CHARS), "description",
                  description ? description : "", "datePublished",
                  view_date(a, p->published_at, 2), "dateModified",
                  view_date(a, modified, 2), "author", authors, "publisher",
                  pub, "mainEntityOfPage", "@type", "WebPage", "@id", canonical,
                  "keywords", keywords, "inLanguage",
                  p->language && *p->language ? p->language : c->language,
                  "wordCount", (json_int_t)words, "isAccessibleForFree", 1);
    if (!o)
        return NULL;
    if (image)
        json_object_set_new(o, "image", json_pack("[s]", image));
    if (p->ntags && p->tags[0].kind == STORE_TAG_SECTION)
        json_object_set_new(o, "articleSection", json_string(p->tags[0].name));
    if (ncor) {
        json_t *arr = json_array();
        for (size_t i = 0; i < ncor; i++)
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:s}", "@type", "CorrectionComment",
                               "text", cor[i].text ? cor[i].text : "",
                               "datePublished", view_date(a, cor[i].at, 2)));
        json_object_set_new(o, "correction", arr);
    }
    return o;
}

/* Adds the sharing and structured data of an article to page: image,
 * image_alt, share_title, locale, twitter_card, article {published_time,
 * modified_time, section, tags[], authors[]}, and jsonld: one script-safe
 * schema.org @graph of the NewsArticle and its BreadcrumbList
 * (docs/theme.md). */
static void article_meta(struct web_app *app, struct arena *a, json_t *page,
                         const struct store_post *p, int64_t modified,
                         unsigned words, const struct store_correction *cor,
                         size_t ncor)
{
    const struct config *c = &app->cfg;
    const char *canonical = arena_printf(a, "%s/%s/", c->url, p->slug);
    const char *desc = json_string_value(json_object_get(page, "description"));
    const char *image = NULL;
    unsigned w = 0, h = 0;

    if (p->feature_image)
        image = image_large(app, a, p->feature_image, &w, &h);
    if (image) {
        const char *alt =
            p->feature_alt && *p->feature_alt
                ? p->feature_alt
                : (p->feature_image->alt ? p->feature_image->alt : p->title);
        json_object_set_new(page, "image", json_string(image));
        json_object_set_new(page, "image_alt", json_string(alt));
        json_object_set_new(page, "image_width", json_integer(w));
        json_object_set_new(page, "image_height", json_integer(h));
    }
    json_object_set_new(page, "share_title",
                        json_string(p->meta_title && *p->meta_title
                                        ? p->meta_title
                                        : p->title));
    json_object_set_new(
        page, "locale",
        json_string(og_locale(a, p->language && *p->language ? p->language
                                                             : c->language)));
    json_object_set_new(page, "twitter_card",
                        json_string(image ? "summary_large_image" : "summary"));
    json_t *tags = json_array(), *authors = json_array();
    for (size_t i = 0; i < p->ntags; i++)
        if (p->tags[i].kind == STORE_TAG_TAG)
            json_array_append_new(tags, json_string(p->tags[i].name));
    for (size_t i = 0; i < p->nauthors; i++)
        json_array_append_new(
            authors, json_string(arena_printf(a, "%s/author/%s/", c->url,
                                              p->authors[i].slug)));
    json_t *art =
        json_pack("{s:s, s:s, s:o, s:o}", "published_time",
                  view_date(a, p->published_at, 2), "modified_time",
                  view_date(a, modified, 2), "tags", tags, "authors", authors);
    if (p->ntags && p->tags[0].kind == STORE_TAG_SECTION)
        json_object_set_new(art, "section", json_string(p->tags[0].name));
    json_object_set_new(page, "article", art);

    json_t *ld =
        json_pack("{s:s, s:[o, o]}", "@context", "https://schema.org", "@graph",
                  news_article(app, a, p, canonical, desc, image, modified,
                               words, cor, ncor),
                  breadcrumbs(app, a, p, canonical));
    char *text = view_jsonld(a, ld);
    json_decref(ld);
    if (text)
        json_object_set_new(page, "jsonld", json_string(text));
    else
        log_warn("cannot build the structured data of '%s'", p->slug);
}

json_t *view_article(struct web_app *app, struct arena *a,
                     const struct store_post *pp)
{
    struct store_post p = *pp;
    struct store_correction *cor = NULL;
    size_t ncor = 0;

    unsigned words = 0;
    char *html = post_render_markdown(app->st, a, p.markdown, &words, NULL);
    if (!html)
        return NULL;
    const char *section =
        p.ntags && p.tags[0].kind == STORE_TAG_SECTION ? p.tags[0].slug : NULL;
    json_t *d = view_page(
        app, a, p.meta_title && *p.meta_title ? p.meta_title : p.title,
        p.meta_description && *p.meta_description
            ? p.meta_description
            : (p.standfirst ? p.standfirst : p.excerpt),
        arena_printf(a, "/%s/", p.slug), section, 0);
    json_object_set_new(json_object_get(d, "page"), "type",
                        json_string("article"));
    json_t *post = view_card(app, a, &p);
    json_object_set_new(post, "html", json_string(html));
    json_object_set_new(post, "published_iso",
                        json_string(view_date(a, p.published_at, 2)));
    json_object_set_new(post, "published_label",
                        json_string(view_date(a, p.published_at, 1)));
    int64_t modified = p.published_at;
    if (p.updated_at > p.published_at + 60) {
        modified = p.updated_at;
        json_object_set_new(post, "updated",
                            json_pack("{s:s, s:s}", "iso",
                                      view_date(a, p.updated_at, 2), "label",
                                      view_date(a, p.updated_at, 1)));
    }
    json_t *tags = json_array();
    for (size_t i = 0; i < p.ntags; i++)
        if (p.tags[i].kind == STORE_TAG_TAG)
            json_array_append_new(
                tags, json_pack("{s:s, s:s}", "name", p.tags[i].name, "url",
                                arena_printf(a, "/tag/%s/", p.tags[i].slug)));
    json_object_set_new(post, "tags", tags);
    json_t *img = json_object_get(post, "image");
    if (img && json_is_object(img)) {
        if (p.feature_caption && *p.feature_caption)
            json_object_set_new(
                img, "caption_html",
                json_string(inline_html(app, a, p.feature_caption)));
        if (p.feature_credit && *p.feature_credit)
            json_object_set_new(img, "credit", json_string(p.feature_credit));
    }
    json_t *corr = json_array();
    if (p.id && store_corrections_list(app->st, a, p.id, &cor, &ncor) == 0)
        for (size_t i = 0; i < ncor; i++)
            json_array_append_new(
                corr, json_pack("{s:s, s:s, s:s}", "date_iso",
                                view_date(a, cor[i].at, 2), "date_label",
                                view_date(a, cor[i].at, 1), "html",
                                inline_html(app, a, cor[i].text)));
    json_object_set_new(post, "has_corrections",
                        json_boolean(json_array_size(corr) > 0));
    json_object_set_new(post, "corrections", corr);
    article_meta(app, a, json_object_get(d, "page"), &p, modified, words, cor,
                 ncor);
    struct store_narration nar;
    if (p.id && !p.narration_off &&
        store_narration_ready(app->st, a, p.id, &nar) == STORE_OK && nar.file)
        json_object_set_new(post, "audio", podcast_audio(a, &nar));
    json_object_set_new(d, "post", post);
    add_rails(app, a, d, p.slug);
    return d;
}

int page_article(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    const char *slug = http_req_param(req, "slug");
    struct store_post p;

    if (!slug || !str_slug_valid(slug) ||
        store_post_get_by_slug(app->st, a, slug, &p) != STORE_OK ||
        !post_is_public(&p, (int64_t)time(NULL)))
        return page_not_found(req, app);
    json_t *d = view_article(app, a, &p);
    if (!d)
        return -1;
    return render_page(app, req, 200, "article", d);
}

/* A paginated list of posts matching q, rendered with template name; d is
 * the page data so far. */
static int list_page(struct web_app *app, struct http_req *req,
                     struct store_post_query *q, const char *base,
                     const char *name, json_t *d)
{
    struct arena *a = http_req_arena(req);
    struct store_post *p = NULL;
    size_t n = 0, total = 0, page = page_number(req);
    size_t per = app->cfg.page_size;

    if (page == 0) {
        json_decref(d);
        return http_error(req, 400,
                          "The page number must be a whole number from 1 "
                          "to 100000.");
    }
    q->status = STORE_POST_PUBLISHED;
    q->limit = per;
    q->offset = (page - 1) * per;
    if (store_posts_list(app->st, a, q, &p, &n, &total) != 0) {
        json_decref(d);
        return -1;
    }
    size_t pages = (total + per - 1) / per;
    if (page > 1 && page > pages) {
        json_decref(d);
        return page_not_found(req, app);
    }
    json_object_set_new(d, "posts", view_cards(app, a, p, n));
    json_object_set_new(d, "pagination", view_pagination(a, base, page, pages));
    if (page > 1) /* each page of a list is its own canonical page */
        json_object_set_new(json_object_get(d, "page"), "canonical",
                            json_string(arena_printf(
                                a, "%s%s?page=%zu", app->cfg.url, base, page)));
    return render_page(app, req, 200, name, d);
}

int page_author(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    const char *slug = http_req_param(req, "slug");
    struct store_author au;
    struct store_post_query q = {0};

    if (!slug || !str_slug_valid(slug) ||
        store_author_get_by_slug(app->st, a, slug, &au) != STORE_OK)
        return page_not_found(req, app);
    const char *base = arena_printf(a, "/author/%s/", au.slug);
    json_t *d = view_page(app, a, au.name, au.role, base, NULL, 0);
    json_t *author = json_pack(
        "{s:s, s:s?, s:s?, s:s, s:s}", "name", au.name, "role", au.role,
        "location", au.location, "url", base, "bio_html",
        au.bio ? post_render_markdown(app->st, a, au.bio, NULL, NULL) : "");
    if (au.avatar)
        json_object_set_new(
            author, "avatar",
            view_image(au.avatar, arena_printf(a, "Portrait of %s", au.name),
                       "160px"));
    json_object_set_new(d, "author", author);
    q.author_slug = au.slug;
    return list_page(app, req, &q, base, "author", d);
}

int page_tag(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    const char *slug = http_req_param(req, "slug");
    int want_section = strncmp(http_req_path(req), "/section/", 9) == 0;
    struct store_tag t;
    struct store_post_query q = {0};

    if (!slug || !str_slug_valid(slug) ||
        store_tag_get_by_slug(app->st, a, slug, &t) != STORE_OK)
        return page_not_found(req, app);
    int is_section = t.kind == STORE_TAG_SECTION;
    const char *base =
        arena_printf(a, "/%s/%s/", is_section ? "section" : "tag", t.slug);
    if (is_section != want_section)
        return http_resp_redirect(req, 301, base);
    json_t *d = view_page(app, a, t.name, t.description, base,
                          is_section ? t.slug : NULL, 0);
    json_object_set_new(d, "tag",
                        json_pack("{s:s, s:s?, s:s, s:s}", "name", t.name,
                                  "description", t.description, "kind",
                                  is_section ? "Section" : "Topic", "url",
                                  base));
    q.tag_slug = t.slug;
    return list_page(app, req, &q, base, "tag", d);
}

int page_archive(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    struct store_post_query q = {0};

    json_t *d = view_page(app, a, "Archive", NULL, "/archive/", NULL, 0);
    return list_page(app, req, &q, "/archive/", "archive", d);
}
