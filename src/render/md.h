/*
 * md.h - article Markdown to safe HTML, with cmark-gfm.
 *
 * CommonMark plus the GFM table, strikethrough (~~double tilde~~) and
 * autolink extensions, smart punctuation, and newsroom's additions:
 *   - subheadings (h2..h4) carry an id and a self-link for anchors:
 *       <h2 id="the-grid"><a class="anchor" href="#the-grid"
 *       aria-hidden="true" tabindex="-1">#</a>The grid</h2>
 *     ids are str_slugify() of the heading text, made unique in the
 *     document with -2, -3 ...; ids the page template uses ("main",
 *     "newsfeed", ...; reserved_ids in md.c) are never given out. A
 *     level-1 heading becomes h2 (the page has one h1, the headline).
 *   - a paragraph that is only ::related[slug] becomes a related-article
 *     card (see md_card_fn), or nothing when the target is missing.
 *   - an image alone in its paragraph becomes <figure> with its title as
 *     <figcaption>; images get loading="lazy" decoding="async" (except
 *     inside table cells, where they stay plain <img>).
 * Safety: raw HTML never reaches the output (it is removed from the tree,
 * and cmark renders in safe mode as a second line of defence); links
 * whose scheme is not http, https, mailto or tel lose their link but keep
 * their text, and images whose source is not http(s) or relative are
 * dropped.
 * docs/markdown.md is the guide for journalists.
 */
#ifndef RENDER_MD_H
#define RENDER_MD_H

#include <stddef.h>

struct arena;

/* Tables in one document may have this many cells in all (counted
 * generously from the source: columns x lines up to the next blank line);
 * past it the table extension is left off for that document and tables
 * show as text. cmark-gfm pads every row to the header's width, so a
 * 24 KB source can otherwise make 100 MB of HTML. */
#define MD_TABLE_CELLS_MAX 100000

struct md_card {
    const char *title;   /* headline of the target article, plain text */
    const char *summary; /* one-line summary, plain text; NULL or "" none */
    const char *url;     /* link to the article (path or absolute URL) */
};

/* Looks up the article a related card points to. Fills *out (strings may
 * live in a) and returns 0, or returns -1 when there is no such
 * (published) article. slug is always str_slug_valid(). */
typedef int (*md_card_fn)(void *ctx, struct arena *a, const char *slug,
                          struct md_card *out);

struct md_doc {
    char *html;      /* body HTML, in the arena */
    unsigned words;  /* words of body text (headings, lists, tables too) */
    unsigned images; /* images kept in the body */
    char *text;      /* plain text, one line per block, for excerpts and
                        search; in the arena */
};

/* Renders len bytes of Markdown at src into *out (all strings allocated in
 * a). card resolves ::related[slug] directives with ctx; NULL renders no
 * cards, silently (the caller chose not to resolve them). cmark's nodes are tied to a with arena_defer, so they live until
 * the arena is released. A card whose target is missing (or whose slug is
 * invalid) renders nothing and logs a warning.
 * Returns 0, or -1 (logged; *out zeroed) when src is not valid UTF-8 or
 * len is over BOUND_MARKDOWN. Thread-safe. */
int md_render(struct arena *a, const char *src, size_t len, md_card_fn card,
              void *ctx, struct md_doc *out);

/* Gives the pixel size of the image at src (as written in the Markdown) so
 * that <img> carries width and height and the page never shifts while it
 * loads. 0 with both sizes set, or -1 when unknown (no size given). */
typedef int (*md_image_fn)(void *ctx, struct arena *a, const char *src,
                           unsigned *width, unsigned *height);

/* Callbacks for md_render_hooks; any may be NULL. */
struct md_hooks {
    md_card_fn card;   /* related cards */
    md_image_fn image; /* inline image sizes */
    void *ctx;         /* passed to both */
};

/* md_render with all the hooks. */
int md_render_hooks(struct arena *a, const char *src, size_t len,
                    const struct md_hooks *hooks, struct md_doc *out);

/* Short excerpt of plain text (such as md_doc.text): white space runs
 * become one space; the text itself when it has at most max_chars
 * characters (code points); otherwise the whole first sentence(s) that
 * fit when they fill at least half of max_chars, else the text cut at the
 * last word boundary that leaves room for a closing "…" (U+2026).
 * Never splits a UTF-8 sequence. Allocated in a; never NULL ("" for NULL
 * text or max_chars 0). */
char *md_excerpt(struct arena *a, const char *text, size_t max_chars);

#endif
