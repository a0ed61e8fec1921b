/*
 * post.c - derived fields and visibility of articles; see post.h.
 */
#include "content/post.h"

#include <stdlib.h>
#include <string.h>

#include "content/reading.h"
#include "core/arena.h"
#include "core/log.h"
#include "render/md.h"

/* md_card_fn: a related card shows a published post's headline, its
 * standfirst (or excerpt) and its address. */
static int card_lookup(void *ctx, struct arena *a, const char *slug,
                       struct md_card *out)
{
    struct store *st = ctx;
    struct store_post p;

    if (store_post_get_by_slug(st, a, slug, &p) != STORE_OK ||
        p.status != STORE_POST_PUBLISHED)
        return -1;
    out->title = p.title;
    out->summary = p.standfirst && *p.standfirst ? p.standfirst : p.excerpt;
    out->url = arena_printf(a, "/%s/", p.slug);
    return 0;
}

/* md_image_fn: "/media/NAME-W.ext" of an image in the store gets the
 * variant's size (the original's aspect ratio at width W). */
static int image_size(void *ctx, struct arena *a, const char *src,
                      unsigned *width, unsigned *height)
{
    struct store *st = ctx;
    struct store_image img;
    const char *dash, *dot;
    unsigned w;

    if (strncmp(src, "/media/", 7) != 0 || !(dash = strrchr(src, '-')) ||
        !(dot = strrchr(src, '.')) || dot < dash)
        return -1;
    w = (unsigned)strtoul(dash + 1, NULL, 10);
    char *name = arena_strndup(a, src + 7, (size_t)(dash - src - 7));
    if (!w || store_image_get_by_name(st, a, name, &img) != STORE_OK ||
        !img.width)
        return -1;
    *width = w;
    *height = (unsigned)((double)img.height * w / img.width + 0.5);
    return 0;
}

/* Renders md with every hook that needs the store (st may be NULL). */
static int render(struct store *st, struct arena *a, const char *md,
                  struct md_doc *doc)
{
    struct md_hooks h = {st ? card_lookup : NULL, st ? image_size : NULL, st};
    return md_render_hooks(a, md ? md : "", md ? strlen(md) : 0, &h, doc);
}

char *post_render_markdown(struct store *st, struct arena *a, const char *md,
                           unsigned *words, unsigned *images)
{
    struct md_doc doc;

    if (render(st, a, md, &doc) < 0)
        return NULL;
    if (words)
        *words = doc.words;
    if (images)
        *images = doc.images;
    return doc.html;
}

int post_derive(struct store *st, struct arena *a, struct store_post *p,
                unsigned wpm)
{
    struct md_doc doc;
    if (render(st, a, p->markdown, &doc) < 0)
        return -1;
    p->html = doc.html;
    p->plaintext = doc.text;
    p->words = doc.words;
    p->reading_minutes = reading_minutes(
        doc.words, doc.images + (p->feature_image_id ? 1 : 0), wpm);
    if (!p->excerpt || !*p->excerpt)
        p->excerpt = md_excerpt(a, doc.text, 200);
    if (!p->language || !*p->language)
        p->language = "en";
    return 0;
}

int post_save(struct store *st, struct arena *a, struct store_post *p,
              const int64_t *author_ids, size_t n_authors,
              const int64_t *tag_ids, size_t n_tags, unsigned wpm)
{
    if (post_derive(st, a, p, wpm) < 0)
        return -1;
    return store_post_save(st, p, author_ids, n_authors, tag_ids, n_tags);
}

int post_is_public(const struct store_post *p, int64_t now)
{
    if (p->status == STORE_POST_PUBLISHED)
        return 1;
    return p->status == STORE_POST_SCHEDULED && p->published_at &&
           p->published_at <= now;
}
