/*
 * fuzz_nql.c - libFuzzer target for Ghost's filter language
 * (src/content/nql.c), the ?filter= of the Content API: nql_parse() of
 * the input, then nql_match() of the tree against one made-up post
 * (text, number, boolean, date and many-valued fields), and nql_date()
 * of the input as a date.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "content/nql.h"
#include "core/arena.h"
#include "fuzz.h"

FUZZ_INIT_QUIET

/* The one post every filter is matched against; "nope" is unknown. */
static void lookup(void *ctx, struct arena *a, const char *field,
                   struct nql_field *out)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
    if (strncmp(field, "nope", 4) == 0)
        return;
    out->known = 1;
    out->vals = arena_zalloc(a, 3 * sizeof *out->vals);
    if (strcmp(field, "tags.slug") == 0 || strcmp(field, "tag") == 0) {
        out->vals[0].text = "news";
        out->vals[1].text = "ukraine";
        out->nvals = 2;
    } else if (strcmp(field, "published_at") == 0) {
        out->is_date = 1;
        out->vals[0].type = NQL_NUMBER;
        out->vals[0].text = "1717236000";
        out->vals[0].number = 1717236000;
        out->nvals = 1;
    } else if (strcmp(field, "featured") == 0) {
        out->vals[0].type = NQL_TRUE;
        out->vals[0].text = "true";
        out->nvals = 1;
    } else if (strcmp(field, "reading_time") == 0) {
        out->vals[0].type = NQL_NUMBER;
        out->vals[0].text = "7";
        out->vals[0].number = 7;
        out->nvals = 1;
    } else if (strcmp(field, "excerpt") != 0) { /* excerpt: null */
        out->vals[0].text = "Caf\xc3\xa9 'quoted' title";
        out->nvals = 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    struct nql_node *n = NULL;
    char *s = malloc(size + 1), err[256];
    int64_t t;

    memcpy(s, data, size);
    s[size] = '\0';
    arena_init(&a);
    if (nql_parse(&a, s, &n, err, sizeof err) == 0) {
        if (!n)
            abort();
        nql_match(n, &a, lookup, NULL, err, sizeof err);
    }
    nql_date(s, &t);
    arena_release(&a);
    free(s);
    return 0;
}
