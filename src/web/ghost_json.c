/*
 * ghost_json.c - the JSON shapes of the Content API's resources, member
 * for member as Ghost 5 writes them (docs/content-api.md): posts, authors,
 * tags, newsletters, tiers and settings. Members Ghost has and newsroom
 * does not (code injection, social images) are there with null, so a
 * client that reads them finds what Ghost would send for an unset value.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "web/app.h"
#include "web/ghost_api.h"

const char *ghost_id(struct arena *a, int64_t id)
{
    return arena_printf(a, "%024llx", (unsigned long long)id);
}

int64_t ghost_id_parse(const char *s)
{
    int64_t v = 0;

    if (strlen(s) != 24)
        return -1;
    for (size_t i = 0; i < 24; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0 || (i < 9 && d != 0))
            return -1;
        v = v * 16 + d;
    }
    return v > 0 ? v : -1;
}

json_t *ghost_date(int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    char s[40];

    if (t <= 0 || !gmtime_r(&tt, &tm))
        return json_null();
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S.000+00:00", &tm);
    return json_string(s);
}

const char *ghost_uuid(struct arena *a, const char *key, const char *kind,
                       int64_t id)
{
    unsigned char h[16];
    char msg[64];

    snprintf(msg, sizeof msg, "%s:%lld", kind, (long long)id);
    crypto_generichash(h, sizeof h, (const unsigned char *)msg, strlen(msg),
                       (const unsigned char *)key, key ? strlen(key) : 0);
    return ghost_uuid_of(a, h);
}

const char *ghost_uuid_of(struct arena *a, unsigned char h[16])
{
    h[6] = (unsigned char)((h[6] & 0x0f) | 0x40); /* version 4 (RFC 9562) */
    h[8] = (unsigned char)((h[8] & 0x3f) | 0x80); /* variant 10 */
    return arena_printf(
        a,
        "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
        h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10],
        h[11], h[12], h[13], h[14], h[15]);
}

/* A string or json null. */
static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static const char *site_url(const struct ghost_view *v)
{
    return v->app->cfg.url;
}

/* The absolute URL of an image: its largest variant, in jpg when there is
 * one; json null without an image. */
static json_t *image_url(const struct ghost_view *v,
                         const struct store_image *img)
{
    unsigned best = 0;
    const char *w, *fmt = "jpg";

    if (!img || !img->name)
        return json_null();
    for (w = img->widths; w && *w;) {
        unsigned x = (unsigned)strtoul(w, NULL, 10);
        if (x > best)
            best = x;
        w = strchr(w, ',');
        w = w ? w + 1 : NULL;
    }
    if (img->formats && !strstr(img->formats, "jpg")) {
        const char *comma = strchr(img->formats, ',');
        fmt = comma ? arena_strndup(v->a, img->formats,
                                    (size_t)(comma - img->formats))
                    : img->formats;
    }
    if (!best)
        best = img->width;
    return json_string(arena_printf(v->a, "%s/media/%s-%u.%s", site_url(v),
                                    img->name, best, fmt));
}

/* The members every resource with a page of its own shares with null. */
static void seo_nulls(json_t *o)
{
    static const char *const names[] = {
        "og_image",      "og_title",         "og_description",
        "twitter_image", "twitter_title",    "twitter_description",
        "meta_title",    "meta_description",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        json_object_set_new(o, names[i], json_null());
}

json_t *ghost_author_json(const struct ghost_view *v,
                          const struct store_author *au, long count)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(ghost_id(v->a, au->id)));
    json_object_set_new(o, "name", json_string(au->name));
    json_object_set_new(o, "slug", json_string(au->slug));
    json_object_set_new(o, "profile_image", image_url(v, au->avatar));
    json_object_set_new(o, "cover_image", json_null());
    json_object_set_new(o, "bio", str_or_null(au->bio));
    json_object_set_new(o, "website", json_null());
    json_object_set_new(o, "location", str_or_null(au->location));
    json_object_set_new(o, "facebook", json_null());
    json_object_set_new(o, "twitter", json_null());
    json_object_set_new(o, "meta_title", json_null());
    json_object_set_new(o, "meta_description", json_null());
    json_object_set_new(o, "url",
                        json_string(arena_printf(v->a, "%s/author/%s/",
                                                 site_url(v), au->slug)));
    if (count >= 0)
        json_object_set_new(o, "count",
                            json_pack("{s:I}", "posts", (json_int_t)count));
    return o;
}

