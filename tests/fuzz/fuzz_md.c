/*
 * fuzz_md.c - libFuzzer target for article Markdown (src/render/md.c):
 * md_render_hooks() with a related-card hook and an image-size hook, then
 * md_excerpt() of the plain text. Checks that raw HTML from the input
 * never reaches the output as a <script> element.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "fuzz.h"
#include "render/md.h"

FUZZ_INIT_QUIET

/* Every slug but "missing" is an article. */
static int card(void *ctx, struct arena *a, const char *slug,
                struct md_card *out)
{
    (void)ctx;
    if (strcmp(slug, "missing") == 0)
        return -1;
    out->title = arena_printf(a, "Title of <%s>", slug);
    out->summary = "A \"summary\" & more";
    out->url = arena_printf(a, "/%s/", slug);
    return 0;
}

/* Sources ending in ".png" are 640x480. */
static int image(void *ctx, struct arena *a, const char *src, unsigned *w,
                 unsigned *h)
{
    size_t n = strlen(src);

    (void)ctx;
    (void)a;
    if (n < 4 || strcmp(src + n - 4, ".png") != 0)
        return -1;
    *w = 640;
    *h = 480;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    struct md_doc doc;
    struct md_hooks hooks = {card, image, NULL};

    arena_init(&a);
    if (md_render_hooks(&a, (const char *)data, size, &hooks, &doc) == 0) {
        if (!doc.html || !doc.text)
            abort();
        if (strstr(doc.html, "<script"))
            abort();
        md_excerpt(&a, doc.text, 1 + size % 300);
    }
    arena_release(&a);
    return 0;
}
