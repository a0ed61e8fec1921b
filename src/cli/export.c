/*
 * export.c - `newsroom export DIR FILE`: the whole site as JSON in the
 * shape of a Ghost export (docs/import.md, "Exporting"), so its content
 * can go to Ghost, or back into newsroom with `newsroom import ghost`.
 *
 * The file is written as it is read, a page of rows at a time: posts with
 * their HTML and their Markdown (as a mobiledoc Markdown card, which Ghost
 * edits and our importer reads back verbatim), users (the authors), tags,
 * the link tables, posts_meta (feature image alt and caption, meta
 * fields), newsletters, and the subscribers as members with
 * members_newsletters for their active subscriptions. Nothing but a set of
 * subscriber ids is kept in memory. The site may be live while it runs; it
 * is not a snapshot (newsroom backup makes one).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "content/site.h"
#include "core/arena.h"
#include "core/config.h"
#include "render/md.h"
#include "store/store.h"

static const char usage[] =
    "usage: newsroom export DIR FILE\n"
    "\n"
    "Writes the whole site in DIR to FILE ('-' for standard output) as a\n"
    "Ghost JSON export: posts (HTML and Markdown), authors, tags, bylines,\n"
    "feature images (as URLs), newsletters and subscribers (as members).\n"
    "Ghost imports it (Settings > Labs > Import), and so does 'newsroom\n"
    "import ghost'. Staff accounts, passwords and statistics are not\n"
    "exported.\n";

#define PAGE 200 /* rows read per query */
#define GHOST_VERSION "5.0.0"

struct out {
    FILE *f;
    struct store *st;
    struct config cfg;
    int first; /* no row written yet in the current array */
    size_t rows;
};

/* A 24-hex-digit id as Ghost's ObjectIds look, from a local id and a
 * table letter (so ids of different tables never look alike). */
static json_t *gid(char table, int64_t id)
{
    char s[32];
    snprintf(s, sizeof s, "%08x%016" PRIx64, (unsigned)table, (uint64_t)id);
    return json_string(s);
}

static json_t *iso(int64_t t)
{
    char s[40];
    struct tm tm;
    time_t tt = (time_t)t;
    if (!t || !gmtime_r(&tt, &tm))
        return json_null();
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    return json_string(s);
}

