/*
 * import_wxr.c - `newsroom import wxr DIR FILE`: brings a WordPress site's
 * archive (a WXR 1.0-1.2 export, Tools > Export) into a newsroom site.
 * docs/import.md ("## WordPress") is the guide; this is how it works.
 *
 * DESIGN
 * The export is read as a stream with libxml2's xmlTextReader: each
 * top-level element of the channel (wp:author, wp:category, wp:tag, item)
 * is expanded alone, imported, and freed before the next, so a 1 GB
 * export needs the memory of its largest item. Every item is imported in
 * a transaction of its own; one that fails is skipped with its reason and
 * the import goes on. What each item became is recorded in import_map
 * (source "wxr"), so running the same import again creates nothing twice.
 *
 * What becomes what:
 * - wp:author -> an author (slug from the display name); dc:creator of
 *   an item is the author's login.
 * - categories and tags -> tags of kind tag (WordPress categories are
 *   free-form and often many per post; sections stay the editors' choice).
 *   The default category "uncategorized" is left out.
 * - posts -> posts; pages -> posts tagged "page" (newsroom has no pages).
 *   Attachments -> images (from --images, cli/import_images.h, else rows
 *   that keep the attachment's URL; nothing is downloaded), used as
 *   feature images through _thumbnail_id. Other post
 *   types (menus, blocks, custom types) are skipped with a reason.
 * - status: publish -> published, future -> scheduled, draft / pending /
 *   private -> draft; trash and auto-draft are skipped.
 * - dates: wp:post_date_gmt, else wp:post_date in the site's time zone.
 * - slugs: wp:post_name (percent-decoded); a slug another post holds gets
 *   "-ID" appended, with a warning.
 * - old addresses (the item's <link> path, /?p=ID, /?page_id=ID) ->
 *   redirects to /SLUG/ (store_redirect_put), answered 301 by the site.
 * - bodies (content:encoded): WordPress block comments removed, blank-line
 *   paragraphs wrapped as wpautop() does, then Markdown (render/htmlmd.h),
 *   newsroom's body source, so the desk edits them like any article.
 * - comments are counted, not imported.
 * Broken XML stops the reading with libxml2's line and column; what was
 * imported before the break stays, and the summary says so (exit 1).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/tree.h>
#include <libxml/xmlreader.h>

#include "cli/cli.h"
#include "cli/import_images.h"
#include "content/post.h"
#include "content/site.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/str.h"
#include "render/htmlmd.h"
#include "render/md.h"
#include "store/store.h"

#define SOURCE "wxr"
#define REASONS_MAX 24    /* distinct skip reasons counted */
#define PROGRESS_EVERY 50 /* items between progress lines */
#define WARNINGS_SHOWN 50 /* warnings printed before only counting */
#define ID_LEN 32         /* bytes of an export id kept */
/* Largest WordPress body (content:encoded) read, bytes; an item with a
 * larger one is skipped with a reason (its Markdown must still fit
 * BOUND_MARKDOWN to be saved). */
#define WXR_BODY_MAX (8 * BOUND_MARKDOWN)

static const char usage[] =
    "usage: newsroom import wxr DIR FILE [--images FOLDER]\n"
    "\n"
    "Imports a WordPress export (WXR 1.0-1.2, Tools > Export in WordPress)\n"
    "into the site in DIR: posts, pages (as posts tagged \"page\"), authors,\n"
    "categories and tags (as tags), statuses, dates, slugs and featured\n"
    "images. Old WordPress addresses (/2024/05/slug/, /?p=123) redirect to\n"
    "the new ones. Comments are counted, not imported. Running it again\n"
    "with the same file imports only what is new. See docs/import.md.\n"
    "\n"
    "  --images FOLDER  WordPress's wp-content/uploads folder (from the\n"
    "                   server or its backup): the featured images and\n"
    "                   body images it holds are checked and resized like\n"
    "                   uploads and shown on the pages. Without it image\n"
    "                   URLs are kept (nothing is downloaded).\n";

/* A skip reason and how many items it sent away. */
struct reason {
    const char *what; /* in the run's arena */
    size_t n;
};

/* A post whose feature image (an attachment) comes later in the file. */
struct pending {
    int64_t post_id;         /* the local post */
    char attachment[ID_LEN]; /* the attachment's WordPress id */
};

/* One import run. */
struct wxr {
    struct store *st;
    struct config cfg;
    struct arena run; /* lives for the whole run */
    const char *file; /* the export's path */
    const char *lang; /* channel <language>, or NULL */
    int tty;          /* 1 = progress on stderr */
    long long size;   /* bytes of the file */
    int saw_version;  /* 1 once wp:wxr_version was read */
    int64_t page_tag; /* the "page" tag's id, or 0 until needed */
    size_t items;     /* items read */
    size_t posts, pages, authors, tags, images, redirects, comments;
    size_t again; /* items imported by an earlier run */
    size_t warnings;
    struct reason reasons[REASONS_MAX];
    size_t nreasons;
    struct pending *pend; /* malloc'd */
    size_t npend, cappend;
    struct import_images local; /* --images: wp-content/uploads */
    const char *slug;           /* the item being imported, for warnings */
    int xml_failed;             /* 1 when libxml2 reported an error */
    int line, column;           /* where */
    char xml_msg[256];          /* what */
};

