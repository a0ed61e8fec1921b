/*
 * demo.c - loads the embedded demo/ files into a store; see demo.h.
 *
 * Files with front matter ("---" lines around `key: value` pairs, then a
 * Markdown body) describe authors and articles; block files (blocks split
 * by a "%%" line) describe live updates and newsletters.
 */
#include "content/demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content/post.h"
#include "content/site.h"
#include "core/arena.h"
#include "core/embed.h"
#include "core/log.h"
#include "core/str.h"
#include "media/img.h"
#include "render/date.h"
#include "render/md.h"
#include "store/store.h"

#define MAX_FIELDS 32
#define MAX_IDS 16

/* One parsed file: front matter fields and the body after it. */
struct doc {
    const char *keys[MAX_FIELDS];
    const char *vals[MAX_FIELDS];
    size_t n;
    const char *body;
};

static const char *field(const struct doc *d, const char *key)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->keys[i], key) == 0)
            return d->vals[i];
    return NULL;
}

/* Parses `key: value` lines from s up to end into d (copies in a). */
static void parse_fields(struct arena *a, const char *s, const char *end,
                         struct doc *d)
{
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        const char *colon = memchr(s, ':', (size_t)(le - s));
        if (colon && d->n < MAX_FIELDS) {
            const char *v = colon + 1;
            while (v < le && *v == ' ')
                v++;
            d->keys[d->n] = arena_strndup(a, s, (size_t)(colon - s));
            d->vals[d->n] = arena_strndup(a, v, (size_t)(le - v));
            d->n++;
        }
        s = nl ? nl + 1 : end;
    }
}

/* A front-matter file: "---\n fields \n---\n body". */
static int parse_front(struct arena *a, const char *text, struct doc *d)
{
    memset(d, 0, sizeof(*d));
    if (strncmp(text, "---\n", 4) != 0)
        return -1;
    const char *end = strstr(text + 4, "\n---\n");
    if (!end)
        return -1;
    parse_fields(a, text + 4, end + 1, d);
    d->body = end + 5;
    return 0;
}

/* One block of a "%%"-separated file: fields, a blank line, then body. */
static void parse_block(struct arena *a, const char *s, const char *end,
                        struct doc *d)
{
    memset(d, 0, sizeof(*d));
    while (s < end && *s == '\n')
        s++;
    const char *blank = NULL;
    for (const char *p = s; p + 1 < end; p++)
        if (p[0] == '\n' && p[1] == '\n') {
            blank = p;
            break;
        }
    parse_fields(a, s, blank ? blank : end, d);
    if (blank) {
        const char *b = blank + 2, *e = end;
        while (e > b && (e[-1] == '\n' || e[-1] == ' '))
            e--;
        d->body = arena_strndup(a, b, (size_t)(e - b));
    }
}

/* Parses the block at *s of a "%%"-separated file into d and moves *s
 * past it; 0 at the end of the text. */
static int next_block(struct arena *a, const char **s, struct doc *d)
{
    if (!**s)
        return 0;
    const char *sep = strstr(*s, "\n%%\n");
    const char *end = sep ? sep + 1 : *s + strlen(*s);
    parse_block(a, *s, end, d);
    *s = sep ? sep + 4 : end;
    return 1;
}

static const char *embedded(const char *name)
{
    const struct embed_file *f = embed_find(name);
    return f ? (const char *)f->data : NULL;
}

/* Demo images imported so far: an illustration may serve several posts. */
#define MAX_IMAGES 64
static struct {
    const char *file; /* "07-platform.svg" */
    int64_t id;       /* store_image id */
    const char *name; /* "images/07-platform-1a2b3c4d" */
} imported[MAX_IMAGES];
static size_t nimported;

static int64_t import_image(struct store *st, struct arena *a,
                            const char *media_dir, const char *file,
                            const char *alt, char *err, size_t errlen)
{
    for (size_t i = 0; i < nimported; i++)
        if (strcmp(imported[i].file, file) == 0)
            return imported[i].id;
    const struct embed_file *f =
        embed_find(arena_printf(a, "demo/images/%s", file));
    struct img_info info;
    int64_t id;
    char *base;

    if (!f) {
        snprintf(err, errlen, "demo image '%s' missing", file);
        return -1;
    }
    base = arena_strdup(a, file);
    char *dot = strrchr(base, '.');
    if (dot)
        *dot = '\0';
    if (img_import(f->data, f->len, media_dir, base, &info, err, errlen) < 0)
        return -1;
    if (site_image_save(st, &info, alt, &id) != STORE_OK) {
        snprintf(err, errlen, "cannot store demo image '%s'", file);
        return -1;
    }
    if (nimported < MAX_IMAGES) {
        imported[nimported].file = arena_strdup(a, file);
        imported[nimported].id = id;
        imported[nimported].name = arena_strdup(a, info.name);
        nimported++;
    }
    return id;
}