json_t *ghost_tag_json(const struct ghost_view *v, const struct store_tag *t,
                       long count)
{
    json_t *o = json_object();
    const char *dir = t->kind == STORE_TAG_SECTION ? "section" : "tag";

    json_object_set_new(o, "id", json_string(ghost_id(v->a, t->id)));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "slug", json_string(t->slug));
    json_object_set_new(o, "description", str_or_null(t->description));
    json_object_set_new(o, "feature_image", json_null());
    json_object_set_new(o, "visibility", json_string("public"));
    seo_nulls(o);
    json_object_set_new(o, "codeinjection_head", json_null());
    json_object_set_new(o, "codeinjection_foot", json_null());
    json_object_set_new(o, "canonical_url", json_null());
    json_object_set_new(o, "accent_color", json_null());
    json_object_set_new(o, "url",
                        json_string(arena_printf(v->a, "%s/%s/%s/", site_url(v),
                                                 dir, t->slug)));
    if (count >= 0)
        json_object_set_new(o, "count",
                            json_pack("{s:I}", "posts", (json_int_t)count));
    return o;
}

json_t *ghost_post_json(const struct ghost_view *v, const struct store_post *p)
{
    json_t *o = json_object();
    const char *id = ghost_id(v->a, p->id);

    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(
        o, "uuid", json_string(ghost_uuid(v->a, v->uuid_key, "post", p->id)));
    json_object_set_new(o, "title", json_string(p->title ? p->title : ""));
    json_object_set_new(o, "slug", json_string(p->slug));
    if (v->html)
        json_object_set_new(o, "html", str_or_null(p->html));
    if (v->plaintext)
        json_object_set_new(o, "plaintext",
                            json_string(p->plaintext ? p->plaintext : ""));
    json_object_set_new(o, "comment_id", json_string(id));
    json_object_set_new(o, "feature_image", image_url(v, p->feature_image));
    json_object_set_new(
        o, "feature_image_alt",
        p->feature_image ? str_or_null(p->feature_alt ? p->feature_alt
                                                      : p->feature_image->alt)
                         : json_null());
    json_object_set_new(o, "feature_image_caption",
                        p->feature_image ? str_or_null(p->feature_caption)
                                         : json_null());
    json_object_set_new(o, "featured", json_boolean(p->featured));
    json_object_set_new(o, "visibility", json_string("public"));
    json_object_set_new(o, "created_at", ghost_date(p->created_at));
    json_object_set_new(
        o, "updated_at",
        ghost_date(p->updated_at ? p->updated_at : p->published_at));
    json_object_set_new(o, "published_at", ghost_date(p->published_at));
    json_object_set_new(o, "custom_excerpt", str_or_null(p->standfirst));
    json_object_set_new(o, "codeinjection_head", json_null());
    json_object_set_new(o, "codeinjection_foot", json_null());
    json_object_set_new(o, "custom_template", json_null());
    json_object_set_new(o, "canonical_url", json_null());
    if (v->with_authors) {
        json_t *arr = json_array();
        for (size_t i = 0; i < p->nauthors; i++)
            json_array_append_new(arr,
                                  ghost_author_json(v, &p->authors[i], -1));
        json_object_set_new(o, "authors", arr);
    }
    if (v->with_tags) {
        json_t *arr = json_array();
        for (size_t i = 0; i < p->ntags; i++)
            json_array_append_new(arr, ghost_tag_json(v, &p->tags[i], -1));
        json_object_set_new(o, "tags", arr);
    }
    if (v->with_authors)
        json_object_set_new(o, "primary_author",
                            p->nauthors
                                ? ghost_author_json(v, &p->authors[0], -1)
                                : json_null());
    if (v->with_tags)
        json_object_set_new(o, "primary_tag",
                            p->ntags ? ghost_tag_json(v, &p->tags[0], -1)
                                     : json_null());
    json_object_set_new(
        o, "url",
        json_string(arena_printf(v->a, "%s/%s/", site_url(v), p->slug)));
    json_object_set_new(
        o, "excerpt",
        json_string(p->excerpt ? p->excerpt
                               : (p->standfirst ? p->standfirst : "")));
    json_object_set_new(o, "reading_time",
                        json_integer((json_int_t)p->reading_minutes));
    json_object_set_new(o, "access", json_true());
    json_object_set_new(o, "comments", json_false());
    seo_nulls(o);
    json_object_set_new(o, "meta_title", str_or_null(p->meta_title));
    json_object_set_new(o, "meta_description",
                        str_or_null(p->meta_description));
    json_object_set_new(o, "email_subject", json_null());
    json_object_set_new(o, "frontmatter", json_null());
    return o;
}