/* What one item holds that the import uses (strings in the item arena). */
struct item {
    const char *title, *link, *guid, *creator, *content, *excerpt;
    const char *id, *date, *date_gmt, *name, *status, *type;
    const char *attachment_url, *thumbnail, *alt;
    int sticky;
    const char *cats[BOUND_POST_TAGS * 4]; /* nicenames (slugs) */
    const char *cat_names[BOUND_POST_TAGS * 4];
    size_t ncats;
    size_t comments;
};

enum ns { NS_NONE, NS_WP, NS_CONTENT, NS_EXCERPT, NS_DC, NS_OTHER };

/* Which namespace uri is: both http:// and https:// forms of
 * wordpress.org/export/1.x/ (and its excerpt/) are WordPress's. */
static enum ns ns_of(const xmlChar *uri)
{
    const char *u = (const char *)uri;

    if (!u || !*u)
        return NS_NONE;
    if (strncmp(u, "https://", 8) == 0)
        u += 8;
    else if (strncmp(u, "http://", 7) == 0)
        u += 7;
    else
        return NS_OTHER;
    if (strncmp(u, "wordpress.org/export/1.", 23) == 0 && u[23] >= '0' &&
        u[23] <= '9' && u[24] == '/')
        return strcmp(u + 25, "excerpt/") == 0 ? NS_EXCERPT
               : u[25] == '\0'                 ? NS_WP
                                               : NS_OTHER;
    if (strcmp(u, "purl.org/rss/1.0/modules/content/") == 0)
        return NS_CONTENT;
    if (strcmp(u, "purl.org/dc/elements/1.1/") == 0)
        return NS_DC;
    return NS_OTHER;
}

static int is(const xmlNode *n, enum ns ns, const char *name)
{
    return n->type == XML_ELEMENT_NODE &&
           ns_of(n->ns ? n->ns->href : NULL) == ns &&
           strcmp((const char *)n->name, name) == 0;
}

/* The text of n in a, trimmed; NULL when empty. */
static const char *text_of(struct arena *a, xmlNode *n)
{
    xmlChar *c = xmlNodeGetContent(n);
    const char *s = (const char *)c;
    const char *out = NULL;

    if (!c)
        return NULL;
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
        s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\n' ||
                   s[len - 1] == '\r' || s[len - 1] == '\t'))
        len--;
    if (len)
        out = arena_strndup(a, s, len);
    xmlFree(c);
    return out;
}