/* Inline images in demo Markdown are written "/media/demo/FILE.svg"; they
 * become the 960 px JPEG variant of the imported illustration. */
static const char *inline_images(struct store *st, struct arena *a,
                                 const char *md, const char *media_dir,
                                 char *err, size_t errlen)
{
    static const char mark[] = "/media/demo/";
    const char *p;
    while ((p = strstr(md, mark))) {
        const char *f = p + sizeof mark - 1;
        size_t n = strcspn(f, " )\"\n");
        char *file = arena_strndup(a, f, n);
        if (import_image(st, a, media_dir, file, NULL, err, errlen) < 0)
            return NULL;
        const char *name = NULL;
        for (size_t i = 0; i < nimported; i++)
            if (strcmp(imported[i].file, file) == 0)
                name = imported[i].name;
        md = arena_printf(a, "%.*s/media/%s-960.jpg%s", (int)(p - md), md,
                          name ? name : "", f + n);
    }
    return md;
}

static int load_sections(struct store *st, struct arena *a, char *err,
                         size_t errlen)
{
    const char *s = embedded("demo/sections.txt");
    unsigned pos = 0;

    if (!s) {
        snprintf(err, errlen, "demo sections missing");
        return -1;
    }
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        char *line = arena_strndup(a, s, n);
        char *name = strchr(line, '|');
        char *desc = name ? strchr(name + 1, '|') : NULL;
        s += n + (nl ? 1 : 0);
        if (!name || !desc)
            continue;
        *name++ = '\0';
        *desc++ = '\0';
        struct store_tag t = {0};
        t.slug = line;
        t.name = name;
        t.description = desc;
        t.kind = STORE_TAG_SECTION;
        t.position = ++pos;
        if (store_tag_save(st, &t) != STORE_OK) {
            snprintf(err, errlen, "cannot store section '%s'", line);
            return -1;
        }
    }
    return 0;
}

static int load_authors(struct store *st, struct arena *a,
                        const char *media_dir, char *err, size_t errlen)
{
    for (const struct embed_file *f = embed_files; f->name; f++) {
        struct doc d;
        if (strncmp(f->name, "demo/authors/", 13) != 0)
            continue;
        if (parse_front(a, (const char *)f->data, &d) < 0) {
            snprintf(err, errlen, "bad demo author file '%s'", f->name);
            return -1;
        }
        struct store_author au = {0};
        au.slug = field(&d, "slug");
        au.name = field(&d, "name");
        au.role = field(&d, "role");
        au.email = field(&d, "email");
        au.location = field(&d, "location");
        au.bio = d.body;
        if (!au.slug || !au.name) {
            snprintf(err, errlen, "demo author '%s' lacks slug or name",
                     f->name);
            return -1;
        }
        const char *avatar = arena_printf(a, "author-%s.svg", au.slug);
        if (embed_find(arena_printf(a, "demo/images/%s", avatar))) {
            au.avatar_id = import_image(
                st, a, media_dir, avatar,
                arena_printf(a, "Portrait of %s", au.name), err, errlen);
            if (au.avatar_id < 0)
                return -1;
        }
        if (store_author_save(st, &au) != STORE_OK) {
            snprintf(err, errlen, "cannot store demo author '%s'", au.slug);
            return -1;
        }
    }
    return 0;
}

/* Splits a comma list into trimmed items in a; returns the count. */
static size_t split_list(struct arena *a, const char *s, const char **out,
                         size_t max)
{
    size_t n = 0;
    while (s && *s && n < max) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        const char *b = s, *e = s + len;
        while (b < e && *b == ' ')
            b++;
        while (e > b && e[-1] == ' ')
            e--;
        if (e > b)
            out[n++] = arena_strndup(a, b, (size_t)(e - b));
        s = c ? c + 1 : NULL;
    }
    return n;
}

static int64_t tag_id(struct store *st, struct arena *a, const char *name)
{
    struct store_tag t = {0};
    const char *slug = str_slugify(a, name, 60);

    if (store_tag_get_by_slug(st, a, slug, &t) == STORE_OK)
        return t.id;
    memset(&t, 0, sizeof t);
    t.slug = slug;
    t.name = name;
    t.kind = STORE_TAG_TAG;
    return store_tag_save(st, &t) == STORE_OK ? t.id : -1;
}

