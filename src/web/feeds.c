/*
 * feeds.c - the site's articles for feed readers: RSS 2.0, Atom 1.0 and
 * JSON Feed 1.1 of the whole site, of each section, each tag and each
 * author (docs/feeds.md), and the <link rel="alternate"> list a page
 * advertises (feeds_links, used by view_page).
 *
 * DESIGN: every feed is one store read (the newest `feed_items` published
 * posts of the scope, with bodies only when feed_content = full) turned
 * into a list of `struct entry` (absolute URLs, GUID, dates, image), which
 * one writer per format prints. The scope comes from the path, so the
 * three handlers serve all four scopes. Feeds are built per request and
 * sent with send_cached (ETag, Cache-Control), like the News Feed's.
 *
 * GUIDs never change when a post's slug or title does: posts have no
 * UUID, so an entry's id is a tag URI (RFC 4151) of the site's host, the
 * post's creation day (UTC) and its id: "tag:example.org,2026-11-27:post-42".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "content/post.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "render/date.h"
#include "render/xml.h"
#include "web/app.h"
#include "web/feeds.h"
#include "web/pages.h"

enum format { FMT_RSS, FMT_ATOM, FMT_JSON, FMT__MAX };

/* Indexed by enum format. */
static const struct {
    const char *file;  /* last path segment */
    const char *mime;  /* type of the <link rel="alternate"> */
    const char *ctype; /* Content-Type sent */
    const char *label; /* shown in link titles */
} formats[FMT__MAX] = {
    {"rss.xml", "application/rss+xml", "application/rss+xml; charset=utf-8",
     "RSS"},
    {"atom.xml", "application/atom+xml", "application/atom+xml; charset=utf-8",
     "Atom"},
    {"feed.json", "application/feed+json", "application/feed+json",
     "JSON Feed"},
};

enum scope { SCOPE_SITE, SCOPE_SECTION, SCOPE_TAG, SCOPE_AUTHOR, SCOPE__MAX };

/* Path prefix of each scope's pages, indexed by enum scope. */
static const char *const scope_prefix[SCOPE__MAX] = {"/", "/section/", "/tag/",
                                                     "/author/"};

/* One feed: whose it is and its entries. */
struct feed {
    const char *title;       /* feed title */
    const char *description; /* one line, never NULL */
    const char *home;        /* absolute URL of the scope's HTML page */
    const char *self;        /* absolute URL of this feed */
    const char *author_name; /* an author feed's author, or NULL */
    const char *author_url;  /* absolute URL of that author's page */
    const char *avatar;      /* absolute URL of the author's portrait or NULL */
    struct entry *e;         /* newest first */
    size_t n;
    int64_t updated; /* newest change of any entry, 0 when none */
};

/* One post as every format needs it. */
struct entry {
    const struct store_post *p;
    const char *url;     /* absolute article URL */
    const char *guid;    /* tag URI, see the top */
    const char *summary; /* standfirst or excerpt, never NULL */
    const char *html;    /* full article HTML, absolute URLs; NULL = excerpt */
    int64_t updated;     /* last change, >= published_at */
    const char *image;   /* absolute URL of the feature image, or NULL */
    long long image_bytes; /* size of that file on disk, 0 if unknown */
};

char *feeds_rss_date(struct arena *a, int64_t t)
{
    char d[DATE_BUF];

    date_format_rfc1123((time_t)t, d, sizeof d);
    return arena_strdup(a, d);
}

/* The host of the site URL, lower-case, without port, in a. An IPv6
 * address ("[::1]") has its colons as '-', which a tag URI allows. */