static void warn(struct wxr *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "newsroom: warning: ..." (the first WARNINGS_SHOWN) and counts. */
static void warn(struct wxr *w, const char *fmt, ...)
{
    va_list ap;

    w->warnings++;
    if (w->warnings > WARNINGS_SHOWN)
        return;
    if (w->tty)
        fputs("\r\033[K", stderr);
    fputs("newsroom: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Counts one item skipped for reason what (copied). */
static void skip(struct wxr *w, const char *what)
{
    for (size_t i = 0; i < w->nreasons; i++)
        if (strcmp(w->reasons[i].what, what) == 0) {
            w->reasons[i].n++;
            return;
        }
    if (w->nreasons == REASONS_MAX) {
        w->reasons[REASONS_MAX - 1].what = "other reasons";
        w->reasons[REASONS_MAX - 1].n++;
        return;
    }
    w->reasons[w->nreasons].what = arena_strdup(&w->run, what);
    w->reasons[w->nreasons++].n = 1;
}

/* Text cut to at most max bytes without splitting a UTF-8 sequence. */
static const char *cut(struct arena *a, const char *s, size_t max)
{
    size_t n;

    if (!s || strlen(s) <= max)
        return s;
    n = max;
    while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return arena_strndup(a, s, n);
}

/* "%e6%97%a5-x" -> the bytes; anything not a valid escape stays. */
static char *percent_decode(struct arena *a, const char *s)
{
    char *out = arena_alloc(a, strlen(s) + 1), *o = out;

    for (; *s; s++) {
        unsigned v;
        if (*s == '%' && s[1] && s[2] && sscanf(s + 1, "%2x", &v) == 1 &&
            strchr("0123456789abcdefABCDEF", s[1]) &&
            strchr("0123456789abcdefABCDEF", s[2])) {
            *o++ = (char)v;
            s += 2;
        } else
            *o++ = *s;
    }
    *o = '\0';
    return out;
}

/* --- bodies: WordPress HTML to Markdown --------------------------------- */

/* Elements that start a block: a chunk beginning with one is not wrapped. */
static const char *const blocks[] = {
    "p",       "div",    "h1",     "h2",     "h3",         "h4",
    "h5",      "h6",     "ul",     "ol",     "li",         "blockquote",
    "pre",     "table",  "thead",  "tbody",  "tr",         "td",
    "th",      "figure", "hr",     "dl",     "dt",         "dd",
    "section", "aside",  "header", "footer", "figcaption", "address",
    "iframe",  "script", "style",  "form",   "!--",        "audio",
    "video",   "object", "embed",  "nav",    "details",    "summary",
    NULL};

static int in_list(const char *const *list, const char *s, size_t n)
{
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == n && strncasecmp(list[i], s, n) == 0)
            return 1;
    return 0;
}

/* Copies src without WordPress block comments into a. */
static char *strip_blocks(struct arena *a, const char *src)
{
    size_t n = strlen(src);
    char *out = arena_alloc(a, n + 1);
    size_t o = 0;

    for (size_t i = 0; i < n;) {
        if (strncmp(src + i, "<!-- wp:", 8) == 0 ||
            strncmp(src + i, "<!-- /wp:", 9) == 0) {
            const char *end = strstr(src + i, "-->");
            if (end) {
                i = (size_t)(end - src) + 3;
                continue;
            }
        }
        out[o++] = src[i++];
    }
    out[o] = '\0';
    return out;
}

/* 1 when chunk (after leading white space) starts with a block tag. */
static int starts_block(const char *s)
{
    size_t n = 0;

    while (isspace((unsigned char)*s))
        s++;
    if (*s != '<')
        return 0;
    s++;
    if (*s == '/')
        s++;
    if (strncmp(s, "!--", 3) == 0)
        return 1;
    while (isalnum((unsigned char)s[n]))
        n++;
    return n && in_list(blocks, s, n);
}

/* Counts "<pre" opened minus "</pre" closed in s[0..n). */
static int pre_depth(const char *s, size_t n)
{
    int d = 0;

    for (size_t i = 0; i + 5 <= n; i++) {
        if (strncasecmp(s + i, "<pre", 4) == 0 &&
            (s[i + 4] == '>' || isspace((unsigned char)s[i + 4])))
            d++;
        else if (strncasecmp(s + i, "</pre", 5) == 0)
            d--;
    }
    return d;
}

/* 1 when the line break at t[i] (of n bytes) follows or precedes a block
 * tag: wpautop makes no <br> there. */
static int near_block(const char *t, size_t n, size_t i)
{
    size_t j = i;

    while (j && (t[j - 1] == ' ' || t[j - 1] == '\t' || t[j - 1] == '\r'))
        j--;
    if (j && t[j - 1] == '>') {
        size_t k = j - 1;
        while (k && t[k] != '<')
            k--;
        if (t[k] == '<' && starts_block(t + k))
            return 1;
    }
    return i + 1 < n && starts_block(t + i + 1);
}

/* wpautop, simplified: paragraphs from blank-line separated chunks. */
static char *autop(struct arena *a, const char *s)
{
    struct buf b;
    int pre = 0;

    buf_init(&b, 2 * WXR_BODY_MAX);
    while (*s) {
        const char *end = strstr(s, "\n\n");
        const char *q;
        size_t n;

        /* a blank line may hold spaces or \r */
        for (q = s; *q; q++) {
            if (*q == '\n') {
                const char *r = q + 1;
                while (*r == ' ' || *r == '\t' || *r == '\r')
                    r++;
                if (*r == '\n') {
                    end = q;
                    break;
                }
            }
        }
        if (!*q)
            end = NULL;
        n = end ? (size_t)(end - s) : strlen(s);
        const char *t = s;
        size_t tn = n;
        while (tn && isspace((unsigned char)*t))
            t++, tn--;
        while (tn && isspace((unsigned char)t[tn - 1]))
            tn--;
        if (tn) {
            if (pre > 0 || starts_block(t)) {
                buf_add(&b, t, tn);
            } else {
                buf_adds(&b, "<p>");
                for (size_t i = 0; i < tn; i++) {
                    if (t[i] == '\n' && !near_block(t, tn, i))
                        buf_adds(&b, "<br>\n");
                    else if (t[i] == '\n')
                        buf_addc(&b, '\n');
                    else if (t[i] != '\r')
                        buf_add(&b, t + i, 1);
                }
                buf_adds(&b, "</p>");
            }
            buf_adds(&b, "\n\n");
            pre += pre_depth(t, tn);
        }
        if (!end)
            break;
        s = end + 1;
        while (*s == '\n' || *s == ' ' || *s == '\t' || *s == '\r')
            s++;
    }
    char *out = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_release(&b);
    return out;
}

/* htmlmd_src_fn: a body image found under --images is shown from our
 * copy, else kept as it was (a missing or refused file is warned). */
static const char *body_src(void *ctx, struct arena *a, const char *src)
{
    struct wxr *w = ctx;
    char err[600];
    const char *ours =
        import_images_body_src(&w->local, w->st, a, src, err, sizeof err);

    if (*err)
        warn(w, "'%s': image %s", w->slug ? w->slug : "?", err);
    return ours;
}

/* The Markdown of a WordPress body (content:encoded, may be NULL) in a:
 * block comments removed, paragraphs wrapped (autop), then converted by
 * render/htmlmd.h (the Ghost import's converter: scripts, styles and
 * comments go, the rest keeps its structure or its text). NULL when the
 * HTML cannot be parsed or the Markdown outgrows 2 * WXR_BODY_MAX. */
static const char *body_markdown(struct wxr *w, struct arena *a,
                                 const char *src)
{
    const char *html = autop(a, strip_blocks(a, src ? src : ""));

    return htmlmd_convert_map(a, html, strlen(html), 2 * WXR_BODY_MAX, body_src,
                              w);
}

/* --- authors and tags --------------------------------------------------- */

/* The local author of WordPress login, made when new (name may be NULL).
 * 0 when there is none to be had. */
static int64_t author_id(struct wxr *w, struct arena *a, const char *login,
                         const char *name, const char *email)
{
    int64_t id = 0;
    struct store_author au;

    if (!login || !*login)
        return 0;
    if (store_import_map_get(w->st, SOURCE, "author", login, &id) == 0)
        return id;
    memset(&au, 0, sizeof au);
    au.name = cut(a, name && *name ? name : login, BOUND_FIELD_LEN);
    au.slug = str_slugify(a, au.name, 0);
    if (store_author_get_by_slug(w->st, a, au.slug, &au) != 0) {
        memset(&au, 0, sizeof au);
        au.name = cut(a, name && *name ? name : login, BOUND_FIELD_LEN);
        au.slug = str_slugify(a, au.name, 0);
        au.email = email && strchr(email, '@') ? email : NULL;
        if (store_author_save(w->st, &au) != 0) {
            warn(w, "cannot save author '%s'", login);
            return 0;
        }
        w->authors++;
    }
    if (store_import_map_put(w->st, SOURCE, "author", login, au.id) != 0)
        return 0;
    return au.id;
}

/* The local tag of slug (WordPress nicename), made when new. 0 when none
 * (or the default category "uncategorized"). */
static int64_t tag_id(struct wxr *w, struct arena *a, const char *nicename,
                      const char *name, const char *description)
{
    int64_t id = 0;
    struct store_tag t;
    const char *slug;

    if (!nicename || !*nicename)
        nicename = name;
    if (!nicename || !*nicename)
        return 0;
    slug = str_slugify(a, percent_decode(a, nicename), 0);
    if (strcmp(slug, "uncategorized") == 0)
        return 0;
    if (store_import_map_get(w->st, SOURCE, "tag", slug, &id) == 0)
        return id;
    memset(&t, 0, sizeof t);
    if (store_tag_get_by_slug(w->st, a, slug, &t) != 0) {
        memset(&t, 0, sizeof t);
        t.slug = slug;
        t.name = cut(a, name && *name ? name : nicename, BOUND_FIELD_LEN);
        t.description = description;
        t.kind = STORE_TAG_TAG;
        if (store_tag_save(w->st, &t) != 0) {
            warn(w, "cannot save tag '%s'", slug);
            return 0;
        }
        w->tags++;
    }
    if (store_import_map_put(w->st, SOURCE, "tag", slug, t.id) != 0)
        return 0;
    return t.id;
}

static void channel_author(struct wxr *w, struct arena *a, xmlNode *n)
{
    const char *login = NULL, *name = NULL, *email = NULL;

    for (xmlNode *c = n->children; c; c = c->next) {
        if (is(c, NS_WP, "author_login"))
            login = text_of(a, c);
        else if (is(c, NS_WP, "author_display_name"))
            name = text_of(a, c);
        else if (is(c, NS_WP, "author_email"))
            email = text_of(a, c);
    }
    if (!login) {
        warn(w, "an author without a login is left out");
        return;
    }
    author_id(w, a, login, name, email);
}

static void channel_term(struct wxr *w, struct arena *a, xmlNode *n)
{
    const char *slug = NULL, *name = NULL, *desc = NULL;

    for (xmlNode *c = n->children; c; c = c->next) {
        if (is(c, NS_WP, "category_nicename") || is(c, NS_WP, "tag_slug"))
            slug = text_of(a, c);
        else if (is(c, NS_WP, "cat_name") || is(c, NS_WP, "tag_name"))
            name = text_of(a, c);
        else if (is(c, NS_WP, "category_description") ||
                 is(c, NS_WP, "tag_description"))
            desc = text_of(a, c);
    }
    tag_id(w, a, slug, name, desc);
}

/* --- items -------------------------------------------------------------- */

static void read_item(struct arena *a, xmlNode *n, struct item *it)
{
    memset(it, 0, sizeof *it);
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is(c, NS_NONE, "title"))
            it->title = text_of(a, c);
        else if (is(c, NS_NONE, "link"))
            it->link = text_of(a, c);
        else if (is(c, NS_NONE, "guid"))
            it->guid = text_of(a, c);
        else if (is(c, NS_DC, "creator"))
            it->creator = text_of(a, c);
        else if (is(c, NS_CONTENT, "encoded"))
            it->content = text_of(a, c);
        else if (is(c, NS_EXCERPT, "encoded"))
            it->excerpt = text_of(a, c);
        else if (is(c, NS_WP, "post_id"))
            it->id = text_of(a, c);
        else if (is(c, NS_WP, "post_date"))
            it->date = text_of(a, c);
        else if (is(c, NS_WP, "post_date_gmt"))
            it->date_gmt = text_of(a, c);
        else if (is(c, NS_WP, "post_name"))
            it->name = text_of(a, c);
        else if (is(c, NS_WP, "status"))
            it->status = text_of(a, c);
        else if (is(c, NS_WP, "post_type"))
            it->type = text_of(a, c);
        else if (is(c, NS_WP, "attachment_url"))
            it->attachment_url = text_of(a, c);
        else if (is(c, NS_WP, "is_sticky")) {
            const char *s = text_of(a, c);
            it->sticky = s && strcmp(s, "1") == 0;
        } else if (is(c, NS_WP, "comment"))
            it->comments++;
        else if (is(c, NS_NONE, "category")) {
            xmlChar *dom = xmlGetProp(c, (const xmlChar *)"domain");
            xmlChar *nice = xmlGetProp(c, (const xmlChar *)"nicename");
            /* hand-made exports leave the domain out: a category */
            if ((!dom || strcmp((const char *)dom, "category") == 0 ||
                 strcmp((const char *)dom, "post_tag") == 0) &&
                it->ncats < sizeof it->cats / sizeof it->cats[0]) {
                it->cats[it->ncats] =
                    nice ? arena_strdup(a, (const char *)nice) : NULL;
                it->cat_names[it->ncats++] = text_of(a, c);
            }
            xmlFree(dom);
            xmlFree(nice);
        } else if (is(c, NS_WP, "postmeta")) {
            const char *key = NULL, *val = NULL;
            for (xmlNode *m = c->children; m; m = m->next) {
                if (is(m, NS_WP, "meta_key"))
                    key = text_of(a, m);
                else if (is(m, NS_WP, "meta_value"))
                    val = text_of(a, m);
            }
            if (key && val && strcmp(key, "_thumbnail_id") == 0)
                it->thumbnail = val;
            else if (key && val && strcmp(key, "_wp_attachment_image_alt") == 0)
                it->alt = val;
        }
    }
}

