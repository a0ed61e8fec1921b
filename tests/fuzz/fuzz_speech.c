/*
 * fuzz_speech.c - libFuzzer target for narration text preparation
 * (src/speech/prepare.c): speech_prepare() of the input as an article's
 * HTML, in English and in Ukrainian (first input byte picks), with a
 * title and byline. No audio is made.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "fuzz.h"
#include "speech/speech.h"

FUZZ_INIT_QUIET

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *html, *out = NULL, err[256];

    if (size < 1)
        return 0;
    html = malloc(size);
    memcpy(html, data + 1, size - 1);
    html[size - 1] = '\0';
    if (speech_prepare(data[0] & 1 ? "uk" : "en", "Oct. 31: 1,200 km",
                       "By Jane Doe", html, &out, err, sizeof err) == 0) {
        if (!out || !str_utf8_valid(out, strlen(out)))
            abort();
    }
    free(out);
    free(html);
    return 0;
}