json_t *ghost_newsletter_json(const struct ghost_view *v,
                              const struct store_newsletter *nl)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(ghost_id(v->a, nl->id)));
    json_object_set_new(
        o, "uuid",
        json_string(ghost_uuid(v->a, v->uuid_key, "newsletter", nl->id)));
    json_object_set_new(o, "name", json_string(nl->name));
    json_object_set_new(o, "description", str_or_null(nl->description));
    json_object_set_new(o, "slug", json_string(nl->slug));
    json_object_set_new(o, "sender_email", json_null());
    json_object_set_new(o, "subscribe_on_signup", json_true());
    json_object_set_new(o, "visibility", json_string("members"));
    json_object_set_new(o, "sort_order", json_integer(nl->position));
    json_object_set_new(o, "created_at", json_null());
    json_object_set_new(o, "updated_at", json_null());
    return o;
}

json_t *ghost_free_tier_json(const struct ghost_view *v)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(ghost_id(v->a, 1)));
    json_object_set_new(o, "name", json_string("Free"));
    json_object_set_new(o, "description", json_null());
    json_object_set_new(o, "slug", json_string("free"));
    json_object_set_new(o, "active", json_true());
    json_object_set_new(o, "type", json_string("free"));
    json_object_set_new(o, "welcome_page_url", json_null());
    json_object_set_new(o, "created_at", json_null());
    json_object_set_new(o, "updated_at", json_null());
    json_object_set_new(o, "visibility", json_string("public"));
    json_object_set_new(o, "benefits", json_array());
    json_object_set_new(o, "currency", json_null());
    json_object_set_new(o, "monthly_price", json_null());
    json_object_set_new(o, "yearly_price", json_null());
    json_object_set_new(o, "trial_days", json_integer(0));
    return o;
}

json_t *ghost_settings_json(const struct ghost_view *v)
{
    const struct config *c = &v->app->cfg;
    json_t *o = json_object();
    json_t *nav = json_array();
    struct store_tag *tags = NULL;
    size_t n = 0;

    json_object_set_new(o, "title", json_string(c->title));
    json_object_set_new(o, "description", json_string(c->description));
    json_object_set_new(o, "logo", json_null());
    json_object_set_new(o, "icon", json_null());
    json_object_set_new(o, "accent_color", json_null());
    json_object_set_new(o, "cover_image", json_null());
    json_object_set_new(o, "facebook", json_null());
    json_object_set_new(o, "twitter", json_null());
    json_object_set_new(o, "lang", json_string(c->language));
    json_object_set_new(o, "locale", json_string(c->language));
    json_object_set_new(o, "timezone", json_string(c->timezone));
    json_object_set_new(o, "codeinjection_head", json_null());
    json_object_set_new(o, "codeinjection_foot", json_null());
    /* the navigation: home, then the sections in their order */
    json_array_append_new(nav,
                          json_pack("{s:s, s:s}", "label", "Home", "url",
                                    arena_printf(v->a, "%s/", site_url(v))));
    if (store_tags_list(v->app->st, v->a, STORE_TAG_SECTION, &tags, &n) == 0)
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                nav, json_pack("{s:s, s:s}", "label", tags[i].name, "url",
                               arena_printf(v->a, "%s/section/%s/", site_url(v),
                                            tags[i].slug)));
    json_object_set_new(o, "navigation", nav);
    json_object_set_new(o, "secondary_navigation", json_array());
    seo_nulls(o);
    json_object_set_new(o, "members_support_address", json_null());
    json_object_set_new(o, "url",
                        json_string(arena_printf(v->a, "%s/", site_url(v))));
    return o;
}

int ghost_listed(const char *list, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > p && last[-1] == ' ')
            last--;
        if ((size_t)(last - p) == n && strncasecmp(p, name, n) == 0)
            return 1;
        p = end;
    }
    return 0;
}

void ghost_keep_fields(json_t *o, const char *fields, int keep_authors,
                       int keep_tags)
{
    const char *key;
    json_t *val;
    void *tmp;

    json_object_foreach_safe(o, tmp, key, val)
    {
        (void)val;
        if (ghost_listed(fields, key))
            continue;
        if (keep_authors &&
            (!strcmp(key, "authors") || !strcmp(key, "primary_author")))
            continue;
        if (keep_tags && (!strcmp(key, "tags") || !strcmp(key, "primary_tag")))
            continue;
        json_object_del(o, key);
    }
}