/* Unix time of "YYYY-MM-DD HH:MM:SS" in UTC (gmt) or in the site's zone;
 * 0 for WordPress's "0000-00-00 00:00:00" or anything unreadable. */
static int64_t parse_date(struct wxr *w, const char *s, int gmt)
{
    struct tm tm;
    char *end;

    if (!s)
        return 0;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    if (!end || tm.tm_year < 1 || tm.tm_mon < 0)
        return 0;
    if (gmt)
        return (int64_t)timegm(&tm);
    tm.tm_isdst = -1;
    setenv("TZ", w->cfg.timezone[0] ? w->cfg.timezone : "UTC", 1);
    tzset();
    time_t t = mktime(&tm);
    setenv("TZ", "UTC", 1);
    tzset();
    return t == (time_t)-1 ? 0 : (int64_t)t;
}

/* An attachment: the image from --images when it is there, else an
 * image row keeping its URL; for feature images. */
static int attachment(struct wxr *w, struct arena *a, const struct item *it)
{
    struct store_image img;
    char err[600];
    int64_t id;

    if (!it->attachment_url) {
        skip(w, "attachment without a URL");
        return 0;
    }
    if (store_import_map_get(w->st, SOURCE, "image", it->id, &id) == 0) {
        w->again++;
        return 0;
    }
    memset(&img, 0, sizeof img);
    int r = import_images_take(&w->local, w->st, a, it->attachment_url,
                               cut(a, it->alt, BOUND_FIELD_LEN), &img.id, err,
                               sizeof err);
    if (r < 0)
        warn(w, "attachment %s: image %s", it->id, err);
    if (r != 0 &&
        store_image_get_by_name(w->st, a, it->attachment_url, &img) != 0) {
        memset(&img, 0, sizeof img);
        img.name = cut(a, it->attachment_url, BOUND_URL_LEN);
        img.widths = "";
        img.formats = "";
        img.alt = cut(a, it->alt, BOUND_FIELD_LEN);
        if (store_image_save(w->st, &img) != 0)
            return -1;
    }
    if (store_import_map_put(w->st, SOURCE, "image", it->id, img.id) != 0)
        return -1;
    w->images++;
    return 0;
}