static json_t *str(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static void begin(struct out *o, const char *name)
{
    fprintf(o->f, "%s\"%s\":[", o->rows || strcmp(name, "posts") ? "," : "",
            name);
    o->first = 1;
}

static void row(struct out *o, json_t *v)
{
    if (!o->first)
        fputc(',', o->f);
    fputc('\n', o->f);
    json_dumpf(v, o->f, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(v);
    o->first = 0;
    o->rows++;
}

static void end(struct out *o)
{
    fputs("\n]", o->f);
}

/* The feature image's URL: an external one as it is, ours as the largest
 * JPEG variant under the site's URL. */
static json_t *image_url(struct out *o, const struct store_image *img)
{
    char s[1200];
    unsigned w = 0;
    if (!img || !img->name)
        return json_null();
    if (strstr(img->name, "://"))
        return json_string(img->name);
    for (const char *p = img->widths; p && *p;) {
        unsigned x = (unsigned)strtoul(p, NULL, 10);
        if (x > w)
            w = x;
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    snprintf(s, sizeof s, "%s/media/%s-%u.jpg", o->cfg.url, img->name, w);
    return json_string(s);
}

static json_t *mobiledoc(const char *md)
{
    json_t *d =
        json_pack("{s:s, s:[], s:[], s:[[s, {s:s}]], s:[[i, i]]}", "version",
                  "0.3.1", "atoms", "markups", "cards", "markdown", "markdown",
                  md ? md : "", "sections", 10, 0);
    char *s = json_dumps(d, JSON_COMPACT);
    json_t *r = json_string(s ? s : "");
    free(s);
    json_decref(d);
    return r;
}

/* A caption (Markdown here) as the HTML Ghost keeps: one paragraph's
 * content, without the <p>. */
static json_t *caption_html(const char *md)
{
    struct arena a;
    struct md_doc doc;
    json_t *r = json_null();
    if (!md || !*md)
        return r;
    arena_init(&a);
    if (md_render(&a, md, strlen(md), NULL, NULL, &doc) == 0) {
        char *h = doc.html;
        size_t n = strlen(h);
        while (n && h[n - 1] == '\n')
            n--;
        if (n >= 7 && !strncmp(h, "<p>", 3) && !strncmp(h + n - 4, "</p>", 4)) {
            h += 3;
            n -= 7;
        }
        r = json_stringn(h, n);
    }
    arena_release(&a);
    return r;
}

static const char *status_name(enum store_post_status s)
{
    return s == STORE_POST_PUBLISHED   ? "published"
           : s == STORE_POST_SCHEDULED ? "scheduled"
                                       : "draft";
}

/* What one page of posts turns into, for each pass over the posts. */
enum post_pass { P_POSTS, P_AUTHORS, P_TAGS, P_META };

/* 1 when p is an imported page: tagged "page" (import_ghost.c). */
static int is_page(const struct store_post *p)
{
    for (size_t i = 0; i < p->ntags; i++)
        if (strcmp(p->tags[i].slug, "page") == 0)
            return 1;
    return 0;
}

static void post_rows(struct out *o, const struct store_post *p,
                      enum post_pass pass)
{
    int page = is_page(p);
    switch (pass) {
    case P_POSTS: {
        json_t *v = json_object();
        json_object_set_new(v, "id", gid('p', p->id));
        json_object_set_new(v, "title", json_string(p->title));
        json_object_set_new(v, "slug", json_string(p->slug));
        json_object_set_new(v, "mobiledoc", mobiledoc(p->markdown));
        json_object_set_new(v, "html", str(p->html));
        json_object_set_new(v, "plaintext", str(p->plaintext));
        json_object_set_new(v, "feature_image", image_url(o, p->feature_image));
        json_object_set_new(v, "featured", json_boolean(p->featured));
        json_object_set_new(v, "type", json_string(page ? "page" : "post"));
        json_object_set_new(v, "status", json_string(status_name(p->status)));
        json_object_set_new(v, "locale", str(p->language));
        json_object_set_new(v, "visibility", json_string("public"));
        json_object_set_new(v, "created_at", iso(p->created_at));
        json_object_set_new(v, "updated_at", iso(p->updated_at));
        json_object_set_new(v, "published_at", iso(p->published_at));
        json_object_set_new(v, "custom_excerpt", str(p->standfirst));
        json_object_set_new(v, "meta_title", str(p->meta_title));
        json_object_set_new(v, "meta_description", str(p->meta_description));
        row(o, v);
        break;
    }
    case P_AUTHORS:
        for (size_t i = 0; i < p->nauthors; i++)
            row(o, json_pack("{s:o, s:o, s:o, s:i}", "id",
                             gid('b', p->id * 100 + (int64_t)i), "post_id",
                             gid('p', p->id), "author_id",
                             gid('u', p->authors[i].id), "sort_order",
                             (json_int_t)i));
        break;
    case P_TAGS:
        for (size_t i = 0; i < p->ntags; i++)
            if (!page || strcmp(p->tags[i].slug, "page"))
                row(o, json_pack("{s:o, s:o, s:o, s:i}", "id",
                                 gid('c', p->id * 100 + (int64_t)i), "post_id",
                                 gid('p', p->id), "tag_id",
                                 gid('t', p->tags[i].id), "sort_order",
                                 (json_int_t)i));
        break;
    case P_META:
        if (p->feature_alt || p->feature_caption)
            row(o, json_pack("{s:o, s:o, s:o, s:o}", "id", gid('m', p->id),
                             "post_id", gid('p', p->id), "feature_image_alt",
                             str(p->feature_alt), "feature_image_caption",
                             caption_html(p->feature_caption)));
        break;
    }
}

static int posts(struct out *o, enum post_pass pass)
{
    static const char *const names[] = {"posts", "posts_authors", "posts_tags",
                                        "posts_meta"};
    struct store_post_query q;
    struct arena a;
    size_t offset = 0, n;
    struct store_post *v;

    begin(o, names[pass]);
    arena_init(&a);
    for (;;) {
        memset(&q, 0, sizeof q);
        q.status = -1;
        q.desk_order = 1;
        q.limit = PAGE;
        q.offset = offset;
        q.with_body = pass == P_POSTS;
        if (store_posts_list(o->st, &a, &q, &v, &n, NULL) != STORE_OK) {
            arena_release(&a);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            post_rows(o, &v[i], pass);
        arena_release(&a);
        if (n < PAGE)
            break;
        offset += n;
    }
    end(o);
    return 0;
}

static int users_tags_newsletters(struct out *o)
{
    struct arena a;
    struct store_author *au;
    struct store_tag *t;
    struct store_newsletter *nl;
    size_t n;
    int rc = -1;

    arena_init(&a);
    if (store_authors_list(o->st, &a, &au, &n) != STORE_OK)
        goto out;
    begin(o, "users");
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object();
        json_object_set_new(v, "id", gid('u', au[i].id));
        json_object_set_new(v, "name", json_string(au[i].name));
        json_object_set_new(v, "slug", json_string(au[i].slug));
        /* Ghost requires an address; a placeholder the importer drops */
        json_object_set_new(
            v, "email",
            au[i].email && *au[i].email
                ? json_string(au[i].email)
                : json_sprintf("%s@example.invalid", au[i].slug));
        json_object_set_new(v, "bio", str(au[i].bio));
        json_object_set_new(v, "location", str(au[i].location));
        json_object_set_new(v, "status", json_string("active"));
        json_object_set_new(v, "visibility", json_string("public"));
        row(o, v);
    }
    end(o);
    if (store_tags_list(o->st, &a, -1, &t, &n) != STORE_OK)
        goto out;
    begin(o, "tags");
    for (size_t i = 0; i < n; i++)
        row(o, json_pack("{s:o, s:s, s:s, s:o, s:s}", "id", gid('t', t[i].id),
                         "name", t[i].name, "slug", t[i].slug, "description",
                         str(t[i].description), "visibility", "public"));
    end(o);
    if (store_newsletters_list(o->st, &a, 0, &nl, &n) != STORE_OK)
        goto out;
    begin(o, "newsletters");
    for (size_t i = 0; i < n; i++)
        row(o, json_pack("{s:o, s:s, s:s, s:o, s:o, s:o, s:s, s:i, s:s}", "id",
                         gid('n', nl[i].id), "name", nl[i].name, "slug",
                         nl[i].slug, "description", str(nl[i].description),
                         "sender_name", str(nl[i].sender_name), "sender_email",
                         str(nl[i].sender_email), "status",
                         nl[i].active ? "active" : "archived", "sort_order",
                         (json_int_t)nl[i].position, "visibility", "members"));
    end(o);
    rc = 0;
out:
    arena_release(&a);
    return rc;
}

/* A set of subscriber ids (open addressing). */
struct idset {
    int64_t *v;
    size_t cap, n;
};

/* 1 when id was new (now added), 0 when already there. */
static int idset_add(struct idset *s, int64_t id)
{
    if ((s->n + 1) * 2 > s->cap) {
        struct idset g = {calloc(s->cap ? s->cap * 2 : 1024, sizeof(int64_t)),
                          s->cap ? s->cap * 2 : 1024, 0};
        if (!g.v)
            abort();
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i])
                idset_add(&g, s->v[i]);
        free(s->v);
        *s = g;
    }
    size_t i = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ULL) % s->cap;
    while (s->v[i]) {
        if (s->v[i] == id)
            return 0;
        i = (i + 1) % s->cap;
    }
    s->v[i] = id;
    s->n++;
    return 1;
}

