/*
 * fuzz_urlencoded.c - libFuzzer target for http_urlencoded_parse
 * (src/http/form.c): query strings and application/x-www-form-urlencoded
 * bodies. The first input byte picks repair (query strings) or strict
 * (form bodies) mode; the rest is the text. Checks that every pair is
 * NUL-free and, unless the parse failed, valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/bounds.h"
#include "core/str.h"
#include "fuzz.h"
#include "http/http_internal.h"

FUZZ_INIT_QUIET

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    struct http_kv kv[BOUND_FORM_FIELDS];
    long n;

    if (size < 1)
        return 0;
    arena_init(&a);
    n = http_urlencoded_parse(&a, (const char *)data + 1, size - 1, kv,
                              BOUND_FORM_FIELDS, data[0] & 1);
    if (n > (long)BOUND_FORM_FIELDS)
        abort();
    for (long i = 0; i < n; i++) {
        if (!kv[i].key || !kv[i].val)
            abort();
        if (!str_utf8_valid(kv[i].key, strlen(kv[i].key)) ||
            !str_utf8_valid(kv[i].val, strlen(kv[i].val)))
            abort();
    }
    arena_release(&a);
    return 0;
}
