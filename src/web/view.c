/*
 * view.c - turns store rows into the template data docs/theme.md
 * describes. Every object is a jansson value; a page's root is tied to the
 * request arena by render_page(), so nothing here frees.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "content/post.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/buf.h"
#include "core/log.h"
#include "render/date.h"
#include "web/app.h"
#include "web/feeds.h"

#define FEED_ITEMS 10 /* live updates shown in the News Feed box */
#define SIZES_DEFAULT "(min-width: 1100px) 960px, 100vw"

char *view_date(struct arena *a, int64_t t, int with_time)
{
    char buf[64];
    if (with_time == 2)
        date_format_iso((time_t)t, buf, sizeof buf);
    else if (with_time == 3)
        date_format_time((time_t)t, buf, sizeof buf);
    else if (with_time)
        date_format_long((time_t)t, buf, sizeof buf);
    else
        date_format_day((time_t)t, buf, sizeof buf);
    return arena_strdup(a, buf);
}

/* Rewrites every < > & of JSON text as its \u escape. json_dumps leaves
 * those characters only inside strings, where the escape means the same;
 * without them the text could end its <script> element ("</script") or
 * confuse the HTML parser ("<!--"). */
char *view_jsonld(struct arena *a, json_t *o)
{
    struct buf b;
    char *json = o ? json_dumps(o, JSON_COMPACT) : NULL;

    if (!json)
        return NULL;
    buf_init(&b, BOUND_PAGE_BYTES);
    for (const char *p = json; *p; p++) {
        if (*p == '<')
            buf_adds(&b, "\\u003c");
        else if (*p == '>')
            buf_adds(&b, "\\u003e");
        else if (*p == '&')
            buf_adds(&b, "\\u0026");
        else
            buf_addc(&b, *p);
    }
    free(json);
    char *r = b.overflow ? NULL : arena_strdup(a, b.data ? b.data : "{}");
    buf_release(&b);
    return r;
}

/* Appends "URL W" pairs of one format to a srcset. */
static json_t *srcset(const struct store_image *img, const char *fmt)
{
    char out[1024];
    size_t used = 0;
    const char *w = img->widths;

    out[0] = '\0';
    while (w && *w) {
        unsigned width = (unsigned)strtoul(w, NULL, 10);
        used += (size_t)snprintf(out + used, sizeof out - used,
                                 "%s/media/%s-%u.%s %uw", used ? ", " : "",
                                 img->name, width, fmt, width);
        if (used >= sizeof out)
            break;
        w = strchr(w, ',');
        w = w ? w + 1 : NULL;
    }
    return json_string(out);
}

json_t *view_image(const struct store_image *img, const char *alt,
                   const char *sizes)
{
    unsigned pick = 0;
    const char *w = img ? img->widths : NULL;
    char src[512];

    if (!img || !img->name || !img->width)
        return json_null();
    /* the src fallback: the largest variant up to 960 px */
    while (w && *w) {
        unsigned width = (unsigned)strtoul(w, NULL, 10);
        if (!pick || width <= 960)
            pick = width;
        w = strchr(w, ',');
        w = w ? w + 1 : NULL;
    }
    unsigned h = (unsigned)((double)img->height * pick / img->width + 0.5);
    snprintf(src, sizeof src, "/media/%s-%u.jpg", img->name, pick);
    return json_pack("{s:s, s:i, s:i, s:s, s:o, s:o, s:s}", "src", src, "width",
                     (json_int_t)pick, "height", (json_int_t)h, "alt",
                     alt ? alt : (img->alt ? img->alt : ""), "srcset_webp",
                     srcset(img, "webp"), "srcset_jpg", srcset(img, "jpg"),
                     "sizes", sizes ? sizes : SIZES_DEFAULT);
}

static json_t *authors_json(struct arena *a, const struct store_post *p)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < p->nauthors; i++) {
        const struct store_author *au = &p->authors[i];
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s?, s:b}", "name", au->name, "url",
                           arena_printf(a, "/author/%s/", au->slug), "role",
                           au->role, "last", i + 1 == p->nauthors));
    }
    return arr;
}

json_t *view_card(struct web_app *app, struct arena *a,
                  const struct store_post *p)
{
    (void)app;
    json_t *c = json_pack(
        "{s:s, s:s, s:s, s:s?, s:s?, s:o, s:s, s:s, s:i}", "url",
        arena_printf(a, "/%s/", p->slug), "slug", p->slug, "title", p->title,
        "standfirst", p->standfirst && *p->standfirst ? p->standfirst : NULL,
        "excerpt", p->excerpt, "authors", authors_json(a, p), "date_iso",
        view_date(a, p->published_at, 2), "date_label",
        view_date(a, p->published_at, 0), "reading_minutes",
        (json_int_t)p->reading_minutes);
    if (p->ntags && p->tags[0].kind == STORE_TAG_SECTION)
        json_object_set_new(
            c, "section",
            json_pack("{s:s, s:s}", "name", p->tags[0].name, "url",
                      arena_printf(a, "/section/%s/", p->tags[0].slug)));
    if (p->feature_image)
        json_object_set_new(c, "image",
                            view_image(p->feature_image, p->feature_alt, NULL));
    return c;
}

json_t *view_cards(struct web_app *app, struct arena *a,
                   const struct store_post *p, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, view_card(app, a, &p[i]));
    return arr;
}