/* The path of an absolute or relative URL ("/2024/05/x/"), or NULL. */
static const char *url_path(struct arena *a, const char *url)
{
    const char *p = url;
    const char *s = strstr(url, "://");

    if (s) {
        p = strchr(s + 3, '/');
        if (!p)
            return NULL;
    }
    if (*p != '/')
        return NULL;
    size_t n = strcspn(p, "#");
    return n < BOUND_URL_LEN ? arena_strndup(a, p, n) : NULL;
}

static int redirect(struct wxr *w, const char *from, const char *to)
{
    if (!from || strcmp(from, to) == 0 || strcmp(from, "/") == 0)
        return 0;
    if (store_redirect_put(w->st, from, to) != 0)
        return -1;
    w->redirects++;
    return 0;
}

/* s without tags and with white space collapsed (an excerpt), in a. */
static const char *untag(struct arena *a, const char *s)
{
    char *out = arena_alloc(a, strlen(s) + 1), *o = out;
    int in_tag = 0;

    for (; *s; s++) {
        if (*s == '<')
            in_tag = 1;
        else if (*s == '>' && in_tag)
            in_tag = 0;
        else if (!in_tag) {
            int space = *s == ' ' || *s == '\n' || *s == '\t' || *s == '\r';
            if (space && (o == out || o[-1] == ' '))
                continue;
            *o++ = space ? ' ' : *s;
        }
    }
    *o = '\0';
    return out;
}