static int load_article(struct store *st, struct arena *a,
                        const struct embed_file *f, const char *media_dir,
                        unsigned wpm, char *err, size_t errlen)
{
    struct doc d;
    struct store_post p = {0};
    int64_t aids[MAX_IDS], tids[MAX_IDS];
    size_t na = 0, nt = 0;
    const char *list[MAX_IDS];
    time_t t;

    if (parse_front(a, (const char *)f->data, &d) < 0)
        goto bad;
    p.slug = field(&d, "slug");
    p.title = field(&d, "title");
    p.standfirst = field(&d, "standfirst");
    p.markdown = inline_images(st, a, d.body, media_dir, err, errlen);
    if (!p.markdown)
        return -1;
    p.status = STORE_POST_PUBLISHED;
    p.language = "en";
    p.featured =
        field(&d, "featured") && strcmp(field(&d, "featured"), "true") == 0;
    if (field(&d, "pick"))
        p.pick_order = (unsigned)strtoul(field(&d, "pick"), NULL, 10);
    if (!p.slug || !p.title || !field(&d, "published") ||
        date_parse_iso(field(&d, "published"), &t) < 0)
        goto bad;
    p.published_at = p.created_at = t;
    if (field(&d, "updated") && date_parse_iso(field(&d, "updated"), &t) == 0)
        p.updated_at = t;
    p.feature_alt = field(&d, "image_alt");
    p.feature_caption = field(&d, "caption");
    p.feature_credit = field(&d, "credit");
    if (field(&d, "image")) {
        p.feature_image_id = import_image(st, a, media_dir, field(&d, "image"),
                                          p.feature_alt, err, errlen);
        if (p.feature_image_id < 0)
            return -1;
    }
    size_t n = split_list(a, field(&d, "authors"), list, MAX_IDS);
    for (size_t i = 0; i < n; i++) {
        struct store_author au;
        if (store_author_get_by_slug(st, a, list[i], &au) != STORE_OK) {
            snprintf(err, errlen, "demo article '%s': unknown author '%s'",
                     p.slug, list[i]);
            return -1;
        }
        aids[na++] = au.id;
    }
    if (field(&d, "section")) {
        struct store_tag sec;
        if (store_tag_get_by_slug(st, a, field(&d, "section"), &sec) !=
            STORE_OK) {
            snprintf(err, errlen, "demo article '%s': unknown section", p.slug);
            return -1;
        }
        tids[nt++] = sec.id;
    }
    n = split_list(a, field(&d, "tags"), list, MAX_IDS - 1);
    for (size_t i = 0; i < n; i++) {
        int64_t id = tag_id(st, a, list[i]);
        if (id < 0)
            goto bad;
        tids[nt++] = id;
    }
    /* cards are resolved at view time; derive without them for now */
    if (post_derive(NULL, a, &p, wpm) < 0 ||
        store_post_save(st, &p, aids, na, tids, nt) != STORE_OK)
        goto bad;
    for (size_t i = 0; i < d.n; i++) {
        if (strcmp(d.keys[i], "correction") != 0)
            continue;
        const char *bar = strchr(d.vals[i], '|');
        struct store_correction c = {0};
        if (!bar)
            goto bad;
        char *when = arena_strndup(a, d.vals[i], (size_t)(bar - d.vals[i]));
        char *sp = strchr(when, ' ');
        if (sp)
            *sp = '\0';
        if (date_parse_iso(when, &t) < 0)
            goto bad;
        c.post_id = p.id;
        c.at = t;
        c.text = bar + 1 + (bar[1] == ' ');
        if (store_correction_add(st, &c) != STORE_OK)
            goto bad;
    }
    return 0;
bad:
    snprintf(err, errlen, "cannot load demo article '%s'", f->name);
    return -1;
}

/* Second pass: now that every article exists, derive the stored HTML again
 * with related cards resolved. */
static int resolve_cards(struct store *st, struct arena *a, unsigned wpm,
                         char *err, size_t errlen)
{
    struct store_post_query q = {0};
    struct store_post *posts = NULL;
    size_t n = 0;

    q.status = -1;
    q.limit = 1000;
    q.with_body = 1;
    if (store_posts_list(st, a, &q, &posts, &n, NULL) != STORE_OK)
        goto bad;
    for (size_t i = 0; i < n; i++) {
        struct store_post *p = &posts[i];
        int64_t aids[MAX_IDS], tids[MAX_IDS];
        size_t na = 0, nt = 0;
        if (!strstr(p->markdown, "::related["))
            continue;
        for (size_t j = 0; j < p->nauthors && na < MAX_IDS; j++)
            aids[na++] = p->authors[j].id;
        for (size_t j = 0; j < p->ntags && nt < MAX_IDS; j++)
            tids[nt++] = p->tags[j].id;
        if (post_derive(st, a, p, wpm) < 0 ||
            store_post_save(st, p, aids, na, tids, nt) != STORE_OK)
            goto bad;
    }
    return 0;
bad:
    snprintf(err, errlen, "cannot resolve related cards of the demo");
    return -1;
}

