/*
 * htmlmd.h - HTML to newsroom Markdown, for imports (Ghost's post HTML).
 *
 * Article bodies are Markdown (render/md.h) and raw HTML never reaches a
 * page, so an imported HTML body is turned into the Markdown it most
 * likely came from: paragraphs, headings, lists, quotes, code, links,
 * emphasis, images (a figure's caption becomes the image title, which
 * md.c shows as <figcaption>), simple tables and iframes (as a link to
 * their source). Scripts, styles and comments are dropped; any other
 * element keeps its text. The result goes through md_render like any
 * body, so its safety rules (link schemes, image sources) still apply.
 */
#ifndef RENDER_HTMLMD_H
#define RENDER_HTMLMD_H

#include <stddef.h>

struct arena;

/* Converts len bytes of UTF-8 HTML (a fragment or a document) to Markdown
 * in a (never NULL on success; "" for an empty body). NULL when the
 * Markdown would pass limit bytes or the HTML cannot be parsed at all. */
char *htmlmd_convert(struct arena *a, const char *html, size_t len,
                     size_t limit);

/* Gives the source to write for an <img src> (in a; src itself to keep
 * it): lets an importer point images at the copies it made. */
typedef const char *(*htmlmd_src_fn)(void *ctx, struct arena *a,
                                     const char *src);

/* htmlmd_convert, with every image source passed through map (when not
 * NULL) with ctx. */
char *htmlmd_convert_map(struct arena *a, const char *html, size_t len,
                         size_t limit, htmlmd_src_fn map, void *ctx);

#endif