/* A slug for the item no other post holds. */
static const char *free_slug(struct wxr *w, struct arena *a,
                             const struct item *it)
{
    struct store_post other;
    const char *slug = NULL;

    if (it->name) {
        char *d = percent_decode(a, it->name);
        slug = str_slug_valid(d) ? d : str_slugify(a, d, 0);
    } else
        slug = str_slugify(a, it->title ? it->title : "untitled", 0);
    if (store_post_get_by_slug(w->st, a, slug, &other) != 0)
        return slug;
    const char *alt =
        arena_printf(a, "%.*s-%s", BOUND_SLUG_LEN - 22, slug, it->id);
    warn(w, "slug '%s' is taken: the post is at '%s'", slug, alt);
    return alt;
}

/* Imports a post or page; 0, or -1 with the reason counted. */
static int post(struct wxr *w, struct arena *a, const struct item *it, int page)
{
    struct store_post p;
    const char *md;
    int64_t authors[1], tags[BOUND_POST_TAGS], img = 0, t;
    size_t nauthors = 0, ntags = 0;

    memset(&p, 0, sizeof p);
    if (!it->status || strcmp(it->status, "publish") == 0)
        p.status = STORE_POST_PUBLISHED;
    else if (strcmp(it->status, "future") == 0)
        p.status = STORE_POST_SCHEDULED;
    else if (strcmp(it->status, "draft") == 0 ||
             strcmp(it->status, "pending") == 0 ||
             strcmp(it->status, "private") == 0)
        p.status = STORE_POST_DRAFT;
    else {
        skip(w, arena_printf(a, "status '%.40s'", it->status));
        return 0;
    }
    if (it->content && strlen(it->content) > WXR_BODY_MAX) {
        skip(w, "body larger than the limit");
        return 0;
    }
    if (it->title && !str_utf8_valid(it->title, strlen(it->title))) {
        skip(w, "title is not UTF-8");
        return 0;
    }
    w->slug = it->name && *it->name ? it->name : it->id; /* for warnings */
    md = body_markdown(w, a, it->content);
    if (!md) {
        skip(w, "body cannot be read as HTML");
        return 0;
    }
    if (strlen(md) > BOUND_MARKDOWN) {
        skip(w, "body larger than the limit");
        return 0;
    }
    p.slug = free_slug(w, a, it);
    p.title = cut(a, it->title ? it->title : "(no title)", BOUND_TITLE_LEN);
    p.markdown = md;
    p.language = w->lang ? w->lang : "en";
    p.featured = it->sticky;
    if (it->excerpt)
        p.excerpt = md_excerpt(a, untag(a, it->excerpt), 300);
    p.created_at = parse_date(w, it->date_gmt, 1);
    if (!p.created_at)
        p.created_at = parse_date(w, it->date, 0);
    if (!p.created_at)
        p.created_at = (int64_t)time(NULL);
    p.published_at = p.status == STORE_POST_DRAFT ? 0 : p.created_at;
    if (it->thumbnail &&
        store_import_map_get(w->st, SOURCE, "image", it->thumbnail, &img) == 0)
        p.feature_image_id = img;
    t = author_id(w, a, it->creator, NULL, NULL);
    if (t)
        authors[nauthors++] = t;
    if (page) {
        if (!w->page_tag)
            w->page_tag = tag_id(w, a, "page", "Page", NULL);
        if (w->page_tag)
            tags[ntags++] = w->page_tag;
    }
    for (size_t i = 0; i < it->ncats; i++) {
        t = tag_id(w, a, it->cats[i], it->cat_names[i], NULL);
        int dup = 0;
        for (size_t j = 0; j < ntags; j++)
            dup |= tags[j] == t;
        if (!t || dup)
            continue;
        if (ntags == BOUND_POST_TAGS) {
            warn(w,
                 "post '%s' has more tags than newsroom keeps (%d); "
                 "some are left off",
                 p.slug, BOUND_POST_TAGS);
            break;
        }
        tags[ntags++] = t;
    }
    int rc = post_save(w->st, a, &p, authors, nauthors, tags, ntags, 0);
    if (rc == STORE_CONFLICT) {
        skip(w, "slug taken");
        return 0;
    }
    if (rc != 0 ||
        store_import_map_put(w->st, SOURCE, "post", it->id, p.id) != 0)
        return -1;
    const char *to = arena_printf(a, "/%s/", p.slug);
    const char *old = it->link ? url_path(a, it->link) : NULL;
    const char *plain =
        strspn(it->id, "0123456789") == strlen(it->id)
            ? arena_printf(a, "/?%s=%s", page ? "page_id" : "p", it->id)
            : NULL;
    if (redirect(w, old, to) < 0 ||
        (plain && (!old || strcmp(old, plain) != 0) &&
         redirect(w, plain, to) < 0))
        return -1;
    if (it->thumbnail && !img) {
        if (w->npend == w->cappend) {
            w->cappend = w->cappend ? 2 * w->cappend : 64;
            w->pend = realloc(w->pend, w->cappend * sizeof *w->pend);
            if (!w->pend)
                abort();
        }
        w->pend[w->npend].post_id = p.id;
        snprintf(w->pend[w->npend++].attachment, ID_LEN, "%s", it->thumbnail);
    }
    if (page)
        w->pages++;
    else
        w->posts++;
    return 0;
}

/* An id for an item without wp:post_id (hand-made exports): the number
 * of a "?p=123" guid or link, else the guid or link itself. */