static char *site_host(struct arena *a, const char *url)
{
    const char *h = strstr(url, "://");
    char *host;

    h = h ? h + 3 : url;
    if (*h == '[')
        host = arena_strndup(a, h + 1, strcspn(h + 1, "]"));
    else
        host = arena_strndup(a, h, strcspn(h, ":/"));
    for (char *p = host; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        else if (*p == ':')
            *p = '-';
    return host;
}

/* The entry's stable id, a tag URI (RFC 4151). */
static char *guid_of(struct arena *a, const char *host,
                     const struct store_post *p)
{
    time_t t = (time_t)(p->created_at ? p->created_at : p->published_at);
    struct tm tm;
    char day[16] = "1970-01-01";

    if (gmtime_r(&t, &tm))
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
    return arena_printf(a, "tag:%s,%s:post-%lld", host, day, (long long)p->id);
}

/* Appends the root-relative URL at *p (up to a byte in stop) to b, made
 * absolute with base; advances *p past what it copied. */
static void copy_url(struct buf *b, const char **p, const char *base,
                     const char *stop)
{
    const char *s = *p;
    size_t n = strcspn(s, stop);

    if (n && s[0] == '/' && !(n > 1 && s[1] == '/'))
        buf_adds(b, base);
    buf_add(b, s, n);
    *p = s + n;
}

/* html with every root-relative URL of a quoted href, src or srcset
 * attribute made absolute with base, in a; NULL when too large. Text and
 * code never match: their quotes are escaped as &quot;. */
static char *absolute_urls(struct arena *a, const char *html, const char *base)
{
    struct buf b;
    const char *p = html;

    buf_init(&b, BOUND_PAGE_BYTES);
    while (*p) {
        int after_space = p > html && strchr(" \t\r\n", p[-1]);
        size_t an = 0;
        int set = 0;

        if (after_space && !strncasecmp(p, "href=", 5))
            an = 5;
        else if (after_space && !strncasecmp(p, "src=", 4))
            an = 4;
        else if (after_space && !strncasecmp(p, "srcset=", 7))
            an = 7, set = 1;
        if (!an || (p[an] != '"' && p[an] != '\'')) {
            buf_addc(&b, *p++);
            continue;
        }
        char stop[3] = {p[an], set ? ',' : '\0', '\0'};
        buf_add(&b, p, an + 1);
        p += an + 1;
        for (;;) {
            while (set && *p && strchr(" \t\r\n", *p))
                buf_addc(&b, *p++);
            copy_url(&b, &p, base, stop);
            if (*p != ',')
                break;
            buf_addc(&b, *p++);
        }
    }
    char *r = b.overflow ? NULL : arena_strdup(a, b.data ? b.data : "");
    buf_release(&b);
    return r;
}

/* Fills e from post p (the feed carries bodies when full). */
static int entry_fill(struct web_app *app, struct arena *a, const char *host,
                      const struct store_post *p, int full, struct entry *e)
{
    const struct config *c = &app->cfg;

    e->p = p;
    e->url = arena_printf(a, "%s/%s/", c->url, p->slug);
    e->guid = guid_of(a, host, p);
    e->summary = p->standfirst && *p->standfirst ? p->standfirst
                 : p->excerpt                    ? p->excerpt
                                                 : "";
    e->updated =
        p->updated_at > p->published_at ? p->updated_at : p->published_at;
    e->html = NULL;
    if (full) {
        const char *h =
            p->markdown
                ? post_render_markdown(app->st, a, p->markdown, NULL, NULL)
                : p->html;
        e->html = absolute_urls(a, h ? h : "", c->url);
        if (!e->html) {
            log_error("cannot build feed entry 'post-%lld': over %d bytes",
                      (long long)p->id, BOUND_PAGE_BYTES);
            return -1;
        }
    }
    e->image = NULL;
    e->image_bytes = 0;
    /* the variant the article page falls back to (view_image's src) */
    json_t *img =
        p->feature_image ? view_image(p->feature_image, NULL, NULL) : NULL;
    const char *src = json_string_value(json_object_get(img, "src"));
    struct stat st;
    if (src && strncmp(src, "/media/", 7) == 0) {
        e->image = arena_printf(a, "%s%s", c->url, src);
        if (stat(arena_printf(a, "%s/%s", app->media_dir, src + 7), &st) == 0)
            e->image_bytes = (long long)st.st_size;
    }
    json_decref(img);
    return 0;
}

/* The scope of a feed path: which prefix it starts with. */
static enum scope scope_of(const char *path)
{
    for (int s = SCOPE_SECTION; s < SCOPE__MAX; s++)
        if (!strncmp(path, scope_prefix[s], strlen(scope_prefix[s])))
            return (enum scope)s;
    return SCOPE_SITE;
}

/* An author's feed: fills f's author fields and q. 0, or the status of
 * the 404 it sent. */
static int load_author(struct web_app *app, struct http_req *req,
                       const char *slug, struct feed *f,
                       struct store_post_query *q, const char **base)
{
    const struct config *c = &app->cfg;
    struct arena *a = http_req_arena(req);
    struct store_author au;

    if (store_author_get_by_slug(app->st, a, slug, &au) != STORE_OK)
        return page_not_found(req, app);
    *base = arena_printf(a, "/author/%s/", au.slug);
    f->title = au.name;
    f->author_name = au.name;
    f->author_url = arena_printf(a, "%s%s", c->url, *base);
    if (au.role && *au.role)
        f->description = au.role;
    json_t *img = au.avatar ? view_image(au.avatar, NULL, NULL) : NULL;
    const char *src = json_string_value(json_object_get(img, "src"));
    if (src)
        f->avatar = arena_printf(a, "%s%s", c->url, src);
    json_decref(img);
    q->author_slug = au.slug;
    return 0;
}

/* A section's or tag's feed: fills f and q. 0, or the status of the 404
 * or 301 (a section under /tag/, or the reverse) it sent. */
static int load_tag(struct web_app *app, struct http_req *req, const char *slug,
                    enum scope sc, enum format fmt, struct feed *f,
                    struct store_post_query *q, const char **base)
{
    struct arena *a = http_req_arena(req);
    struct store_tag t;

    if (store_tag_get_by_slug(app->st, a, slug, &t) != STORE_OK)
        return page_not_found(req, app);
    enum scope real = t.kind == STORE_TAG_SECTION ? SCOPE_SECTION : SCOPE_TAG;
    *base = arena_printf(a, "%s%s/", scope_prefix[real], t.slug);
    if (real != sc)
        return http_resp_redirect(
            req, 301, arena_printf(a, "%s%s", *base, formats[fmt].file));
    f->title = t.name;
    if (t.description && *t.description)
        f->description = t.description;
    q->tag_slug = t.slug;
    return 0;
}

/* Loads the newest public posts of q into f's entries. 0 or -1. */
static int load_entries(struct web_app *app, struct arena *a,
                        struct store_post_query *q, struct feed *f)
{
    const struct config *c = &app->cfg;
    struct store_post *p = NULL;
    size_t n = 0;
    int full = strcmp(c->feed_content, "excerpt") != 0;
    int64_t now = (int64_t)time(NULL);

    q->status = STORE_POST_PUBLISHED;
    q->published_before = now; /* a future date waits for its time */
    q->limit = c->feed_items;
    q->with_body = full;
    if (store_posts_list(app->st, a, q, &p, &n, NULL) != 0)
        return -1;
    f->e = arena_zalloc(a, (n ? n : 1) * sizeof *f->e);
    const char *host = site_host(a, c->url);
    for (size_t i = 0; i < n; i++) {
        if (!post_is_public(&p[i], now))
            continue;
        struct entry *e = &f->e[f->n];
        if (entry_fill(app, a, host, &p[i], full, e) < 0)
            return -1;
        if (e->updated > f->updated)
            f->updated = e->updated;
        f->n++;
    }
    return 0;
}

/* Works out whose feed the request asks for and loads its entries into f.
 * Returns 0, or the status of a response it sent (404, 301), or -1. */
static int feed_load(struct web_app *app, struct http_req *req, enum format fmt,
                     struct feed *f)
{
    const struct config *c = &app->cfg;
    struct arena *a = http_req_arena(req);
    const char *slug = http_req_param(req, "slug");
    enum scope sc = scope_of(http_req_path(req));
    struct store_post_query q = {0};
    const char *base = "/";
    int rc = 0;

    memset(f, 0, sizeof *f);
    f->description = c->description;
    if (sc != SCOPE_SITE && (!slug || !str_slug_valid(slug)))
        return page_not_found(req, app);
    if (sc == SCOPE_AUTHOR)
        rc = load_author(app, req, slug, f, &q, &base);
    else if (sc != SCOPE_SITE)
        rc = load_tag(app, req, slug, sc, fmt, f, &q, &base);
    if (rc)
        return rc;
    f->title =
        f->title ? arena_printf(a, "%s - %s", f->title, c->title) : c->title;
    f->home = arena_printf(a, "%s%s", c->url, base);
    f->self = arena_printf(a, "%s%s%s", c->url, base, formats[fmt].file);
    return load_entries(app, a, &q, f);
}

/* <name attr="escaped value" and the rest of the tag as given. */
static void xml_open_attr(struct buf *b, const char *name, const char *attr,
                          const char *value)
{
    buf_printf(b, "<%s %s=\"", name, attr);
    xml_add(b, value);
    buf_adds(b, "\"");
}

/* RSS 2.0 (https://www.rssboard.org/rss-specification), with dc:creator
 * (http://purl.org/dc/elements/1.1/) and content:encoded
 * (https://web.resource.org/rss/1.0/modules/content/). */
static void write_rss(struct web_app *app, struct arena *a, struct buf *b,
                      const struct feed *f)
{
    const struct config *c = &app->cfg;

    buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<rss version=\"2.0\" "
                "xmlns:atom=\"http://www.w3.org/2005/Atom\" "
                "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
                "xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\n"
                "<channel>\n");
    xml_elem(b, "title", f->title);
    xml_elem(b, "link", f->home);
    xml_elem(b, "description", f->description);
    xml_elem(b, "language", c->language);
    if (f->updated)
        xml_elem(b, "lastBuildDate", feeds_rss_date(a, f->updated));
    xml_open_attr(b, "atom:link", "href", f->self);
    buf_adds(b, " rel=\"self\" type=\"application/rss+xml\"/>\n");
    for (size_t i = 0; i < f->n; i++) {
        const struct entry *e = &f->e[i];
        buf_adds(b, "<item>\n");
        xml_elem(b, "title", e->p->title);
        xml_elem(b, "link", e->url);
        buf_adds(b, "<guid isPermaLink=\"false\">");
        xml_add(b, e->guid);
        buf_adds(b, "</guid>\n");
        xml_elem(b, "pubDate", feeds_rss_date(a, e->p->published_at));
        for (size_t k = 0; k < e->p->nauthors; k++)
            xml_elem(b, "dc:creator", e->p->authors[k].name);
        for (size_t k = 0; k < e->p->ntags; k++) {
            const struct store_tag *t = &e->p->tags[k];
            xml_open_attr(b, "category", "domain",
                          arena_printf(a, "%s%s", c->url,
                                       t->kind == STORE_TAG_SECTION
                                           ? "/section/"
                                           : "/tag/"));
            buf_adds(b, ">");
            xml_add(b, t->name);
            buf_adds(b, "</category>\n");
        }
        xml_elem(b, "description", e->summary);
        if (e->html)
            xml_elem(b, "content:encoded", e->html);
        if (e->image) {
            xml_open_attr(b, "enclosure", "url", e->image);
            buf_printf(b, " length=\"%lld\" type=\"image/jpeg\"/>\n",
                       e->image_bytes);
        }
        buf_adds(b, "</item>\n");
    }
    buf_adds(b, "</channel>\n</rss>\n");
}