static int load_live(struct store *st, struct arena *a, int64_t now, char *err,
                     size_t errlen)
{
    const char *s = embedded("demo/live.txt");
    if (!s)
        return 0;
    struct doc d;
    while (next_block(a, &s, &d)) {
        if (!field(&d, "headline"))
            continue;
        struct store_live lu = {0};
        const char *ago = field(&d, "minutes_ago");
        lu.at = now - (ago ? strtol(ago, NULL, 10) : 0) * 60;
        lu.headline = field(&d, "headline");
        lu.body = d.body ? d.body : "";
        lu.link_slug = field(&d, "link");
        lu.key = field(&d, "key") && strcmp(field(&d, "key"), "true") == 0;
        struct md_doc doc;
        if (md_render(a, lu.body, strlen(lu.body), NULL, NULL, &doc) < 0)
            doc.html = "";
        lu.html = doc.html;
        if (store_live_save(st, &lu) != STORE_OK) {
            snprintf(err, errlen, "cannot store live update '%s'", lu.headline);
            return -1;
        }
    }
    return 0;
}

static int load_newsletters(struct store *st, struct arena *a, char *err,
                            size_t errlen)
{
    const char *s = embedded("demo/newsletters.txt");
    unsigned pos = 0;
    if (!s)
        return 0;
    struct doc d;
    while (next_block(a, &s, &d)) {
        if (!field(&d, "slug"))
            continue;
        struct store_newsletter nl = {0};
        nl.slug = field(&d, "slug");
        nl.name = field(&d, "name");
        nl.description = field(&d, "description");
        nl.sender_name = field(&d, "sender_name");
        nl.sender_email = field(&d, "sender_email");
        nl.active = 1;
        nl.position = ++pos;
        if (field(&d, "author")) {
            struct store_author au;
            if (store_author_get_by_slug(st, a, field(&d, "author"), &au) ==
                STORE_OK)
                nl.author_id = au.id;
        }
        if (store_newsletter_save(st, &nl) != STORE_OK) {
            snprintf(err, errlen, "cannot store newsletter '%s'", nl.slug);
            return -1;
        }
    }
    return 0;
}

void demo_site_info(char *title, size_t tsize, char *description, size_t dsize)
{
    const char *s = embedded("demo/site.conf.part");

    title[0] = description[0] = '\0';
    while (s && *s) {
        const char *nl = strchr(s, '\n');
        int n = (int)(nl ? nl - s : (long)strlen(s));
        const char *eq = memchr(s, '=', (size_t)n);
        if (eq && eq > s) {
            int klen = (int)(eq - s);
            const char *v = eq + 1;
            while (klen > 0 && s[klen - 1] == ' ')
                klen--;
            while (v < s + n && *v == ' ')
                v++;
            int vlen = (int)(s + n - v);
            if (klen == 5 && strncmp(s, "title", 5) == 0)
                snprintf(title, tsize, "%.*s", vlen, v);
            else if (klen == 11 && strncmp(s, "description", 11) == 0)
                snprintf(description, dsize, "%.*s", vlen, v);
        }
        s = nl ? nl + 1 : NULL;
    }
}

int demo_load(struct store *st, const char *media_dir, unsigned wpm,
              int64_t now, char *err, size_t errlen)
{
    struct arena a;
    int ret = -1;

    arena_init(&a);
    nimported = 0;
    if (store_tx_begin(st) < 0) {
        snprintf(err, errlen, "cannot start a transaction");
        goto out;
    }
    if (load_sections(st, &a, err, errlen) < 0 ||
        load_authors(st, &a, media_dir, err, errlen) < 0)
        goto fail;
    for (const struct embed_file *f = embed_files; f->name; f++)
        if (strncmp(f->name, "demo/articles/", 14) == 0 &&
            load_article(st, &a, f, media_dir, wpm, err, errlen) < 0)
            goto fail;
    if (resolve_cards(st, &a, wpm, err, errlen) < 0 ||
        load_live(st, &a, now, err, errlen) < 0 ||
        load_newsletters(st, &a, err, errlen) < 0)
        goto fail;
    if (store_tx_commit(st) < 0) {
        snprintf(err, errlen, "cannot commit the demo content");
        goto out;
    }
    ret = 0;
    goto out;
fail:
    store_tx_rollback(st);
out:
    arena_release(&a);
    return ret;
}