static const char *id_of(const struct item *it)
{
    const char *u = it->guid ? it->guid : it->link;
    const char *q;

    if (!u || strlen(u) > BOUND_FIELD_LEN)
        return NULL;
    q = strstr(u, "?p=");
    if (!q)
        q = strstr(u, "&p=");
    if (q && q[3] && strspn(q + 3, "0123456789") == strlen(q + 3) &&
        strlen(q + 3) < 20)
        return q + 3;
    return u;
}

static void item(struct wxr *w, struct arena *a, xmlNode *n)
{
    struct item it;
    int64_t id;
    int rc = 0;

    read_item(a, n, &it);
    w->items++;
    w->comments += it.comments;
    if (!it.id)
        it.id = id_of(&it);
    if (!it.id) {
        skip(w, "no wp:post_id, guid or link");
        return;
    }
    if (!it.type)
        it.type = "post";
    int page = strcmp(it.type, "page") == 0;
    if (strcmp(it.type, "attachment") != 0 && !page &&
        strcmp(it.type, "post") != 0) {
        skip(w, arena_printf(a, "post type '%.40s'", it.type));
        return;
    }
    if (!page && strcmp(it.type, "post") != 0) {
        if (store_tx_begin(w->st) != 0)
            goto fail;
        rc = attachment(w, a, &it);
    } else {
        if (store_import_map_get(w->st, SOURCE, "post", it.id, &id) == 0) {
            w->again++;
            return;
        }
        if (store_tx_begin(w->st) != 0)
            goto fail;
        rc = post(w, a, &it, page);
    }
    if (rc == 0 && store_tx_commit(w->st) == 0)
        return;
    store_tx_rollback(w->st);
    w->page_tag = 0; /* it may have been made in the rolled back write */
fail:
    skip(w, "database error (see the log)");
}

/* Posts whose attachment came after them get their feature image now. */
static void resolve_pending(struct wxr *w)
{
    for (size_t i = 0; i < w->npend; i++) {
        struct arena a;
        struct store_post p;
        int64_t img, au[BOUND_POST_AUTHORS], tg[BOUND_POST_TAGS];
        size_t na = 0, nt = 0;

        if (store_import_map_get(w->st, SOURCE, "image", w->pend[i].attachment,
                                 &img) != 0) {
            warn(w, "feature image (attachment %s) not in the file",
                 w->pend[i].attachment);
            continue;
        }
        arena_init(&a);
        if (store_post_get(w->st, &a, w->pend[i].post_id, &p) == 0) {
            for (size_t j = 0; j < p.nauthors && na < BOUND_POST_AUTHORS; j++)
                au[na++] = p.authors[j].id;
            for (size_t j = 0; j < p.ntags && nt < BOUND_POST_TAGS; j++)
                tg[nt++] = p.tags[j].id;
            p.feature_image_id = img;
            if (store_post_save(w->st, &p, au, na, tg, nt) != 0)
                warn(w, "cannot set the feature image of '%s'", p.slug);
        }
        arena_release(&a);
    }
}

/* --- the stream --------------------------------------------------------- */

static void on_xml_error(void *arg, xmlErrorPtr e)
{
    struct wxr *w = arg;
    size_t n;

    if (!e || e->level < XML_ERR_ERROR || w->xml_failed)
        return;
    w->xml_failed = 1;
    w->line = e->line;
    w->column = e->int2;
    snprintf(w->xml_msg, sizeof w->xml_msg, "%s",
             e->message ? e->message : "not well-formed");
    n = strlen(w->xml_msg);
    while (n && (w->xml_msg[n - 1] == '\n' || w->xml_msg[n - 1] == ' '))
        w->xml_msg[--n] = '\0';
}

static void progress(struct wxr *w, xmlTextReaderPtr r)
{
    long consumed = xmlTextReaderByteConsumed(r);

    if (!w->tty || w->items % PROGRESS_EVERY)
        return;
    fprintf(stderr, "\r\033[Kimporting: %zu items, %lld%%", w->items,
            w->size > 0 ? (long long)consumed * 100 / w->size : 0);
}

/* Reads the channel element by element. 0 at the end, -1 when the XML
 * broke (w->line, w->column) or is not a WordPress export. */
