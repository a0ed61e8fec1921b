/*
 * post.h - the newsroom's rules for articles: what is derived from the
 * Markdown (HTML, plain text, excerpt, words, reading time), how related
 * cards are resolved, and what makes a post visible to readers.
 *
 * Knows nothing of HTTP; web/ and the CLI call it, it calls render/ and
 * store/.
 */
#ifndef CONTENT_POST_H
#define CONTENT_POST_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct arena;

/* Fills p->html, p->plaintext, p->excerpt (when not already set), p->words
 * and p->reading_minutes from p->markdown, counting the feature image as
 * an image; wpm is the site's reading speed. Everything allocated in a.
 * 0, or -1 when the Markdown is unusable (invalid UTF-8, too large). */
int post_derive(struct store *st, struct arena *a, struct store_post *p,
                unsigned wpm);

/* Renders Markdown md to HTML in a with related-article cards resolved
 * against published posts of st. *words and *images may be NULL.
 * Returns the HTML or NULL (invalid input, logged). */
char *post_render_markdown(struct store *st, struct arena *a, const char *md,
                           unsigned *words, unsigned *images);

/* Derives and saves a post (see store_post_save). Same returns. */
int post_save(struct store *st, struct arena *a, struct store_post *p,
              const int64_t *author_ids, size_t n_authors,
              const int64_t *tag_ids, size_t n_tags, unsigned wpm);

/* 1 when readers may see p at time now: published, or scheduled with
 * published_at <= now. */
int post_is_public(const struct store_post *p, int64_t now);

#endif
