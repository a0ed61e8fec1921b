/*
 * fuzz_search.c - libFuzzer target for what a reader types into search
 * (src/store/store_search.c): store_search_terms() splits the query into
 * terms, which must be valid UTF-8 of ASCII letters, digits, spaces and
 * non-ASCII characters only; store_search_snippet_html() of the input
 * (with its 0x01/0x02 hit marks) must leave no raw '<' behind but the
 * <mark> tags it adds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/str.h"
#include "fuzz.h"
#include "store/backend.h"

FUZZ_INIT_QUIET

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    struct store_search_terms t;
    char *s = malloc(size + 1);
    const char *h;

    memcpy(s, data, size);
    s[size] = '\0';
    arena_init(&a);
    store_search_terms(&a, s, &t);
    if (t.n > STORE_SEARCH_TERMS_MAX)
        abort();
    for (size_t i = 0; i < t.n; i++) {
        const unsigned char *p = (const unsigned char *)t.term[i];
        if (!str_utf8_valid(t.term[i], strlen(t.term[i])))
            abort();
        for (; *p; p++)
            if (*p < 0x80 && *p != ' ' && !(*p >= '0' && *p <= '9') &&
                !((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
                abort();
    }
    h = store_search_snippet_html(&a, s);
    for (const char *p = strchr(h, '<'); p; p = strchr(p + 1, '<'))
        if (strncmp(p, "<mark>", 6) != 0 && strncmp(p, "</mark>", 7) != 0)
            abort();
    arena_release(&a);
    free(s);
    return 0;
}
