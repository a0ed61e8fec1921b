/*
 * fuzz_htmlmd.c - libFuzzer target for HTML to Markdown
 * (src/render/htmlmd.c), which turns imported post HTML (Ghost) into
 * article Markdown; the Markdown it makes is then rendered with
 * md_render() as an imported body would be.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "fuzz.h"
#include "render/htmlmd.h"
#include "render/md.h"

FUZZ_INIT_QUIET

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    struct md_doc doc;
    char *md;

    arena_init(&a);
    md = htmlmd_convert(&a, (const char *)data, size, 256 * 1024);
    if (md) {
        if (strlen(md) > 256 * 1024)
            abort();
        md_render(&a, md, strlen(md), NULL, NULL, &doc);
    }
    arena_release(&a);
    return 0;
}
