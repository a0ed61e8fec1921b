/*
 * fuzz_cond.c - libFuzzer target for the conditional-request and
 * content-coding header parsers (src/http/cond.c): If-None-Match against
 * an ETag, IMF-fixdate (If-Modified-Since) and Accept-Encoding. The input
 * is split at newlines: "if-none-match\netag\ndate\naccept-encoding";
 * each header is also tried alone as the whole input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "http/http.h"
#include "http/http_internal.h"

FUZZ_INIT_QUIET

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *part[4] = {"", "\"v1\"", "", ""};
    time_t t;
    size_t n = 0;

    memcpy(s, data, size);
    s[size] = '\0';
    /* whole input as each header */
    http_etag_match(s, "\"abc\"");
    http_etag_match("W/\"abc\", *", s);
    http_date_parse(s, &t);
    http_accept_coding(s, "gzip");
    http_accept_coding(s, "br");
    /* split */
    for (char *p = s; n < 4; n++) {
        char *nl = strchr(p, '\n');
        part[n] = p;
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    http_etag_match(part[0], part[1]);
    if (http_date_parse(part[2], &t) == 0) {
        struct tm tm;
        if (!gmtime_r(&t, &tm))
            abort();
    }
    http_accept_coding(part[3], part[0]);
    free(s);
    return 0;
}