/* Members (one per subscriber), or with links the members_newsletters
 * rows of active subscriptions. */
static int members(struct out *o, int links)
{
    struct arena a;
    struct store_subscription *v;
    struct idset seen = {0};
    size_t n, offset = 0;

    begin(o, links ? "members_newsletters" : "members");
    arena_init(&a);
    for (;;) {
        if (store_subscriptions_search(o->st, &a, NULL, 0, -1, PAGE, offset, &v,
                                       &n, NULL) != STORE_OK) {
            arena_release(&a);
            free(seen.v);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (links) {
                if (v[i].state == STORE_SUB_ACTIVE)
                    row(o, json_pack("{s:o, s:o, s:o}", "id", gid('s', v[i].id),
                                     "member_id", gid('r', v[i].subscriber_id),
                                     "newsletter_id",
                                     gid('n', v[i].newsletter_id)));
            } else if (idset_add(&seen, v[i].subscriber_id))
                row(o, json_pack("{s:o, s:s, s:n, s:s, s:b, s:o}", "id",
                                 gid('r', v[i].subscriber_id), "email",
                                 v[i].email, "name", "status", "free",
                                 "subscribed", v[i].state == STORE_SUB_ACTIVE,
                                 "created_at", iso(v[i].created_at)));
        }
        arena_release(&a);
        if (n < PAGE)
            break;
        offset += n;
    }
    free(seen.v);
    end(o);
    return 0;
}