/* An Atom <author> of name and page uri. */
static void atom_author(struct buf *b, const char *name, const char *uri)
{
    buf_adds(b, "<author>\n");
    xml_elem(b, "name", name);
    if (uri)
        xml_elem(b, "uri", uri);
    buf_adds(b, "</author>\n");
}

/* Atom 1.0 (RFC 4287). */
static void write_atom(struct web_app *app, struct arena *a, struct buf *b,
                       const struct feed *f)
{
    const struct config *c = &app->cfg;

    buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml_open_attr(b, "feed", "xmlns", "http://www.w3.org/2005/Atom");
    buf_adds(b, " xml:lang=\"");
    xml_add(b, c->language);
    buf_adds(b, "\">\n");
    xml_elem(b, "id", f->self);
    xml_elem(b, "title", f->title);
    xml_elem(b, "subtitle", f->description);
    xml_elem(b, "updated", view_date(a, f->updated, 2));
    xml_open_attr(b, "link", "href", f->self);
    buf_adds(b, " rel=\"self\" type=\"application/atom+xml\"/>\n");
    xml_open_attr(b, "link", "href", f->home);
    buf_adds(b, " rel=\"alternate\" type=\"text/html\"/>\n");
    /* RFC 4287 4.1.1: a feed-level author unless every entry has one */
    atom_author(b, f->author_name ? f->author_name : c->title,
                f->author_name ? f->author_url
                               : arena_printf(a, "%s/", c->url));
    for (size_t i = 0; i < f->n; i++) {
        const struct entry *e = &f->e[i];
        buf_adds(b, "<entry>\n");
        xml_elem(b, "id", e->guid);
        buf_adds(b, "<title type=\"text\">");
        xml_add(b, e->p->title);
        buf_adds(b, "</title>\n");
        xml_open_attr(b, "link", "href", e->url);
        buf_adds(b, " rel=\"alternate\" type=\"text/html\"/>\n");
        xml_elem(b, "published", view_date(a, e->p->published_at, 2));
        xml_elem(b, "updated", view_date(a, e->updated, 2));
        for (size_t k = 0; k < e->p->nauthors; k++)
            atom_author(b, e->p->authors[k].name,
                        arena_printf(a, "%s/author/%s/", c->url,
                                     e->p->authors[k].slug));
        for (size_t k = 0; k < e->p->ntags; k++) {
            const struct store_tag *t = &e->p->tags[k];
            xml_open_attr(b, "category", "term", t->slug);
            buf_adds(b, " label=\"");
            xml_add(b, t->name);
            buf_adds(b, "\"/>\n");
        }
        buf_adds(b, "<summary type=\"text\">");
        xml_add(b, e->summary);
        buf_adds(b, "</summary>\n");
        if (e->html) {
            buf_adds(b, "<content type=\"html\">");
            xml_add(b, e->html);
            buf_adds(b, "</content>\n");
        }
        if (e->image) {
            xml_open_attr(b, "link", "rel", "enclosure");
            buf_printf(b, " type=\"image/jpeg\" length=\"%lld\"",
                       e->image_bytes);
            buf_adds(b, " href=\"");
            xml_add(b, e->image);
            buf_adds(b, "\"/>\n");
        }
        buf_adds(b, "</entry>\n");
    }
    buf_adds(b, "</feed>\n");
}

/* JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/); NULL on failure. */
static json_t *json_feed(struct web_app *app, struct arena *a,
                         const struct feed *f)
{
    const struct config *c = &app->cfg;
    json_t *items = json_array();

    for (size_t i = 0; i < f->n; i++) {
        const struct entry *e = &f->e[i];
        json_t *authors = json_array(), *tags = json_array();
        for (size_t k = 0; k < e->p->nauthors; k++)
            json_array_append_new(
                authors,
                json_pack("{s:s, s:s}", "name", e->p->authors[k].name, "url",
                          arena_printf(a, "%s/author/%s/", c->url,
                                       e->p->authors[k].slug)));
        for (size_t k = 0; k < e->p->ntags; k++)
            json_array_append_new(tags, json_string(e->p->tags[k].name));
        json_t *it = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id",
                               e->guid, "url", e->url, "title", e->p->title,
                               "summary", e->summary, "date_published",
                               view_date(a, e->p->published_at, 2),
                               "date_modified", view_date(a, e->updated, 2),
                               "authors", authors, "tags", tags);
        if (!it)
            goto fail;
        if (e->html)
            json_object_set_new(it, "content_html", json_string(e->html));
        else
            json_object_set_new(it, "content_text", json_string(e->summary));
        if (e->image)
            json_object_set_new(it, "image", json_string(e->image));
        if (e->p->language && *e->p->language)
            json_object_set_new(it, "language", json_string(e->p->language));
        json_array_append_new(items, it);
    }
    json_t *root =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "version",
                  "https://jsonfeed.org/version/1.1", "title", f->title,
                  "home_page_url", f->home, "feed_url", f->self, "description",
                  f->description, "language", c->language, "items", items);
    if (!root)
        return NULL;
    if (f->author_name) {
        json_t *au = json_pack("{s:s, s:s}", "name", f->author_name, "url",
                               f->author_url);
        if (f->avatar)
            json_object_set_new(au, "avatar", json_string(f->avatar));
        json_object_set_new(root, "authors", json_pack("[o]", au));
    }
    const char *icon = files_asset_url(app, "favicon.svg");
    if (icon)
        json_object_set_new(root, "favicon",
                            json_string(arena_printf(a, "%s%s", c->url, icon)));
    return root;