static int stream(struct wxr *w, xmlTextReaderPtr r)
{
    int ret = xmlTextReaderRead(r);

    while (ret == 1) {
        int depth = xmlTextReaderDepth(r);
        const char *ln = (const char *)xmlTextReaderConstLocalName(r);
        enum ns ns = ns_of(xmlTextReaderConstNamespaceUri(r));

        if (xmlTextReaderNodeType(r) != XML_READER_TYPE_ELEMENT) {
            ret = xmlTextReaderRead(r);
            continue;
        }
        if (depth == 0 && (ns != NS_NONE || strcmp(ln, "rss") != 0)) {
            snprintf(w->xml_msg, sizeof w->xml_msg,
                     "not a WordPress export: the root element is '%.40s', "
                     "not 'rss'",
                     ln);
            return -1;
        }
        if (depth != 2) {
            ret = xmlTextReaderRead(r);
            continue;
        }
        int known =
            (ns == NS_NONE && strcmp(ln, "item") == 0) ||
            (ns == NS_WP &&
             (strcmp(ln, "author") == 0 || strcmp(ln, "category") == 0 ||
              strcmp(ln, "tag") == 0 || strcmp(ln, "wxr_version") == 0)) ||
            (ns == NS_NONE && strcmp(ln, "language") == 0);
        if (!known) {
            ret = xmlTextReaderNext(r);
            continue;
        }
        xmlNode *n = xmlTextReaderExpand(r);
        if (!n)
            return -1;
        struct arena a;
        arena_init(&a);
        if (strcmp(ln, "wxr_version") == 0)
            w->saw_version = 1;
        else if (strcmp(ln, "language") == 0) {
            const char *l = text_of(&a, n);
            if (l && strlen(l) < 36 &&
                strspn(l, "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789-") == strlen(l))
                w->lang = arena_strdup(&w->run, l);
        } else if (!w->saw_version) {
            arena_release(&a);
            snprintf(w->xml_msg, sizeof w->xml_msg,
                     "not a WordPress export: no wp:wxr_version before the "
                     "first item (line %d)",
                     xmlTextReaderGetParserLineNumber(r));
            return -1;
        } else if (strcmp(ln, "item") == 0) {
            item(w, &a, n);
            progress(w, r);
        } else if (strcmp(ln, "author") == 0)
            channel_author(w, &a, n);
        else
            channel_term(w, &a, n);
        arena_release(&a);
        ret = xmlTextReaderNext(r);
    }
    if (ret < 0 || w->xml_failed)
        return -1;
    if (!w->saw_version) {
        snprintf(w->xml_msg, sizeof w->xml_msg, "%s",
                 "not a WordPress export: no wp:wxr_version in the channel");
        return -1;
    }
    return 0;
}

static void summary(const struct wxr *w, int broken)
{
    size_t skipped = 0;

    for (size_t i = 0; i < w->nreasons; i++)
        skipped += w->reasons[i].n;
    printf("imported from %s:\n", w->file);
    printf("  %zu posts, %zu pages (tagged \"page\")\n", w->posts, w->pages);
    printf("  %zu authors, %zu tags, %zu images, %zu redirects\n", w->authors,
           w->tags, w->images, w->redirects);
    if (w->local.folder)
        printf("  %zu images taken from '%s' (the rest keep their URLs)\n",
               w->local.taken, w->local.folder);
    else
        printf("  image URLs kept (--images FOLDER takes them from "
               "wp-content/uploads)\n");
    printf("  %zu items read, %zu already imported before\n", w->items,
           w->again);
    printf("  %zu skipped%s\n", skipped, skipped ? ":" : "");
    for (size_t i = 0; i < w->nreasons; i++)
        printf("    %zu %s\n", w->reasons[i].n, w->reasons[i].what);
    printf("  %zu comments not imported\n", w->comments);
    printf("  %zu warnings\n", w->warnings);
    if (broken)
        printf("the import stopped at an error (below); everything listed "
               "above was imported\n");
    fflush(stdout);
}

int cli_import_wxr(int argc, char **argv)
{
    struct wxr w;
    struct stat sb;
    const char *dir = NULL, *file = NULL, *images;
    char err[512];
    xmlTextReaderPtr r = NULL;
    int rc;

    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    rc = import_images_arg("import wxr", &argc, argv, &images);
    if (!rc)
        rc = cli_dir_file("import wxr", argc, argv, NULL, NULL, &dir, &file);
    if (rc)
        return rc;
    if (stat(file, &sb) != 0)
        return cli_fail("cannot open '%s': %s", file, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return cli_fail("cannot import '%s': not a regular file", file);
    memset(&w, 0, sizeof w);
    w.file = file;
    w.size = (long long)sb.st_size;
    w.tty = isatty(2);
    w.st = site_open(dir, &w.cfg, err, sizeof err);
    if (!w.st)
        return cli_fail("%s", err);
    arena_init(&w.run);
    if (import_images_open(&w.local, dir, images, "/wp-content/uploads/",
                           SOURCE) < 0) {
        store_close(w.st);
        return cli_fail("import wxr: cannot start the image library");
    }
    r = xmlReaderForFile(file, NULL, XML_PARSE_NONET | XML_PARSE_NOCDATA);
    if (!r) {
        import_images_close(&w.local);
        arena_release(&w.run);
        store_close(w.st);
        return cli_fail("cannot read '%s'", file);
    }
    xmlTextReaderSetStructuredErrorHandler(r, on_xml_error, &w);
    rc = stream(&w, r);
    xmlFreeTextReader(r);
    resolve_pending(&w);
    if (w.tty)
        fputs("\r\033[K", stderr);
    summary(&w, rc != 0);
    import_images_close(&w.local);
    free(w.pend);
    arena_release(&w.run);
    store_close(w.st);
    if (rc == 0)
        return 0;
    if (w.xml_failed)
        return cli_fail("broken XML in '%s' at line %d, column %d: %s (the "
                        "%zu items before it were imported; fix the file "
                        "and run the import again)",
                        file, w.line, w.column, w.xml_msg, w.items);
    return cli_fail("cannot import '%s': %s", file,
                    w.xml_msg[0] ? w.xml_msg : "the XML cannot be read");
}