static int run_export(const char *dir, const char *file)
{
    struct out o;
    char err[512], tmp[4200];
    int rc = -1, to_stdout = strcmp(file, "-") == 0;

    memset(&o, 0, sizeof o);
    o.st = site_open(dir, &o.cfg, err, sizeof err);
    if (!o.st)
        return cli_fail("%s", err);
    if (to_stdout)
        o.f = stdout;
    else {
        if (strlen(file) > 4000) {
            store_close(o.st);
            return cli_usage_error("export: FILE name too long%s", "");
        }
        snprintf(tmp, sizeof tmp, "%s.tmp", file);
        o.f = fopen(tmp, "w");
        if (!o.f) {
            store_close(o.st);
            return cli_fail("export: cannot write '%s'", tmp);
        }
    }
    fprintf(o.f,
            "{\"db\":[{\"meta\":{\"exported_on\":%lld,\"version\":\"%s\"},"
            "\"data\":{",
            (long long)time(NULL) * 1000, GHOST_VERSION);
    if (posts(&o, P_POSTS) < 0 || users_tags_newsletters(&o) < 0 ||
        posts(&o, P_AUTHORS) < 0 || posts(&o, P_TAGS) < 0 ||
        posts(&o, P_META) < 0 || members(&o, 0) < 0 || members(&o, 1) < 0)
        goto out;
    fputs("}}]}\n", o.f);
    if (fflush(o.f) != 0 || ferror(o.f))
        goto out;
    rc = 0;
out:
    if (!to_stdout) {
        if (fclose(o.f) != 0)
            rc = -1;
        if (rc == 0 && rename(tmp, file) < 0)
            rc = -1;
        if (rc < 0)
            unlink(tmp);
    }
    store_close(o.st);
    if (rc < 0)
        return cli_fail("export: cannot write '%s' (disk full, or the "
                        "database failed: see the log)",
                        file);
    if (!to_stdout)
        fprintf(stderr, "exported %zu rows to '%s'\n", o.rows, file);
    return 0;
}

int cli_export(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *dir, *file;
    int rc = cli_dir_file("export", argc, argv, NULL, NULL, &dir, &file);

    return rc ? rc : run_export(dir, file);
}