fail:
    json_decref(items);
    return NULL;
}

int feeds_rss(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct feed f;
    struct buf b;
    int rc = feed_load(app, req, FMT_RSS, &f);

    if (rc)
        return rc;
    buf_init(&b, BOUND_PAGE_BYTES);
    write_rss(app, http_req_arena(req), &b, &f);
    return send_cached_buf(req, &b, formats[FMT_RSS].ctype);
}

int feeds_atom(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct feed f;
    struct buf b;
    int rc = feed_load(app, req, FMT_ATOM, &f);

    if (rc)
        return rc;
    buf_init(&b, BOUND_PAGE_BYTES);
    write_atom(app, http_req_arena(req), &b, &f);
    return send_cached_buf(req, &b, formats[FMT_ATOM].ctype);
}

int feeds_json(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    struct feed f;
    int rc = feed_load(app, req, FMT_JSON, &f);

    if (rc)
        return rc;
    json_t *root = json_feed(app, a, &f);
    char *s = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
    json_decref(root);
    if (!s) {
        log_error("cannot build feed '%s'", http_req_path(req));
        return -1;
    }
    arena_defer(a, free, s);
    return send_cached(req, formats[FMT_JSON].ctype, s, strlen(s));
}

json_t *feeds_links(const struct config *c, struct arena *a, const char *path,
                    const char *name)
{
    json_t *arr = json_array();
    enum scope sc = path ? scope_of(path) : SCOPE_SITE;

    if (sc != SCOPE_SITE && name) {
        const char *slug = path + strlen(scope_prefix[sc]);
        size_t n = strcspn(slug, "/");
        /* only the page itself, "/section/SLUG/" */
        if (n && slug[n] == '/' && slug[n + 1] == '\0')
            for (int k = 0; k < FMT__MAX; k++)
                json_array_append_new(
                    arr,
                    json_pack(
                        "{s:s, s:s, s:s}", "type", formats[k].mime, "title",
                        arena_printf(a, "%s: %s (%s)", c->title, name,
                                     formats[k].label),
                        "url", arena_printf(a, "%s%s", path, formats[k].file)));
    }
    for (int k = 0; k < FMT__MAX; k++)
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:s}", "type", formats[k].mime, "title",
                      arena_printf(a, "%s (%s)", c->title, formats[k].label),
                      "url", arena_printf(a, "/%s", formats[k].file)));
    return arr;
}