json_t *view_pagination(struct arena *a, const char *base, size_t page,
                        size_t pages)
{
    json_t *o = json_pack("{s:i, s:i}", "page", (json_int_t)page, "pages",
                          (json_int_t)(pages ? pages : 1));
    if (page > 1)
        json_object_set_new(
            o, "prev_url",
            json_string(page == 2
                            ? base
                            : arena_printf(a, "%s?page=%zu", base, page - 1)));
    if (page < pages)
        json_object_set_new(
            o, "next_url",
            json_string(arena_printf(a, "%s?page=%zu", base, page + 1)));
    return o;
}

static json_t *nav_json(struct web_app *app, struct arena *a,
                        const char *current)
{
    struct store_tag *tags = NULL;
    size_t n = 0;
    json_t *arr = json_array();

    if (store_tags_list(app->st, a, STORE_TAG_SECTION, &tags, &n) != 0)
        return arr;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:b}", "name", tags[i].name, "url",
                      arena_printf(a, "/section/%s/", tags[i].slug), "current",
                      current && strcmp(current, tags[i].slug) == 0));
    return arr;
}

static json_t *newsletters_json(struct web_app *app, struct arena *a)
{
    struct store_newsletter *nl = NULL;
    struct store_author *au = NULL;
    size_t n = 0, nau = 0;
    json_t *arr = json_array();

    if (store_newsletters_list(app->st, a, 1, &nl, &n) != 0)
        return arr;
    if (n)
        store_authors_list(app->st, a, &au, &nau);
    for (size_t i = 0; i < n; i++) {
        const char *author = NULL;
        for (size_t j = 0; j < nau; j++)
            if (au[j].id == nl[i].author_id)
                author = au[j].name;
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s}", "slug", nl[i].slug,
                      "name", nl[i].name, "description", nl[i].description,
                      "author_name", author, "action",
                      arena_printf(a, "/newsletters/%s/subscribe", nl[i].slug),
                      "id", arena_printf(a, "nl-%s", nl[i].slug)));
    }
    return arr;
}

json_t *view_live(struct web_app *app, struct arena *a,
                  const struct store_live *lu)
{
    json_t *u = json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id",
        (json_int_t)lu->id, "anchor",
        arena_printf(a, "update-%lld", (long long)lu->id), "permalink",
        arena_printf(a, "/news-feed/%lld/", (long long)lu->id), "time_iso",
        view_date(a, lu->at, 2), "time_label", view_date(a, lu->at, 3),
        "date_label", view_date(a, lu->at, 0), "headline", lu->headline, "html",
        lu->html ? lu->html : "", "key", lu->key);
    if (lu->updated_at && lu->updated_at >= lu->at)
        json_object_set_new(
            u, "updated_label",
            json_string(arena_printf(a, "Updated %s",
                                     view_date(a, lu->updated_at, 3))));
    struct store_post p;
    if (lu->link_slug && *lu->link_slug &&
        store_post_get_by_slug(app->st, a, lu->link_slug, &p) == STORE_OK &&
        post_is_public(&p, (int64_t)time(NULL)))
        json_object_set_new(u, "link",
                            json_pack("{s:s, s:s}", "url",
                                      arena_printf(a, "/%s/", p.slug), "title",
                                      p.title));
    return u;
}

static json_t *newsfeed_json(struct web_app *app, struct arena *a)
{
    struct store_live *lu = NULL;
    size_t n = 0;
    json_t *arr = json_array();
    /* read the log position first: an update committed after it is
       replayed to the page's stream rather than missed */
    int64_t seq = store_live_last_seq(app->st);

    if (store_live_list(app->st, a, 0, FEED_ITEMS, &lu, &n) != 0)
        n = 0;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, view_live(app, a, &lu[i]));
    return json_pack("{s:o, s:I, s:s, s:s}", "updates", arr, "last_seq",
                     (json_int_t)(seq > 0 ? seq : 0), "url", "/news-feed/",
                     "stream_url", "/live/events");
}

json_t *view_page(struct web_app *app, struct arena *a, const char *title,
                  const char *description, const char *path,
                  const char *section, int is_home)
{
    const struct config *c = &app->cfg;
    time_t now = time(NULL);
    struct tm tm;
    json_t *assets = json_object();

    localtime_r(&now, &tm);
    const char *names[][2] = {
        {"css", "site.css"}, {"js", "site.js"}, {"icon", "favicon.svg"}};
    for (size_t i = 0; i < 3; i++) {
        const char *u = files_asset_url(app, names[i][1]);
        if (u)
            json_object_set_new(assets, names[i][0], json_string(u));
    }
    json_t *site =
        json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o}", "title", c->title,
                  "description", c->description, "url", c->url, "language",
                  c->language, "year", (json_int_t)(tm.tm_year + 1900), "nav",
                  nav_json(app, a, section), "assets", assets, "newsletters",
                  newsletters_json(app, a));
    json_t *page = json_pack(
        "{s:s, s:s, s:s, s:s, s:b}", "title",
        title ? arena_printf(a, "%s - %s", title, c->title) : c->title,
        "description",
        description && *description ? description : c->description, "canonical",
        arena_printf(a, "%s%s", c->url, path), "type", "website", "is_home",
        is_home);
    /* autodiscovery: the section's/tag's/author's feeds, then the site's */
    json_object_set_new(page, "feeds", feeds_links(c, a, path, title));
    return json_pack("{s:o, s:o, s:o}", "site", site, "page", page, "newsfeed",
                     newsfeed_json(app, a));
}
