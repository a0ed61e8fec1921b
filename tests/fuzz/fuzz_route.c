/*
 * fuzz_route.c - libFuzzer target for http_route_match (src/http/route.c).
 * The input is a path, matched against every pattern of the site's route
 * tables (copied from src/web; kept in sync by hand) and, when it holds a
 * newline, also as "pattern\npath" to exercise odd patterns. Checks that
 * captures stay inside the path and never exceed HTTP_MAX_PARAMS.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http/http_internal.h"

static const char *const patterns[] = {
    "/",
    "/:slug/",
    "/archive/",
    "/assets/*",
    "/author/:slug/",
    "/author/:slug/feed.json",
    "/desk/posts/:id/revisions/:rev/",
    "/desk/posts/:id/revisions/:rev/restore",
    "/desk/welcome/:token/",
    "/ghost/api/:version/content/*",
    "/ghost/api/content/*",
    "/media/*",
    "/news-feed/:id/",
    "/newsletters/:slug/subscribe",
    "/search",
    "/section/:slug/rss.xml",
    "/tag/:slug/",
};

FUZZ_INIT_QUIET

/* Matches path against pattern and checks what came back. */
static void one(const char *pattern, const char *path)
{
    struct http_capture caps[HTTP_MAX_PARAMS];
    size_t ncaps = 0, plen = strlen(path);

    if (!http_route_match(pattern, path, caps, &ncaps))
        return;
    if (ncaps > HTTP_MAX_PARAMS)
        abort();
    for (size_t i = 0; i < ncaps; i++)
        if (caps[i].val < path || caps[i].val + caps[i].len > path + plen)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *nl;

    memcpy(s, data, size);
    s[size] = '\0';
    for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++)
        one(patterns[i], s);
    nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        one(s, nl + 1);
    }
    free(s);
    return 0;
}
